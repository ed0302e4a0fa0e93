import type { CoreMetrics } from '../../metrics';
import { Message } from '../../message/message';
import { keyOf } from '../../queue/key-index';
import type { Queue } from '../../queue/queue';
import type { KeyRow } from '../../queue/queue-store';
import { QueueEntry, StoreState } from '../../queue/queue-entry';
import type { BrokerStore } from '../broker-store';
import { CommitPipeline, PipelineBatch } from '../commit-pipeline';
import type { CommitCallback, CommitToken } from '../commit-token';
import type { BindingRecord, BucketSummary, ExchangeRecord, QueueRecord, RecoveredState } from '../store-records';

interface StoredRow {
  seq: number;
  queueId: number;
  rank: number;
  durable: boolean;
  delivered: boolean;
  expiresAt: number;
  message: Message;
}

interface KeyedValue {
  value: Buffer;
  expiresAt: number;
}

/** What a turn wrote: inserts and keyed records wait for the commit; the rest applies at once. */
class MemoryBatch implements PipelineBatch {
  readonly inserts: QueueEntry[] = [];
  readonly keyed = new Map<string, KeyedValue | null>();
  writes = 0;
  /** Nothing is encoded or copied: a memory batch never makes a backlog. */
  readonly bytes = 0;

  constructor(readonly no: number) {}

  get isEmpty(): boolean {
    return this.writes === 0;
  }
}

/**
 * A store that keeps its "durable" state in memory: the same port and commit semantics as the
 * SQLite store (writes commit together on the next turn, through the same CommitPipeline; tokens
 * name commits; paged entries are read back in order), for core tests and embedders that need no
 * durability. Rows keep their Message objects, so nothing is encoded. A commit is applied on the
 * spot, so nothing is ever in flight.
 */
export class MemoryStore implements BrokerStore {
  private readonly vhosts = new Set<string>();
  private readonly exchanges = new Map<string, ExchangeRecord>();
  private readonly queues = new Map<number, QueueRecord>();
  private readonly bindings = new Map<string, BindingRecord>();
  private readonly counters = new Map<string, number>();
  private readonly keyed = new Map<string, KeyedValue>();
  private readonly rows = new Map<number, StoredRow>();
  private readonly pipeline = new CommitPipeline<MemoryBatch>(
    { openBatch: (no) => new MemoryBatch(no), holds: () => false, handOver: (batch) => this.apply(batch) },
    { maxInFlight: Infinity, earlyBytes: Infinity },
  );
  private metrics: CoreMetrics | null = null;

  attach(slot: number, metrics: CoreMetrics): void {
    this.pipeline.attach(slot, metrics);
    this.metrics = metrics;
  }

