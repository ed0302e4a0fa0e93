#!/usr/bin/env node
// How long scraping and listing take with many queues (figures, not a test):
//   npm run build && node bench/management/scrape.js [--queues 10000]
// Starts the broker, declares N queues with a message each over AMQP, then times GET /metrics,
// /metrics/per-object and a page of /api/queues (median and worst of 10).
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const amqp = require('amqplib');

const at = process.argv.indexOf('--queues');
const QUEUES = at >= 0 ? Number(process.argv[at + 1]) : 10000;
const AMQP_PORT = 18672;
const MGMT_PORT = 18673;
const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

async function main() {
  const data = mkdtempSync(join(tmpdir(), 'scrape-bench-'));
  const broker = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'apps', 'broker', 'src', 'main.js')], {
    env: { ...process.env, DATA_DIR: data, AMQP_PORT: String(AMQP_PORT), MANAGEMENT_PORT: String(MGMT_PORT), JOBS_PORT: '0', DISPATCH_PORT: '0', BIND_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: 'inherit',
  });
  try {
    let conn;
    for (let i = 0; i < 100 && conn === undefined; i++) {
      try {
        conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${AMQP_PORT}`, { noDelay: true });
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const ch = await conn.createChannel();
    const started = Date.now();
    for (let i = 0; i < QUEUES; i++) {
      const name = `bench-q-${i}`;
      await ch.assertQueue(name, { durable: false });
      ch.sendToQueue(name, Buffer.from('x'));
    }
    console.log(`declared ${QUEUES} queues with a message each in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const time = async (path) => {
      const runs = [];
      let bytes = 0;
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const response = await fetch(`http://127.0.0.1:${MGMT_PORT}${path}`, { headers: auth });
        bytes = (await response.arrayBuffer()).byteLength;
        runs.push(performance.now() - t0);
      }
      runs.sort((a, b) => a - b);
      console.log(`${path.padEnd(48)} median ${runs[5].toFixed(1)} ms, worst ${runs[9].toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB`);
    };
    await time('/metrics');
    await time('/metrics/per-object');
    await time('/api/queues?page=1&page_size=100&name=bench-q-99&sort=messages');
    await time('/api/overview');
    await conn.close();
  } finally {
    broker.kill('SIGTERM');
    await new Promise((r) => broker.once('exit', r));
    rmSync(data, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
