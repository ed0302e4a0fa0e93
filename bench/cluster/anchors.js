#!/usr/bin/env node
// The bar for the cluster store's job figures (issue 28): graphile-worker 0.16.6 and pg-boss 10.4
// (the newest that run on Node 20) on the same private PostgreSQL 15, on this machine, each with
// its own workers. Per round, per anchor variant (alternating order between rounds):
//   end to end   P producers schedule N jobs one call each (as P HTTP clients would), while the
//                anchor's workers receive and complete them; time from the first schedule until
//                the database holds no unfinished job
//   schedule     the same N schedules alone
//   work         the workers alone, draining those N jobs
// with PostgreSQL's cost per 1,000 jobs for each phase: CPU seconds of every server process
// (/proc/<pid>/stat, exited children included) and WAL bytes (pg_current_wal_lsn() difference).
//
//   node bench/cluster/anchors.js [--rounds 3] [--jobs 10000] [--producers 50] [--workers 4]
//        [--batch 50] [--variants graphile-4,graphile-16,pgboss-work,pgboss-fetch,sketch]
// `sketch` is not a broker: the raw SQL designed for the cluster store (lib/job-sql.js) through pg,
// with the same producers and workers, for a first idea of the database's cost per job.
// One process runs producers and workers (no HTTP in between). Prints RESULT lines and a table of
// medians; writes everything to bench/results/ (git-ignored).
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { CLAIM, COMPLETE, SCHEMA, groupCommitter } = require('./lib/job-sql');
const { BODY, graphileWorker, pgBoss } = require('./lib/job-systems');
const { costMeter, startPrivatePostgres } = require('./lib/private-postgres');
const { flags, median, sleep } = require('./lib/stats');

const options = flags(process.argv.slice(2), {
  rounds: 3,
  jobs: 10000,
  producers: 50,
  workers: 4,
  batch: 50,
  variants: 'graphile-4,graphile-16,pgboss-work,pgboss-fetch,sketch',
});

/**
 * An anchor under test: open(url) resolves to the shape of lib/job-systems.js
 *   { producer(p) -> schedule(i) -> Promise, startWorkers(onJobs(count)), stopWorkers(), unfinished() -> number, close() }
 * A fresh queue per round keeps rounds from inheriting each other's rows.
 */
const VARIANTS = {
  // graphile-worker 0.16 fetches and completes one job per call (batching came in 0.17, which
  // needs Node 22); its concurrency is the number of jobs in flight, so two settings are measured
  'graphile-4': { label: 'graphile-worker, concurrency 4', open: (url) => graphileWorker(url, { concurrency: 4 }) },
  'graphile-16': { label: 'graphile-worker, concurrency 16', open: (url) => graphileWorker(url, { concurrency: 16 }) },
  // pg-boss's own worker: work() with batches; it waits out its polling interval (0.5 s at least)
  // after every fetch, full or not
  'pgboss-work': { label: `pg-boss work(), ${options.workers} x batch ${options.batch}`, open: (url) => pgBoss(url, { mode: 'work', workers: options.workers, batch: options.batch }) },
  // pg-boss's fetch() and complete() in loops of our own that fetch again at once while there is work
  'pgboss-fetch': { label: `pg-boss fetch/complete loops, ${options.workers} x batch ${options.batch}`, open: (url) => pgBoss(url, { mode: 'fetch', workers: options.workers, batch: options.batch }) },
  sketch: { label: `design sketch (raw SQL, pg), ${options.workers} x batch ${options.batch}`, open: (url) => designSketch(url) },
};

/** Idle workers wait for the next commit (nudge) or a short poll, whichever comes first. */
function nudger() {
  let waiting = [];
  return {
    wait: (ms) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
    nudge() {
      const woken = waiting;
      waiting = [];
      for (const wake of woken) wake();
    },
  };
}

async function designSketch(url) {
  const pg = require('pg');
  const producerPool = new pg.Pool({ connectionString: url, max: 1 }); // one commit in flight
  const workerPool = new pg.Pool({ connectionString: url, max: options.workers });
  for (const pool of [producerPool, workerPool]) pool.on('error', (error) => console.error(`# pg: ${error.message}`));
  const rowsOf = (pool) => (name, text, values) => pool.query({ name, text, values }).then((result) => result.rows);
  const claimRows = rowsOf(workerPool);
  for (const statement of SCHEMA) await producerPool.query(statement); // a fresh table per open
  const idle = nudger();
  const committer = groupCommitter({ query: rowsOf(producerPool) }, () => idle.nudge());
  let running = false;
  let loops = [];
  const schedule = (i) => committer.schedule(1, i % 4, BODY);
  return {
    producer: () => schedule,
    startWorkers(onJobs) {
      running = true;
      loops = Array.from({ length: options.workers }, async (_, worker) => {
        while (running) {
          const rows = await claimRows('claim', CLAIM, [`worker-${worker}`, 1, options.batch]);
          if (rows.length === 0) {
            await idle.wait(5);
            continue;
          }
          await claimRows('complete', COMPLETE, [rows.map((row) => row.id)]);
          onJobs(rows.length);
        }
      });
    },
    async stopWorkers() {
      running = false;
      idle.nudge();
      await Promise.all(loops);
    },
    unfinished: () => producerPool.query('SELECT count(*)::int AS n FROM bench_jobs').then((result) => result.rows[0].n),
    close: () => Promise.all([producerPool.end(), workerPool.end()]),
  };
}

