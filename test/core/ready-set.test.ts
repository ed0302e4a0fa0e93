/** The ready set's pager under a store that has lost rows (a stale paged count). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommitToken, Message, Queue, QueueEntry } from '#core';
import { ReadySet } from '../../libs/core/src/queue/ready-set';
import type { EntryPager } from '../../libs/core/src/queue/entry-pager';

const queue = {} as Queue;
const entry = (seq: number, rank: number, body: string): QueueEntry =>
  new QueueEntry(seq, rank, new Message('', 'q', {}, null, Buffer.from(body)), queue, true);

/** A store that committed everything and has no rows to give back. */
const emptyStore: EntryPager = {
  pageOut: () => 1 as CommitToken,
  isCommitted: () => true,
  whenCommitted: (_token, callback) => queueMicrotask(() => callback(true)),
  readPaged: () => [],
  readEntry: () => undefined,
};

test('a stale paged count neither wedges a ranked queue nor leaves its counters off', () => {
  const ready = new ReadySet(queue, true, emptyStore, 1024 * 1024);
  // recovery believed rank 0 had 5 more entries (500 bytes) in the store; they are gone
  ready.recover(0, [entry(1, 0, 'head')], 6, 504);
  ready.append(entry(10, 3, 'next rank'));
  assert.equal(ready.count, 7);
  assert.equal(ready.take(() => undefined)?.message.body.toString(), 'head');
  assert.equal(ready.take(() => undefined)?.message.body.toString(), 'next rank', 'the empty bucket is retired and the next rank served');
  assert.equal(ready.take(() => undefined), undefined);
  assert.deepEqual({ count: ready.count, bytes: ready.bytes, paged: ready.pagedCount }, { count: 0, bytes: 0, paged: 0 });
  assert.equal(ready.bytesInMemory, 0);
});

test('a ranked bucket whose whole backlog is stale is retired at take, and the next rank served', () => {
  const ready = new ReadySet(queue, true, emptyStore, 1024 * 1024);
  ready.recover(0, [], 5, 500);
  ready.append(entry(10, 3, 'next rank'));
  assert.equal(ready.take(() => undefined)?.message.body.toString(), 'next rank');
  assert.deepEqual({ count: ready.count, bytes: ready.bytes, paged: ready.pagedCount }, { count: 0, bytes: 0, paged: 0 });
});

test('a stale paged count on a FIFO queue empties it cleanly', () => {
  const ready = new ReadySet(queue, false, emptyStore, 1024 * 1024);
  ready.recover(0, [], 3, 300);
  assert.equal(ready.take(() => undefined), undefined);
  assert.deepEqual({ count: ready.count, bytes: ready.bytes, paged: ready.pagedCount }, { count: 0, bytes: 0, paged: 0 });
  ready.append(entry(5, 0, 'new'));
  assert.equal(ready.take(() => undefined)?.message.body.toString(), 'new');
});
