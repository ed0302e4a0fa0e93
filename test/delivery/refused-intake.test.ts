/**
 * A delivery the pending queue refuses is not accepted: with a policy `max-length 1` +
 * `overflow reject-publish` on dispatch.pending, a delivery over the limit gets a 503 (never a 202
 * for something not kept), is not stored, not indexed, and never sent.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { ManagementClient } from '../support/management-client';

let app: TestApp;
let sink: HttpSink;

before(async () => {
  sink = await HttpSink.start();
  // one sender, so the second delivery waits ready in the queue while the first is being sent
  app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_WORKERS: '1' });
});
after(async () => {
  await app?.close();
  await sink?.close();
});

test('a delivery refused by a reject-publish length limit on dispatch.pending answers 503 and is neither stored nor indexed', async () => {
  const api = new ManagementClient(app.managementUrl);
  const policy = await api.put('/api/policies/%2F/pending-limit', {
    pattern: '^dispatch\\.pending$',
    'apply-to': 'queues',
    priority: 1,
    definition: { 'max-length': 1, overflow: 'reject-publish' },
  });
  assert.equal(policy.status, 201, policy.text);
  // the first is held in flight by a slow answer; the second waits ready (the queue is at its limit)
  sink.behaviour = () => ({ status: 200, body: 'ok', delayMs: 1500 });
  const [first, second, refused] = [randomUUID(), randomUUID(), randomUUID()];
  for (const uuid of [first, second]) {
    const answer = await postJson(`${app.dispatchUrl}/`, { UUID: uuid, Url: sink.url(`/limit/${uuid}`), Method: 'POST', Body: 'x' });
    assert.equal(answer.status, 202, answer.text);
  }
  const queueBefore = await api.get<Record<string, unknown>>('/api/queues/%2F/dispatch.pending');
  assert.equal(queueBefore.messages_ready, 1);

  const answer = await postJson(`${app.dispatchUrl}/`, { UUID: refused, Url: sink.url(`/limit/${refused}`), Method: 'POST', Body: 'x' });
  assert.equal(answer.status, 503, answer.text);
  assert.match(answer.text, /full/);

  // not indexed: unknown to lookups and listings
  assert.equal((await getJson(`${app.dispatchUrl}/deliveries/${refused}`)).status, 404);
  const listed = await getJson(`${app.dispatchUrl}/deliveries`);
  assert.equal(listed.status, 200);
  assert.ok(!JSON.stringify(listed.json).includes(refused), 'the refused delivery is not listed');
  // not stored: the queue holds what it held
  const queueAfter = await api.get<Record<string, unknown>>('/api/queues/%2F/dispatch.pending');
  assert.equal(queueAfter.messages_ready, 1);
  assert.equal(queueAfter.messages_unacknowledged, 1);

  // the accepted ones arrive, the refused one never does
  await sink.waitFor(() => sink.to(`/limit/${first}`).length === 1 && sink.to(`/limit/${second}`).length === 1, 10_000, 'the accepted deliveries');
  await eventually(async () => (await getJson(`${app.dispatchUrl}/deliveries/${second}`)).json.state === 'delivered', 5000, 'the second delivered');
  assert.equal(sink.to(`/limit/${refused}`).length, 0);
  // the same UUID may be posted again once there is room, as something new
  sink.behaviour = () => ({ status: 200, body: 'ok' });
  const again = await postJson(`${app.dispatchUrl}/`, { UUID: refused, Url: sink.url(`/limit/${refused}`), Method: 'POST', Body: 'x' });
  assert.equal(again.status, 202, again.text);
  await sink.waitFor(() => sink.to(`/limit/${refused}`).length === 1, 5000, 'the delivery posted again');
});
