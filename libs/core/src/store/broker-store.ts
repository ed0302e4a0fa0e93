import type { CoreMetrics } from '../metrics';
import type { QueueStore } from '../queue/queue-store';
import type { CommitCallback, CommitToken } from './commit-token';
import type { BindingRecord, ExchangeRecord, QueueRecord, RecoveredState } from './store-records';

/**
 * The port between the broker and its durable store: entry writes (through QueueStore),
 * definition writes, recovery and commit notification by token. The application composes an
 * implementation into the broker: SqliteStore is the embedded default, MemoryStore serves tests,
 * and a networked one (PostgreSQL) could let several broker nodes share one database.
 */
export interface BrokerStore extends QueueStore {
  attachMetrics(metrics: CoreMetrics): void;
  /**
   * Reads what survived the last run: durable definitions and a per-(queue, rank) summary of
   * stored entries. Called once, before any write.
   */
  recover(): Promise<RecoveredState>;

  putVhost(name: string): void;
  putExchange(record: ExchangeRecord): void;
  deleteExchange(vhost: string, name: string): void;
  putQueue(record: QueueRecord): void;
  deleteQueue(id: number): void;
  putBinding(record: BindingRecord, identity: string): void;
  deleteBinding(vhost: string, source: string, identity: string): void;
  setCounter(name: string, value: number): void;

  /** Writes a keyed record that lives until `expiresAt` (epoch ms), e.g. a finished delivery. */
  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): void;
  deleteRecord(namespace: string, key: string): void;
  /**
   * The committed, unexpired value of a keyed record. Writes not committed yet are not seen:
   * callers keep what they wrote recently themselves. Expired records are pruned by the store.
   */
  readRecord(namespace: string, key: string): Buffer | undefined;
  /** Every committed, unexpired record of a namespace (definitions loaded at start). */
  listRecords(namespace: string): [string, Buffer][];
  /** A vhost and everything recorded under it are gone (its queues and exchanges are deleted one by one before). */
  deleteVhost(name: string): void;

  /** A token covering every write made so far. */
  currentToken(): CommitToken;
  /** Calls back (never synchronously) once the token is committed (true) or never can be (false). */
  whenCommitted(token: CommitToken, callback: CommitCallback): void;
  isCommitted(token: CommitToken): boolean;
  /** True while writes pile up faster than they commit: publishers should pause until `onDrain`. */
  readonly backlogged: boolean;
  onDrain(listener: () => void): void;
  /** Open and not failed: it can still promise durability. */
  readonly healthy: boolean;
  /** Writes handed over and not yet committed, in the store's own unit (batches for SQLite). */
  readonly pendingCommits: number;
  /** Commits what is pending, then releases the store. */
  close(): Promise<void>;
}
