/**
 * The management API over real HTTP, field by field against RabbitMQ's documented shapes, after
 * a known AMQP workload: five persistent messages to a topic exchange bound twice to a priority
 * queue, consumed without acks by a prefetch-5 consumer on a confirming channel.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';
import { tempDir } from '../support/temp-dir';

let app: TestApp;
let api: ManagementClient;
let conn: amqp.ChannelModel;
let connectionClosed: Promise<Error | undefined>;

type Json = Record<string, unknown>;

before(async () => {
  app = await startTestApp();
  api = new ManagementClient(app.managementUrl);
  conn = await amqp.connect(app.amqpUrl, { clientProperties: { connection_name: 'mgmt-test' } });
  connectionClosed = new Promise((resolve) => conn.once('close', resolve));
  conn.on('error', () => undefined);
  const ch = await conn.createConfirmChannel();
  await ch.prefetch(5);
  await ch.assertExchange('mx', 'topic', { durable: true });
  await ch.assertQueue('mq', { durable: true, arguments: { 'x-max-priority': 3 } });
  await ch.bindQueue('mq', 'mx', 'a.#', { k: 'v' });
  await ch.bindQueue('mq', 'mx', 'b');
  for (let i = 0; i < 5; i++) ch.publish('mx', 'a.b', Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  await ch.consume('mq', () => undefined, { consumerTag: 'mc' });
  await eventually(async () => (await api.get('/api/queues/%2F/mq')).messages_unacknowledged === 5, 5000, 'five unacked');
});

after(async () => {
  await app?.close();
});

describe('authentication', () => {
  it('401 without or with wrong credentials, or for a user without a management tag; 200 for guest', async () => {
    const anonymous = await fetch(`${app.managementUrl}/api/overview`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="RabbitMQ Management"');
    assert.deepEqual(await anonymous.json(), { error: 'not_authorized', reason: 'Login failed' });
    assert.equal((await api.as('guest', 'wrong').request('GET', '/api/overview')).status, 401);
    assert.equal((await api.put('/api/users/plain', { password: 'p1', tags: '' })).status, 201);
    const plain = await api.as('plain', 'p1').request('GET', '/api/overview');
    assert.equal(plain.status, 401);
    // RabbitMQ spells a refusal of right credentials not_authorised, and sends no challenge for it
    assert.deepEqual(plain.json, { error: 'not_authorised', reason: 'Not management user' });
    assert.equal(plain.headers.get('www-authenticate'), null);
    assert.deepEqual(await api.get('/api/whoami'), { name: 'guest', tags: ['administrator'] });
  });
});

describe('after the AMQP workload', () => {
  it('GET /api/queues/%2F/mq', async () => {
    const q = await api.get('/api/queues/%2F/mq');
    assert.equal(q.name, 'mq');
    assert.equal(q.vhost, '/');
    assert.equal(q.durable, true);
    assert.equal(q.auto_delete, false);
    assert.equal(q.exclusive, false);
    assert.deepEqual(q.arguments, { 'x-max-priority': 3 });
    assert.equal(q.messages, 5);
    assert.equal(q.messages_ready, 0);
    assert.equal(q.messages_unacknowledged, 5);
    assert.equal(q.consumers, 1);
    assert.equal(q.state, 'running');
    assert.equal(q.type, 'classic');
    assert.deepEqual(q.messages_details, { rate: 0 });
    assert.equal(typeof q.memory, 'number');
    const stats = q.message_stats as Json;
    assert.equal(stats.publish, 5);
    assert.equal(stats.deliver_get, 5);
    assert.equal(stats.ack, 0);
    assert.equal(typeof (stats.publish_details as Json).rate, 'number');
    const [consumer] = q.consumer_details as Json[];
    assert.equal(consumer?.consumer_tag, 'mc');
    assert.equal(consumer?.prefetch_count, 5);
    assert.equal(consumer?.ack_required, true);
    assert.deepEqual(consumer?.queue, { name: 'mq', vhost: '/' });
    const listed = (await api.get<Json[]>('/api/queues/%2F')).find((x) => x.name === 'mq');
    assert.equal(listed?.messages, 5);
  });

  it('GET /api/exchanges and the bindings by source, destination and properties_key', async () => {
    const x = await api.get('/api/exchanges/%2F/mx');
    assert.deepEqual(
      { name: x.name, vhost: x.vhost, type: x.type, durable: x.durable, auto_delete: x.auto_delete, internal: x.internal, arguments: x.arguments },
      { name: 'mx', vhost: '/', type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} },
    );
    const exchanges = await api.get<Json[]>('/api/exchanges/%2F');
    assert.ok(exchanges.some((e) => e.name === '' && e.type === 'direct'), 'the default exchange is listed with an empty name');
    assert.equal((await api.get('/api/exchanges/%2F/amq.default')).name, '');
    const between = await api.get<Json[]>('/api/bindings/%2F/e/mx/q/mq');
    assert.deepEqual(
      between.map((b) => [b.routing_key, b.arguments, b.destination_type, b.source, b.destination]).sort(),
      [
        ['a.#', { k: 'v' }, 'queue', 'mx', 'mq'],
        ['b', {}, 'queue', 'mx', 'mq'],
      ],
    );
    const plain = between.find((b) => b.routing_key === 'b')!;
    assert.equal(plain.properties_key, 'b');
    assert.match(String(between.find((b) => b.routing_key === 'a.#')!.properties_key), /^a\.%23~.+/);
    assert.equal((await api.get<Json[]>('/api/exchanges/%2F/mx/bindings/source')).length, 2);
    const queueBindings = await api.get<Json[]>('/api/queues/%2F/mq/bindings');
    assert.deepEqual(queueBindings[0], { source: '', vhost: '/', destination: 'mq', destination_type: 'queue', routing_key: 'mq', arguments: {}, properties_key: 'mq' });
    const byKey = await api.get(`/api/bindings/%2F/e/mx/q/mq/${encodeURIComponent(String(between.find((b) => b.routing_key === 'a.#')!.properties_key))}`);
    assert.equal(byKey.routing_key, 'a.#');
  });

  it('GET /api/connections, /api/channels, /api/consumers', async () => {
    const connections = await api.get<Json[]>('/api/connections');
    const c = connections.find((x) => (x.client_properties as Json).connection_name === 'mgmt-test')!;
    assert.ok(c, 'the AMQP connection is listed');
    assert.equal(c.user, 'guest');
    assert.equal(c.vhost, '/');
    assert.equal(c.channels, 1);
    assert.equal(c.peer_host, '127.0.0.1');
    assert.equal(typeof c.peer_port, 'number');
    assert.equal(c.protocol, 'AMQP 0-9-1');
    assert.equal(c.user_provided_name, 'mgmt-test');
    assert.equal(c.auth_mechanism, 'PLAIN');
    assert.equal(typeof c.connected_at, 'number');
    assert.match(String(c.name), /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
    assert.equal((await api.get(`/api/connections/${encodeURIComponent(String(c.name))}`)).name, c.name);
    const channels = await api.get<Json[]>('/api/channels');
    const ch = channels.find((x) => (x.connection_details as Json).name === c.name)!;
    assert.equal(ch.number, 1);
    assert.equal(ch.consumer_count, 1);
    assert.equal(ch.messages_unacknowledged, 5);
    assert.equal(ch.prefetch_count, 5);
    assert.equal(ch.confirm, true);
    assert.equal(ch.name, `${c.name} (1)`);
    const consumers = await api.get<Json[]>('/api/consumers/%2F');
    const mc = consumers.find((x) => x.consumer_tag === 'mc')!;
    assert.deepEqual(mc.queue, { name: 'mq', vhost: '/' });
    assert.equal((mc.channel_details as Json).connection_name, c.name);
    assert.equal((mc.channel_details as Json).number, 1);
  });

  it('GET /api/overview and /api/nodes', async () => {
    const o = await api.get('/api/overview');
    assert.equal(typeof o.management_version, 'string');
    assert.equal(typeof o.rabbitmq_version, 'string');
    assert.equal(o.product_name, 'unified-broker');
    assert.equal(typeof o.node, 'string');
    const totals = o.object_totals as Json;
    assert.equal(totals.connections, 1);
    assert.equal(totals.channels, 1);
    assert.ok((totals.queues as number) >= 1);
    assert.ok((totals.consumers as number) >= 1);
    assert.ok((totals.exchanges as number) >= 7);
    const queueTotals = o.queue_totals as Json;
    assert.ok((queueTotals.messages as number) >= 5);
    assert.ok((queueTotals.messages_unacknowledged as number) >= 5);
    const stats = o.message_stats as Json;
    assert.ok((stats.publish as number) >= 5);
    assert.ok((stats.confirm as number) >= 5, `confirm ${String(stats.confirm)}`);
    assert.ok((stats.deliver_get as number) >= 5);
    for (const key of ['publish_details', 'deliver_get_details', 'ack_details', 'confirm_details']) assert.equal(typeof (stats[key] as Json).rate, 'number', key);
    const [node] = await api.get<Json[]>('/api/nodes');
    assert.equal(node!.running, true);
    assert.ok((node!.mem_used as number) > 0);
    assert.ok((node!.mem_limit as number) > 0);
    assert.ok((node!.disk_free as number) > 0);
    assert.ok((node!.fd_used as number) > 0);
    assert.ok((node!.uptime as number) >= 0);
  });

  it('DELETE /api/connections/:name closes it with 320 and the X-Reason', async () => {
    const c = (await api.get<Json[]>('/api/connections')).find((x) => (x.client_properties as Json).connection_name === 'mgmt-test')!;
    const closed = await api.delete(`/api/connections/${encodeURIComponent(String(c.name))}`, { 'X-Reason': 'maintenance window' });
    assert.equal(closed.status, 204);
    const error = await connectionClosed;
    assert.match(String(error?.message), /320.*CONNECTION_FORCED - maintenance window/);
    await eventually(async () => (await api.get<Json[]>('/api/connections')).length === 0, 5000, 'the connection to leave the list');
    assert.equal((await api.get('/api/queues/%2F/mq')).messages_ready, 5, 'its unacked messages are back');
  });
});

describe('declaring and deleting', () => {
  it('queues: PUT 201/204/400, DELETE if-empty, purge, get with ackmodes and encodings', async () => {
    assert.equal((await api.put('/api/queues/%2F/pq', { durable: true })).status, 201);
    assert.equal((await api.put('/api/queues/%2F/pq', { durable: true })).status, 204);
    const inequivalent = await api.put('/api/queues/%2F/pq', { durable: false });
    assert.equal(inequivalent.status, 400);
    assert.match(String((inequivalent.json as Json).reason), /inequivalent arg 'durable'/);
    assert.equal((await api.put('/api/queues/%2F/pq', { durable: 'yes' })).status, 400, 'a non-boolean durable is refused');
    for (const payload of ['one', 'two']) {
      const published = await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'pq', payload, payload_encoding: 'string', properties: { delivery_mode: 2, headers: { h: 1 } } });
      assert.deepEqual(published.json, { routed: true });
    }
    const binary = randomBytes(16);
    await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'pq', payload: binary.toString('base64'), payload_encoding: 'base64', properties: {} });
    assert.deepEqual((await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'nowhere', payload: 'x', payload_encoding: 'string', properties: {} })).json, { routed: false });
    const got = await api.post('/api/queues/%2F/pq/get', { count: 5, ackmode: 'ack_requeue_true', encoding: 'auto' });
    assert.equal(got.status, 200);
    const peek = got.json as Json[];
    assert.deepEqual(
      peek.map((m) => [m.payload, m.payload_encoding, m.message_count]),
      [
        ['one', 'string', 2],
        ['two', 'string', 1],
        [binary.toString('base64'), 'base64', 0],
      ],
    );
    assert.deepEqual((peek[0]!.properties as Json).headers, { h: 1 });
    assert.equal((peek[0]!.properties as Json).delivery_mode, 2);
    assert.equal((await api.get('/api/queues/%2F/pq')).messages, 3, 'requeued');
    const taken = (await api.post('/api/queues/%2F/pq/get', { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' })).json as Json[];
    assert.equal(taken[0]!.redelivered, true);
    assert.equal((await api.get('/api/queues/%2F/pq')).messages, 2);
    assert.equal((await api.post('/api/queues/%2F/pq/get', { count: 0, ackmode: 'ack_requeue_false' })).status, 400);
    assert.equal((await api.delete('/api/queues/%2F/pq?if-empty=true')).status, 400);
    assert.equal((await api.delete('/api/queues/%2F/pq/contents')).status, 204);
    assert.equal((await api.get('/api/queues/%2F/pq')).messages, 0);
    assert.equal((await api.delete('/api/queues/%2F/pq?if-empty=true')).status, 204);
    assert.equal((await api.request('GET', '/api/queues/%2F/pq')).status, 404);
    assert.deepEqual((await api.request('GET', '/api/queues/%2F/pq')).json, { error: 'Object Not Found', reason: 'Not Found' });
  });

  it('exchanges and bindings: PUT 201/204/400, POST a binding (201 + Location), DELETE it by properties_key', async () => {
    assert.equal((await api.put('/api/exchanges/%2F/ex1', { type: 'direct', durable: true })).status, 201);
    assert.equal((await api.put('/api/exchanges/%2F/ex1', { type: 'direct', durable: true })).status, 204);
    assert.equal((await api.put('/api/exchanges/%2F/ex1', { type: 'fanout', durable: true })).status, 400);
    await api.put('/api/queues/%2F/bq', { durable: false });
    const bound = await api.post('/api/bindings/%2F/e/ex1/q/bq', { routing_key: 'rk', arguments: { x: 1 } });
    assert.equal(bound.status, 201);
    const location = bound.headers.get('location')!;
    assert.match(location, /^ex1\/q\/bq\/rk~.+/);
    const key = location.split('/')[3]!;
    assert.equal((await api.get(`/api/bindings/%2F/e/ex1/q/bq/${encodeURIComponent(key)}`)).routing_key, 'rk');
    assert.deepEqual((await api.post('/api/exchanges/%2F/ex1/publish', { routing_key: 'rk', payload: 'p', payload_encoding: 'string', properties: {} })).json, { routed: true });
    assert.equal((await api.delete(`/api/bindings/%2F/e/ex1/q/bq/${encodeURIComponent(key)}`)).status, 204);
    assert.equal((await api.get<Json[]>('/api/bindings/%2F/e/ex1/q/bq')).length, 0);
    assert.equal((await api.post('/api/bindings/%2F/e/missing/q/bq', { routing_key: 'x' })).status, 404);
    assert.equal((await api.delete('/api/exchanges/%2F/ex1')).status, 204);
    assert.equal((await api.delete('/api/exchanges/%2F/amq.direct')).status, 403, 'amq.* cannot be deleted');
  });

  it('vhosts, users (password and RabbitMQ password_hash) and permissions; a new user logs in over AMQP', async () => {
    assert.equal((await api.put('/api/vhosts/team-a', {})).status, 201);
    assert.equal((await api.put('/api/vhosts/team-a', {})).status, 204);
    assert.ok((await api.get<Json[]>('/api/vhosts')).some((v) => v.name === 'team-a'));
    assert.equal((await api.put('/api/users/alice', { password: 's3cret', tags: 'management' })).status, 201);
    assert.equal((await api.put('/api/permissions/team-a/alice', { configure: '.*', write: '.*', read: '.*' })).status, 201);
    assert.deepEqual(await api.get('/api/permissions/team-a/alice'), { user: 'alice', vhost: 'team-a', configure: '.*', write: '.*', read: '.*' });
    const alice = await amqp.connect(`amqp://alice:s3cret@127.0.0.1:${app.amqpPort}/team-a`);
    await alice.close();
    assert.deepEqual(await api.as('alice', 's3cret').get('/api/whoami'), { name: 'alice', tags: ['management'] });
    // a hash in RabbitMQ's own scheme, as its definitions export holds them
    const salt = randomBytes(4);
    const hash = Buffer.concat([salt, createHash('sha256').update(salt).update('from-rabbit').digest()]).toString('base64');
    assert.equal((await api.put('/api/users/bob', { password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] })).status, 201);
    // as in RabbitMQ, a new user has no permissions until granted some
    await assert.rejects(amqp.connect(`amqp://bob:from-rabbit@127.0.0.1:${app.amqpPort}`), /ConnectionClose/);
    assert.equal((await api.put('/api/permissions/%2F/bob', { configure: '.*', write: '.*', read: '.*' })).status, 201);
    const bob = await amqp.connect(`amqp://bob:from-rabbit@127.0.0.1:${app.amqpPort}`);
    await bob.close();
    assert.equal((await api.get('/api/users/bob')).hashing_algorithm, 'rabbit_password_hashing_sha256');
    assert.equal((await api.put('/api/users/carol', { tags: '' })).status, 400, 'a new user needs a password');
    assert.equal((await api.delete('/api/users/alice')).status, 204);
    await assert.rejects(amqp.connect(`amqp://alice:s3cret@127.0.0.1:${app.amqpPort}/team-a`), /ACCESS.REFUSED/);
    assert.equal((await api.delete('/api/vhosts/team-a')).status, 204);
    assert.equal((await api.request('GET', '/api/vhosts/team-a')).status, 404);
  });

  it('lists page, filter and sort server-side as RabbitMQ does', async () => {
    for (let i = 0; i < 25; i++) await api.put(`/api/queues/%2F/page-${String(i).padStart(2, '0')}`, { durable: false });
    const page = await api.get('/api/queues/%2F?page=2&page_size=10&name=page-&sort=name');
    assert.deepEqual([page.page, page.page_size, page.page_count, page.item_count, page.filtered_count], [2, 10, 3, 10, 25]);
    assert.equal(((page.items as Json[])[0]!).name, 'page-10');
    const regex = await api.get<Json[]>('/api/queues/%2F?name=%5Epage-2%5B0-4%5D%24&use_regex=true');
    assert.deepEqual(regex.map((q) => q.name), ['page-20', 'page-21', 'page-22', 'page-23', 'page-24']);
    const reversed = await api.get('/api/queues/%2F?page=1&page_size=3&name=page-&sort=name&sort_reverse=true');
    assert.deepEqual((reversed.items as Json[]).map((q) => q.name), ['page-24', 'page-23', 'page-22']);
    assert.equal((await api.request('GET', '/api/queues/%2F?page=9&page_size=10&name=page-')).status, 400);
  });
});

describe('definitions', () => {
  it('export, then import into a fresh broker: the same topology; RabbitMQ-format users log in', async () => {
    await api.put('/api/exchanges/%2F/def-x', { type: 'fanout', durable: true });
    await api.put('/api/queues/%2F/def-q', { durable: true, arguments: { 'x-max-priority': 2 } });
    await api.post('/api/bindings/%2F/e/def-x/q/def-q', { routing_key: '' });
    const exported = await api.get('/api/definitions');
    for (const key of ['rabbit_version', 'users', 'vhosts', 'permissions', 'queues', 'exchanges', 'bindings', 'policies']) assert.ok(key in exported, key);
    const other = await startTestApp();
    try {
      const otherApi = new ManagementClient(other.managementUrl);
      const salt = randomBytes(4);
      const hash = Buffer.concat([salt, createHash('sha256').update(salt).update('imported').digest()]).toString('base64');
      const users = [...(exported.users as Json[]), { name: 'importer', password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: 'administrator', limits: {} }];
      const imported = await otherApi.post('/api/definitions', { ...exported, users });
      assert.equal(imported.status, 204, imported.text);
      const q = await otherApi.get('/api/queues/%2F/def-q');
      assert.deepEqual(q.arguments, { 'x-max-priority': 2 });
      assert.equal((await otherApi.get('/api/exchanges/%2F/def-x')).type, 'fanout');
      assert.equal((await otherApi.get<Json[]>('/api/bindings/%2F/e/def-x/q/def-q')).length, 1);
      assert.deepEqual(await otherApi.as('importer', 'imported').get('/api/whoami'), { name: 'importer', tags: ['administrator'] });
      const bad = await otherApi.post('/api/definitions', { queues: [{ name: 'def-q', vhost: '/', durable: false }] });
      assert.equal(bad.status, 400);
      assert.match(String((bad.json as Json).reason), /queue 'def-q'.*inequivalent/);
    } finally {
      await other.close();
    }
  });

  it('users and permissions survive a restart', async () => {
    const dir = tempDir();
    let own = await startTestApp({}, dir.path);
    try {
      await new ManagementClient(own.managementUrl).put('/api/users/dora', { password: 'pw', tags: 'monitoring' });
      await own.broker.whenDurable();
      await own.stop();
      own = await startTestApp({}, dir.path);
      assert.deepEqual(await new ManagementClient(own.managementUrl).as('dora', 'pw').get('/api/whoami'), { name: 'dora', tags: ['monitoring'] });
    } finally {
      await own.close();
      dir.cleanup();
    }
  });
});

describe('health and the doors', () => {
  it('/healthz, /readyz and the alarms check; /readyz and the check fail during an alarm', async () => {
    assert.equal((await fetch(`${app.managementUrl}/healthz`)).status, 200);
    assert.deepEqual(await (await fetch(`${app.managementUrl}/readyz`)).json(), { status: 'ok', problems: [] });
    assert.deepEqual(await api.get('/api/health/checks/alarms'), { status: 'ok' });
    app.broker.alarms.stop();
    app.broker.alarms.set('memory: 9999 MB in use, above the high watermark of 1 MB');
    try {
      assert.equal((await fetch(`${app.managementUrl}/readyz`)).status, 503);
      const check = await api.request('GET', '/api/health/checks/alarms');
      assert.equal(check.status, 503);
      assert.equal((check.json as Json).status, 'failed');
    } finally {
      app.broker.alarms.set(null);
    }
  });

  it('job lanes and deliveries as the doors see them', async () => {
    const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
    await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: 'j1', lane: 'mgmt-lane' }) });
    await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: 'j2', lane: 'mgmt-lane', delay_ms: 60_000 }) });
    const lanes = await api.get<Json[]>('/api/jobs/lanes');
    const lane = lanes.find((l) => l.lane === 'mgmt-lane')!;
    assert.deepEqual([lane.queue, lane.queued, lane.ready, lane.delayed, lane.idle_receivers], ['jobs.mgmt-lane', 2, 1, 1, 0]);
    const peek = await api.get('/api/jobs/lanes/mgmt-lane');
    const jobList = peek.jobs as Json[];
    assert.deepEqual(jobList.map((j) => j.message), ['j1', 'j2']);
    assert.equal((await api.delete(`/api/jobs/${String(jobList[0]!.job_num)}`)).status, 204);
    assert.equal((await api.get<Json[]>('/api/jobs/lanes')).find((l) => l.lane === 'mgmt-lane')!.queued, 1);
    // a lane's jobs one page at a time, in dispatch order
    for (let i = 1; i <= 5; i++) await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: `p${i}`, lane: 'paged-lane' }) });
    const second = await api.get('/api/jobs/lanes/paged-lane?page=2&page_size=2');
    assert.deepEqual([(second.jobs as Json[]).map((j) => j.message), second.page, second.page_size, second.page_count, second.total_count], [['p3', 'p4'], 2, 2, 3, 5]);
    assert.deepEqual(((await api.get('/api/jobs/lanes/paged-lane?page=3&page_size=2')).jobs as Json[]).map((j) => j.message), ['p5']);
    assert.equal(((await api.get('/api/jobs/lanes/paged-lane')).jobs as Json[]).length, 5, 'the first 100 without page');
    for (const query of ['page=0', 'page=x', 'page_size=0', 'page_size=501']) assert.equal((await api.request('GET', `/api/jobs/lanes/paged-lane?${query}`)).status, 400, query);
    assert.equal((await api.request('GET', '/api/jobs/lanes/no-such-lane')).status, 404);
    const deliveries = await api.get('/api/deliveries');
    assert.deepEqual(Object.keys(deliveries.counts as Json).sort(), ['cancelled', 'dead', 'delivered', 'in-flight', 'pending', 'retrying']);
  });
});
