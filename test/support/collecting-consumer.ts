import type { Consumer, QueueEntry } from '#core';

/** A consumer for tests: records deliveries and enforces a prefetch count. */
export class CollectingConsumer implements Consumer {
  readonly received: QueueEntry[] = [];
  unacked = 0;
  cancelled = false;

  constructor(
    readonly tag: string,
    readonly prefetch = 0,
    readonly options: { priority?: number; exclusive?: boolean; autoAck?: boolean } = {},
  ) {}

  get priority(): number {
    return this.options.priority ?? 0;
  }

  get exclusive(): boolean {
    return this.options.exclusive ?? false;
  }

  get autoAck(): boolean {
    return this.options.autoAck ?? false;
  }

  hasCredit(): boolean {
    return this.prefetch === 0 || this.unacked < this.prefetch;
  }

  deliver(entry: QueueEntry): void {
    this.received.push(entry);
    if (!this.autoAck) this.unacked++;
  }

  ack(entry: QueueEntry): void {
    this.unacked--;
    entry.queue.ack(entry);
  }

  reject(entry: QueueEntry, requeue: boolean): void {
    this.unacked--;
    entry.queue.reject(entry, requeue);
  }

  cancelledByQueue(): void {
    this.cancelled = true;
  }

  bodies(): string[] {
    return this.received.map((e) => e.message.body.toString());
  }
}
