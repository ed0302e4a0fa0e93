import type Database from 'better-sqlite3';
import { decodeProperties } from '../../encoding/properties';
import { Message } from '../../message/message';
import type { Queue } from '../../queue/queue';
import { QueueEntry, StoreState } from '../../queue/queue-entry';
import type { CommitPipeline } from '../commit-pipeline';
import type { CommitToken } from '../commit-token';
import type { AckWait } from './ack-wait';
import { ENTRY_FLAG_DELIVERED, ENTRY_FLAG_PERSISTENT } from './schema';
import type { WriteBatch } from './write-batch';

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
 * The classic queues' local log on SQLite: entry writes go into the open batch (synchronously,
 * allocating nothing but the batch's own arrays), paged-out entries are read back from the main
 * thread's read connection. Also counts the entries that point to each shared body row, so the
 * body goes with its last entry.
 */
export class SqliteEntryLog {
  /** Entries pointing to each shared body row (recovered at start, counted up at each seal). */
  readonly sharedRefs = new Map<number, number>();
  private readonly readPagedStatement: Database.Statement;
  private readonly readEntryStatement: Database.Statement;

  constructor(
    reader: Database.Database,
    private readonly pipeline: CommitPipeline<WriteBatch>,
    private readonly ackWait: AckWait,
  ) {
    this.readPagedStatement = reader
      .prepare(
        `SELECT e.seq, e.flags, e.exchange, e.routing_key, e.shared,
                COALESCE(e.props, b.props), COALESCE(e.body, b.body), e.expires_at
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.queue = ? AND e.rank = ? AND e.seq > ?
          ORDER BY e.seq LIMIT ?`,
      )
      .raw(true);
    this.readEntryStatement = reader
      .prepare(
        `SELECT e.seq, e.flags, e.exchange, e.routing_key, e.shared,
                COALESCE(e.props, b.props), COALESCE(e.body, b.body), e.expires_at, e.rank
           FROM entries e LEFT JOIN bodies b ON b.id = e.shared
          WHERE e.seq = ? AND e.queue = ?`,
      )
      .raw(true);
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
      // a Pending entry is always in the open batch: seal has not run since its insert
      entry.storeState = StoreState.Cancelled;
      open.cancelInsert(entry);
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
    for (let i = 0; i < rows.length; i++) out[i] = entryOfRow(queue, rank, rows[i]!);
    return out;
  }

  readEntry(queue: Queue, seq: number): QueueEntry | undefined {
    const row = this.readEntryStatement.get(seq, queue.id) as [...EntryRow, number] | undefined;
    return row === undefined ? undefined : entryOfRow(queue, row[8], row);
  }

  /** A sealed batch wrote an entry against a shared body. */
  readonly countSharedRef = (bodyId: number): void => {
    this.sharedRefs.set(bodyId, (this.sharedRefs.get(bodyId) ?? 0) + 1);
  };
}
