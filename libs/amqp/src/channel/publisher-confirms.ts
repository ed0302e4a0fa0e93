import { CommitToken, NO_COMMIT_NEEDED } from '#core';
import type { Durability } from './channel-host';

/** Publishes whose confirmation waits for one commit token. */
interface CommitBarrier {
  first: number;
  last: number;
  done: boolean;
  committed: boolean;
}

export type ConfirmSender = (deliveryTag: number, multiple: boolean, ack: boolean) => void;

/**
 * Publisher confirms for one channel. A publish that wrote to the store is confirmed once its
 * batch commits; others at once, but never ahead of an earlier unconfirmed publish, so each
 * flush sends one `multiple` ack covering everything confirmable.
 */
export class PublisherConfirms {
  private lastPublished = 0;
  private confirmed = 0;
  private readonly barriers: CommitBarrier[] = [];
  private barrierToken: CommitToken = NO_COMMIT_NEEDED;
  private emitScheduled = false;

  constructor(
    private readonly durability: Durability,
    private readonly send: ConfirmSender,
  ) {}

  /**
   * Registers the next publish with what it must wait for (NO_COMMIT_NEEDED: nothing). Publishes
   * that wait for the same token share one barrier. Returns its sequence number.
   */
  onPublish(token: CommitToken, refused = false): number {
    const seq = ++this.lastPublished;
    if (refused) {
      // a queue refused it (x-overflow reject-publish): nacked, in order with the rest
      this.barriers.push({ first: seq, last: seq, done: true, committed: false });
    } else if (token !== NO_COMMIT_NEEDED) {
      const last = this.barriers[this.barriers.length - 1];
      if (last !== undefined && !last.done && this.barrierToken === token) last.last = seq;
      else {
        const barrier: CommitBarrier = { first: seq, last: seq, done: false, committed: false };
        this.barriers.push(barrier);
        this.barrierToken = token;
        this.durability.onDurable(token, (committed) => {
          barrier.done = true;
          barrier.committed = committed;
          this.scheduleEmit();
        });
      }
    }
    this.scheduleEmit();
    return seq;
  }

  private scheduleEmit(): void {
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    process.nextTick(this.emit);
  }

  private readonly emit = (): void => {
    this.emitScheduled = false;
    const barriers = this.barriers;
    for (;;) {
      const head = barriers[0];
      if (head === undefined) {
        this.ackUpTo(this.lastPublished);
        return;
      }
      if (!head.done) {
        this.ackUpTo(head.first - 1);
        return;
      }
      barriers.shift();
      if (!head.committed) {
        this.ackUpTo(head.first - 1);
        this.send(head.last, head.last > head.first, false);
        this.confirmed = head.last;
      }
    }
  };

  private ackUpTo(seq: number): void {
    if (seq <= this.confirmed) return;
    this.send(seq, seq > this.confirmed + 1, true);
    this.confirmed = seq;
  }
}
