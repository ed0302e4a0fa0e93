/**
 * The writer thread: owns the SQLite write connection and turns each batch into one transaction,
 * so commits (and their fsyncs) never block the broker's event loop.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { BatchMessage, MetaOp, RecordKind, SegmentMessage, toRuns, WriterReply, WriterRequest } from './batch-format';
import { pragmasFor, SyncMode } from './schema';

interface WriterOptions {
  file: string;
  sync: SyncMode;
}

const { file, sync } = workerData as WriterOptions;
const db = new Database(file);
for (const pragma of pragmasFor(sync)) db.pragma(pragma);
// Large persistent bodies made the writer disk-bound at SQLite's defaults: its 2 MB page cache
// spilled mid-transaction and a checkpoint every 16 MB of WAL rewrote pages that the next acks
// freed again. A 64 MB cache and a checkpoint per 256 MB of WAL took 1 MB persistent + confirms
// from ~190 to ~310 msg/s on a 2-core machine (968a979); a 16 MB cache with a 64 MB WAL gave a
// fifth of that back (bench/amqp p: 213 -> 174 msg/s), so they stay. What a kill -9 leaves in the
// WAL no longer costs the restart a checkpoint on the main thread (the reader never checkpoints),
// and an idle writer checkpoints it away within a second (below).
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 64000');
// The WAL file is overwritten in place from one checkpoint to the next: cut back to 64 MB after
// each reset, it grew again by allocation, and every fsync while it grew carried the file's new
// extents too (bench/jobs schedule p99 17-24 -> 44-68 ms). It is cut back only past what one
// checkpoint's worth of WAL needs (a transaction larger than that, a writer that fell behind).
db.pragma(`journal_size_limit = ${320 * 1024 * 1024}`);

const statements = {
  insertEntry: db.prepare(
    'INSERT OR REPLACE INTO entries (seq, queue, rank, flags, exchange, routing_key, shared, props, body, expires_at, annotations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  insertBody: db.prepare('INSERT OR REPLACE INTO bodies (id, props, body) VALUES (?, ?, ?)'),
  markDelivered: db.prepare('UPDATE entries SET flags = flags | 1 WHERE seq BETWEEN ? AND ?'),
  deleteEntries: db.prepare('DELETE FROM entries WHERE seq BETWEEN ? AND ?'),
  deleteBodies: db.prepare('DELETE FROM bodies WHERE id BETWEEN ? AND ?'),
  putVhost: db.prepare('INSERT OR IGNORE INTO vhosts (name) VALUES (?)'),
  deleteVhost: db.prepare('DELETE FROM vhosts WHERE name = ?'),
  putExchange: db.prepare(
    'INSERT OR REPLACE INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)',
  ),
  deleteExchange: db.prepare('DELETE FROM exchanges WHERE vhost = ? AND name = ?'),
  deleteExchangeBindings: db.prepare(
    "DELETE FROM bindings WHERE vhost = ? AND (source = ? OR (dest_kind = 'exchange' AND destination = ?))",
  ),
  putQueue: db.prepare('INSERT OR REPLACE INTO queues (id, vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)'),
  selectQueue: db.prepare('SELECT vhost, name FROM queues WHERE id = ?'),
  deleteQueue: db.prepare('DELETE FROM queues WHERE id = ?'),
  deleteQueueEntries: db.prepare('DELETE FROM entries WHERE queue = ?'),
  deleteQueueBindings: db.prepare("DELETE FROM bindings WHERE vhost = ? AND dest_kind = 'queue' AND destination = ?"),
  putBinding: db.prepare(
    'INSERT OR REPLACE INTO bindings (vhost, source, dest_kind, destination, routing_key, arguments, identity) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ),
  deleteBinding: db.prepare('DELETE FROM bindings WHERE vhost = ? AND source = ? AND identity = ?'),
  deletePaged: db.prepare('DELETE FROM entries WHERE queue = ? AND rank = ? AND seq > ?'),
  setCounter: db.prepare('INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)'),
  putKeyed: db.prepare('INSERT OR REPLACE INTO keyed_records (namespace, key, value, expires_at) VALUES (?, ?, ?, ?)'),
  deleteKeyed: db.prepare('DELETE FROM keyed_records WHERE namespace = ? AND key = ?'),
  pruneKeyed: db.prepare('DELETE FROM keyed_records WHERE expires_at <= ?'),
};

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function applyMeta(op: MetaOp): void {
  switch (op.op) {
    case 'putVhost':
      statements.putVhost.run(op.name);
      return;
    case 'deleteVhost':
      statements.deleteVhost.run(op.name);
      return;
    case 'putExchange':
      statements.putExchange.run(op.vhost, op.name, op.type, op.autoDelete ? 1 : 0, op.internal ? 1 : 0, asBuffer(op.args));
      return;
    case 'deleteExchange':
      statements.deleteExchange.run(op.vhost, op.name);
      statements.deleteExchangeBindings.run(op.vhost, op.name, op.name);
      return;
    case 'putQueue':
      statements.putQueue.run(op.id, op.vhost, op.name, op.autoDelete ? 1 : 0, asBuffer(op.args));
      return;
    case 'deleteQueue': {
      const row = statements.selectQueue.get(op.id) as { vhost: string; name: string } | undefined;
      if (row) statements.deleteQueueBindings.run(row.vhost, row.name);
      statements.deleteQueue.run(op.id);
      statements.deleteQueueEntries.run(op.id);
      return;
    }
    case 'putBinding':
      statements.putBinding.run(
        op.vhost,
        op.source,
        op.destKind,
        op.destination,
        op.routingKey,
        asBuffer(op.args),
        op.identity,
      );
      return;
    case 'deleteBinding':
      statements.deleteBinding.run(op.vhost, op.source, op.identity);
      return;
    case 'deletePaged':
      statements.deletePaged.run(op.queue, op.rank, op.afterSeq);
      return;
  }
}

/** Reads the packed records of a segment (see RecordKind) and inserts them. */
function applyRecords(records: Uint8Array): number {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.length);
  let pos = 0;
  let ops = 0;
  const blob = (): Buffer => {
    const length = buf.readUInt32BE(pos);
    const bytes = buf.subarray(pos + 4, pos + 4 + length);
    pos += 4 + length;
    return bytes;
  };
  const text = (): string => {
    const length = buf.readUInt32BE(pos);
    const value = buf.toString('utf8', pos + 4, pos + 4 + length);
    pos += 4 + length;
    return value;
  };
  while (pos < buf.length) {
    const kind = buf[pos++];
    if (kind === RecordKind.Entry) {
      const seq = buf.readDoubleBE(pos);
      const queue = buf.readUInt32BE(pos + 8);
      const rank = buf.readUInt32BE(pos + 12);
      const flags = buf[pos + 16]!;
      const shared = buf.readDoubleBE(pos + 17);
      const expiresAt = buf.readDoubleBE(pos + 25);
      pos += 33;
      const exchange = text();
      const routingKey = text();
      const annotations = text() || null;
      const props = blob();
      const body = blob();
      if (shared > 0) statements.insertEntry.run(seq, queue, rank, flags, exchange, routingKey, shared, null, null, expiresAt, annotations);
      else statements.insertEntry.run(seq, queue, rank, flags, exchange, routingKey, null, props, body, expiresAt, annotations);
    } else if (kind === RecordKind.SharedBody) {
      const id = buf.readDoubleBE(pos);
      pos += 8;
      const props = blob();
      const body = blob();
      statements.insertBody.run(id, props, body);
    } else {
      throw new Error(`corrupt batch: record kind ${String(kind)} at ${pos - 1}`);
    }
    ops++;
  }
  return ops;
}

