import type { Consumer, Queue, QueueEntry } from '#core';

let nextTag = 0;

/**
 * A blocked /receive_block request as a consumer of its lane: credit for exactly one job. The
 * queue hands it the job unacked; the HTTP layer acks it once the response is written (or puts
 * it back if the client went away), so a vanished client consumes nothing.
 */
export class BlockedReceiver implements Consumer {
  readonly tag = `http-receive-${++nextTag}`;
  readonly priority = 0;
  readonly exclusive = false;
  readonly autoAck = false;
  private done = false;
  private resolve!: (entry: QueueEntry | null) => void;
  /** The job, or null when the wait ended without one (timeout, cancel, queue gone). */
  readonly result: Promise<QueueEntry | null>;

  constructor(readonly queue: Queue) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
  }

  hasCredit(): boolean {
    return !this.done;
  }

  deliver(entry: QueueEntry): void {
    this.done = true;
    this.queue.removeConsumer(this);
    this.resolve(entry);
  }

  /** Stops waiting (client gone, timeout, shutdown). No effect once a job was handed over. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.queue.removeConsumer(this);
    this.resolve(null);
  }

  cancelledByQueue(): void {
    if (this.done) return;
    this.done = true;
    this.resolve(null);
  }

  get waiting(): boolean {
    return !this.done;
  }
}
