import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ByteReader } from '../../encoding/byte-reader';
import { ByteWriter } from '../../encoding/byte-writer';
import { decodeFieldTable, encodeFieldTable, FieldTable } from '../../encoding/field-table';
import { decodeProperties } from '../../encoding/properties';
import { Message } from '../../message/message';
import type { CoreMetrics } from '../../metrics';
import type { Queue } from '../../queue/queue';
import { QueueEntry, StoreState } from '../../queue/queue-entry';
import type { BrokerStore } from '../broker-store';
import type { CommitCallback, CommitToken } from '../commit-token';
import type { BindingRecord, BucketSummary, ExchangeRecord, QueueRecord, RecoveredState } from '../store-records';
import type { WriterReply } from './batch-format';
import { ENTRY_FLAG_DELIVERED, ENTRY_FLAG_PERSISTENT, SCHEMA_MIGRATIONS, SCHEMA_SQL, SCHEMA_VERSION, SyncMode, pragmasFor } from './schema';
import { AckWait } from './ack-wait';
import { WriteBatch } from './write-batch';
import { WriterThread } from './writer-thread';
import { preparePrivateDatabase, TightenedMode } from './private-files';

export interface SqliteStoreOptions {
  dataDir: string;
  sync: SyncMode;
  /** Flush early when the open batch holds this many bytes (even with a commit in flight). */
  maxBatchBytes?: number;
  /** Batches handed to the writer and not yet committed, at most. */
  maxInFlight?: number;
  /** Milliseconds a batch whose inserts are all out with consumers waits for their acks (see AckWait); 0: never. */
  ackWaitMs?: number;
}

interface InFlight {
  no: number;
  /** Its commit also covers later batches that had nothing to write (they were folded into it). */
  coversUpTo: number;
  callbacks: CommitCallback[];
  sentAt: bigint;
}

const DB_FILE = 'broker.sqlite';
/** How often expired keyed records are deleted. */
const KEYED_PRUNE_INTERVAL_MS = 60_000;

/** seq, flags, exchange, routing key, shared body id, props, body, expires_at */
type EntryRow = [number, number, string, string, number | null, Buffer, Buffer, number];

function entryOfRow(queue: Queue, rank: number, row: EntryRow | [...EntryRow, number]): QueueEntry {
  const [seq, flags, exchange, routingKey, shared, props, body, expiresAt] = row;
  const message = new Message(exchange, routingKey, decodeProperties(props), props, body);
  const entry = new QueueEntry(seq, rank, message, queue, (flags & ENTRY_FLAG_PERSISTENT) !== 0);
  entry.storeState = StoreState.Stored;
  entry.sharedBodyId = shared ?? 0;
  entry.expiresAt = expiresAt;
  if ((flags & ENTRY_FLAG_DELIVERED) !== 0) {
    entry.deliveries = 1;
    entry.redelivered = true;
  }
  return entry;
}

/**
 * The message store on SQLite (WAL). The main thread keeps a read connection (recovery, reading
 * paged-out entries back) and collects writes into an open batch; a worker thread owns the write
 * connection and commits each batch as one transaction. Only one batch is normally in flight, so
 * batches grow with load by themselves: while a commit runs, the next batch fills. Commit tokens
 * are batch numbers: the open batch's number covers every write made so far.
 */
export class SqliteStore implements BrokerStore {
  private readonly reader: Database.Database;
  private worker: WriterThread | null = null;
  private open: WriteBatch;
  private readonly inFlight: InFlight[] = [];
  private committed = 0;
  private flushScheduled = false;
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly sharedRefs = new Map<number, number>();
  private readonly drainListeners: (() => void)[] = [];
  private readonly argsWriter = new ByteWriter(256);
  private readonly maxBatchBytes: number;
  private readonly maxInFlight: number;
  private readonly ackWait: AckWait;
  private metrics: CoreMetrics | null = null;
  private readonly readPagedStatement: Database.Statement;
  private readonly readEntryStatement: Database.Statement;
  private readonly readKeyedStatement: Database.Statement;
  private readonly listKeyedStatement: Database.Statement;
  private pruneTimer: NodeJS.Timeout | null = null;
  readonly file: string;
  /** Modes of DATA_DIR and the database files narrowed at open (they were open to others), for the log. */
  readonly tightenedModes: TightenedMode[];

