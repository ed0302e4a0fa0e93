/**
 * The group-commit pipeline both stores share, on its own, over a committer the test drives: one
 * batch per turn, the next filling while a commit runs, early hand-over and backlog, folded empty
 * batches, merged answers, holding, failure, slots in tokens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreMetrics } from '#core';
import { CommitPipeline } from '../../libs/core/src/store/commit-pipeline';
import { CommitToken, positionOf, slotOf } from '../../libs/core/src/store/commit-token';
import { TestBatch, TestCommitter } from '../support/test-committer';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function pipeline(options: { maxInFlight?: number; earlyBytes?: number } = {}): {
  pipeline: CommitPipeline<TestBatch>;
  committer: TestCommitter;
  write: (bytes?: number) => CommitToken;
  answers: (token: CommitToken) => (boolean | 'pending')[];
} {
  const committer = new TestCommitter();
  const p = new CommitPipeline<TestBatch>(committer, { maxInFlight: options.maxInFlight ?? 3, earlyBytes: options.earlyBytes ?? 1000 });
  return {
    pipeline: p,
    committer,
    write: (bytes = 10) => {
      p.open.writes++;
      p.open.bytes += bytes;
      p.scheduleFlush();
      return p.currentToken();
    },
    answers: (token) => {
      const answer: (boolean | 'pending')[] = ['pending'];
      p.whenCommitted(token, (ok) => (answer[0] = ok));
      return answer;
    },
  };
}

/** Keeps process warnings (a failing pipeline emits one) out of the test output, and counts them. */
function captureWarnings(): { warnings: Error[]; restore: () => void } {
  const warnings: Error[] = [];
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  return {
    warnings,
    restore: () => {
      process.off('warning', onWarning);
      for (const listener of listeners) process.on('warning', listener);
    },
  };
}

