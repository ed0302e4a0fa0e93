import type { WriteBatch } from './write-batch';

/** Below this share of inserts spared by recent waits, waiting is not worth its latency. */
const MIN_SPARED_SHARE = 0.5;
/** Weight of the latest wait in the running share. */
const SPARED_WEIGHT = 0.2;
/** While waits spare little, one wait per this interval (at least ten waits long) checks whether consumers got faster. */
const PROBE_INTERVAL_MS = 250;

/**
 * Holds an open batch back for a few milliseconds when every message it would insert is already
 * out with a consumer: an ack arriving meanwhile cancels the insert, so the message is never
 * written, and its publisher is confirmed at the ack (see Message.whenConsumedUnwritten). This is
 * what RabbitMQ's message store gets from writing asynchronously: a consumer that keeps up spares
 * the disk. A batch holding anything else, or grown large, is not held; confirm latency grows by
 * at most `delayMs`, and only for messages a consumer already has. Waits that spare little (the
 * consumers take longer than the wait to ack) stop, except for an occasional probe.
 */
export class AckWait {
  private timer: NodeJS.Timeout | null = null;
  private heldBatch = -1;
  /** Running share of the inserts of held batches that acks cancelled before they were sent. */
  private sparedShare = 1;
  private lastHoldAt = 0;

  constructor(
    private readonly delayMs: number,
    private readonly maxBytes: number,
    /** Called when the wait is over: the held batch should go now. */
    private readonly onDue: () => void,
  ) {}

  /** True when `batch` should wait for acks (a timer then calls onDue); false: send it now. */
  holds(batch: WriteBatch): boolean {
    if (this.delayMs <= 0) return false;
    if (this.heldBatch === batch.no) {
      // held once already: still waiting, unless it grew large; its wait is not renewed
      if (this.timer !== null && batch.bytes < this.maxBytes) return true;
      this.cancel();
      return false;
    }
    if (batch.bytes >= this.maxBytes || !batch.insertsAllDelivered()) return false;
    const now = Date.now();
    if (this.sparedShare < MIN_SPARED_SHARE && now - this.lastHoldAt < Math.max(PROBE_INTERVAL_MS, 10 * this.delayMs)) return false;
    this.cancel();
    this.heldBatch = batch.no;
    this.lastHoldAt = now;
    this.timer = setTimeout(this.due, this.delayMs);
    return true;
  }

  /**
   * One of `batch`'s inserts was cancelled. Returns true when that ended its wait: every insert
   * was spared, so whatever else waits for its commit (a job's ok, a delivery's 202) need not.
   */
  insertCancelled(batch: WriteBatch): boolean {
    if (batch.no !== this.heldBatch || this.timer === null || batch.insertsCancelled < batch.insertsQueued) return false;
    this.cancel();
    return true;
  }

  /** `batch` goes to the writer: if it was held, learn how much the wait spared. */
  sending(batch: WriteBatch): void {
    this.cancel();
    if (batch.no !== this.heldBatch || batch.insertsQueued === 0) return;
    const share = batch.insertsCancelled / batch.insertsQueued;
    this.sparedShare += (share - this.sparedShare) * SPARED_WEIGHT;
  }

  private cancel(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly due = (): void => {
    this.timer = null;
    this.onDue();
  };
}
