#!/usr/bin/env node
// Bytes our broker writes to disk per message, and its receive rate, for one bench/amqp scenario,
// alternating between checkouts (A/B on the same machine in the same run).
//
//   node bench/amqp/store-writes.js --roots /work/wt/base4,. [--scenario p] [--rounds 3] [--seconds 12]
//
// Each round starts a fresh broker from every root in turn (`node <root>/dist/apps/broker/src/main.js`,
// temporary DATA_DIR, STORE_SYNC=full), runs amqp-perf with the scenario's flags and reads
// /proc/<pid>/io `write_bytes` (what the process sent to the block layer: the SQLite WAL, its
// checkpoints) before and after the run. Prints write_bytes per message received, the receive
// rate and the broker's CPU. Not a test: the figures are for comparison only.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const net = require('node:net');

const SCENARIOS = {
  p: '-x 2 -y 2 -q 50 -s 1048576 --persistent --confirm 20',
  j: '-x 2 -y 2 -q 50 -s 102400 --persistent --confirm 20',
  n: '-x 2 -y 2 -q 50 -s 16384 --persistent --confirm 20',
  m: '-x 2 -y 2 -q 50 -s 1024 --persistent --confirm 20',
  k: '-x 1 -y 1 -q 50 -s 1048576',
};

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

const roots = option('roots', '.').split(',').map((root) => resolve(root));
const scenario = option('scenario', 'p');
const rounds = Number(option('rounds', '3'));
const seconds = Number(option('seconds', '12'));
const port = Number(option('port', '5792'));
const perf = process.env.AMQP_PERF ?? '/tmp/amqp-perf/amqp-perf';
if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario ${scenario}: one of ${Object.keys(SCENARIOS).join(', ')}`);

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function writeBytes(pid) {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes: (\d+)$/m.exec(io)[1]);
}

async function waitForPort(child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    const open = await new Promise((done) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error('broker did not open its AMQP port');
}

async function measure(root) {
  const dataDir = mkdtempSync(join(tmpdir(), 'store-writes-'));
  const child = spawn(process.execPath, [join(root, 'dist/apps/broker/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dataDir,
      AMQP_PORT: String(port),
      MANAGEMENT_PORT: '0',
      JOBS_PORT: '0',
      DISPATCH_PORT: '0',
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: "warn",
      // store settings to compare (e.g. STORE_DEFER_LARGE_MS=0) pass through
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('STORE_'))),
      STORE_SYNC: 'full',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForPort(child);
    const before = writeBytes(child.pid);
    const args = [...SCENARIOS[scenario].split(' '), '--uri', `amqp://guest:guest@127.0.0.1:${port}/`, '-z', String(seconds), '--warmup', '0', '--json', '--quiet', '--broker-pid', String(child.pid)];
    let out;
    try {
      out = execFileSync(perf, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    } catch (error) {
      out = error.stdout;
    }
    const written = writeBytes(child.pid) - before;
    const result = JSON.parse(out);
    const brokerPct = result.cpu?.broker_pct_of_one_core ?? 0;
    return {
      received: result.received,
      rate: result.receive_rate,
      bytesPerMessage: written / Math.max(1, result.received),
      brokerCpu: brokerPct,
      cpuMsPerMessage: (brokerPct / 100) * (result.window_s ?? seconds) * 1000 / Math.max(1, result.received_window ?? result.received),
      errors: result.errors ?? [],
    };
  } finally {
    child.kill('SIGKILL');
    await new Promise((done) => (child.exitCode !== null ? done() : child.once('exit', done)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const results = new Map(roots.map((root) => [root, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const root of roots) {
      const result = await measure(root);
      results.get(root).push(result);
      const kb = (result.bytesPerMessage / 1024).toFixed(1);
      console.log(
        `round ${round} ${root}: ${Math.round(result.rate)} msg/s received, ${kb} KB written per message, broker CPU ${Math.round(result.brokerCpu)}% (${result.cpuMsPerMessage.toFixed(2)} ms per message)${result.errors.length ? ` errors: ${result.errors.join('; ')}` : ''}`,
      );
      await sleep(2000);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`\nscenario ${scenario} (${SCENARIOS[scenario]}), ${rounds} rounds x ${seconds} s, medians:`);
  for (const [root, list] of results) {
    console.log(`  ${root}: ${Math.round(median(list.map((r) => r.rate)))} msg/s, ${(median(list.map((r) => r.bytesPerMessage)) / 1024).toFixed(1)} KB written per message, ${median(list.map((r) => r.cpuMsPerMessage)).toFixed(2)} ms broker CPU per message`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
