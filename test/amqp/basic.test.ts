/**
 * basic.* end to end with amqplib: qos, consume/cancel, publish/return, get, ack/nack/reject,
 * recover, delivery tags, priorities, properties and big/empty bodies. Expected behaviour is
 * RabbitMQ's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Message } from 'amqplib';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import {
  body,
  channel,
  closeQuietly,
  Collector,
  connect,
  drain,
  expectChannelClosed,
  expectRefused,
  getOne,
  messageCount,
  range,
  ReplyCode,
  settle,
  TrackedConnection,
  withTimeout,
} from '../support/amqp-e2e';

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

/** Declares a fresh non-durable queue and fills it with `bodies` (publish order). */
async function queueWith(name: string, bodies: string[]): Promise<string> {
  const ch = await channel(conn);
  await ch.assertQueue(name, { durable: false });
  await ch.purgeQueue(name);
  for (const b of bodies) ch.sendToQueue(name, body(b));
  await eventually(async () => (await messageCount(conn, name)) === bodies.length, 5000, `${bodies.length} messages in ${name}`);
  await ch.close();
  return name;
}

const fakeMessage = (deliveryTag: number): Message => ({ fields: { deliveryTag } }) as unknown as Message;

describe('basic.qos', () => {
  it('global=false limits each consumer separately', async () => {
    const qa = await queueWith('qos-a', range(10, 'a'));
    const qb = await queueWith('qos-b', range(10, 'b'));
    const ch = await channel(conn);
    await ch.prefetch(2, false);
    const a = await Collector.start(ch, qa);
    const b = await Collector.start(ch, qb);
    await a.waitFor(2);
    await b.waitFor(2);
    await settle();
    assert.equal(a.messages.length, 2, 'consumer A holds its own 2');
    assert.equal(b.messages.length, 2, 'consumer B holds its own 2 (not shared with A)');
    ch.ack(a.messages[0]!);
    await a.waitFor(3);
    await settle();
    assert.equal(a.messages.length, 3);
    assert.equal(b.messages.length, 2);
    await ch.close();
  });

  it('global=true limits the channel as a whole', async () => {
    const qa = await queueWith('qosg-a', range(10, 'a'));
    const qb = await queueWith('qosg-b', range(10, 'b'));
    const ch = await channel(conn);
    await ch.prefetch(3, true);
    const a = await Collector.start(ch, qa);
    const b = await Collector.start(ch, qb);
    await eventually(() => a.messages.length + b.messages.length >= 3);
    await settle();
    assert.equal(a.messages.length + b.messages.length, 3, 'three unacked on the channel in total');
    const first = a.messages[0] ?? b.messages[0]!;
    ch.ack(first);
    await eventually(() => a.messages.length + b.messages.length >= 4);
    await settle();
    assert.equal(a.messages.length + b.messages.length, 4);
    await ch.close();
  });

  it('per-consumer and per-channel limits apply together', async () => {
    const qa = await queueWith('qosb-a', range(10, 'a'));
    const qb = await queueWith('qosb-b', range(10, 'b'));
    const ch = await channel(conn);
    await ch.prefetch(3, true);
    await ch.prefetch(2, false);
    const a = await Collector.start(ch, qa);
    await a.waitFor(2);
    await settle();
    assert.equal(a.messages.length, 2, 'per-consumer limit 2');
    const b = await Collector.start(ch, qb);
    await b.waitFor(1);
    await settle();
    assert.equal(b.messages.length, 1, 'channel limit 3 leaves B only one');
    await ch.close();
  });

  it('noAck consumers are not limited by prefetch', async () => {
    const q = await queueWith('qos-noack', range(20));
    const ch = await channel(conn);
    await ch.prefetch(1);
    const c = await Collector.start(ch, q, { noAck: true });
    await c.waitFor(20);
    assert.deepEqual(c.bodies(), range(20));
    assert.equal(await messageCount(conn, q), 0);
    await ch.close();
    assert.equal(await messageCount(conn, q), 0, 'nothing requeued: they were never unacked');
  });
});

