import type { CommitToken } from '../store/commit-token';
import type { BucketSummary } from '../store/store-records';
import type { EntryPager } from './entry-pager';
import type { EntryResidence } from './key-index';
import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';
import { ENTRY_OVERHEAD_BYTES, ReadyAccounting } from './ready-accounting';
import type { RankBucket, RankIndex } from './rank-index';

/** Most entries read back from the store at once: a read blocks the event loop (~4 µs a row), so it stays short. */
const REFILL_CHUNK = 256;
/** A bucket whose in-memory head is shorter than this reads its next chunk ahead of need. */
const REFILL_LOW_WATER = 128;
/** Paging out stops once memory is down to this share of the budget (hysteresis). */
const PAGE_OUT_TARGET = 0.9;
/** Reading ahead (and recovery) fills memory only up to this share of the budget. */
const READ_AHEAD_LIMIT = 0.75;

/** How many entries of a recovered bucket to load into memory at start. */
export function recoveryHeadLimit(bucket: BucketSummary, memoryBudget: number): number {
  const averageCost = ENTRY_OVERHEAD_BYTES + bucket.bytes / bucket.count;
  return Math.min(bucket.count, Math.max(1, Math.floor((memoryBudget * READ_AHEAD_LIMIT) / averageCost)));
}

/** What a refill found. */
export const enum Refill {
  /** The bucket has entries in memory now. */
  Ready,
  /** The paged rows are not committed yet; the callback runs once they can be read. */
  Waiting,
  /** Nothing in memory and nothing more in the store: the bucket is empty. */
  Exhausted,
}

/**
 * Keeps a queue's ready entries within its memory budget: moves the newest entries to the store
 * when over it, and reads them back, in order, a chunk at a time as the head drains.
 */
export class ReadyPager {
  private refillWaiting = false;

  constructor(
    private readonly queue: Queue,
    private readonly pager: EntryPager | null,
    private readonly memoryBudget: number,
    private readonly index: RankIndex,
    private readonly accounting: ReadyAccounting,
    /** Rows of entries the delayed set keeps: skipped when paged rows are read back. */
    private readonly delayedElsewhere: (seq: number) => boolean,
    private readonly residence: EntryResidence,
  ) {}

  get enabled(): boolean {
    return this.pager !== null;
  }

  /** Whether an entry for `bucket` must join its paged tail instead of memory. */
  joinsTail(bucket: RankBucket, entry: QueueEntry): boolean {
    return this.pager !== null && bucket.paged > 0 && entry.seq > bucket.pagedAfter;
  }

  /** Adds the entry to the bucket's paged tail (its row is written if it has none). */
  addToTail(bucket: RankBucket, entry: QueueEntry): void {
    this.notePaged(bucket, this.pager!.pageOut(entry));
    this.accounting.arrivedPaged(bucket, entry);
    this.residence.paged(entry);
  }

  /** Moves entries from the back (last rank, newest first) to the store until under budget. */
  pageOutIfOver(): void {
    const pager = this.pager;
    if (pager === null || this.accounting.memoryBytes <= this.memoryBudget) return;
    const target = this.memoryBudget * PAGE_OUT_TARGET;
    while (this.accounting.memoryBytes > target) {
      const bucket = this.index.lastWithMemory();
      if (bucket === undefined) return;
      const entry = bucket.memory.popBack()!;
      this.notePaged(bucket, pager.pageOut(entry));
      bucket.pagedAfter = entry.seq - 1;
      const newTail = bucket.memory.peekBack();
      if (newTail !== undefined && newTail.seq > bucket.pagedAfter) bucket.pagedAfter = newTail.seq;
      this.accounting.pagedOut(bucket, entry);
      this.residence.paged(entry);
    }
  }

  /** After a take: reads the bucket's next chunk ahead of need (at most one read per take). */
  readAhead(bucket: RankBucket, onRefilled: () => void): void {
    if (
      bucket.paged > 0 &&
      bucket.memory.length < REFILL_LOW_WATER &&
      this.accounting.memoryBytes < this.memoryBudget * READ_AHEAD_LIMIT
    ) {
      this.refill(bucket, onRefilled);
    }
  }

