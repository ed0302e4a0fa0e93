import type { CommitCallback, CommitToken } from '../store/commit-token';
import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';

/**
 * What a queue needs from the store to keep only the head of a long backlog in memory: entries
 * beyond the memory budget live only in the store and are read back, in order, as the head drains.
 */
export interface EntryPager {
  /**
   * Makes sure the entry has a row in the store (writing it if it was memory-only), so it may be
   * dropped from memory. Returns the token after which that row can be read back.
   */
  pageOut(entry: QueueEntry): CommitToken;
  isCommitted(token: CommitToken): boolean;
  whenCommitted(token: CommitToken, callback: CommitCallback): void;
  /** Reads up to `limit` entries of (queue, rank) with seq > afterSeq, in seq order. */
  readPaged(queue: Queue, rank: number, afterSeq: number, limit: number): QueueEntry[];
  /** Reads one entry of the queue back by seq (a delayed entry that is due); undefined if gone. */
  readEntry(queue: Queue, seq: number): QueueEntry | undefined;
}