  /** Starts a run over what the store holds (a new MemoryStore holds nothing). */
  async recover(): Promise<RecoveredState> {
    this.pipeline.restart();
    for (const [seq, row] of this.rows) if (!row.durable || !this.queues.has(row.queueId)) this.rows.delete(seq);
    const buckets = new Map<string, BucketSummary>();
    let maxSeq = 0;
    for (const row of this.rows.values()) {
      maxSeq = Math.max(maxSeq, row.seq);
      const key = `${row.queueId}/${row.rank}`;
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        bucket = { queueId: row.queueId, rank: row.rank, count: 0, bytes: 0 };
        buckets.set(key, bucket);
      }
      bucket.count++;
      bucket.bytes += row.message.body.length;
    }
    return {
      vhosts: [...this.vhosts],
      exchanges: [...this.exchanges.values()],
      queues: [...this.queues.values()].sort((a, b) => a.id - b.id),
      bindings: [...this.bindings.values()],
      counters: new Map(this.counters),
      maxSeq,
      maxQueueId: Math.max(0, ...this.queues.keys()),
      buckets: [...buckets.values()],
    };
  }

  // ---- entries (the local log) -----------------------------------------------------------------

  insert(entry: QueueEntry): void {
    entry.storeState = StoreState.Pending;
    this.pipeline.open.inserts.push(entry);
    this.wrote();
  }

  markDelivered(entry: QueueEntry): void {
    const row = this.rows.get(entry.seq);
    if (row !== undefined) row.delivered = true;
    this.wrote();
  }

  remove(entry: QueueEntry): void {
    if (entry.storeState === StoreState.Pending) {
      entry.storeState = StoreState.Cancelled;
      return;
    }
    if (entry.storeState !== StoreState.Stored) return;
    entry.storeState = StoreState.Cancelled;
    this.rows.delete(entry.seq);
    this.wrote();
  }

  removePaged(queueId: number, rank: number, afterSeq: number): void {
    for (const [seq, row] of this.rows) if (row.queueId === queueId && row.rank === rank && seq > afterSeq) this.rows.delete(seq);
    this.wrote();
  }

  pageOut(entry: QueueEntry): CommitToken {
    if (entry.storeState === StoreState.None) this.insert(entry);
    return this.pipeline.currentToken();
  }

  readPaged(queue: Queue, rank: number, afterSeq: number, limit: number): QueueEntry[] {
    const rows = [...this.rows.values()]
      .filter((row) => row.queueId === queue.id && row.rank === rank && row.seq > afterSeq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit);
    return rows.map((row) => this.entryOf(queue, row));
  }

  readEntry(queue: Queue, seq: number): QueueEntry | undefined {
    const row = this.rows.get(seq);
    return row === undefined || row.queueId !== queue.id ? undefined : this.entryOf(queue, row);
  }

  readKeys(queue: Queue, annotation: string, afterRank: number, afterSeq: number, limit: number): KeyRow[] {
    const after = (row: StoredRow): boolean => row.rank > afterRank || (row.rank === afterRank && row.seq > afterSeq);
    return [...this.rows.values()]
      .filter((row) => row.queueId === queue.id && after(row))
      .sort((a, b) => a.rank - b.rank || a.seq - b.seq)
      .slice(0, limit)
      .map((row): KeyRow => [row.seq, row.rank, keyOf(row.message, annotation) ?? null]);
  }

  private entryOf(queue: Queue, row: StoredRow): QueueEntry {
    const entry = new QueueEntry(row.seq, row.rank, row.message, queue, row.durable);
    entry.storeState = StoreState.Stored;
    entry.expiresAt = row.expiresAt;
    if (row.delivered) {
      entry.deliveries = 1;
      entry.redelivered = true;
    }
    return entry;
  }

  // ---- definitions -----------------------------------------------------------------------------

  putVhost(name: string): CommitToken {
    this.vhosts.add(name);
    return this.wrote();
  }

  deleteVhost(name: string): CommitToken {
    this.vhosts.delete(name);
    return this.wrote();
  }

  putExchange(record: ExchangeRecord): CommitToken {
    this.exchanges.set(`${record.vhost}\u0000${record.name}`, record);
    return this.wrote();
  }

  deleteExchange(vhost: string, name: string): CommitToken {
    this.exchanges.delete(`${vhost}\u0000${name}`);
    return this.wrote();
  }

  putQueue(record: QueueRecord): CommitToken {
    this.queues.set(record.id, record);
    return this.wrote();
  }

  deleteQueue(id: number): CommitToken {
    this.queues.delete(id);
    for (const [seq, row] of this.rows) if (row.queueId === id) this.rows.delete(seq);
    return this.wrote();
  }

  putBinding(record: BindingRecord, identity: string): CommitToken {
    this.bindings.set(`${record.vhost}\u0000${record.source}\u0000${identity}`, record);
    return this.wrote();
  }

  deleteBinding(vhost: string, source: string, identity: string): CommitToken {
    this.bindings.delete(`${vhost}\u0000${source}\u0000${identity}`);
    return this.wrote();
  }

  setCounter(name: string, value: number): CommitToken {
    this.counters.set(name, value);
    return this.wrote();
  }

  // ---- keyed records ---------------------------------------------------------------------------

  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    this.pipeline.open.keyed.set(`${namespace}\u0000${key}`, { value: Buffer.from(value), expiresAt });
    return this.wrote();
  }

  deleteRecord(namespace: string, key: string): CommitToken {
    this.pipeline.open.keyed.set(`${namespace}\u0000${key}`, null);
    return this.wrote();
  }

  async readRecord(namespace: string, key: string): Promise<Buffer | undefined> {
    const id = `${namespace}\u0000${key}`;
    const record = this.keyed.get(id);
    if (record === undefined) return undefined;
    if (record.expiresAt <= Date.now()) {
      this.keyed.delete(id);
      return undefined;
    }
    return record.value;
  }

  async listRecords(namespace: string): Promise<[string, Buffer][]> {
    const prefix = `${namespace}\u0000`;
    const now = Date.now();
    const out: [string, Buffer][] = [];
    for (const [id, record] of this.keyed) if (id.startsWith(prefix) && record.expiresAt > now) out.push([id.slice(prefix.length), record.value]);
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // ---- commits ---------------------------------------------------------------------------------

  currentToken(): CommitToken {
    return this.pipeline.currentToken();
  }

  isCommitted(token: CommitToken): boolean {
    return this.pipeline.isCommitted(token);
  }

  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    this.pipeline.whenCommitted(token, callback);
  }

  get backlogged(): boolean {
    return this.pipeline.backlogged;
  }

  onDrain(listener: () => void): void {
    this.pipeline.onDrain(listener);
  }

  get healthy(): boolean {
    return this.pipeline.healthy;
  }

  get pendingCommits(): number {
    return this.pipeline.pendingCommits;
  }

  /**
   * Commits what is pending. Until the next `recover` (a broker reopened over this store), waits
   * on anything written later answer false and those writes are dropped, as a closed SQLite
   * store's are.
   */
  async close(): Promise<void> {
    this.pipeline.sendOpen();
    this.pipeline.stop();
  }

  private wrote(): CommitToken {
    this.pipeline.open.writes++;
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  /** The pipeline's hand-over: the batch is committed on the spot, nothing stays in flight. */
  private apply(batch: MemoryBatch): boolean {
    for (const entry of batch.inserts) {
      if (entry.storeState !== StoreState.Pending) continue;
      entry.storeState = StoreState.Stored;
      this.rows.set(entry.seq, {
        seq: entry.seq,
        queueId: entry.queue.id,
        rank: entry.rank,
        durable: entry.durable,
        delivered: entry.deliveries > 0,
        expiresAt: entry.expiresAt,
        message: entry.message,
      });
    }
    for (const [id, record] of batch.keyed) {
      if (record === null) this.keyed.delete(id);
      else this.keyed.set(id, record);
    }
    if (batch.writes > 0) this.metrics?.recordCommit(0, batch.writes);
    return false;
  }
}
