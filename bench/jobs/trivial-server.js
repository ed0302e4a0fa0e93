#!/usr/bin/env node
// The machine's raw HTTP limit for the jobs bench: a Node HTTP server that reads each body and
// answers dispenserd's `ok` at once, no work, no durability. Usage: node trivial-server.js PORT
'use strict';
const { createServer } = require('node:http');
const answer = Buffer.from('{"status": "ok", "code": 0}');
createServer((request, response) => {
  request.on('data', () => undefined);
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
    response.end(answer);
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
