import { EntryDeque } from './entry-deque';
import type { EntryPager } from './entry-pager';
import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';

/** Rough per-entry memory beyond the body (entry, message, properties objects). */
export const ENTRY_OVERHEAD_BYTES = 320;
/** Most entries read back from the store at once. */
const REFILL_CHUNK = 4096;
/** A bucket whose in-memory head is shorter than this reads its next chunk ahead of need. */
const REFILL_LOW_WATER = 1024;

/** Rough extra memory of a decoded headers table (measured ~300 B for a job's five headers). */
const HEADERS_OVERHEAD_BYTES = 320;

/** Estimated memory of a ready entry: body, fixed overhead, and decoded headers if any. */
export const entryCost = (entry: QueueEntry): number =>
  entry.message.body.length +
  ENTRY_OVERHEAD_BYTES +
  (entry.message.properties.headers !== undefined ? HEADERS_OVERHEAD_BYTES : 0);

/** Ready entries of one rank: an in-memory head and, possibly, a paged-out tail in the store. */
class RankBucket {
  readonly memory = new EntryDeque();
  /** Entries that live only in the store, all with seq > `pagedAfter`. */
  paged = 0;
  pagedAfter = 0;
  /** The batch holding the newest paged write: read back only once it is committed. */
  pagedBatch = 0;
  /** Paged entries removed one by one (job deletion): skipped when read back. */
  removed: Set<number> | null = null;

  constructor(readonly rank: number) {}

  get count(): number {
    return this.memory.length + this.paged;
  }
}

/**
 * The ready (undelivered) entries of a queue, ordered by rank then seq. A queue without priorities
 * has a single bucket, which keeps plain FIFO the fast path. Memory is bounded by a byte budget.
 */
export class ReadySet {
  private readonly single: RankBucket | null;
  private readonly buckets = new Map<number, RankBucket>();
  /** Ranks whose bucket is non-empty, ascending (priority queues only). */
  private readonly activeRanks: number[] = [];
  private total = 0;
  private memoryBytes = 0;
  private totalBytes = 0;
  /** Body bytes of paged-out entries (part of totalBytes). */
  private pagedBytes = 0;
  private refillWaiting = false;

  constructor(
    private readonly queue: Queue,
    prioritized: boolean,
    private readonly pager: EntryPager | null,
    private readonly memoryBudget: number,
    /** Rows of entries held elsewhere (delayed): skipped when paged rows are read back. */
    private readonly heldElsewhere: (seq: number) => boolean = () => false,
  ) {
    this.single = prioritized ? null : new RankBucket(0);
  }

  get count(): number {
    return this.total;
  }

  /** Bytes of the bodies of all ready entries (in memory or paged). */
  get bytes(): number {
    return this.totalBytes;
  }

  get bytesInMemory(): number {
    return this.memoryBytes;
  }

  get pagedCount(): number {
    if (this.single) return this.single.paged;
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.paged;
    return n;
  }

  /** Adds a newly arrived entry behind everything of its rank. */
  append(entry: QueueEntry): void {
    const bucket = this.bucketFor(entry.rank);
    this.total++;
    this.totalBytes += entry.message.body.length;
    if (bucket.paged > 0 && this.pager) {
      bucket.pagedBatch = this.pager.pageOut(entry);
      bucket.paged++;
      this.pagedBytes += entry.message.body.length;
      return;
    }
    bucket.memory.pushBack(entry);
    this.memoryBytes += entryCost(entry);
    if (this.memoryBytes > this.memoryBudget && this.pager) this.pageOutTail();
  }

  /**
   * Puts an entry back in its original position: a requeued delivery, or a delayed entry that is
   * due. One that belongs after the paged-out tail joins the tail (its row is in the store).
   */
  restore(entry: QueueEntry): void {
    const bucket = this.bucketFor(entry.rank);
    this.total++;
    this.totalBytes += entry.message.body.length;
    if (bucket.paged > 0 && entry.seq > bucket.pagedAfter && this.pager) {
      bucket.pagedBatch = Math.max(bucket.pagedBatch, this.pager.pageOut(entry));
      bucket.paged++;
      this.pagedBytes += entry.message.body.length;
      return;
    }
    this.memoryBytes += entryCost(entry);
    bucket.memory.insertBySeq(entry);
  }

