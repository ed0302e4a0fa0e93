#!/usr/bin/env node
// Which PostgreSQL client the cluster store uses: `pg` (node-postgres) or `postgres` (porsager),
// measured on this machine against a private PostgreSQL 15 (scripts/postgres/private-postgres.sh),
// in alternating rounds (pg, postgres, then postgres, pg, ...):
//   a  group commit: P producers each awaiting its own row; one multi-row INSERT (unnest) per commit
//   b  claim/complete: batched UPDATE ... FOR UPDATE SKIP LOCKED claims and DELETE ... = ANY($1)
//      completes by 4 workers, while producers schedule through group commit (end to end), and
//      draining a preloaded table (claim/complete alone)
//   c  pipelining: K queries in flight on one connection vs one at a time, on loopback and through
//      a proxy that adds a network's round trip
//   d  LISTEN/NOTIFY wake-up latency
//   e  the server restarted (fast shutdown) and killed (SIGKILL) under load: errors, hangs, reconnects
//
//   node bench/cluster/client-choice.js [--rounds 3] [--scenarios a,b,c,d,e] [--jobs 20000]
//        [--producers 64] [--workers 4] [--batch 50] [--rtt-ms 2]
// Prints RESULT lines and a table of medians; writes everything to bench/results/ (git-ignored).
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { CLIENTS } = require('./lib/clients');
const { delayProxy } = require('./lib/delay-proxy');
const { startPrivatePostgres } = require('./lib/private-postgres');
const { COMPLETE, CLAIM, INSERT_ONE, SCHEMA, groupCommitter } = require('./lib/job-sql');
const { flags, median, sleep, summary } = require('./lib/stats');

const options = flags(process.argv.slice(2), {
  rounds: 3,
  scenarios: 'a,b,c,d,e',
  jobs: 20000,
  producers: 64,
  workers: 4,
  batch: 50,
  'rtt-ms': 2,
});
const scenarios = new Set(String(options.scenarios).split(','));
const BODY = JSON.stringify({ kind: 'bench', payload: 'x'.repeat(160) }); // ~200 bytes, as bench/jobs

async function freshTable(server) {
  for (const statement of SCHEMA) server.psql(statement);
  server.psql('CHECKPOINT'); // every round starts without a checkpoint's backlog
}

/** Client CPU (this process) in µs between two calls. */
function cpuMeter() {
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
}

