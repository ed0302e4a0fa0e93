import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ByteWriter } from '../../encoding/byte-writer';
import { encodeFieldTable, FieldTable } from '../../encoding/field-table';
import type { CoreMetrics } from '../../metrics';
import type { Queue } from '../../queue/queue';
import type { QueueEntry } from '../../queue/queue-entry';
import type { KeyRow } from '../../queue/queue-store';
import type { BrokerStore } from '../broker-store';
import { CommitPipeline } from '../commit-pipeline';
import type { CommitCallback, CommitToken } from '../commit-token';
import type { BindingRecord, ExchangeRecord, QueueRecord, RecoveredState } from '../store-records';
import { AckWait } from './ack-wait';
import type { MetaOp, WriterReply } from './batch-format';
import { DeferredInserts } from './deferred-inserts';
import { SqliteEntryLog } from './entry-log';
import { SqliteKeyedRecords } from './keyed-records';
import { preparePrivateDatabase, TightenedMode } from './private-files';
import { markCleanShutdown, readRecoveredFile } from './recovery-reader';
import { migrateSchema, pragmasFor, SyncMode } from './schema';
import { SEPARATE_BODY_BYTES, WriteBatch } from './write-batch';
import { WriterThread } from './writer-thread';

export interface SqliteStoreOptions {
  dataDir: string;
  sync: SyncMode;
  /** Flush early when the open batch holds this many bytes (even with a commit in flight). */
  maxBatchBytes?: number;
  /** Batches handed to the writer and not yet committed, at most. */
  maxInFlight?: number;
  /** Milliseconds a batch whose inserts are all out with consumers waits for their acks (see AckWait); 0: never. */
  ackWaitMs?: number;
  /**
   * Milliseconds the insert of a body of 64 KB or more, out with a consumer or ready in a queue
   * with consumers, is carried on to later batches, so that the consumer's ack spares it (see
   * DeferredInserts); 0: never.
   */
  deferLargeMs?: number;
}

/**
 * Bodies deferred at once, at most, in multiples of maxBatchBytes: with 4 MB batches, 64 MB, more
 * than the confirm windows of bench/amqp's 1 MB scenario (2 publishers x 20) keep unconfirmed.
 * They cost no memory of their own: the queue holds each body until it is acked.
 */
const DEFERRED_BATCHES = 16;

const DB_FILE = 'broker.sqlite';

/**
 * The message store on SQLite (WAL). The main thread keeps a read connection (recovery, reading
 * paged-out entries and keyed records back) and collects writes into the open batch of a
 * CommitPipeline; a worker thread owns the write connection and commits each batch as one
 * transaction. Only one batch is normally in flight, so batches grow with load by themselves:
 * while a commit runs, the next batch fills. This class wires the parts together and maps the
 * definition writes onto the batch; the parts live in their own files: schema.ts (schema and
 * migrations), recovery-reader.ts, entry-log.ts (the classic queues' log), keyed-records.ts,
 * write-batch.ts and writer-thread.ts / writer-worker.ts (packing and committing a batch).
 */
export class SqliteStore implements BrokerStore {
  private readonly reader: Database.Database;
  private worker: WriterThread | null = null;
  private readonly pipeline: CommitPipeline<WriteBatch>;
  private readonly ackWait: AckWait;
  private readonly deferred: DeferredInserts;
  private readonly entries: SqliteEntryLog;
  private readonly records: SqliteKeyedRecords;
  private closing: Promise<void> | null = null;
  private readonly argsWriter = new ByteWriter(256);
  readonly file: string;
  /** Modes of DATA_DIR and the database files narrowed at open (they were open to others), for the log. */
  readonly tightenedModes: TightenedMode[];

