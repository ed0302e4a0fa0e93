/**
 * The core AMQP flows with a second, independent client: @cloudamqp/amqp-client (its own codec,
 * its own handshake and frame handling), against the whole app on ephemeral ports.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eventually, sleep, startTestApp, TestApp } from '../support/app-harness';
import { withTimeout } from '../support/amqp-e2e';
import { AmqpClientApi, loadAmqpClient } from '../support/second-client';

type Client = InstanceType<AmqpClientApi['AMQPClient']>;
type Channel = Awaited<ReturnType<Client['channel']>>;
type Message = InstanceType<AmqpClientApi['AMQPMessage']>;

let app: TestApp;
let api: AmqpClientApi;
let client: Client;

before(async () => {
  app = await startTestApp();
  api = loadAmqpClient();
  client = new api.AMQPClient(app.amqpUrl, undefined, null);
  await client.connect();
});

after(async () => {
  try {
    await withTimeout(client.close(), 5000, 'client close');
  } catch {
    // already closed
  }
  await app.close();
});

/** Asserts the promise fails because the server closed the channel/connection with `code`. */
async function expectClosedWith(operation: Promise<unknown>, code: number, what: string): Promise<void> {
  let error: Error | undefined;
  try {
    await operation;
  } catch (caught) {
    error = caught as Error;
  }
  assert.ok(error, `${what}: expected a ${code} close, but it succeeded`);
  assert.match(error.message, new RegExp(`\\(${code}\\)`), `${what}: ${error.message}`);
}

async function drainGet(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.basicGet(queue, { noAck: true });
    if (m === null) return out;
    out.push(m.bodyToString() ?? '');
  }
}

