import {
  BindingRecord,
  BrokerError,
  BrokerStore,
  CommitCallback,
  CommitPipeline,
  CommitToken,
  CoreMetrics,
  DefinitionChange,
  ExchangeRecord,
  positionOf,
  Queue,
  QueueEntry,
  KeyRow,
  QueueRecord,
  RecoveredState,
} from '#core';
import type { Database } from '../database/database';
import { asStoreError, describeDatabaseError } from '../database/unavailable';
import { readDefinitions, readDefinitionVersion } from './definition-reads';
import { BatchPart, PostgresBatch } from './postgres-batch';
import { writeBatch } from './batch-writer';
import { bindingKey, definitionKey } from './change-codec';
import { DEFINITION_TABLES } from './definition-tables';

export interface PostgresStoreOptions {
  /** This node's incarnation: the origin of the changes it logs (it has applied them already). */
  origin: string;
  /** NOTIFY the other nodes at commit (false behind PgBouncer's transaction pooling: they poll). */
  notify: boolean;
  /** With a commit in flight, the open batch goes early once it holds this many bytes. */
  maxBatchBytes?: number;
  /** Batches handed over and not yet committed, at most. */
  maxInFlight?: number;
}

/** Waits until every live node applied definitions up to a version (or the node timeout passed). */
export type AppliedEverywhere = (version: number) => Promise<void>;

/** How often expired keyed records are deleted. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * The broker's store on the PostgreSQL every node shares (STORE=postgres): definitions, keyed
 * records and counters, on the shared group-commit pipeline (one transaction per batch, committed
 * one after another on a pooled connection). A batch that changes definitions also bumps the
 * definition version and logs its changes for the other nodes (NOTIFY once per commit), and what
 * waits on it is answered only once every live node applied it (read-your-writes across nodes).
 *
 * While the database cannot be reached, every batch is lost at once (its waits answer false: the
 * doors say 503 without waiting), the store is not healthy, and it goes on by itself when the
 * database answers again; what committed before is kept. The classic queues' local entry log has
 * no place here: with this store only queue types shared across nodes may be declared, so its
 * methods are never called (they throw).
 */
