import type { CommitToken } from '../store/commit-token';
import type { EntryResidence } from './key-index';
import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';
import type { QueueStore } from './queue-store';

/** What the delayed set needs from the store to keep only a bounded number of entries in memory. */
export interface DelayedPager {
  /** Makes sure the entry has a row (writing it if memory-only); the token after which it can be read. */
  pageOut(entry: QueueEntry): CommitToken;
  isCommitted(token: CommitToken): boolean;
  whenCommitted(token: CommitToken, callback: () => void): void;
  /** Reads one entry's row back; undefined if it is gone. */
  readEntry(seq: number): QueueEntry | undefined;
}

/** The pager of one queue's delayed entries, over the queue's store. */
export function delayedPagerFor(store: QueueStore, queue: Queue): DelayedPager {
  return {
    pageOut: (entry) => store.pageOut(entry),
    isCommitted: (token) => store.isCommitted(token),
    whenCommitted: (token, callback) => store.whenCommitted(token, () => callback()),
    readEntry: (seq) => store.readEntry(queue, seq),
  };
}

export interface DelayedLimits {
  /** Entries kept in memory at most; the rest wait as rows in the store. */
  residentCount: number;
  /** Body bytes kept in memory at most. */
  residentBytes: number;
}

/** Most due entries handed on per timer turn, so a burst cannot block the event loop. */
const DUE_BATCH = 2048;
/** Longest delay Node's timers take (about 24.8 days); later times are reached in steps. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * Entries waiting for their not-before time: a binary min-heap on (due time, seq) kept as three
 * parallel arrays, and one timer for the earliest, so a million delayed messages cost one timer.
 * Beyond the resident limits an entry's message lives only in the store (its slot keeps the due
 * time and seq, about 24 bytes plus its seq in `seqs`) and is read back when it is due.
 */
export class DelayedSet {
  private readonly dueAt: number[] = [];
  private readonly seqOf: number[] = [];
  /** The entry when resident, null when paged out. */
  private readonly entryOf: (QueueEntry | null)[] = [];
  /** Seqs held here, so paged reads of the same rows by the ready set skip them. */
  private readonly seqs = new Set<number>();
  private residentCount = 0;
  private residentBytes = 0;
  /** Newest token of a paged-out row: rows are read back only once it is committed. */
  private pagedToken = 0;
  private waitingForCommit = false;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private stopped = false;

  constructor(
    private readonly onDue: (entries: QueueEntry[]) => void,
    private readonly pager: DelayedPager | null = null,
    private readonly limits: DelayedLimits = { residentCount: Infinity, residentBytes: Infinity },
    /** Told when an entry is paged out (the queue's key indexes). */
    private readonly residence: EntryResidence | null = null,
  ) {}

  get size(): number {
    return this.dueAt.length;
  }

  /** Entries whose message is only in the store. */
  get pagedCount(): number {
    return this.dueAt.length - this.residentCount;
  }

  has(seq: number): boolean {
    return this.seqs.has(seq);
  }

  /** The token to wait for before paged rows can be read, or null when they are committed. */
  get uncommittedToken(): CommitToken | null {
    return this.pagedToken > 0 && this.pager !== null && !this.pager.isCommitted(this.pagedToken as CommitToken) ? (this.pagedToken as CommitToken) : null;
  }

  /** Visits every slot: its seq, and its entry when resident (null when only in the store). */
  forEachSlot(visit: (seq: number, entry: QueueEntry | null) => void): void {
    for (let i = 0; i < this.seqOf.length; i++) visit(this.seqOf[i]!, this.entryOf[i]!);
  }

  add(entry: QueueEntry, dueAt: number): void {
    this.seqs.add(entry.seq);
    const size = entry.message.body.length;
    let kept: QueueEntry | null = entry;
    if (this.pager !== null && (this.residentCount >= this.limits.residentCount || this.residentBytes + size > this.limits.residentBytes)) {
      const token = this.pager.pageOut(entry);
      if (token > this.pagedToken) this.pagedToken = token;
      kept = null;
      this.residence?.paged(entry);
    } else {
      this.residentCount++;
      this.residentBytes += size;
    }
    this.dueAt.push(dueAt);
    this.seqOf.push(entry.seq);
    this.entryOf.push(kept);
    this.siftUp(this.dueAt.length - 1);
    this.arm();
  }

  /** Removes one entry (a job deleted by id), matched by seq; O(n) to find it. */
  remove(entry: QueueEntry): boolean {
    if (!this.seqs.has(entry.seq)) return false;
    const at = this.seqOf.indexOf(entry.seq);
    if (at < 0) return false;
    this.removeAt(at);
    if (this.dueAt.length === 0) this.disarm();
    return true;
  }