describe('basic.consume / basic.cancel', () => {
  it('server-generated consumer tags are amq.ctag-…; client tags are kept; reusing a tag is 530', async () => {
    const q = await queueWith('tags-q', []);
    const ch = await channel(conn);
    const a = await ch.consume(q, () => undefined);
    const b = await ch.consume(q, () => undefined);
    assert.match(a.consumerTag, /^amq\.ctag-/);
    assert.match(b.consumerTag, /^amq\.ctag-/);
    assert.notEqual(a.consumerTag, b.consumerTag);
    const mine = await ch.consume(q, () => undefined, { consumerTag: 'my-tag' });
    assert.equal(mine.consumerTag, 'my-tag');

    const c = await connect(app.amqpUrl);
    const ch2 = await channel(c);
    await ch2.consume(q, () => undefined, { consumerTag: 'dup' });
    void ch2.consume(q, () => undefined, { consumerTag: 'dup' }).catch(() => undefined);
    const error = await withTimeout(c.closed, 10000, 'connection not closed after reusing a consumer tag');
    assert.equal(error?.code, 530, 'NOT_ALLOWED closes the connection');
    await ch.close();
  });

  it('exclusive consumers: any other consumer is refused with 403, and exclusive needs an empty queue', async () => {
    const q = await queueWith('excl-consume', []);
    const ch = await channel(conn);
    await ch.consume(q, () => undefined, { exclusive: true });
    const other = await channel(conn);
    await expectRefused(other.consume(q, () => undefined), ReplyCode.AccessRefused, 'second consumer on an exclusively consumed queue');

    const q2 = await queueWith('excl-consume-2', []);
    const ch2 = await channel(conn);
    await ch2.consume(q2, () => undefined);
    const ch3 = await channel(conn);
    await expectRefused(ch3.consume(q2, () => undefined, { exclusive: true }), ReplyCode.AccessRefused, 'exclusive consume with a consumer present');
    await ch.close();
    await ch2.close();
  });

  it('x-priority: higher-priority consumers get messages while they have capacity', async () => {
    const q = await queueWith('prio-consumers', []);
    const ch = await channel(conn);
    await ch.prefetch(5);
    const low = await Collector.start(ch, q, { priority: 0 });
    const high = await Collector.start(ch, q, { priority: 10 });
    const pub = await channel(conn);
    for (const b of range(8)) pub.sendToQueue(q, body(b));
    await eventually(() => low.messages.length + high.messages.length === 8);
    assert.deepEqual(high.bodies(), range(5), 'the high-priority consumer gets the first 5 (its prefetch)');
    assert.deepEqual(low.bodies(), ['m6', 'm7', 'm8'], 'the rest overflow to the low-priority one');
    await ch.close();
    await pub.close();
  });

  it('basic.cancel by the client stops deliveries; unacked ones can still be acked', async () => {
    const q = await queueWith('cancel-q', range(3));
    const ch = await channel(conn);
    const c = await Collector.start(ch, q);
    await c.waitFor(3);
    const ok = await ch.cancel(c.tag);
    assert.equal(ok.consumerTag, c.tag, 'cancel-ok echoes the tag');
    ch.sendToQueue(q, body('after-cancel'));
    await settle();
    assert.equal(c.messages.length, 3, 'nothing delivered after cancel');
    for (const m of c.messages) ch.ack(m);
    assert.equal(await messageCount(conn, q), 1);
    await ch.close();
    assert.equal(await messageCount(conn, q), 1, 'the acks after cancel were valid: nothing requeued');
    assert.equal(ch.errors.length, 0, ch.errors.map((e) => e.message).join());
  });

  it('deleting the queue cancels its consumers with a server basic.cancel (amqplib calls back with null)', async () => {
    const q = await queueWith('server-cancel-q', []);
    const ch = await channel(conn);
    const c = await Collector.start(ch, q);
    const cancelEvent = new Promise<{ consumerTag: string }>((resolve) => ch.once('cancel', resolve));
    const other = await channel(conn);
    await other.deleteQueue(q);
    const fields = await withTimeout(cancelEvent, 5000, 'no basic.cancel from the server');
    assert.equal(fields.consumerTag, c.tag);
    await eventually(() => c.cancelled === 1, 5000, 'consume callback called with null');
    // the channel stays usable
    await ch.assertQueue('', { exclusive: true });
    await ch.close();
    await other.close();
  });
});

