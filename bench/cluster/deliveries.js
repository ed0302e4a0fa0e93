#!/usr/bin/env node
// Deliveries end to end on N broker nodes (default 3) sharing one private PostgreSQL 15, to a
// local keep-alive sink (lib/delivery-sink.js, a process of its own, as bench/delivery's):
//
//   node bench/cluster/deliveries.js [--rounds 1] [--seconds 20] [--connections 50] [--nodes 3]
//        [--warmup 500] [--drain-seconds 30] [--store postgres|sqlite]
//
// Per round: a fresh database and fresh nodes; --warmup deliveries first (delivered, not timed);
// then --connections keep-alive connections (undici, round robin over the nodes) POST Dispatcher
// requests, each with a fresh UUID that is also its body, for --seconds; every 202 is a durable
// acceptance. Then the bench waits until every accepted UUID has arrived at the sink (or none
// arrived for --drain-seconds) and reports:
//   accepted/s   202 answers per second of the load
//   delivered/s  accepted deliveries that arrived, from the start of the load to the last arrival
//   lost         accepted UUIDs that never arrived (must be 0); duplicates (arrivals beyond the
//                first per UUID) and unexpected arrivals (UUIDs not answered 202), by UUID
//   PostgreSQL's CPU seconds and WAL KiB per 1,000 deliveries (load and drain; after a
//   CHECKPOINT), our node processes' CPU seconds per 1,000
// --store sqlite --nodes 1 runs one node on the default SQLite store (no database figures): a check
// of the harness while the delivery door is off with STORE=postgres. Raw results: bench/results/.
'use strict';
const { spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Client } = require('undici');
const { DoorOffError, startNodes } = require('./lib/broker-nodes');
const { costMeter, startPrivatePostgres } = require('./lib/private-postgres');
const { flags, median, sleep } = require('./lib/stats');

const options = flags(process.argv.slice(2), {
  rounds: 1,
  seconds: 20,
  connections: 50,
  nodes: 3,
  warmup: 500,
  'drain-seconds': 30,
  store: 'postgres',
});
if (options.store === 'sqlite' && options.nodes > 1) throw new Error('--store sqlite runs one node only (each SQLite node holds its own deliveries)');

/** Starts the sink process; resolves to { url, stats(), seen(), stop() }. */
function startSink() {
  const child = spawn(process.execPath, [join(__dirname, 'lib', 'delivery-sink.js'), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the sink exited with ${code}`)));
    child.stdout.once('data', (chunk) => {
      const port = Number(/listening (\d+)/.exec(String(chunk))[1]);
      const base = `http://127.0.0.1:${port}`;
      resolve({
        url: `${base}/in`,
        stats: () => fetch(`${base}/stats`).then((response) => response.json()),
        async seen() {
          const text = await fetch(`${base}/seen`).then((response) => response.text());
          const counts = new Map();
          for (const line of text.split('\n')) {
            if (line === '') continue;
            const [id, count] = line.split(' ');
            counts.set(id, Number(count));
          }
          return counts;
        },
        stop() {
          child.removeAllListeners('exit');
          child.kill('SIGTERM');
        },
      });
    });
  });
}

/** Posts Dispatcher requests on `clients` until `until()` says stop; records each UUID answered 202. */
async function load(clients, sinkUrl, accepted, statuses, until) {
  await Promise.all(
    clients.map(async (client) => {
      while (!until()) {
        const id = randomUUID();
        const body = JSON.stringify({ UUID: id, Url: sinkUrl, Method: 'POST', Body: id, Header: { 'Content-Type': 'text/plain' } });
        try {
          const response = await client.request({ method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body });
          await response.body.text();
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          if (response.statusCode === 202) accepted.add(id);
        } catch (error) {
          statuses[error.code ?? 'error'] = (statuses[error.code ?? 'error'] ?? 0) + 1;
          await sleep(50);
        }
      }
    }),
  );
}

/** Waits until `count` UUIDs arrived at the sink, or none arrived for --drain-seconds. */
async function arrivals(sink, count) {
  let stats = await sink.stats();
  let last = stats.unique;
  let since = performance.now();
  while (stats.unique < count && performance.now() - since < options['drain-seconds'] * 1000) {
    await sleep(100);
    stats = await sink.stats();
    if (stats.unique !== last) {
      last = stats.unique;
      since = performance.now();
    }
  }
  return stats;
}

