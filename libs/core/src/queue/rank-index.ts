import { EntryDeque } from './entry-deque';

/** Ready entries of one rank: an in-memory head and, possibly, a paged-out tail in the store. */
export class RankBucket {
  readonly memory = new EntryDeque();
  /** Entries that live only in the store, all with seq > `pagedAfter` (kept by ReadyAccounting). */
  paged = 0;
  /** Body bytes of those entries (kept by ReadyAccounting). */
  pagedBytes = 0;
  pagedAfter = 0;
  /** Token of the newest paged write: rows are read back only once it is committed. */
  pagedToken = 0;
  /** Paged entries removed one by one (job deletion): skipped when read back. */
  removed: Set<number> | null = null;

  constructor(readonly rank: number) {}

  get count(): number {
    return this.memory.length + this.paged;
  }
}

/**
 * The rank order of a queue's ready entries: one bucket per rank in use, ascending. A queue
 * without priorities has a single bucket that is never retired, which keeps plain FIFO the fast
 * path (no map lookups, no rank list).
 */
export class RankIndex {
  private readonly single: RankBucket | null;
  private readonly buckets = new Map<number, RankBucket>();
  /** Ranks whose bucket is non-empty, ascending (ranked queues only). */
  private readonly activeRanks: number[] = [];

  constructor(ranked: boolean) {
    this.single = ranked ? null : new RankBucket(0);
  }

  /** The bucket of `rank`, made active (created if needed). */
  bucketFor(rank: number): RankBucket {
    if (this.single) return this.single;
    let bucket = this.buckets.get(rank);
    if (bucket === undefined) {
      bucket = new RankBucket(rank);
      this.buckets.set(rank, bucket);
    }
    if (bucket.count === 0) this.activate(rank);
    return bucket;
  }

  /** The bucket of `rank` if it exists; nothing is created. */
  find(rank: number): RankBucket | undefined {
    return this.single ?? this.buckets.get(rank);
  }

  /** The lowest-ranked active bucket (the single bucket of a FIFO queue, even when empty). */
  first(): RankBucket | undefined {
    if (this.single) return this.single;
    const rank = this.activeRanks[0];
    return rank === undefined ? undefined : this.buckets.get(rank);
  }

  /** The highest-ranked bucket that holds entries in memory (paging takes from the back). */
  lastWithMemory(): RankBucket | undefined {
    if (this.single) return this.single.memory.length > 0 ? this.single : undefined;
    for (let i = this.activeRanks.length - 1; i >= 0; i--) {
      const bucket = this.buckets.get(this.activeRanks[i]!)!;
      if (bucket.memory.length > 0) return bucket;
    }
    return undefined;
  }

  /** Active buckets in dispatch order. */
  inOrder(): RankBucket[] {
    return this.single ? [this.single] : this.activeRanks.map((rank) => this.buckets.get(rank)!);
  }

  /** Retires a ranked bucket that became empty, so `first` moves on. Returns whether it did. */
  retireIfEmpty(bucket: RankBucket): boolean {
    if (this.single || bucket.count > 0) return false;
    const at = this.activeRanks.indexOf(bucket.rank);
    if (at >= 0) this.activeRanks.splice(at, 1);
    this.buckets.delete(bucket.rank);
    return true;
  }

  clear(): void {
    if (this.single) return;
    this.buckets.clear();
    this.activeRanks.length = 0;
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
}