describe('basic.publish / basic.return / basic.get', () => {
  it('mandatory publish to nowhere comes back as basic.return 312 NO_ROUTE; non-mandatory is dropped silently', async () => {
    const ch = await channel(conn);
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    ch.publish('amq.direct', 'no-binding-here', body('back'), { mandatory: true, messageId: 'ret-1', headers: { h: 1 } });
    ch.publish('amq.direct', 'no-binding-here', body('dropped'));
    ch.publish('', 'no-such-queue', body('back2'), { mandatory: true });
    await eventually(() => returned.length >= 2, 5000, 'basic.return');
    await settle();
    assert.equal(returned.length, 2);
    const [r1, r2] = returned as [Message, Message];
    const f1 = r1.fields as unknown as { replyCode: number; replyText: string; exchange: string; routingKey: string };
    assert.equal(f1.replyCode, ReplyCode.NoRoute);
    assert.equal(f1.replyText, 'NO_ROUTE');
    assert.equal(f1.exchange, 'amq.direct');
    assert.equal(f1.routingKey, 'no-binding-here');
    assert.equal(r1.content.toString(), 'back');
    assert.equal(r1.properties.messageId, 'ret-1');
    assert.deepEqual({ ...r1.properties.headers }, { h: 1 });
    assert.equal(r2.content.toString(), 'back2');
    assert.equal((r2.fields as unknown as { exchange: string }).exchange, '');

    // mandatory and routable: no return
    const q = await queueWith('mandatory-ok', []);
    ch.sendToQueue(q, body('fine'), { mandatory: true });
    await settle();
    assert.equal(returned.length, 2);
    assert.deepEqual(await drain(ch, q), ['fine']);
    await ch.close();
  });

  it('basic.get returns get-ok with the count of remaining messages, then get-empty', async () => {
    const q = await queueWith('get-q', range(3));
    const ch = await channel(conn);
    const counts: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await getOne(ch, q, { noAck: true });
      counts.push(m.fields.messageCount);
      bodies.push(m.content.toString());
      assert.equal(m.fields.redelivered, false);
      assert.equal(m.fields.routingKey, q);
      assert.equal(m.fields.exchange, '');
    }
    assert.deepEqual(bodies, range(3));
    assert.deepEqual(counts, [2, 1, 0]);
    assert.equal(await ch.get(q), false, 'get-empty');
    await ch.close();
  });
});

describe('user_id', () => {
  it('a publish whose user_id is not the authenticated user closes the channel with 406; its own name is accepted', async () => {
    const q = await queueWith('user-id-q', []);
    const ch = await channel(conn);
    ch.sendToQueue(q, body('as guest'), { userId: 'guest' });
    await eventually(async () => (await messageCount(conn, q)) === 1, 5000, 'the publish with the right user_id');
    ch.sendToQueue(q, body('as someone else'), { userId: 'mallory' });
    const error = await expectChannelClosed(ch, ReplyCode.PreconditionFailed, 'publish with a foreign user_id');
    assert.match(error.message, /PRECONDITION_FAILED - user_id property set to 'mallory' but authenticated user was 'guest'/);
    assert.deepEqual([error.classId, error.methodId], [60, 40], 'blamed on basic.publish');
    assert.deepEqual(await drain(await channel(conn), q), ['as guest'], 'the refused message was not enqueued');
  });
});

