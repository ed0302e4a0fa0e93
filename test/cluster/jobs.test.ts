/**
 * The job API on three nodes sharing one PostgreSQL (STORE=postgres), requests spread over the
 * nodes as a load balancer spreads them: a job scheduled on one node is received on another, a
 * blocked receiver wakes when another node schedules, a lease is settled through any node and
 * returns the job wherever it runs out, idempotency keys and job numbers hold across nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { sleep } from '../support/app-harness';
import { startNode, TestNode } from '../support/cluster-nodes';
import { JobsClient, JobsResponse } from '../support/jobs-client';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';

describe('jobs across cluster nodes', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;
  let nodes: TestNode[] = [];
  let clients: JobsClient[] = [];
  let a: JobsClient;
  let b: JobsClient;
  let c: JobsClient;

  before(async () => {
    server = await startPostgres();
    // one first (it makes the schema), then the others at once
    nodes = [await startNode(server.url, 'jobs-a')];
    nodes.push(...(await Promise.all(['jobs-b', 'jobs-c'].map((name) => startNode(server.url, name)))));
    clients = nodes.map((node) => new JobsClient(`http://127.0.0.1:${node.app.running.ports.jobs}`));
    [a, b, c] = clients as [JobsClient, JobsClient, JobsClient];
  });

  after(async () => {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.app.close()));
    await server?.stop();
  });

  const rowsOfLane = async (lane: string): Promise<number> => {
    const client = new Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM queue_messages m JOIN queues q ON q.id = m.queue_id WHERE q.vhost = $1 AND q.name = $2',
        ['/', `jobs.${lane}`],
      );
      return rows[0]!.n;
    } finally {
      await client.end();
    }
  };

  const take = async (client: JobsClient, lane: string, extra: Record<string, unknown> = {}): Promise<JobsResponse> => client.send('/receive_noblock', { lane, ...extra });

  it('a job scheduled on one node is committed when it answers ok, and received once on another', async () => {
    const scheduled = await a.schedule('hello', { lane: 'spread' });
    assert.equal(scheduled.status, 200);
    assert.equal(scheduled.json.status, 'ok');
    assert.equal(await rowsOfLane('spread'), 1, 'the row is in the database once ok is answered');
    const got = await take(b, 'spread');
    assert.equal(got.json.message, 'hello');
    assert.equal((await take(c, 'spread')).json.code, 2, 'taken once, by one node');
    await eventuallyZero(() => rowsOfLane('spread'));
  });

  it('a receiver blocked on one node wakes when another node schedules', async () => {
    const waiting = b.send('/receive_block', { lane: 'wake', wait_ms: 10_000 });
    await sleep(200);
    assert.equal((await status(b)).idle_workers.wake, 1, 'counted as an idle worker on its node');
    const started = Date.now();
    await a.schedule('wake up', { lane: 'wake' });
    const got = await waiting;
    assert.equal(got.json.message, 'wake up');
    assert.ok(Date.now() - started < 1500, `woke after ${Date.now() - started} ms`);
  });

  it('a job received on one node is acknowledged, touched and released through the others', async () => {
    await a.schedule('leased', { lane: 'lease' });
    const leased = await take(a, 'lease', { ack: true, timeout_ms: 5000 });
    assert.equal(leased.json.message, 'leased');
    assert.match(String(leased.json.id), /^[0-9a-f-]{36}$/);
    const touched = await c.send('/touch', { id: leased.json.id, timeout_ms: 5000 });
    assert.equal(touched.json.code, 0, touched.text);
    const found = await b.send(`/job?job_num=${String(leased.json.job_num)}`);
    assert.equal((found.json.job as Record<string, unknown>).state, 'leased', found.text);
    const released = await b.send('/release', { id: leased.json.id });
    assert.equal(released.json.code, 0, released.text);
    assert.equal((await a.send('/ack', { id: leased.json.id })).status, 404, 'the released lease is gone on every node');
    const again = await take(c, 'lease', { ack: true, timeout_ms: 5000 });
    assert.equal(again.json.message, 'leased');
    assert.notEqual(again.json.id, leased.json.id);
    const acked = await b.send('/ack', { id: again.json.id });
    assert.deepEqual(acked.json, { status: 'ok', code: 0 });
    assert.equal((await c.send('/ack', { id: again.json.id })).status, 404);
    assert.equal(await rowsOfLane('lease'), 0);
  });

  it('a lease that runs out returns the job, whichever node took it', async () => {
    await b.schedule('first', { lane: 'expiry' });
    await b.schedule('second', { lane: 'expiry' });
    const leased = await take(a, 'expiry', { ack: true, timeout_ms: 300 });
    assert.equal(leased.json.message, 'first');
    await sleep(300 + 2 * 200 + 200);
    assert.equal((await take(c, 'expiry')).json.message, 'first', 'back at the front of its lane');
    assert.equal((await take(b, 'expiry')).json.message, 'second');
    assert.equal((await b.send('/ack', { id: leased.json.id })).status, 404, 'the expired lease settles nothing');
  });

  it('a delayed job scheduled on one node is received on another only once it is due; a delayed release too', async () => {
    const scheduled = await a.schedule('later', { lane: 'delay', delay_ms: 600 });
    assert.equal(scheduled.json.code, 0);
    assert.equal((await take(b, 'delay')).json.code, 2, 'not before its time');
    const waited = Date.now();
    const got = await c.send('/receive_block', { lane: 'delay', wait_ms: 5000, ack: true, timeout_ms: 5000 });
    assert.equal(got.json.message, 'later');
    assert.ok(Date.now() - waited >= 400, `received after ${Date.now() - waited} ms`);
    const delayed = await b.send('/release', { id: got.json.id, delay_ms: 500 });
    assert.equal(delayed.json.code, 0, delayed.text);
    assert.equal(delayed.json.job_num, got.json.job_num);
    assert.equal((await take(a, 'delay')).json.code, 2, 'released for later');
    const again = await a.send('/receive_block', { lane: 'delay', wait_ms: 5000 });
    assert.equal(again.json.message, 'later');
    // listed (on any node) ready first, then delayed ones by due time, and counted as queued
    await a.schedule('in 900ms', { lane: 'delay', delay_ms: 900 });
    await b.schedule('run_at', { lane: 'delay', run_at: new Date(Date.now() + 500).toISOString() });
    await c.schedule('now', { lane: 'delay' });
    const listed = await b.send('/jobs', undefined, { method: 'GET' });
    assert.deepEqual((listed.json.delay as Record<string, unknown>[]).map((job) => job.message), ['now', 'run_at', 'in 900ms']);
    await eventually(async () => (await status(c)).queued_jobs.delay === 3, 2000, 'three queued, delayed ones too');
  });

  it('the same idempotency key scheduled on every node at once makes one job', async () => {
    const answers = await Promise.all(clients.flatMap((client) => [client, client].map((cl) => cl.schedule('once', { lane: 'idem', idempotency_key: 'order-42' }))));
    assert.ok(answers.every((answer) => answer.json.code === 0), answers.map((answer) => answer.text).join('\n'));
    assert.equal(new Set(answers.map((answer) => answer.json.job_num)).size, 1, answers.map((answer) => answer.text).join('\n'));
    assert.equal(answers.filter((answer) => answer.json.duplicate === false).length, 1);
    assert.equal(await rowsOfLane('idem'), 1);
    // finished on one node, still a duplicate on another within the window
    const got = await take(c, 'idem', { ack: true });
    assert.equal((await a.send('/ack', { id: got.json.id })).json.code, 0);
    await sleep(100);
    const later = await b.schedule('once', { lane: 'idem', idempotency_key: 'order-42' });
    assert.equal(later.json.duplicate, true, later.text);
    assert.equal(later.json.job_num, answers[0]!.json.job_num);
    assert.equal(await rowsOfLane('idem'), 0);
  });

  it('a lane declared with a length limit and reject-publish refuses jobs on every node once full (503), keeping what it has', async () => {
    const declared = await nodes[0]!.api.put('/api/queues/%2F/jobs.bounded', { durable: true, arguments: { 'x-queue-order': 'rank', 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    assert.equal(declared.status, 201);
    assert.equal((await b.schedule('first', { lane: 'bounded' })).status, 200);
    // the other nodes count it within a poll interval
    await sleep(400);
    for (const client of [a, c]) {
      const refused = await client.schedule('second', { lane: 'bounded' });
      assert.equal(refused.status, 503);
      assert.deepEqual(refused.json, { status: 'error', code: 1, message: "lane 'bounded' is full and refuses new jobs (x-overflow reject-publish)" });
    }
    assert.equal((await take(c, 'bounded')).json.message, 'first');
    assert.equal((await take(a, 'bounded')).json.code, 2);
  });

  it('jobs spread over the nodes are each received exactly once, with numbers unique across nodes; counts follow', async () => {
    const total = 600;
    const scheduled = await Promise.all(Array.from({ length: total }, (_, i) => clients[i % 3]!.schedule(`job-${i}`, { lane: 'many', idempotency_key: `k-${i}` })));
    assert.ok(scheduled.every((answer) => answer.json.code === 0));
    assert.equal(new Set(scheduled.map((answer) => answer.json.job_num)).size, total, 'job numbers unique across nodes');
    await eventually(async () => (await status(b)).queued_jobs.many === total, 3000, 'counted on another node');
    const seen: string[] = [];
    const worker = async (index: number): Promise<void> => {
      for (;;) {
        const got = await take(clients[index % 3]!, 'many', { ack: true, timeout_ms: 10_000 });
        if (got.json.code === 2) return;
        seen.push(String(got.json.message));
        // acknowledged through the next node
        const acked = await clients[(index + 1) % 3]!.send('/ack', { id: got.json.id });
        assert.equal(acked.json.code, 0, acked.text);
      }
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => worker(i)));
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total, 'each job once');
    assert.equal(await rowsOfLane('many'), 0);
    await eventually(async () => (await status(c)).queued_jobs.many === 0, 3000, 'counted empty on every node');
  });

  type Job = { message: string; id: string; job_num: number };
  const jobsOf = (answer: JobsResponse): Job[] => {
    assert.equal(answer.status, 200, answer.text);
    assert.ok(Array.isArray(answer.json.jobs), answer.text);
    return answer.json.jobs as Job[];
  };

  it('batches: receivers on every node take jobs by the 50 and acknowledge them by the list through another node, each job once', async () => {
    const total = 450;
    const scheduled = await Promise.all(Array.from({ length: total }, (_, i) => clients[i % 3]!.schedule(`batch-${i}`, { lane: 'batches' })));
    assert.ok(scheduled.every((answer) => answer.json.code === 0));
    const seen: string[] = [];
    let largest = 0;
    const worker = async (index: number): Promise<void> => {
      for (;;) {
        const jobs = jobsOf(await clients[index % 3]!.send('/receive_noblock', { lane: 'batches', count: 50, ack: true, timeout_ms: 10_000 }));
        if (jobs.length === 0) return;
        assert.ok(jobs.length <= 50);
        largest = Math.max(largest, jobs.length);
        seen.push(...jobs.map((job) => job.message));
        const acked = await clients[(index + 1) % 3]!.send('/ack', { ids: jobs.map((job) => job.id) });
        assert.deepEqual(acked.json, { status: 'ok', code: 0, acked: jobs.length, unknown: [] });
      }
    };
    await Promise.all(Array.from({ length: 4 }, (_, i) => worker(i)));
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total, 'each job once');
    assert.equal(largest, 50, 'full batches while the lane had jobs');
    assert.equal(await rowsOfLane('batches'), 0);
  });

  it('a batch comes in priority-then-FIFO order across nodes; a blocked batch receive on one node wakes when another schedules', async () => {
    await a.schedule('p7', { lane: 'batch-order', priority: 7 });
    await b.schedule('p2-first', { lane: 'batch-order', priority: 2 });
    await c.schedule('p2-second', { lane: 'batch-order', priority: 2 });
    await a.schedule('p0', { lane: 'batch-order', priority: 0 });
    assert.deepEqual(jobsOf(await b.send('/receive_noblock', { lane: 'batch-order', count: 10 })).map((job) => job.message), ['p0', 'p2-first', 'p2-second', 'p7']);

    const waiting = c.send('/receive_block', { lane: 'batch-wake', count: 10, wait_ms: 10_000 });
    await sleep(200);
    const started = Date.now();
    await a.schedule('wake', { lane: 'batch-wake' });
    assert.deepEqual(jobsOf(await waiting).map((job) => job.message), ['wake']);
    assert.ok(Date.now() - started < 1500, `woke after ${Date.now() - started} ms`);
  });

  it('a batch schedule on one node: every row committed when it answers, in its order; keys hold across nodes and within the batch', async () => {
    const first = await b.schedule('keyed on b', { lane: 'batch-sched', idempotency_key: 'bk-1' });
    assert.equal(first.status, 200, first.text);
    const answer = await a.send('/schedule', {
      jobs: [
        { message: 's-1', lane: 'batch-sched' },
        { message: 'dup of b', lane: 'batch-sched', idempotency_key: 'bk-1' },
        { message: 's-2', lane: 'batch-sched', idempotency_key: 'bk-2' },
        { message: 's-3', lane: 'batch-sched' },
        { message: 'dup of s-2', lane: 'batch-sched', idempotency_key: 'bk-2' },
        { message: 's-0', lane: 'batch-sched', priority: 0 },
      ],
    });
    assert.equal(answer.status, 200, answer.text);
    const jobs = answer.json.jobs as Array<{ job_num: number; duplicate: boolean }>;
    assert.deepEqual(jobs.map((job) => job.duplicate), [false, true, false, false, true, false]);
    assert.equal(jobs[1]!.job_num, first.json.job_num);
    assert.equal(jobs[4]!.job_num, jobs[2]!.job_num);
    assert.equal(await rowsOfLane('batch-sched'), 5, 'every new job is a row once the batch is answered');
    assert.deepEqual(jobsOf(await c.send('/receive_noblock', { lane: 'batch-sched', count: 10 })).map((job) => job.message), ['s-0', 'keyed on b', 's-1', 's-2', 's-3']);
    const many = await c.send('/schedule', { jobs: Array.from({ length: 1000 }, (_, i) => ({ message: `m-${i}`, lane: 'batch-many' })) });
    assert.equal(many.status, 200, many.text);
    assert.equal(await rowsOfLane('batch-many'), 1000);
    const received: string[] = [];
    for (let got = jobsOf(await a.send('/receive_noblock', { lane: 'batch-many', count: 300 })); got.length > 0; got = jobsOf(await b.send('/receive_noblock', { lane: 'batch-many', count: 300 }))) {
      received.push(...got.map((job) => job.message));
    }
    assert.deepEqual(received, Array.from({ length: 1000 }, (_, i) => `m-${i}`), 'FIFO within the batch');
  });

  it('a batch acknowledged in part: the rest return when their leases run out, and the acked ones are unknown to every node', async () => {
    for (let i = 0; i < 4; i++) await clients[i % 3]!.schedule(`part-${i}`, { lane: 'batch-part' });
    const jobs = jobsOf(await a.send('/receive_noblock', { lane: 'batch-part', count: 4, ack: true, timeout_ms: 300 }));
    assert.deepEqual(jobs.map((job) => job.message), ['part-0', 'part-1', 'part-2', 'part-3']);
    const acked = await b.send('/ack', { ids: [jobs[0]!.id, jobs[2]!.id, 'not-a-lease'] });
    assert.deepEqual(acked.json, { status: 'ok', code: 0, acked: 2, unknown: ['not-a-lease'] });
    await sleep(300 + 2 * 200 + 200);
    assert.deepEqual(jobsOf(await c.send('/receive_noblock', { lane: 'batch-part', count: 10 })).map((job) => job.message), ['part-1', 'part-3']);
    const late = await c.send('/ack', { ids: jobs.map((job) => job.id) });
    assert.deepEqual(late.json, { status: 'ok', code: 0, acked: 0, unknown: jobs.map((job) => job.id) });
    assert.equal(await rowsOfLane('batch-part'), 0);
  });
});

/** The status document's counts (dispenserd's `/`). */
async function status(client: JobsClient): Promise<{ queued_jobs: Record<string, number>; idle_workers: Record<string, number> }> {
  return (await client.send('/', undefined, { method: 'GET' })).json.payload as { queued_jobs: Record<string, number>; idle_workers: Record<string, number> };
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

async function eventuallyZero(count: () => Promise<number>): Promise<void> {
  await eventually(async () => (await count()) === 0, 3000, 'no rows are left');
}