async function round(server, number) {
  const database = `deliveries_r${number}`;
  if (server) server.psql(`CREATE DATABASE "${database}"`);
  const sink = await startSink();
  const nodes = await startNodes({
    count: options.nodes,
    store: options.store,
    databaseUrl: server?.url.replace(/\/broker$/, `/${database}`),
    doors: ['delivery'],
  });
  const clients = Array.from({ length: options.connections }, (_, c) => new Client(nodes.list[c % nodes.list.length].dispatchUrl, { keepAliveTimeout: 60_000 }));
  try {
    const warmedUp = new Set();
    let sent = 0;
    await load(clients, sink.url, warmedUp, {}, () => sent++ >= options.warmup);
    await arrivals(sink, warmedUp.size);

    server?.psql('CHECKPOINT');
    const cost = server ? costMeter(server) : null;
    const nodeCpu = nodes.cpuSeconds();
    const accepted = new Set();
    const statuses = {};
    const startedEpoch = Date.now();
    const started = performance.now();
    await load(clients, sink.url, accepted, statuses, () => performance.now() - started >= options.seconds * 1000);
    const loadSeconds = (performance.now() - started) / 1000;
    const stats = await arrivals(sink, warmedUp.size + accepted.size);
    const spent = cost?.();
    const measured = accepted.size;

    // by UUID, warm-up included: every accepted one arrived once, nothing else arrived
    const seen = await sink.seen();
    let lost = 0;
    for (const id of accepted) if (!seen.has(id)) lost++;
    for (const id of warmedUp) if (!seen.has(id)) lost++;
    let duplicates = 0;
    let unexpected = 0;
    for (const [id, count] of seen) {
      duplicates += count - 1;
      if (!accepted.has(id) && !warmedUp.has(id)) unexpected++;
    }
    const perThousand = (value) => Math.round((value / (measured / 1000)) * 1000) / 1000;
    return {
      round: number,
      acceptedPerSecond: Math.round(measured / loadSeconds),
      deliveredPerSecond: Math.round([...accepted].filter((id) => seen.has(id)).length / ((stats.last - startedEpoch) / 1000)),
      accepted: measured,
      loadSeconds: Math.round(loadSeconds * 100) / 100,
      // the last arrival after the end of the load (0: delivery kept up with intake)
      drainSeconds: Math.max(0, Math.round(((stats.last - startedEpoch) / 1000 - loadSeconds) * 100) / 100),
      statuses,
      lost,
      duplicates,
      unexpected,
      dbCpuSecondsPer1000: spent ? perThousand(spent.cpuSeconds) : null,
      walKiBPer1000: spent ? Math.round(spent.walBytes / 1024 / (measured / 1000)) : null,
      nodeCpuSecondsPer1000: perThousand(nodes.cpuSeconds() - nodeCpu),
    };
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await nodes.stop();
    sink.stop();
    if (server) server.psql(`DROP DATABASE "${database}" WITH (FORCE)`);
  }
}

async function main() {
  const server = options.store === 'postgres' ? startPrivatePostgres() : null;
  if (server) console.log(`# private PostgreSQL ${server.psql('SHOW server_version')} at ${server.url}, fsync ${server.psql('SHOW fsync')}`);
  const results = [];
  try {
    for (let number = 1; number <= options.rounds; number++) {
      const result = await round(server, number);
      results.push(result);
      console.log(`RESULT ${JSON.stringify(result)}`);
    }
  } finally {
    server?.stop();
  }
  const of = (key) => median(results.map((result) => result[key]).filter((value) => value !== null));
  const sum = (key) => results.reduce((total, result) => total + result[key], 0);
  console.log(`\n# deliveries end to end: ${options.nodes} node(s) (${options.store}), ${options.connections} connections for ${options.seconds} s, one local sink; medians over ${options.rounds} round(s)`);
  console.log(`accepted:    ${of('acceptedPerSecond')}/s (202s; per round ${results.map((r) => r.acceptedPerSecond).join(' ')})`);
  console.log(`delivered:   ${of('deliveredPerSecond')}/s (start of the load to the last arrival; per round ${results.map((r) => r.deliveredPerSecond).join(' ')})`);
  console.log(`lost:        ${sum('lost')}   duplicates: ${sum('duplicates')}   unexpected: ${sum('unexpected')}   answers: ${JSON.stringify(results.map((r) => r.statuses))}`);
  if (server) console.log(`PostgreSQL:  ${of('dbCpuSecondsPer1000')} CPU s and ${of('walKiBPer1000')} WAL KiB per 1,000 deliveries`);
  console.log(`nodes:       ${of('nodeCpuSecondsPer1000')} CPU s per 1,000 deliveries`);
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-deliveries-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options, results }, null, 2));
  console.log(`# raw results: ${file}`);
  if (sum('lost') > 0) process.exitCode = 1;
}

main().catch((error) => {
  if (error instanceof DoorOffError) {
    console.error(`${error.message}\n\nThe delivery door is still off with STORE=postgres in this build. Now: --store sqlite --nodes 1 (the harness).`);
    process.exit(3);
  }
  console.error(error);
  process.exit(1);
});
