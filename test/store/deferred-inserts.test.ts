/**
 * Deferred inserts of large bodies (DeferredInserts, CommitPipeline.deferFrom): the pipeline holds
 * every token from a deferring batch on until the insert is written in a later committed batch or
 * settled by an ack; on SQLite, a body a consumer acks within the window is never written, one it
 * does not ack is written once the window is over, and closing writes what is still deferred.
 */
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Broker, CommitToken, Message, SqliteStore } from '#core';
import type { Queue } from '../../libs/core/src/queue/queue';
import { EntryState, QueueEntry } from '../../libs/core/src/queue/queue-entry';
import { CommitPipeline } from '../../libs/core/src/store/commit-pipeline';
import { DeferredInserts } from '../../libs/core/src/store/sqlite/deferred-inserts';
import type { WriteBatch } from '../../libs/core/src/store/sqlite/write-batch';
import { CollectingConsumer } from '../support/collecting-consumer';
import { tempDir } from '../support/temp-dir';
import { message } from '../support/test-broker';
import { TestBatch, TestCommitter } from '../support/test-committer';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function setup(): {
  p: CommitPipeline<TestBatch>;
  committer: TestCommitter;
  write: () => CommitToken;
  answer: (token: CommitToken) => (boolean | 'pending')[];
} {
  const committer = new TestCommitter();
  const p = new CommitPipeline<TestBatch>(committer, { maxInFlight: 3, earlyBytes: 1 << 20 });
  return {
    p,
    committer,
    write: () => {
      p.open.writes++;
      p.scheduleFlush();
      return p.currentToken();
    },
    answer: (token) => {
      const answer: (boolean | 'pending')[] = ['pending'];
      p.whenCommitted(token, (ok) => (answer[0] = ok));
      return answer;
    },
  };
}

describe('CommitPipeline with deferred inserts', () => {
  it('holds the deferring batch and every later one until the insert is written in a batch that committed', async () => {
    const { p, committer, write, answer } = setup();
    const first = write();
    committer.onHandOver = (batch) => {
      if (batch.no === 1) p.deferFrom(1);
    };
    const firstAnswer = answer(first);
    await turn();
    p.committed(1, 1, 1, 0);
    assert.deepEqual(firstAnswer, ['pending'], 'batch 1 is written, its deferred insert is not');
    assert.equal(p.isCommitted(first), false);
    const second = write();
    const secondAnswer = answer(second);
    const late = answer(first);
    committer.onHandOver = (batch) => {
      if (batch.no === 2) p.deferredWritten(1, 2);
    };
    await turn();
    assert.deepEqual(committer.handedOver, [1, 2]);
    assert.deepEqual([firstAnswer, secondAnswer, late], [['pending'], ['pending'], ['pending']]);
    p.committed(2, 1, 1, 0);
    assert.deepEqual([firstAnswer, secondAnswer, late], [[true], [true], [true]]);
    assert.equal(p.isCommitted(first), true);
  });

  it('answers the held waits once every deferred insert of their batches is settled, on a later microtask', async () => {
    const { p, committer, write, answer } = setup();
    const token = write();
    committer.onHandOver = (batch) => {
      if (batch.no === 1) {
        p.deferFrom(1);
        p.deferFrom(1);
      }
    };
    const waiting = answer(token);
    await turn();
    p.committed(1, 1, 1, 0);
    p.deferredSettled(1);
    await Promise.resolve();
    assert.deepEqual(waiting, ['pending'], 'one of the two is still deferred');
    p.deferredSettled(1);
    assert.deepEqual(waiting, ['pending'], 'not inside the settlement');
    await Promise.resolve();
    assert.deepEqual(waiting, [true]);
  });

  it('a batch that deferred everything and wrote nothing is held too; an older deferral holds a newer batch', async () => {
    const { p, committer, write, answer } = setup();
    committer.onHandOver = (batch) => {
      if (batch.no === 1) {
        p.deferFrom(1);
        batch.writes = 0; // its only write moved on
      }
    };
    const first = answer(write());
    await turn();
    assert.deepEqual(committer.handedOver, [], 'nothing to write');
    await Promise.resolve();
    assert.deepEqual(first, ['pending']);
    committer.onHandOver = () => undefined;
    const second = answer(write());
    await turn();
    p.committed(2, 1, 1, 0);
    await Promise.resolve();
    assert.deepEqual([first, second], [['pending'], ['pending']], 'batch 2 covers the insert deferred from batch 1');
    p.deferredSettled(1);
    await Promise.resolve();
    assert.deepEqual([first, second], [[true], [true]]);
  });

  it('a failure answers the held waits false', async () => {
    const { p, committer, write, answer } = setup();
    committer.onHandOver = (batch) => {
      if (batch.no === 1) p.deferFrom(1);
    };
    const waiting = answer(write());
    await turn();
    p.committed(1, 1, 1, 0);
    const listeners = process.listeners('warning');
    process.removeAllListeners('warning');
    try {
      p.fail(new Error('disk gone'));
      assert.deepEqual(waiting, [false]);
      await new Promise((resolve) => process.once('warning', resolve));
    } finally {
      for (const listener of listeners) process.on('warning', listener);
    }
  });
});