function applyRuns(seqs: Float64Array, statement: { run: (a: number, b: number) => unknown }): number {
  seqs.sort();
  let ops = 0;
  toRuns(seqs, (first, last) => {
    statement.run(first, last);
    ops++;
  });
  return ops;
}

function applySegment(segment: SegmentMessage): number {
  let ops = 0;
  if (segment.meta) {
    applyMeta(segment.meta);
    ops++;
  }
  if (segment.records) ops += applyRecords(segment.records);
  // marks before deletes: deleting first spared marks only for large entries (whose body row is
  // apart anyway) and slowed the small-message backlog (bench/core, 2211f0b)
  if (segment.delivered) ops += applyRuns(segment.delivered, statements.markDelivered);
  if (segment.deletes) ops += applyRuns(segment.deletes, statements.deleteEntries);
  if (segment.bodyDeletes) ops += applyRuns(segment.bodyDeletes, statements.deleteBodies);
  return ops;
}

/** One batch's writes; called inside the transaction of applyBatches (no savepoint of its own). */
function applyBatch(batch: BatchMessage): number {
  let ops = 0;
  for (const segment of batch.segments) ops += applySegment(segment);
  for (const [name, value] of batch.counters) {
    statements.setCounter.run(name, value);
    ops++;
  }
  for (const write of batch.keyed) {
    if (write.value === null) statements.deleteKeyed.run(write.namespace, write.key);
    else statements.putKeyed.run(write.namespace, write.key, asBuffer(write.value), write.expiresAt);
    ops++;
  }
  if (batch.pruneKeyedBefore > 0) {
    statements.pruneKeyed.run(batch.pruneKeyedBefore);
    ops++;
  }
  return ops;
}

