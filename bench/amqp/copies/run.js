#!/usr/bin/env node
'use strict';
/**
 * Bytes copied per message, by body size and mode: starts our broker (dist/) with the
 * count-copies.js preload, puts a rate-limited amqp-perf load through it (one producer, one
 * consumer, one queue), and divides the bytes JavaScript copied by the messages published.
 * The figure covers both directions (in: publish; out: deliver). Copies native code makes are
 * listed from the design, not measured: the kernel's (socket read, socket write) and SQLite's.
 *
 *   node bench/amqp/copies/run.js [--sizes 1024,16384,102400,1048576] [--rate 100] [--seconds 8]
 *
 * Needs amqp-perf (AMQP_PERF, default /tmp/amqp-perf/amqp-perf; see bench/amqp/README.md).
 */
const { spawn, execFileSync } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const net = require('node:net');

const REPO = resolve(__dirname, '../../..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
if (args.includes('--help') || args.includes('-h')) {
  console.log(readFileSync(__filename, 'utf8').split('\n').slice(2, 13).join('\n'));
  process.exit(0);
}
const sizes = opt('sizes', '1024,16384,102400,1048576').split(',').map(Number);
const rate = Number(opt('rate', '100'));
const seconds = Number(opt('seconds', '8'));
const tool = process.env.AMQP_PERF ?? '/tmp/amqp-perf/amqp-perf';
if (!existsSync(tool)) {
  console.error(`copies: amqp-perf not found at ${tool} (build it: see bench/amqp/README.md)`);
  process.exit(1);
}
const main = join(REPO, 'dist/apps/broker/src/main.js');
if (!existsSync(main)) {
  console.error('copies: dist/ is missing; run npm run build');
  process.exit(1);
}

const freePort = () =>
  new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
const accepts = (port) =>
  new Promise((ok) => {
    const s = net.connect(port, '127.0.0.1', () => (s.destroy(), ok(true)));
    s.on('error', () => ok(false));
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(size, persistent) {
  const work = mkdtempSync(join(tmpdir(), 'copies-'));
  const [amqp, mgmt, jobs, dispatch] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env, DATA_DIR: join(work, 'data'), AMQP_PORT: String(amqp), MANAGEMENT_PORT: String(mgmt),
    JOBS_PORT: String(jobs), DISPATCH_PORT: String(dispatch), BIND_HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    STORE_SYNC: 'full', COPY_COUNT_DIR: work,
  };
  const broker = spawn(process.execPath, ['-r', join(__dirname, 'count-copies.js'), main], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((ok) => broker.on('exit', ok));
  for (let i = 0; i < 150 && !(await accepts(amqp)); i++) await sleep(200);
  const flags = ['--uri', `amqp://guest:guest@127.0.0.1:${amqp}/`, '-x', '1', '-y', '1', '-q', '50', '-s', String(size),
    '--rate', String(rate), '-z', String(seconds), '--json', '--quiet'];
  if (persistent) flags.push('--persistent', '--confirm', '20');
  const result = JSON.parse(execFileSync(tool, flags, { encoding: 'utf8' }));
  const metrics = await (await fetch(`http://127.0.0.1:${mgmt}/metrics`)).text();
  const published = Number(/^broker_messages_published_total (\d+)/m.exec(metrics)?.[1] ?? result.published);
  broker.kill('SIGTERM');
  await exited;
  const threads = readdirSync(work).filter((f) => f.startsWith('thread-')).map((f) => JSON.parse(readFileSync(join(work, f), 'utf8')));
  rmSync(work, { recursive: true, force: true });
  const sites = {};
  let bytes = 0;
  for (const t of threads) {
    bytes += t.bytes;
    for (const [site, s] of Object.entries(t.sites)) {
      const key = `${t.threadId === 0 ? 'main' : 'writer'}: ${site}`;
      sites[key] = (sites[key] ?? 0) + s.bytes;
    }
  }
  const top = Object.entries(sites).sort((a, b) => b[1] - a[1]).filter(([, b]) => b / published >= size * 0.05).slice(0, 6)
    .map(([site, b]) => ({ site, perMessage: Math.round(b / published) }));
  return { size, persistent, published, received: result.received, copiedPerMessage: Math.round(bytes / published), ratio: bytes / published / size, top };
}

(async () => {
  const rows = [];
  for (const size of sizes) for (const persistent of [false, true]) rows.push(await measure(size, persistent));
  console.log(`\nbytes copied by JavaScript per message (publish in + delivery out), ${rate} msg/s for ${seconds} s, 1 producer, 1 consumer`);
  console.log('size      mode        published  copied/msg  x body  where (bytes per message)');
  for (const r of rows) {
    const sites = r.top.map((t) => `${t.perMessage} ${t.site}`).join('\n' + ' '.repeat(58));
    console.log(`${String(r.size).padEnd(9)} ${(r.persistent ? 'persistent' : 'transient').padEnd(11)} ${String(r.published).padStart(9)}  ${String(r.copiedPerMessage).padStart(10)}  ${r.ratio.toFixed(2).padStart(6)}  ${sites || '-'}`);
  }
  console.log('\nnot counted (native): per message the kernel copies the publish into a socket read buffer and');
  console.log('the delivery out of the socket write; a persistent body written to disk is copied by SQLite');
  console.log('into its page cache, then into the WAL file, and into the database file at checkpoint.');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
