import type { FoundEntry } from './key-index';
import type { QueueEntry } from './queue-entry';

/**
 * What a queue whose entries are rows every broker node shares (a database-backed queue type,
 * composed in from outside the core) offers besides the Queue seam, for doors that need it across
 * nodes. The in-memory types offer none of it: a door asks for it only when it is there, so the
 * single-node path stays as it is.
 */

/** An entry that went in, or the one that held its unique key already (it was not added), or null when the queue refused it. */
export type UniqueOutcome = { added: true; entry: QueueEntry } | { added: false; found: FoundEntry } | null;

/**
 * Leases on taken entries that any node can settle by their id (a job received on one node and
 * acknowledged through another). The lease names the entry's row and its taking; a lease past its
 * deadline returns the entry to its queue (redelivered). Answers once the change is committed.
 */
export interface LeaseBook {
  /**
   * Puts an entry this node took (unacked) under a lease until now + `timeoutMs`; from then on it
   * is settled by the returned id, on any node, and no longer through Queue.ack/reject.
   */
  grant(entry: QueueEntry, timeoutMs: number): { id: string; expiresAt: number };
  /** The leased entry (its message read back), or undefined when the lease is unknown or expired. */
  get(id: string): Promise<QueueEntry | undefined>;
  /** The job is done: the entry retires. The entry, or undefined when the lease is unknown or expired. */
  ack(id: string): Promise<QueueEntry | undefined>;
  /** The entry goes back to its place in its queue, due again at `notBefore` (0: at once). */
  release(id: string, notBefore?: number): Promise<QueueEntry | undefined>;
  /** Extends the lease to now + `timeoutMs`; its new deadline, or undefined when unknown or expired. */
  touch(id: string, timeoutMs: number): Promise<number | undefined>;
}
