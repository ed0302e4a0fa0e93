/**
 * Cluster mode when things fail, on a real PostgreSQL: a node killed with SIGKILL is found dead
 * within the node timeout and a live node releases what it held (once); the database stopped
 * makes /readyz say why and writes answer 503 at once, and the nodes come back by themselves
 * when it is started again, keeping everything answered before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/app-harness';
import { BrokerProcess, startBrokerProcess } from '../support/broker-process';
import { startNode, TEST_CLUSTER_SETTINGS, TestNode } from '../support/cluster-nodes';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';
import { tempDir } from '../support/temp-dir';

type Json = Record<string, unknown>;

describe('a cluster whose nodes and database fail', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;
  let nodes: TestNode[] = [];
  const released: { by: string; node: string }[] = [];
  let proc: BrokerProcess | null = null;
  const procDir = tempDir();

  before(async () => {
    server = await startPostgres();
    nodes = await Promise.all(['live-a', 'live-b'].map((name) => startNode(server.url, name)));
    for (const node of nodes) node.cluster.releasers.add('test', async (dead) => void released.push({ by: node.name, node: dead.name }));
  });

  after(async () => {
    proc?.child.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.app.close()));
    await server?.stop();
    procDir.cleanup();
  });

  it('a node killed with SIGKILL is declared dead within the node timeout, and one live node releases what it held', async () => {
    proc = await startBrokerProcess({
      ...TEST_CLUSTER_SETTINGS,
      DATABASE_URL: server.url,
      NODE_NAME: 'doomed',
      DATA_DIR: procDir.path,
      AMQP_PORT: '0',
      JOBS_PORT: '0',
      DISPATCH_PORT: '0',
      MANAGEMENT_PORT: '0',
      BIND_HOST: '127.0.0.1',
    });
    const [a] = nodes as [TestNode];
    const running = async (): Promise<unknown> => (await a.api.get<Json[]>('/api/nodes')).find((n) => n.name === 'doomed')?.running;
    await eventually(async () => (await running()) === true, 5000, 'the process node listed as running');
    proc.child.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(() => released.length > 0, 8000, 'a releaser run for the dead node');
    const tookMs = Date.now() - killedAt;
    // the timeout (1.5 s), then at most one heartbeat round (0.5 s) of the judging node, and slack for a busy machine
    assert.ok(tookMs < 1500 + 500 + 2500, `released ${tookMs} ms after the kill`);
    assert.equal(await running(), false);
    const row = (await a.api.get<Json[]>('/api/nodes')).find((n) => n.name === 'doomed')!;
    assert.ok(Date.parse(row.last_heartbeat as string) <= killedAt + 100);
    // exactly once, by one live node, however many were looking
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(released.length, 1);
    assert.equal(released[0]!.node, 'doomed');
    assert.ok(['live-a', 'live-b'].includes(released[0]!.by));
    assert.ok(nodes.every((node) => node.app.broker.storeOpen));
  });

  it('with the database stopped, /readyz says why and writes answer 503 at once; started again, the nodes come back by themselves', async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    assert.equal((await a.api.put('/api/vhosts/before', {})).status, 201);
    await server.down();
    await eventually(async () => (await fetch(`${a.app.managementUrl}/readyz`)).status === 503, 3000, 'readyz 503 while the database is down');
    const readiness = (await (await fetch(`${b.app.managementUrl}/readyz`)).json()) as { status: string; problems: string[] };
    assert.equal(readiness.status, 'failed');
    assert.ok(
      readiness.problems.some((p) => /database is unavailable/.test(p)),
      readiness.problems.join('; '),
    );
    const started = Date.now();
    const refused = await a.api.put('/api/vhosts/during', {});
    assert.equal(refused.status, 503);
    assert.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms`);

    await server.up();
    for (const node of nodes) await eventually(async () => (await fetch(`${node.app.managementUrl}/readyz`)).status === 200, 10_000, `${node.name} ready again`);
    // what was answered before is there; what was refused is not (the node that held it in memory dropped it)
    for (const node of nodes) {
      assert.equal((await node.api.request('GET', '/api/vhosts/before')).status, 200);
      await eventually(async () => (await node.api.request('GET', '/api/vhosts/during')).status === 404, 5000, `no 'during' vhost on ${node.name}`);
    }
    // and the cluster works as before: a change on one node is on the other right after
    assert.equal((await b.api.put('/api/vhosts/after', {})).status, 201);
    assert.equal((await a.api.request('GET', '/api/vhosts/after')).status, 200);
    // nobody was declared dead for the outage
    const listed = await a.api.get<Json[]>('/api/nodes');
    assert.deepEqual(
      listed.filter((n) => n.name !== 'doomed').map((n) => [n.name, n.running]),
      [
        ['live-a', true],
        ['live-b', true],
      ],
    );
    assert.equal(released.length, 1);
  });
});
