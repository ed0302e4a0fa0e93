import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { copiedRecord, copyWith, merged } from '#core';

test('copyWith and merged copy as a spread does: the source untouched, keys in their order, later values win', () => {
  const source = { a: 1, b: 'two', c: [3] };
  const copy = copyWith(source, 'b', 'changed');
  assert.deepEqual(copy, { a: 1, b: 'changed', c: [3] });
  assert.deepEqual(Object.keys(copy), ['a', 'b', 'c']);
  assert.deepEqual(source, { a: 1, b: 'two', c: [3] });
  assert.equal(copy.c, source.c, 'shallow');
  const both = merged({ status: 'ok', code: 0 }, { code: 2, message: 'empty queue' });
  assert.deepEqual(both, { status: 'ok', code: 2, message: 'empty queue' });
  assert.equal(JSON.stringify(both), '{"status":"ok","code":2,"message":"empty queue"}');
});

test('copiedRecord keeps a user key named __proto__ as a field, as a spread does, and leaves the prototype alone', () => {
  const headers = JSON.parse('{"x-trace":"1","__proto__":{"polluted":true},"constructor":"c"}') as Record<string, unknown>;
  const copy = copiedRecord(headers);
  assert.deepEqual(Object.keys(copy), ['x-trace', '__proto__', 'constructor']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, { polluted: true });
  assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  assert.equal((copy as { polluted?: boolean }).polluted, undefined);
  copy['x-added'] = 2;
  assert.equal(headers['x-added'], undefined, 'the source is untouched');
  assert.deepEqual(copiedRecord(undefined), {});
});

test('copies of records of one shape share a hidden class (a spread with added keys made a new one per copy on this V8)', () => {
  // %HaveSameMap needs --allow-natives-syntax: asked of a child node running the compiled helpers
  const helpers = require.resolve('../../libs/core/src/object-copies');
  const script = `
    const { copiedRecord, copyWith, merged } = require(${JSON.stringify(helpers)});
    const make = (i) => ({ contentType: 'text/plain', deliveryMode: 2, messageId: 'm' + i });
    const render = (headers, i) => { headers['x-job-num'] = i; headers['x-job-hash'] = 'h'; return headers; };
    const spread = (i) => ({ ...make(i), headers: i });
    // the spread's copies part ways after a few calls (its clone stops using the transition tree)
    const sameShape = (copy) => {
      for (let i = 0; i < 1000; i++) copy(i);
      return %HaveSameMap(copy(1), copy(2));
    };
    const results = {
      copyWith: sameShape((i) => copyWith(make(i), 'headers', i)),
      merged: sameShape((i) => merged({ status: 'ok', code: 0 }, make(i))),
      copiedRecord: sameShape((i) => render(copiedRecord(make(i)), i)),
      spread: sameShape(spread),
    };
    process.stdout.write(JSON.stringify(results));`;
  const results = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8' })) as Record<string, boolean>;
  assert.deepEqual({ copyWith: results.copyWith, merged: results.merged, copiedRecord: results.copiedRecord }, { copyWith: true, merged: true, copiedRecord: true });
  // the reason for the helpers; if a Node upgrade fixes spreads, they can go
  if (results.spread) process.stdout.write('# note: object spreads share hidden classes on this Node\n');
});
