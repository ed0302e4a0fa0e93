import type { CommitToken } from '../store/commit-token';
import type { EntryPager } from './entry-pager';
import type { EntryResidence } from './key-index';
import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';
import { ReadyAccounting } from './ready-accounting';
import { ReadyPager, Refill } from './ready-pager';
import { RankIndex } from './rank-index';

/**
 * The ready (undelivered) entries of a queue, ordered by rank then seq: a rank index of buckets,
 * a pager that keeps memory within the queue's budget, and one accounting object for the counts.
 */
export class ReadySet {
  private readonly index: RankIndex;
  private readonly accounting = new ReadyAccounting();
  private readonly pager: ReadyPager;

  constructor(
    queue: Queue,
    ranked: boolean,
    entryPager: EntryPager | null,
    memoryBudget: number,
    /** Rows of entries the delayed set keeps: skipped when paged rows are read back. */
    private readonly delayedElsewhere: (seq: number) => boolean = () => false,
    /** Told when an entry is paged out or read back (the queue's key indexes). */
    residence: EntryResidence = NO_RESIDENCE,
  ) {
    this.index = new RankIndex(ranked);
    this.pager = new ReadyPager(queue, entryPager, memoryBudget, this.index, this.accounting, delayedElsewhere, residence);
  }

  get count(): number {
    return this.accounting.count;
  }

  /** Bytes of the bodies of all ready entries (in memory or paged). */
  get bytes(): number {
    return this.accounting.bytes;
  }

  /** Estimated memory held by the in-memory entries. */
  get bytesInMemory(): number {
    return this.accounting.memoryBytes;
  }

  get pagedCount(): number {
    return this.accounting.pagedCount;
  }

  /** Adds a newly arrived entry behind everything of its rank. */
  append(entry: QueueEntry): void {
    const bucket = this.index.bucketFor(entry.rank);
    if (bucket.paged > 0 && this.pager.enabled) {
      this.pager.addToTail(bucket, entry);
      return;
    }
    bucket.memory.pushBack(entry);
    this.accounting.arrivedInMemory(entry);
    this.pager.pageOutIfOver();
  }

  /**
   * Puts an entry back in its original position: a requeued delivery, or a delayed entry that is
   * due. One that belongs after the paged-out tail joins the tail (its row is in the store).
   */
  restore(entry: QueueEntry): void {
    const bucket = this.index.bucketFor(entry.rank);
    if (this.pager.joinsTail(bucket, entry)) {
      this.pager.addToTail(bucket, entry);
      return;
    }
    bucket.memory.insertBySeq(entry);
    this.accounting.arrivedInMemory(entry);
  }

  /**
   * Takes the first entry, or undefined when empty or when the head must first be read back from
   * the store (then `onRefilled` is called once it can be).
   */
  take(onRefilled: () => void): QueueEntry | undefined {
    for (;;) {
      const bucket = this.index.first();
      if (bucket === undefined) return undefined;
      let entry = bucket.memory.popFront();
      if (entry === undefined) {
        const refill = this.pager.refill(bucket, onRefilled);
        if (refill === Refill.Waiting) return undefined;
        // a stale paged count emptied the bucket: retire it and serve the next rank
        if (refill === Refill.Exhausted) {
          if (this.index.retireIfEmpty(bucket)) continue;
          return undefined;
        }
        entry = bucket.memory.popFront()!;
      } else {
        this.pager.readAhead(bucket, onRefilled);
      }
      this.accounting.leftMemory(entry);
      this.index.retireIfEmpty(bucket);
      return entry;
    }
  }

  /** Removes one ready entry, wherever it is (in memory or paged). Returns false if not here. */
  remove(entry: QueueEntry): boolean {
    const bucket = this.index.find(entry.rank);
    if (bucket === undefined) return false;
    if (bucket.memory.removeWhere((e) => e === entry) > 0) this.accounting.leftMemory(entry);
    else if (!this.pager.removeFromTail(bucket, entry)) return false;
    this.index.retireIfEmpty(bucket);
    return true;
  }

  /** The token to wait for before paged-out rows can be listed; null when none is pending. */
  get uncommittedPagedToken(): CommitToken | null {
    return this.pager.uncommittedToken();
  }

  /**
   * Visits ready entries in dispatch order; paged ones are read from the store (not loaded), so
   * call it once `uncommittedPagedToken` is null. Stops when `visit` returns false.
   */
  list(visit: (entry: QueueEntry) => boolean): void {
    for (const bucket of this.index.inOrder()) {
      for (let i = 0; i < bucket.memory.length; i++) if (!visit(bucket.memory.at(i)!)) return;
      if (!this.pager.listTail(bucket, visit)) return;
    }
  }

  /** Whether the row of (rank, seq) is a ready entry kept only in the store. */
  isPaged(rank: number, seq: number): boolean {
    const bucket = this.index.find(rank);
    return bucket !== undefined && bucket.paged > 0 && seq > bucket.pagedAfter && !bucket.removed?.has(seq) && !this.delayedElsewhere(seq);
  }

  /** Visits the ready entries held in memory (in no particular order). */
  forEachInMemory(visit: (entry: QueueEntry) => void): void {
    for (const bucket of this.index.inOrder()) for (let i = 0; i < bucket.memory.length; i++) visit(bucket.memory.at(i)!);
  }

  peek(): QueueEntry | undefined {
    return this.index.first()?.memory.peekFront();
  }

  /**
   * Removes every ready entry: in-memory ones are passed to `visit`; paged ones are reported per
   * rank bucket through `visitPaged(rank, afterSeq)` so the store can delete them by range.
   */
  clear(visit: (entry: QueueEntry) => void, visitPaged: (rank: number, afterSeq: number) => void): number {
    const removed = this.accounting.count;
    const buckets = this.index.inOrder();
    for (const bucket of buckets) {
      bucket.memory.drain(visit);
      if (bucket.paged > 0) visitPaged(bucket.rank, bucket.pagedAfter);
      bucket.removed = null;
    }
    this.accounting.clear(buckets);
    this.index.clear();
    return removed;
  }

  /** Loads recovered state of one rank: an in-memory head, the rest (count and bytes) paged. */
  recover(rank: number, head: readonly QueueEntry[], count: number, bytes: number): void {
    const bucket = this.index.bucketFor(rank);
    let headBytes = 0;
    for (const entry of head) {
      bucket.memory.pushBack(entry);
      headBytes += entry.message.body.length;
    }
    const last = head[head.length - 1];
    bucket.pagedAfter = last ? last.seq : 0;
    this.accounting.recovered(bucket, head, count - head.length, bytes - headBytes);
  }
}

const NO_RESIDENCE: EntryResidence = { paged: () => {}, held: () => {} };
