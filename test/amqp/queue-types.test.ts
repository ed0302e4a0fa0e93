/**
 * x-queue-type and x-delivery-limit as RabbitMQ 4: quorum queues are durable only (RabbitMQ's
 * texts otherwise), get a delivery limit of 20 unless given one, and tell redelivered messages
 * how many deliveries failed (x-delivery-count); a message past its limit is dead-lettered with
 * reason delivery_limit (or dropped without a dead-letter exchange). Streams are refused clearly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, connect, getOne, TrackedConnection, withTimeout } from '../support/amqp-e2e';
import { loadAmqpClient } from '../support/second-client';

let app: TestApp;
let conn: TrackedConnection;
before(async () => {
  app = await startTestApp();
  conn = await connect(app.amqpUrl);
});
after(async () => {
  await closeQuietly(conn);
  await app?.close();
});

const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

describe('x-queue-type', () => {
  it('quorum queues are accepted durable and listed as quorum; other properties get RabbitMQ\'s 406 texts; streams and unknown types are refused', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('qq', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.assertQueue('cq', { durable: true, arguments: { 'x-queue-type': 'classic' } });
    const listed = (await (await fetch(`${app.managementUrl}/api/queues/%2F/qq`, { headers: auth })).json()) as { type: string };
    assert.equal(listed.type, 'quorum');
    const classic = (await (await fetch(`${app.managementUrl}/api/queues/%2F/cq`, { headers: auth })).json()) as { type: string };
    assert.equal(classic.type, 'classic');
    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ['qq-transient', { durable: false, arguments: { 'x-queue-type': 'quorum' } }, /406.*invalid property 'non-durable' for queue 'qq-transient' in vhost '\/'/],
      ['qq-exclusive', { durable: true, exclusive: true, arguments: { 'x-queue-type': 'quorum' } }, /406.*invalid property 'exclusive-owner'/],
      ['qq-auto', { durable: true, autoDelete: true, arguments: { 'x-queue-type': 'quorum' } }, /406.*invalid property 'auto-delete'/],
      ['sq', { durable: true, arguments: { 'x-queue-type': 'stream' } }, /406.*'stream' is not supported/],
      ['xq', { durable: true, arguments: { 'x-queue-type': 'foo' } }, /406.*invalid arg 'x-queue-type'.*'foo'/],
      ['dl', { durable: true, arguments: { 'x-delivery-limit': 'ten' } }, /406.*invalid arg 'x-delivery-limit'/],
    ];
    for (const [name, options, expected] of refusals) {
      const c = await channel(conn);
      await assert.rejects(c.assertQueue(name, options), expected, name);
    }
    const after = await channel(conn);
    for (const [name] of refusals) assert.equal(await after.checkQueue(name).then(() => true, () => false), false, `${name} was not created`);
  });
});

describe('x-delivery-limit', () => {
  it('counts failed deliveries in x-delivery-count and dead-letters past the limit with reason delivery_limit', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('poison-dlq', { durable: false });
    await ch.assertQueue('limited', { durable: false, arguments: { 'x-delivery-limit': 2 }, deadLetterExchange: '', deadLetterRoutingKey: 'poison-dlq' });
    ch.sendToQueue('limited', body('poison'));
    const counts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await getOne(ch, 'limited');
      counts.push(m.properties.headers?.['x-delivery-count']);
      ch.nack(m, false, true);
    }
    assert.deepEqual(counts, [undefined, 1, 2]);
    const dead = await getOne(ch, 'poison-dlq');
    assert.equal(dead.content.toString(), 'poison');
    const death = (dead.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!;
    assert.deepEqual([death.reason, death.queue, death.count], ['delivery_limit', 'limited', 1]);
    assert.equal((await ch.checkQueue('limited')).messageCount, 0);
  });

  it('a quorum queue drops a message after 20 failed deliveries by default; returns by a closed channel count too', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('qq-default', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('qq-default', body('again and again'));
    // one failed delivery through a channel that closes with the message unacked
    const closing = await channel(conn);
    await closing.get('qq-default');
    await closing.close();
    let seen = 0;
    let last: unknown;
    for (;;) {
      const m = await ch.get('qq-default');
      if (m === false) break;
      seen++;
      last = m.properties.headers?.['x-delivery-count'];
      ch.nack(m, false, true);
    }
    assert.equal(seen, 20, 'delivered 21 times in all, then dropped');
    assert.equal(last, 20);
  });

  it('@cloudamqp/amqp-client declares a quorum queue as MassTransit does and reads x-delivery-count', async () => {
    const api = loadAmqpClient();
    const client = new api.AMQPClient(app.amqpUrl, undefined, null);
    await client.connect();
    try {
      const c = await client.channel();
      await c.queueDeclare('sc-qq', { durable: true, autoDelete: false, exclusive: false }, { 'x-queue-type': 'quorum' });
      await c.basicPublish('', 'sc-qq', 'job');
      const first = await c.basicGet('sc-qq', { noAck: false });
      assert.equal(first?.properties.headers?.['x-delivery-count'], undefined);
      await first!.nack(true);
      const second = await c.basicGet('sc-qq', { noAck: false });
      assert.equal(second?.properties.headers?.['x-delivery-count'], 1);
      assert.equal(second?.redelivered, true);
      await second!.ack();
    } finally {
      await withTimeout(client.close(), 5000, 'client close');
    }
  });
});
