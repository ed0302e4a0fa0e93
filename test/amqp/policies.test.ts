/**
 * Policies as RabbitMQ's: set over the management API (PUT/GET/DELETE /api/policies), matched by
 * pattern and apply-to, the highest priority wins, declared queue arguments win over a policy's
 * settings, changes apply to existing queues at once, they survive a restart, and bad ones are
 * refused with 400 and a reason, changing nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, restartableApp, sleep, startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, connect, getOne, TrackedConnection } from '../support/amqp-e2e';
import { ManagementClient } from '../support/management-client';

let app: TestApp;
let conn: TrackedConnection;
let api: ManagementClient;
const cleanups: (() => Promise<void> | void)[] = [];
before(async () => {
  app = await startTestApp();
  conn = await connect(app.amqpUrl);
  api = new ManagementClient(app.managementUrl);
});
after(async () => {
  await closeQuietly(conn);
  await app?.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const putPolicy = (client: ManagementClient, name: string, policy: Record<string, unknown>) => client.request('PUT', `/api/policies/%2F/${name}`, policy);

describe('policies', () => {
  it('a policy sets TTL and dead-lettering on the queues it matches; the management API shows it', async () => {
    const created = await putPolicy(api, 'ttl-dlx', { pattern: '^pol-ttl', 'apply-to': 'queues', priority: 1, definition: { 'message-ttl': 150, 'dead-letter-exchange': '', 'dead-letter-routing-key': 'pol-dlq' } });
    assert.equal(created.status, 201);
    assert.equal((await putPolicy(api, 'ttl-dlx', { pattern: '^pol-ttl', 'apply-to': 'queues', priority: 1, definition: { 'message-ttl': 150, 'dead-letter-exchange': '', 'dead-letter-routing-key': 'pol-dlq' } })).status, 204);
    const ch = await channel(conn);
    await ch.assertQueue('pol-dlq', { durable: false });
    await ch.assertQueue('pol-ttl-a', { durable: false });
    await ch.assertQueue('other-queue', { durable: false });
    ch.sendToQueue('pol-ttl-a', body('expires by policy'));
    ch.sendToQueue('other-queue', body('not matched'));
    await eventually(async () => (await ch.checkQueue('pol-dlq')).messageCount === 1, 3000, 'dead-lettered by the policy');
    const dead = await getOne(ch, 'pol-dlq');
    assert.equal(dead.content.toString(), 'expires by policy');
    assert.equal(((dead.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!).reason, 'expired');
    assert.equal((await ch.checkQueue('other-queue')).messageCount, 1);
    const view = await api.get<Record<string, unknown>>('/api/queues/%2F/pol-ttl-a');
    assert.equal(view.policy, 'ttl-dlx');
    assert.deepEqual(view.effective_policy_definition, { 'message-ttl': 150, 'dead-letter-exchange': '', 'dead-letter-routing-key': 'pol-dlq' });
    assert.equal((await api.get<Record<string, unknown>>('/api/queues/%2F/other-queue')).policy, null);
    const listed = await api.get<Record<string, unknown>[]>('/api/policies/%2F');
    assert.deepEqual(listed.find((p) => p.name === 'ttl-dlx'), {
      vhost: '/',
      name: 'ttl-dlx',
      pattern: '^pol-ttl',
      'apply-to': 'queues',
      definition: { 'message-ttl': 150, 'dead-letter-exchange': '', 'dead-letter-routing-key': 'pol-dlq' },
      priority: 1,
    });
  });

  it('a declared argument wins over the policy, and of two matching policies the higher priority applies', async () => {
    await putPolicy(api, 'low', { pattern: '^pol-prio', priority: 1, definition: { 'max-length': 1 } });
    await putPolicy(api, 'high', { pattern: '^pol-prio', priority: 5, definition: { 'max-length': 3 } });
    const ch = await channel(conn);
    await ch.assertQueue('pol-prio-q', { durable: false });
    await ch.assertQueue('pol-ttl-own', { durable: false, messageTtl: 60_000 });
    for (let i = 0; i < 5; i++) ch.sendToQueue('pol-prio-q', body(`m${i}`));
    ch.sendToQueue('pol-ttl-own', body('kept by its own TTL'));
    await sleep(400);
    assert.equal((await ch.checkQueue('pol-prio-q')).messageCount, 3, 'the priority-5 policy’s max-length 3 (drop-head)');
    assert.equal((await getOne(ch, 'pol-prio-q', { noAck: true })).content.toString(), 'm2');
    assert.equal((await ch.checkQueue('pol-ttl-own')).messageCount, 1, 'its x-message-ttl beats the policy’s 150 ms');
    assert.equal((await api.get<Record<string, unknown>>('/api/queues/%2F/pol-prio-q')).policy, 'high');
    assert.equal((await api.request('DELETE', '/api/policies/%2F/low')).status, 204);
    assert.equal((await api.request('DELETE', '/api/policies/%2F/high')).status, 204);
  });

  it('applies to existing queues at once and stops applying when deleted', async () => {
    const ch = await channel(conn);
    await ch.assertQueue('pol-late', { durable: false });
    for (let i = 0; i < 6; i++) ch.sendToQueue('pol-late', body(`m${i}`));
    await sleep(100);
    assert.equal((await putPolicy(api, 'late-limit', { pattern: '^pol-late$', definition: { 'max-length': 2 } })).status, 201);
    assert.equal((await ch.checkQueue('pol-late')).messageCount, 2, 'trimmed to the new limit at once');
    assert.equal((await api.request('DELETE', '/api/policies/%2F/late-limit')).status, 204);
    for (let i = 0; i < 3; i++) ch.sendToQueue('pol-late', body(`n${i}`));
    await sleep(100);
    assert.equal((await ch.checkQueue('pol-late')).messageCount, 5, 'no limit any more');
    assert.equal((await api.request('DELETE', '/api/policies/%2F/late-limit')).status, 404);
  });

  it('apply-to classic_queues leaves quorum queues alone', async () => {
    await putPolicy(api, 'classic-only', { pattern: '^pol-type', 'apply-to': 'classic_queues', definition: { 'max-length': 1 } });
    const ch = await channel(conn);
    await ch.assertQueue('pol-type-c', { durable: true });
    await ch.assertQueue('pol-type-q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (let i = 0; i < 3; i++) {
      ch.sendToQueue('pol-type-c', body(`c${i}`));
      ch.sendToQueue('pol-type-q', body(`q${i}`));
    }
    await sleep(200);
    assert.equal((await ch.checkQueue('pol-type-c')).messageCount, 1);
    assert.equal((await ch.checkQueue('pol-type-q')).messageCount, 3);
    await api.request('DELETE', '/api/policies/%2F/classic-only');
  });

  it('refuses bad policies with 400 and a reason, and keeps the ones it has', async () => {
    const before = await api.get<unknown[]>('/api/policies');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ pattern: '.*', definition: { 'message-tll': 10 } }, /'message-tll' is not a recognised policy setting/],
      [{ pattern: '.*', definition: { 'message-ttl': -1 } }, /'message-ttl'.*non-negative integer/],
      [{ pattern: '.*', definition: { overflow: 'explode' } }, /'overflow'/],
      [{ pattern: '.*', definition: { expires: 0 } }, /'expires'.*positive integer/],
      [{ pattern: '([', definition: { 'max-length': 1 } }, /not a valid regular expression/],
      [{ pattern: '.*', 'apply-to': 'everything', definition: { 'max-length': 1 } }, /apply-to/],
      [{ pattern: '.*', definition: {} }, /must not be empty/],
      [{ definition: { 'max-length': 1 } }, /pattern/],
      [{ pattern: '.*', priority: 'high', definition: { 'max-length': 1 } }, /priority/],
    ];
    for (const [policy, reason] of cases) {
      const response = await putPolicy(api, 'bad', policy);
      assert.equal(response.status, 400, `${JSON.stringify(policy)} → ${response.text}`);
      assert.match(String((response.json as { reason: string }).reason), reason);
    }
    assert.equal((await api.request('PUT', '/api/policies/no-such-vhost/x', { pattern: '.*', definition: { 'max-length': 1 } })).status, 404);
    assert.deepEqual(await api.get<unknown[]>('/api/policies'), before);
  });

  it('export and import of definitions carry policies', async () => {
    await putPolicy(api, 'exported', { pattern: '^exp-', priority: 2, definition: { 'max-length': 9 } });
    const definitions = await api.get<{ policies: Record<string, unknown>[] }>('/api/definitions');
    const exported = definitions.policies.find((p) => p.name === 'exported');
    assert.deepEqual(exported, { vhost: '/', name: 'exported', pattern: '^exp-', 'apply-to': 'all', definition: { 'max-length': 9 }, priority: 2 });
    await api.request('DELETE', '/api/policies/%2F/exported');
    assert.equal((await api.request('POST', '/api/definitions', { policies: [exported] })).status, 204);
    assert.equal((await api.get<Record<string, unknown>>('/api/policies/%2F/exported')).priority, 2);
    await api.request('DELETE', '/api/policies/%2F/exported');
  });
});

describe('policies across a restart', () => {
  it('are kept durably and apply to recovered queues', async () => {
    const broker = restartableApp({}, cleanups);
    let running = await broker.start();
    let client = new ManagementClient(running.managementUrl);
    assert.equal((await putPolicy(client, 'durable-limit', { pattern: '^kept$', definition: { 'max-length': 2 } })).status, 201);
    let c = await connect(running.amqpUrl);
    const ch = await channel(c);
    await ch.assertQueue('kept', { durable: true });
    await closeQuietly(c);
    await running.stop();
    running = await broker.start();
    client = new ManagementClient(running.managementUrl);
    c = await connect(running.amqpUrl);
    try {
      assert.equal((await client.get<Record<string, unknown>>('/api/policies/%2F/durable-limit')).pattern, '^kept$');
      assert.equal((await client.get<Record<string, unknown>>('/api/queues/%2F/kept')).policy, 'durable-limit');
      const after = await channel(c);
      for (let i = 0; i < 4; i++) after.sendToQueue('kept', body(`m${i}`), { persistent: true });
      await sleep(200);
      assert.equal((await after.checkQueue('kept')).messageCount, 2);
    } finally {
      await closeQuietly(c);
    }
  });
});
