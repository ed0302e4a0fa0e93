#!/usr/bin/env node
// A soak of jobs end to end on one private PostgreSQL 15: throughput, and the size of every table
// and its indexes, over time, so unbounded growth or bloat shows.
//
//   node bench/cluster/soak.js [--minutes 10] [--sample-seconds 15] [--system ours-3]
//        [--producers 50] [--receivers 16] [--workers 4] [--batch 50] [--max-backlog 2000]
//        [--rate 0] [--store postgres|sqlite]
//
// --system is any of jobs.js's (ours-3: 3 nodes; ours-1; graphile-16; pgboss-fetch; ...), in a
// fresh database. Producers schedule one job per call; they pause while more than --max-backlog
// jobs wait (so tables that grow are growing for another reason than a backlog) and, with
// --rate R, keep to R jobs/s. Every --sample-seconds: jobs/s done and scheduled, the backlog,
// PostgreSQL's CPU seconds and WAL per 1,000 jobs of the interval, our nodes' CPU, and per table
// of the database's own schemas (read from the catalog, whatever the tables are called):
// pg_total_relation_size, pg_relation_size (heap), pg_indexes_size, n_live_tup and n_dead_tup
// (pg_stat_user_tables; statistics lag by up to a second or so). After --minutes the producers
// stop, the workers drain, and a last sample shows the tables at rest.
// Prints a line per sample and a table per table (first, after the first minute, last, max); the
// whole series goes to bench/results/cluster-soak-<time>.json, rewritten after every sample.
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { DoorOffError } = require('./lib/broker-nodes');
const { jobSystems } = require('./lib/job-systems');
const { startPrivatePostgres } = require('./lib/private-postgres');
const { flags, sleep } = require('./lib/stats');

const options = flags(process.argv.slice(2), {
  minutes: 10,
  'sample-seconds': 15,
  system: 'ours-3',
  producers: 50,
  receivers: 16,
  workers: 4,
  batch: 50,
  'max-backlog': 2000,
  rate: 0,
  store: 'postgres',
});
const SYSTEMS = jobSystems({ store: options.store, receivers: options.receivers, workers: options.workers, batch: options.batch });
const entry = SYSTEMS[options.system];
if (!entry) throw new Error(`unknown system ${options.system}; known: ${Object.keys(SYSTEMS).join(', ')}`);
const DATABASE = 'soak';

// every table of the database's own schemas, by its catalog name
const TABLES_SQL = `
SELECT json_build_object('database', pg_database_size(current_database()), 'tables', coalesce(json_agg(t ORDER BY t.name), '[]'))
FROM (
  SELECT n.nspname || '.' || c.relname AS name,
         pg_total_relation_size(c.oid) AS total,
         pg_relation_size(c.oid) AS heap,
         pg_indexes_size(c.oid) AS indexes,
         coalesce(s.n_live_tup, 0) AS live,
         coalesce(s.n_dead_tup, 0) AS dead,
         coalesce(s.autovacuum_count, 0) + coalesce(s.vacuum_count, 0) AS vacuums
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
) t`;

