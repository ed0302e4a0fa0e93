#!/usr/bin/env node
// The machine's raw store limit for the jobs bench: bare better-sqlite3 transactions of ROWS
// rows of ~200 bytes in WAL mode, synchronous FULL and NORMAL. Prints ms per commit and the
// rows/s one connection can commit one transaction after another.
//   node bench/jobs/sqlite-commit.js [--rows 27] [--commits 2000]
'use strict';
const Database = require('better-sqlite3');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROWS = arg('--rows', 27);
const COMMITS = arg('--commits', 2000);

for (const sync of ['FULL', 'NORMAL']) {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-commit-'));
  const db = new Database(join(dir, 'bench.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.exec('CREATE TABLE entries (seq INTEGER PRIMARY KEY, queue INTEGER, flags INTEGER, body BLOB)');
  const insert = db.prepare('INSERT INTO entries (seq, queue, flags, body) VALUES (?, ?, ?, ?)');
  const body = Buffer.alloc(200, 97);
  let seq = 0;
  const batch = db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(++seq, 1, 1, body);
  });
  for (let i = 0; i < 100; i++) batch();
  const started = process.hrtime.bigint();
  for (let i = 0; i < COMMITS; i++) batch();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`RESULT sqlite synchronous=${sync} rows_per_commit=${ROWS} ms_per_commit=${(ms / COMMITS).toFixed(3)} rows_per_s=${Math.round((ROWS * COMMITS) / (ms / 1000))}`);
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
