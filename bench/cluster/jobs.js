#!/usr/bin/env node
// Jobs end to end (schedule → receive → acknowledge) on one private PostgreSQL 15, issue 28's
// first figure: ours on 1 node and on 3 nodes against graphile-worker and pg-boss, in alternating
// rounds (A B C D, A B C D, ...), each system in a fresh database per round.
//
//   node bench/cluster/jobs.js [--rounds 3] [--jobs 10000] [--warmup 1000] [--producers 50]
//        [--receivers 16] [--workers 4] [--batch 50] [--schedule-batch 1] [--stall-seconds 60]
//        [--store postgres|sqlite] [--systems ours-1,ours-3,graphile-16,pgboss-fetch]
//
// Each round and system: open it (ours: start the nodes, STORE=postgres on that database), start
// its workers, run a warm-up of --warmup jobs, CHECKPOINT, then time --jobs jobs: P producers each
// schedule one job per call and await it, while the workers receive and complete them, until every
// one is done. Concurrency: 50 producers for all; jobs in flight 16 for ours (--receivers: HTTP
// connections that each receive with an ack lease and acknowledge) and for graphile-worker
// (concurrency 16), 4 workers x batches of 50 for pg-boss (its fetch()/complete() in loops that
// fetch again at once: its own work() waits out a 0.5 s polling interval after every fetch, see
// README). --schedule-batch N > 1: each call schedules N jobs, every system its own bulk way (ours:
// /schedule {"jobs": [...]}; pg-boss: insert([...]); graphile-worker: its add_jobs() SQL function).
// Ours: every producer and receiver is one keep-alive connection (undici) to one node,
// round robin over the nodes, so a job is usually received on a node other than the one that took it.
//
// Per round and system: jobs/s; PostgreSQL's cost per 1,000 jobs (CPU seconds of the postmaster and
// all its processes, from /proc; WAL bytes from pg_current_wal_lsn(), the interval starting right
// after a CHECKPOINT, so WAL includes full-page images: an upper figure); CPU seconds per 1,000
// jobs of our node processes and of this process (producers, HTTP clients; the anchors' workers).
// Then medians, and per-round ratios ours/graphile-worker and ours/pg-boss (goal: >= 1.0 and >= 3.0).
//
// --store sqlite runs ours-1 on the default SQLite store (no database figures for it): a check of
// the HTTP side while the job door is off with STORE=postgres. Raw results go to bench/results/.
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { DoorOffError } = require('./lib/broker-nodes');
const { jobSystems } = require('./lib/job-systems');
const { costMeter, startPrivatePostgres } = require('./lib/private-postgres');
const { flags, median, sleep } = require('./lib/stats');

const options = flags(process.argv.slice(2), {
  rounds: 3,
  jobs: 10000,
  warmup: 1000,
  producers: 50,
  receivers: 16,
  workers: 4,
  batch: 50,
  'schedule-batch': 1,
  'stall-seconds': 60,
  store: 'postgres',
  systems: 'ours-1,ours-3,graphile-16,pgboss-fetch',
});
const SYSTEMS = jobSystems({ store: options.store, receivers: options.receivers, workers: options.workers, batch: options.batch });
const names = String(options.systems).split(',');
for (const name of names) if (!SYSTEMS[name]) throw new Error(`unknown system ${name}; known: ${Object.keys(SYSTEMS).join(', ')}`);

/** Producers schedule jobs from..to-1 (shared counter), one call at a time, --schedule-batch jobs per call. */
async function produce(producers, from, to) {
  const per = options['schedule-batch'];
  let next = from;
  await Promise.all(
    producers.map(async (schedule) => {
      while (next < to) {
        const first = next;
        const count = Math.min(per, to - first);
        next += count;
        await schedule(first, count);
      }
    }),
  );
}

/**
 * Resolves once the workers have handled `target` jobs and the database holds no unfinished one
 * (asked only at the end: a count every few ms would cost the database more than some systems
 * spend per job). Throws when no job was handled for --stall-seconds.
 */
async function drained(system, handled, target) {
  let last = handled();
  let since = performance.now();
  while (handled() < target) {
    await sleep(5);
    if (handled() !== last) {
      last = handled();
      since = performance.now();
    } else if (performance.now() - since > options['stall-seconds'] * 1000) {
      throw new Error(`stalled: ${last} of ${target} jobs handled, none in the last ${options['stall-seconds']} s`);
    }
  }
  while ((await system.unfinished()) > 0) await sleep(10);
}

const perThousand = (value, jobs) => Math.round((value / (jobs / 1000)) * 1000) / 1000;

