/**
 * AMQP 0-9-1 basic-class content properties (the property list of a content header frame):
 * a 16-bit flags word (bit 15 = content-type … bit 2 = cluster-id; bit 0 = "another flags word
 * follows"), then the present fields in spec order.
 *
 * The broker mostly stores and forwards the encoded property list untouched; `peekProperties`
 * extracts the few fields routing and queueing need (delivery mode, priority, expiration, where
 * the headers table is) without building the full object.
 */
import { ByteReader, DecodeError } from './byte-reader';
import { ByteWriter } from './byte-writer';
import { FieldTable, decodeFieldTable, encodeFieldTable } from './field-table';

export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: FieldTable;
  /** 1 = transient, 2 = persistent. */
  deliveryMode?: number;
  /** 0..9 in practice (octet on the wire). */
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Per-message TTL in milliseconds, as a decimal string (RabbitMQ convention). */
  expiration?: string;
  messageId?: string;
  /** Seconds since the Unix epoch. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  /** Deprecated "reserved" property; carried for completeness. */
  clusterId?: string;
}

/** Property flag bits, in spec order. */
export const PropertyFlag = {
  ContentType: 0x8000,
  ContentEncoding: 0x4000,
  Headers: 0x2000,
  DeliveryMode: 0x1000,
  Priority: 0x0800,
  CorrelationId: 0x0400,
  ReplyTo: 0x0200,
  Expiration: 0x0100,
  MessageId: 0x0080,
  Timestamp: 0x0040,
  Type: 0x0020,
  UserId: 0x0010,
  AppId: 0x0008,
  ClusterId: 0x0004,
  /** Another flags word follows (never set for the basic class, tolerated when reading). */
  Continuation: 0x0001,
} as const;

/** Writes the property flags word then the present properties (undefined and null mean absent). */
export function encodeProperties(w: ByteWriter, p: MessageProperties): void {
  const at = w.reserve(2);
  let flags = 0;
  if (p.contentType != null) {
    flags |= 0x8000;
    w.shortStr(p.contentType);
  }
  if (p.contentEncoding != null) {
    flags |= 0x4000;
    w.shortStr(p.contentEncoding);
  }
  if (p.headers != null) {
    flags |= 0x2000;
    encodeFieldTable(w, p.headers);
  }
  if (p.deliveryMode != null) {
    flags |= 0x1000;
    w.u8(p.deliveryMode);
  }
  if (p.priority != null) {
    flags |= 0x0800;
    w.u8(p.priority);
  }
  if (p.correlationId != null) {
    flags |= 0x0400;
    w.shortStr(p.correlationId);
  }
  if (p.replyTo != null) {
    flags |= 0x0200;
    w.shortStr(p.replyTo);
  }
  if (p.expiration != null) {
    flags |= 0x0100;
    w.shortStr(p.expiration);
  }
  if (p.messageId != null) {
    flags |= 0x0080;
    w.shortStr(p.messageId);
  }
  if (p.timestamp != null) {
    flags |= 0x0040;
    // a timestamp decoded beyond 2^53 is a rounded double: written back exactly as that integer
    w.u64(p.timestamp <= Number.MAX_SAFE_INTEGER || !Number.isInteger(p.timestamp) ? p.timestamp : BigInt(p.timestamp));
  }
  if (p.type != null) {
    flags |= 0x0020;
    w.shortStr(p.type);
  }
  if (p.userId != null) {
    flags |= 0x0010;
    w.shortStr(p.userId);
  }
  if (p.appId != null) {
    flags |= 0x0008;
    w.shortStr(p.appId);
  }
  if (p.clusterId != null) {
    flags |= 0x0004;
    w.shortStr(p.clusterId);
  }
  w.patchU16(at, flags);
}

/** Encodes a property list into a fresh Buffer (convenience; hot paths should use `encodeProperties`). */
export function encodePropertiesToBuffer(p: MessageProperties): Buffer {
  const w = new ByteWriter(64);
  encodeProperties(w, p);
  return w.toBuffer();
}

const EMPTY = Buffer.alloc(0);
const sharedReader = new ByteReader(EMPTY);

/**
 * Decodes the property list in `buf[offset, end)`. Only present properties are set on the result.
 * Throws DecodeError on truncated or malformed input.
 */
export function decodeProperties(buf: Buffer, offset = 0, end = buf.length): MessageProperties {
  const r = sharedReader.reset(buf, offset, end);
  try {
    return readProperties(r);
  } finally {
    sharedReader.reset(EMPTY);
  }
}

/** Decodes a property list from a reader positioned at its flags word. */
export function readProperties(r: ByteReader): MessageProperties {
  const flags = readFlags(r);
  const p: MessageProperties = {};
  if (flags === 0) return p;
  if (flags & 0x8000) p.contentType = r.shortText('property content-type');
  if (flags & 0x4000) p.contentEncoding = r.shortText('property content-encoding');
  if (flags & 0x2000) p.headers = decodeFieldTable(r);
  if (flags & 0x1000) p.deliveryMode = r.u8('property delivery-mode');
  if (flags & 0x0800) p.priority = r.u8('property priority');
  if (flags & 0x0400) p.correlationId = r.shortText('property correlation-id');
  if (flags & 0x0200) p.replyTo = r.shortText('property reply-to');
  if (flags & 0x0100) p.expiration = r.shortText('property expiration');
  if (flags & 0x0080) p.messageId = r.shortText('property message-id');
  if (flags & 0x0040) p.timestamp = timestampOf(r.u64('property timestamp'));
  if (flags & 0x0020) p.type = r.shortText('property type');
  if (flags & 0x0010) p.userId = r.shortText('property user-id');
  if (flags & 0x0008) p.appId = r.shortText('property app-id');
  if (flags & 0x0004) p.clusterId = r.shortText('property cluster-id');
  return p;
}

