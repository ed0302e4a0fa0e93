/**
 * What the main thread sends the writer thread: one message per batch, each a list of segments
 * executed in order inside one transaction. A segment is an optional definition change followed by
 * packed entry inserts, delivered-flag updates and deletes (in that order).
 */
export type MetaOp =
  | { op: 'putVhost'; name: string }
  | { op: 'deleteVhost'; name: string }
  | {
      op: 'putExchange';
      vhost: string;
      name: string;
      type: string;
      autoDelete: boolean;
      internal: boolean;
      args: Uint8Array;
    }
  | { op: 'deleteExchange'; vhost: string; name: string }
  | { op: 'putQueue'; id: number; vhost: string; name: string; autoDelete: boolean; args: Uint8Array }
  | { op: 'deleteQueue'; id: number }
  | {
      op: 'putBinding';
      vhost: string;
      source: string;
      destKind: string;
      destination: string;
      routingKey: string;
      args: Uint8Array;
      identity: string;
    }
  | { op: 'deleteBinding'; vhost: string; source: string; identity: string }
  | { op: 'deletePaged'; queue: number; rank: number; afterSeq: number };

export interface SegmentMessage {
  meta: MetaOp | null;
  /** Packed records (see RecordKind); null when none. */
  records: Uint8Array | null;
  delivered: Float64Array | null;
  deletes: Float64Array | null;
  bodyDeletes: Float64Array | null;
}

export interface KeyedWrite {
  namespace: string;
  key: string;
  value: Uint8Array | null;
  expiresAt: number;
}

export interface BatchMessage {
  no: number;
  segments: SegmentMessage[];
  /** Counter values to store (last value wins). */
  counters: [string, number][];
  /** Keyed record writes (last write per key wins); value null deletes. */
  keyed: KeyedWrite[];
  /** Delete keyed records that expired at or before this time (0: none). */
  pruneKeyedBefore: number;
}

export type WriterReply =
  /** The last `batches` batches sent, up to and including `no`, committed in one transaction. */
  | { kind: 'committed'; no: number; batches: number; seconds: number; ops: number }
  | { kind: 'failed'; no: number; error: string }
  | { kind: 'ready' }
  | { kind: 'closed' };

export type WriterRequest = { kind: 'batch'; batch: BatchMessage } | { kind: 'close' };

/** Packed records are big-endian; strings and blobs are u32 length + bytes. */
export const enum RecordKind {
  /** seq f64, queue u32, rank u32, flags u8, shared f64, expiresAt f64, exchange, routingKey, annotations (empty: none), props, body */
  Entry = 1,
  /** id f64, props, body */
  SharedBody = 2,
}

/**
 * Compresses sorted, distinct sequence numbers into inclusive [first, last] runs, so that a batch of
 * in-order acks becomes a handful of range deletes.
 */
export function toRuns(sorted: Float64Array, visit: (first: number, last: number) => void): void {
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    let last = first;
    while (i + 1 < sorted.length && sorted[i + 1] === last + 1) last = sorted[++i]!;
    visit(first, last);
    i++;
  }
}
