import type { DefinitionChange, PipelineBatch } from '#core';
import type { PoolClient } from 'pg';

/**
 * Rows of a part of cluster mode that commit with the store's batches (the database-backed queue
 * type's messages): what it adds while batch N is open (PostgresStore.openBatchNo, then
 * `wroteToOpenBatch`) it writes in batch N's transaction, so one commit and one commit token cover
 * it and everything else of the batch.
 */
export interface BatchPart {
  /** Writes what was added to batch `no`, inside its transaction (after the definitions, before the records). */
  write(tx: PoolClient, no: number): Promise<void>;
  /** Batch `no` committed (true) or was lost (false): forget what was kept for it. */
  settled(no: number, committed: boolean): void;
}

/** One definition write, in order: a change to log, or a binding delete whose change is read back from the row it removes. */
export type DefinitionOp = { kind: 'change'; change: DefinitionChange; identity?: string } | { kind: 'unbind'; vhost: string; source: string; identity: string };

/** A keyed record written (value) or deleted (null) by this batch; the last write of a key wins. */
export interface RecordWrite {
  namespace: string;
  key: string;
  value: Buffer | null;
  expiresAt: number;
}

/**
 * The open batch of PostgresStore: everything written since the last hand-over, committed as one
 * transaction. Definition changes stay in order (they are logged in that order for the other
 * nodes); keyed records, counters and notifications keep only their last value per key, so a
 * batch writes each at most once.
 */
export class PostgresBatch implements PipelineBatch {
  readonly definitions: DefinitionOp[] = [];
  readonly records = new Map<string, RecordWrite>();
  readonly counters = new Map<string, number>();
  /** Channel → payload: at most one NOTIFY per channel per commit. */
  readonly notifications = new Map<string, string>();
  bytes = 0;
  ops = 0;

  constructor(readonly no: number) {}

  get isEmpty(): boolean {
    return this.ops === 0;
  }

  definition(op: DefinitionOp): void {
    this.definitions.push(op);
    this.bytes += 128;
    this.ops++;
  }

  record(namespace: string, key: string, value: Buffer | null, expiresAt: number): void {
    this.records.set(`${namespace}\u0000${key}`, { namespace, key, value, expiresAt });
    this.bytes += (value?.length ?? 0) + key.length + 32;
    this.ops++;
  }

  counter(name: string, value: number): void {
    this.counters.set(name, value);
    this.ops++;
  }

  /** A part (BatchPart) wrote into this batch: it is worth a commit. */
  partWrote(bytes: number): void {
    this.bytes += bytes;
    this.ops++;
  }

  notify(channel: string, payload: string): void {
    // a notification alone is worth a commit (the transaction that sends it)
    if (!this.notifications.has(channel)) this.ops++;
    this.notifications.set(channel, payload);
  }
}
