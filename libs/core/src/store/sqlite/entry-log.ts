import type Database from 'better-sqlite3';
import { decodeProperties } from '../../encoding/properties';
import { decodeAnnotations } from '../../message/annotation-codec';
import { Message } from '../../message/message';
import { keyOfHeader } from '../../queue/key-index';
import type { Queue } from '../../queue/queue';
import type { KeyRow } from '../../queue/queue-store';
import { QueueEntry, StoreState } from '../../queue/queue-entry';
import type { CommitPipeline } from '../commit-pipeline';
import type { CommitToken } from '../commit-token';
import type { AckWait } from './ack-wait';
import type { DeferredInserts } from './deferred-inserts';
import { ENTRY_FLAG_DELIVERED, ENTRY_FLAG_PERSISTENT } from './schema';
import type { WriteBatch } from './write-batch';

/** seq, flags, exchange, routing key, shared body id, props, body, expires_at, annotations */
type EntryRow = [number, number, string, string, number | null, Buffer, Buffer, number, string | null];

/** `redeliveredBelow`: entries with a lower seq were stored when the broker crashed, so may have been delivered. */
function entryOfRow(queue: Queue, rank: number, row: EntryRow | [...EntryRow, number], redeliveredBelow: number): QueueEntry {
  const [seq, flags, exchange, routingKey, shared, props, body, expiresAt, annotations] = row;
  const message = new Message(exchange, routingKey, decodeProperties(props), props, body, decodeAnnotations(annotations));
  const entry = new QueueEntry(seq, rank, message, queue, (flags & ENTRY_FLAG_PERSISTENT) !== 0);
  entry.storeState = StoreState.Stored;
  entry.sharedBodyId = shared ?? 0;
  entry.expiresAt = expiresAt;
  if ((flags & ENTRY_FLAG_DELIVERED) !== 0 || seq < redeliveredBelow) {
    entry.deliveries = 1;
    entry.redelivered = true;
  }
  return entry;
}

/**
 * The classic queues' local log on SQLite: entry writes go into the open batch (synchronously,
 * allocating nothing but the batch's own arrays), paged-out entries are read back from the main
 * thread's read connection. Also counts the entries that point to each shared body row, so the
 * body goes with its last entry.
 */
export class SqliteEntryLog {
  /** Entries pointing to each shared body row (recovered at start, counted up at each seal). */
  readonly sharedRefs = new Map<number, number>();
  /** Entries below this seq come back flagged redelivered (set at recovery, see readRecoveredFile). */
  redeliveredBelow = 0;
  private readonly readPagedStatement: Database.Statement;
  private readonly readEntryStatement: Database.Statement;
  private readonly readKeysStatement: Database.Statement;
  private readonly nextRankStatement: Database.Statement;

  constructor(
    reader: Database.Database,
    private readonly pipeline: CommitPipeline<WriteBatch>,
    private readonly ackWait: AckWait,
    private readonly deferred: DeferredInserts,
  ) {
    this.readPagedStatement = reader
      .prepare(
        `SELECT e.seq, e.flags, e.exchange, e.routing_key, e.shared,
                COALESCE(e.props, b.props), COALESCE(e.body, b.body), e.expires_at, e.annotations
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.queue = ? AND e.rank = ? AND e.seq > ?
          ORDER BY e.seq LIMIT ?`,
      )
      .raw(true);
    this.readEntryStatement = reader
      .prepare(
        `SELECT e.seq, e.flags, e.exchange, e.routing_key, e.shared,
                COALESCE(e.props, b.props), COALESCE(e.body, b.body), e.expires_at, e.annotations, e.rank
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.seq = ? AND e.queue = ?`,
      )
      .raw(true);
    // the key from the annotations column; the property list only for rows without it (an AMQP
    // publisher's header, or a row stored before annotations)
    this.readKeysStatement = reader
      .prepare(
        `SELECT e.seq, e.rank, json_extract(e.annotations, @path),
                CASE WHEN json_extract(e.annotations, @path) IS NULL THEN COALESCE(e.props, b.props) END
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.queue = @queue AND e.rank = @rank AND e.seq > @seq
          ORDER BY e.seq LIMIT @limit`,
      )
      .raw(true);
    this.nextRankStatement = reader.prepare('SELECT MIN(rank) FROM entries WHERE queue = ? AND rank > ?').pluck();
  }