  /**
   * Takes the first entry, or undefined when empty or when the head must first be read back from
   * the store (then `onRefilled` is called once it can be).
   */
  take(onRefilled: () => void): QueueEntry | undefined {
    const bucket = this.single ?? this.firstActive();
    if (bucket === undefined) return undefined;
    let entry = bucket.memory.popFront();
    if (entry === undefined) {
      if (!this.refill(bucket, onRefilled)) return undefined;
      entry = bucket.memory.popFront()!;
    } else if (bucket.paged > 0 && bucket.memory.length < REFILL_LOW_WATER && this.memoryBytes < this.memoryBudget * 0.75) {
      // one chunk ahead, at most one read per take: never a burst of reads in one turn
      this.refill(bucket, onRefilled);
    }
    this.total--;
    this.totalBytes -= entry.message.body.length;
    this.memoryBytes -= entryCost(entry);
    if (!this.single && bucket.count === 0) this.deactivate(bucket);
    return entry;
  }

  /** Removes one ready entry, wherever it is (in memory or paged). Returns false if not here. */
  remove(entry: QueueEntry): boolean {
    const bucket = this.single ?? this.buckets.get(entry.rank);
    if (bucket === undefined) return false;
    const removed = bucket.memory.removeWhere((e) => e === entry);
    if (removed > 0) {
      this.memoryBytes -= entryCost(entry);
    } else if (bucket.paged > 0 && entry.seq > bucket.pagedAfter && !bucket.removed?.has(entry.seq)) {
      (bucket.removed ??= new Set()).add(entry.seq);
      bucket.paged--;
      this.pagedBytes -= entry.message.body.length;
    } else return false;
    this.total--;
    this.totalBytes -= entry.message.body.length;
    if (!this.single && bucket.count === 0) this.deactivate(bucket);
    return true;
  }

  /** Whether some paged-out rows are not committed yet (listing must wait for the commit). */
  get pagedUncommitted(): boolean {
    if (this.pager === null) return false;
    const committed = this.pager.committedBatch();
    if (this.single) return this.single.paged > 0 && committed < this.single.pagedBatch;
    for (const bucket of this.buckets.values()) if (bucket.paged > 0 && committed < bucket.pagedBatch) return true;
    return false;
  }

  /**
   * Visits ready entries in dispatch order; paged ones are read from the store (not loaded), so
   * call it when `pagedUncommitted` is false. Stops when `visit` returns false.
   */
  list(visit: (entry: QueueEntry) => boolean): void {
    const buckets = this.single ? [this.single] : this.activeRanks.map((r) => this.buckets.get(r)!);
    for (const bucket of buckets) {
      for (let i = 0; i < bucket.memory.length; i++) if (!visit(bucket.memory.at(i)!)) return;
      if (bucket.paged === 0 || this.pager === null) continue;
      let cursor = bucket.pagedAfter;
      for (;;) {
        const rows = this.pager.readPaged(this.queue, bucket.rank, cursor, REFILL_CHUNK);
        for (const entry of rows) {
          if (bucket.removed?.has(entry.seq) || this.heldElsewhere(entry.seq)) continue;
          if (!visit(entry)) return;
        }
        if (rows.length < REFILL_CHUNK) break;
        cursor = rows[rows.length - 1]!.seq;
      }
    }
  }

  peek(): QueueEntry | undefined {
    const bucket = this.single ?? this.firstActive();
    return bucket?.memory.peekFront();
  }

  /**
   * Removes every ready entry: in-memory ones are passed to `visit`; paged ones are reported per
   * rank bucket through `visitPaged(rank, afterSeq)` so the store can delete them by range.
   */
  clear(visit: (entry: QueueEntry) => void, visitPaged: (rank: number, afterSeq: number) => void): number {
    const removed = this.total;
    const clearBucket = (bucket: RankBucket): void => {
      bucket.memory.drain(visit);
      if (bucket.paged > 0) visitPaged(bucket.rank, bucket.pagedAfter);
      bucket.paged = 0;
    };
    if (this.single) clearBucket(this.single);
    else {
      for (const bucket of this.buckets.values()) clearBucket(bucket);
      this.buckets.clear();
      this.activeRanks.length = 0;
    }
    this.total = 0;
    this.memoryBytes = 0;
    this.totalBytes = 0;
    this.pagedBytes = 0;
    return removed;
  }

  /** Loads recovered state: an in-memory head plus a paged tail count for one rank. */
  recover(rank: number, head: QueueEntry[], pagedAfter: number, pagedCount: number, pagedBytes: number): void {
    const bucket = this.bucketFor(rank);
    for (const entry of head) {
      bucket.memory.pushBack(entry);
      this.memoryBytes += entryCost(entry);
      this.totalBytes += entry.message.body.length;
    }
    bucket.paged = pagedCount;
    bucket.pagedAfter = pagedAfter;
    this.total += head.length + pagedCount;
    this.totalBytes += pagedBytes;
    this.pagedBytes += pagedBytes;
  }