const LARGE = 'L'.repeat(1024 * 1024);
const persistent = { deliveryMode: 2 };

function countRows(dataDir: string, sql: string): number {
  const db = new Database(join(dataDir, 'broker.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Whether the token is durable yet, read as it goes. */
function durability(broker: Broker, token: CommitToken): { durable: boolean } {
  const state = { durable: false };
  broker.onDurable(token, (ok) => (state.durable = ok));
  return state;
}

async function openBroker(dataDir: string, deferLargeMs: number): Promise<Broker> {
  const store = await SqliteStore.open({ dataDir, sync: 'normal', deferLargeMs });
  return Broker.open(store, { dataDir, queueMemoryBudget: 64 * 1024 * 1024 });
}

describe('SqliteStore deferring large bodies', () => {
  it('a body acked within the window is never written, and its token commits at the ack', async () => {
    const dir = tempDir();
    const broker = await openBroker(dir.path, 2000);
    try {
      const vhost = broker.defaultVhost;
      vhost.declareQueue({ name: 'q', durable: true });
      const consumer = new CollectingConsumer('c');
      vhost.getQueue('q').addConsumer(consumer);
      await broker.whenDurable();
      vhost.publish('', message(LARGE, 'q', persistent));
      const token = broker.durabilityToken();
      const state = durability(broker, token);
      await sleep(100);
      assert.equal(state.durable, false, 'held while deferred');
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM entries'), 0);
      const started = Date.now();
      consumer.ack(consumer.received[0]!);
      await broker.whenDurable(token);
      assert.ok(Date.now() - started < 1000, 'answered at the ack, not at the end of the window');
      await broker.whenDurable();
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM entries'), 0);
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM bodies'), 0);
    } finally {
      await broker.close();
      dir.cleanup();
    }
  });

  it('a body not acked within the window is written then, and survives a restart; one without consumers is written at once', async () => {
    const dir = tempDir();
    let broker = await openBroker(dir.path, 150);
    try {
      const vhost = broker.defaultVhost;
      vhost.declareQueue({ name: 'q', durable: true });
      vhost.declareQueue({ name: 'idle', durable: true });
      vhost.getQueue('q').addConsumer(new CollectingConsumer('c'));
      await broker.whenDurable();
      const started = Date.now();
      vhost.publish('', message(LARGE, 'idle', persistent));
      await broker.whenDurable();
      assert.ok(Date.now() - started < 150, 'no consumer: not deferred');
      vhost.publish('', message(LARGE, 'q', persistent));
      await broker.whenDurable();
      assert.ok(Date.now() - started >= 150, 'deferred for the window');
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM entries'), 2);
    } finally {
      await broker.close();
    }
    broker = await openBroker(dir.path, 150);
    try {
      assert.equal(broker.defaultVhost.getQueue('q').messageCount, 1);
      assert.equal(broker.defaultVhost.getQueue('idle').messageCount, 1);
    } finally {
      await broker.close();
      dir.cleanup();
    }
  });

  it('closing writes what is still deferred', async () => {
    const dir = tempDir();
    let broker = await openBroker(dir.path, 60_000);
    try {
      const vhost = broker.defaultVhost;
      vhost.declareQueue({ name: 'q', durable: true });
      vhost.getQueue('q').addConsumer(new CollectingConsumer('c'));
      vhost.publish('', message(LARGE, 'q', persistent));
      await sleep(50);
    } finally {
      await broker.close();
    }
    broker = await openBroker(dir.path, 0);
    try {
      assert.equal(broker.defaultVhost.getQueue('q').messageCount, 1);
    } finally {
      await broker.close();
      dir.cleanup();
    }
  });

  it('a body requeued while deferred is written at the next seal, a small one is never deferred', async () => {
    const dir = tempDir();
    const broker = await openBroker(dir.path, 60_000);
    try {
      const vhost = broker.defaultVhost;
      vhost.declareQueue({ name: 'q', durable: true });
      const consumer = new CollectingConsumer('c', 1);
      vhost.getQueue('q').addConsumer(consumer);
      await broker.whenDurable();
      vhost.publish('', message('small', 'q', persistent));
      await broker.whenDurable();
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM entries'), 1);
      consumer.ack(consumer.received[0]!);
      vhost.publish('', message(LARGE, 'q', persistent));
      const token = broker.durabilityToken();
      const state = durability(broker, token);
      await sleep(50);
      assert.equal(state.durable, false);
      vhost.getQueue('q').removeConsumer(consumer);
      await broker.whenDurable(token);
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM entries'), 1, 'the ack deleted the small one, the requeued large one is written');
      assert.equal(countRows(dir.path, 'SELECT COUNT(*) FROM bodies'), 1);
    } finally {
      await broker.close();
      dir.cleanup();
    }
  });
});

describe('DeferredInserts learning', () => {
  /** An entry of `bytes`, out with a consumer, its message's one unwritten insert. */
  function entry(seq: number, bytes = 1024 * 1024): QueueEntry {
    const queue = { consumerCount: 1 } as unknown as Queue;
    const msg = new Message('', 'q', {}, null, Buffer.alloc(bytes));
    msg.insertQueued();
    const e = new QueueEntry(seq, 0, msg, queue, true);
    e.state = EntryState.Unacked;
    return e;
  }

  function fakePipeline(): { calls: string[]; pipeline: CommitPipeline<WriteBatch> } {
    const calls: string[] = [];
    const pipeline = {
      deferFrom: (no: number) => calls.push(`defer ${no}`),
      deferredWritten: (from: number, no: number) => calls.push(`written ${from} in ${no}`),
      deferredSettled: (from: number) => calls.push(`settled ${from}`),
      sendHeld: () => calls.push('due'),
    } as unknown as CommitPipeline<WriteBatch>;
    return { calls, pipeline };
  }

  it('defers large bodies out with a consumer within the window and the byte bound; writes them once due', () => {
    const { calls, pipeline } = fakePipeline();
    const deferred = new DeferredInserts(pipeline, 100, 2 * 1024 * 1024, 64 * 1024);
    const [a, b, c, small] = [entry(1), entry(2), entry(3), entry(4, 1000)];
    assert.equal(deferred.defers(small, 1, true, 0), false, 'small bodies are written');
    assert.equal(deferred.defers(a, 1, true, 0), true);
    assert.equal(deferred.defers(b, 1, true, 0), true);
    assert.equal(deferred.defers(c, 1, true, 0), false, 'over the byte bound');
    assert.equal(deferred.defers(a, 2, false, 50), false, 'not in the last segment: written');
    assert.equal(deferred.defers(b, 2, true, 50), true, 'moves again within the window');
    assert.equal(deferred.defers(b, 3, true, 100), false, 'due');
    assert.deepEqual(calls, ['defer 1', 'defer 1', 'written 1 in 2', 'written 1 in 3']);
  });

  it('stops deferring while little is spared, and a probe every 2 s starts it again', () => {
    const { pipeline } = fakePipeline();
    const deferred = new DeferredInserts(pipeline, 100, 1 << 30, 64 * 1024);
    let seq = 0;
    let now = 0;
    // every deferral is written late: the share of spared ones falls below one half
    for (let i = 0; i < 40; i++) {
      const e = entry(++seq);
      if (!deferred.defers(e, seq, true, now)) break;
      assert.equal(deferred.defers(e, seq + 1, true, (now += 100)), false);
    }
    assert.equal(deferred.defers(entry(++seq), seq, true, now), false, 'deferring stopped');
    now += 2000;
    const probe = entry(++seq);
    assert.equal(deferred.defers(probe, seq, true, now), true, 'a probe');
    const spared = entry(++seq);
    assert.equal(deferred.defers(spared, seq, true, now), true, 'deferring goes on after the probe');
    assert.equal(deferred.settle(probe), true);
    assert.equal(deferred.settle(spared), true);
    assert.equal(deferred.defers(entry(++seq), seq, true, now), true, 'spared: it goes on');
  });
});
