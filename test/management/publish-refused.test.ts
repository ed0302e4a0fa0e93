/**
 * The management publish answers from the intake's outcome as every door does: a message a queue
 * refuses (x-max-length with x-overflow reject-publish) is not routed, and is not kept.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
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

test('a publish a full reject-publish queue refuses answers routed:false and leaves the queue as it was', async () => {
  const declared = await api.request('PUT', '/api/queues/%2F/full-one', { durable: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
  assert.equal(declared.status, 201, declared.text);
  const publish = (payload: string): Promise<{ status: number; json: unknown }> =>
    api.request('POST', '/api/exchanges/%2F/amq.default/publish', { routing_key: 'full-one', payload, payload_encoding: 'string', properties: { delivery_mode: 2 } });
  assert.deepEqual((await publish('first')).json, { routed: true });
  assert.deepEqual((await publish('second')).json, { routed: false });
  assert.deepEqual((await publish('third')).json, { routed: false });
  const unroutable = await api.request('POST', '/api/exchanges/%2F/amq.default/publish', { routing_key: 'no-such-queue', payload: 'x', payload_encoding: 'string', properties: {} });
  assert.deepEqual(unroutable.json, { routed: false });
  const got = await api.request('POST', '/api/queues/%2F/full-one/get', { count: 10, ackmode: 'ack_requeue_true', encoding: 'auto' });
  assert.deepEqual((got.json as { payload: string }[]).map((m) => m.payload), ['first']);
});
