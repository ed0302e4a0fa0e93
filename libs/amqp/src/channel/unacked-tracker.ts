import type { QueueEntry } from '#core';

/**
 * A channel's unacknowledged deliveries in delivery-tag order. Tags only grow, so lookups are a
 * binary search and the usual in-order acks pop from the front; no per-delivery allocation.
 */
export class UnackedTracker {
  private tags: number[] = [];
  private items: (QueueEntry | null)[] = [];
  private head = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(entry: QueueEntry): void {
    this.tags.push(entry.deliveryTag);
    this.items.push(entry);
    this.live++;
  }

  /** Removes and returns the delivery with this tag. */
  take(tag: number): QueueEntry | undefined {
    const at = this.indexOf(tag);
    if (at < 0) return undefined;
    const entry = this.items[at]!;
    this.items[at] = null;
    this.live--;
    this.trim();
    return entry;
  }

  /**
   * Removes every delivery with a tag up to and including `tag`, in order. Deliveries made while
   * it runs (a requeued message redelivered at once) are not part of it.
   */
  takeUpTo(tag: number, visit: (entry: QueueEntry) => void): number {
    let count = 0;
    const items = this.items;
    const tags = this.tags;
    const end = items.length;
    for (let i = this.head; i < end && tags[i]! <= tag; i++) {
      const entry = items[i];
      if (entry === null || entry === undefined) continue;
      items[i] = null;
      this.live--;
      count++;
      visit(entry);
    }
    this.trim();
    return count;
  }

  /** Removes every delivery, in order. */
  takeAll(visit: (entry: QueueEntry) => void): number {
    return this.takeUpTo(Number.MAX_SAFE_INTEGER, visit);
  }

  has(tag: number): boolean {
    return this.indexOf(tag) >= 0;
  }

  private indexOf(tag: number): number {
    const tags = this.tags;
    let lo = this.head;
    let hi = tags.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = tags[mid]!;
      if (t === tag) return this.items[mid] === null ? -1 : mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private trim(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head] === null) this.head++;
    if (this.head === items.length) {
      this.tags.length = 0;
      items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.tags = this.tags.slice(this.head);
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }
}
