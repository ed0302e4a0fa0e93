/**
 * Durability end to end: a graceful restart of the in-process app on the same data directory, and
 * a kill -9 of the real broker executable. Expected behaviour is RabbitMQ's: durable topology and
 * persistent messages in durable queues survive, in order; transient things do not; messages that
 * were delivered but not acked come back with redelivered=true; every confirmed message survives
 * a crash.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { BrokerProcess, startAmqpBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';
import {
  body,
  channel,
  closeQuietly,
  Collector,
  confirmChannel,
  connect,
  drain,
  exists,
  freePort,
  getOne,
  messageCount,
  range,
  settle,
  TrackedConnection,
  withTimeout,
} from '../support/amqp-e2e';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Starts the app on a fresh data dir (removed at the end of the file). */
async function freshApp(): Promise<TestApp> {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  return startTestApp({}, dir.path);
}

describe('graceful restart of the app', () => {
  it('durable topology and persistent messages come back, in order; transient ones do not', async () => {
    let app = await freshApp();
    const dataDir = app.dataDir;
    let conn: TrackedConnection | undefined = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      await ch.assertExchange('p-durable-x', 'topic', { durable: true });
      await ch.assertExchange('p-durable-headers', 'headers', { durable: true });
      await ch.assertExchange('p-transient-x', 'fanout', { durable: false });
      await ch.assertExchange('p-e2e-dst', 'fanout', { durable: true });
      await ch.assertExchange('p-with-ae', 'direct', { durable: true, alternateExchange: 'p-e2e-dst' });
      await ch.assertQueue('p-durable-q', { durable: true });
      await ch.assertQueue('p-prio-q', { durable: true, maxPriority: 5 });
      await ch.assertQueue('p-hq', { durable: true });
      await ch.assertQueue('p-e2e-q', { durable: true });
      await ch.assertQueue('p-transient-q', { durable: false });
      await ch.bindQueue('p-durable-q', 'p-durable-x', 'orders.#');
      await ch.bindQueue('p-hq', 'p-durable-headers', '', { 'x-match': 'any', kind: 'a' });
      await ch.bindQueue('p-e2e-q', 'p-e2e-dst', '');
      await ch.bindExchange('p-e2e-dst', 'p-durable-x', 'audit.*');
      await ch.bindQueue('p-transient-q', 'p-durable-x', 'orders.#');

      const cch = await confirmChannel(conn);
      for (let i = 1; i <= 60; i++) {
        // persistent and transient interleaved in the same durable queue
        cch.publish('p-durable-x', `orders.${i}`, body(`p${i}`), {
          persistent: i % 3 !== 0,
          messageId: `id-${i}`,
          headers: { n: i, nested: { ok: true } },
        });
      }
      for (const [b, priority] of [['low', 1], ['high', 5], ['mid', 3]] as const) {
        cch.sendToQueue('p-prio-q', body(b), { persistent: true, priority });
      }
      cch.publish('p-durable-headers', '', body('h1'), { persistent: true, headers: { kind: 'a' } });
      cch.publish('p-durable-x', 'audit.x', body('e2e-1'), { persistent: true });
      await withTimeout(cch.waitForConfirms(), 30000, 'confirms before restart');
      assert.equal(await messageCount(conn, 'p-durable-q'), 60);
    } finally {
      await closeQuietly(conn);
    }

    await app.stop();
    app = await startTestApp({}, dataDir);
    cleanups.push(() => app.stop());
    conn = await connect(app.amqpUrl);
    try {
      for (const x of ['p-durable-x', 'p-durable-headers', 'p-e2e-dst', 'p-with-ae']) assert.equal(await exists(conn, 'exchange', x), true, `${x} survives`);
      assert.equal(await exists(conn, 'exchange', 'p-transient-x'), false, 'transient exchange is gone');
      assert.equal(await exists(conn, 'queue', 'p-transient-q'), false, 'transient queue is gone');

      const ch = await channel(conn);
      const expected = range(60, 'p').filter((_, i) => (i + 1) % 3 !== 0);
      const q = await ch.checkQueue('p-durable-q');
      assert.equal(q.messageCount, expected.length, 'only the persistent messages survive');
      const first = await getOne(ch, 'p-durable-q', { noAck: true });
      assert.equal(first.content.toString(), 'p1');
      assert.equal(first.fields.redelivered, false, 'never delivered before the restart');
      assert.equal(first.fields.routingKey, 'orders.1');
      assert.equal(first.fields.exchange, 'p-durable-x');
      assert.equal(first.properties.messageId, 'id-1');
      assert.equal(first.properties.deliveryMode, 2);
      assert.deepEqual({ ...first.properties.headers }, { n: 1, nested: { ok: true } });
      assert.deepEqual([first.content.toString(), ...(await drain(ch, 'p-durable-q'))], expected, 'in publish order');

      assert.deepEqual(await drain(ch, 'p-prio-q'), ['high', 'mid', 'low'], 'priority order after recovery');
      assert.deepEqual(await drain(ch, 'p-hq'), ['h1']);
      assert.deepEqual(await drain(ch, 'p-e2e-q'), ['e2e-1']);

      // bindings came back: routing works as before (incl. exchange-to-exchange, headers, alternate-exchange)
      ch.publish('p-durable-x', 'orders.new', body('after-restart'));
      ch.publish('p-durable-x', 'audit.y', body('e2e-2'));
      ch.publish('p-durable-headers', '', body('h2'), { headers: { kind: 'a' } });
      ch.publish('p-with-ae', 'unroutable', body('via-ae'));
      await settle(150);
      assert.deepEqual(await drain(ch, 'p-durable-q'), ['after-restart']);
      assert.deepEqual(await drain(ch, 'p-e2e-q'), ['e2e-2', 'via-ae']);
      assert.deepEqual(await drain(ch, 'p-hq'), ['h2']);
      await ch.close();
    } finally {
      await closeQuietly(conn);
    }
  });

  it('messages delivered but unacked at shutdown come back first, with redelivered=true', async () => {
    let app = await freshApp();
    const dataDir = app.dataDir;
    const conn = await connect(app.amqpUrl);
    const cch = await confirmChannel(conn);
    await cch.assertQueue('p-unacked', { durable: true });
    for (const b of range(6)) cch.sendToQueue('p-unacked', body(b), { persistent: true });
    await withTimeout(cch.waitForConfirms(), 30000, 'confirms');
    const ch = await channel(conn);
    await ch.prefetch(3);
    const c = await Collector.start(ch, 'p-unacked');
    await c.waitFor(3);
    ch.ack(c.messages[1]!); // m2 acked, which lets m4 through: m1, m3, m4 unacked at shutdown
    await c.waitFor(4);
    await settle(200);
    assert.deepEqual(c.bodies(), range(4));
    // the app shuts down with the client still connected
    await app.stop();
    await closeQuietly(conn, 2000);

    app = await startTestApp({}, dataDir);
    cleanups.push(() => app.stop());
    const conn2 = await connect(app.amqpUrl);
    try {
      const ch2 = await channel(conn2);
      const got: [string, boolean][] = [];
      for (;;) {
        const m = await ch2.get('p-unacked', { noAck: true });
        if (m === false) break;
        got.push([m.content.toString(), m.fields.redelivered]);
      }
      assert.deepEqual(got, [
        ['m1', true],
        ['m3', true],
        ['m4', true],
        ['m5', false],
        ['m6', false],
      ]);
    } finally {
      await closeQuietly(conn2);
    }
  });

  it('acked and purged messages stay gone after a restart; exclusive queues do not come back', async () => {
    let app = await freshApp();
    const dataDir = app.dataDir;
    const conn = await connect(app.amqpUrl);
    const cch = await confirmChannel(conn);
    await cch.assertQueue('p-emptied', { durable: true });
    await cch.assertQueue('p-purged', { durable: true });
    for (const b of range(20)) {
      cch.sendToQueue('p-emptied', body(b), { persistent: true });
      cch.sendToQueue('p-purged', body(b), { persistent: true });
    }
    await withTimeout(cch.waitForConfirms(), 30000, 'confirms');
    const ch = await channel(conn);
    const c = await Collector.start(ch, 'p-emptied');
    await c.waitFor(20);
    ch.ack(c.messages[19]!, true);
    assert.equal((await ch.purgeQueue('p-purged')).messageCount, 20);
    const excl = await channel(conn);
    await excl.assertQueue('p-exclusive', { exclusive: true });
    await settle(200);
    await closeQuietly(conn);
    await app.stop();

    app = await startTestApp({}, dataDir);
    cleanups.push(() => app.stop());
    const conn2 = await connect(app.amqpUrl);
    try {
      assert.equal(await messageCount(conn2, 'p-emptied'), 0, 'acked messages do not come back');
      assert.equal(await messageCount(conn2, 'p-purged'), 0, 'purged messages do not come back');
      assert.equal(await exists(conn2, 'queue', 'p-exclusive'), false);
    } finally {
      await closeQuietly(conn2);
    }
  });
});

