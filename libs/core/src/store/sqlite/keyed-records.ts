import type Database from 'better-sqlite3';
import type { CommitPipeline } from '../commit-pipeline';
import type { CommitToken } from '../commit-token';
import { RecordKeyFilter } from './record-key-filter';
import type { WriteBatch } from './write-batch';

/** How often expired keyed records are deleted. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Keyed records on SQLite (idempotency keys, finished deliveries, definitions of users and
 * policies): writes go into the open batch (the last write of a key in a batch wins), reads ask
 * the main thread's read connection and so see committed writes only. Expired records are pruned
 * by a timer, with the next batch. A filter of the keys written answers most reads of keys that
 * never were (a new delivery UUID) without a lookup; it is built at the first read, once the store
 * is open, and again whenever the keys written since outgrow it.
 */
export class SqliteKeyedRecords {
  private readonly readStatement: Database.Statement;
  private readonly listStatement: Database.Statement;
  private readonly countStatement: Database.Statement;
  private readonly keysStatement: Database.Statement;
  private readonly filter = new RecordKeyFilter();
  private filterBuilt = false;
  /** Keys put and maybe not committed yet, oldest first: a rebuild (which reads the table) adds them too. */
  private uncommitted: { token: CommitToken; namespace: string; key: string }[] = [];
  private uncommittedHead = 0;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    reader: Database.Database,
    private readonly pipeline: CommitPipeline<WriteBatch>,
  ) {
    this.readStatement = reader.prepare('SELECT value FROM keyed_records WHERE namespace = ? AND key = ? AND expires_at > ?').pluck();
    this.listStatement = reader.prepare('SELECT key, value FROM keyed_records WHERE namespace = ? AND expires_at > ? ORDER BY key').raw(true);
    this.countStatement = reader.prepare('SELECT count(*) FROM keyed_records WHERE expires_at > ?').pluck();
    this.keysStatement = reader.prepare('SELECT namespace, key FROM keyed_records WHERE expires_at > ?').raw(true);
  }

  put(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    this.pipeline.open.keyedRecord(namespace, key, value, expiresAt);
    this.pipeline.scheduleFlush();
    const token = this.pipeline.currentToken();
    this.forgetCommitted();
    this.uncommitted.push({ token, namespace, key });
    // in the filter before it is committed: a read in between asks SQLite, which does not have it yet
    if (this.filterBuilt) {
      if (this.filter.full) this.filterBuilt = false;
      else this.filter.add(namespace, key);
    }
    return token;
  }

  private forgetCommitted(): void {
    const list = this.uncommitted;
    while (this.uncommittedHead < list.length && this.pipeline.isCommitted(list[this.uncommittedHead]!.token)) this.uncommittedHead++;
    if (this.uncommittedHead > 1024 && this.uncommittedHead * 2 > list.length) {
      this.uncommitted = list.slice(this.uncommittedHead);
      this.uncommittedHead = 0;
    }
  }

  delete(namespace: string, key: string): CommitToken {
    this.pipeline.open.keyedRecord(namespace, key, null, 0);
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  read(namespace: string, key: string): Buffer | undefined {
    if (!this.filterBuilt) this.buildFilter();
    if (!this.filter.mayHold(namespace, key)) return undefined;
    return this.readStatement.get(namespace, key, Date.now()) as Buffer | undefined;
  }

  /**
   * From the committed keys; a key put but not committed yet was added to the filter it replaces,
   * and is added again here (its write is in the open batch or in flight, not in the table).
   */
  private buildFilter(): void {
    const now = Date.now();
    const count = this.countStatement.get(now) as number;
    this.filter.rebuild(count, this.keysStatement.iterate(now) as Iterable<[string, string]>);
    this.forgetCommitted();
    for (let i = this.uncommittedHead; i < this.uncommitted.length; i++) this.filter.add(this.uncommitted[i]!.namespace, this.uncommitted[i]!.key);
    this.filterBuilt = true;
  }

  list(namespace: string): [string, Buffer][] {
    return this.listStatement.all(namespace, Date.now()) as [string, Buffer][];
  }

  /** Prunes expired records every minute while the store is healthy. */
  startPruning(): void {
    this.pruneTimer = setInterval(() => {
      if (!this.pipeline.healthy) return;
      this.pipeline.open.pruneKeyed(Date.now());
      this.pipeline.scheduleFlush();
    }, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  stopPruning(): void {
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
  }
}
