/**
 * Field values in the management API's JSON as RabbitMQ shows them and as AMQP consumers receive
 * them: a dead-lettered message's x-death count is a number (the core writes it as an explicitly
 * typed long), and a header table that happens to have `value` and `scale` keys stays a table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import type { GotMessageDto } from '#management';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

let app: TestApp;
let api: ManagementClient;

before(async () => {
  app = await startTestApp();
  api = new ManagementClient(app.managementUrl);
});

after(async () => {
  await app?.close();
});

const getOne = async (queue: string): Promise<GotMessageDto> => {
  const got = await api.post(`/api/queues/%2F/${queue}/get`, { count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' });
  assert.equal(got.status, 200, got.text);
  const messages = got.json as GotMessageDto[];
  assert.equal(messages.length, 1);
  return messages[0]!;
};

describe('message headers through POST /api/queues/{vhost}/{name}/get', () => {
  it("a dead-lettered message's x-death shows count 1 and the time in seconds, as RabbitMQ", async () => {
    const conn = await amqp.connect(app.amqpUrl);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('xd-dead', { durable: false });
      await ch.assertQueue('xd-source', { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'xd-dead' } });
      const before = Math.floor(Date.now() / 1000);
      ch.sendToQueue('xd-source', Buffer.from('bounced'));
      const message = await new Promise<amqp.GetMessage>((resolve, reject) => {
        const poll = async (): Promise<void> => {
          const m = await ch.get('xd-source', { noAck: false });
          if (m === false) setTimeout(() => void poll().catch(reject), 10);
          else resolve(m);
        };
        void poll().catch(reject);
      });
      ch.nack(message, false, false);
      await eventually(async () => (await api.get('/api/queues/%2F/xd-dead')).messages === 1, 5000, 'the dead letter');

      const got = await getOne('xd-dead');
      const deaths = got.properties.headers?.['x-death'] as Record<string, unknown>[];
      assert.equal(deaths.length, 1);
      const death = deaths[0]!;
      assert.equal(death.count, 1, 'a number, not the typed value {type, value}');
      assert.equal(death.reason, 'rejected');
      assert.equal(death.queue, 'xd-source');
      assert.deepEqual(death['routing-keys'], ['xd-source']);
      assert.equal(typeof death.time, 'number');
      assert.ok((death.time as number) >= before && (death.time as number) <= Date.now() / 1000 + 1, 'seconds since the epoch');

      // what an AMQP consumer of the dead letter reads: the same count
      const viaAmqp = await ch.get('xd-dead', { noAck: true });
      assert.ok(viaAmqp !== false);
      assert.equal(Number(viaAmqp.properties.headers?.['x-death']?.[0]?.count), 1);
    } finally {
      await conn.close();
    }
  });

  it('a header table with value and scale keys is a table, not a decimal', async () => {
    await api.put('/api/queues/%2F/vs-q', { durable: false });
    const headers = { price: { value: 5, scale: 2 }, plain: 'x' };
    const published = await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'vs-q', payload: 'p', payload_encoding: 'string', properties: { headers } });
    assert.deepEqual(published.json, { routed: true });
    const got = await getOne('vs-q');
    assert.deepEqual(got.properties.headers, headers);

    // and an AMQP consumer receives the same table
    const conn = await amqp.connect(app.amqpUrl);
    try {
      const ch = await conn.createChannel();
      const m = await ch.get('vs-q', { noAck: true });
      assert.ok(m !== false);
      assert.deepEqual(m.properties.headers, headers);
    } finally {
      await conn.close();
    }
  });
});
