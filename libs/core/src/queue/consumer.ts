import type { FieldTable } from '../encoding/field-table';
import type { QueueEntry } from './queue-entry';

/**
 * Anything that takes messages from a queue: an AMQP consumer, a blocked HTTP receiver, the
 * outbound delivery worker. The queue asks for credit before each delivery, hands the entry over,
 * and later hears how it was settled through Queue.ack / Queue.reject.
 */
export interface Consumer {
  readonly tag: string;
  /** Higher priority consumers are served first while they have credit (x-priority). */
  readonly priority: number;
  readonly exclusive: boolean;
  /** Acked at hand-over (AMQP no-ack); the queue does not wait for an ack. */
  readonly autoAck: boolean;
  /** The door's id of what holds this consumer (a session and channel), for introspection. */
  readonly owner?: string;
  /** Its prefetch limit (0: none), for introspection. */
  readonly prefetchCount?: number;
  readonly arguments?: FieldTable;
  /** Whether it can take this entry now (prefetch count/size, socket back-pressure). */
  hasCredit(entry: QueueEntry): boolean;
  deliver(entry: QueueEntry): void;
  /** The queue went away (deleted); the consumer is no longer registered. */
  cancelledByQueue(): void;
}