const mib = (bytes) => (bytes / 1048576).toFixed(2);
const file = join(__dirname, '..', 'results', `cluster-soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);

async function main() {
  const server = startPrivatePostgres();
  console.log(`# private PostgreSQL ${server.psql('SHOW server_version')} at ${server.url}; soak of ${entry.label} for ${options.minutes} min`);
  server.psql(`CREATE DATABASE "${DATABASE}"`);
  const samples = [];
  let system;
  try {
    system = await entry.open(server.url.replace(/\/broker$/, `/${DATABASE}`));
    let handled = 0;
    let issued = 0;
    await system.startWorkers((n) => (handled += n));
    const producers = Array.from({ length: options.producers }, (_, p) => system.producer(p));
    let producing = true;
    const started = performance.now();
    const production = Promise.all(
      producers.map(async (schedule) => {
        while (producing) {
          if (issued - handled > options['max-backlog']) {
            await sleep(5);
            continue;
          }
          if (options.rate > 0) {
            const due = started + (issued / options.rate) * 1000;
            const wait = due - performance.now();
            if (wait > 1) await sleep(wait);
            if (!producing) break;
          }
          await schedule(issued++);
        }
      }),
    );

    let previous = { at: started, handled: 0, issued: 0, dbCpu: server.cpuSeconds(), wal: server.walBytes(), nodeCpu: system.cpuSeconds?.() ?? 0 };
    const sample = async (phase) => {
      const now = performance.now();
      // the psql backends of a sample's own queries fall in the next interval: a few ms of CPU
      const dbCpu = server.cpuSeconds();
      const wal = Number(await server.psqlAsync("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"));
      const nodeCpu = system.cpuSeconds?.() ?? 0;
      const sizes = JSON.parse(await server.psqlAsync(TABLES_SQL, DATABASE));
      const seconds = (now - previous.at) / 1000;
      const done = handled - previous.handled;
      const perThousand = (value) => (done > 0 ? Math.round((value / (done / 1000)) * 1000) / 1000 : null);
      const point = {
        phase,
        seconds: Math.round((now - started) / 100) / 10,
        jobsPerSecond: Math.round(done / seconds),
        scheduledPerSecond: Math.round((issued - previous.issued) / seconds),
        backlog: issued - handled,
        dbCpuSecondsPer1000: perThousand(dbCpu - previous.dbCpu),
        walKiBPer1000: perThousand((wal - previous.wal) / 1024),
        nodeCpuSecondsPer1000: system.cpuSeconds ? perThousand(nodeCpu - previous.nodeCpu) : null,
        databaseBytes: sizes.database,
        tables: sizes.tables,
      };
      previous = { at: now, handled, issued, dbCpu, wal, nodeCpu };
      samples.push(point);
      const sum = (key) => point.tables.reduce((total, table) => total + table[key], 0);
      console.log(
        `${String(point.seconds).padStart(7)} s ${phase.padEnd(6)} ${String(point.jobsPerSecond).padStart(6)} jobs/s  backlog ${String(point.backlog).padStart(5)}  ` +
          `db ${mib(point.databaseBytes).padStart(8)} MiB  tables ${mib(sum('total')).padStart(8)} MiB (heap ${mib(sum('heap'))}, indexes ${mib(sum('indexes'))})  ` +
          `live ${sum('live')} dead ${sum('dead')}  db cpu s/1000 ${point.dbCpuSecondsPer1000 ?? '-'}  WAL KiB/1000 ${point.walKiBPer1000 ?? '-'}` +
          (system.cpuSeconds ? `  node cpu s/1000 ${point.nodeCpuSecondsPer1000 ?? '-'}` : ''),
      );
      mkdirSync(join(__dirname, '..', 'results'), { recursive: true });
      writeFileSync(file, JSON.stringify({ options, label: entry.label, samples }, null, 2));
    };

    console.log(`${'time'.padStart(9)} phase  throughput      backlog     database           our tables (all schemas but PostgreSQL's)`);
    const end = started + options.minutes * 60_000;
    while (performance.now() < end) {
      await sleep(Math.min(options['sample-seconds'] * 1000, Math.max(0, end - performance.now())));
      await sample('load');
    }
    producing = false;
    await production;
    const drainDeadline = performance.now() + 120_000;
    while (handled < issued && performance.now() < drainDeadline) await sleep(20);
    await system.stopWorkers();
    await sleep(1500); // table statistics are sent at most every 0.5 s and after a transaction ends
    await sample('rest');
    if (system.audit) console.log(`# ours: ${JSON.stringify(system.audit())}`);
  } finally {
    await system?.close();
    server.stop();
  }
  report(samples);
  console.log(`# samples: ${file}`);
}

/** Per table: total size first, after the first minute (past the warm-up), at the end of the load, at rest, and its largest; dead tuples. */
function report(samples) {
  const load = samples.filter((s) => s.phase === 'load');
  if (load.length === 0) return;
  const first = load[0];
  const settled = load.find((s) => s.seconds >= 60) ?? first;
  const last = load[load.length - 1];
  const rest = samples.find((s) => s.phase === 'rest');
  const names = [...new Set(samples.flatMap((s) => s.tables.map((t) => t.name)))];
  const size = (s, name, key = 'total') => s?.tables.find((t) => t.name === name)?.[key] ?? 0;
  console.log(`\n# table sizes, MiB (total = heap + indexes + TOAST); dead tuples; ${samples.length} samples`);
  const width = Math.max(24, ...names.map((name) => name.length + 2));
  console.log(
    `${'table'.padEnd(width)}${'first'.padStart(9)}${'@1 min'.padStart(9)}${'end'.padStart(9)}${'rest'.padStart(9)}${'max'.padStart(9)}${'idx end'.padStart(9)}${'dead end'.padStart(10)}${'dead max'.padStart(10)}${'vacuums'.padStart(9)}`,
  );
  for (const name of names) {
    const max = Math.max(...samples.map((s) => size(s, name)));
    if (max === 0 && size(rest, name, 'dead') === 0) continue; // empty and untouched
    console.log(
      `${name.padEnd(width)}${mib(size(first, name)).padStart(9)}${mib(size(settled, name)).padStart(9)}${mib(size(last, name)).padStart(9)}` +
        `${mib(size(rest, name)).padStart(9)}${mib(max).padStart(9)}${mib(size(last, name, 'indexes')).padStart(9)}` +
        `${String(size(last, name, 'dead')).padStart(10)}${String(Math.max(...samples.map((s) => size(s, name, 'dead')))).padStart(10)}${String(size(rest ?? last, name, 'vacuums')).padStart(9)}`,
    );
  }
  const jobs = load.map((s) => s.jobsPerSecond);
  console.log(`# throughput per sample (jobs/s): ${jobs.join(' ')}`);
}

main().catch((error) => {
  if (error instanceof DoorOffError) {
    console.error(`${error.message}\n\nThe job door is still off with STORE=postgres in this build. Now: --system graphile-16 or --system pgboss-fetch.`);
    process.exit(3);
  }
  console.error(error);
  process.exit(1);
});
