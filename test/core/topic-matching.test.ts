import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TopicTrie } from '../../libs/core/src/exchange/topic-trie';

/** [pattern, routing key, matches] — RabbitMQ's topic semantics. */
const TABLE: [string, string, boolean][] = [
  ['a.b.c', 'a.b.c', true],
  ['a.b.c', 'a.b', false],
  ['a.b.c', 'a.b.c.d', false],
  ['a.*.c', 'a.b.c', true],
  ['a.*.c', 'a.c', false],
  ['a.*.c', 'a.b.b.c', false],
  ['*', 'a', true],
  ['*', '', false],
  ['*', 'a.b', false],
  ['#', '', true],
  ['#', 'a', true],
  ['#', 'a.b.c', true],
  ['a.#', 'a', true],
  ['a.#', 'a.b', true],
  ['a.#', 'a.b.c', true],
  ['a.#', 'b.a', false],
  ['#.c', 'c', true],
  ['#.c', 'a.b.c', true],
  ['#.c', 'a.b.c.d', false],
  ['a.#.c', 'a.c', true],
  ['a.#.c', 'a.b.c', true],
  ['a.#.c', 'a.b.x.c', true],
  ['a.#.c', 'a.b.x.d', false],
  ['#.#', 'a.b', true],
  ['#.#', '', true],
  ['*.#', '', false],
  ['*.#', 'a', true],
  ['#.*', 'a.b.c', true],
  ['*.*', 'a', false],
  ['*.*', 'a.b', true],
  ['a.*.#', 'a', false],
  ['a.*.#', 'a.b', true],
  ['a.*.#', 'a.b.c.d', true],
  ['', '', true],
  ['', 'a', false],
  ['stock.usd.nyse', 'stock.usd.nyse', true],
  ['stock.*.nyse', 'stock.eur.nyse', true],
  ['*.orange.*', 'quick.orange.rabbit', true],
  ['*.*.rabbit', 'lazy.orange.elephant', false],
  ['lazy.#', 'lazy.brown.fox', true],
  ['lazy.#', 'lazy.pink.rabbit', true],
  ['*.orange.*', 'quick.orange.male.rabbit', false],
  ['a..b', 'a..b', true],
  ['a.*.b', 'a..b', true],
];

test('topic patterns match as in RabbitMQ', () => {
  for (const [pattern, key, expected] of TABLE) {
    const trie = new TopicTrie<string>();
    trie.add(pattern, 'x');
    const out: string[] = [];
    trie.match(key, out);
    assert.equal(out.length > 0, expected, `pattern '${pattern}' vs key '${key}'`);
  }
});

test('a trie with many patterns returns every matching value', () => {
  const trie = new TopicTrie<string>();
  for (const [pattern] of TABLE) trie.add(pattern, pattern);
  for (const key of ['a.b.c', 'lazy.brown.fox', '', 'a']) {
    const out: string[] = [];
    trie.match(key, out);
    const expected = TABLE.filter(([, k, m]) => m && k === key).map(([p]) => p);
    for (const pattern of expected) assert.ok(out.includes(pattern), `${pattern} should match ${key}`);
    for (const pattern of out) {
      const single = new TopicTrie<string>();
      single.add(pattern, pattern);
      const check: string[] = [];
      single.match(key, check);
      assert.ok(check.length > 0, `${pattern} reported for ${key} but does not match alone`);
    }
  }
});

test('removing a pattern stops its matches and prunes the trie', () => {
  const trie = new TopicTrie<string>();
  trie.add('a.#', 'q1');
  trie.add('a.*', 'q2');
  trie.remove('a.#', 'q1');
  const out: string[] = [];
  trie.match('a.b', out);
  assert.deepEqual(out, ['q2']);
  trie.remove('a.*', 'q2');
  const none: string[] = [];
  trie.match('a.b', none);
  assert.deepEqual(none, []);
});
