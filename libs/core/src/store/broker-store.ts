import type { CoreMetrics } from '../metrics';
import type { QueueStore } from '../queue/queue-store';
import type { CommitCallback, CommitToken } from './commit-token';
import type { BindingRecord, ExchangeRecord, QueueRecord, RecoveredState } from './store-records';

/**
 * Commit tokens: the store's side of durability promises. Answered from what the store itself
 * keeps in memory (which of its writes committed), so they stay synchronous for every store, a
 * networked one too: a publish takes a token and a confirm waits on it without a round trip.
 */
export interface CommitSource {
  /**
   * Called by the broker that composes the store, before any write of its run: the slot the
   * store's tokens carry (see CommitToken) and where it counts commits.
   */
  attach(slot: number, metrics: CoreMetrics): void;
  /** A token covering every write made so far. */
  currentToken(): CommitToken;
  /** Calls back (never synchronously) once the token is committed (true) or never can be (false). */
  whenCommitted(token: CommitToken, callback: CommitCallback): void;
  isCommitted(token: CommitToken): boolean;
}

/**
 * Definitions and keyed records: what every broker node must share. Writes are queued at once and
 * return the token to wait on before answering that they are kept (a management 201/204, a
 * definitions import); a networked store sends them with its next commit. Reads are async: a
 * networked store answers them with a round trip.
 */
export interface DefinitionStore extends CommitSource {
  /**
   * Reads what survived the last run: durable definitions and a per-(queue, rank) summary of
   * stored entries. Called once, before any write. Async.
   */
  recover(): Promise<RecoveredState>;

  putVhost(name: string): CommitToken;
  /** A vhost and everything recorded under it are gone (its queues and exchanges are deleted one by one before). */
  deleteVhost(name: string): CommitToken;
  putExchange(record: ExchangeRecord): CommitToken;
  deleteExchange(vhost: string, name: string): CommitToken;
  putQueue(record: QueueRecord): CommitToken;
  /**
   * The queue's definition, its bindings and its stored entries go. `id` is this broker's own;
   * a store shared by several brokers finds the queue by vhost and name.
   */
  deleteQueue(id: number, vhost: string, name: string): CommitToken;
  putBinding(record: BindingRecord, identity: string): CommitToken;
  deleteBinding(vhost: string, source: string, identity: string): CommitToken;
  /** A counter's new value (e.g. dispenserd's job_num); the last value set wins. */
  setCounter(name: string, value: number): CommitToken;
  /**
   * A store several nodes share: reserves the next `size` numbers of a counter for this node
   * (committed at once); resolves to the last of them. Absent: counters are this node's alone
   * (setCounter keeps them).
   */
  reserveCounterRange?(name: string, size: number): Promise<number>;

  /** Writes a keyed record that lives until `expiresAt` (epoch ms), e.g. a finished delivery. */
  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken;
  deleteRecord(namespace: string, key: string): CommitToken;
  /**
   * The committed, unexpired value of a keyed record. Async (a networked store asks its database).
   * Writes not committed yet are not seen: callers keep what they wrote recently themselves.
   * Expired records are pruned by the store.
   */
  readRecord(namespace: string, key: string): Promise<Buffer | undefined>;
  /** Every committed, unexpired record of a namespace, by key (definitions loaded at start). Async. */
  listRecords(namespace: string): Promise<[string, Buffer][]>;
}

/**
 * The port between the broker and its durable store. The application composes an implementation
 * into the broker: SqliteStore is the embedded default, MemoryStore serves tests, and a networked
 * one (PostgreSQL, issue 28) will let several broker nodes share one database.
 *
 * Three capabilities, each answered its own way:
 * - commit tokens (CommitSource): synchronous, from the store's memory of its own commits;
 * - definitions and keyed records (DefinitionStore): writes return a CommitToken, reads are async;
 * - the local entry log (QueueStore, with EntryPager's reads): synchronous and allocation-free,
 *   the hot path of the classic (in-memory) queue type, whose ready messages live in the broker's
 *   memory and whose store only logs them (insert, markDelivered, remove, pageOut) and reads paged
 *   rows back (readPaged, readEntry) from a local file. A database-backed queue type keeps its
 *   messages in its database and does not use this capability.
 *
 * Write pressure and health (`backlogged`, `onDrain`, `healthy`, `pendingCommits`) are, like
 * tokens, the store's own state in memory.
 */
export interface BrokerStore extends DefinitionStore, QueueStore {
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
