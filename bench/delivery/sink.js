#!/usr/bin/env node
// A keep-alive HTTP sink for the delivery bench: answers 204 (at once, or after DELAY_MS: a slow
// destination), counts arrivals per UUID (the request body is the UUID). GET /stats returns
// {arrived, unique, first, last} (epoch ms).
//   node bench/delivery/sink.js [port] [delayMs]
'use strict';
const { createServer } = require('node:http');

const port = Number(process.argv[2] || 18580);
const delayMs = Number(process.argv[3] || 0);
const seen = new Set();
let arrived = 0;
let first = 0;
let last = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ arrived, unique: seen.size, first, last }));
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    if (first === 0) first = now;
    last = now;
    arrived++;
    seen.add(Buffer.concat(chunks).toString());
    const answer = () => {
      res.writeHead(204);
      res.end();
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`sink listening on ${port}\n`));
