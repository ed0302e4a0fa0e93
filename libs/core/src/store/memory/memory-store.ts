import type { CoreMetrics } from '../../metrics';
import { Message } from '../../message/message';
import type { Queue } from '../../queue/queue';
import { QueueEntry, StoreState } from '../../queue/queue-entry';
import type { BrokerStore } from '../broker-store';
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

/**
 * A store that keeps its "durable" state in memory: the same port and commit semantics as the
 * SQLite store (writes commit together on the next turn; tokens name commits; paged entries are
 * read back in order), for core tests and embedders that need no durability. Rows keep their
 * Message objects, so nothing is encoded.
 */
export class MemoryStore implements BrokerStore {
  private readonly vhosts = new Set<string>();
  private readonly exchanges = new Map<string, ExchangeRecord>();
  private readonly queues = new Map<number, QueueRecord>();
  private readonly bindings = new Map<string, BindingRecord>();
  private readonly counters = new Map<string, number>();
  private readonly keyed = new Map<string, { value: Buffer; expiresAt: number }>();
  private pendingKeyed = new Map<string, { value: Buffer; expiresAt: number } | null>();
  private readonly rows = new Map<number, StoredRow>();
  private pendingInserts: QueueEntry[] = [];
  private waiting: { token: number; callback: CommitCallback }[] = [];
  private committed = 0;
  private open = 1;
  private writesInOpen = 0;
  private commitScheduled = false;
  private closed = false;
  private metrics: CoreMetrics | null = null;

  readonly backlogged = false;

  attachMetrics(metrics: CoreMetrics): void {
    this.metrics = metrics;
  }

  /** Starts a run over what the store holds (a new MemoryStore holds nothing). */
  async recover(): Promise<RecoveredState> {
    this.closed = false;
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

  // ---- entries ---------------------------------------------------------------------------------

  insert(entry: QueueEntry): void {
    entry.storeState = StoreState.Pending;
    this.pendingInserts.push(entry);
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
    return this.open as CommitToken;
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

  putVhost(name: string): void {
    this.vhosts.add(name);
    this.wrote();
  }

  putExchange(record: ExchangeRecord): void {
    this.exchanges.set(`${record.vhost}\u0000${record.name}`, record);
    this.wrote();
  }

  deleteExchange(vhost: string, name: string): void {
    this.exchanges.delete(`${vhost}\u0000${name}`);
    this.wrote();
  }

  putQueue(record: QueueRecord): void {
    this.queues.set(record.id, record);
    this.wrote();
  }

  deleteQueue(id: number): void {
    this.queues.delete(id);
    for (const [seq, row] of this.rows) if (row.queueId === id) this.rows.delete(seq);
    this.wrote();
  }

  putBinding(record: BindingRecord, identity: string): void {
    this.bindings.set(`${record.vhost}\u0000${record.source}\u0000${identity}`, record);
    this.wrote();
  }

  deleteBinding(vhost: string, source: string, identity: string): void {
    this.bindings.delete(`${vhost}\u0000${source}\u0000${identity}`);
    this.wrote();
  }

  setCounter(name: string, value: number): void {
    this.counters.set(name, value);
    this.wrote();
  }

  // ---- keyed records ---------------------------------------------------------------------------

  putRecord(namespace: string, key: string, value: Buffer, expiresAt: number): void {
    this.pendingKeyed.set(`${namespace}\u0000${key}`, { value: Buffer.from(value), expiresAt });
    this.wrote();
  }

  deleteRecord(namespace: string, key: string): void {
    this.pendingKeyed.set(`${namespace}\u0000${key}`, null);
    this.wrote();
  }

  readRecord(namespace: string, key: string): Buffer | undefined {
    const id = `${namespace}\u0000${key}`;
    const record = this.keyed.get(id);
    if (record === undefined) return undefined;
    if (record.expiresAt <= Date.now()) {
      this.keyed.delete(id);
      return undefined;
    }
    return record.value;
  }

  listRecords(namespace: string): [string, Buffer][] {
    const prefix = `${namespace}\u0000`;
    const now = Date.now();
    const out: [string, Buffer][] = [];
    for (const [id, record] of this.keyed) if (id.startsWith(prefix) && record.expiresAt > now) out.push([id.slice(prefix.length), record.value]);
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  deleteVhost(name: string): void {
    this.vhosts.delete(name);
    this.wrote();
  }

  // ---- commits ---------------------------------------------------------------------------------

  currentToken(): CommitToken {
    return this.open as CommitToken;
  }

  isCommitted(token: CommitToken): boolean {
    return token <= this.committed;
  }

  whenCommitted(token: CommitToken, callback: CommitCallback): void {
    if (this.closed) {
      queueMicrotask(() => callback(false));
      return;
    }
    if (token <= this.committed) {
      queueMicrotask(() => callback(true));
      return;
    }
    this.waiting.push({ token, callback });
    this.scheduleCommit();
  }

  get healthy(): boolean {
    return !this.closed;
  }

  get pendingCommits(): number {
    return this.writesInOpen > 0 ? 1 : 0;
  }

  onDrain(listener: () => void): void {
    queueMicrotask(listener);
  }

  async close(): Promise<void> {
    if (this.writesInOpen > 0 || this.waiting.length > 0) this.commit();
    this.closed = true;
  }

  private wrote(): void {
    this.writesInOpen++;
    this.scheduleCommit();
  }

  private scheduleCommit(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => this.commit());
  }

  private commit(): void {
    this.commitScheduled = false;
    const ops = this.writesInOpen;
    for (const entry of this.pendingInserts) {
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
    this.pendingInserts = [];
    for (const [id, record] of this.pendingKeyed) {
      if (record === null) this.keyed.delete(id);
      else this.keyed.set(id, record);
    }
    this.pendingKeyed = new Map();
    this.writesInOpen = 0;
    this.committed = this.open++;
    if (ops > 0) this.metrics?.recordCommit(0, ops);
    const due = this.waiting.filter((w) => w.token <= this.committed);
    this.waiting = this.waiting.filter((w) => w.token > this.committed);
    for (const { callback } of due) callback(true);
  }
}
