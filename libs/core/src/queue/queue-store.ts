import type { EntryPager } from './entry-pager';
import type { EntryKey } from './key-index';
import type { Queue } from './queue';
import type { QueueEntry } from './queue-entry';

/** A stored entry's seq and rank, and its key under one annotation (null: none). */
export type KeyRow = [seq: number, rank: number, key: EntryKey | null];

/** The store operations a queue performs on its entries. */
export interface QueueStore extends EntryPager {
  /** Queues the entry's insert (a persistent message in a durable queue). */
  insert(entry: QueueEntry): void;
  /** Records that the entry was delivered, so that after a restart it comes back redelivered. */
  markDelivered(entry: QueueEntry): void;
  /** The entry left the queue (`acked`: a consumer acked it): cancel its pending insert, or delete its row. */
  remove(entry: QueueEntry, acked?: boolean): void;
  /** Deletes a queue's paged-out ready rows of one rank (seq > afterSeq). */
  removePaged(queueId: number, rank: number, afterSeq: number): void;
  /**
   * Up to `limit` of the queue's committed rows after (afterRank, afterSeq) in (rank, seq) order,
   * with their key under `annotation` (see keyOf): what a key index is rebuilt from, without
   * reading any body.
   */
  readKeys(queue: Queue, annotation: string, afterRank: number, afterSeq: number, limit: number): KeyRow[];
}
