import type { QueueEntry } from './queue-entry';

interface Delayed {
  dueAt: number;
  entry: QueueEntry;
}

/**
 * Entries waiting for their not-before time: a binary min-heap on (due time, seq) and one timer
 * for the earliest, so a million delayed messages cost one timer.
 */
export class DelayedSet {
  private heap: Delayed[] = [];
  /** Seqs held here, so paged reads of the same rows can skip them. */
  private readonly seqs = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;

  constructor(private readonly onDue: (entries: QueueEntry[]) => void) {}

  get size(): number {
    return this.heap.length;
  }

  has(seq: number): boolean {
    return this.seqs.has(seq);
  }

  add(entry: QueueEntry, dueAt: number): void {
    this.seqs.add(entry.seq);
    const heap = this.heap;
    heap.push({ dueAt, entry });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    this.arm();
  }

  /** Removes one entry (job deletion); O(n). */
  remove(entry: QueueEntry): boolean {
    const at = this.heap.findIndex((d) => d.entry === entry);
    if (at < 0) return false;
    const items = this.heap.filter((_, i) => i !== at);
    this.heap = [];
    this.seqs.clear();
    for (const item of items) this.add(item.entry, item.dueAt);
    if (this.heap.length === 0) this.disarm();
    return true;
  }

  /** Entries in due order (for listings). */
  list(): { entry: QueueEntry; dueAt: number }[] {
    return [...this.heap].sort((a, b) => (before(a, b) ? -1 : 1));
  }

  /** Removes everything, visiting each entry. */
  clear(visit: (entry: QueueEntry) => void): number {
    const items = this.heap;
    this.heap = [];
    this.seqs.clear();
    this.disarm();
    for (const item of items) visit(item.entry);
    return items.length;
  }

  private takeDue(now: number): QueueEntry[] {
    const due: QueueEntry[] = [];
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.dueAt <= now) {
      due.push(heap[0]!.entry);
      this.seqs.delete(heap[0]!.entry.seq);
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return due;
  }

  private arm(): void {
    const first = this.heap[0];
    if (first === undefined || first.dueAt >= this.timerDue) return;
    this.disarm();
    this.timerDue = first.dueAt;
    // timers cannot wait longer than ~24.8 days; re-arm on wake-up if needed
    const wait = Math.min(Math.max(0, first.dueAt - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(this.fire, wait);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerDue = Infinity;
    const due = this.takeDue(Date.now());
    this.arm();
    if (due.length > 0) this.onDue(due);
  };

  /** Stops the timer (queue deleted or broker closing). */
  stop(): void {
    this.disarm();
  }
}

const before = (a: Delayed, b: Delayed): boolean => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.entry.seq < b.entry.seq);
