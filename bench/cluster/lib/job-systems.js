// The job systems the cluster benches compare, behind one shape, each used its own way:
//   open(url) -> {
//     producer(p) -> schedule(i, n) -> Promise producer p's own way to schedule jobs i..i+n-1 (n > 1: in bulk)
//     startWorkers(onJobs(count))              the system's workers: receive, handle (nothing), complete
//     stopWorkers(), close()
//     unfinished() -> number                   jobs the database still holds unfinished
//     cpuSeconds?() -> number                  CPU of processes outside this one (our nodes)
//     audit?() -> { unique, duplicates, lost } each job index received once? (ours)
//   }
// ours: broker nodes (their own processes) on the database at url, through the job API over HTTP
// (undici, one keep-alive connection per producer and per worker, spread round robin over the
// nodes); graphile-worker and pg-boss: their own clients and workers in this process.
'use strict';
const { Client } = require('undici');
const { startNodes } = require('./broker-nodes');
const { sleep } = require('./stats');

const BODY = 'x'.repeat(160); // with its JSON wrapping ~200 bytes, as bench/jobs
const LANE = 'bench';

async function graphileWorker(url, { concurrency }) {
  const { Logger, makeWorkerUtils, run } = require('graphile-worker');
  const logger = new Logger(() => () => {});
  const utils = await makeWorkerUtils({ connectionString: url, logger });
  await utils.migrate();
  let runner;
  // in bulk: graphile-worker's add_jobs() SQL function (its WorkerUtils add one job per call)
  const specs = (i, n) => JSON.stringify(Array.from({ length: n }, (_, k) => ({ identifier: 'bench', payload: { body: BODY }, priority: (i + k) % 4 })));
  const schedule = (i, n = 1) =>
    n === 1
      ? utils.addJob('bench', { body: BODY }, { priority: i % 4 })
      : utils.withPgClient((client) =>
          client.query('SELECT graphile_worker.add_jobs(array(SELECT json_populate_recordset(null::graphile_worker.job_spec, $1::json)))', [specs(i, n)]),
        );
  return {
    producer: () => schedule,
    async startWorkers(onJobs) {
      runner = await run({
        connectionString: url,
        concurrency,
        noHandleSignals: true,
        logger,
        taskList: { bench: async () => onJobs(1) },
      });
    },
    stopWorkers: () => runner?.stop(),
    unfinished: () => utils.withPgClient((client) => client.query('SELECT count(*)::int AS n FROM graphile_worker.jobs')).then((r) => r.rows[0].n),
    close: () => utils.release(),
  };
}

