/**
 * Queue length limits as RabbitMQ: x-max-length and x-max-length-bytes count ready messages only;
 * x-overflow drop-head (the default) drops the oldest, dead-lettered with reason maxlen;
 * reject-publish refuses new ones (basic.nack under confirms); reject-publish-dlx also
 * dead-letters them. A persistent queue at its limit keeps only what fits, on disk too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, restartableApp, sleep, startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, confirmChannel, connect, drain, getOne, TrackedConnection } from '../support/amqp-e2e';
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

const reasonOf = (headers: Record<string, unknown> | undefined): unknown => ((headers?.['x-death'] as unknown as Record<string, unknown>[]) ?? [])[0]?.reason;

/** Publishes on a confirm channel and reports, per message, whether it was acked (true) or nacked. */
async function publishConfirmed(ch: Awaited<ReturnType<typeof confirmChannel>>, queue: string, messages: string[]): Promise<boolean[]> {
  return Promise.all(messages.map((text) => new Promise<boolean>((resolve) => ch.sendToQueue(queue, body(text), {}, (error) => resolve(error === null || error === undefined)))));
}

describe('length limits', () => {
  it('drop-head keeps the newest x-max-length messages and dead-letters the oldest with reason maxlen', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('len-dlq', { durable: false });
    await ch.assertQueue('len-q', { durable: false, maxLength: 3, deadLetterExchange: '', deadLetterRoutingKey: 'len-dlq' });
    for (let i = 0; i < 5; i++) ch.sendToQueue('len-q', body(`m${i}`));
    await eventually(async () => (await ch.checkQueue('len-dlq')).messageCount === 2, 3000, 'two dropped');
    assert.deepEqual(await drain(ch, 'len-q'), ['m2', 'm3', 'm4']);
    const dead = await getOne(ch, 'len-dlq');
    assert.deepEqual([dead.content.toString(), reasonOf(dead.properties.headers)], ['m0', 'maxlen']);
  });

  it('x-max-length-bytes counts body bytes; unacknowledged messages do not count', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('bytes-q', { durable: false, arguments: { 'x-max-length-bytes': 10 } });
    for (const text of ['aaaa', 'bbbb', 'cccc', 'dddd']) ch.sendToQueue('bytes-q', body(text));
    await sleep(100);
    assert.deepEqual(await drain(ch, 'bytes-q'), ['cccc', 'dddd']);
    await ch.assertQueue('unacked-q', { durable: false, maxLength: 1 });
    ch.sendToQueue('unacked-q', body('held'));
    const held = await getOne(ch, 'unacked-q');
    ch.sendToQueue('unacked-q', body('ready'));
    await sleep(100);
    assert.equal((await ch.checkQueue('unacked-q')).messageCount, 1, 'the held message does not count against the limit');
    ch.ack(held);
  });

  it('reject-publish nacks what does not fit and keeps the queue as it is; reject-publish-dlx also dead-letters it', async () => {
    const ch = await confirmChannel(conn);
    await ch.assertQueue('rp-dlq', { durable: false });
    await ch.assertQueue('rp-q', { durable: false, maxLength: 2, arguments: { 'x-overflow': 'reject-publish' } });
    assert.deepEqual(await publishConfirmed(ch, 'rp-q', ['a', 'b', 'c', 'd']), [true, true, false, false]);
    await ch.assertQueue('rpd-q', { durable: false, maxLength: 1, deadLetterExchange: '', deadLetterRoutingKey: 'rp-dlq', arguments: { 'x-overflow': 'reject-publish-dlx' } });
    assert.deepEqual(await publishConfirmed(ch, 'rpd-q', ['kept', 'refused']), [true, false]);
    const plain = await channel(conn);
    assert.deepEqual(await drain(plain, 'rp-q'), ['a', 'b']);
    assert.deepEqual(await drain(plain, 'rpd-q'), ['kept']);
    const dead = await getOne(plain, 'rp-dlq');
    assert.deepEqual([dead.content.toString(), reasonOf(dead.properties.headers)], ['refused', 'maxlen']);
    // room again: accepted again
    assert.deepEqual(await publishConfirmed(ch, 'rp-q', ['e']), [true]);
  });

  it('refuses bad limits and overflow modes with 406', async () => {
    for (const [name, args, expected] of [
      ['bad-len', { 'x-max-length': -1 }, /406.*invalid arg 'x-max-length'/],
      ['bad-bytes', { 'x-max-length-bytes': 'lots' }, /406.*invalid arg 'x-max-length-bytes'/],
      ['bad-overflow', { 'x-overflow': 'drop-tail' }, /406.*invalid arg 'x-overflow'.*'drop-tail'/],
    ] as const) {
      const ch = await channel(conn);
      await assert.rejects(ch.assertQueue(name, { arguments: args }), expected, name);
    }
  });

  it('@cloudamqp/amqp-client sees a reject-publish nack as a rejected publish', async () => {
    const api = loadAmqpClient();
    const client = new api.AMQPClient(app.amqpUrl, undefined, null);
    await client.connect();
    try {
      const c = await client.channel();
      await c.confirmSelect();
      await c.queueDeclare('sc-rp', { durable: false }, { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
      await c.basicPublish('', 'sc-rp', 'fits');
      await assert.rejects(c.basicPublish('', 'sc-rp', 'does not fit'), /nack|reject/i);
    } finally {
      await client.close();
    }
  });
});

describe('a persistent queue at its limit', () => {
  it('keeps only what fits, also on disk: after a restart the newest x-max-length messages are there', async () => {
    const broker = restartableApp({}, cleanups);
    let limited = await broker.start();
    let c = await connect(limited.amqpUrl);
    const ch = await confirmChannel(c);
    await ch.assertQueue('disk-limited', { durable: true, maxLength: 10 });
    for (let i = 0; i < 2000; i++) ch.sendToQueue('disk-limited', body(`p${i}`), { persistent: true });
    await ch.waitForConfirms();
    await closeQuietly(c);
    await limited.stop();
    limited = await broker.start();
    c = await connect(limited.amqpUrl);
    try {
      const after = await channel(c);
      assert.deepEqual(await drain(after, 'disk-limited'), Array.from({ length: 10 }, (_, i) => `p${1990 + i}`));
    } finally {
      await closeQuietly(c);
    }
  });
});