/** P producers schedule `total` rows between them, each awaiting its own before the next. */
async function produce(committer, producers, total) {
  const latencies = [];
  let issued = 0;
  await Promise.all(
    Array.from({ length: producers }, async (_, producer) => {
      while (issued < total) {
        issued++;
        const started = performance.now();
        await committer.schedule(1, producer % 4, BODY);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function groupCommit(openDb, server) {
  await freshTable(server);
  const db = openDb({ connections: 1 });
  await db.query(null, 'SELECT 1', []);
  const committer = groupCommitter(db);
  const cpu = cpuMeter();
  const started = performance.now();
  const latencies = await produce(committer, options.producers, options.jobs);
  const seconds = (performance.now() - started) / 1000;
  const clientMicros = cpu();
  await db.close();
  return {
    rowsPerSecond: Math.round(options.jobs / seconds),
    commits: committer.commitMs.length,
    rowsPerCommit: Math.round(options.jobs / committer.commitMs.length),
    commitMs: summary(committer.commitMs),
    producerMs: summary(latencies),
    clientMicrosPerRow: Math.round(clientMicros / options.jobs),
  };
}

/** W workers claim batches and complete them until `total` jobs are done; wake() nudges idle ones. */
function workers(db, total) {
  let completed = 0;
  let nudge = () => {};
  let nudged = new Promise((resolve) => (nudge = resolve));
  const wake = () => {
    nudge();
    nudged = new Promise((resolve) => (nudge = resolve));
  };
  const claims = [];
  const done = Promise.all(
    Array.from({ length: options.workers }, async (_, worker) => {
      const name = `worker-${worker}`;
      while (completed < total) {
        const rows = await db.query('claim', CLAIM, [name, 1, options.batch]);
        if (rows.length === 0) {
          // nothing ready: wait for the next commit, or poll again soon (jobs held by other workers)
          await Promise.race([nudged, sleep(5)]);
          continue;
        }
        claims.push(rows.length);
        await db.query('complete', COMPLETE, [rows.map((row) => row.id)]);
        completed += rows.length;
        if (completed >= total) wake();
      }
    }),
  );
  return { wake, done, claims };
}

async function claimComplete(openDb, server) {
  // end to end: producers and workers at once, as a broker node runs them
  await freshTable(server);
  const producerDb = openDb({ connections: 1 });
  const workerDb = openDb({ connections: options.workers });
  await Promise.all([producerDb.query(null, 'SELECT 1', []), workerDb.query(null, 'SELECT 1', [])]);
  let pool;
  const committer = groupCommitter(producerDb, () => pool?.wake());
  let cpu = cpuMeter();
  let started = performance.now();
  pool = workers(workerDb, options.jobs);
  const latencies = await produce(committer, options.producers, options.jobs);
  await pool.done;
  const endToEnd = {
    jobsPerSecond: Math.round(options.jobs / ((performance.now() - started) / 1000)),
    rowsPerCommit: Math.round(options.jobs / committer.commitMs.length),
    jobsPerClaim: Math.round(median(pool.claims)),
    scheduleMs: summary(latencies),
    clientMicrosPerJob: Math.round(cpu() / options.jobs),
  };

  // drain: the same jobs preloaded, then claimed and completed alone
  await freshTable(server);
  server.psql(`INSERT INTO bench_jobs (lane, priority, body) SELECT 1, g % 4, '${BODY}' FROM generate_series(1, ${options.jobs}) g`);
  server.psql('VACUUM ANALYZE bench_jobs');
  cpu = cpuMeter();
  started = performance.now();
  pool = workers(workerDb, options.jobs);
  await pool.done;
  const drain = {
    jobsPerSecond: Math.round(options.jobs / ((performance.now() - started) / 1000)),
    clientMicrosPerJob: Math.round(cpu() / options.jobs),
  };
  await Promise.all([producerDb.close(), workerDb.close()]);
  return { endToEnd, drain };
}

/** Queries per second with `inFlight` queries outstanding at all times on `db`. */
async function rate(db, name, text, params, count, inFlight) {
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (issued < count) {
        issued++;
        await db.query(name, text, params());
      }
    }),
  );
  return Math.round(count / ((performance.now() - started) / 1000));
}

async function pipelining(openDb, server, url) {
  await freshTable(server);
  const select = ['select_one', 'SELECT $1::int AS x', () => [7]];
  const insert = ['insert_one', INSERT_ONE, () => [1, 0, BODY]];
  const one = openDb({ connections: 1, url });
  await one.query(null, 'SELECT 1', []);
  const result = {
    selectSequential: await rate(one, ...select, 4000, 1),
    selectPipelined16: await rate(one, ...select, 4000, 16),
    commitSequential: await rate(one, ...insert, 1000, 1),
    commitPipelined16: await rate(one, ...insert, 1000, 16),
  };
  await one.close();
  const proxy = await delayProxy(url, options['rtt-ms'] / 2);
  const far = openDb({ connections: 1, url: proxy.url });
  await far.query(null, 'SELECT 1', []);
  result[`selectSequentialRtt${options['rtt-ms']}ms`] = await rate(far, ...select, 300, 1);
  result[`selectPipelined16Rtt${options['rtt-ms']}ms`] = await rate(far, ...select, 1500, 16);
  await far.close();
  await proxy.close();
  return result;
}

async function notifyLatency(openDb) {
  const db = openDb({ connections: 1 });
  const sent = new Map();
  const latencies = [];
  await db.listen('bench_wake', (payload) => {
    const at = sent.get(payload);
    if (at !== undefined) latencies.push(performance.now() - at);
  });
  const count = 500;
  for (let i = 0; i < count; i++) {
    sent.set(String(i), performance.now());
    await db.query('notify', 'SELECT pg_notify($1, $2)', ['bench_wake', String(i)]);
    await sleep(1);
  }
  await sleep(200);
  await db.close();
  return { wakeMs: summary(latencies), lost: count - latencies.length };
}

/**
 * Under a steady single-row INSERT load (8 loops on 4 connections) the server goes away (`how`:
 * down = fast shutdown, kill = SIGKILL of every server process, pause = SIGSTOP, as a frozen server
 * or a network black hole: connections stay open and nothing answers) for `outageMs`, then comes back.
 */
async function outage(openDb, server, how, outageMs = 2000) {
  const step = (what) => process.stderr.write(`# outage ${how}: ${what}\n`);
  await freshTable(server);
  const db = openDb({ connections: 4 });
  const notified = [];
  await db.listen('bench_restart', (payload) => notified.push(payload));
  step('listening');
  const ops = [];
  const unhandled = [];
  const onUnhandled = (error) => unhandled.push(String(error?.message ?? error));
  process.on('unhandledRejection', onUnhandled);
  let running = true;
  const loops = Array.from({ length: 8 }, async () => {
    while (running) {
      const started = performance.now();
      try {
        await db.query('insert_one', INSERT_ONE, [1, 0, BODY]);
        ops.push({ started, ended: performance.now(), ok: true });
      } catch (error) {
        ops.push({ started, ended: performance.now(), ok: false, code: error.code ?? error.errno ?? '-', message: String(error.message).slice(0, 100) });
        await sleep(10); // a broker would answer 503 here; do not spin
      }
    }
  });
  await sleep(1500);
  const downAt = performance.now();
  await (how === 'kill' ? server.kill() : how === 'pause' ? server.pause() : server.down());
  const downDone = performance.now();
  await sleep(outageMs);
  const upAt = performance.now();
  await (how === 'pause' ? server.resume() : server.up());
  const upDone = performance.now();
  step('server back');
  // a notification every 250 ms for 5 s: when does the LISTEN connection hear again?
  for (let elapsed = 0; elapsed < 5000; elapsed += 250) {
    await server.psqlAsync(`SELECT pg_notify('bench_restart', '${Math.round(performance.now() - upDone)}')`).catch(() => {});
    await sleep(250);
  }
  running = false;
  step('stopping the load');
  const stuck = await Promise.race([Promise.all(loops).then(() => false), sleep(10000).then(() => true)]);
  process.off('unhandledRejection', onUnhandled);
  const failures = ops.filter((op) => !op.ok);
  const errorKinds = {};
  for (const op of failures) errorKinds[`${op.code} ${op.message}`] = (errorKinds[`${op.code} ${op.message}`] ?? 0) + 1;
  const firstOkAfterUp = ops.filter((op) => op.ok && op.started >= upDone - 1).map((op) => op.ended).sort((x, y) => x - y)[0];
  const longestFailure = Math.max(0, ...failures.map((op) => op.ended - op.started));
  const longestDuringOutage = Math.max(0, ...ops.filter((op) => op.started >= downAt && op.started < upDone).map((op) => op.ended - op.started));
  const eventKinds = {};
  for (const event of db.events) eventKinds[`${event.source}: ${event.code} ${event.message}`] = (eventKinds[`${event.source}: ${event.code} ${event.message}`] ?? 0) + 1;
  await Promise.race([db.close().catch(() => {}), sleep(3000)]);
  return {
    how,
    serverDownMs: Math.round(downDone - downAt),
    serverUpMs: Math.round(upDone - upAt),
    okBefore: ops.filter((op) => op.ok && op.ended < downAt).length,
    failed: failures.length,
    longestFailureMs: Math.round(longestFailure),
    longestOpStartedDuringOutageMs: Math.round(longestDuringOutage),
    firstOkAfterUpMs: firstOkAfterUp === undefined ? 'never' : Math.round(firstOkAfterUp - upDone),
    okAfterUp: ops.filter((op) => op.ok && op.started >= upDone).length,
    listenerBackAfterUpMs: notified.length === 0 ? 'not within 5 s' : Number(notified[0]),
    loopsStuck: stuck,
    unhandledRejections: unhandled,
    errorKinds,
    eventKinds,
  };
}

async function main() {
  // the process outlives whatever the clients hold while they wait out an outage (one run ended
  // silently during the outages; the cause was not found)
  const keepAlive = setInterval(() => {}, 1000);
  const server = startPrivatePostgres();
  console.log(`# private PostgreSQL at ${server.url} (${server.psql('SHOW server_version')}, fsync ${server.psql('SHOW fsync')})`);
  const results = [];
  const record = (client, scenario, round, figures) => {
    const entry = { client, scenario, round, ...figures };
    results.push(entry);
    console.log(`RESULT ${JSON.stringify(entry)}`);
  };
  const names = Object.keys(CLIENTS);
  const opener = (name, tuning = {}) => ({ connections, url = server.url }) => CLIENTS[name](url, { connections, ...tuning });
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const order = round % 2 === 1 ? names : [...names].reverse();
      for (const name of order) {
        const open = opener(name);
        if (scenarios.has('a')) record(name, 'a group commit', round, await groupCommit(open, server));
        if (scenarios.has('b')) record(name, 'b claim/complete', round, await claimComplete(open, server));
        if (scenarios.has('c')) record(name, 'c pipelining', round, await pipelining(open, server, server.url));
        if (scenarios.has('d')) record(name, 'd notify', round, await notifyLatency(open));
      }
    }
    if (scenarios.has('e')) {
      // each also tuned: postgres with a constant reconnect backoff (its default grows to 20 s),
      // pg with connection and query timeouts (its default waits forever): see lib/clients.js
      const variants = [
        ['pg', opener('pg')],
        ['pg (timeouts 1000 ms)', opener('pg', { timeoutMs: 1000 })],
        ['postgres', opener('postgres')],
        ['postgres (backoff 0.1 s)', opener('postgres', { backoffSeconds: 0.1 })],
      ];
      for (const [name, open] of variants) {
        for (const how of ['down', 'kill', 'pause']) record(name, 'e outage', 1, await outage(open, server, how));
      }
    }
  } finally {
    server.stop();
    clearInterval(keepAlive);
  }
  printMedians(results);
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-client-choice-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options, results }, null, 2));
  console.log(`# raw results: ${file}`);
}