  private constructor(private readonly options: SqliteStoreOptions) {
    this.file = join(options.dataDir, DB_FILE);
    this.tightenedModes = preparePrivateDatabase(options.dataDir, this.file);
    this.reader = new Database(this.file);
    for (const pragma of pragmasFor(options.sync)) this.reader.pragma(pragma);
    this.reader.exec(SCHEMA_SQL);
    for (const { table, column, definition } of SCHEMA_MIGRATIONS) {
      const columns = this.reader.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === column)) this.reader.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    this.reader.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    this.open = new WriteBatch(1);
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.maxInFlight = options.maxInFlight ?? 3;
    this.ackWait = new AckWait(options.ackWaitMs ?? 0, this.maxBatchBytes * 4, () => {
      if (this.inFlight.length === 0) this.flushNow();
    });
    this.readPagedStatement = this.reader
      .prepare(
        `SELECT e.seq, e.flags, e.exchange, e.routing_key, e.shared,
                COALESCE(e.props, b.props), COALESCE(e.body, b.body), e.expires_at
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.queue = ? AND e.rank = ? AND e.seq > ?
          ORDER BY e.seq LIMIT ?`,
      )
      .raw(true);
    this.readEntryStatement = this.reader
      .prepare(
        `SELECT e.seq, e.flags, e.exchange, e.routing_key, e.shared,
                COALESCE(e.props, b.props), COALESCE(e.body, b.body), e.expires_at, e.rank
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.seq = ? AND e.queue = ?`,
      )
      .raw(true);
    this.readKeyedStatement = this.reader
      .prepare('SELECT value FROM keyed_records WHERE namespace = ? AND key = ? AND expires_at > ?')
      .pluck();
    this.listKeyedStatement = this.reader
      .prepare('SELECT key, value FROM keyed_records WHERE namespace = ? AND expires_at > ? ORDER BY key')
      .raw(true);
  }

  /** Opens (creating if needed) the store under `dataDir` and starts its writer thread. */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const store = new SqliteStore(options);
    await store.startWriter();
    store.pruneTimer = setInterval(() => store.pruneExpiredRecords(), KEYED_PRUNE_INTERVAL_MS);
    store.pruneTimer.unref();
    return store;
  }

  attachMetrics(metrics: CoreMetrics): void {
    this.metrics = metrics;
  }

  private async startWriter(): Promise<void> {
    this.worker = await WriterThread.start(this.file, this.options.sync, (reply) => this.onReply(reply), (error) => this.fail(error));
  }

  // ---- recovery -------------------------------------------------------------------------------

  /**
   * Reads the durable definitions and a per-(queue, rank) summary of stored entries, after dropping
   * what must not survive a restart: transient paged copies, entries of queues that are gone, and
   * bodies nothing points to any more.
   */
  async recover(): Promise<RecoveredState> {
    return this.recoverNow();
  }

  private recoverNow(): RecoveredState {
    const db = this.reader;
    db.transaction(() => {
      // After a crash, the delivered marks of the last moments may not have been written: every
      // message then comes back flagged redelivered, keeping AMQP's promise that an unflagged
      // message was never delivered before.
      const clean = db.prepare("SELECT value FROM meta WHERE key = 'clean_shutdown'").get() as { value: string } | undefined;
      if (clean?.value !== '1') db.exec(`UPDATE entries SET flags = flags | ${ENTRY_FLAG_DELIVERED} WHERE (flags & ${ENTRY_FLAG_DELIVERED}) = 0`);
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean_shutdown', '0')").run();
      db.exec(`
        DELETE FROM entries WHERE (flags & ${ENTRY_FLAG_PERSISTENT}) = 0;
        DELETE FROM entries WHERE queue NOT IN (SELECT id FROM queues);
        DELETE FROM bodies WHERE id NOT IN (SELECT shared FROM entries WHERE shared IS NOT NULL);
      `);
    })();
    const args = (blob: Buffer): FieldTable => decodeFieldTable(new ByteReader(blob));
    const vhosts = (db.prepare('SELECT name FROM vhosts').all() as { name: string }[]).map((r) => r.name);
    const exchanges = (
      db.prepare('SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges').all() as {
        vhost: string;
        name: string;
        type: string;
        auto_delete: number;
        internal: number;
        arguments: Buffer;
      }[]
    ).map(
      (r): ExchangeRecord => ({
        vhost: r.vhost,
        name: r.name,
        type: r.type,
        durable: true,
        autoDelete: r.auto_delete === 1,
        internal: r.internal === 1,
        arguments: args(r.arguments),
      }),
    );
    const queues = (
      db.prepare('SELECT id, vhost, name, auto_delete, arguments FROM queues ORDER BY id').all() as {
        id: number;
        vhost: string;
        name: string;
        auto_delete: number;
        arguments: Buffer;
      }[]
    ).map(
      (r): QueueRecord => ({
        id: r.id,
        vhost: r.vhost,
        name: r.name,
        autoDelete: r.auto_delete === 1,
        arguments: args(r.arguments),
      }),
    );
    const bindings = (
      db.prepare('SELECT vhost, source, dest_kind, destination, routing_key, arguments FROM bindings').all() as {
        vhost: string;
        source: string;
        dest_kind: string;
        destination: string;
        routing_key: string;
        arguments: Buffer;
      }[]
    ).map(
      (r): BindingRecord => ({
        vhost: r.vhost,
        source: r.source,
        destinationKind: r.dest_kind === 'exchange' ? 'exchange' : 'queue',
        destination: r.destination,
        routingKey: r.routing_key,
        arguments: args(r.arguments),
      }),
    );
    const counters = new Map<string, number>();
    for (const row of db.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]) {
      counters.set(row.name, row.value);
    }
    const buckets = (
      db
        .prepare(
          `SELECT e.queue, e.rank, COUNT(*), COALESCE(SUM(LENGTH(COALESCE(e.body, b.body))), 0)
             FROM entries e LEFT JOIN bodies b ON b.id = e.shared GROUP BY e.queue, e.rank`,
        )
        .raw(true)
        .all() as [number, number, number, number][]
    ).map(([queueId, rank, count, bytes]): BucketSummary => ({ queueId, rank, count, bytes }));
    for (const [id, refs] of db
      .prepare('SELECT shared, COUNT(*) FROM entries WHERE shared IS NOT NULL GROUP BY shared')
      .raw(true)
      .all() as [number, number][]) {
      this.sharedRefs.set(id, refs);
    }
    const maxSeq = Math.max(
      (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM entries').pluck().get() as number) ?? 0,
      (db.prepare('SELECT COALESCE(MAX(id), 0) FROM bodies').pluck().get() as number) ?? 0,
    );
    const maxQueueId = (db.prepare('SELECT COALESCE(MAX(id), 0) FROM queues').pluck().get() as number) ?? 0;
    return { vhosts, exchanges, queues, bindings, counters, maxSeq, maxQueueId, buckets };
  }

  // ---- entries (QueueStore) --------------------------------------------------------------------

  insert(entry: QueueEntry): void {
    entry.storeState = StoreState.Pending;
    entry.message.insertQueued();
    this.open.insert(entry);
    this.scheduleFlush();
  }

  markDelivered(entry: QueueEntry): void {
    this.open.markDelivered(entry.seq);
    this.scheduleFlush();
  }

  remove(entry: QueueEntry, acked = false): void {
    if (entry.storeState === StoreState.Pending) {
      // a Pending entry is always in the open batch: seal has not run since its insert
      entry.storeState = StoreState.Cancelled;
      this.open.cancelInsert(entry);
      entry.message.insertCancelled(acked);
      if (this.ackWait.insertCancelled(this.open)) this.scheduleFlush();
      return;
    }
    if (entry.storeState !== StoreState.Stored) return;
    entry.storeState = StoreState.Cancelled;
    this.open.delete(entry.seq);
    const bodyId = entry.sharedBodyId;
    if (bodyId !== 0) {
      const refs = (this.sharedRefs.get(bodyId) ?? 1) - 1;
      if (refs <= 0) {
        this.sharedRefs.delete(bodyId);
        this.open.deleteSharedBody(bodyId);
      } else this.sharedRefs.set(bodyId, refs);
    }
    this.scheduleFlush();
  }

  removePaged(queueId: number, rank: number, afterSeq: number): void {
    this.open.meta({ op: 'deletePaged', queue: queueId, rank, afterSeq });
    this.scheduleFlush();
  }

  pageOut(entry: QueueEntry): CommitToken {
    if (entry.storeState === StoreState.None) this.insert(entry);
    if (entry.storeState === StoreState.Pending) return this.open.no as CommitToken;
    // already handed to the writer: the newest batch sent holds it at the latest
    return (this.open.no - 1) as CommitToken;
  }

  readPaged(queue: Queue, rank: number, afterSeq: number, limit: number): QueueEntry[] {
    const rows = this.readPagedStatement.all(queue.id, rank, afterSeq, limit) as EntryRow[];
    const out: QueueEntry[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = entryOfRow(queue, rank, rows[i]!);
    return out;
  }

  readEntry(queue: Queue, seq: number): QueueEntry | undefined {
    const row = this.readEntryStatement.get(seq, queue.id) as [...EntryRow, number] | undefined;
    return row === undefined ? undefined : entryOfRow(queue, row[8], row);
  }

  // ---- definitions ---------------------------------------------------------------------------

  private encodeArgs(args: FieldTable): Uint8Array {
    this.argsWriter.reset();
    encodeFieldTable(this.argsWriter, args);
    return this.argsWriter.toBuffer();
  }

  putVhost(name: string): void {
    this.meta({ op: 'putVhost', name });
  }

  putExchange(record: ExchangeRecord): void {
    this.meta({
      op: 'putExchange',
      vhost: record.vhost,
      name: record.name,
      type: record.type,
      autoDelete: record.autoDelete,
      internal: record.internal,
      args: this.encodeArgs(record.arguments),
    });
  }

  deleteExchange(vhost: string, name: string): void {
    this.meta({ op: 'deleteExchange', vhost, name });
  }

  putQueue(record: QueueRecord): void {
    this.meta({
      op: 'putQueue',
      id: record.id,
      vhost: record.vhost,
      name: record.name,
      autoDelete: record.autoDelete,
      args: this.encodeArgs(record.arguments),
    });
  }

  deleteQueue(id: number): void {
    this.meta({ op: 'deleteQueue', id });
  }

  putBinding(record: BindingRecord, identity: string): void {
    this.meta({
      op: 'putBinding',
      vhost: record.vhost,
      source: record.source,
      destKind: record.destinationKind,
      destination: record.destination,
      routingKey: record.routingKey,
      args: this.encodeArgs(record.arguments),
      identity,
    });
  }

  deleteBinding(vhost: string, source: string, identity: string): void {
    this.meta({ op: 'deleteBinding', vhost, source, identity });
  }

  setCounter(name: string, value: number): void {
    this.open.setCounter(name, value);
    this.scheduleFlush();
  }

  // ---- keyed records ---------------------------------------------------------------------------

  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): void {
    this.open.keyedRecord(namespace, key, value, expiresAt);
    this.scheduleFlush();
  }

  deleteRecord(namespace: string, key: string): void {
    this.open.keyedRecord(namespace, key, null, 0);
    this.scheduleFlush();
  }

  readRecord(namespace: string, key: string): Buffer | undefined {
    return this.readKeyedStatement.get(namespace, key, Date.now()) as Buffer | undefined;
  }

  listRecords(namespace: string): [string, Buffer][] {
    return this.listKeyedStatement.all(namespace, Date.now()) as [string, Buffer][];
  }

  deleteVhost(name: string): void {
    this.meta({ op: 'deleteVhost', name });
  }

  private pruneExpiredRecords(): void {
    if (this.closing !== null || this.failure) return;
    this.open.pruneKeyed(Date.now());
    this.scheduleFlush();
  }

  private meta(op: Parameters<WriteBatch['meta']>[0]): void {
    this.open.meta(op);
    this.scheduleFlush();
  }

  // ---- commits ---------------------------------------------------------------------------------

  currentToken(): CommitToken {
    return this.open.no as CommitToken;
  }

  isCommitted(token: CommitToken): boolean {
    return token <= this.committed;
  }

  /**
   * Calls back once the batch the token names is committed (true), or could not be (false).
   * Durable acknowledgements (publisher confirms, job `ok`, delivery 202) wait on this.
   */
  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    if (this.failure) {
      queueMicrotask(() => callback(false));
      return;
    }
    if (token <= this.committed) {
      queueMicrotask(() => callback(true));
      return;
    }
    if (token < this.open.no) {
      const flight = this.inFlight.find((f) => f.coversUpTo >= token);
      if (flight !== undefined) {
        flight.callbacks.push(callback);
        return;
      }
    }
    this.open.callbacks.push(callback);
    this.scheduleFlush();
  }

  /** Resolves once everything written so far is committed (tests, shutdown). */
  private flush(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.whenCommitted(this.currentToken(), (ok) => (ok ? resolve() : reject(this.failure ?? new Error('store commit failed')))),
    );
  }

  /** True while the writer is behind: publishers should pause until `onDrain` fires. */
  get backlogged(): boolean {
    return this.inFlight.length >= this.maxInFlight || this.open.bytes > this.maxBatchBytes * 4;
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  get healthy(): boolean {
    return this.failure === null && this.closing === null && this.worker !== null;
  }

  get pendingCommits(): number {
    return this.inFlight.length + (this.open.isEmpty ? 0 : 1);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushScheduled = false;
    const batch = this.open;
    if (batch.isEmpty && batch.callbacks.length === 0) {
      // acks may have cancelled every write a paused publisher was waiting behind
      this.relieve();
      return;
    }
    // With nothing in flight, send now. With a commit running, keep filling this batch until the
    // commit returns (onReply sends it then), unless it is big: a message consumed and acked
    // meanwhile never reaches the disk, and its confirm waits no longer than it would have in the
    // writer's queue, behind the running commit. RabbitMQ's message store does the same.
    if (this.inFlight.length > 0) {
      if (this.inFlight.length >= this.maxInFlight) return;
      if (batch.bytes < this.maxBatchBytes * 4) return;
    } else if (this.ackWait.holds(batch)) return;
    this.send();
  };

  private send(): void {
    const batch = this.open;
    this.ackWait.sending(batch);
    this.open = new WriteBatch(batch.no + 1);
    if (this.failure || this.worker === null) {
      for (const callback of batch.callbacks) callback(false);
      return;
    }
    let sealed: ReturnType<WriteBatch['seal']>;
    try {
      sealed = batch.seal((bodyId) => this.sharedRefs.set(bodyId, (this.sharedRefs.get(bodyId) ?? 0) + 1));
    } catch (error) {
      // Packing runs from a timer or a writer reply: thrown on, it would end the process. A message
      // that cannot be encoded is skipped inside seal; anything else here is a bug, and the store
      // stops promising durability (every waiting commit answers false) instead.
      this.fail(new Error(`store could not pack batch ${batch.no}: ${error instanceof Error ? error.message : String(error)}`));
      for (const callback of batch.callbacks) callback(false);
      return;
    }
    const { message, transfer } = sealed;
    if (message.segments.length === 0 && message.counters.length === 0 && message.keyed.length === 0 && message.pruneKeyedBefore === 0) {
      // Nothing reached the writer (everything was settled in time): the callbacks only have to
      // wait for what is already in flight.
      const last = this.inFlight[this.inFlight.length - 1];
      if (last) {
        last.callbacks.push(...batch.callbacks);
        last.coversUpTo = batch.no;
      } else {
        this.committed = batch.no;
        for (const callback of batch.callbacks) callback(true);
        // no commit will answer: a publisher paused for the backlog this batch was must hear now
        this.relieve();
      }
      return;
    }
    this.inFlight.push({ no: batch.no, coversUpTo: batch.no, callbacks: batch.callbacks, sentAt: process.hrtime.bigint() });
    this.worker.post({ kind: 'batch', batch: message }, transfer);
  }

  private onReply(reply: WriterReply): void {
    if (reply.kind !== 'committed' && reply.kind !== 'failed') return;
    const done = this.inFlight.splice(0, reply.kind === 'committed' ? reply.batches : 1);
    const last = done[done.length - 1];
    if (last === undefined || last.no !== reply.no) {
      this.fail(new Error(`store writer answered batch ${reply.no} out of order`));
      return;
    }
    if (reply.kind === 'failed') {
      this.fail(new Error(`store commit failed: ${reply.error}`));
      for (const callback of last.callbacks) callback(false);
      return;
    }
    this.committed = last.coversUpTo;
    this.metrics?.recordCommit(Number(process.hrtime.bigint() - done[0]!.sentAt) / 1e9, reply.ops, reply.seconds);
    for (const flight of done) for (const callback of flight.callbacks) callback(true);
    // the next batch goes now, unless it is all out with consumers whose acks may spare it
    if ((!this.open.isEmpty || this.open.callbacks.length > 0) && !this.ackWait.holds(this.open)) this.send();
    this.relieve();
  }

  /** Runs the onDrain listeners once the backlog is gone. */
  private relieve(): void {
    if (!this.backlogged && this.drainListeners.length > 0) {
      for (const listener of this.drainListeners.splice(0)) listener();
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const flight of this.inFlight.splice(0)) for (const callback of flight.callbacks) callback(false);
    for (const callback of this.open.callbacks.splice(0)) callback(false);
    process.emitWarning(error);
  }

  /** Commits what is pending, stops the writer (checkpointing the WAL) and closes the database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.pruneTimer) clearInterval(this.pruneTimer);
      try {
        if (!this.failure) await this.flush();
      } catch {
        // already reported as a warning by fail(); closing goes on
      }
      if (this.worker) {
        await this.worker.stop();
        this.worker = null;
      }
      if (!this.failure) this.reader.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean_shutdown', '1')").run();
      this.reader.close();
    })();
    return this.closing;
  }
}
