/**
 * x-expires as RabbitMQ: a queue unused for that long (no consumers, no basic.get, no redeclare;
 * publishing does not count) is deleted, also after a restart; bad values are refused with 406.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eventually, RestartableApp, restartableApp, sleep } from '../support/app-harness';
import { body, channel, closeQuietly, connect, exists } from '../support/amqp-e2e';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A broker on a data directory of its own, cleaned up after the file. */
const broker = (): RestartableApp => restartableApp({}, cleanups);

describe('x-expires', () => {
  it('deletes an unused queue; consumers, basic.get and redeclares keep it; publishing does not', async () => {
    const node = broker();
    const app = await node.start();
    const conn = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      const args = { 'x-expires': 400 };
      await ch.assertQueue('exp-idle', { durable: false, arguments: args });
      await ch.assertQueue('exp-consumed', { durable: false, arguments: args });
      await ch.assertQueue('exp-polled', { durable: false, arguments: args });
      await ch.assertQueue('exp-redeclared', { durable: false, arguments: args });
      await ch.assertQueue('exp-published', { durable: false, arguments: args });
      const consumer = await ch.consume('exp-consumed', () => undefined, { noAck: true });
      const started = Date.now();
      while (Date.now() - started < 1200) {
        await ch.get('exp-polled', { noAck: true });
        await ch.assertQueue('exp-redeclared', { durable: false, arguments: args });
        ch.sendToQueue('exp-published', body('not a use'));
        await sleep(100);
      }
      assert.equal(await exists(conn, 'queue', 'exp-idle'), false, 'unused: deleted');
      assert.equal(await exists(conn, 'queue', 'exp-published'), false, 'publishing is not using');
      for (const kept of ['exp-consumed', 'exp-polled', 'exp-redeclared']) assert.equal(await exists(conn, 'queue', kept), true, kept);
      // the consumer leaves: its unused period starts then
      await ch.cancel(consumer.consumerTag);
      assert.equal(await exists(conn, 'queue', 'exp-consumed'), true);
      await eventually(async () => !(await exists(conn, 'queue', 'exp-consumed')), 3000, 'deleted after the consumer left');
    } finally {
      await closeQuietly(conn);
    }
  });

  it('a durable queue with x-expires still expires after a restart', async () => {
    const node = broker();
    let app = await node.start();
    let conn = await connect(app.amqpUrl);
    const ch = await channel(conn);
    await ch.assertQueue('exp-durable', { durable: true, arguments: { 'x-expires': 1500 } });
    ch.sendToQueue('exp-durable', body('m'), { persistent: true });
    await sleep(100);
    await closeQuietly(conn);
    await app.stop();
    app = await node.start();
    conn = await connect(app.amqpUrl);
    try {
      const admin = (await fetch(`${app.managementUrl}/api/queues/%2F/exp-durable`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).status;
      assert.equal(admin, 200, 'back after the restart (the management API does not count as use)');
      await eventually(async () => (await fetch(`${app.managementUrl}/api/queues/%2F/exp-durable`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).status === 404, 6000, 'expired after the restart');
      assert.equal(await exists(conn, 'queue', 'exp-durable'), false);
    } finally {
      await closeQuietly(conn);
    }
    // and it stays gone across another restart
    await app.stop();
    app = await node.start();
    conn = await connect(app.amqpUrl);
    try {
      assert.equal(await exists(conn, 'queue', 'exp-durable'), false);
    } finally {
      await closeQuietly(conn);
    }
  });

  it('refuses x-expires that is not a positive integer with 406', async () => {
    const node = broker();
    const app = await node.start();
    const conn = await connect(app.amqpUrl);
    try {
      for (const value of [0, -5, 'soon', 1.5]) {
        const ch = await channel(conn);
        await assert.rejects(ch.assertQueue(`exp-bad-${String(value)}`, { arguments: { 'x-expires': value } }), /406.*invalid arg 'x-expires'/, String(value));
      }
    } finally {
      await closeQuietly(conn);
    }
  });
});