/**
 * One line per figure: each client's median over rounds, and the median of the per-round ratios
 * pg/postgres (the two ran back to back in a round, so a ratio is less exposed to a machine whose
 * load changes from minute to minute than the medians are).
 */
function printMedians(results) {
  const figures = new Map(); // figure -> round -> client -> value
  const walk = (prefix, value, client, round) => {
    if (typeof value === 'number') {
      if (!figures.has(prefix)) figures.set(prefix, new Map());
      const rounds = figures.get(prefix);
      if (!rounds.has(round)) rounds.set(round, {});
      rounds.get(round)[client] = value;
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [name, inner] of Object.entries(value)) walk(`${prefix}.${name}`, inner, client, round);
    }
  };
  for (const { client, scenario, round, ...figuresOf } of results) {
    if (!scenario.startsWith('e')) walk(scenario, figuresOf, client, round);
  }
  console.log('\n# medians over rounds; last column: median of the per-round ratios pg/postgres');
  console.log(`${'figure'.padEnd(50)}${'pg'.padStart(10)}${'postgres'.padStart(10)}${'pg/postgres'.padStart(13)}`);
  for (const [key, rounds] of figures) {
    if (/\.(n|max|mean)$/.test(key)) continue;
    const values = [...rounds.values()];
    const of = (client) => median(values.map((byClient) => byClient[client]).filter((v) => v !== undefined));
    const ratio = median(values.filter((v) => v.pg !== undefined && v.postgres).map((v) => v.pg / v.postgres));
    console.log(`${key.padEnd(50)}${String(of('pg')).padStart(10)}${String(of('postgres')).padStart(10)}${ratio.toFixed(2).padStart(13)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
