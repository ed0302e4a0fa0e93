/**
 * Cluster mode on a real PostgreSQL: three nodes started at once on an empty database, the node
 * list, and definitions made on one node that every other node has applied by the time the first
 * one answers (read-your-writes across nodes), with NOTIFY and in poll-only mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { MIGRATIONS } from '#cluster';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';
import { allowClassicQueuesForDefinitionTests, startNode, TestNode } from '../support/cluster-nodes';
import { ManagementClient } from '../support/management-client';

type Json = Record<string, unknown>;

let server: PrivatePostgres;

before(async () => {
  if (postgresMissing) return;
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

async function scalar(url: string, sql: string): Promise<unknown> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return Object.values((await client.query<Json>(sql)).rows[0] ?? {})[0];
  } finally {
    await client.end();
  }
}

describe('three nodes on one database', { skip: postgresMissing }, () => {
  let nodes: TestNode[] = [];
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;

  before(async () => {
    // at once, on an empty database: the schema is made once, under the migration lock
    nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((name) => startNode(server.url, name)));
    [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
  });

  it('made the schema once and registered every node', async () => {
    assert.equal(await scalar(server.url, 'SELECT count(*)::int FROM schema_version'), MIGRATIONS.length);
    assert.equal(await scalar(server.url, "SELECT count(*)::int FROM nodes WHERE state = 'running'"), 3);
    // the default vhost and user were made once between them, whichever node came first
    assert.equal(await scalar(server.url, "SELECT count(*)::int FROM vhosts WHERE name = '/'"), 1);
    assert.equal(await scalar(server.url, 'SELECT count(*)::int FROM users'), 1);
  });

  it('/api/nodes on any node lists the three, running, with uptime, last heartbeat, addresses and ports', async () => {
    for (const node of nodes) {
      const listed = await node.api.get<Json[]>('/api/nodes');
      assert.deepEqual(
        listed.map((n) => n.name),
        ['node-a', 'node-b', 'node-c'],
      );
      for (const n of listed) {
        assert.equal(n.running, true);
        assert.equal(typeof n.uptime, 'number');
        assert.ok(Date.now() - Date.parse(n.last_heartbeat as string) < 5000, `${String(n.name)} heartbeated lately`);
        assert.ok(Array.isArray(n.addresses));
        assert.equal(typeof (n.ports as Json).management, 'number');
        assert.equal(n.type, 'disc');
      }
      const self = await node.api.get(`/api/nodes/${node.name}`);
      assert.equal(self.name, node.name);
      assert.equal(self.os_pid, String(process.pid));
      assert.equal((await node.api.request('GET', '/api/nodes/nowhere')).status, 404);
      assert.equal((await node.api.get('/api/overview')).node, node.name);
    }
  });

  it('/readyz is ok and /metrics carries the node label', async () => {
    for (const node of nodes) {
      const ready = await fetch(`${node.app.managementUrl}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`${node.app.managementUrl}/metrics`)).text();
      assert.match(metrics, new RegExp(`broker_messages_published_total\\{node="${node.name}"\\} \\d+`));
    }
  });

  it('refuses queues kept in one node\'s memory, and delayed-message exchanges, saying why', async () => {
    const refused = await a.api.put('/api/queues/%2F/local', { durable: true, arguments: { 'x-queue-type': 'classic' } });
    assert.equal(refused.status, 400);
    assert.match((refused.json as Json).reason as string, /keeps its messages on one node; with STORE=postgres only queue types shared through the database may be declared \(quorum\)/);
    // a declaration without x-queue-type gets the shared type, the cluster's default
    assert.equal((await a.api.put('/api/queues/%2F/shared-default', { durable: true })).status, 201);
    for (const node of nodes) assert.equal(((await node.api.get<Json>('/api/queues/%2F/shared-default')).type as string), 'quorum');
    const delayed = await a.api.put('/api/exchanges/%2F/later', { type: 'x-delayed-message', durable: true, arguments: { 'x-delayed-type': 'direct' } });
    assert.equal(delayed.status, 400);
    assert.match((delayed.json as Json).reason as string, /holds its messages on one node/);
    for (const node of nodes) assert.equal((await node.api.request('GET', '/api/queues/%2F/local')).status, 404);
  });

  it('a vhost, user and permission made on A are used on B and C right after A answers', async () => {
    assert.equal((await a.api.put('/api/vhosts/shared', {})).status, 201);
    assert.equal((await b.api.request('GET', '/api/vhosts/shared')).status, 200);
    assert.equal((await a.api.put('/api/users/alice', { password: 'alice-secret', tags: 'management' })).status, 201);
    const alice = (node: TestNode): ManagementClient => node.api.as('alice', 'alice-secret');
    assert.equal((await alice(c).request('GET', '/api/whoami')).status, 200);
    assert.equal((await alice(b).request('GET', '/api/exchanges/shared')).status, 401, 'no permission in it yet');
    assert.equal((await a.api.put('/api/permissions/shared/alice', { configure: '.*', write: '.*', read: '.*' })).status, 201);
    for (const node of [b, c]) assert.equal((await alice(node).request('GET', '/api/exchanges/shared')).status, 200);
    // a changed password is the only one that works anywhere
    assert.equal((await b.api.put('/api/users/alice', { password: 'alice-other', tags: 'management' })).status, 204);
    assert.equal((await alice(a).request('GET', '/api/whoami')).status, 401);
    assert.equal((await c.api.as('alice', 'alice-other').request('GET', '/api/whoami')).status, 200);
  });

  it('an exchange, a queue, a binding and a policy made on A are there on B and C right after, and routing uses them', async () => {
    for (const node of nodes) allowClassicQueuesForDefinitionTests(node);
    assert.equal((await a.api.put('/api/exchanges/shared/orders', { type: 'topic', durable: true })).status, 201);
    assert.equal((await a.api.put('/api/queues/shared/eu-orders', { durable: true, arguments: { 'x-max-length': 100 } })).status, 201);
    assert.equal((await a.api.post('/api/bindings/shared/e/orders/q/eu-orders', { routing_key: 'eu.#', arguments: { k: 'v' } })).status, 201);
    assert.equal((await a.api.put('/api/policies/shared/ttl', { pattern: '^eu-', definition: { 'message-ttl': 60000 }, 'apply-to': 'queues', priority: 1 })).status, 201);
    for (const node of [b, c]) {
      const exchange = await node.api.get('/api/exchanges/shared/orders');
      assert.equal(exchange.type, 'topic');
      const queue = await node.api.get('/api/queues/shared/eu-orders');
      assert.deepEqual(queue.arguments, { 'x-max-length': 100 });
      assert.equal(queue.policy, 'ttl');
      const bindings = await node.api.get<Json[]>('/api/bindings/shared/e/orders/q/eu-orders');
      assert.deepEqual(
        bindings.map((x) => [x.routing_key, x.arguments]),
        [['eu.#', { k: 'v' }]],
      );
      const published = await node.api.post('/api/exchanges/shared/orders/publish', { routing_key: 'eu.de', payload: 'x', payload_encoding: 'string', properties: {} });
      assert.deepEqual(published.json, { routed: true });
    }
  });

  it('deletes made on one node are gone everywhere right after', async () => {
    const [binding] = await b.api.get<Json[]>('/api/bindings/shared/e/orders/q/eu-orders');
    assert.equal((await b.api.delete(`/api/bindings/shared/e/orders/q/eu-orders/${encodeURIComponent(binding!.properties_key as string)}`)).status, 204);
    for (const node of [a, c]) assert.deepEqual(await node.api.get<Json[]>('/api/bindings/shared/e/orders/q/eu-orders'), []);
    assert.equal((await c.api.delete('/api/policies/shared/ttl')).status, 204);
    for (const node of [a, b]) assert.equal((await node.api.get('/api/queues/shared/eu-orders')).policy, null);
    assert.equal((await c.api.delete('/api/queues/shared/eu-orders')).status, 204);
    assert.equal((await c.api.delete('/api/exchanges/shared/orders')).status, 204);
    for (const node of [a, b]) {
      assert.equal((await node.api.request('GET', '/api/queues/shared/eu-orders')).status, 404);
      assert.equal((await node.api.request('GET', '/api/exchanges/shared/orders')).status, 404);
    }
    assert.equal((await a.api.delete('/api/users/alice')).status, 204);
    assert.equal((await b.api.as('alice', 'alice-other').request('GET', '/api/whoami')).status, 401);
    assert.equal((await a.api.delete('/api/vhosts/shared')).status, 204);
    for (const node of [b, c]) assert.equal((await node.api.request('GET', '/api/vhosts/shared')).status, 404);
    assert.equal(await scalar(server.url, "SELECT count(*)::int FROM permissions WHERE definition->>'vhost' = 'shared'"), 0);
  });

  it('a definitions import on one node is answered after every node has it', async () => {
    const imported = await b.api.post('/api/definitions', {
      vhosts: [{ name: 'imported' }],
      exchanges: [{ name: 'ix', vhost: 'imported', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
      queues: [{ name: 'iq', vhost: 'imported', durable: true, auto_delete: false, arguments: {} }],
      bindings: [{ source: 'ix', vhost: 'imported', destination: 'iq', destination_type: 'queue', routing_key: '', arguments: {} }],
    });
    assert.equal(imported.status, 204);
    for (const node of [a, c]) {
      assert.equal((await node.api.get<Json[]>('/api/bindings/imported/e/ix/q/iq')).length, 1);
    }
  });

  it('a vhost limit set on A is enforced on B and C right after A answers; cleared on C, gone everywhere', async () => {
    assert.equal((await a.api.put('/api/vhosts/limited', {})).status, 201);
    assert.equal((await a.api.put('/api/queues/limited/first', { durable: true })).status, 201);
    assert.equal((await a.api.put('/api/vhost-limits/limited/max-queues', { value: 1 })).status, 204);
    assert.equal(await scalar(server.url, "SELECT count(*)::int FROM vhost_limits WHERE key = convert_to('limited', 'UTF8')"), 1);
    for (const node of [b, c]) {
      assert.deepEqual(await node.api.get<Json[]>('/api/vhost-limits/limited'), [{ vhost: 'limited', value: { 'max-queues': 1 } }]);
      const refused = await node.api.put('/api/queues/limited/second', { durable: true });
      assert.equal(refused.status, 400, `${node.name}: ${JSON.stringify(refused.json)}`);
      assert.match((refused.json as Json).reason as string, /queue limit in vhost 'limited' \(1\) is reached/);
    }
    assert.equal((await c.api.delete('/api/vhost-limits/limited/max-queues')).status, 204);
    for (const node of [a, b]) {
      assert.deepEqual(await node.api.get<Json[]>('/api/vhost-limits/limited'), []);
      assert.equal((await node.api.put(`/api/queues/limited/on-${node.name}`, { durable: true })).status, 201);
    }
    // set again for the node that starts later
    assert.equal((await b.api.put('/api/vhost-limits/limited/max-queues', { value: 3 })).status, 204);
  });

  it('a node started later loads every definition, and the others wait for it from then on', async () => {
    const d = await startNode(server.url, 'node-d');
    try {
      allowClassicQueuesForDefinitionTests(d);
      assert.equal((await d.api.get<Json[]>('/api/bindings/imported/e/ix/q/iq')).length, 1);
      assert.deepEqual(await d.api.get<Json[]>('/api/vhost-limits/limited'), [{ vhost: 'limited', value: { 'max-queues': 3 } }]);
      assert.equal((await a.api.put('/api/queues/%2F/late', { durable: true })).status, 201);
      assert.equal((await d.api.request('GET', '/api/queues/%2F/late')).status, 200);
    } finally {
      await d.app.close();
    }
    // a clean stop: the node is listed as not running at once
    const listed = await a.api.get<Json[]>('/api/nodes');
    assert.deepEqual(
      listed.filter((n) => n.name === 'node-d').map((n) => n.running),
      [false],
    );
  });
});

describe('poll only (DATABASE_NOTIFY=false, as behind PgBouncer transaction pooling)', { skip: postgresMissing }, () => {
  let nodes: TestNode[] = [];

  before(async () => {
    const url = await server.createDatabase('poll_only');
    nodes = await Promise.all(['poll-a', 'poll-b'].map((name) => startNode(url, name, { DATABASE_NOTIFY: 'false', CLUSTER_POLL_INTERVAL_MS: '50' })));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.app.close()));
  });

  it('a definition made on one node is there on the other right after it answers', async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    for (const node of nodes) allowClassicQueuesForDefinitionTests(node);
    assert.equal((await a.api.put('/api/exchanges/%2F/polled', { type: 'direct', durable: true })).status, 201);
    assert.equal((await b.api.request('GET', '/api/exchanges/%2F/polled')).status, 200);
    assert.equal((await b.api.put('/api/queues/%2F/polled-q', { durable: true })).status, 201);
    assert.equal((await a.api.request('GET', '/api/queues/%2F/polled-q')).status, 200);
  });
});