async function measure(server, url, entry) {
  const system = await entry.open(url);
  try {
    let handled = 0;
    await system.startWorkers((n) => (handled += n));
    const producers = Array.from({ length: options.producers }, (_, p) => system.producer(p));
    if (options.warmup > 0) {
      await produce(producers, 0, options.warmup);
      await drained(system, () => handled, options.warmup);
    }
    server.psql('CHECKPOINT'); // no checkpoint backlog carried into the measurement
    const cost = costMeter(server);
    const nodeCpu = system.cpuSeconds?.() ?? 0;
    const ownCpu = process.cpuUsage();
    const started = performance.now();
    await produce(producers, options.warmup, options.warmup + options.jobs);
    await drained(system, () => handled, options.warmup + options.jobs);
    const seconds = (performance.now() - started) / 1000;
    const { cpuSeconds, walBytes } = cost();
    const own = process.cpuUsage(ownCpu);
    const result = {
      jobsPerSecond: Math.round(options.jobs / seconds),
      seconds: Math.round(seconds * 100) / 100,
      dbCpuSecondsPer1000: perThousand(cpuSeconds, options.jobs),
      walKiBPer1000: Math.round(walBytes / 1024 / (options.jobs / 1000)),
      nodeCpuSecondsPer1000: system.cpuSeconds ? perThousand(system.cpuSeconds() - nodeCpu, options.jobs) : null,
      benchCpuSecondsPer1000: perThousand((own.user + own.system) / 1e6, options.jobs),
    };
    await system.stopWorkers();
    if (system.audit) result.audit = system.audit();
    return result;
  } finally {
    await system.close();
  }
}

const pad = (value, width) => String(value ?? '-').padStart(width);

function report(results) {
  const per = options['schedule-batch'];
  console.log(`\n# ${options.jobs} jobs per round (after ${options.warmup} warm-up), ${options.producers} producers scheduling ${per === 1 ? 'one job' : `${per} jobs`} per call; medians over ${options.rounds} rounds`);
  console.log(`${'system'.padEnd(46)}${pad('jobs/s', 8)}  ${'per round'.padEnd(24)}${pad('db cpu s/1000', 14)}${pad('WAL KiB/1000', 13)}${pad('node cpu s/1000', 16)}${pad('bench cpu s/1000', 17)}`);
  for (const name of names) {
    const mine = results.filter((entry) => entry.system === name);
    const of = (key) => median(mine.map((entry) => entry[key]).filter((value) => value !== null));
    const noDatabase = SYSTEMS[name].ours && options.store !== 'postgres';
    console.log(
      `${SYSTEMS[name].label.padEnd(46)}${pad(of('jobsPerSecond'), 8)}  ${mine.map((entry) => entry.jobsPerSecond).join(' ').padEnd(24)}` +
        `${pad(noDatabase ? '-' : of('dbCpuSecondsPer1000'), 14)}${pad(noDatabase ? '-' : of('walKiBPer1000'), 13)}` +
        `${pad(SYSTEMS[name].ours ? of('nodeCpuSecondsPer1000') : '-', 16)}${pad(of('benchCpuSecondsPer1000'), 17)}`,
    );
  }
  const audits = results.filter((entry) => entry.audit);
  if (audits.length > 0) {
    const sum = (key) => audits.reduce((total, entry) => total + entry.audit[key], 0);
    console.log(`# ours, all rounds: ${sum('unique')} jobs received of ${sum('scheduled')} scheduled, ${sum('lost')} lost, ${sum('duplicates')} duplicates, ${sum('errors')} errors`);
  }
  const ratios = [];
  for (const oursName of names.filter((name) => SYSTEMS[name].ours)) {
    for (const anchor of names.filter((name) => !SYSTEMS[name].ours)) {
      const goal = anchor.startsWith('graphile') ? 1 : anchor.startsWith('pgboss') ? 3 : null;
      const perRound = [];
      for (let round = 1; round <= options.rounds; round++) {
        const a = results.find((entry) => entry.system === oursName && entry.round === round);
        const b = results.find((entry) => entry.system === anchor && entry.round === round);
        if (a && b) perRound.push(Math.round((a.jobsPerSecond / b.jobsPerSecond) * 100) / 100);
      }
      const mid = median(perRound);
      ratios.push({ ours: oursName, anchor, perRound, median: mid, goal });
      console.log(
        `ratio ${oursName}/${anchor}: median ${mid} (per round ${perRound.join(' ')})` +
          (goal === null ? '' : `, goal >= ${goal}: ${mid >= goal ? 'met' : 'NOT met'}`) +
          (options.store === 'postgres' ? '' : ` (ours on ${options.store}: not issue 28's figure)`),
      );
    }
  }
  return ratios;
}

async function main() {
  const server = startPrivatePostgres();
  console.log(`# private PostgreSQL ${server.psql('SHOW server_version')} at ${server.url}, fsync ${server.psql('SHOW fsync')}, ours on ${options.store}`);
  const results = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const name of names) {
        const database = `jobs_${name.replace(/[^a-z0-9]/g, '_')}_r${round}`;
        server.psql(`CREATE DATABASE "${database}"`);
        const url = server.url.replace(/\/broker$/, `/${database}`);
        const entry = { system: name, label: SYSTEMS[name].label, round, ...(await measure(server, url, SYSTEMS[name])) };
        server.psql(`DROP DATABASE "${database}" WITH (FORCE)`);
        results.push(entry);
        console.log(`RESULT ${JSON.stringify(entry)}`);
      }
    }
  } finally {
    server.stop();
  }
  const ratios = report(results);
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-jobs-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options, results, ratios }, null, 2));
  console.log(`# raw results: ${file}`);
}

main().catch((error) => {
  if (error instanceof DoorOffError) {
    console.error(`${error.message}\n\nThe job door is still off with STORE=postgres in this build. Now: --systems graphile-16,pgboss-fetch (anchors), or --store sqlite --systems ours-1 (the HTTP side).`);
    process.exit(3);
  }
  console.error(error);
  process.exit(1);
});