describe('kill -9 of the broker process', () => {
  const startProcess = (dataDir: string, port: number): Promise<BrokerProcess> => startAmqpBrokerProcess(dataDir, port, cleanups);

  it('every confirmed persistent message survives SIGKILL, in order', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const port = await freePort();
    const proc = await startProcess(dir.path, port);
    const url = `amqp://guest:guest@127.0.0.1:${port}`;
    const conn = await connect(url);
    const ch = await confirmChannel(conn);
    await ch.assertExchange('crash-x', 'fanout', { durable: true });
    await ch.assertQueue('crash-q', { durable: true });
    await ch.assertQueue('crash-q2', { durable: true });
    await ch.bindQueue('crash-q', 'crash-x', '');
    await ch.bindQueue('crash-q2', 'crash-x', '');

    const killAfter = 400 + Math.floor(Math.random() * 400);
    let confirmedUpTo = 0; // confirms arrive in order: 1..confirmedUpTo are all confirmed
    let published = 0;
    let killed = false;
    const confirmedOutOfOrder: number[] = [];
    const killedAt = new Promise<void>((resolve) => {
      const publishSome = (): void => {
        if (killed) return;
        for (let k = 0; k < 50; k++) {
          const n = ++published;
          ch.publish('crash-x', '', body(`m${n}`), { persistent: true }, (err) => {
            if (err || killed) return;
            if (n !== confirmedUpTo + 1) confirmedOutOfOrder.push(n);
            confirmedUpTo = Math.max(confirmedUpTo, n);
            if (confirmedUpTo >= killAfter && !killed) {
              killed = true;
              proc.child.kill('SIGKILL');
              resolve();
            }
          });
        }
        setTimeout(publishSome, 1);
      };
      publishSome();
    });
    await withTimeout(killedAt, 120000, `${killAfter} confirms before the kill`);
    const confirmedAtKill = confirmedUpTo;
    await proc.exited;
    await closeQuietly(conn, 2000);
    assert.deepEqual(confirmedOutOfOrder, [], 'confirms arrived in publish order');
    assert.ok(published > confirmedAtKill, 'the kill happened with publishes in flight');

    const port2 = await freePort();
    const proc2 = await startProcess(dir.path, port2);
    const conn2 = await connect(`amqp://guest:guest@127.0.0.1:${port2}`);
    try {
      const check = await channel(conn2);
      for (const queue of ['crash-q', 'crash-q2']) {
        const bodies = await drain(check, queue);
        const numbers = bodies.map((b) => Number(b.slice(1)));
        assert.ok(numbers.length >= confirmedAtKill, `${queue}: ${numbers.length} messages recovered, ${confirmedAtKill} were confirmed`);
        assert.deepEqual(
          numbers.slice(0, confirmedAtKill),
          Array.from({ length: confirmedAtKill }, (_, i) => i + 1),
          `${queue}: every confirmed message, in order`,
        );
        assert.ok(
          numbers.every((n, i) => i === 0 || n > numbers[i - 1]!),
          `${queue}: unconfirmed survivors keep the order, no duplicates`,
        );
        assert.ok(numbers.length === 0 || numbers[numbers.length - 1]! <= published);
      }
      // the recovered broker works normally
      check.publish('crash-x', '', body('after-crash'), { persistent: true });
      await settle(100);
      assert.deepEqual(await drain(check, 'crash-q'), ['after-crash']);
      await check.close();
    } finally {
      await closeQuietly(conn2);
      proc2.child.kill('SIGTERM');
      await withTimeout(proc2.exited, 30000, 'broker exit on SIGTERM');
    }
  });
  it('large persistent bodies (some acked before their commit) come back byte for byte after SIGKILL', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const port = await freePort();
    const proc = await startProcess(dir.path, port);
    const conn = await connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await confirmChannel(conn);
    await ch.assertExchange('big-x', 'fanout', { durable: true });
    await ch.assertQueue('big-kept', { durable: true });
    await ch.assertQueue('big-also', { durable: true });
    await ch.assertQueue('big-consumed', { durable: true });
    for (const q of ['big-kept', 'big-also', 'big-consumed']) await ch.bindQueue(q, 'big-x', '');
    // a consumer on one of the three queues acks at once, so its copies are settled while their
    // batch may still be open; the other two queues keep theirs
    const consumer = await channel(conn);
    let consumed = 0;
    await consumer.consume('big-consumed', (msg) => {
      if (msg) {
        consumed++;
        consumer.ack(msg);
      }
    });
    const sent: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const size = [64 * 1024, 64 * 1024 - 1, 100_000, 1024 * 1024 + 3, 300_000][i % 5]!;
      const content = randomBytes(size);
      sent.push(content);
      ch.publish('big-x', '', content, { persistent: true, messageId: `big-${i}` });
    }
    await withTimeout(ch.waitForConfirms(), 60000, 'confirms of the large bodies');
    proc.child.kill('SIGKILL');
    await proc.exited;
    await closeQuietly(conn, 2000);

    const port2 = await freePort();
    const proc2 = await startProcess(dir.path, port2);
    const conn2 = await connect(`amqp://guest:guest@127.0.0.1:${port2}`);
    try {
      const check = await channel(conn2);
      for (const queue of ['big-kept', 'big-also']) {
        for (let i = 0; i < sent.length; i++) {
          const msg = await getOne(check, queue, { noAck: true });
          assert.equal(msg.properties.messageId, `big-${i}`, `${queue}: message ${i} in order`);
          assert.ok(msg.content.equals(sent[i]!), `${queue}: message ${i} (${sent[i]!.length} bytes) intact`);
        }
        assert.equal(await check.get(queue), false, `${queue}: nothing more`);
      }
      // whatever the consumer had not acked before the kill comes back intact too
      for (let msg = await check.get('big-consumed', { noAck: true }); msg !== false; msg = await check.get('big-consumed', { noAck: true })) {
        const i = Number(String(msg.properties.messageId).slice(4));
        assert.ok(msg.content.equals(sent[i]!), `big-consumed: message ${i} intact`);
      }
      assert.ok(consumed > 0, 'the consumer acked some before the kill');
      await check.close();
    } finally {
      await closeQuietly(conn2);
      proc2.child.kill('SIGTERM');
      await withTimeout(proc2.exited, 30000, 'broker exit on SIGTERM');
    }
  });
});