describe('acknowledgements', () => {
  it('ack/nack/reject with multiple=true settle everything up to the tag', async () => {
    const q = await queueWith('settle-q', range(10));
    const ch = await channel(conn);
    const got = [];
    for (let i = 0; i < 10; i++) got.push(await getOne(ch, q));
    ch.ack(got[2]!, true); // 1..3 acked
    ch.nack(got[5]!, true, false); // 4..6 dropped
    ch.reject(got[6]!, false); // 7 dropped
    ch.ack(got[9]!); // 10 acked
    ch.nack(got[7]!, false, true); // 8 requeued
    await settle(100);
    assert.deepEqual(await drain(ch, q), ['m8']);
    await ch.close(); // 9 still unacked: requeued on close
    const ch2 = await channel(conn);
    const back = await getOne(ch2, q, { noAck: true });
    assert.equal(back.content.toString(), 'm9');
    assert.equal(back.fields.redelivered, true);
    assert.equal(await ch2.get(q), false);
    await ch2.close();
  });

  it('nack/reject with requeue put messages back in their original position, redelivered=true', async () => {
    const q = await queueWith('requeue-q', range(6));
    const ch = await channel(conn);
    const m1 = await getOne(ch, q);
    const m2 = await getOne(ch, q);
    const m3 = await getOne(ch, q);
    const m4 = await getOne(ch, q);
    ch.reject(m3, true);
    ch.nack(m2, true, true); // m1, m2 (m3 already back)
    ch.nack(m4, false, true);
    const order: [string, boolean][] = [];
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) break;
      order.push([m.content.toString(), m.fields.redelivered]);
    }
    assert.deepEqual(order, [['m1', true], ['m2', true], ['m3', true], ['m4', true], ['m5', false], ['m6', false]]);
    void m1;
    await ch.close();
  });

  it('nack requeue to a consumer redelivers in order with redelivered=true', async () => {
    const q = await queueWith('requeue-consumer-q', range(4));
    const ch = await channel(conn);
    await ch.prefetch(2);
    const c = await Collector.start(ch, q);
    await c.waitFor(2);
    ch.nack(c.messages[1]!, true, true);
    await c.waitFor(4);
    ch.ack(c.messages[3]!, true);
    await c.waitFor(6);
    await settle();
    const seen = c.messages.map((m) => [m.content.toString(), m.fields.redelivered]);
    assert.deepEqual(seen, [['m1', false], ['m2', false], ['m1', true], ['m2', true], ['m3', false], ['m4', false]]);
    await ch.close();
  });

  it('reject without requeue drops the message', async () => {
    const q = await queueWith('reject-drop-q', range(2));
    const ch = await channel(conn);
    ch.reject(await getOne(ch, q), false);
    await ch.close();
    const ch2 = await channel(conn);
    assert.deepEqual(await drain(ch2, q), ['m2']);
    await ch2.close();
  });

  it('basic.recover requeues every unacked delivery, which come back redelivered once', async () => {
    const q = await queueWith('recover-q', range(3));
    const own = await connect(app.amqpUrl); // isolated: a failure here must not wedge the shared connection
    try {
      await recoverCase(own, q);
    } finally {
      await closeQuietly(own);
    }
  });

  async function recoverCase(c0: TrackedConnection, q: string): Promise<void> {
    const ch = await channel(c0);
    const c = await Collector.start(ch, q);
    await c.waitFor(3);
    await withTimeout(ch.recover(), 10000, 'recover-ok');
    await c.waitFor(6);
    await settle();
    assert.equal(c.messages.length, 6, `each unacked message is redelivered once (got ${c.messages.length} deliveries)`);
    assert.deepEqual(c.bodies(), [...range(3), ...range(3)]);
    assert.deepEqual(c.messages.map((m) => m.fields.redelivered), [false, false, false, true, true, true]);
    // the old delivery tags are gone: the new ones are 4, 5, 6
    assert.deepEqual(c.messages.slice(3).map((m) => m.fields.deliveryTag), [4, 5, 6]);
    ch.ack(c.messages[5]!, true);
    await settle(100);
    await withTimeout(ch.close(), 10000, 'channel.close-ok after recover');
    assert.equal(await messageCount(conn, q), 0);
  }

  it('nack of everything (tag 0, multiple, requeue) redelivers each message once to a consumer', async () => {
    const q = await queueWith('nack-all-q', range(3));
    const own = await connect(app.amqpUrl);
    try {
      const ch = await channel(own);
      const c = await Collector.start(ch, q);
      await c.waitFor(3);
      ch.nackAll(true);
      await c.waitFor(6);
      await settle();
      assert.equal(c.messages.length, 6, `each message is redelivered once (got ${c.messages.length} deliveries)`);
      assert.deepEqual(
        c.messages.map((m) => [m.content.toString(), m.fields.redelivered]),
        [...range(3).map((b) => [b, false]), ...range(3).map((b) => [b, true])],
      );
      ch.ackAll();
      await withTimeout(ch.close(), 10000, 'channel.close-ok after nackAll');
      assert.equal(await messageCount(conn, q), 0);
    } finally {
      await closeQuietly(own);
    }
  });

  it('delivery tags are per channel, start at 1, and are shared by get and deliver', async () => {
    const q = await queueWith('tags-per-channel', range(8));
    const ch1 = await channel(conn);
    const ch2 = await channel(conn);
    const t1 = [(await getOne(ch1, q)).fields.deliveryTag, (await getOne(ch1, q)).fields.deliveryTag];
    const t2 = [(await getOne(ch2, q)).fields.deliveryTag, (await getOne(ch2, q)).fields.deliveryTag];
    assert.deepEqual(t1, [1, 2]);
    assert.deepEqual(t2, [1, 2]);
    const c = await Collector.start(ch1, q);
    await c.waitFor(4);
    assert.deepEqual(c.messages.map((m) => m.fields.deliveryTag), [3, 4, 5, 6]);
    await ch1.close();
    await ch2.close();
  });

  it('acking an unknown delivery tag closes the channel with 406', async () => {
    const ch = await channel(conn);
    ch.ack(fakeMessage(42));
    await expectChannelClosed(ch, ReplyCode.PreconditionFailed, 'ack of unknown tag');

    const q = await queueWith('double-ack-q', range(1));
    const ch2 = await channel(conn);
    const m = await getOne(ch2, q);
    ch2.ack(m);
    ch2.ack(m);
    await expectChannelClosed(ch2, ReplyCode.PreconditionFailed, 'second ack of the same tag');
    assert.equal(await messageCount(conn, q), 0, 'the first ack counted');

    const ch3 = await channel(conn);
    ch3.nack(fakeMessage(7), true, true);
    await expectChannelClosed(ch3, ReplyCode.PreconditionFailed, 'nack multiple beyond anything delivered');

    // RabbitMQ: with multiple=true the tag itself must still be outstanding
    const q2 = await queueWith('multi-ack-q', range(2));
    const ch4 = await channel(conn);
    const first = await getOne(ch4, q2);
    const second = await getOne(ch4, q2);
    ch4.ack(second, true);
    ch4.ack(first, true);
    await expectChannelClosed(ch4, ReplyCode.PreconditionFailed, 'multiple ack of a tag already acked');
    assert.equal(await messageCount(conn, q2), 0, 'the first multiple ack settled both');
  });
});

