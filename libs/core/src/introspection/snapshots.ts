import type { FieldTable } from '../encoding/field-table';
import type { CoreCounters } from '../metrics';
import type { QueueOrder } from '../queue/queue-options';
import type { QueueTypeName } from '../queue/queue-type';

/**
 * Read-only pictures of what the broker holds, for the management API, the admin page and
 * metrics. Plain data, protocol-neutral names; a view maps them to its own (RabbitMQ's) fields.
 * Taking one never changes the broker.
 */

/** Cumulative message counts and their per-second rates over the last few seconds. */
export interface MessageStats {
  published: number;
  delivered: number;
  acked: number;
  redelivered: number;
  publishRate: number;
  deliverRate: number;
  ackRate: number;
}

export interface QueueSnapshot {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  exclusive: boolean;
  /** Owner (connection id) of an exclusive queue. */
  owner: string | null;
  arguments: FieldTable;
  order: QueueOrder;
  /** x-queue-type as declared (classic unless quorum). */
  type: QueueTypeName;
  /** The policy that applies to it, or null. */
  policy: string | null;
  messagesReady: number;
  messagesUnacknowledged: number;
  /** Entries waiting for their not-before time (not counted as ready). */
  messagesDelayed: number;
  /** Ready entries kept only in the store (beyond the memory budget). */
  messagesPaged: number;
  messageBytesReady: number;
  messageBytesUnacknowledged: number;
  /** Estimated memory of the in-memory ready entries. */
  memoryBytes: number;
  consumers: number;
  stats: MessageStats;
}

export interface ExchangeSnapshot {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
  /** Bindings whose source is this exchange. */
  bindings: number;
  /** Messages a delayed-message exchange holds until their time (null for other types). */
  messagesDelayed: number | null;
}

export interface BindingSnapshot {
  vhost: string;
  source: string;
  destination: string;
  destinationKind: 'queue' | 'exchange';
  routingKey: string;
  arguments: FieldTable;
  /** Identifies the binding among those with the same source and destination. */
  key: string;
}

export interface ConsumerSnapshot {
  vhost: string;
  queue: string;
  tag: string;
  priority: number;
  exclusive: boolean;
  ackRequired: boolean;
  /** The door's id of what holds the consumer (an AMQP connection and channel), if it says. */
  owner: string | null;
  prefetchCount: number;
  arguments: FieldTable;
  /** Gets messages now (false: waiting behind a single active consumer). */
  active: boolean;
  /** RabbitMQ's activity_status: 'up', or 'single_active' / 'waiting' with a single active consumer. */
  activityStatus: 'up' | 'single_active' | 'waiting';
}

export interface VhostSnapshot {
  name: string;
  exchanges: number;
  queues: number;
  consumers: number;
  messagesReady: number;
  messagesUnacknowledged: number;
}

export interface BrokerSnapshot {
  startedAt: number;
  vhosts: VhostSnapshot[];
  counters: CoreCounters;
  /** Writes handed to the store and not yet committed. */
  pendingCommits: number;
  /** The active resource alarm, or null. */
  alarm: string | null;
  recoveredMessages: number;
  recoverySeconds: number;
}