  insert(entry: QueueEntry): void {
    entry.storeState = StoreState.Pending;
    entry.message.insertQueued();
    this.pipeline.open.insert(entry);
    this.pipeline.scheduleFlush();
  }

  markDelivered(entry: QueueEntry): void {
    this.pipeline.open.markDelivered(entry.seq);
    this.pipeline.scheduleFlush();
  }

  remove(entry: QueueEntry, acked = false): void {
    const open = this.pipeline.open;
    if (entry.storeState === StoreState.Pending) {
      // a Pending entry is always in the open batch: seal has not run since its insert, or the
      // last seal deferred it and carried it there
      entry.storeState = StoreState.Cancelled;
      if (this.deferred.settle(entry)) open.cancelCarried();
      else open.cancelInsert(entry);
      entry.message.insertCancelled(acked);
      if (this.ackWait.insertCancelled(open)) this.pipeline.scheduleFlush();
      return;
    }
    if (entry.storeState !== StoreState.Stored) return;
    entry.storeState = StoreState.Cancelled;
    open.delete(entry.seq);
    const bodyId = entry.sharedBodyId;
    if (bodyId !== 0) {
      const refs = (this.sharedRefs.get(bodyId) ?? 1) - 1;
      if (refs <= 0) {
        this.sharedRefs.delete(bodyId);
        open.deleteSharedBody(bodyId);
      } else this.sharedRefs.set(bodyId, refs);
    }
    this.pipeline.scheduleFlush();
  }

  removePaged(queueId: number, rank: number, afterSeq: number): void {
    this.pipeline.open.meta({ op: 'deletePaged', queue: queueId, rank, afterSeq });
    this.pipeline.scheduleFlush();
  }

  pageOut(entry: QueueEntry): CommitToken {
    if (entry.storeState === StoreState.None) this.insert(entry);
    if (entry.storeState === StoreState.Pending) return this.pipeline.currentToken();
    // already handed to the writer: the newest batch sent holds it at the latest
    return this.pipeline.lastHandedOverToken();
  }

  readPaged(queue: Queue, rank: number, afterSeq: number, limit: number): QueueEntry[] {
    const rows = this.readPagedStatement.all(queue.id, rank, afterSeq, limit) as EntryRow[];
    const out: QueueEntry[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = entryOfRow(queue, rank, rows[i]!, this.redeliveredBelow);
    return out;
  }

  readEntry(queue: Queue, seq: number): QueueEntry | undefined {
    const row = this.readEntryStatement.get(seq, queue.id) as [...EntryRow, number] | undefined;
    return row === undefined ? undefined : entryOfRow(queue, row[9], row, this.redeliveredBelow);
  }

  readKeys(queue: Queue, annotation: string, afterRank: number, afterSeq: number, limit: number): KeyRow[] {
    if (/["\\]/.test(annotation)) throw new Error(`annotation name ${JSON.stringify(annotation)} cannot be a key`);
    const path = `$.door."${annotation}"`;
    const out: KeyRow[] = [];
    // rank by rank, each an index seek (a row-value range over (rank, seq) scanned each rank from its start)
    let rank = afterRank;
    let seq = afterSeq;
    while (out.length < limit) {
      const rows = this.readKeysStatement.all({ path, queue: queue.id, rank, seq, limit: limit - out.length }) as [number, number, unknown, Buffer | null][];
      for (const [rowSeq, rowRank, annotated, props] of rows) {
        const key = annotated !== null ? keyOfHeader(annotated) : props !== null ? keyOfHeader(decodeProperties(props).headers?.[annotation]) : undefined;
        out.push([rowSeq, rowRank, key ?? null]);
      }
      if (out.length >= limit) break;
      const next = this.nextRankStatement.get(queue.id, rank) as number | null;
      if (next === null) break;
      rank = next;
      seq = 0;
    }
    return out;
  }

  /** A sealed batch wrote an entry against a shared body. */
  readonly countSharedRef = (bodyId: number): void => {
    this.sharedRefs.set(bodyId, (this.sharedRefs.get(bodyId) ?? 0) + 1);
  };
}