  /** Entries in due order (for listings); paged ones are read from the store. */
  list(): { entry: QueueEntry; dueAt: number }[] {
    const order = this.dueAt.map((_, i) => i).sort((a, b) => (this.before(a, b) ? -1 : 1));
    const out: { entry: QueueEntry; dueAt: number }[] = [];
    for (const i of order) {
      const entry = this.entryOf[i] ?? this.pager?.readEntry(this.seqOf[i]!);
      if (entry !== undefined && entry !== null) out.push({ entry, dueAt: this.dueAt[i]! });
    }
    return out;
  }

  /**
   * Removes everything, visiting each entry. Paged entries are read back to be visited unless
   * `visitPaged` is false (the queue's rows are deleted as a whole).
   */
  clear(visit: (entry: QueueEntry) => void, visitPaged = true): number {
    const count = this.dueAt.length;
    const entries = this.entryOf.slice();
    const seqs = this.seqOf.slice();
    this.dueAt.length = 0;
    this.seqOf.length = 0;
    this.entryOf.length = 0;
    this.seqs.clear();
    this.residentCount = 0;
    this.residentBytes = 0;
    this.disarm();
    for (let i = 0; i < count; i++) {
      const entry = entries[i] ?? (visitPaged ? this.pager?.readEntry(seqs[i]!) : undefined);
      if (entry !== undefined && entry !== null) visit(entry);
    }
    return count;
  }

  /** Stops the timer (queue deleted or broker closing). */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.timerDue = Infinity;
    if (this.stopped) return;
    const now = Date.now();
    const due: QueueEntry[] = [];
    while (this.dueAt.length > 0 && this.dueAt[0]! <= now && due.length < DUE_BATCH) {
      let entry = this.entryOf[0];
      if (entry === null) {
        if (!this.pager!.isCommitted(this.pagedToken as CommitToken)) {
          this.waitForCommit();
          break;
        }
        entry = this.pager!.readEntry(this.seqOf[0]!) ?? null;
      }
      this.removeAt(0);
      if (entry !== null && entry !== undefined) due.push(entry);
    }
    if (this.dueAt.length > 0 && this.dueAt[0]! <= now && due.length >= DUE_BATCH) this.armIn(0);
    else this.arm();
    if (due.length > 0) this.onDue(due);
  };

  private waitForCommit(): void {
    if (this.waitingForCommit) return;
    this.waitingForCommit = true;
    this.pager!.whenCommitted(this.pagedToken as CommitToken, () => {
      this.waitingForCommit = false;
      this.armIn(0);
    });
  }

  private removeAt(at: number): void {
    const entry = this.entryOf[at];
    this.seqs.delete(this.seqOf[at]!);
    if (entry !== null && entry !== undefined) {
      this.residentCount--;
      this.residentBytes -= entry.message.body.length;
    }
    const last = this.dueAt.length - 1;
    if (at !== last) this.move(last, at);
    this.dueAt.pop();
    this.seqOf.pop();
    this.entryOf.pop();
    if (at < this.dueAt.length) {
      this.siftDown(at);
      this.siftUp(at);
    }
  }

  private before(a: number, b: number): boolean {
    const da = this.dueAt[a]!;
    const db = this.dueAt[b]!;
    return da < db || (da === db && this.seqOf[a]! < this.seqOf[b]!);
  }

  private move(from: number, to: number): void {
    this.dueAt[to] = this.dueAt[from]!;
    this.seqOf[to] = this.seqOf[from]!;
    this.entryOf[to] = this.entryOf[from]!;
  }

  private swap(a: number, b: number): void {
    const due = this.dueAt[a]!;
    const seq = this.seqOf[a]!;
    const entry = this.entryOf[a]!;
    this.move(b, a);
    this.dueAt[b] = due;
    this.seqOf[b] = seq;
    this.entryOf[b] = entry;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.dueAt.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private arm(): void {
    if (this.dueAt.length === 0 || this.stopped) return;
    const first = this.dueAt[0]!;
    if (first >= this.timerDue) return;
    this.armIn(first - Date.now());
  }

  private armIn(wait: number): void {
    if (this.stopped || this.waitingForCommit) return;
    this.disarm();
    this.timerDue = Date.now() + Math.max(0, wait);
    // a wake-up before the due time (a capped delay) finds nothing due and arms again
    this.timer = setTimeout(this.fire, Math.min(Math.max(0, wait), MAX_TIMER_MS));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }
}