describe('@cloudamqp/amqp-client', () => {
  it('connects (PLAIN, tune, open) and opens and closes channels', async () => {
    assert.equal(client.closed, false);
    assert.ok(client.frameMax >= 4096, `negotiated frame_max ${client.frameMax}`);
    const channels = await Promise.all(Array.from({ length: 20 }, () => client.channel()));
    assert.equal(new Set(channels.map((c) => c.id)).size, 20);
    for (const c of channels) await c.close();
  });

  it('declares exchanges and queues, binds, routes (topic, fanout, headers, exchange-to-exchange), unbinds, deletes', async () => {
    const ch = await client.channel();
    await ch.exchangeDeclare('sc-topic', 'topic', { durable: false });
    await ch.exchangeDeclare('sc-fanout', 'fanout', { durable: false });
    await ch.exchangeDeclare('sc-headers', 'headers', { durable: false });
    const qTopic = await ch.queueDeclare('', { exclusive: true, durable: false });
    assert.match(qTopic.name, /^amq\.gen-/);
    assert.equal(qTopic.messageCount, 0);
    const qFan = await ch.queueDeclare('sc-fan-q', { durable: false, autoDelete: false });
    const qHead = await ch.queueDeclare('sc-head-q', { durable: false });
    await ch.queueBind(qTopic.name, 'sc-topic', 'a.#');
    await ch.queueBind(qFan.name, 'sc-fanout', '');
    await ch.exchangeBind('sc-fanout', 'sc-topic', '*.z');
    await ch.queueBind(qHead.name, 'sc-headers', '', { 'x-match': 'all', a: 'x', b: 2 });

    for (const key of ['a', 'a.b.c', 'q.z', 'a.z', 'b']) await ch.basicPublish('sc-topic', key, key);
    await ch.basicPublish('sc-headers', '', 'h-match', { headers: { a: 'x', b: 2, c: true } });
    await ch.basicPublish('sc-headers', '', 'h-miss', { headers: { a: 'x' } });
    await sleep(100);
    assert.deepEqual(await drainGet(ch, qTopic.name), ['a', 'a.b.c', 'a.z']);
    assert.deepEqual(await drainGet(ch, qFan.name), ['q.z', 'a.z'], 'via the exchange-to-exchange binding');
    assert.deepEqual(await drainGet(ch, qHead.name), ['h-match']);

    await ch.queueUnbind(qTopic.name, 'sc-topic', 'a.#');
    await ch.exchangeUnbind('sc-fanout', 'sc-topic', '*.z');
    await ch.basicPublish('sc-topic', 'a.z', 'after-unbind');
    await sleep(50);
    assert.deepEqual(await drainGet(ch, qTopic.name), []);
    assert.deepEqual(await drainGet(ch, qFan.name), []);

    const deleted = await ch.queueDelete(qFan.name);
    assert.equal(deleted.messageCount, 0);
    await ch.exchangeDelete('sc-fanout');
    await ch.close();
  });

  it('publishes with confirms: every publish resolves once confirmed, persistent ones to a durable queue too', async () => {
    const ch = await client.channel();
    await ch.confirmSelect();
    const q = await ch.queueDeclare('sc-confirm-q', { durable: true });
    const tags: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      pending.push(ch.basicPublish('', q.name, `c${i}`, { deliveryMode: i % 2 === 0 ? 2 : 1 }).then((tag) => void tags.push(tag)));
    }
    await withTimeout(Promise.all(pending), 30000, 'confirms');
    assert.deepEqual(
      tags,
      Array.from({ length: 500 }, (_, i) => i + 1),
      'confirmed in publish order',
    );
    const declared = await ch.queueDeclare(q.name, { passive: true });
    assert.equal(declared.messageCount, 500);
    assert.equal((await ch.queuePurge(q.name)).messageCount, 500);
    await ch.queueDelete(q.name);
    await ch.close();
  });

  it('consumes with prefetch and manual ack; ack frees credit; cancel stops deliveries', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('sc-consume-q', { durable: false });
    for (let i = 1; i <= 10; i++) await ch.basicPublish('', q.name, `m${i}`);
    await ch.basicQos(3);
    const got: Message[] = [];
    const consumer = await ch.basicConsume(q.name, { noAck: false }, (msg) => void got.push(msg));
    assert.match(consumer.tag, /^amq\.ctag-/);
    await eventually(() => got.length === 3);
    await sleep(200);
    assert.equal(got.length, 3, 'prefetch 3');
    assert.deepEqual(
      got.map((m) => m.deliveryTag),
      [1, 2, 3],
    );
    await got[0]!.ack();
    await got[1]!.ack();
    await eventually(() => got.length === 5);
    await sleep(100);
    assert.equal(got.length, 5);
    await got[4]!.ack(true); // multiple: acks 3, 4, 5
    await eventually(() => got.length === 8);
    await consumer.cancel();
    for (const m of got.slice(5)) await m.ack();
    await sleep(100);
    assert.deepEqual(
      got.map((m) => m.bodyToString()),
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'],
    );
    const left = await ch.queueDeclare(q.name, { passive: true, durable: false });
    assert.equal(left.messageCount, 2);
    assert.equal(left.consumerCount, 0);
    await ch.queueDelete(q.name);
    await ch.close();
  });

  it('nack/reject with requeue redeliver with redelivered=true; basic.get reports the remaining count', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('', { exclusive: true, durable: false });
    for (const b of ['g1', 'g2', 'g3']) await ch.basicPublish('', q.name, b);
    await sleep(50);
    const g1 = await ch.basicGet(q.name, { noAck: false });
    assert.ok(g1);
    assert.equal(g1.bodyToString(), 'g1');
    assert.equal(g1.messageCount, 2);
    assert.equal(g1.redelivered, false);
    await g1.reject(true);
    const again = await ch.basicGet(q.name, { noAck: false });
    assert.ok(again);
    assert.equal(again.bodyToString(), 'g1');
    assert.equal(again.redelivered, true);
    await again.nack(false);
    assert.deepEqual(await drainGet(ch, q.name), ['g2', 'g3']);
    assert.equal(await ch.basicGet(q.name), null, 'get-empty');
    await ch.close();
  });

  it('mandatory publish to nowhere comes back as basic.return 312 NO_ROUTE', async () => {
    const ch = await client.channel();
    const returned: Message[] = [];
    ch.onReturn = (msg: Message): void => void returned.push(msg);
    await ch.basicPublish('amq.direct', 'nobody', 'bounce', { messageId: 'r1' }, true);
    await ch.basicPublish('amq.direct', 'nobody', 'dropped', {}, false);
    await eventually(() => returned.length === 1);
    await sleep(100);
    assert.equal(returned.length, 1);
    const r = returned[0]!;
    assert.equal(r.replyCode, 312);
    assert.equal(r.replyText, 'NO_ROUTE');
    assert.equal(r.exchange, 'amq.direct');
    assert.equal(r.routingKey, 'nobody');
    assert.equal(r.bodyToString(), 'bounce');
    assert.equal(r.properties.messageId, 'r1');
    await ch.close();
  });

  it('properties round-trip through this client’s codec too', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('', { exclusive: true, durable: false });
    const timestamp = new Date(1700000000000);
    const properties = {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: { s: 'str', n: 12345, big: 2 ** 40, f: 1.5, t: true, nested: { a: [1, 'b', { c: false }] } },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'rq',
      expiration: '100000',
      messageId: 'mid',
      timestamp,
      type: 'ty',
      userId: 'guest',
      appId: 'app',
    };
    await ch.basicPublish('', q.name, 'props', properties);
    const m = await ch.basicGet(q.name, { noAck: true });
    assert.ok(m);
    assert.equal(m.bodyToString(), 'props');
    const p = m.properties;
    assert.equal(p.contentType, 'text/plain');
    assert.equal(p.contentEncoding, 'utf-8');
    assert.deepEqual(p.headers, properties.headers);
    assert.equal(p.deliveryMode, 2);
    assert.equal(p.priority, 3);
    assert.equal(p.correlationId, 'corr');
    assert.equal(p.replyTo, 'rq');
    assert.equal(p.expiration, '100000');
    assert.equal(p.messageId, 'mid');
    assert.equal(p.timestamp?.getTime(), timestamp.getTime());
    assert.equal(p.type, 'ty');
    assert.equal(p.userId, 'guest');
    assert.equal(p.appId, 'app');
    await ch.close();
  });

  it('a 10 MB message arrives intact', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('', { exclusive: true, durable: false });
    const big = randomBytes(10 * 1024 * 1024);
    await ch.basicPublish('', q.name, big);
    let received: Message | undefined;
    const consumer = await ch.basicConsume(q.name, { noAck: true }, (msg) => void (received = msg));
    await eventually(() => received !== undefined, 60000, 'the big delivery');
    assert.ok(Buffer.from(received!.body as Uint8Array).equals(big));
    await consumer.cancel();
    await ch.close();
  });

  it('transactions: rollback discards, commit publishes', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('', { exclusive: true, durable: false });
    await ch.txSelect();
    await ch.basicPublish('', q.name, 'rolled-back');
    await ch.txRollback();
    await ch.basicPublish('', q.name, 'committed');
    await ch.txCommit();
    const observer = await client.channel();
    assert.deepEqual(await drainGet(observer, q.name), ['committed']);
    await observer.close();
    await ch.close();
  });

  it('errors: passive declare of a missing queue is 404, exclusive queue of another connection is 405, channel then reusable', async () => {
    const ch = await client.channel();
    await expectClosedWith(ch.queueDeclare('sc-missing', { passive: true }), 404, 'passive queue.declare');
    await expectClosedWith((await client.channel()).exchangeDeclare('sc-missing-x', 'direct', { passive: true }), 404, 'passive exchange.declare');
    await expectClosedWith((await client.channel()).exchangeDeclare('amq.sc', 'direct'), 403, 'amq.* exchange');

    const other = new api.AMQPClient(app.amqpUrl, undefined, null);
    await other.connect();
    try {
      const och = await other.channel();
      await och.queueDeclare('sc-exclusive', { exclusive: true, durable: false });
      await expectClosedWith((await client.channel()).queueDeclare('sc-exclusive', { passive: true }), 405, 'exclusive queue from another connection');
    } finally {
      await other.close();
    }
    const fresh = await client.channel();
    await eventually(async () => {
      try {
        await (await client.channel()).queueDeclare('sc-exclusive', { passive: true });
        return false;
      } catch {
        return true; // gone with its connection
      }
    });
    await fresh.close();
  });
});