describe('priority queues', () => {
  it('x-max-priority: higher priorities first, FIFO within a priority, above-max treated as max', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('prio-q', { durable: false, maxPriority: 10 });
    const sends: [string, number | undefined][] = [
      ['a1', 1], ['b5', 5], ['c9', 9], ['d5', 5], ['e0', 0], ['f-', undefined], ['g9', 9], ['h200', 200], ['i10', 10],
    ];
    for (const [b, priority] of sends) ch.sendToQueue('prio-q', body(b), { priority });
    await eventually(async () => (await messageCount(conn, 'prio-q')) === sends.length);
    const got = await drain(ch, 'prio-q');
    assert.deepEqual(got, ['h200', 'i10', 'c9', 'g9', 'b5', 'd5', 'a1', 'e0', 'f-']);

    for (const [b, priority] of sends) ch.sendToQueue('prio-q', body(b), { priority });
    await eventually(async () => (await messageCount(conn, 'prio-q')) === sends.length);
    const c = await Collector.start(ch, 'prio-q', { noAck: true });
    await c.waitFor(sends.length);
    assert.deepEqual(c.bodies(), ['h200', 'i10', 'c9', 'g9', 'b5', 'd5', 'a1', 'e0', 'f-']);
    await ch.close();
  });
});

describe('message content', () => {
  it('every basic property and rich headers round-trip intact', async () => {
    const q = await queueWith('props-q', []);
    const ch = await channel(conn);
    const headers = {
      str: 'text',
      empty: '',
      unicode: 'größe ✓',
      byte: 42,
      short: 1000,
      int: 100000,
      long: 1e12,
      negative: -5,
      double: 3.25,
      yes: true,
      no: false,
      nothing: null,
      bytes: Buffer.from([0, 1, 2, 255]),
      ts: { '!': 'timestamp', value: 1700000000 },
      dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
      float: { '!': 'float', value: 1.5 },
      nested: { level1: { level2: { deep: 'value', n: 7 }, list: [1, 'two', false] } },
      array: ['x', 2, true, { k: 'v' }, [1, [2]], { '!': 'timestamp', value: 5 }],
      emptyTable: {},
      emptyArray: [],
    };
    const options = {
      contentType: 'application/json',
      contentEncoding: 'identity',
      headers,
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'reply-queue',
      expiration: '600000',
      messageId: 'msg-1',
      timestamp: 1700000123,
      type: 'order.created',
      userId: 'guest',
      appId: 'e2e-tests',
    };
    ch.sendToQueue(q, body('{"a":1}'), options);
    const got = await getOne(ch, q, { noAck: true });
    const c = await Collector.start(ch, q, { noAck: true });
    ch.sendToQueue(q, body('{"a":1}'), options);
    await c.waitFor(1);
    for (const m of [got, c.messages[0]!]) {
      const p = m.properties;
      assert.equal(m.content.toString(), '{"a":1}');
      assert.equal(p.contentType, 'application/json');
      assert.equal(p.contentEncoding, 'identity');
      assert.equal(p.deliveryMode, 2);
      assert.equal(p.priority, 7);
      assert.equal(p.correlationId, 'corr-1');
      assert.equal(p.replyTo, 'reply-queue');
      assert.equal(p.expiration, '600000');
      assert.equal(p.messageId, 'msg-1');
      assert.equal(p.timestamp, 1700000123);
      assert.equal(p.type, 'order.created');
      assert.equal(p.userId, 'guest');
      assert.equal(p.appId, 'e2e-tests');
      // amqplib decodes a 'f' float as a plain number; everything else comes back as sent
      assert.deepEqual({ ...p.headers }, { ...headers, float: 1.5 });
    }
    await ch.close();
  });

  it('an empty body with properties arrives as an empty body', async () => {
    const q = await queueWith('empty-body-q', []);
    const ch = await channel(conn);
    ch.sendToQueue(q, Buffer.alloc(0), { messageId: 'empty', headers: { k: 'v' } });
    ch.sendToQueue(q, Buffer.alloc(0));
    const c = await Collector.start(ch, q, { noAck: true });
    await c.waitFor(2);
    assert.equal(c.messages[0]!.content.length, 0);
    assert.equal(c.messages[0]!.properties.messageId, 'empty');
    assert.deepEqual({ ...c.messages[0]!.properties.headers }, { k: 'v' });
    assert.equal(c.messages[1]!.content.length, 0);
    ch.sendToQueue(q, Buffer.alloc(0));
    await ch.close();
  });

  async function bigRoundTrip(url: string, size: number, frameMax?: number): Promise<void> {
    const c = await connect(url, { frameMax });
    try {
      const ch = await channel(c);
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      const big = randomBytes(size);
      ch.sendToQueue(q, big, { messageId: 'big' });
      ch.sendToQueue(q, body('after-big'));
      const got = await Collector.start(ch, q, { noAck: true });
      await got.waitFor(2, 120000);
      assert.equal(got.messages[0]!.content.length, size);
      assert.ok(got.messages[0]!.content.equals(big), 'the big body arrives byte for byte');
      assert.equal(got.messages[0]!.properties.messageId, 'big');
      assert.equal(got.messages[1]!.content.toString(), 'after-big');
      // and through basic.get
      await withTimeout(ch.cancel(got.tag), 30000, 'cancel-ok after the big deliveries');
      ch.sendToQueue(q, big);
      const viaGet = await withTimeout(getOne(ch, q, { noAck: true }), 60000, 'get-ok for the big message');
      assert.ok(viaGet.content.equals(big));
      await withTimeout(ch.close(), 30000, 'channel.close-ok');
    } finally {
      await closeQuietly(c);
    }
  }

  it('after basic.get of a 1.2 MB message the connection keeps answering', async () => {
    const own = await connect(app.amqpUrl);
    try {
      const ch = await channel(own);
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      for (const size of [1.2, 2, 3]) {
        const big = randomBytes(Math.round(size * 1024 * 1024));
        ch.sendToQueue(q, big);
        const m = await withTimeout(getOne(ch, q, { noAck: true }), 20000, `get-ok for ${size} MB`);
        assert.ok(m.content.equals(big));
        const ok = await withTimeout(ch.checkQueue(q), 10000, `the connection stopped answering after a ${size} MB get-ok`);
        assert.equal(ok.messageCount, 0);
      }
    } finally {
      await closeQuietly(own);
    }
  });

  it('a 10 MB message spanning many frames arrives intact', async () => {
    await bigRoundTrip(app.amqpUrl, 10 * 1024 * 1024);
  });

  it('a 10 MB message arrives intact with AMQP_FRAME_MAX=4096 (thousands of frames)', async () => {
    const small = await startTestApp({ AMQP_FRAME_MAX: '4096' });
    try {
      await bigRoundTrip(small.amqpUrl, 10 * 1024 * 1024 + 17);
    } finally {
      await small.close();
    }
  });

  it('a message over AMQP_MAX_MESSAGE_MB closes the channel with 406; the connection keeps working', async () => {
    const limited = await startTestApp({ AMQP_MAX_MESSAGE_MB: '1' });
    const c = await connect(limited.amqpUrl);
    try {
      const ch = await channel(c);
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      ch.sendToQueue(q, Buffer.alloc(1024 * 1024, 1)); // exactly the limit: fine
      ch.sendToQueue(q, Buffer.alloc(1024 * 1024 + 1, 2));
      await expectChannelClosed(ch, ReplyCode.PreconditionFailed, 'oversized message');
      const ch2 = await withTimeout(channel(c), 10000, 'channel.open-ok after the 406');
      const ok = await withTimeout(ch2.checkQueue(q), 10000, 'declare-ok after the 406');
      assert.equal(ok.messageCount, 1, 'only the message within the limit was enqueued');
      // (purged rather than fetched: a >1 MB get-ok is covered by its own test above)
      assert.equal((await withTimeout(ch2.purgeQueue(q), 10000, 'purge-ok')).messageCount, 1);
      ch2.sendToQueue(q, body('still-works'));
      assert.deepEqual(await withTimeout(drain(ch2, q), 10000, 'get after the 406'), ['still-works']);
      assert.equal(c.errors.length, 0, 'the connection itself was not closed');
    } finally {
      await closeQuietly(c);
      await limited.close();
    }
  });
});
