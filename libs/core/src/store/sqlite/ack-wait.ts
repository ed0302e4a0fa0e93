import type { WriteBatch } from './write-batch';

/**
 * Holds an open batch back for a few milliseconds when every message it would insert is already
 * out with a consumer: an ack arriving meanwhile cancels the insert, so the message is never
 * written, and its publisher is confirmed at the ack (see Message.whenConsumedUnwritten). This is
 * what RabbitMQ's message store gets from writing asynchronously: a consumer that keeps up spares
 * the disk. A batch holding anything else, or grown large, is not held; confirm latency grows by
 * at most `delayMs`, and only for messages a consumer already has.
 */
export class AckWait {
  private timer: NodeJS.Timeout | null = null;
  private heldBatch = -1;

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
    this.cancel();
    this.heldBatch = batch.no;
    this.timer = setTimeout(this.due, this.delayMs);
    return true;
  }

  cancel(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly due = (): void => {
    this.timer = null;
    this.onDue();
  };
}