  private constructor(options: SqliteStoreOptions) {
    this.file = join(options.dataDir, DB_FILE);
    this.tightenedModes = preparePrivateDatabase(options.dataDir, this.file);
    this.reader = new Database(this.file);
    for (const pragma of pragmasFor(options.sync)) this.reader.pragma(pragma);
    // checkpoints are the writer thread's: a commit here (at start: the recovery's) would otherwise
    // copy a WAL a crash left (up to the writer's threshold) back on the main thread before the
    // broker serves anything
    this.reader.pragma('wal_autocheckpoint = 0');
    migrateSchema(this.reader);
    const maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.ackWait = new AckWait(options.ackWaitMs ?? 0, maxBatchBytes * 4, () => this.pipeline.sendHeld());
    this.pipeline = new CommitPipeline<WriteBatch>(
      {
        openBatch: (no) => new WriteBatch(no),
        holds: (batch) => this.ackWait.holds(batch) || this.deferred.holds(batch),
        handOver: (batch) => this.handOver(batch),
      },
      { maxInFlight: options.maxInFlight ?? 3, earlyBytes: maxBatchBytes },
    );
    this.deferred = new DeferredInserts(this.pipeline, options.deferLargeMs ?? 0, maxBatchBytes * DEFERRED_BATCHES, SEPARATE_BODY_BYTES);
    this.entries = new SqliteEntryLog(this.reader, this.pipeline, this.ackWait, this.deferred);
    this.records = new SqliteKeyedRecords(this.reader, this.pipeline);
  }

