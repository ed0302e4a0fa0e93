import { ByteWriter } from '../../encoding/byte-writer';
import { encodeAnnotations } from '../../message/annotation-codec';
import { EntryState, QueueEntry, StoreState } from '../../queue/queue-entry';
import type { PipelineBatch } from '../commit-pipeline';
import { BatchMessage, KeyedWrite, MetaOp, RecordKind, SegmentMessage } from './batch-format';
import { ENTRY_FLAG_DELIVERED, ENTRY_FLAG_PERSISTENT } from './schema';

class OpenSegment {
  inserts: QueueEntry[] = [];
  delivered: number[] = [];
  deletes: number[] = [];
  bodyDeletes: number[] = [];

  constructor(readonly meta: MetaOp | null) {}
}

/**
 * Bodies from this size on get a row of their own in `bodies` even when one queue holds them, so
 * the entry row stays small: SQLite rewrites a whole record on UPDATE, and marking a 1 MB entry
 * delivered read and compared its megabyte of overflow pages again.
 */
export const SEPARATE_BODY_BYTES = 64 * 1024;
/** Buffers from this size on are not slices of Node's pool, so the packed records are handed to the writer thread without a copy. */
const UNPOOLED_BYTES = Buffer.poolSize >>> 1;

/** Which inserts a seal moves on to the next batch (DeferredInserts). */
export interface InsertDeferral {
  /** True: the insert (Pending, writable) moves on; `lastSegment`: it is in the batch's last segment. */
  defers(entry: QueueEntry, lastSegment: boolean): boolean;
  /** The insert will never be written (its message cannot be encoded). */
  settle(entry: QueueEntry): void;
}

/** Where the property list of a message built from an object is encoded for the one copy into a batch. */
const propertiesScratch = new ByteWriter(256);

/**
 * Encoded property list of a message, valid until the next call: what the transport received, or
 * the properties encoded into the scratch writer (not kept on the message: the batch holds the
 * copy it needs). Null (with a warning) when they cannot be encoded. Queues only hold messages
 * whose properties are encodable (Queue.enqueue), so null is for entries given to the store some
 * other way.
 */
function propertiesOf(entry: QueueEntry): Buffer | null {
  const message = entry.message;
  if (message.encodedProperties !== null) return message.encodedProperties;
  propertiesScratch.reset();
  const problem = message.encodePropertiesInto(propertiesScratch);
  if (problem === null) return propertiesScratch.view();
  process.emitWarning(`store: message ${entry.seq} of queue '${entry.queue.name}' is not written, its properties cannot be encoded: ${problem}`, {
    code: 'BROKER_UNENCODABLE_MESSAGE',
  });
  return null;
}

/**
 * The open batch: every store write since the last flush, in order. Inserts stay as references to
 * their entries until `seal`, so an entry settled before then is simply skipped.
 */
export class WriteBatch implements PipelineBatch {
  private readonly segments: OpenSegment[] = [new OpenSegment(null)];
  private readonly counters = new Map<string, number>();
  private readonly keyed = new Map<string, KeyedWrite>();
  private pruneKeyedBefore = 0;
  /** Approximate bytes and operations queued, to bound batch size. */
  bytes = 0;
  ops = 0;
  /** Inserts queued into this batch, and how many of them were cancelled before the seal. */
  insertsQueued = 0;
  insertsCancelled = 0;

  constructor(readonly no: number) {}

  private get current(): OpenSegment {
    return this.segments[this.segments.length - 1]!;
  }

  get isEmpty(): boolean {
    return this.ops === 0;
  }

  insert(entry: QueueEntry): void {
    this.current.inserts.push(entry);
    this.bytes += entry.message.body.length + 64;
    this.ops++;
    this.insertsQueued++;
  }

  /** True when the batch inserts something and every entry it inserts is out with a consumer. */
  insertsAllDelivered(): boolean {
    let live = 0;
    for (const segment of this.segments) {
      for (const entry of segment.inserts) {
        if (entry.storeState !== StoreState.Pending) continue;
        if (entry.state !== EntryState.Unacked) return false;
        live++;
      }
    }
    return live > 0;
  }

  /**
   * An insert the last seal deferred (DeferredInserts) moves into this batch. Its bytes are not
   * counted: they were counted once already, and a wait for acks must not read as a backlog.
   */
  carry(entry: QueueEntry): void {
    this.current.inserts.push(entry);
    this.ops++;
    this.insertsQueued++;
  }

  /** A carried insert was settled before the seal: it will be skipped. */
  cancelCarried(): void {
    this.ops--;
    this.insertsCancelled++;
  }

  /** An entry inserted into this batch was settled before the seal: it will be skipped. */
  cancelInsert(entry: QueueEntry): void {
    this.bytes -= entry.message.body.length + 64;
    this.ops--;
    this.insertsCancelled++;
  }

  markDelivered(seq: number): void {
    this.current.delivered.push(seq);
    this.ops++;
  }

  delete(seq: number): void {
    this.current.deletes.push(seq);
    this.ops++;
  }

  deleteSharedBody(id: number): void {
    this.current.bodyDeletes.push(id);
    this.ops++;
  }

  meta(op: MetaOp): void {
    this.segments.push(new OpenSegment(op));
    this.ops++;
  }

  setCounter(name: string, value: number): void {
    this.counters.set(name, value);
    this.ops++;
  }

