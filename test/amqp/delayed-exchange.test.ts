/**
 * Exchange type x-delayed-message, as RabbitMQ's delayed-message plugin: routed by its
 * x-delayed-type rule, a message with a positive x-delay header waits that long first; durable
 * across restarts; messages without a delay go at once; declaring it without a valid
 * x-delayed-type is refused with 406.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, restartableApp, sleep, startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, Collector, confirmChannel, connect, expectRefused, getOne, ReplyCode, TrackedConnection } from '../support/amqp-e2e';
import { loadAmqpClient } from '../support/second-client';

let app: TestApp;
let conn: TrackedConnection;
const cleanups: (() => Promise<void> | void)[] = [];
before(async () => {
  app = await startTestApp();
  conn = await connect(app.amqpUrl);
});
after(async () => {
  await closeQuietly(conn);
  await app?.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
const managementGet = async (path: string): Promise<unknown> => (await fetch(`${app.managementUrl}${path}`, { headers: auth })).json();
const delayed = (type: string) => ({ durable: false, arguments: { 'x-delayed-type': type } });

describe('x-delayed-message exchange', () => {
  it('holds a message for its x-delay, routes it by the delayed type, and lets undelayed messages through at once', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('dx-direct', 'x-delayed-message', delayed('direct'));
    await ch.assertQueue('dx-a', { durable: false });
    await ch.assertQueue('dx-b', { durable: false });
    await ch.bindQueue('dx-a', 'dx-direct', 'a');
    await ch.bindQueue('dx-b', 'dx-direct', 'b');
    const collector = await Collector.start(ch, 'dx-a', { noAck: true });
    const sentAt = Date.now();
    ch.publish('dx-direct', 'a', body('late'), { headers: { 'x-delay': 400 } });
    ch.publish('dx-direct', 'a', body('now'));
    ch.publish('dx-direct', 'a', body('negative delay goes now'), { headers: { 'x-delay': -5 } });
    ch.publish('dx-direct', 'b', body('other key'), { headers: { 'x-delay': 100 } });
    await collector.waitFor(2);
    assert.deepEqual(collector.bodies(), ['now', 'negative delay goes now']);
    await sleep(150);
    assert.equal(collector.messages.length, 2, 'the delayed one is still held');
    await collector.waitFor(3, 3000);
    const late = collector.messages[2]!;
    assert.equal(late.content.toString(), 'late');
    assert.ok(Date.now() - sentAt >= 390, 'not before its delay');
    assert.equal(late.properties.headers!['x-delay'], 400, 'the publisher headers are kept');
    assert.equal(late.properties.headers!['x-not-before'], undefined, 'no header of the broker is left on it');
    assert.equal((await getOne(ch, 'dx-b')).content.toString(), 'other key');
  });

  it('releases in due order, whatever the publish order, with topic routing', async () => {
    const ch = await channel(conn);
    await ch.assertExchange('dx-topic', 'x-delayed-message', delayed('topic'));
    await ch.assertQueue('dx-t', { durable: false });
    await ch.bindQueue('dx-t', 'dx-topic', 'orders.*');
    const collector = await Collector.start(ch, 'dx-t', { noAck: true });
    for (const [delay, text] of [
      [300, 'third'],
      [100, 'first'],
      [200, 'second'],
    ] as const) {
      ch.publish('dx-topic', 'orders.created', body(text), { headers: { 'x-delay': delay } });
    }
    ch.publish('dx-topic', 'invoices.created', body('matches no binding'), { headers: { 'x-delay': 50 } });
    await collector.waitFor(3, 3000);
    assert.deepEqual(collector.bodies(), ['first', 'second', 'third']);
  });

  it('confirms a delayed publish, is not returned as unroutable when mandatory, and shows no holding queue', async () => {
    const ch = await confirmChannel(conn);
    await ch.assertExchange('dx-confirm', 'x-delayed-message', delayed('fanout'));
    await ch.assertQueue('dx-c', { durable: false });
    await ch.bindQueue('dx-c', 'dx-confirm', '');
    let returned = 0;
    ch.on('return', () => returned++);
    await new Promise<void>((resolve, reject) =>
      ch.publish('dx-confirm', 'x', body('confirmed'), { mandatory: true, headers: { 'x-delay': 100 } }, (error) => (error ? reject(error) : resolve())),
    );
    await eventually(async () => (await ch.checkQueue('dx-c')).messageCount === 1, 3000, 'released');
    assert.equal(returned, 0);
    const queues = (await managementGet('/api/queues')) as { name: string }[];
    assert.ok(!queues.some((q) => q.name.startsWith('amq.delayed.')), 'the holding queue is the exchange’s own');
    const exchange = (await managementGet('/api/exchanges/%2F/dx-confirm')) as { type: string };
    assert.equal(exchange.type, 'x-delayed-message');
  });

  it('refuses a declare without a valid x-delayed-type (406), and deleting the exchange drops what it held', async () => {
    const c = await connect(app.amqpUrl);
    try {
      const ch = await channel(c);
      const error = await expectRefused(ch.assertExchange('dx-bad', 'x-delayed-message', { durable: false }), ReplyCode.PreconditionFailed);
      assert.match(error.message, /x-delayed-type' must be an existing exchange type/);
      const ch2 = await channel(c);
      await expectRefused(ch2.assertExchange('dx-bad', 'x-delayed-message', delayed('x-delayed-message')), ReplyCode.PreconditionFailed);
      const ch3 = await channel(c);
      await ch3.assertExchange('dx-gone', 'x-delayed-message', delayed('direct'));
      await ch3.assertQueue('dx-g', { durable: false });
      await ch3.bindQueue('dx-g', 'dx-gone', 'k');
      ch3.publish('dx-gone', 'k', body('never'), { headers: { 'x-delay': 200 } });
      await sleep(50);
      await ch3.deleteExchange('dx-gone');
      await sleep(400);
      assert.equal((await ch3.checkQueue('dx-g')).messageCount, 0);
    } finally {
      await closeQuietly(c);
    }
  });

  it('works the same from @cloudamqp/amqp-client, headers routing included', async () => {
    const api = loadAmqpClient();
    const client = new api.AMQPClient(app.amqpUrl, undefined, null);
    await client.connect();
    try {
      const c = await client.channel();
      await c.exchangeDeclare('dx-headers', 'x-delayed-message', { durable: false }, { 'x-delayed-type': 'headers' });
      await c.queueDeclare('dx-h', { durable: false });
      await c.queueBind('dx-h', 'dx-headers', '', { 'x-match': 'all', kind: 'audit' });
      await c.basicPublish('dx-headers', '', 'audited', { headers: { kind: 'audit', 'x-delay': 150 } });
      assert.equal(await c.basicGet('dx-h', { noAck: true }), null, 'still held');
      await sleep(400);
      const m = await c.basicGet('dx-h', { noAck: true });
      assert.equal(m?.bodyToString(), 'audited');
    } finally {
      await client.close();
    }
  });
});

describe('x-delayed-message exchange across a restart', () => {
  it('keeps persistent delayed messages: due while stopped go at once, later ones at their time', async () => {
    const broker = restartableApp({}, cleanups);
    let restartApp = await broker.start();
    let c = await connect(restartApp.amqpUrl);
    const ch = await confirmChannel(c);
    await ch.assertExchange('dx-durable', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
    await ch.assertQueue('dx-d', { durable: true });
    await ch.bindQueue('dx-d', 'dx-durable', 'k');
    ch.publish('dx-durable', 'k', body('due while down'), { persistent: true, headers: { 'x-delay': 300 } });
    ch.publish('dx-durable', 'k', body('due after restart'), { persistent: true, headers: { 'x-delay': 2500 } });
    await ch.waitForConfirms();
    await closeQuietly(c);
    await restartApp.stop();
    await sleep(600);
    restartApp = await broker.start();
    c = await connect(restartApp.amqpUrl);
    try {
      const after = await channel(c);
      await eventually(async () => (await after.checkQueue('dx-d')).messageCount === 1, 3000, 'the overdue one released after recovery');
      assert.equal((await getOne(after, 'dx-d', { noAck: true })).content.toString(), 'due while down');
      await eventually(async () => (await after.checkQueue('dx-d')).messageCount === 1, 5000, 'the later one at its time');
      assert.equal((await getOne(after, 'dx-d', { noAck: true })).content.toString(), 'due after restart');
    } finally {
      await closeQuietly(c);
    }
  });
});
