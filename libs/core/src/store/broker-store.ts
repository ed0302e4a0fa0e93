import type { CoreMetrics } from '../metrics';
import type { QueueStore } from '../queue/queue-store';
import type { BindingRecord, ExchangeRecord, QueueRecord, RecoveredDefinitions } from './store-records';

/**
 * The narrow interface between the broker and its durable store: entry writes (through
 * QueueStore), definition writes, recovery and commit notification. SQLite implements it; a
 * PostgreSQL implementation could let several broker nodes share one database.
 */
export interface BrokerStore extends QueueStore {
  attachMetrics(metrics: CoreMetrics): void;
  recoverDefinitions(): RecoveredDefinitions;

  putVhost(name: string): void;
  putExchange(record: ExchangeRecord): void;
  deleteExchange(vhost: string, name: string): void;
  putQueue(record: QueueRecord): void;
  deleteQueue(id: number): void;
  putBinding(record: BindingRecord, identity: string): void;
  deleteBinding(vhost: string, source: string, identity: string): void;
  setCounter(name: string, value: number): void;

  /** Calls back once everything written so far is durable (true) or failed (false). */
  afterCommit(callback: (committed: boolean) => void): void;
  flush(): Promise<void>;
  /** True while writes are piling up faster than they commit. */
  readonly backlogged: boolean;
  onDrain(listener: () => void): void;
  /** Number of the batch collecting writes now; writes made in one turn share it. */
  readonly openBatchNo: number;
  /** Write batches open or in flight. */
  readonly pendingBatches: number;
  close(): Promise<void>;
}