describe('CommitPipeline', () => {
  it('hands the writes of one turn over as one batch and answers its token once it commits, never synchronously', async () => {
    const { pipeline: p, committer, write, answers } = pipeline();
    const first = write();
    const second = write();
    assert.equal(first, second, 'one open batch, one token');
    assert.equal(p.isCommitted(first), false);
    const answer = answers(first);
    assert.deepEqual(committer.handedOver, [], 'nothing goes before the turn ends');
    await turn();
    assert.deepEqual(committer.handedOver, [1]);
    assert.equal(p.pendingCommits, 1);
    p.committed(1, 1, 2, 0.001);
    assert.deepEqual(answer, [true]);
    assert.equal(p.isCommitted(first), true);
    assert.equal(p.pendingCommits, 0);
    const late: boolean[] = [];
    p.whenCommitted(first, (ok) => late.push(ok));
    assert.deepEqual(late, [], 'a committed token is answered on a later tick, not inside the call');
    await Promise.resolve();
    assert.deepEqual(late, [true]);
  });

  it('keeps filling the next batch while a commit runs and hands it over when that commit returns', async () => {
    const { pipeline: p, committer, write, answers } = pipeline();
    write();
    await turn();
    const during = write();
    const answer = answers(during);
    await turn();
    assert.deepEqual(committer.handedOver, [1], 'batch 2 waits behind the running commit');
    p.committed(1, 1, 1, 0);
    assert.deepEqual(committer.handedOver, [1, 2], 'the answer sends the next batch at once');
    assert.deepEqual(answer, ['pending']);
    p.committed(2, 1, 1, 0);
    assert.deepEqual(answer, [true]);
  });

  it('sends a big open batch early while commits run, up to maxInFlight; a backlog pauses until drained', async () => {
    const { pipeline: p, committer, write } = pipeline({ maxInFlight: 2, earlyBytes: 100 });
    write();
    await turn();
    write(500);
    await turn();
    assert.deepEqual(committer.handedOver, [1, 2], 'over four times earlyBytes: sent with a commit in flight');
    assert.equal(p.backlogged, true, 'maxInFlight batches in flight');
    write(500);
    await turn();
    assert.deepEqual(committer.handedOver, [1, 2], 'no third batch in flight');
    const drained: string[] = [];
    p.onDrain(() => drained.push('drained'));
    p.committed(1, 1, 1, 0);
    assert.deepEqual(committer.handedOver, [1, 2, 3]);
    assert.deepEqual(drained, [], 'still two in flight');
    p.committed(2, 1, 1, 0);
    assert.equal(p.backlogged, false);
    assert.deepEqual(drained, ['drained']);
    const soon: string[] = [];
    p.onDrain(() => soon.push('soon'));
    await Promise.resolve();
    assert.deepEqual(soon, ['soon'], 'without a backlog, onDrain answers on the next tick');
  });

  it('folds a batch with nothing to write into the commit in flight, or answers it at once', async () => {
    const { pipeline: p, committer, write, answers } = pipeline({ earlyBytes: 10 });
    const idle = answers(p.currentToken());
    await turn();
    assert.deepEqual(idle, [true], 'nothing written, nothing in flight: committed at once');
    assert.deepEqual(committer.handedOver, []);
    const written = answers(write());
    await turn();
    assert.deepEqual(committer.handedOver, [2]);
    // batch 3 grew big, then everything in it was settled before it went (acks cancelled its inserts)
    p.open.bytes = 100;
    const folded = p.currentToken();
    const foldedAnswer = answers(folded);
    await turn();
    assert.deepEqual(committer.handedOver, [2], 'nothing to write: not handed over');
    assert.deepEqual(foldedAnswer, ['pending'], 'its waits ride on the commit in flight');
    assert.equal(p.pendingCommits, 1);
    p.committed(2, 1, 1, 0);
    assert.deepEqual([written, foldedAnswer], [[true], [true]]);
    assert.equal(p.isCommitted(folded), true);
  });

  it('answers every batch of a merged commit', async () => {
    const { pipeline: p, committer, write, answers } = pipeline({ earlyBytes: 10 });
    const a = answers(write());
    await turn();
    const b = answers(write(100));
    await turn();
    assert.deepEqual(committer.handedOver, [1, 2]);
    p.committed(2, 2, 2, 0);
    assert.deepEqual([a, b], [[true], [true]]);
  });

  it('holds the open batch while the committer asks, until sendHeld', async () => {
    const { pipeline: p, committer, write } = pipeline();
    committer.held = true;
    write();
    await turn();
    assert.deepEqual(committer.handedOver, []);
    committer.held = false;
    p.sendHeld();
    assert.deepEqual(committer.handedOver, [1]);
  });

  it('fails for good: the failed batch, the ones after it and every later wait answer false', async () => {
    const capture = captureWarnings();
    try {
      const { pipeline: p, write, answers } = pipeline({ earlyBytes: 10 });
      const first = answers(write());
      await turn();
      const second = answers(write(100));
      await turn();
      const open = answers(write());
      p.failed(1, 'disk full');
      assert.deepEqual([first, second, open], [[false], [false], [false]]);
      assert.equal(p.healthy, false);
      assert.match(String(p.failure?.message), /store commit failed: disk full/);
      const later = answers(write());
      await Promise.resolve();
      assert.deepEqual(later, [false]);
      p.failed(2, 'disk full');
      await turn();
      assert.equal(capture.warnings.length, 1, 'reported once');
    } finally {
      capture.restore();
    }
  });

  it('fails on an answer out of order, and when a batch cannot be handed over (the process stays up)', async () => {
    const capture = captureWarnings();
    try {
      const one = pipeline();
      const waiting = one.answers(one.write());
      await turn();
      one.pipeline.committed(7, 1, 1, 0);
      assert.deepEqual(waiting, [false]);
      assert.match(String(one.pipeline.failure?.message), /out of order/);

      const two = pipeline();
      two.committer.throwOnHandOver = true;
      const packed = two.answers(two.write());
      await turn();
      assert.deepEqual(packed, [false]);
      assert.match(String(two.pipeline.failure?.message), /could not pack batch 1: cannot pack/);
      await turn();
      assert.equal(capture.warnings.length, 2);
    } finally {
      capture.restore();
    }
  });

  it('carries its slot in every token; moves slot only with nothing pending', async () => {
    const { pipeline: p, write } = pipeline();
    const metrics = new CoreMetrics();
    p.attach(3, metrics);
    const token = write();
    assert.equal(slotOf(token), 3);
    assert.equal(positionOf(token), 1);
    assert.throws(() => p.attach(4, metrics), /cannot move from slot 3 to 4/);
    await turn();
    p.committed(1, 1, 5, 0.002);
    assert.equal(metrics.snapshot().storeCommittedOps, 5, 'commits are counted where the store was attached');
    p.attach(4, metrics);
    assert.equal(slotOf(p.currentToken()), 4);
    assert.equal(p.isCommitted(token - 3 + 4 as CommitToken), true, 'what committed stays committed under the new slot');
  });

  it('after stop, waits answer false and what is handed over is not committed; restart opens it again', async () => {
    const { pipeline: p, committer, write, answers } = pipeline();
    const before = answers(write());
    await turn();
    p.committed(1, 1, 1, 0);
    p.stop();
    const committedBefore: boolean[] = [];
    p.whenCommitted(p.lastHandedOverToken(), (ok) => committedBefore.push(ok));
    await Promise.resolve();
    assert.deepEqual([before, committedBefore], [[true], [true]], 'what committed before the stop stays committed');
    committer.handedOver.length = 0;
    assert.equal(p.healthy, false);
    const stopped = answers(write());
    await turn();
    assert.deepEqual(stopped, [false]);
    assert.deepEqual(committer.handedOver, []);
    p.restart();
    const again = answers(write());
    await turn();
    p.committed(committer.handedOver[0]!, 1, 1, 0);
    assert.deepEqual(again, [true]);
  });
});
