import type { EntryPager } from './entry-pager';
import type { QueueEntry } from './queue-entry';

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
}
