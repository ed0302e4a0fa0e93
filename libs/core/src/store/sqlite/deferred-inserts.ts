import { EntryState, QueueEntry } from '../../queue/queue-entry';
import type { CommitPipeline } from '../commit-pipeline';
import type { WriteBatch } from './write-batch';

/** Below this share of deferred inserts spared by an ack, deferring only costs confirm latency. */
const MIN_SPARED_SHARE = 0.5;
/** Weight of the latest outcome in the running share. */
const SPARED_WEIGHT = 0.05;
/**
 * While deferring spares little, one batch per this interval defers again, to see whether consumers
 * got faster. Rare: a probe holds every commit token after it for up to the window.
 */
const PROBE_INTERVAL_MS = 2000;

interface Deferral {
  /** The batch the insert was made in: its tokens wait for the insert. */
  from: number;
  /** From then on it is written at the next seal. */
  dueAt: number;
  bytes: number;
}

/**
 * Moves the insert of a large body that is out with a consumer, unacked, or ready in a queue with
 * consumers, from the batch being sealed on to the next one, for at most `windowMs` and `maxBytes`
 * in all: an ack arriving
 * meanwhile cancels the insert, so the body never reaches the disk (RabbitMQ's message store drops
 * a write whose message is gone the same way). The pipeline holds every token from the insert's
 * batch on until the insert is written in a later batch that committed, or settled by the ack;
 * the publisher's confirm is then sent at the ack (Message.whenConsumedUnwritten), as RabbitMQ
 * confirms a persistent message once it is on disk or consumed.
 *
 * Only an insert of the batch's last segment moves, first or again (the carried insert then runs
 * first in the next batch: what it skips is writes of other entries, never a definition change), and only when it is its message's one unwritten
 * insert, so no other row of the message can come to point at a body it has not written yet.
 * Every deferred insert sits in the open batch (WriteBatch.carry).
 */
export class DeferredInserts {
  /** In deferral order, so the first is due first. */
  private readonly deferred = new Map<QueueEntry, Deferral>();
  private bytes = 0;
  /** Running share of deferred inserts that an ack spared. */
  private sparedShare = 1;
  private lastProbeAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Inserts deferred and how many of them were spared (for tests and the bench). */
  deferredCount = 0;
  sparedCount = 0;

  constructor(
    private readonly pipeline: CommitPipeline<WriteBatch>,
    private readonly windowMs: number,
    private readonly maxBytes: number,
    /** Bodies below this size are written at once: their write costs less than the wait. */
    private readonly minBodyBytes: number,
  ) {}

  /**
   * At the seal of batch `no`, for an insert still Pending whose message can be written: true when
   * it moves on to the next batch (the caller carries it there), false when it is written now.
   */
  defers(entry: QueueEntry, no: number, lastSegment: boolean, now: number): boolean {
    const deferral = this.deferred.get(entry);
    if (deferral !== undefined) {
      if (!this.stopped && lastSegment && now < deferral.dueAt && this.mayWait(entry)) return true;
      this.forget(entry, deferral);
      this.pipeline.deferredWritten(deferral.from, no);
      this.learn(0);
      return false;
    }
    if (this.stopped || this.windowMs <= 0 || !lastSegment) return false;
    const bytes = entry.message.body.length;
    if (bytes < this.minBodyBytes || this.bytes + bytes > this.maxBytes || !this.mayWait(entry)) return false;
    if (this.sparedShare < MIN_SPARED_SHARE) {
      if (now - this.lastProbeAt < PROBE_INTERVAL_MS) return false;
      // a probe: deferring goes on until the outcomes of what it defers say otherwise, so a
      // consumer that got faster gets the spared writes back at once
      this.lastProbeAt = now;
      this.sparedShare = MIN_SPARED_SHARE;
    }
    this.deferred.set(entry, { from: no, dueAt: now + this.windowMs, bytes });
    this.bytes += bytes;
    this.deferredCount++;
    this.pipeline.deferFrom(no);
    return true;
  }

  /** A deferred insert will never be written (acked, or dropped): true if `entry` was one. */
  settle(entry: QueueEntry): boolean {
    const deferral = this.deferred.get(entry);
    if (deferral === undefined) return false;
    this.forget(entry, deferral);
    this.sparedCount++;
    this.learn(1);
    this.pipeline.deferredSettled(deferral.from);
    return true;
  }

  /**
   * With nothing in flight: true when the open batch holds nothing but deferred inserts that are
   * not due yet, so it waits (the pipeline's `sendHeld` runs when the first is due).
   */
  holds(batch: WriteBatch): boolean {
    if (this.stopped || this.deferred.size === 0 || batch.ops !== this.deferred.size) return false;
    const first = this.deferred.values().next().value as Deferral;
    const wait = first.dueAt - Date.now();
    if (wait <= 0) return false;
    this.timer ??= setTimeout(this.due, wait);
    return true;
  }

  /** The store closes: every insert is written at the next seal, none waits any more. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /**
   * Out with a consumer, or ready in a queue with consumers (a 1 MB body waits for the consumer's
   * socket to take the ones before it, so most are still ready at their seal), and still its
   * message's one unwritten insert.
   */
  private mayWait(entry: QueueEntry): boolean {
    return (entry.state === EntryState.Unacked || (entry.state === EntryState.Ready && entry.queue.consumerCount > 0)) && entry.message.hasOneUnwrittenInsert() && entry.message.sharedBodyId === 0;
  }

  private forget(entry: QueueEntry, deferral: Deferral): void {
    this.deferred.delete(entry);
    this.bytes -= deferral.bytes;
  }

  private learn(spared: number): void {
    this.sparedShare += (spared - this.sparedShare) * SPARED_WEIGHT;
  }

  private readonly due = (): void => {
    this.timer = null;
    this.pipeline.sendHeld();
  };
}
