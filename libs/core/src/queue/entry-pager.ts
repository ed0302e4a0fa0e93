import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';

/**
 * What a queue needs from the store to keep only the head of a long backlog in memory: entries
 * beyond the memory budget live only in the store and are read back, in order, as the head drains.
 */
export interface EntryPager {
  /**
   * Makes sure the entry has a row in the store (writing it if it was memory-only), so it may be
   * dropped from memory. Returns the number of the batch that holds the write.
   */
  pageOut(entry: QueueEntry): number;
  /** Number of the most recent batch known to be committed. */
  committedBatch(): number;
  /** Calls back once everything written so far is committed. */
  afterCommit(callback: (committed: boolean) => void): void;
  /** Reads up to `limit` entries of (queue, rank) with seq > afterSeq, in seq order. */
  readPaged(queue: Queue, rank: number, afterSeq: number, limit: number): QueueEntry[];
}
