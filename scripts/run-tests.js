#!/usr/bin/env node
// Runs the compiled test files with Node's built-in runner. Node 20's `--test` takes file names,
// not globs, so this script finds them. Usage: node scripts/run-tests.js [subdir-filter ...]
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..', 'dist', 'test');
// --browser runs only the browser tests (test/browser, headless Chromium); they are not part of
// the default run, which needs no browser
const browser = process.argv.includes('--browser');
const filters = browser ? ['browser'] : process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = collect(root).filter(
  (f) =>
    (filters.length === 0 ? !relative(root, f).startsWith('browser') : filters.some((flt) => relative(root, f).startsWith(flt))),
);
if (files.length === 0) {
  console.error(`no test files under ${root} matching ${filters.join(', ') || '*'}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
