import type { FieldTable } from '../encoding/field-table';

/** Durable definitions as the store keeps them. */
export interface ExchangeRecord {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

export interface QueueRecord {
  id: number;
  vhost: string;
  name: string;
  autoDelete: boolean;
  arguments: FieldTable;
}

export interface BindingRecord {
  vhost: string;
  source: string;
  destinationKind: 'queue' | 'exchange';
  destination: string;
  routingKey: string;
  arguments: FieldTable;
}

/** Per (queue, rank) totals found at recovery. */
export interface BucketSummary {
  queueId: number;
  rank: number;
  count: number;
  bytes: number;
}

/** What a store hands the broker at start. */
export interface RecoveredState {
  vhosts: string[];
  exchanges: ExchangeRecord[];
  queues: QueueRecord[];
  bindings: BindingRecord[];
  counters: Map<string, number>;
  /** Highest sequence number in use (entries and bodies). */
  maxSeq: number;
  /** Highest queue id ever recorded. */
  maxQueueId: number;
  buckets: BucketSummary[];
}
