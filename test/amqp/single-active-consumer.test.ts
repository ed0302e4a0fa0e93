/**
 * x-single-active-consumer as RabbitMQ: one consumer gets the messages; when it cancels or its
 * connection dies the next takes over (higher x-priority first, then registration order), with
 * the unacknowledged messages of a dead connection; the management API shows who is active.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, connect, TrackedConnection, withTimeout } from '../support/amqp-e2e';
import { loadAmqpClient } from '../support/second-client';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app?.close();
});

const managementConsumers = async (queue: string): Promise<{ consumer_tag: string; active: boolean; activity_status: string }[]> => {
  const response = await fetch(`${app.managementUrl}/api/consumers/%2F`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const all = (await response.json()) as { consumer_tag: string; active: boolean; activity_status: string; queue: { name: string } }[];
  return all.filter((c) => c.queue.name === queue);
};

describe('single active consumer (amqplib)', () => {
  it('only the active consumer gets messages; on cancel the highest-priority, earliest waiting one takes over; on connection death the next, with the unacked messages', async () => {
    const conns: TrackedConnection[] = [];
    try {
      const open = async (): Promise<TrackedConnection> => {
        const conn = await connect(app.amqpUrl);
        conns.push(conn);
        return conn;
      };
      const setup = await channel(await open());
      await setup.assertQueue('sac', { durable: false, arguments: { 'x-single-active-consumer': true } });
      const got: Record<string, string[]> = { a: [], b: [], c: [] };
      const chA = await channel(await open());
      const consumerA = await chA.consume('sac', (m: ConsumeMessage | null) => m && (got.a!.push(m.content.toString()), chA.ack(m)), { consumerTag: 'a' });
      const connB = await open();
      const chB = await channel(connB);
      await chB.prefetch(100);
      // B: higher priority, registered later; it keeps what it gets unacked
      await chB.consume('sac', (m: ConsumeMessage | null) => m && got.b!.push(m.content.toString()), { consumerTag: 'b', priority: 5 });
      const chC = await channel(await open());
      await chC.consume('sac', (m: ConsumeMessage | null) => m && (got.c!.push(m.content.toString()), chC.ack(m)), { consumerTag: 'c' });

      for (let i = 0; i < 10; i++) setup.sendToQueue('sac', body(`first ${i}`));
      await eventually(() => got.a!.length === 10, 5000, 'A got the first ten');
      assert.deepEqual([got.b!.length, got.c!.length], [0, 0], 'the waiting consumers got nothing');
      assert.deepEqual(
        (await managementConsumers('sac')).map((c) => [c.consumer_tag, c.active, c.activity_status]).sort(),
        [['a', true, 'single_active'], ['b', false, 'waiting'], ['c', false, 'waiting']],
      );

      await chA.cancel(consumerA.consumerTag);
      for (let i = 0; i < 5; i++) setup.sendToQueue('sac', body(`second ${i}`));
      await eventually(() => got.b!.length === 5, 5000, 'B (priority 5) took over');
      assert.equal(got.c!.length, 0);

      // B dies with five unacked: they and what follows go to C, in order
      (connB.connection as unknown as { stream: { destroy(): void } }).stream.destroy();
      await eventually(async () => (await managementConsumers('sac')).length === 1, 5000, 'B is gone');
      for (let i = 0; i < 3; i++) setup.sendToQueue('sac', body(`third ${i}`));
      await eventually(() => got.c!.length === 8, 5000, 'C got B\'s unacked and the new ones');
      assert.deepEqual(got.c, [...Array.from({ length: 5 }, (_, i) => `second ${i}`), ...Array.from({ length: 3 }, (_, i) => `third ${i}`)]);
      assert.equal((await managementConsumers('sac'))[0]!.activity_status, 'single_active');
    } finally {
      for (const conn of conns) await closeQuietly(conn);
    }
  });

  it('a queue without the argument shares messages round-robin; a non-boolean value is refused with 406', async () => {
    const conn = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      await assert.rejects(ch.assertQueue('sac-bad', { arguments: { 'x-single-active-consumer': 'yes' } }), /406.*x-single-active-consumer/);
      const ok = await channel(conn);
      await ok.assertQueue('sac-off', { durable: false });
      const seen = new Set<string>();
      await ok.consume('sac-off', (m) => m && seen.add(m.fields.consumerTag), { noAck: true, consumerTag: 'one' });
      await ok.consume('sac-off', (m) => m && seen.add(m.fields.consumerTag), { noAck: true, consumerTag: 'two' });
      for (let i = 0; i < 10; i++) ok.sendToQueue('sac-off', body(String(i)));
      await eventually(() => seen.size === 2, 5000, 'both consumers got messages');
      assert.deepEqual((await managementConsumers('sac-off')).map((c) => c.activity_status), ['up', 'up']);
    } finally {
      await closeQuietly(conn);
    }
  });
});

describe('single active consumer (@cloudamqp/amqp-client)', () => {
  it('the first consumer gets everything until it cancels', async () => {
    const api = loadAmqpClient();
    const client = new api.AMQPClient(app.amqpUrl, undefined, null);
    await client.connect();
    try {
      const ch = await client.channel();
      await ch.queueDeclare('sc-sac', { durable: false }, { 'x-single-active-consumer': true });
      const first: string[] = [];
      const second: string[] = [];
      const one = await ch.basicConsume('sc-sac', { noAck: true }, (m) => void first.push(m.bodyToString() ?? ''));
      await ch.basicConsume('sc-sac', { noAck: true }, (m) => void second.push(m.bodyToString() ?? ''));
      for (let i = 0; i < 6; i++) await ch.basicPublish('', 'sc-sac', `m${i}`);
      await eventually(() => first.length === 6, 5000, 'the first consumer got all six');
      await one.cancel();
      await ch.basicPublish('', 'sc-sac', 'after');
      await eventually(() => second.length === 1, 5000, 'the second took over');
      assert.deepEqual(second, ['after']);
    } finally {
      await withTimeout(client.close(), 5000, 'client close');
    }
  });
});
