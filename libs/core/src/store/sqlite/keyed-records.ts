import type Database from 'better-sqlite3';
import type { CommitPipeline } from '../commit-pipeline';
import type { CommitToken } from '../commit-token';
import type { WriteBatch } from './write-batch';

/** How often expired keyed records are deleted. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Keyed records on SQLite (idempotency keys, finished deliveries, definitions of users and
 * policies): writes go into the open batch (the last write of a key in a batch wins), reads ask
 * the main thread's read connection and so see committed writes only. Expired records are pruned
 * by a timer, with the next batch.
 */
export class SqliteKeyedRecords {
  private readonly readStatement: Database.Statement;
  private readonly listStatement: Database.Statement;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    reader: Database.Database,
    private readonly pipeline: CommitPipeline<WriteBatch>,
  ) {
    this.readStatement = reader.prepare('SELECT value FROM keyed_records WHERE namespace = ? AND key = ? AND expires_at > ?').pluck();
    this.listStatement = reader.prepare('SELECT key, value FROM keyed_records WHERE namespace = ? AND expires_at > ? ORDER BY key').raw(true);
  }

  put(namespace: string, key: string, value: Buffer, expiresAt: number): CommitToken {
    this.pipeline.open.keyedRecord(namespace, key, value, expiresAt);
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  delete(namespace: string, key: string): CommitToken {
    this.pipeline.open.keyedRecord(namespace, key, null, 0);
    this.pipeline.scheduleFlush();
    return this.pipeline.currentToken();
  }

  read(namespace: string, key: string): Buffer | undefined {
    return this.readStatement.get(namespace, key, Date.now()) as Buffer | undefined;
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