  /** Reads the next chunk of a bucket's paged tail into memory. */
  refill(bucket: RankBucket, onRefilled: () => void): Refill {
    const pager = this.pager;
    if (pager === null || bucket.paged === 0) return bucket.memory.length > 0 ? Refill.Ready : Refill.Exhausted;
    if (!pager.isCommitted(bucket.pagedToken as CommitToken)) {
      if (!this.refillWaiting) {
        this.refillWaiting = true;
        pager.whenCommitted(bucket.pagedToken as CommitToken, () => {
          this.refillWaiting = false;
          onRefilled();
        });
      }
      return bucket.memory.length > 0 ? Refill.Ready : Refill.Waiting;
    }
    const accounting = this.accounting;
    const room = Math.max(1, Math.floor((this.memoryBudget * PAGE_OUT_TARGET - accounting.memoryBytes) / accounting.averagePagedCost()));
    do {
      const wanted = Math.min(REFILL_CHUNK, bucket.paged, room) + (bucket.removed?.size ?? 0);
      const rows = pager.readPaged(this.queue, bucket.rank, bucket.pagedAfter, wanted);
      if (rows.length === 0) {
        // The store has nothing more for this bucket: its count was stale. Never wedge on it.
        accounting.droppedStale(bucket);
        bucket.removed = null;
        break;
      }
      bucket.pagedAfter = rows[rows.length - 1]!.seq;
      for (const entry of rows) {
        if (bucket.removed?.delete(entry.seq) || this.delayedElsewhere(entry.seq)) continue;
        bucket.memory.pushBack(entry);
        accounting.pagedIn(bucket, entry);
        this.residence.held(entry);
      }
      if (bucket.removed) {
        // removed rows below the cursor that did not come back were deleted already
        for (const seq of bucket.removed) if (seq <= bucket.pagedAfter) bucket.removed.delete(seq);
        if (bucket.removed.size === 0) bucket.removed = null;
      }
    } while (bucket.memory.length === 0 && bucket.paged > 0);
    return bucket.memory.length > 0 ? Refill.Ready : Refill.Exhausted;
  }

  /** Forgets one paged entry (it is skipped when its row is read back). False if not paged here. */
  removeFromTail(bucket: RankBucket, entry: QueueEntry): boolean {
    if (bucket.paged === 0 || entry.seq <= bucket.pagedAfter || bucket.removed?.has(entry.seq)) return false;
    (bucket.removed ??= new Set()).add(entry.seq);
    this.accounting.leftPaged(bucket, entry);
    return true;
  }

  /** The token to wait for before paged rows can be listed, or null when all are committed. */
  uncommittedToken(): CommitToken | null {
    if (this.pager === null) return null;
    let newest = 0;
    for (const bucket of this.index.inOrder()) if (bucket.paged > 0 && bucket.pagedToken > newest) newest = bucket.pagedToken;
    return newest > 0 && !this.pager.isCommitted(newest as CommitToken) ? (newest as CommitToken) : null;
  }

  /** Visits a bucket's paged entries in order, reading them from the store (not loading them). */
  listTail(bucket: RankBucket, visit: (entry: QueueEntry) => boolean): boolean {
    if (bucket.paged === 0 || this.pager === null) return true;
    let cursor = bucket.pagedAfter;
    for (;;) {
      const rows = this.pager.readPaged(this.queue, bucket.rank, cursor, REFILL_CHUNK);
      for (const entry of rows) {
        if (bucket.removed?.has(entry.seq) || this.delayedElsewhere(entry.seq)) continue;
        if (!visit(entry)) return false;
      }
      if (rows.length < REFILL_CHUNK) return true;
      cursor = rows[rows.length - 1]!.seq;
    }
  }

  private notePaged(bucket: RankBucket, token: CommitToken): void {
    if (token > bucket.pagedToken) bucket.pagedToken = token;
  }
}
