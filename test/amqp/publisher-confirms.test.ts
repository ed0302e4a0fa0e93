/**
 * The confirm tracker as a pure data structure (the way rabbit_confirms is tested): commits are
 * completed by hand, and what it would send is recorded. The end-to-end behaviour, with real
 * clients, is in confirms-tx.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitToken } from '#core';
import { NO_COMMIT_NEEDED } from '#core';
import { PublisherConfirms } from '../../libs/amqp/src/channel/publisher-confirms';
import type { Durability } from '../../libs/amqp/src/channel/channel-host';

interface Sent {
  tag: number;
  multiple: boolean;
  ack: boolean;
  settled: number;
}

/** Commits numbered 1, 2, …; `commit(n, ok)` completes one. */
function harness() {
  const waiting = new Map<number, ((committed: boolean) => void)[]>();
  const durability: Durability = {
    durabilityToken: () => 1 as CommitToken,
    onDurable: (token: CommitToken, callback: (committed: boolean) => void) => {
      const list = waiting.get(token) ?? [];
      list.push(callback);
      waiting.set(token, list);
    },
  } as Durability;
  const sent: Sent[] = [];
  const confirms = new PublisherConfirms(durability, (tag, multiple, ack, settled) => sent.push({ tag, multiple, ack, settled }));
  const commit = (token: number, committed = true): void => {
    for (const callback of waiting.get(token) ?? []) callback(committed);
    waiting.delete(token);
  };
  const flush = () => new Promise<void>((resolve) => process.nextTick(resolve));
  return { confirms, sent, commit, flush, token: (n: number) => n as CommitToken };
}

/** Which tags end up acked and nacked, reading the frames as a client does. */
function outcome(sent: Sent[]): { acked: number[]; nacked: number[] } {
  const state = new Map<number, boolean>();
  let lowest = 1;
  for (const frame of sent) {
    if (frame.multiple) {
      for (let tag = lowest; tag <= frame.tag; tag++) if (!state.has(tag)) state.set(tag, frame.ack);
    } else {
      assert.equal(state.has(frame.tag), false, `tag ${frame.tag} settled twice`);
      state.set(frame.tag, frame.ack);
    }
    while (state.has(lowest)) lowest++;
  }
  const tags = [...state.keys()].sort((a, b) => a - b);
  return { acked: tags.filter((t) => state.get(t)), nacked: tags.filter((t) => !state.get(t)) };
}

const settledTotal = (sent: Sent[]) => sent.reduce((sum, frame) => sum + frame.settled, 0);

describe('publisher confirms tracker', () => {
  it('publishes waiting for one commit are acked together, in order, once it commits', async () => {
    const { confirms, sent, commit, flush, token } = harness();
    for (let i = 0; i < 5; i++) confirms.onPublish(token(1));
    await flush();
    assert.deepEqual(sent, []);
    commit(1);
    await flush();
    assert.deepEqual(sent, [{ tag: 5, multiple: true, ack: true, settled: 5 }]);
  });

  it('confirmNow acks one publish out of order; the later multiple ack covers it and counts it once', async () => {
    const { confirms, sent, commit, flush, token } = harness();
    const seqs = [1, 2, 3, 4].map(() => confirms.onPublish(token(1)));
    confirms.confirmNow(seqs[2]!);
    confirms.confirmNow(seqs[2]!); // twice is once
    await flush();
    assert.deepEqual(sent, [{ tag: 3, multiple: false, ack: true, settled: 1 }]);
    commit(1);
    await flush();
    assert.deepEqual(sent[1], { tag: 4, multiple: true, ack: true, settled: 3 });
    assert.deepEqual(outcome(sent), { acked: [1, 2, 3, 4], nacked: [] });
    assert.equal(settledTotal(sent), 4);
  });

  it('when every publish was acked early, the commit sends nothing more', async () => {
    const { confirms, sent, commit, flush, token } = harness();
    const seqs = [1, 2, 3].map(() => confirms.onPublish(token(1)));
    for (const seq of seqs) confirms.confirmNow(seq);
    await flush();
    commit(1);
    await flush();
    assert.deepEqual(
      sent.map((f) => f.tag),
      [1, 2, 3],
    );
    assert.equal(settledTotal(sent), 3);
    // and the next publish is confirmed on its own
    confirms.onPublish(NO_COMMIT_NEEDED);
    await flush();
    assert.deepEqual(sent[3], { tag: 4, multiple: false, ack: true, settled: 1 });
  });

  it('a failed commit nacks only what was not acked early, one by one; with none acked early, one multiple nack', async () => {
    const { confirms, sent, commit, flush, token } = harness();
    const seqs = [1, 2, 3, 4].map(() => confirms.onPublish(token(1)));
    confirms.confirmNow(seqs[1]!);
    await flush();
    commit(1, false);
    await flush();
    assert.deepEqual(outcome(sent), { acked: [2], nacked: [1, 3, 4] });
    assert.equal(settledTotal(sent), 4);
    const before = sent.length;
    [5, 6, 7].forEach(() => confirms.onPublish(token(2)));
    commit(2, false);
    await flush();
    assert.deepEqual(sent.slice(before), [{ tag: 7, multiple: true, ack: false, settled: 3 }]);
  });

  it('an early ack behind an earlier commit still waiting goes out at once; order is restored when that commits', async () => {
    const { confirms, sent, commit, flush, token } = harness();
    confirms.onPublish(token(1));
    const later = confirms.onPublish(token(2));
    confirms.onPublish(token(2));
    confirms.confirmNow(later);
    await flush();
    assert.deepEqual(sent, [{ tag: 2, multiple: false, ack: true, settled: 1 }]);
    commit(2);
    await flush();
    assert.equal(sent.length, 1, 'publish 3 waits for publish 1');
    commit(1);
    await flush();
    assert.deepEqual(outcome(sent), { acked: [1, 2, 3], nacked: [] });
    assert.equal(settledTotal(sent), 3);
    confirms.confirmNow(2); // long settled: ignored
    confirms.confirmNow(99); // never published: ignored
    await flush();
    assert.equal(sent.length, 2);
  });
});
