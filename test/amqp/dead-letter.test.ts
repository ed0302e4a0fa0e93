/**
 * Dead-lettering of rejected messages, as RabbitMQ does it: x-dead-letter-exchange and
 * x-dead-letter-routing-key, the x-death table and x-first/last-death headers, a missing exchange,
 * argument checks, and a persistent dead letter that survives a restart with its history.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RestartableApp, restartableApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, connect, getOne, TrackedConnection, withTimeout } from '../support/amqp-e2e';
import { loadAmqpClient } from '../support/second-client';
import { deadLetteredMessage, isDeadLetterCycle } from '../../libs/core/src/queue/dead-letter';
import { Message } from '../../libs/core/src/message/message';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A broker on a data directory of its own, cleaned up after the file. */
const broker = (): RestartableApp => restartableApp({}, cleanups);

const freshApp = (): Promise<TestApp> => broker().start();

type Death = Record<string, unknown>;
const deathsOf = (headers: Record<string, unknown> | undefined): Death[] => (headers?.['x-death'] as Death[] | undefined) ?? [];

describe('dead-lettering rejected messages (amqplib)', () => {
  it('a nack or reject without requeue goes to the dead-letter exchange with x-death; ack and requeue do not', async () => {
    const app = await freshApp();
    const conn: TrackedConnection = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      await ch.assertExchange('dlx', 'fanout', { durable: false });
      await ch.assertQueue('dlq', { durable: false });
      await ch.bindQueue('dlq', 'dlx', '');
      await ch.assertExchange('orders-x', 'direct', { durable: false });
      await ch.assertQueue('orders', { durable: false, deadLetterExchange: 'dlx' });
      await ch.bindQueue('orders', 'orders-x', 'new');
      const before = Date.now();
      ch.publish('orders-x', 'new', body('rejected one'), { headers: { CC: ['also'] }, expiration: '60000', messageId: 'm1' });
      ch.publish('orders-x', 'new', body('requeued then acked'));
      const first = await getOne(ch, 'orders');
      ch.reject(first, false);
      const second = await getOne(ch, 'orders');
      ch.nack(second, false, true);
      const again = await getOne(ch, 'orders');
      assert.equal(again.properties.headers?.['x-death'], undefined);
      ch.ack(again);

      const dead = await getOne(ch, 'dlq');
      assert.equal(dead.content.toString(), 'rejected one');
      assert.equal(dead.properties.messageId, 'm1', 'other properties are kept');
      assert.equal(dead.properties.expiration, undefined, 'the per-message TTL is removed');
      assert.equal(dead.fields.exchange, 'dlx');
      assert.equal(dead.fields.routingKey, 'new', 'no x-dead-letter-routing-key: the original routing key');
      const headers = dead.properties.headers!;
      const [death, ...rest] = deathsOf(headers);
      assert.equal(rest.length, 0);
      assert.deepEqual(
        { count: death!.count, reason: death!.reason, queue: death!.queue, exchange: death!.exchange, keys: death!['routing-keys'], original: death!['original-expiration'] },
        { count: 1, reason: 'rejected', queue: 'orders', exchange: 'orders-x', keys: ['new', 'also'], original: '60000' },
      );
      // amqplib shows an AMQP timestamp (seconds) as {'!': 'timestamp', value}
      const time = death!.time as { '!': string; value: number };
      assert.equal(time['!'], 'timestamp');
      assert.ok(time.value >= Math.floor(before / 1000) - 1 && time.value <= Date.now() / 1000 + 1, String(time.value));
      assert.deepEqual(
        [headers['x-first-death-reason'], headers['x-first-death-queue'], headers['x-first-death-exchange']],
        ['rejected', 'orders', 'orders-x'],
      );
      assert.deepEqual([headers['x-last-death-reason'], headers['x-last-death-queue'], headers['x-last-death-exchange']], ['rejected', 'orders', 'orders-x']);
      assert.equal(await ch.get('dlq'), false, 'the requeued-then-acked message was not dead-lettered');
      assert.equal((await ch.checkQueue('orders')).messageCount, 0);
    } finally {
      await closeQuietly(conn);
    }
  });

  it('x-dead-letter-routing-key replaces the routing key; a message rejected again counts up and keeps its first death', async () => {
    const app = await freshApp();
    const conn = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      // work → (default exchange, key "retry") → retry → (default exchange, key "work") → work
      await ch.assertQueue('work', { durable: false, deadLetterExchange: '', deadLetterRoutingKey: 'retry' });
      await ch.assertQueue('retry', { durable: false, deadLetterExchange: '', deadLetterRoutingKey: 'work' });
      ch.sendToQueue('work', body('bouncing'));
      for (let round = 1; round <= 3; round++) {
        ch.reject(await getOne(ch, 'work'), false);
        const inRetry = await getOne(ch, 'retry');
        assert.equal(inRetry.fields.routingKey, 'retry');
        const deaths = deathsOf(inRetry.properties.headers);
        assert.deepEqual(deaths.map((d) => [d.queue, d.reason, d.count]), round === 1 ? [['work', 'rejected', 1]] : [['work', 'rejected', round], ['retry', 'rejected', round - 1]]);
        assert.equal(inRetry.properties.headers!['x-first-death-queue'], 'work');
        ch.reject(inRetry, false);
        const back = await getOne(ch, 'work');
        assert.equal(back.properties.headers!['x-last-death-queue'], 'retry');
        assert.equal(deathsOf(back.properties.headers)[0]!.queue, 'retry', 'the newest death comes first');
        ch.nack(back, false, true);
      }
    } finally {
      await closeQuietly(conn);
    }
  });

  it('a missing dead-letter exchange drops the message; bad arguments are refused with 406; a redeclare must match', async () => {
    const app = await freshApp();
    const conn = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      await ch.assertQueue('nowhere', { durable: false, deadLetterExchange: 'no-such-exchange' });
      ch.sendToQueue('nowhere', body('x'));
      ch.reject(await getOne(ch, 'nowhere'), false);
      assert.equal((await ch.checkQueue('nowhere')).messageCount, 0);
      const bad = await channel(conn);
      await assert.rejects(bad.assertQueue('bad-dlx', { arguments: { 'x-dead-letter-exchange': 7 } }), /406.*x-dead-letter-exchange/);
      const bad2 = await channel(conn);
      await assert.rejects(bad2.assertQueue('bad-dlrk', { arguments: { 'x-dead-letter-routing-key': 'k' } }), /406.*x-dead-letter-routing-key/);
      const redeclare = await channel(conn);
      await redeclare.assertQueue('with-dlx', { durable: false, deadLetterExchange: 'a' });
      await assert.rejects(redeclare.assertQueue('with-dlx', { durable: false, deadLetterExchange: 'b' }), /406.*inequivalent arg 'x-dead-letter-exchange'/);
      const ok = await channel(conn);
      assert.equal((await ok.checkQueue('with-dlx')).queue, 'with-dlx', 'the connection is fine after the refusals');
    } finally {
      await closeQuietly(conn);
    }
  });

  it('a persistent dead letter is durable in its target and keeps its x-death across a restart', async () => {
    const node = broker();
    let app = await node.start();
    let conn = await connect(app.amqpUrl);
    const ch = await channel(conn);
    await ch.assertExchange('p-dlx', 'direct', { durable: true });
    await ch.assertQueue('p-dlq', { durable: true });
    await ch.bindQueue('p-dlq', 'p-dlx', 'dead');
    await ch.assertQueue('p-src', { durable: true, deadLetterExchange: 'p-dlx', deadLetterRoutingKey: 'dead' });
    ch.sendToQueue('p-src', body('keep me'), { persistent: true });
    ch.nack(await getOne(ch, 'p-src'), false, false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await closeQuietly(conn);
    await app.stop();
    app = await node.start();
    conn = await connect(app.amqpUrl);
    try {
      const after = await channel(conn);
      assert.equal((await after.checkQueue('p-src')).messageCount, 0);
      const dead = await getOne(after, 'p-dlq');
      assert.equal(dead.content.toString(), 'keep me');
      assert.equal(dead.properties.deliveryMode, 2);
      assert.deepEqual(deathsOf(dead.properties.headers).map((d) => [d.queue, d.reason, d.count, d.exchange]), [['p-src', 'rejected', 1, '']]);
    } finally {
      await closeQuietly(conn);
    }
  });
});