let pgBossQueues = 0;
/** mode `work`: pg-boss's own work() with batches; `fetch`: its fetch()/complete() in loops of our own. */
async function pgBoss(url, { mode, workers, batch }) {
  const PgBoss = require('pg-boss');
  const boss = new PgBoss({ connectionString: url });
  boss.on('error', (error) => console.error(`# pg-boss error: ${error.message}`));
  await boss.start();
  const queue = `bench_${++pgBossQueues}`;
  await boss.createQueue(queue);
  let running = false;
  let loops = [];
  const schedule = (i, n = 1) =>
    n === 1
      ? boss.send(queue, { body: BODY }, { priority: i % 4 })
      : boss.insert(Array.from({ length: n }, (_, k) => ({ name: queue, data: { body: BODY }, priority: (i + k) % 4 })));
  return {
    producer: () => schedule,
    async startWorkers(onJobs) {
      running = true;
      if (mode === 'work') {
        // it waits out its polling interval (0.5 s at least) after every fetch, full or not
        for (let w = 0; w < workers; w++) {
          await boss.work(queue, { batchSize: batch, pollingIntervalSeconds: 0.5 }, async (jobs) => onJobs(jobs.length));
        }
        return;
      }
      // fetch again at once while there is work
      loops = Array.from({ length: workers }, async () => {
        while (running) {
          const jobs = await boss.fetch(queue, { batchSize: batch });
          if (!jobs || jobs.length === 0) {
            await sleep(5);
            continue;
          }
          await boss.complete(queue, jobs.map((job) => job.id));
          onJobs(jobs.length);
        }
      });
    },
    async stopWorkers() {
      running = false;
      if (mode === 'work') await boss.offWork(queue);
      await Promise.all(loops);
    },
    unfinished: () =>
      boss
        .getDb()
        .executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'`, [queue])
        .then((r) => r.rows[0].n),
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}

/** POSTs a JSON body to the job API; resolves to its JSON answer, throws on a status other than 200. */
async function post(client, path, body) {
  const response = await client.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${path}: HTTP ${response.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/**
 * Our broker: `nodes` node processes on the database at url (STORE=postgres) or each in a SQLite
 * directory of its own (store `sqlite`: one node only, to check the HTTP side). Workers receive
 * with an ack lease (receive_block, ack: true) and acknowledge (/ack): schedule → receive →
 * acknowledge, one job in flight per worker connection; with `batch`, up to that many per receive
 * (`count`), acknowledged in one request (`ids`), as pg-boss's fetch/complete loops do.
 */
async function ours(url, { nodes: count, store, receivers, batch, nodeEnv = {} }) {
  if (store === 'sqlite' && count > 1) throw new Error('ours on SQLite runs one node only (each SQLite node holds its own jobs)');
  const nodes = await startNodes({ count, store, databaseUrl: url, doors: ['jobs'], env: nodeEnv });
  const clients = [];
  const connect = (k) => {
    const client = new Client(nodes.list[k % count].jobsUrl, { keepAliveTimeout: 60_000, pipelining: 1 });
    clients.push(client);
    return client;
  };
  const received = new Map(); // job index -> times received
  const errors = [];
  let scheduled = 0;
  let running = false;
  let loops = [];
  return {
    producer(p) {
      const client = connect(p);
      return async (i, n = 1) => {
        const job = (k) => ({ lane: LANE, message: `${k}:${BODY}`, priority: k % 4 });
        const answer = await post(client, '/schedule', n === 1 ? job(i) : { jobs: Array.from({ length: n }, (_, k) => job(i + k)) });
        if (answer.status !== 'ok' || (n > 1 && answer.jobs?.length !== n)) throw new Error(`/schedule: ${JSON.stringify(answer).slice(0, 200)}`);
        scheduled = Math.max(scheduled, i + n);
      };
    },
    startWorkers(onJobs) {
      running = true;
      const take = (message) => {
        const index = Number(String(message).slice(0, String(message).indexOf(':')));
        received.set(index, (received.get(index) ?? 0) + 1);
      };
      loops = Array.from({ length: receivers }, async (_, w) => {
        const client = connect(w);
        while (running) {
          try {
            // a short wait, so a stop is noticed soon; a lease far longer than any round
            if (batch === undefined) {
              const job = await post(client, '/receive_block', { lane: LANE, ack: true, timeout_ms: 600_000, wait_ms: 250 });
              if (job.code === 2) continue; // empty queue
              if (job.status !== 'ok' || typeof job.id !== 'string') throw new Error(`/receive_block: ${JSON.stringify(job).slice(0, 200)}`);
              take(job.message);
              await post(client, '/ack', { id: job.id });
              onJobs(1);
              continue;
            }
            // the batch verbs: up to `batch` jobs per receive, acknowledged in one request
            const answer = await post(client, '/receive_block', { lane: LANE, ack: true, timeout_ms: 600_000, wait_ms: 250, count: batch });
            if (answer.status !== 'ok' || !Array.isArray(answer.jobs)) throw new Error(`/receive_block: ${JSON.stringify(answer).slice(0, 200)}`);
            if (answer.jobs.length === 0) continue;
            for (const job of answer.jobs) take(job.message);
            const acked = await post(client, '/ack', { ids: answer.jobs.map((job) => job.id) });
            if (acked.acked !== answer.jobs.length) throw new Error(`/ack: ${JSON.stringify(acked).slice(0, 200)}`);
            onJobs(answer.jobs.length);
          } catch (error) {
            // counted and shown; the round's stall timeout ends a round that cannot finish
            if (errors.length < 20) console.error(`# ours: ${error.message}`);
            errors.push(error.message);
            await sleep(100);
          }
        }
      });
    },
    async stopWorkers() {
      running = false;
      await Promise.all(loops);
    },
    // an /ack answered 200 is settled (the job API's contract): counted acks are finished jobs
    unfinished: async () => 0,
    cpuSeconds: () => nodes.cpuSeconds(),
    audit() {
      let duplicates = 0;
      for (const times of received.values()) duplicates += times - 1;
      let lost = 0;
      for (let i = 0; i < scheduled; i++) if (!received.has(i)) lost++;
      return { scheduled, unique: received.size, duplicates, lost, errors: errors.length };
    },
    async close() {
      running = false;
      await Promise.all(loops.map((loop) => loop.catch(() => {})));
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      await nodes.stop();
    },
  };
}

/**
 * The systems by name. settings: store (ours: postgres or sqlite), receivers (ours: worker
 * connections, one job in flight each), workers and batch (pg-boss's workers and their batch; ours-N-batch too).
 */
function jobSystems(settings) {
  const { receivers, workers, batch, store, nodeEnv } = settings;
  const oursOn = (nodes) => ({
    label: `ours, ${nodes} node${nodes > 1 ? 's' : ''} (${store}), ${receivers} receivers`,
    ours: true,
    open: (url) => ours(url, { nodes, store, receivers, nodeEnv }),
  });
  const oursBatched = (nodes) => ({
    label: `ours, ${nodes} node${nodes > 1 ? 's' : ''} (${store}), ${workers} x batch ${batch}`,
    ours: true,
    open: (url) => ours(url, { nodes, store, receivers: workers, batch, nodeEnv }),
  });
  return {
    'ours-1': oursOn(1),
    'ours-3': oursOn(3),
    // the job API's batch verbs with pg-boss's concurrency: workers x batch jobs in flight
    'ours-1-batch': oursBatched(1),
    'ours-3-batch': oursBatched(3),
    // graphile-worker 0.16 fetches and completes one job per call; concurrency = jobs in flight
    'graphile-4': { label: 'graphile-worker, concurrency 4', open: (url) => graphileWorker(url, { concurrency: 4 }) },
    'graphile-16': { label: 'graphile-worker, concurrency 16', open: (url) => graphileWorker(url, { concurrency: 16 }) },
    'pgboss-work': { label: `pg-boss work(), ${workers} x batch ${batch}`, open: (url) => pgBoss(url, { mode: 'work', workers, batch }) },
    'pgboss-fetch': { label: `pg-boss fetch/complete loops, ${workers} x batch ${batch}`, open: (url) => pgBoss(url, { mode: 'fetch', workers, batch }) },
  };
}

module.exports = { BODY, jobSystems, graphileWorker, pgBoss };
