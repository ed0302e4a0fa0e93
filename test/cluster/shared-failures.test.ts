/**
 * Jobs and deliveries on a cluster when things fail, on a real PostgreSQL: a node killed with
 * SIGKILL while it holds job leases and deliveries in flight, whose work the live nodes finish
 * once it is found dead; and the database stopped and started under load, answering 503 while it
 * is down and losing nothing it answered ok or 202 for.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { sleep } from '../support/app-harness';
import { BrokerProcess, startBrokerProcess } from '../support/broker-process';
import { startNode, TEST_CLUSTER_SETTINGS, TestNode } from '../support/cluster-nodes';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { JobsClient } from '../support/jobs-client';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';
import { tempDir } from '../support/temp-dir';

const SETTINGS = { DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_RETRY_BASE_MS: '100', DISPATCH_RETRY_MAX_DELAY_MS: '500' };

describe('shared jobs and deliveries when nodes and the database fail', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;
  let nodes: TestNode[] = [];
  let sink: HttpSink;
  let proc: BrokerProcess | null = null;
  const procDir = tempDir();
  let jobs: JobsClient[] = [];

  before(async () => {
    server = await startPostgres();
    sink = await HttpSink.start();
    nodes = [await startNode(server.url, 'live-a', SETTINGS)];
    nodes.push(await startNode(server.url, 'live-b', SETTINGS));
    jobs = nodes.map((node) => new JobsClient(`http://127.0.0.1:${node.app.running.ports.jobs}`));
  });

  after(async () => {
    proc?.child.kill('SIGKILL');
    for (const client of jobs) client.close();
    await Promise.all(nodes.map((node) => node.app.close()));
    await sink?.close();
    await server?.stop();
    procDir.cleanup();
  });

  const query = async <R extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> => {
    const client = new Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  it('what a node killed with SIGKILL held (job leases, deliveries in flight) is finished by the live nodes after the node timeout', async () => {
    proc = await startBrokerProcess({
      ...TEST_CLUSTER_SETTINGS,
      ...SETTINGS,
      DATABASE_URL: server.url,
      NODE_NAME: 'doomed',
      DATA_DIR: procDir.path,
      AMQP_PORT: '0',
      JOBS_PORT: '0',
      DISPATCH_PORT: '0',
      MANAGEMENT_PORT: '0',
      BIND_HOST: '127.0.0.1',
    });
    const started = proc.logs.find((entry) => entry.msg === 'broker started')!;
    const doomedJobs = new JobsClient(`http://127.0.0.1:${String(started.jobs)}`);
    const doomedDispatch = `http://127.0.0.1:${String(started.dispatch)}`;
    try {
      for (let i = 0; i < 20; i++) assert.equal((await jobs[0]!.schedule(`job-${i}`, { lane: 'held' })).json.code, 0);
      const leased: string[] = [];
      for (let i = 0; i < 8; i++) {
        const got = await doomedJobs.send('/receive_noblock', { lane: 'held', ack: true, timeout_ms: 600_000 });
        leased.push(String(got.json.message));
      }
      assert.equal(leased.length, 8);
      // the sink keeps every delivery hanging until the kill: each node holds what it took in flight
      let killed = false;
      sink.behaviour = (request) => (request.url.startsWith('/held') && !killed ? { status: 200, delayMs: 4000 } : { status: 200 });
      const ids = Array.from({ length: 30 }, () => randomUUID());
      for (const id of ids) {
        const answer = await postJson(`${doomedDispatch}/`, { UUID: id, Url: sink.url('/held'), Method: 'POST', Body: id });
        assert.equal(answer.status, 202, answer.text);
      }
      await sink.waitFor(() => sink.to('/held').length >= 30, 10_000, 'every delivery in flight');
      const [doomed] = await query<{ incarnation: string }>("SELECT incarnation::text FROM nodes WHERE name = 'doomed'");
      const [held] = await query<{ n: number }>('SELECT count(*)::int AS n FROM queue_messages WHERE holder = $1', [doomed!.incarnation]);
      assert.ok(held!.n >= 8, `the doomed node held ${held!.n} rows`);

      proc.child.kill('SIGKILL');
      killed = true;
      // its leased jobs come back to the live nodes once it is found dead (timeout 1.5 s)
      const received: string[] = [];
      const deadline = Date.now() + 15_000;
      while (received.length < 20 && Date.now() < deadline) {
        const got = await jobs[received.length % 2]!.send('/receive_noblock', { lane: 'held' });
        if (got.json.code === 0) received.push(String(got.json.message));
        else await sleep(100);
      }
      assert.deepEqual(new Set(received), new Set(Array.from({ length: 20 }, (_, i) => `job-${i}`)), 'every job, the leased ones too');
      // every delivery ends delivered (the doomed node's again, by a live node: at least once)
      for (const id of ids) {
        const until = Date.now() + 15_000;
        let seen = '';
        while (seen !== 'delivered' && Date.now() < until) {
          seen = String((await getJson(`${nodes[1]!.app.dispatchUrl}/deliveries/${id}`)).json.state);
          if (seen !== 'delivered') await sleep(100);
        }
        assert.equal(seen, 'delivered', `${id} delivered`);
      }
      const [left] = await query<{ n: number }>('SELECT count(*)::int AS n FROM queue_messages');
      assert.equal(left!.n, 0);
      assert.ok(nodes.every((node) => node.app.broker.storeOpen));
    } finally {
      doomedJobs.close();
      sink.behaviour = () => ({ status: 200 });
    }
  });

  it('with the database stopped and started under load, writes answer 503 while it is down and nothing answered ok or 202 is lost', async () => {
    const okJobs = new Set<string>();
    const okDeliveries = new Set<string>();
    const failures = new Map<number, number>();
    let running = true;
    let n = 0;
    const load = async (worker: number): Promise<void> => {
      while (running) {
        const i = n++;
        try {
          if (i % 2 === 0) {
            const answer = await jobs[worker % 2]!.schedule(`load-${i}`, { lane: 'outage' });
            if (answer.json.code === 0) okJobs.add(`load-${i}`);
            else failures.set(answer.status, (failures.get(answer.status) ?? 0) + 1);
          } else {
            const id = randomUUID();
            const answer = await postJson(`${nodes[worker % 2]!.app.dispatchUrl}/`, { UUID: id, Url: sink.url('/outage'), Method: 'POST', Body: id });
            if (answer.status === 202) okDeliveries.add(id);
            else failures.set(answer.status, (failures.get(answer.status) ?? 0) + 1);
          }
        } catch {
          failures.set(0, (failures.get(0) ?? 0) + 1);
        }
        await sleep(5);
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => load(w));
    await sleep(700);
    await server.down();
    await sleep(1500);
    await server.up();
    for (const node of nodes) {
      const deadline = Date.now() + 15_000;
      while ((await fetch(`${node.app.managementUrl}/readyz`)).status !== 200 && Date.now() < deadline) await sleep(100);
    }
    await sleep(700);
    running = false;
    await Promise.all(workers);
    assert.ok((failures.get(503) ?? 0) > 0, `503 while the database was down (${JSON.stringify([...failures])})`);
    assert.deepEqual([...failures.keys()].filter((status) => status !== 503), [], `only 503s: ${JSON.stringify([...failures])}`);
    assert.ok(okJobs.size > 20 && okDeliveries.size > 20, `load before and after (${okJobs.size} jobs, ${okDeliveries.size} deliveries)`);

    // every job answered ok is in its lane
    const received = new Set<string>();
    for (let got = await jobs[0]!.send('/receive_noblock', { lane: 'outage' }); got.json.code === 0; got = await jobs[1]!.send('/receive_noblock', { lane: 'outage' })) {
      received.add(String(got.json.message));
    }
    for (const job of okJobs) assert.ok(received.has(job), `${job} was answered ok and is there`);
    // every delivery answered 202 reaches the sink
    await sink.waitFor(() => [...okDeliveries].every((id) => sink.to('/outage').some((r) => r.body.toString('utf8') === id)), 20_000, 'every accepted delivery');
  });
});
