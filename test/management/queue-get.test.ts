/**
 * POST /api/queues/{vhost}/{name}/get's ack modes as RabbitMQ's: `reject_requeue_false` rejects
 * the messages without requeueing them, so a queue with a dead-letter exchange dead-letters them
 * (reason `rejected`); `ack_requeue_false` acknowledges them, and they are gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GotMessageDto, QueueDto } from '#management';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

let app: TestApp;
let api: ManagementClient;

before(async () => {
  app = await startTestApp();
  api = new ManagementClient(app.managementUrl);
  assert.equal((await api.put('/api/queues/%2F/ackmode-dead', { durable: false })).status, 201);
  const source = await api.put('/api/queues/%2F/ackmode-source', { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'ackmode-dead' } });
  assert.equal(source.status, 201);
});

after(async () => {
  await app?.close();
});

const publish = async (payload: string): Promise<void> => {
  const published = await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'ackmode-source', payload, payload_encoding: 'string', properties: {} });
  assert.deepEqual(published.json, { routed: true });
};

const get = async (queue: string, ackmode: string): Promise<GotMessageDto[]> => {
  const got = await api.post(`/api/queues/%2F/${queue}/get`, { count: 10, ackmode, encoding: 'auto' });
  assert.equal(got.status, 200, got.text);
  return got.json as GotMessageDto[];
};

const depth = async (queue: string): Promise<number> => (await api.get<QueueDto>(`/api/queues/%2F/${queue}`)).messages;

describe('POST /api/queues/{vhost}/{name}/get ack modes', () => {
  it('reject_requeue_false dead-letters what it took', async () => {
    await publish('one');
    await publish('two');
    const taken = await get('ackmode-source', 'reject_requeue_false');
    assert.deepEqual(
      taken.map((m) => m.payload),
      ['one', 'two'],
    );
    assert.equal(await depth('ackmode-source'), 0);
    const dead = await get('ackmode-dead', 'ack_requeue_false');
    assert.deepEqual(
      dead.map((m) => m.payload),
      ['one', 'two'],
      'both dead-lettered',
    );
    const death = (dead[0]!.properties.headers?.['x-death'] as { reason: string; queue: string }[])[0]!;
    assert.equal(death.reason, 'rejected');
    assert.equal(death.queue, 'ackmode-source');
  });

  it('ack_requeue_false acknowledges: nothing is dead-lettered; the requeue modes leave the messages', async () => {
    await publish('three');
    assert.equal((await get('ackmode-source', 'ack_requeue_true')).length, 1);
    assert.equal((await get('ackmode-source', 'reject_requeue_true')).length, 1);
    assert.equal(await depth('ackmode-source'), 1, 'requeued twice');
    assert.equal((await get('ackmode-source', 'ack_requeue_false')).length, 1);
    assert.equal(await depth('ackmode-source'), 0);
    assert.equal(await depth('ackmode-dead'), 0, 'an acknowledged message is not dead-lettered');
  });
});
