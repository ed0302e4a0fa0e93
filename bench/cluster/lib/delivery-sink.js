#!/usr/bin/env node
// A keep-alive HTTP sink for the cluster delivery bench, a process of its own (as bench/delivery's
// sink.js): answers 204 at once and counts arrivals per UUID (the request body is the UUID).
//   node bench/cluster/lib/delivery-sink.js [PORT]   (0: a free port; prints `listening PORT`)
//   GET /stats  {arrived, unique, first, last} (epoch ms)
//   GET /seen   one line per UUID: `UUID COUNT`, so the bench can tell lost, duplicated and
//               unexpected deliveries apart by UUID
'use strict';
const { createServer } = require('node:http');

const seen = new Map();
let arrived = 0;
let first = 0;
let last = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ arrived, unique: seen.size, first, last }));
    return;
  }
  if (req.method === 'GET' && req.url === '/seen') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(Array.from(seen, ([id, count]) => `${id} ${count}`).join('\n'));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    if (first === 0) first = now;
    last = now;
    arrived++;
    const id = Buffer.concat(chunks).toString();
    seen.set(id, (seen.get(id) ?? 0) + 1);
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