describe('dead-lettering with @cloudamqp/amqp-client', () => {
  it('reads the x-death table with its types: a long count, a timestamp, an array of routing keys', async () => {
    const app = await freshApp();
    const api = loadAmqpClient();
    const client = new api.AMQPClient(app.amqpUrl, undefined, null);
    await client.connect();
    try {
      const ch = await client.channel();
      await ch.queueDeclare('sc-dlq', { durable: false });
      await ch.queueDeclare('sc-src', { durable: false }, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'sc-dlq' });
      await ch.basicPublish('', 'sc-src', 'second client');
      const got = await ch.basicGet('sc-src', { noAck: false });
      await got!.nack(false);
      const dead = await ch.basicGet('sc-dlq', { noAck: true });
      assert.equal(dead?.bodyToString(), 'second client');
      const death = (dead!.properties.headers!['x-death'] as Death[])[0]!;
      assert.equal(death.count, 1);
      assert.ok(death.time instanceof Date);
      assert.deepEqual(death['routing-keys'], ['sc-src']);
      assert.equal(dead!.properties.headers!['x-first-death-reason'], 'rejected');
    } finally {
      await withTimeout(client.close(), 5000, 'client close');
    }
  });
});

describe('dead-letter bookkeeping (pure)', () => {
  it("RabbitMQ's cycle rule: back to a queue it died in, with no rejection since, is a cycle", () => {
    const original = new Message('x', 'k', { headers: {} }, null, Buffer.from('m'));
    const expiredInA = deadLetteredMessage(original, 'a', 'expired', 'dlx', null);
    assert.equal(isDeadLetterCycle(expiredInA, 'a', 'expired'), true, 'a → a by expiry');
    assert.equal(isDeadLetterCycle(expiredInA, 'b', 'expired'), false);
    const expiredInB = deadLetteredMessage(expiredInA, 'b', 'expired', 'dlx', null);
    assert.equal(isDeadLetterCycle(expiredInB, 'a', 'expired'), true, 'a → b → a by expiry');
    const rejectedInC = deadLetteredMessage(expiredInB, 'c', 'rejected', 'dlx', null);
    assert.equal(isDeadLetterCycle(rejectedInC, 'a', 'rejected'), false, 'a rejection is never a cycle');
    const expiredInD = deadLetteredMessage(rejectedInC, 'd', 'maxlen', 'dlx', null);
    assert.equal(isDeadLetterCycle(expiredInD, 'a', 'maxlen'), false, 'a rejection since the death in a breaks the cycle');
    assert.equal(isDeadLetterCycle(expiredInD, 'd', 'maxlen'), true);
  });
});
