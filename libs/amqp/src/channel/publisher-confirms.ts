import { CommitToken, NO_COMMIT_NEEDED } from '#core';
import type { Durability } from './channel-host';

/** Publishes whose confirmation waits for one commit token. */
interface CommitBarrier {
  first: number;
  last: number;
  done: boolean;
  committed: boolean;
}

/** Sends one basic.ack / basic.nack; `answered` is how many publishes it newly answers. */
export type ConfirmSender = (deliveryTag: number, multiple: boolean, ack: boolean, answered: number) => void;

/**
 * Publisher confirms for one channel. A publish that wrote to the store is confirmed once its
 * batch commits; others at once, but never ahead of an earlier unconfirmed publish, so each
 * flush sends one `multiple` ack covering everything confirmable. The exception is `confirmNow`:
 * a publish that no longer needs its commit (consumers acked it before it was written) is acked
 * on its own, out of order, as RabbitMQ does; the later `multiple` ack then covers it again,
 * which clients accept, and a failed commit nacks only what was not acked already.
 */
export class PublisherConfirms {
  private lastPublished = 0;
  /** Everything up to here is answered (acked or nacked). */
  private confirmed = 0;
  private readonly barriers: CommitBarrier[] = [];
  private barrierToken: CommitToken = NO_COMMIT_NEEDED;
  private emitScheduled = false;
  /** Publishes above `confirmed` acked out of order, and those waiting to be. */
  private readonly ackedEarly = new Set<number>();
  private readonly toAckEarly: number[] = [];

  constructor(
    private readonly durability: Durability,
    private readonly send: ConfirmSender,
  ) {}

  /**
   * Registers the next publish with what it must wait for (NO_COMMIT_NEEDED: nothing). Publishes
   * that wait for the same token share one barrier. Returns its sequence number.
   */
  onPublish(token: CommitToken): number {
    const seq = ++this.lastPublished;
    if (token !== NO_COMMIT_NEEDED) {
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

  /** Registers the next publish as refused (a queue at its length limit with reject-publish): nacked, in order with the rest. */
  onRefused(): void {
    const seq = ++this.lastPublished;
    this.barriers.push({ first: seq, last: seq, done: true, committed: false });
    this.scheduleEmit();
  }

  /** Publish `seq`, still waiting for a commit, needs it no more: ack it now. */
  confirmNow(seq: number): void {
    if (seq <= this.confirmed || seq > this.lastPublished || this.ackedEarly.has(seq)) return;
    this.ackedEarly.add(seq);
    this.toAckEarly.push(seq);
    this.scheduleEmit();
  }

  private scheduleEmit(): void {
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    process.nextTick(this.emit);
  }

  private readonly emit = (): void => {
    this.emitScheduled = false;
    if (this.toAckEarly.length > 0) this.sendEarlyAcks();
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
        this.nack(head.last);
      }
    }
  };

  private sendEarlyAcks(): void {
    for (const seq of this.toAckEarly) if (seq > this.confirmed) this.send(seq, false, true, 1);
    this.toAckEarly.length = 0;
  }

  private ackUpTo(seq: number): void {
    if (seq <= this.confirmed) return;
    const answered = seq - this.confirmed - this.countAckedEarly(seq);
    // all of them acked early already: nothing left to say
    if (answered > 0) this.send(seq, seq > this.confirmed + 1, true, answered);
    this.forgetAckedEarly(seq);
    this.confirmed = seq;
  }

  /** Nacks (confirmed, last], all of which failed to commit. */
  private nack(last: number): void {
    const first = this.confirmed + 1;
    if (this.countAckedEarly(last) === 0) this.send(last, last > first, false, last - first + 1);
    else {
      // a multiple nack would contradict the acks already sent: one at a time
      for (let seq = first; seq <= last; seq++) if (!this.ackedEarly.has(seq)) this.send(seq, false, false, 1);
      this.forgetAckedEarly(last);
    }
    this.confirmed = last;
  }

  /** How many publishes in (confirmed, upTo] were acked early. */
  private countAckedEarly(upTo: number): number {
    if (this.ackedEarly.size === 0) return 0;
    let count = 0;
    for (const seq of this.ackedEarly) if (seq <= upTo) count++;
    return count;
  }

  private forgetAckedEarly(upTo: number): void {
    if (this.ackedEarly.size === 0) return;
    if (upTo >= this.lastPublished) this.ackedEarly.clear();
    else for (const seq of this.ackedEarly) if (seq <= upTo) this.ackedEarly.delete(seq);
  }
}
