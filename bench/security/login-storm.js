#!/usr/bin/env node
// Password guessing against the management port while an operator's health probe runs:
// `loops` clients send wrong-password requests back to back for `seconds`; meanwhile GET /healthz
// is timed every 50 ms. Also times one unknown-user and one wrong-password refusal (user
// enumeration by timing). Starts the broker of the tree it is run from (dist/), on free ports.
//   node bench/security/login-storm.js [--loops 3] [--seconds 8]
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const net = require('node:net');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const LOOPS = flag('loops', 3);
const SECONDS = flag('seconds', 8);

const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'login-storm-'));
  const [amqp, jobs, dispatch, management] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const child = spawn(process.execPath, ['dist/apps/broker/src/main.js'], {
    env: { PATH: process.env.PATH, DATA_DIR: join(dir, 'data'), AMQP_PORT: amqp, JOBS_PORT: jobs, DISPATCH_PORT: dispatch, MANAGEMENT_PORT: management, BIND_HOST: '127.0.0.1', LOG_LEVEL: 'error', AUTH_FAILURE_LIMIT: '0' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${management}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        // not yet
      }
      if (i > 200) throw new Error('the broker did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const timed = async (user, password) => {
      const started = performance.now();
      await (await fetch(`${base}/api/overview`, { headers: { authorization: basic(user, password) } })).text();
      return performance.now() - started;
    };
    const unknown = [];
    const wrong = [];
    for (let i = 0; i < 5; i++) {
      unknown.push(await timed('nobody', 'x'));
      wrong.push(await timed('guest', 'wrong'));
    }
    const deadline = Date.now() + SECONDS * 1000;
    let attempts = 0;
    const guess = async () => {
      while (Date.now() < deadline) {
        await timed('guest', `guess-${attempts++}`);
      }
    };
    const probes = [];
    const probe = async () => {
      while (Date.now() < deadline) {
        const started = performance.now();
        await (await fetch(`${base}/healthz`)).text();
        probes.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await Promise.all([...Array.from({ length: LOOPS }, guess), probe()]);
    console.log(`wrong-password loops: ${LOOPS} for ${SECONDS} s, ${attempts} guesses (${(attempts / SECONDS).toFixed(0)}/s)`);
    console.log(`/healthz during the storm: median ${median(probes).toFixed(1)} ms, p99 ${pct(probes, 0.99).toFixed(1)} ms (${probes.length} probes)`);
    console.log(`refusal time, unknown user: median ${median(unknown).toFixed(1)} ms; wrong password: median ${median(wrong).toFixed(1)} ms`);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