const applyBatches = db.transaction((batches: BatchMessage[]): number => {
  let ops = 0;
  for (const batch of batches) ops += applyBatch(batch);
  return ops;
});

/**
 * Batches that arrived while the previous commit ran are committed together, in one transaction
 * and one fsync: group commit on this side too, so the main thread may send eagerly.
 */
let pending: BatchMessage[] = [];
let closeRequested = false;
let commitScheduled = false;

/** Batches folded into one transaction stop at about this many bytes of records. */
const MERGE_BYTES = 4 * 1024 * 1024;

const recordBytes = (batch: BatchMessage): number => {
  let bytes = 0;
  for (const segment of batch.segments) bytes += segment.records?.byteLength ?? 0;
  return bytes;
};

function commitPending(): void {
  commitScheduled = false;
  let take = 0;
  for (let bytes = 0; take < pending.length && (take === 0 || bytes < MERGE_BYTES); take++) bytes += recordBytes(pending[take]!);
  const batches = pending.slice(0, take);
  pending = pending.slice(take);
  if (pending.length > 0) {
    commitScheduled = true;
    setImmediate(commitPending);
  }
  if (batches.length > 0) {
    const started = process.hrtime.bigint();
    try {
      const ops = applyBatches(batches);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      port.postMessage({ kind: 'committed', no: batches[batches.length - 1]!.no, batches: batches.length, seconds, ops } satisfies WriterReply);
    } catch (error) {
      for (const batch of batches) port.postMessage({ kind: 'failed', no: batch.no, error: String(error) } satisfies WriterReply);
    }
  }
  if (pending.length === 0 && !closeRequested) scheduleIdleCheckpoint();
  if (closeRequested && pending.length === 0) {
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
      port.postMessage({ kind: 'closed' } satisfies WriterReply);
    }
  }
}

/**
 * Once the writer has had nothing to commit for IDLE_CHECKPOINT_MS, what the WAL holds is copied
 * into the database (PASSIVE: never waits on the main thread's reads). Under load the size
 * threshold (wal_autocheckpoint) bounds the WAL; this keeps what a kill -9 leaves to replay near
 * nothing once the load stops, at no cost while it runs.
 */
const IDLE_CHECKPOINT_MS = 1000;
let idleCheckpoint: NodeJS.Timeout | null = null;
let lastCommitAt = 0;

function scheduleIdleCheckpoint(): void {
  lastCommitAt = Date.now();
  idleCheckpoint ??= setTimeout(checkpointIfIdle, IDLE_CHECKPOINT_MS).unref();
}

function checkpointIfIdle(): void {
  const idleFor = Date.now() - lastCommitAt;
  if (idleFor < IDLE_CHECKPOINT_MS || pending.length > 0 || commitScheduled) {
    idleCheckpoint = setTimeout(checkpointIfIdle, Math.max(1, IDLE_CHECKPOINT_MS - idleFor)).unref();
    return;
  }
  idleCheckpoint = null;
  if (!closeRequested) db.pragma('wal_checkpoint(PASSIVE)');
}

const port = parentPort!;
port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') closeRequested = true;
  else pending.push(request.batch);
  if (!commitScheduled) {
    commitScheduled = true;
    setImmediate(commitPending);
  }
});
port.postMessage({ kind: 'ready' } satisfies WriterReply);