/** P producers, each awaiting its own schedule before the next, until N are scheduled. */
async function produce(anchor) {
  let issued = 0;
  await Promise.all(
    Array.from({ length: options.producers }, async (_, p) => {
      const schedule = anchor.producer(p);
      while (issued < options.jobs) await schedule(issued++);
    }),
  );
}

/**
 * Resolves once the workers have handled `target` jobs (counted in this process) and then the
 * anchor's database holds no unfinished job (completions may trail the handlers). The database is
 * only asked at the end: a count(*) every few ms over a table of thousands of jobs would cost the
 * database more CPU than some anchors spend per job.
 */
async function drained(anchor, handled, target) {
  while (handled() < target) await sleep(5);
  while ((await anchor.unfinished()) > 0) await sleep(10);
}

async function phase(server, run) {
  server.psql('CHECKPOINT'); // no checkpoint backlog carried into the measurement
  const cost = costMeter(server);
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const { cpuSeconds, walBytes } = cost();
  const thousands = options.jobs / 1000;
  return {
    jobsPerSecond: Math.round(options.jobs / seconds),
    dbCpuSecondsPer1000: Math.round((cpuSeconds / thousands) * 1000) / 1000,
    walKiBPer1000: Math.round(walBytes / 1024 / thousands),
  };
}

async function measure(server, url, variant) {
  const result = {};
  let anchor = await variant.open(url);
  let handled = 0;
  const count = (n) => (handled += n);
  result.endToEnd = await phase(server, async () => {
    await anchor.startWorkers(count);
    await produce(anchor);
    await drained(anchor, () => handled, options.jobs);
  });
  await anchor.stopWorkers();
  await anchor.close();
  anchor = await variant.open(url); // a fresh queue for the phases apart
  result.schedule = await phase(server, () => produce(anchor));
  result.work = await phase(server, async () => {
    await anchor.startWorkers(count);
    await drained(anchor, () => handled, 2 * options.jobs);
  });
  await anchor.stopWorkers();
  await anchor.close();
  result.handled = handled;
  return result;
}

async function main() {
  const server = startPrivatePostgres();
  console.log(`# private PostgreSQL ${server.psql('SHOW server_version')} at ${server.url}, fsync ${server.psql('SHOW fsync')}`);
  const names = String(options.variants).split(',');
  const urls = {};
  for (const name of names) {
    server.psql(`CREATE DATABASE "${name}"`); // each anchor in a database of its own
    urls[name] = server.url.replace(/\/broker$/, `/${name}`);
  }
  const results = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 1 ? names : [...names].reverse();
      for (const name of order) {
        const entry = { variant: name, label: VARIANTS[name].label, round, ...(await measure(server, urls[name], VARIANTS[name])) };
        results.push(entry);
        console.log(`RESULT ${JSON.stringify(entry)}`);
      }
    }
  } finally {
    server.stop();
  }
  console.log(`\n# medians over ${options.rounds} rounds: ${options.jobs} jobs, ${options.producers} producers`);
  console.log(`${'variant'.padEnd(48)}${'phase'.padEnd(12)}${'jobs/s'.padStart(8)}${'db cpu s/1000'.padStart(15)}${'WAL KiB/1000'.padStart(14)}`);
  for (const name of names) {
    const mine = results.filter((entry) => entry.variant === name);
    for (const phaseName of ['endToEnd', 'schedule', 'work']) {
      const of = (key) => median(mine.map((entry) => entry[phaseName][key]));
      console.log(
        `${VARIANTS[name].label.padEnd(48)}${phaseName.padEnd(12)}${String(of('jobsPerSecond')).padStart(8)}${String(of('dbCpuSecondsPer1000')).padStart(15)}${String(of('walKiBPer1000')).padStart(14)}`,
      );
    }
  }
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-anchors-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options, results }, null, 2));
  console.log(`# raw results: ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