  /** Opens (creating if needed) the store under `dataDir` and starts its writer thread. */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    const store = new SqliteStore(options);
    store.worker = await WriterThread.start(
      store.file,
      options.sync,
      (reply) => store.onReply(reply),
      (error) => store.pipeline.fail(error),
    );
    store.records.startPruning();
    return store;
  }

  attach(slot: number, metrics: CoreMetrics): void {
    this.pipeline.attach(slot, metrics);
  }

  /**
   * Reads the durable definitions and a per-(queue, rank) summary of stored entries, after dropping
   * what must not survive a restart (see readRecoveredFile).
   */
  async recover(): Promise<RecoveredState> {
    const { state, sharedRefs, redeliveredBelow } = readRecoveredFile(this.reader);
    this.entries.redeliveredBelow = redeliveredBelow;
    for (const [id, refs] of sharedRefs) this.entries.sharedRefs.set(id, refs);
    return state;
  }

  // ---- entries: the local log (SqliteEntryLog) --------------------------------------------------

  insert(entry: QueueEntry): void {
    this.entries.insert(entry);
  }

  markDelivered(entry: QueueEntry): void {
    this.entries.markDelivered(entry);
  }

  remove(entry: QueueEntry, acked = false): void {
    this.entries.remove(entry, acked);
  }

  removePaged(queueId: number, rank: number, afterSeq: number): void {
    this.entries.removePaged(queueId, rank, afterSeq);
  }

  pageOut(entry: QueueEntry): CommitToken {
    return this.entries.pageOut(entry);
  }

  readPaged(queue: Queue, rank: number, afterSeq: number, limit: number): QueueEntry[] {
    return this.entries.readPaged(queue, rank, afterSeq, limit);
  }

  readEntry(queue: Queue, seq: number): QueueEntry | undefined {
    return this.entries.readEntry(queue, seq);
  }

  readKeys(queue: Queue, annotation: string, afterRank: number, afterSeq: number, limit: number): KeyRow[] {
    return this.entries.readKeys(queue, annotation, afterRank, afterSeq, limit);
  }

  // ---- definitions -----------------------------------------------------------------------------

  putVhost(name: string): CommitToken {
    return this.meta({ op: 'putVhost', name });
  }

  deleteVhost(name: string): CommitToken {
    return this.meta({ op: 'deleteVhost', name });
  }

  putExchange(record: ExchangeRecord): CommitToken {
    return this.meta({
      op: 'putExchange',
      vhost: record.vhost,
      name: record.name,
      type: record.type,
      autoDelete: record.autoDelete,
      internal: record.internal,
      args: this.encodeArgs(record.arguments),
    });
  }

  deleteExchange(vhost: string, name: string): CommitToken {
    return this.meta({ op: 'deleteExchange', vhost, name });
  }

  putQueue(record: QueueRecord): CommitToken {
    return this.meta({
      op: 'putQueue',
      id: record.id,
      vhost: record.vhost,
      name: record.name,
      autoDelete: record.autoDelete,
      args: this.encodeArgs(record.arguments),
    });
  }

  deleteQueue(id: number): CommitToken {
    return this.meta({ op: 'deleteQueue', id });
  }

  putBinding(record: BindingRecord, identity: string): CommitToken {
    return this.meta({
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

  deleteBinding(vhost: string, source: string, identity: string): CommitToken {
    return this.meta({ op: 'deleteBinding', vhost, source, identity });
  }

  setCounter(name: string, value: number): CommitToken {
    this.pipeline.open.setCounter(name, value);
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  private encodeArgs(args: FieldTable): Uint8Array {
    this.argsWriter.reset();
    encodeFieldTable(this.argsWriter, args);
    return this.argsWriter.toBuffer();
  }

  private meta(op: MetaOp): CommitToken {
    this.pipeline.open.meta(op);
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  // ---- keyed records (SqliteKeyedRecords) -------------------------------------------------------

  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    return this.records.put(namespace, key, value, expiresAt);
  }

  deleteRecord(namespace: string, key: string): CommitToken {
    return this.records.delete(namespace, key);
  }

  /** Answered from the local file at once; async as the port's reads are. */
  async readRecord(namespace: string, key: string): Promise<Buffer | undefined> {
    return this.records.read(namespace, key);
  }

  async listRecords(namespace: string): Promise<[string, Buffer][]> {
    return this.records.list(namespace);
  }

  // ---- commits (CommitPipeline) -----------------------------------------------------------------

  currentToken(): CommitToken {
    return this.pipeline.currentToken();
  }

  isCommitted(token: CommitToken): boolean {
    return this.pipeline.isCommitted(token);
  }

  /**
   * Calls back once the batch the token names is committed (true), or could not be (false).
   * Durable acknowledgements (publisher confirms, job `ok`, delivery 202) wait on this.
   */
  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    this.pipeline.whenCommitted(token, callback);
  }

  /** True while the writer is behind: publishers should pause until `onDrain` fires. */
  get backlogged(): boolean {
    return this.pipeline.backlogged;
  }

  onDrain(listener: () => void): void {
    this.pipeline.onDrain(listener);
  }

  get healthy(): boolean {
    return this.pipeline.healthy && this.closing === null && this.worker !== null;
  }

  get pendingCommits(): number {
    return this.pipeline.pendingCommits;
  }

  /** The pipeline's hand-over: packs the batch and posts it to the writer thread. */
  private handOver(batch: WriteBatch): boolean {
    this.ackWait.sending(batch);
    if (this.worker === null) throw new Error('the store writer is not running');
    // a message that cannot be encoded is skipped inside seal; anything thrown here is a bug
    const now = Date.now();
    const { message, transfer, deferred } = batch.seal(this.entries.countSharedRef, {
      defers: (entry, lastSegment) => this.deferred.defers(entry, batch.no, lastSegment, now),
      settle: (entry) => this.deferred.settle(entry),
    });
    if (deferred.length > 0) {
      // the pipeline opened the next batch before this hand-over: they run first in it
      const open = this.pipeline.open;
      for (const entry of deferred) open.carry(entry);
      this.pipeline.scheduleFlush();
    }
    // nothing reached the writer (everything was settled in time)
    if (message.segments.length === 0 && message.counters.length === 0 && message.keyed.length === 0 && message.pruneKeyedBefore === 0) return false;
    this.worker.post({ kind: 'batch', batch: message }, transfer);
    return true;
  }

  private onReply(reply: WriterReply): void {
    if (reply.kind === 'committed') this.pipeline.committed(reply.no, reply.batches, reply.ops, reply.seconds);
    else if (reply.kind === 'failed') this.pipeline.failed(reply.no, reply.error);
  }

  /** Commits what is pending, stops the writer (checkpointing the WAL) and closes the database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.records.stopPruning();
      this.deferred.stop();
      try {
        if (this.pipeline.failure === null) await this.pipeline.flush();
      } catch {
        // already reported as a warning when the pipeline failed; closing goes on
      }
      // what is written from now on is not committed: its waits answer false
      this.pipeline.stop();
      if (this.worker) {
        await this.worker.stop();
        this.worker = null;
      }
      if (this.pipeline.failure === null) markCleanShutdown(this.reader);
      this.reader.close();
    })();
    return this.closing;
  }
}