  /** Visits in-memory ready entries (for expiry scans, listings); stops when `visit` returns false. */
  forEachInMemory(visit: (entry: QueueEntry) => boolean): void {
    const buckets = this.single ? [this.single] : this.activeRanks.map((r) => this.buckets.get(r)!);
    for (const bucket of buckets) {
      for (let i = 0; i < bucket.memory.length; i++) if (!visit(bucket.memory.at(i)!)) return;
    }
  }

  private bucketFor(rank: number): RankBucket {
    if (this.single) return this.single;
    let bucket = this.buckets.get(rank);
    if (bucket === undefined) {
      bucket = new RankBucket(rank);
      this.buckets.set(rank, bucket);
    }
    if (bucket.count === 0) this.activate(rank);
    return bucket;
  }

  private firstActive(): RankBucket | undefined {
    const rank = this.activeRanks[0];
    return rank === undefined ? undefined : this.buckets.get(rank);
  }

  private activate(rank: number): void {
    const ranks = this.activeRanks;
    let lo = 0;
    let hi = ranks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ranks[mid]! < rank) lo = mid + 1;
      else hi = mid;
    }
    if (ranks[lo] !== rank) ranks.splice(lo, 0, rank);
  }

  private deactivate(bucket: RankBucket): void {
    const at = this.activeRanks.indexOf(bucket.rank);
    if (at >= 0) this.activeRanks.splice(at, 1);
    this.buckets.delete(bucket.rank);
  }

  /** Moves entries from the back (last rank, newest first) to the store until under budget. */
  private pageOutTail(): void {
    const pager = this.pager!;
    const target = this.memoryBudget * 0.9;
    while (this.memoryBytes > target) {
      const bucket = this.single ?? this.lastWithMemory();
      if (bucket === undefined) return;
      const entry = bucket.memory.popBack();
      if (entry === undefined) return;
      bucket.pagedBatch = Math.max(bucket.pagedBatch, pager.pageOut(entry));
      bucket.paged++;
      bucket.pagedAfter = entry.seq - 1;
      const newTail = bucket.memory.peekBack();
      if (newTail !== undefined && newTail.seq > bucket.pagedAfter) bucket.pagedAfter = newTail.seq;
      this.memoryBytes -= entryCost(entry);
      this.pagedBytes += entry.message.body.length;
    }
  }

  private lastWithMemory(): RankBucket | undefined {
    for (let i = this.activeRanks.length - 1; i >= 0; i--) {
      const bucket = this.buckets.get(this.activeRanks[i]!)!;
      if (bucket.memory.length > 0) return bucket;
    }
    return undefined;
  }

  /** Reads the next chunk of a bucket's paged tail. Returns whether entries are now in memory. */
  private refill(bucket: RankBucket, onRefilled: () => void): boolean {
    const pager = this.pager;
    if (pager === null || bucket.paged === 0) return bucket.memory.length > 0;
    if (pager.committedBatch() < bucket.pagedBatch) {
      if (!this.refillWaiting) {
        this.refillWaiting = true;
        pager.afterCommit(() => {
          this.refillWaiting = false;
          onRefilled();
        });
      }
      return bucket.memory.length > 0;
    }
    const pagedTotal = this.pagedCount;
    const averageCost = ENTRY_OVERHEAD_BYTES + (pagedTotal > 0 ? this.pagedBytes / pagedTotal : 0);
    const room = Math.max(1, Math.floor((this.memoryBudget * 0.9 - this.memoryBytes) / averageCost));
    do {
      const wanted = Math.min(REFILL_CHUNK, bucket.paged, room) + (bucket.removed?.size ?? 0);
      const rows = pager.readPaged(this.queue, bucket.rank, bucket.pagedAfter, wanted);
      if (rows.length === 0) {
        // The store has nothing more for this bucket: the count was stale. Never wedge on it.
        this.total -= bucket.paged;
        bucket.paged = 0;
        bucket.removed = null;
        break;
      }
      bucket.pagedAfter = rows[rows.length - 1]!.seq;
      for (const entry of rows) {
        if (bucket.removed?.delete(entry.seq) || this.heldElsewhere(entry.seq)) continue;
        bucket.paged--;
        bucket.memory.pushBack(entry);
        this.memoryBytes += entryCost(entry);
        this.pagedBytes -= entry.message.body.length;
      }
      if (bucket.removed) {
        // removed rows below the cursor that did not come back were deleted already
        for (const seq of bucket.removed) if (seq <= bucket.pagedAfter) bucket.removed.delete(seq);
        if (bucket.removed.size === 0) bucket.removed = null;
      }
    } while (bucket.memory.length === 0 && bucket.paged > 0);
    return bucket.memory.length > 0;
  }
}