/** Largest double below 2^64: what a u64 that rounds up to 2^64 as a double is kept as, so it can be written back. */
const LARGEST_U64_DOUBLE = 18446744073709549568;

/** A decoded u64 timestamp, kept within what `encodeProperties` writes back (values beyond 2^53 are rounded anyway). */
const timestampOf = (seconds: number): number => (seconds < LARGEST_U64_DOUBLE ? seconds : LARGEST_U64_DOUBLE);

/** Reads the first flags word and skips any continuation words (the basic class defines none). */
function readFlags(r: ByteReader): number {
  const flags = r.u16('property flags');
  let more = flags & 1;
  while (more) more = r.u16('property flags (continuation)') & 1;
  return flags;
}

/** What the broker needs from the properties on the publish path, without decoding everything. */
export interface PropertiesPeek {
  /** The first property flags word. */
  flags: number;
  /** 0 when absent. */
  deliveryMode: number;
  /** 0 when absent. */
  priority: number;
  /** Undefined when absent. */
  expiration: string | undefined;
  /** Offset (in the buffer passed in) of the headers table's u32 length, or -1 when absent. */
  headersAt: number;
  /** Offset just past the whole property list. */
  end: number;
}

/**
 * Walks the property list in `buf[offset, end)` checking that every present field fits (field
 * table contents are skipped by length, not validated), and returns delivery mode, priority,
 * expiration and the position of the headers table. Pass `out` to reuse an object.
 * Throws DecodeError on truncated input.
 */
export function peekProperties(buf: Buffer, offset = 0, end = buf.length, out?: PropertiesPeek): PropertiesPeek {
  const res: PropertiesPeek = out ?? { flags: 0, deliveryMode: 0, priority: 0, expiration: undefined, headersAt: -1, end: 0 };
  res.deliveryMode = 0;
  res.priority = 0;
  res.expiration = undefined;
  res.headersAt = -1;
  if (offset + 2 > end || end > buf.length) throw new DecodeError('truncated input reading property flags');
  const flags = (buf[offset]! << 8) | buf[offset + 1]!;
  res.flags = flags;
  let p = offset + 2;
  if (flags & 1) {
    let more = 1;
    while (more) {
      if (p + 2 > end) throw new DecodeError('truncated input reading property flags (continuation)');
      more = buf[p + 1]! & 1;
      p += 2;
    }
  }
  if (flags === 0) {
    res.end = p;
    return res;
  }
  if (flags & 0x8000) p = skipShortStr(buf, p, end, 'content-type');
  if (flags & 0x4000) p = skipShortStr(buf, p, end, 'content-encoding');
  if (flags & 0x2000) {
    if (p + 4 > end) throw new DecodeError('truncated input reading property headers length');
    res.headersAt = p;
    const len = buf[p]! * 0x1000000 + ((buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!);
    p += 4 + len;
    if (p > end) throw new DecodeError(`property headers table length ${len} exceeds the property list`);
  }
  if (flags & 0x1000) {
    if (p + 1 > end) throw new DecodeError('truncated input reading property delivery-mode');
    res.deliveryMode = buf[p++]!;
  }
  if (flags & 0x0800) {
    if (p + 1 > end) throw new DecodeError('truncated input reading property priority');
    res.priority = buf[p++]!;
  }
  if (flags & 0x0400) p = skipShortStr(buf, p, end, 'correlation-id');
  if (flags & 0x0200) p = skipShortStr(buf, p, end, 'reply-to');
  if (flags & 0x0100) {
    const start = p;
    p = skipShortStr(buf, p, end, 'expiration');
    res.expiration = buf.toString('utf8', start + 1, p);
  }
  if (flags & 0x0080) p = skipShortStr(buf, p, end, 'message-id');
  if (flags & 0x0040) {
    p += 8;
    if (p > end) throw new DecodeError('truncated input reading property timestamp');
  }
  if (flags & 0x0020) p = skipShortStr(buf, p, end, 'type');
  if (flags & 0x0010) p = skipShortStr(buf, p, end, 'user-id');
  if (flags & 0x0008) p = skipShortStr(buf, p, end, 'app-id');
  if (flags & 0x0004) p = skipShortStr(buf, p, end, 'cluster-id');
  res.end = p;
  return res;
}

/** Decodes the headers table found by `peekProperties` (`headersAt` ≥ 0). */
export function decodeHeadersAt(buf: Buffer, headersAt: number, end = buf.length): FieldTable {
  const r = new ByteReader(buf, headersAt, end);
  return decodeFieldTable(r);
}

function skipShortStr(buf: Buffer, p: number, end: number, what: string): number {
  if (p + 1 > end) throw new DecodeError(`truncated input reading property ${what}`);
  const next = p + 1 + buf[p]!;
  if (next > end) throw new DecodeError(`truncated input reading property ${what}`);
  return next;
}