export class PostgresStore implements BrokerStore {
  private readonly pipeline: CommitPipeline<PostgresBatch>;
  /** Commits run one after another, in hand-over order. */
  private chain: Promise<void> = Promise.resolve();
  /** Committed batches that changed definitions, by batch number, until every live node applied them. */
  private readonly unshared: { no: number; version: number }[] = [];
  private appliedEverywhere: AppliedEverywhere | null = null;
  private readonly lostListeners: ((reason: string) => void)[] = [];
  /**
   * The definitions this node wrote lately, by definitionKey: the batch that wrote each last, and
   * the version it committed as (0 while pending). A change another node committed before that
   * version must not be applied over this node's newer write (see `wroteAfter`).
   */
  private readonly ownWrites = new Map<string, { no: number; version: number }>();
  private prune: NodeJS.Timeout | null = null;
  private readonly parts: BatchPart[] = [];
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly database: Database,
    private readonly options: PostgresStoreOptions,
    /** The definition version when the store opened: what the broker reads from here on reflects at least this. */
    readonly startVersion: number,
  ) {
    this.pipeline = new CommitPipeline<PostgresBatch>(
      { openBatch: (no) => new PostgresBatch(no), holds: () => false, handOver: (batch) => this.handOver(batch) },
      { maxInFlight: options.maxInFlight ?? 3, earlyBytes: options.maxBatchBytes ?? 4 * 1024 * 1024 },
    );
  }

  /** Opens the store on a migrated database. */
  static async open(database: Database, options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(database, options, await readDefinitionVersion(database));
    store.prune = setInterval(() => store.pruneExpired(), PRUNE_INTERVAL_MS);
    store.prune.unref();
    return store;
  }

  /** From now on, waits on a batch that changed definitions end once every live node applied it. */
  shareDefinitions(appliedEverywhere: AppliedEverywhere): void {
    this.appliedEverywhere = appliedEverywhere;
  }

  /**
   * Called when a batch with definition changes was not committed: the node's memory holds changes
   * the database may not have, so it reloads its definitions from the database.
   */
  onDefinitionsLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  /** Commits the part's rows with every batch from now on (see BatchPart). */
  addPart(part: BatchPart): void {
    this.parts.push(part);
  }

  /** The number of the batch writes go into now (a part keeps its rows for it). */
  get openBatchNo(): number {
    return this.pipeline.open.no;
  }

  /** A part added rows (about `bytes` of them) to the open batch: it will commit; the token to wait on. */
  wroteToOpenBatch(bytes: number): CommitToken {
    this.pipeline.open.partWrote(bytes);
    return this.written();
  }

  /** NOTIFY `channel` with `payload` when the open batch commits (once per channel and commit: the last payload wins). */
  notifyOnCommit(channel: string, payload: string): CommitToken {
    if (!this.options.notify) return this.pipeline.currentToken();
    this.pipeline.open.notify(channel, payload);
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  attach(slot: number, metrics: CoreMetrics): void {
    this.pipeline.attach(slot, metrics);
  }

  async recover(): Promise<RecoveredState> {
    return (await readDefinitions(this.database)).state;
  }

  // ---- definitions -----------------------------------------------------------------------------

  putVhost(name: string): CommitToken {
    return this.change({ kind: 'vhost-put', vhost: name });
  }

  deleteVhost(name: string): CommitToken {
    return this.change({ kind: 'vhost-delete', vhost: name });
  }

  putExchange(record: ExchangeRecord): CommitToken {
    return this.change({ kind: 'exchange-put', exchange: { ...record } });
  }

  deleteExchange(vhost: string, name: string): CommitToken {
    return this.change({ kind: 'exchange-delete', vhost, name });
  }

  putQueue(record: QueueRecord): CommitToken {
    return this.change({ kind: 'queue-put', queue: { vhost: record.vhost, name: record.name, autoDelete: record.autoDelete, arguments: record.arguments } });
  }

  deleteQueue(_id: number, vhost: string, name: string): CommitToken {
    return this.change({ kind: 'queue-delete', vhost, name });
  }

  putBinding(record: BindingRecord, identity: string): CommitToken {
    const change: DefinitionChange = { kind: 'binding-put', binding: { ...record } };
    this.pipeline.open.definition({ kind: 'change', change, identity });
    this.wrote(definitionKey(change, identity));
    return this.written();
  }

  deleteBinding(vhost: string, source: string, identity: string): CommitToken {
    this.pipeline.open.definition({ kind: 'unbind', vhost, source, identity });
    this.wrote(bindingKey(vhost, source, identity));
    return this.written();
  }

  setCounter(name: string, value: number): CommitToken {
    this.pipeline.open.counter(name, value);
    return this.written();
  }

  /**
   * Reserves the next `size` numbers of a counter for this node, committed at once (every node
   * draws its own ranges: job numbers are unique across the cluster, in order within a node).
   */
  async reserveCounterRange(name: string, size: number): Promise<number> {
    try {
      const { rows } = await this.database.query<{ value: string }>(
        'INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value',
        [name, size],
      );
      return Number(rows[0]!.value);
    } catch (error) {
      throw new BrokerError('store-unavailable', `could not reserve numbers of counter '${name}': ${describeDatabaseError(error)}`);
    }
  }

  private change(change: DefinitionChange): CommitToken {
    this.pipeline.open.definition({ kind: 'change', change });
    this.wrote(definitionKey(change));
    return this.written();
  }

  private wrote(key: string): void {
    this.ownWrites.set(key, { no: this.pipeline.open.no, version: 0 });
  }

  /**
   * Whether this node wrote the definition `key` after `version`: its write is pending, or
   * committed as a later version. A change another node committed at `version` is then older than
   * what this node holds (and than what the database ends up with) and is not applied.
   */
  wroteAfter(key: string, version: number): boolean {
    const own = this.ownWrites.get(key);
    return own !== undefined && (own.version === 0 || own.version > version);
  }

  /** Every change up to `version` is applied: this node's writes up to it need no more comparing. */
  forgetOwnWritesThrough(version: number): void {
    for (const [key, own] of this.ownWrites) if (own.version !== 0 && own.version <= version) this.ownWrites.delete(key);
  }

  private written(): CommitToken {
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  // ---- keyed records ---------------------------------------------------------------------------

  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    if (DEFINITION_TABLES.has(namespace)) return this.change({ kind: 'record-put', namespace, key, value });
    this.pipeline.open.record(namespace, key, value, expiresAt);
    return this.written();
  }

  deleteRecord(namespace: string, key: string): CommitToken {
    if (DEFINITION_TABLES.has(namespace)) return this.change({ kind: 'record-delete', namespace, key });
    this.pipeline.open.record(namespace, key, null, 0);
    return this.written();
  }

  async readRecord(namespace: string, key: string): Promise<Buffer | undefined> {
    try {
      return await this.readRecordRow(namespace, key);
    } catch (error) {
      throw asStoreError(error);
    }
  }

  private async readRecordRow(namespace: string, key: string): Promise<Buffer | undefined> {
    const table = DEFINITION_TABLES.get(namespace);
    const { rows } =
      table !== undefined
        ? await this.database.query<{ value: string }>(`SELECT definition::text AS value FROM ${table} WHERE key = $1`, [Buffer.from(key)])
        : await this.database.query<{ value: Buffer }>('SELECT value FROM keyed_records WHERE namespace = $1 AND key = $2 AND expires_at > $3', [namespace, Buffer.from(key), Date.now()]);
    const value = rows[0]?.value;
    return value === undefined ? undefined : Buffer.from(value);
  }

  async listRecords(namespace: string): Promise<[string, Buffer][]> {
    const table = DEFINITION_TABLES.get(namespace);
    const { rows } =
      table !== undefined
        ? await this.database.query<{ key: Buffer; value: string }>(`SELECT key, definition::text AS value FROM ${table}`)
        : await this.database.query<{ key: Buffer; value: Buffer }>('SELECT key, value FROM keyed_records WHERE namespace = $1 AND expires_at > $2', [namespace, Date.now()]);
    return rows.map((row) => [row.key.toString('utf8'), Buffer.from(row.value)]);
  }

  private pruneExpired(): void {
    if (!this.database.available) return;
    this.database.query('DELETE FROM keyed_records WHERE expires_at <= $1', [Date.now()]).catch(() => {
      // the database went away: the next round prunes
    });
  }

  // ---- the classic queues' local entry log: no place in cluster mode ----------------------------

  insert(entry: QueueEntry): void {
    throw localLogRefused(entry.queue);
  }

  markDelivered(entry: QueueEntry): void {
    throw localLogRefused(entry.queue);
  }

  remove(entry: QueueEntry): void {
    throw localLogRefused(entry.queue);
  }

  removePaged(): void {
    throw localLogRefused(null);
  }

  pageOut(entry: QueueEntry): CommitToken {
    throw localLogRefused(entry.queue);
  }

  readPaged(queue: Queue): QueueEntry[] {
    throw localLogRefused(queue);
  }

  readEntry(queue: Queue): QueueEntry | undefined {
    throw localLogRefused(queue);
  }

  readKeys(queue: Queue): KeyRow[] {
    throw localLogRefused(queue);
  }

  // ---- commits ---------------------------------------------------------------------------------

  currentToken(): CommitToken {
    return this.pipeline.currentToken();
  }

  isCommitted(token: CommitToken): boolean {
    return this.pipeline.isCommitted(token) && this.versionCovering(positionOf(token)) === 0;
  }

  /**
   * Calls back once the token's batch is committed and, when it (or a batch before it) changed
   * definitions, every live node applied them: so a client told "declared" on one node finds it
   * declared on every node.
   */
  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    this.pipeline.whenCommitted(token, (committed) => {
      if (!committed) {
        callback(false);
        return;
      }
      const version = this.versionCovering(positionOf(token));
      if (version === 0 || this.appliedEverywhere === null) {
        callback(true);
        return;
      }
      void this.appliedEverywhere(version).then(() => {
        this.forgetShared(version);
        callback(true);
      });
    });
  }

  /** The newest definition version committed by batches up to `position` that is not known applied everywhere; 0: none. */
  private versionCovering(position: number): number {
    let version = 0;
    for (const entry of this.unshared) {
      if (entry.no > position) break;
      version = entry.version;
    }
    return version;
  }

  private forgetShared(version: number): void {
    while (this.unshared.length > 0 && this.unshared[0]!.version <= version) this.unshared.shift();
  }

  get backlogged(): boolean {
    return this.pipeline.backlogged;
  }

  onDrain(listener: () => void): void {
    this.pipeline.onDrain(listener);
  }

  /** Open, and the database reachable as far as this node knows. */
  get healthy(): boolean {
    return this.pipeline.healthy && this.closing === null && this.database.available;
  }

  get pendingCommits(): number {
    return this.pipeline.pendingCommits;
  }

  private handOver(batch: PostgresBatch): boolean {
    if (batch.isEmpty) return false;
    this.chain = this.chain.then(() => this.commit(batch));
    return true;
  }

  private async commit(batch: PostgresBatch): Promise<void> {
    const reason = this.database.unavailableReason;
    if (reason !== null) {
      this.lose(batch, `the database is unavailable: ${reason}`);
      return;
    }
    const started = process.hrtime.bigint();
    let version: number;
    try {
      version = await this.database.transaction((client) => writeBatch(client, batch, this.options.origin, this.options.notify, this.parts));
    } catch (error) {
      this.lose(batch, describeDatabaseError(error));
      return;
    }
    for (const part of this.parts) part.settled(batch.no, true);
    if (version > 0) {
      this.unshared.push({ no: batch.no, version });
      for (const own of this.ownWrites.values()) if (own.no === batch.no) own.version = version;
    }
    this.pipeline.committed(batch.no, 1, batch.ops, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** The batch was not committed (or may not have been: a connection lost at COMMIT): its waits answer false. */
  private lose(batch: PostgresBatch, reason: string): void {
    // what this batch wrote is not newer than anything: the reload that follows takes the database's
    for (const [key, own] of this.ownWrites) if (own.no === batch.no) this.ownWrites.delete(key);
    for (const part of this.parts) part.settled(batch.no, false);
    this.pipeline.rejected(batch.no);
    if (batch.definitions.length > 0) for (const listener of this.lostListeners) listener(reason);
  }

  /** Commits what is pending (when the database can be reached), then stops taking writes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.prune !== null) clearInterval(this.prune);
      try {
        if (this.pipeline.failure === null) await this.pipeline.flush();
      } catch {
        // lost batches were answered false already; closing goes on
      }
      this.pipeline.stop();
      await this.chain;
    })();
    return this.closing;
  }
}

function localLogRefused(queue: Queue | null): Error {
  const name = queue === null ? '' : ` (queue '${queue.name}' in vhost '${queue.vhost}')`;
  return new Error(`the local entry log of classic queues has no place in cluster mode${name}: only queue types shared across nodes may be declared with STORE=postgres`);
}
