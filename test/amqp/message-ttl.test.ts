/**
 * Message TTL as RabbitMQ: x-message-ttl on the queue and the per-message expiration property
 * (the shorter wins), expired messages never delivered and removed at the head, dead-lettered with
 * reason expired, TTL 0 delivered only to a consumer that can take it at once, TTLs counted from
 * the original enqueue across a restart, and RabbitMQ's cycle rule for a queue that dead-letters
 * its expired messages back to itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, restartableApp, sleep, startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, connect, getOne, TrackedConnection } from '../support/amqp-e2e';
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

type Death = Record<string, unknown>;
const firstDeath = (headers: Record<string, unknown> | undefined): Death => ((headers?.['x-death'] as unknown as Death[]) ?? [])[0] ?? {};

describe('message TTL', () => {
  it('x-message-ttl expires unconsumed messages at the head, in order, into the dead-letter exchange with reason expired', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('ttl-dlq', { durable: false });
    await ch.assertQueue('ttl-q', { durable: false, messageTtl: 200, deadLetterExchange: '', deadLetterRoutingKey: 'ttl-dlq' });
    for (let i = 0; i < 5; i++) ch.sendToQueue('ttl-q', body(`m${i}`));
    await eventually(async () => (await ch.checkQueue('ttl-dlq')).messageCount === 5, 5000, 'all five expired into the dead-letter queue');
    assert.equal((await ch.checkQueue('ttl-q')).messageCount, 0);
    const dead: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await getOne(ch, 'ttl-dlq');
      dead.push(m.content.toString());
      const death = firstDeath(m.properties.headers);
      assert.deepEqual([death.reason, death.queue, death.count], ['expired', 'ttl-q', 1]);
      assert.equal(m.properties.headers!['x-first-death-reason'], 'expired');
    }
    assert.deepEqual(dead, ['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('the per-message expiration applies alone and together with the queue TTL (the shorter wins); it is kept as original-expiration', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('exp-dlq', { durable: false });
    await ch.assertQueue('exp-q', { durable: false, messageTtl: 60_000, deadLetterExchange: '', deadLetterRoutingKey: 'exp-dlq' });
    ch.sendToQueue('exp-q', body('short'), { expiration: '150' });
    await ch.assertQueue('exp-plain', { durable: false });
    ch.sendToQueue('exp-plain', body('gone'), { expiration: '100' });
    ch.sendToQueue('exp-plain', body('stays'));
    await sleep(400);
    const dead = await getOne(ch, 'exp-dlq');
    assert.equal(dead.content.toString(), 'short');
    assert.equal(dead.properties.expiration, undefined);
    assert.equal(firstDeath(dead.properties.headers)['original-expiration'], '150');
    // expired messages are never delivered: the first get skips it
    const next = await getOne(ch, 'exp-plain');
    assert.equal(next.content.toString(), 'stays');
  });

  it('TTL 0 reaches a consumer that can take it at once, and otherwise expires on arrival', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('zero-dlq', { durable: false });
    await ch.assertQueue('zero-q', { durable: false, messageTtl: 0, deadLetterExchange: '', deadLetterRoutingKey: 'zero-dlq' });
    ch.sendToQueue('zero-q', body('nobody there'));
    await eventually(async () => (await ch.checkQueue('zero-dlq')).messageCount === 1, 3000, 'expired on arrival');
    assert.equal(await ch.get('zero-q'), false);
    const got: string[] = [];
    const consumer = await ch.consume('zero-q', (m) => m && got.push(m.content.toString()), { noAck: true });
    ch.sendToQueue('zero-q', body('taken at once'));
    await eventually(() => got.length === 1, 3000, 'delivered to the waiting consumer');
    await ch.cancel(consumer.consumerTag);
    assert.deepEqual(got, ['taken at once']);
    assert.equal((await ch.checkQueue('zero-dlq')).messageCount, 1);
  });

  it('a queue that dead-letters expired messages to itself drops them (a cycle), instead of looping', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('self-loop', { durable: false, messageTtl: 100, deadLetterExchange: '', deadLetterRoutingKey: 'self-loop' });
    ch.sendToQueue('self-loop', body('round and round'));
    await sleep(500);
    assert.equal((await ch.checkQueue('self-loop')).messageCount, 0);
  });

  it('refuses a bad x-message-ttl (406) and a publish with a bad expiration (406, the channel closes)', async () => {
    const bad = await channel(conn);
    await assert.rejects(bad.assertQueue('ttl-bad', { arguments: { 'x-message-ttl': -1 } }), /406.*invalid arg 'x-message-ttl'/);
    const pub = await channel(conn);
    await pub.assertQueue('ttl-pub', { durable: false });
    const closed = new Promise<Error>((resolve) => pub.once('error', resolve));
    pub.sendToQueue('ttl-pub', body('x'), { expiration: 'soon' });
    const error = await closed;
    assert.match(error.message, /406.*invalid expiration 'soon'/);
    const check = await channel(conn);
    assert.equal((await check.checkQueue('ttl-pub')).messageCount, 0);
  });

  it('@cloudamqp/amqp-client: per-message expiration and x-death as a second client sees them', async () => {
    const api = loadAmqpClient();
    const client = new api.AMQPClient(app.amqpUrl, undefined, null);
    await client.connect();
    try {
      const c = await client.channel();
      await c.queueDeclare('sc-ttl-dlq', { durable: false });
      await c.queueDeclare('sc-ttl', { durable: false }, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'sc-ttl-dlq' });
      await c.basicPublish('', 'sc-ttl', 'brief', { expiration: '50' });
      await sleep(300);
      const dead = await c.basicGet('sc-ttl-dlq', { noAck: true });
      assert.equal(dead?.bodyToString(), 'brief');
      const death = (dead!.properties.headers!['x-death'] as Death[])[0]!;
      assert.deepEqual([death.reason, death['original-expiration']], ['expired', '50']);
    } finally {
      await client.close();
    }
  });
});

describe('message TTL across a restart', () => {
  it('keeps counting from the original enqueue: what expired while stopped is gone, the rest is delivered', async () => {
    const broker = restartableApp({}, cleanups);
    let restartApp = await broker.start();
    let c = await connect(restartApp.amqpUrl);
    const ch = await channel(c);
    await ch.assertQueue('r-dlq', { durable: true });
    await ch.assertQueue('r-ttl', { durable: true, messageTtl: 800, deadLetterExchange: '', deadLetterRoutingKey: 'r-dlq' });
    await ch.assertQueue('r-long', { durable: true, messageTtl: 60_000 });
    ch.sendToQueue('r-ttl', body('expires while down'), { persistent: true });
    ch.sendToQueue('r-long', body('outlives the restart'), { persistent: true });
    await sleep(100);
    await closeQuietly(c);
    await restartApp.stop();
    await sleep(1000);
    restartApp = await broker.start();
    c = await connect(restartApp.amqpUrl);
    try {
      const after = await channel(c);
      assert.equal(await after.get('r-ttl'), false, 'already past its TTL: never delivered');
      await eventually(async () => (await after.checkQueue('r-dlq')).messageCount === 1, 3000, 'dead-lettered after the restart');
      const dead = await getOne(after, 'r-dlq');
      assert.equal(dead.content.toString(), 'expires while down');
      assert.equal(firstDeath(dead.properties.headers).reason, 'expired');
      assert.equal((await getOne(after, 'r-long')).content.toString(), 'outlives the restart');
    } finally {
      await closeQuietly(c);
    }
  });
});
