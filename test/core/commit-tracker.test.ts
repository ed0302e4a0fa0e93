/**
 * Commit tracking per store: tokens of two stores composed into one tracker are answered by their
 * own store, and a publish that reaches both waits on a joint token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreMetrics, MemoryStore, NO_COMMIT_NEEDED } from '#core';
import type { CommitSource } from '../../libs/core/src/store/broker-store';
import { CommitCallback, CommitToken, commitToken, JOINT_SLOT, positionOf, slotOf } from '../../libs/core/src/store/commit-token';
import { CommitTracker } from '../../libs/core/src/store/commit-tracker';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A store the test commits or fails by hand (a networked store whose answer is late, or never comes). */
class HandStore implements CommitSource {
  private slot = 0;
  private position = 1;
  private committed = 0;
  private failed = false;
  private readonly waiting: { position: number; callback: CommitCallback }[] = [];

  attach(slot: number): void {
    this.slot = slot;
  }

  write(): CommitToken {
    return commitToken(this.slot, this.position);
  }

  currentToken(): CommitToken {
    return commitToken(this.slot, this.position);
  }

  isCommitted(token: CommitToken): boolean {
    return positionOf(token) <= this.committed;
  }

  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    if (this.failed || this.isCommitted(token)) queueMicrotask(() => callback(!this.failed));
    else this.waiting.push({ position: positionOf(token), callback });
  }

  commit(): void {
    this.committed = this.position++;
    for (const wait of this.waiting.splice(0)) wait.callback(true);
  }

  fail(): void {
    this.failed = true;
    for (const wait of this.waiting.splice(0)) wait.callback(false);
  }
}

function compose(): { tracker: CommitTracker; local: MemoryStore; shared: HandStore } {
  const tracker = new CommitTracker();
  const metrics = new CoreMetrics();
  const local = new MemoryStore();
  const shared = new HandStore();
  assert.equal(tracker.add(local, metrics), 0);
  assert.equal(tracker.add(shared, metrics), 1);
  return { tracker, local, shared };
}

describe('CommitTracker', () => {
  it('routes a token to the store that wrote it', async () => {
    const { tracker, local, shared } = compose();
    const a = local.putVhost('a');
    const b = shared.write();
    assert.equal(slotOf(a), 0);
    assert.equal(slotOf(b), 1);
    assert.notEqual(a, b, 'the same position in two stores: two tokens');
    const answers: string[] = [];
    tracker.whenCommitted(a, (ok) => answers.push(`local ${ok}`));
    tracker.whenCommitted(b, (ok) => answers.push(`shared ${ok}`));
    await turn();
    assert.deepEqual(answers, ['local true'], 'the local store committed; the shared one has not answered');
    assert.equal(tracker.isCommitted(a), true);
    assert.equal(tracker.isCommitted(b), false);
    shared.fail();
    assert.deepEqual(answers, ['local true', 'shared false']);
  });

  it('joins tokens: the later one of one store, a joint token over two stores', async () => {
    const { tracker, local, shared } = compose();
    const early = local.putVhost('x');
    await turn();
    const late = local.putVhost('y');
    assert.equal(tracker.join(early, late), late);
    assert.equal(tracker.join(late, early), late);
    assert.equal(tracker.join(NO_COMMIT_NEEDED, late), late);
    assert.equal(tracker.join(late, NO_COMMIT_NEEDED), late);

    const joint = tracker.join(local.putVhost('z'), shared.write());
    assert.equal(slotOf(joint), JOINT_SLOT);
    assert.equal(tracker.isCommitted(joint), false);
    const answer: boolean[] = [];
    tracker.whenCommitted(joint, (ok) => answer.push(ok));
    await turn();
    assert.deepEqual(answer, [], 'the local part committed, the shared one not yet');
    shared.commit();
    assert.deepEqual(answer, [true]);
    assert.equal(tracker.isCommitted(joint), true);
    assert.equal(tracker.jointCount, 0, 'a committed joint token is forgotten');

    // a joint token joined with a later token of one of its stores keeps one part per store
    const again = tracker.join(tracker.join(local.putVhost('v'), shared.write()), local.putVhost('w'));
    assert.equal(slotOf(again), JOINT_SLOT);
    await turn();
    assert.equal(tracker.isCommitted(again), false);
    shared.commit();
    assert.equal(tracker.isCommitted(again), true);
  });

  it('answers a joint token false when one of its stores cannot commit', async () => {
    const { tracker, local, shared } = compose();
    const joint = tracker.join(local.putVhost('p'), shared.write());
    const answer: boolean[] = [];
    tracker.whenCommitted(joint, (ok) => answer.push(ok));
    await turn();
    shared.fail();
    assert.deepEqual(answer, [false]);
    assert.equal(tracker.isCommitted(joint), false, 'not forgotten: it never committed');
  });

  it('covers every store with currentToken, and hands the same joint token out while nothing is written', async () => {
    const { tracker, local, shared } = compose();
    local.putVhost('a');
    const current = tracker.currentToken();
    assert.equal(slotOf(current), JOINT_SLOT);
    assert.equal(tracker.currentToken(), current);
    await turn();
    assert.equal(tracker.isCommitted(current), false);
    shared.commit();
    assert.equal(tracker.isCommitted(current), true);
  });

  it('with one store, is that store: its tokens unchanged', () => {
    const tracker = new CommitTracker();
    const store = new MemoryStore();
    tracker.add(store, new CoreMetrics());
    store.putVhost('a');
    assert.equal(tracker.currentToken(), store.currentToken());
  });
});
