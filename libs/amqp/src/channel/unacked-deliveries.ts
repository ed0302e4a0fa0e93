import type { QueueEntry } from '#core';

/** A consumer's prefetch limits (basic.qos global=false when it subscribed) and what it holds. */
export class ConsumerCredit {
  /** Changed only by UnackedDeliveries. */
  unacked = 0;
  unackedBytes = 0;

  constructor(
    /** 0 = unlimited. */
    readonly prefetchCount: number,
    readonly prefetchSize: number,
  ) {}
}

/**
 * A channel's unacknowledged deliveries in delivery-tag order, and every counter that depends on
 * them: per channel (basic.qos global=true) and per consumer. Tags only grow, so lookups are a
 * binary search and the usual in-order acks pop from the front; no per-delivery allocation.
 */
export class UnackedDeliveries {
  private tags: number[] = [];
  private entries: (QueueEntry | null)[] = [];
  private credits: (ConsumerCredit | null)[] = [];
  /** When each was delivered (ms), for the consumer timeout. */
  private deliveredAt: number[] = [];
  private head = 0;
  private live = 0;
  private bytes = 0;
  /** basic.qos(global=true): shared by all consumers of the channel; 0 = unlimited. */
  private channelPrefetchCount = 0;
  private channelPrefetchSize = 0;

  get size(): number {
    return this.live;
  }

  /** Whether a channel-wide limit is set (settling frees credit every consumer may use). */
  get channelLimited(): boolean {
    return this.channelPrefetchCount > 0 || this.channelPrefetchSize > 0;
  }

  get prefetchCount(): number {
    return this.channelPrefetchCount;
  }

  setChannelPrefetch(count: number, size: number): void {
    this.channelPrefetchCount = count;
    this.channelPrefetchSize = size;
  }

  /** Whether a delivery of `size` bytes to a consumer with `credit` fits every limit now. */
  hasCredit(credit: ConsumerCredit, size: number): boolean {
    if (credit.prefetchCount > 0 && credit.unacked >= credit.prefetchCount) return false;
    if (credit.prefetchSize > 0 && credit.unacked > 0 && credit.unackedBytes + size > credit.prefetchSize) return false;
    if (this.channelPrefetchCount > 0 && this.live >= this.channelPrefetchCount) return false;
    if (this.channelPrefetchSize > 0 && this.live > 0 && this.bytes + size > this.channelPrefetchSize) return false;
    return true;
  }

  /** Records a delivery (credit null: a basic.get). */
  add(entry: QueueEntry, tag: number, credit: ConsumerCredit | null): void {
    const size = entry.message.body.length;
    entry.deliveryTag = tag;
    this.tags.push(tag);
    this.entries.push(entry);
    this.credits.push(credit);
    this.deliveredAt.push(Date.now());
    this.live++;
    this.bytes += size;
    if (credit !== null) {
      credit.unacked++;
      credit.unackedBytes += size;
    }
  }

  /** The oldest delivery still unacknowledged and when it was made. */
  oldest(): { entry: QueueEntry; deliveredAt: number } | undefined {
    if (this.live === 0) return undefined;
    return { entry: this.entries[this.head]!, deliveredAt: this.deliveredAt[this.head]! };
  }

  has(tag: number): boolean {
    return this.indexOf(tag) >= 0;
  }

  /** Removes and returns the delivery with this tag. */
  take(tag: number): QueueEntry | undefined {
    const at = this.indexOf(tag);
    if (at < 0) return undefined;
    const entry = this.removeAt(at);
    this.trim();
    return entry;
  }

  /**
   * Removes every delivery with a tag up to and including `tag`, in order. Deliveries made while
   * it runs (a requeued message redelivered at once) are not part of it.
   */
  takeUpTo(tag: number, visit: (entry: QueueEntry) => void): number {
    let count = 0;
    const end = this.entries.length;
    for (let i = this.head; i < end && this.tags[i]! <= tag; i++) {
      if (this.entries[i] === null) continue;
      count++;
      visit(this.removeAt(i));
    }
    this.trim();
    return count;
  }

  /** Removes every delivery, in order. */
  takeAll(visit: (entry: QueueEntry) => void): number {
    return this.takeUpTo(Number.MAX_SAFE_INTEGER, visit);
  }

  private removeAt(at: number): QueueEntry {
    const entry = this.entries[at]!;
    const credit = this.credits[at] ?? null;
    const size = entry.message.body.length;
    this.entries[at] = null;
    this.credits[at] = null;
    this.live--;
    this.bytes -= size;
    if (credit !== null) {
      credit.unacked--;
      credit.unackedBytes -= size;
    }
    return entry;
  }

  private indexOf(tag: number): number {
    const tags = this.tags;
    let lo = this.head;
    let hi = tags.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = tags[mid]!;
      if (t === tag) return this.entries[mid] === null ? -1 : mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private trim(): void {
    const entries = this.entries;
    while (this.head < entries.length && entries[this.head] === null) this.head++;
    if (this.head === entries.length) {
      this.tags.length = 0;
      entries.length = 0;
      this.credits.length = 0;
      this.deliveredAt.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > entries.length) {
      this.tags = this.tags.slice(this.head);
      this.entries = entries.slice(this.head);
      this.credits = this.credits.slice(this.head);
      this.deliveredAt = this.deliveredAt.slice(this.head);
      this.head = 0;
    }
  }
}
