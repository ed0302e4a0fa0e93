import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FieldTable } from '#core';
import { headersMatch, matchModeOf } from '../../libs/core/src/exchange/headers-match';

const CASES: [FieldTable, FieldTable | undefined, boolean][] = [
  [{ 'x-match': 'all', a: 1, b: 'x' }, { a: 1, b: 'x' }, true],
  [{ 'x-match': 'all', a: 1, b: 'x' }, { a: 1, b: 'y' }, false],
  [{ 'x-match': 'all', a: 1, b: 'x' }, { a: 1 }, false],
  [{ a: 1, b: 'x' }, { a: 1, b: 'x', c: true }, true],
  [{ 'x-match': 'any', a: 1, b: 'x' }, { a: 2, b: 'x' }, true],
  [{ 'x-match': 'any', a: 1, b: 'x' }, { a: 2, b: 'y' }, false],
  [{ 'x-match': 'any', a: 1 }, undefined, false],
  [{ 'x-match': 'all' }, undefined, true],
  [{ 'x-match': 'any' }, { a: 1 }, false],
  [{ 'x-match': 'all', a: null }, { a: 'anything' }, true],
  [{ 'x-match': 'all', a: null }, { b: 1 }, false],
  // x-* binding arguments are ignored unless the mode ends in -with-x
  [{ 'x-match': 'all', 'x-tag': 'v', a: 1 }, { a: 1 }, true],
  [{ 'x-match': 'all-with-x', 'x-tag': 'v', a: 1 }, { a: 1 }, false],
  [{ 'x-match': 'all-with-x', 'x-tag': 'v', a: 1 }, { a: 1, 'x-tag': 'v' }, true],
  [{ 'x-match': 'any', 'x-tag': 'v' }, { 'x-tag': 'v' }, false],
  [{ 'x-match': 'any-with-x', 'x-tag': 'v' }, { 'x-tag': 'v' }, true],
  [{ a: Buffer.from('ab') }, { a: Buffer.from('ab') }, true],
  [{ a: 5 }, { a: 5n }, true],
  [{ a: true }, { a: false }, false],
];

test('headers matching follows RabbitMQ x-match rules', () => {
  for (const [args, headers, expected] of CASES) {
    const mode = matchModeOf(args);
    assert.ok(mode, `mode of ${JSON.stringify(args)}`);
    assert.equal(headersMatch(args, mode, headers), expected, `${JSON.stringify(args)} vs ${String(headers && JSON.stringify(headers, (_k, v) => (typeof v === 'bigint' ? String(v) : v)))}`);
  }
});

test('unknown x-match values are refused', () => {
  assert.equal(matchModeOf({ 'x-match': 'some' }), undefined);
  assert.equal(matchModeOf({ 'x-match': 3 }), undefined);
  assert.equal(matchModeOf({}), 'all');
});