  /** Writes (value) or deletes (null) a keyed record. */
  keyedRecord(namespace: string, key: string, value: Uint8Array | null, expiresAt: number): void {
    this.keyed.set(`${namespace}\u0000${key}`, { namespace, key, value, expiresAt });
    this.bytes += (value?.length ?? 0) + key.length + 32;
    this.ops++;
  }

  pruneKeyed(before: number): void {
    this.pruneKeyedBefore = before;
    this.ops++;
  }

  /**
   * Packs the batch for the writer. Entries still Pending become Stored; a message with two or more
   * entries written here, or a large body, gets a body row of its own. `onSharedRef` is called for every entry written
   * against a shared body, so the store can delete the body with its last reference. Inserts
   * `deferral` moves on to the next batch are returned in `deferred`, still Pending.
   */
  seal(
    onSharedRef: (bodyId: number) => void,
    deferral: InsertDeferral,
  ): { message: BatchMessage; transfer: ArrayBuffer[]; deferred: QueueEntry[] } {
    const transfer: ArrayBuffer[] = [];
    const segments: SegmentMessage[] = [];
    const deferred: QueueEntry[] = [];
    const writer = new ByteWriter(Math.max(UNPOOLED_BYTES, Math.min(this.bytes + 1024, 64 * 1024 * 1024)));
    const last = this.segments[this.segments.length - 1];
    for (const open of this.segments) {
      writer.reset();
      packInserts(open.inserts, writer, onSharedRef, deferral, open === last, deferred);
      let records: Uint8Array | null = null;
      if (writer.length > 0) {
        records = writer.take();
        transfer.push(records.buffer as ArrayBuffer);
      }
      const segment: SegmentMessage = {
        meta: open.meta,
        records,
        delivered: toFloat64(open.delivered, transfer),
        deletes: toFloat64(open.deletes, transfer),
        bodyDeletes: toFloat64(open.bodyDeletes, transfer),
      };
      if (segment.meta || segment.records || segment.delivered || segment.deletes || segment.bodyDeletes) {
        segments.push(segment);
      }
    }
    return {
      message: { no: this.no, segments, counters: [...this.counters], keyed: [...this.keyed.values()], pruneKeyedBefore: this.pruneKeyedBefore },
      transfer,
      deferred,
    };
  }
}

/**
 * Bodies are copied into the records the writer thread gets, not shared with it. Bodies in
 * SharedArrayBuffers skipped that copy, but V8 counts shared memory against no isolate's heap, so
 * nothing started a collection for them: with 1 MB persistent messages, dead bodies piled up to
 * 1.5 GB of RSS (0.3-0.5 GB with the copy, at the same rate).
 */
function packInserts(
  inserts: QueueEntry[],
  writer: ByteWriter,
  onSharedRef: (bodyId: number) => void,
  deferral: InsertDeferral,
  lastSegment: boolean,
  deferred: QueueEntry[],
): void {
  for (const entry of inserts) if (entry.storeState === StoreState.Pending) entry.message.batchRefs++;
  for (const entry of inserts) {
    if (entry.storeState !== StoreState.Pending) continue;
    const message = entry.message;
    const props = propertiesOf(entry);
    if (props === null) {
      // One message must not cost the batch (or the process): it stays in memory only, like a
      // transient one, and is gone at a restart (or once paged out: the pager drops what the
      // store does not hold). Cancelled is "never touches disk": a later delete writes nothing.
      entry.storeState = StoreState.Cancelled;
      deferral.settle(entry);
      message.insertCancelled(false);
      message.batchRefs = 0;
      continue;
    }
    if (deferral.defers(entry, lastSegment)) {
      message.batchRefs = 0;
      deferred.push(entry);
      continue;
    }
    entry.storeState = StoreState.Stored;
    message.insertWritten();
    if (message.sharedBodyId === 0 && (message.batchRefs > 1 || message.body.length >= SEPARATE_BODY_BYTES)) {
      // the first of several live entries of this message, or a large body: write it once, apart
      message.sharedBodyId = entry.seq;
      writer.u8(RecordKind.SharedBody);
      writer.f64(message.sharedBodyId);
      writer.longStr(props);
      writer.longStr(message.body);
    }
    message.batchRefs = 0;
    const sharedId = message.sharedBodyId;
    writer.u8(RecordKind.Entry);
    writer.f64(entry.seq);
    writer.u32(entry.queue.id);
    writer.u32(entry.rank);
    writer.u8((entry.deliveries > 0 ? ENTRY_FLAG_DELIVERED : 0) | (entry.durable ? ENTRY_FLAG_PERSISTENT : 0));
    writer.f64(sharedId);
    writer.f64(entry.expiresAt);
    writer.longStr(message.exchange);
    writer.longStr(message.routingKey);
    // a message's annotations go with each of its entries (few bytes; the key index reads them per queue)
    writer.longStr(message.annotations === null ? '' : encodeAnnotations(message.annotations)!);
    entry.sharedBodyId = sharedId;
    if (sharedId > 0) {
      onSharedRef(sharedId);
      writer.u32(0);
      writer.u32(0);
    } else {
      writer.longStr(props);
      writer.longStr(message.body);
    }
  }
}

function toFloat64(values: number[], transfer: ArrayBuffer[]): Float64Array | null {
  if (values.length === 0) return null;
  const array = Float64Array.from(values);
  transfer.push(array.buffer as ArrayBuffer);
  return array;
}
