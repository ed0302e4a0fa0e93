/**
 * Publisher confirms and transactions end to end (amqplib, plus @cloudamqp/amqp-client to count
 * confirm frames). Expected behaviour is RabbitMQ's: confirms only once a persistent message to a
 * durable queue is on disk, coalesced with multiple=true; tx publishes and acks take effect only
 * on commit; confirm and tx modes exclude each other (406).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import {
  body,
  channel,
  closeQuietly,
  confirmChannel,
  connect,
  drain,
  expectChannelClosed,
  expectRefused,
  getOne,
  messageCount,
  Method,
  ReplyCode,
  rpc,
  settle,
  TrackedConnection,
  withTimeout,
} from '../support/amqp-e2e';
import { loadAmqpClient } from '../support/second-client';

let app: TestApp;
let conn: TrackedConnection;

before(async () => {
  app = await startTestApp();
  conn = await connect(app.amqpUrl);
});

after(async () => {
  await closeQuietly(conn);
  await app.close();
});

const txSelect = (ch: Parameters<typeof rpc>[0]) => rpc(ch, Method.TxSelect, {}, Method.TxSelectOk);
const txCommit = (ch: Parameters<typeof rpc>[0]) => rpc(ch, Method.TxCommit, {}, Method.TxCommitOk);
const txRollback = (ch: Parameters<typeof rpc>[0]) => rpc(ch, Method.TxRollback, {}, Method.TxRollbackOk);

describe('publisher confirms', () => {
  it('every publish is confirmed, callbacks fire in publish order, acks cover tags 1..n', async () => {
    const ch = await confirmChannel(conn);
    await ch.assertQueue('confirm-order-t', { durable: false });
    await ch.assertQueue('confirm-order-d', { durable: true });
    const acks: { deliveryTag: number; multiple: boolean }[] = [];
    const nacks: unknown[] = [];
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f));
    ch.on('nack', (f: unknown) => nacks.push(f));
    const n = 600;
    const order: number[] = [];
    const failures: unknown[] = [];
    for (let i = 0; i < n; i++) {
      // transient and persistent-to-durable interleaved: confirms still never overtake each other
      const persistent = i % 3 === 0;
      const queue = persistent ? 'confirm-order-d' : 'confirm-order-t';
      ch.sendToQueue(queue, body(`c${i}`), { persistent }, (err) => {
        if (err) failures.push(err);
        order.push(i);
      });
      if (i % 97 === 0) await settle(5); // spread over several socket reads
    }
    await withTimeout(ch.waitForConfirms(), 30000, 'waitForConfirms');
    assert.deepEqual(failures, []);
    assert.deepEqual(nacks, []);
    assert.equal(order.length, n);
    assert.deepEqual(
      order,
      Array.from({ length: n }, (_, i) => i),
      'callbacks in publish order',
    );
    const tags = acks.map((a) => a.deliveryTag);
    assert.ok(
      tags.every((t, i) => i === 0 || t > tags[i - 1]!),
      `ack tags strictly increase: ${tags.join(',')}`,
    );
    assert.equal(tags[tags.length - 1], n, 'the last ack covers the last publish');
    for (let i = 0; i < acks.length; i++) {
      const covered = acks[i]!.deliveryTag - (i === 0 ? 0 : acks[i - 1]!.deliveryTag);
      assert.ok(covered === 1 || acks[i]!.multiple, `ack ${acks[i]!.deliveryTag} covers ${covered} publishes without multiple=true`);
    }
    assert.equal(await messageCount(conn, 'confirm-order-d'), n / 3);
    await ch.deleteQueue('confirm-order-d');
    await ch.deleteQueue('confirm-order-t');
    await ch.close();
  });

  it('confirms of persistent messages to a durable queue come only after the store committed them', async () => {
    const ch = await confirmChannel(conn);
    await ch.assertQueue('confirm-durable', { durable: true });
    const db = new Database(join(app.dataDir, 'broker.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const stored = db.prepare(
        `SELECT count(*) AS n FROM entries e JOIN queues q ON q.id = e.queue
         WHERE q.name = ? AND (e.body = ? OR e.shared IN (SELECT id FROM bodies WHERE body = ?))`,
      );
      const isStored = (text: string): boolean => {
        const b = body(text);
        return (stored.get('confirm-durable', b, b) as { n: number }).n === 1;
      };
      const n = 300;
      const missing: string[] = [];
      let confirmed = 0;
      for (let i = 0; i < n; i++) {
        const text = `durable-${i}-${'x'.repeat(i % 50)}`;
        ch.sendToQueue('confirm-durable', body(text), { persistent: true }, (err) => {
          assert.equal(err, null);
          confirmed++;
          if (!isStored(text)) missing.push(text);
        });
        if (i % 50 === 0) await settle(2);
      }
      await withTimeout(ch.waitForConfirms(), 30000, 'waitForConfirms');
      assert.equal(confirmed, n);
      assert.deepEqual(missing, [], 'every confirmed message was already committed to entries');
      // a control: the check can see rows at all, and transient messages are never written
      assert.equal(isStored('durable-0-'), true);
      await ch.assertQueue('confirm-transient-control', { durable: true });
      await new Promise<void>((resolve, reject) =>
        ch.sendToQueue('confirm-transient-control', body('transient-one'), { persistent: false }, (err) => (err ? reject(err) : resolve())),
      );
      const transient = db
        .prepare(`SELECT count(*) AS n FROM entries e JOIN queues q ON q.id = e.queue WHERE q.name = ?`)
        .get('confirm-transient-control') as { n: number };
      assert.equal(transient.n, 0, 'a non-persistent message is not written to the store');
    } finally {
      db.close();
    }
    await ch.deleteQueue('confirm-durable');
    await ch.deleteQueue('confirm-transient-control');
    await ch.close();
  });

  it('a persistent message its consumer acks before it was written is confirmed without waiting for a commit (as RabbitMQ)', async () => {
    const consumerConn = await connect(app.amqpUrl);
    const ch = await confirmChannel(conn);
    await ch.assertQueue('early-acked', { durable: true });
    await ch.assertQueue('early-control', { durable: true });
    const consumer = await channel(consumerConn);
    const consumed: string[] = [];
    await consumer.consume('early-acked', (msg) => {
      consumed.push(msg!.content.toString());
      consumer.ack(msg!);
    });
    // A test connection holds SQLite's write lock, so the broker's commit stays in flight (its
    // busy timeout is 5 s) and later writes collect in the next batch, as under load.
    const db = new Database(join(app.dataDir, 'broker.sqlite'), { fileMustExist: true });
    db.exec('BEGIN IMMEDIATE');
    let locked = true;
    try {
      const confirmedWhileLocked: string[] = [];
      const controlConfirmed = new Promise<void>((resolve, reject) =>
        ch.sendToQueue('early-control', body('control'), { persistent: true }, (err) => {
          if (locked) confirmedWhileLocked.push('control');
          if (err) reject(err);
          else resolve();
        }),
      );
      await settle(50); // the control's batch is with the writer, blocked
      const early = Array.from({ length: 10 }, (_, i) => `early-${i}`);
      const earlyConfirmed = early.map(
        (text) =>
          new Promise<void>((resolve, reject) =>
            ch.sendToQueue('early-acked', body(text), { persistent: true }, (err) => {
              if (locked) confirmedWhileLocked.push(text);
              if (err) reject(err);
              else resolve();
            }),
          ),
      );
      await withTimeout(Promise.all(earlyConfirmed), 3000, 'confirms of consumed messages while the store is locked');
      assert.deepEqual(consumed, early);
      assert.deepEqual(confirmedWhileLocked, early, 'the consumed ones were confirmed at once; the control waits for its commit');
      db.exec('ROLLBACK');
      locked = false;
      await withTimeout(controlConfirmed, 10000, 'control confirm after the lock is released');
      await withTimeout(ch.waitForConfirms(), 10000, 'waitForConfirms');
      const rows = (name: string) =>
        (db.prepare('SELECT count(*) AS n FROM entries e JOIN queues q ON q.id = e.queue WHERE q.name = ?').get(name) as { n: number }).n;
      assert.equal(rows('early-control'), 1, 'the unconsumed control is on disk');
      assert.equal(rows('early-acked'), 0, 'the consumed ones never reached it');
    } finally {
      if (locked) db.exec('ROLLBACK');
      db.close();
      await closeQuietly(consumerConn);
    }
    await ch.deleteQueue('early-acked');
    await ch.deleteQueue('early-control');
    await ch.close();
  });

  it('a burst of persistent publishes is confirmed with multiple=true acks (fewer ack frames than messages)', async () => {
    const ch = await confirmChannel(conn);
    await ch.assertQueue('confirm-burst', { durable: true });
    const acks: { deliveryTag: number; multiple: boolean }[] = [];
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f));
    const n = 2000;
    let callbacks = 0;
    for (let i = 0; i < n; i++) ch.sendToQueue('confirm-burst', body(`b${i}`), { persistent: true }, () => callbacks++);
    await withTimeout(ch.waitForConfirms(), 60000, 'waitForConfirms');
    assert.equal(callbacks, n);
    assert.ok(acks.length < n / 10, `expected coalesced acks, got ${acks.length} ack frames for ${n} publishes`);
    assert.ok(acks.some((a) => a.multiple), 'some acks have multiple=true');
    assert.equal(acks[acks.length - 1]!.deliveryTag, n);
    await ch.deleteQueue('confirm-burst');
    await ch.close();
  });

  it('transient publishes are coalesced too (counted with @cloudamqp/amqp-client)', async () => {
    const { AMQPClient, AMQPChannel } = loadAmqpClient();
    const client = new AMQPClient(app.amqpUrl);
    await client.connect();
    const proto = AMQPChannel.prototype as unknown as { publishConfirmed(tag: number, multiple: boolean, nack: boolean): void };
    const original = proto.publishConfirmed;
    const frames: { tag: number; multiple: boolean; nack: boolean }[] = [];
    proto.publishConfirmed = function (this: unknown, tag: number, multiple: boolean, nack: boolean) {
      frames.push({ tag, multiple, nack });
      return original.call(this, tag, multiple, nack);
    };
    try {
      const ch = await client.channel();
      await ch.confirmSelect();
      const q = await ch.queueDeclare('', { exclusive: true, durable: false });
      const n = 2000;
      const pending: Promise<number>[] = [];
      for (let i = 0; i < n; i++) pending.push(ch.basicPublish('', q.name, `t${i}`));
      const tags = await withTimeout(Promise.all(pending), 30000, 'all confirms');
      assert.deepEqual(
        tags,
        Array.from({ length: n }, (_, i) => i + 1),
        'each publish resolved with its own tag',
      );
      assert.ok(frames.every((f) => !f.nack));
      assert.ok(frames.length < n / 10, `expected coalesced acks, got ${frames.length} frames for ${n} publishes`);
      assert.ok(frames.some((f) => f.multiple));
      assert.equal((await ch.queueDeclare(q.name, { passive: true })).messageCount, n);
    } finally {
      proto.publishConfirmed = original;
      await client.close();
    }
  });

  it('confirm.select on a transactional channel is refused with 406, and tx.select on a confirm channel too', async () => {
    const ch = await channel(conn);
    await txSelect(ch);
    await expectRefused(rpc(ch, Method.ConfirmSelect, { nowait: false }, Method.ConfirmSelectOk), ReplyCode.PreconditionFailed, 'confirm.select after tx.select');
    await expectChannelClosed(ch, ReplyCode.PreconditionFailed);

    const cch = await confirmChannel(conn);
    await expectRefused(txSelect(cch), ReplyCode.PreconditionFailed, 'tx.select after confirm.select');
    await expectChannelClosed(cch, ReplyCode.PreconditionFailed);
  });

  it('tx.commit / tx.rollback on a channel that is not transactional is refused with 406', async () => {
    const ch = await channel(conn);
    await expectRefused(txCommit(ch), ReplyCode.PreconditionFailed, 'tx.commit without tx.select');
    const ch2 = await channel(conn);
    await expectRefused(txRollback(ch2), ReplyCode.PreconditionFailed, 'tx.rollback without tx.select');
  });
});

describe('transactions', () => {
  it('publishes: invisible until commit; rolled-back ones never arrive', async () => {
    const observer = await channel(conn);
    await observer.assertQueue('tx-pub', { durable: true });
    const ch = await channel(conn);
    await txSelect(ch);
    ch.sendToQueue('tx-pub', body('r1'), { persistent: true });
    ch.sendToQueue('tx-pub', body('r2'));
    ch.publish('amq.direct', 'nowhere', body('r3'));
    await settle(150);
    assert.equal(await messageCount(conn, 'tx-pub'), 0, 'nothing visible before commit');
    await txRollback(ch);
    await settle(100);
    assert.equal(await messageCount(conn, 'tx-pub'), 0, 'nothing after rollback');

    ch.sendToQueue('tx-pub', body('c1'), { persistent: true });
    ch.sendToQueue('tx-pub', body('c2'));
    await settle(100);
    assert.equal(await messageCount(conn, 'tx-pub'), 0, 'still nothing before commit');
    await txCommit(ch);
    assert.equal(await messageCount(conn, 'tx-pub'), 2, 'visible right after commit-ok');

    // the channel stays transactional: a second transaction works the same way
    ch.sendToQueue('tx-pub', body('r4'));
    await txRollback(ch);
    ch.sendToQueue('tx-pub', body('c3'));
    await txCommit(ch);
    assert.deepEqual(await drain(observer, 'tx-pub'), ['c1', 'c2', 'c3']);
    await ch.close();
    await settle(100);
    assert.deepEqual(await drain(observer, 'tx-pub'), [], 'closing the channel with nothing pending adds nothing');

    // closing a channel with uncommitted publishes discards them
    const ch2 = await channel(conn);
    await txSelect(ch2);
    ch2.sendToQueue('tx-pub', body('uncommitted'));
    await ch2.close();
    await settle(100);
    assert.deepEqual(await drain(observer, 'tx-pub'), []);
    await observer.deleteQueue('tx-pub');
    await observer.close();
  });

  it('acks: a rolled-back ack leaves the message unacked (redelivered after close); a committed ack sticks', async () => {
    const setup = await channel(conn);
    await setup.assertQueue('tx-ack', { durable: false });
    for (const b of ['a1', 'a2', 'a3']) setup.sendToQueue('tx-ack', body(b));
    await eventually(async () => (await messageCount(conn, 'tx-ack')) === 3);

    const ch = await channel(conn);
    await txSelect(ch);
    const m1 = await getOne(ch, 'tx-ack');
    ch.ack(m1);
    await txRollback(ch);
    assert.equal(await messageCount(conn, 'tx-ack'), 2, 'a1 is still unacked, not ready');
    // still unacked on this channel: acking it again (and committing) is valid, no 406
    const m2 = await getOne(ch, 'tx-ack');
    assert.equal(m2.content.toString(), 'a2');
    ch.ack(m2);
    await txCommit(ch);
    assert.equal(ch.errors.length, 0);
    await ch.close(); // a1 (rolled-back ack) goes back; a2 (committed ack) does not

    const after1 = await drain(setup, 'tx-ack');
    assert.deepEqual(after1, ['a1', 'a3']);

    // redelivered flag on the requeued one
    setup.sendToQueue('tx-ack', body('b1'));
    const ch2 = await channel(conn);
    await txSelect(ch2);
    const b1 = await getOne(ch2, 'tx-ack');
    ch2.ack(b1);
    await txRollback(ch2);
    await ch2.close();
    const back = await getOne(setup, 'tx-ack', { noAck: true });
    assert.equal(back.content.toString(), 'b1');
    assert.equal(back.fields.redelivered, true);

    // nack/reject inside a transaction take effect on commit
    for (const b of ['n1', 'n2']) setup.sendToQueue('tx-ack', body(b));
    const ch3 = await channel(conn);
    await txSelect(ch3);
    const n1 = await getOne(ch3, 'tx-ack');
    const n2 = await getOne(ch3, 'tx-ack');
    ch3.reject(n1, false);
    ch3.nack(n2, false, true);
    await settle(100);
    assert.equal(await messageCount(conn, 'tx-ack'), 0, 'uncommitted nack: n2 not requeued yet');
    await txCommit(ch3);
    assert.deepEqual(await drain(setup, 'tx-ack'), ['n2'], 'commit: n1 dropped, n2 requeued');
    await ch3.close();
    await setup.deleteQueue('tx-ack');
    await setup.close();
  });

  it('commit-ok for persistent publishes to a durable queue comes after they are stored', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('tx-durable', { durable: true });
    await txSelect(ch);
    for (let i = 0; i < 50; i++) ch.sendToQueue('tx-durable', body(`td${i}`), { persistent: true });
    await txCommit(ch);
    const db = new Database(join(app.dataDir, 'broker.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const row = db
        .prepare(`SELECT count(*) AS n FROM entries e JOIN queues q ON q.id = e.queue WHERE q.name = ?`)
        .get('tx-durable') as { n: number };
      assert.equal(row.n, 50);
    } finally {
      db.close();
    }
    await ch.deleteQueue('tx-durable');
    await ch.close();
  });
});
