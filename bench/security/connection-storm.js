#!/usr/bin/env node
// Connection storm: N AMQP connects (full handshake: login, tune, open) fired within one second,
// while established connections keep doing publish/get round trips. Measured on our broker and,
// in the same run, on RabbitMQ (alternating rounds). Figures, not a test:
//   npm run build && node bench/security/connection-storm.js [--connects 5000] [--rounds 3]
//   RABBIT_URI=amqp://guest:guest@127.0.0.1:5673/  (default; skipped when nothing listens there)
//   OURS_URI=amqp://...  use a running broker instead of starting one
'use strict';
const { spawn, fork } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const amqp = require('amqplib');

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};

// ---- the storm, in a child process so its CPU does not delay the probe's own timers ----------
if (process.argv[2] === '--storm-child') {
  const [, , , uri, count, spreadMs] = process.argv;
  (async () => {
    const total = Number(count);
    const opened = [];
    let failed = 0;
    const errors = new Map();
    const started = Date.now();
    const attempts = [];
    const perTick = Math.max(1, Math.ceil(total / (Number(spreadMs) / 10)));
    for (let i = 0; i < total; i += perTick) {
      for (let j = i; j < Math.min(total, i + perTick); j++) {
        attempts.push(
          amqp.connect(uri, { timeout: 30_000, noDelay: true }).then(
            (connection) => {
              connection.on('error', () => undefined);
              opened.push(connection);
            },
            (error) => {
              failed++;
              const key = String(error.code ?? error.message).slice(0, 80);
              errors.set(key, (errors.get(key) ?? 0) + 1);
            },
          ),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const firedMs = Date.now() - started;
    await Promise.all(attempts);
    const allOpenMs = Date.now() - started;
    process.send({ opened: opened.length, failed, errors: Object.fromEntries(errors), firedMs, allOpenMs });
    await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
    process.exit(0);
  })().catch((error) => {
    process.send({ crashed: String(error) });
    process.exit(1);
  });
  return;
}

const CONNECTS = Number(arg('--connects', 5000));
const ROUNDS = Number(arg('--rounds', 3));
const SPREAD_MS = Number(arg('--spread-ms', 1000));
const PROBES = 4;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Established connections doing publish → get round trips, one at a time each. */
async function startProbes(uri) {
  const connections = [];
  const samples = [];
  let stalledMs = 0;
  let running = true;
  const probeErrors = [];
  const loops = [];
  for (let i = 0; i < PROBES; i++) {
    const connection = await amqp.connect(uri, { noDelay: true });
    connection.on('error', (error) => {
      probeErrors.push(String(error.message));
      running = false;
    });
    connections.push(connection);
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    loops.push(
      (async () => {
        while (running) {
          const t0 = performance.now();
          channel.sendToQueue(queue, Buffer.from('probe'));
          let got = false;
          while (got === false && running) {
            got = await channel.get(queue, { noAck: true });
          }
          const ms = performance.now() - t0;
          samples.push({ at: Date.now(), ms });
          if (ms > 1000) stalledMs += ms;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })(),
    );
  }
  return {
    samples,
    errors: probeErrors,
    stalled: () => stalledMs,
    stop: async () => {
      running = false;
      await Promise.allSettled(loops);
      await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    },
  };
}

function summarise(samples, from, to) {
  const window = samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.ms).sort((a, b) => a - b);
  return { n: window.length, p50: percentile(window, 50), p99: percentile(window, 99), max: window[window.length - 1] ?? NaN };
}

async function oneRound(name, uri) {
  const probes = await startProbes(uri);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const stormStart = Date.now();
  const child = fork(__filename, ['--storm-child', uri, String(CONNECTS), String(SPREAD_MS)], { stdio: 'inherit' });
  const result = await new Promise((resolve) => child.once('message', resolve));
  const stormEnd = Date.now();
  await new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await probes.stop();
  const before = summarise(probes.samples, stormStart - 2000, stormStart);
  const during = summarise(probes.samples, stormStart, stormEnd);
  return { name, ...result, stormMs: stormEnd - stormStart, before, during, probeErrors: probes.errors };
}

async function waitForAmqp(uri, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const c = await amqp.connect(uri);
      await c.close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return false;
}

async function main() {
  let ours = process.env.OURS_URI;
  let broker;
  let data;
  if (!ours) {
    data = mkdtempSync(join(tmpdir(), 'storm-bench-'));
    const port = 18772;
    broker = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'apps', 'broker', 'src', 'main.js')], {
      env: { ...process.env, DATA_DIR: data, AMQP_PORT: String(port), MANAGEMENT_PORT: '0', JOBS_PORT: '0', DISPATCH_PORT: '0', BIND_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: 'inherit',
    });
    ours = `amqp://guest:guest@127.0.0.1:${port}/`;
    if (!(await waitForAmqp(ours, 30_000))) throw new Error('our broker did not start');
  }
  const rabbit = process.env.RABBIT_URI ?? 'amqp://guest:guest@127.0.0.1:5673/';
  const haveRabbit = await waitForAmqp(rabbit, 2000);
  if (!haveRabbit) console.log(`no RabbitMQ at ${rabbit}: measuring ours only`);
  const results = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // alternate who goes first
      const order = haveRabbit ? (round % 2 === 1 ? [['ours', ours], ['rabbitmq', rabbit]] : [['rabbitmq', rabbit], ['ours', ours]]) : [['ours', ours]];
      for (const [name, uri] of order) {
        const result = await oneRound(name, uri);
        results.push({ round, ...result });
        const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
        console.log(
          `round ${round} ${name.padEnd(8)} opened ${result.opened}/${CONNECTS} (failed ${result.failed}) in ${result.allOpenMs} ms; ` +
            `probe round trip before p50 ${f(result.before.p50)} p99 ${f(result.before.p99)} ms | during p50 ${f(result.during.p50)} p99 ${f(result.during.p99)} max ${f(result.during.max)} ms (${result.during.n} samples)` +
            (result.failed > 0 ? ` errors ${JSON.stringify(result.errors)}` : '') +
            (result.probeErrors.length > 0 ? ` ESTABLISHED CONNECTIONS LOST: ${result.probeErrors.join('; ')}` : ''),
        );
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
  } finally {
    broker?.kill('SIGTERM');
    if (data) setTimeout(() => rmSync(data, { recursive: true, force: true }), 2000).unref();
  }
  const median = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length ? s[Math.floor(s.length / 2)] : NaN;
  };
  console.log('\nmedians over rounds:');
  for (const name of haveRabbit ? ['ours', 'rabbitmq'] : ['ours']) {
    const mine = results.filter((r) => r.name === name);
    console.log(
      `${name.padEnd(8)} all ${CONNECTS} open in ${median(mine.map((r) => r.allOpenMs))} ms, failed ${median(mine.map((r) => r.failed))}, ` +
        `probe p99 during ${median(mine.map((r) => r.during.p99)).toFixed(1)} ms, max ${median(mine.map((r) => r.during.max)).toFixed(1)} ms`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
