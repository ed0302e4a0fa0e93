#!/usr/bin/env node
// Delivery latency at low load and a burst, against a running broker:
//   node bench/delivery/latency.js DISPATCH_URL [--rate 200] [--seconds 10] [--burst 200]
// Runs its own sink in this process, so acceptance (202) and arrival are timed on one clock.
'use strict';
const { createServer } = require('node:http');
const { randomUUID } = require('node:crypto');

const args = process.argv.slice(2);
const target = args[0];
const flag = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const rate = flag('rate', 200);
const seconds = flag('seconds', 10);
const burst = flag('burst', 200);

const sent = new Map(); // uuid -> time the POST was sent
const accepted = new Map(); // uuid -> time of the 202
const arrivals = new Map(); // uuid -> [times]

const sink = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const id = Buffer.concat(chunks).toString();
    const list = arrivals.get(id) ?? [];
    list.push(performance.now());
    arrivals.set(id, list);
    res.writeHead(204);
    res.end();
  });
});
sink.keepAliveTimeout = 60_000;

async function post(id, url) {
  sent.set(id, performance.now());
  const response = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ UUID: id, Url: url, Method: 'POST', Body: id }),
  });
  await response.text();
  if (response.status === 202) accepted.set(id, performance.now());
  return response.status;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function waitArrived(ids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && ids.some((id) => !arrivals.has(id))) await new Promise((r) => setTimeout(r, 20));
}

async function main() {
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${sink.address().port}/in`;

  // low, steady load
  const steady = [];
  const interval = 1000 / rate;
  const started = performance.now();
  const sends = [];
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = randomUUID();
    steady.push(id);
    sends.push(post(id, url));
  }
  await Promise.all(sends);
  await waitArrived(steady.filter((id) => accepted.has(id)), 30_000);
  const done = steady.filter((id) => accepted.has(id) && arrivals.has(id));
  const toArrival = done.map((id) => arrivals.get(id)[0] - sent.get(id)).sort((a, b) => a - b);
  const toAccepted = done.map((id) => accepted.get(id) - sent.get(id)).sort((a, b) => a - b);
  const arrivedFirst = done.filter((id) => arrivals.get(id)[0] < accepted.get(id)).length;
  const lost = steady.filter((id) => accepted.has(id) && !arrivals.has(id)).length;
  const f = (sorted) => `p50=${percentile(sorted, 50).toFixed(2)} p99=${percentile(sorted, 99).toFixed(2)} max=${sorted[sorted.length - 1].toFixed(2)} ms`;
  console.log(`RESULT steady rate=${rate}/s seconds=${seconds} accepted=${steady.filter((id) => accepted.has(id)).length} lost=${lost}`);
  console.log(`  POST -> arrival at the sink: ${f(toArrival)}`);
  console.log(`  POST -> 202 (committed):     ${f(toAccepted)}; ${arrivedFirst} of ${done.length} arrived before their 202 (delivery starts before the commit)`);

  // a burst, all at once
  const ids = Array.from({ length: burst }, () => randomUUID());
  const statuses = await Promise.all(ids.map((id) => post(id, url)));
  await waitArrived(ids.filter((id) => accepted.has(id)), 30_000);
  const burstAccepted = ids.filter((id) => accepted.has(id));
  const burstLost = burstAccepted.filter((id) => !arrivals.has(id)).length;
  const duplicates = ids.reduce((n, id) => n + Math.max(0, (arrivals.get(id)?.length ?? 0) - 1), 0);
  const refused = statuses.filter((s) => s !== 202).length;
  console.log(`RESULT burst requests=${burst} accepted=${burstAccepted.length} refused=${refused} lost=${burstLost} duplicates=${duplicates}`);
  sink.close();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
