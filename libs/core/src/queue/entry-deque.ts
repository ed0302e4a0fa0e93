import type { QueueEntry } from './queue-entry';

/**
 * A growable ring buffer of entries kept in ascending `seq` order. Appending at the back and taking
 * from the front are O(1); a requeued entry goes back to its original position (usually the front),
 * which is O(1) at either end and O(n) in the rare middle case.
 */
export class EntryDeque {
  private items: (QueueEntry | undefined)[];
  private head = 0;
  private count = 0;
  private mask: number;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.items = new Array(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.count;
  }

  peekFront(): QueueEntry | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  peekBack(): QueueEntry | undefined {
    return this.count === 0 ? undefined : this.items[(this.head + this.count - 1) & this.mask];
  }

  at(index: number): QueueEntry | undefined {
    return index < 0 || index >= this.count ? undefined : this.items[(this.head + index) & this.mask];
  }

  pushBack(entry: QueueEntry): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & this.mask] = entry;
    this.count++;
  }

  pushFront(entry: QueueEntry): void {
    if (this.count === this.items.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.items[this.head] = entry;
    this.count++;
  }

  popFront(): QueueEntry | undefined {
    if (this.count === 0) return undefined;
    const entry = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return entry;
  }

  popBack(): QueueEntry | undefined {
    if (this.count === 0) return undefined;
    const index = (this.head + this.count - 1) & this.mask;
    const entry = this.items[index];
    this.items[index] = undefined;
    this.count--;
    return entry;
  }

  /** Inserts keeping ascending seq order (the position it had before it was delivered). */
  insertBySeq(entry: QueueEntry): void {
    const front = this.peekFront();
    if (front === undefined || entry.seq < front.seq) return this.pushFront(entry);
    if (entry.seq > this.peekBack()!.seq) return this.pushBack(entry);
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[(this.head + mid) & this.mask]!.seq < entry.seq) lo = mid + 1;
      else hi = mid;
    }
    this.pushBack(entry);
    for (let i = this.count - 1; i > lo; i--) {
      this.items[(this.head + i) & this.mask] = this.items[(this.head + i - 1) & this.mask];
    }
    this.items[(this.head + lo) & this.mask] = entry;
  }

  /** Removes every entry, calling `visit` on each in order. */
  drain(visit: (entry: QueueEntry) => void): void {
    while (this.count > 0) visit(this.popFront()!);
  }

  /** Removes the entries for which `drop` returns true, keeping order. Returns how many. */
  removeWhere(drop: (entry: QueueEntry) => boolean): number {
    let kept = 0;
    const n = this.count;
    for (let i = 0; i < n; i++) {
      const entry = this.items[(this.head + i) & this.mask]!;
      if (!drop(entry)) this.items[(this.head + kept++) & this.mask] = entry;
    }
    for (let i = kept; i < n; i++) this.items[(this.head + i) & this.mask] = undefined;
    this.count = kept;
    return n - kept;
  }

  private grow(): void {
    const old = this.items;
    const next: (QueueEntry | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.items = next;
    this.head = 0;
    this.mask = next.length - 1;
  }
}
