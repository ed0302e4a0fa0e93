import { QueueEntry } from '#core';
import { leaseIdOf } from './message-rows';

/**
 * An entry of a shared queue: a row of queue_messages. Its seq is the row's (cluster-wide) once
 * it was read back from the database; an entry just enqueued has this node's seq until then.
 */
export class SharedEntry extends QueueEntry {
  /** The id of the row's queue in the database (0 while unknown). */
  dbQueueId = 0;
  /** The row's not-before time (epoch ms; 0: due at once). */
  notBefore = 0;

  /** The id any node settles this taking of the entry by (see LeaseBook). */
  get leaseId(): string {
    return leaseIdOf(this.dbQueueId, this.seq, this.deliveries);
  }
}
