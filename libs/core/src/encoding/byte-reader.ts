import { isUtf8 } from 'node:buffer';
/**
 * Bounds-checked big-endian reader over `buf[pos, end)`.
 *
 * Every read checks against `end` (not `buf.length`), so a reader can be confined to one frame or
 * one field table inside a larger chunk. Reading past `end` throws `DecodeError`; its message
 * names what was being read (pass a label such as `'basic.publish exchange'` as the optional last
 * argument to get that in the message, otherwise the primitive type is named).
 *
 * Strings are decoded as UTF-8 (invalid sequences become U+FFFD, as Buffer#toString does).
 * Byte strings (`longStr`, `bytes`) are returned as subarrays: no copy, but they keep the
 * underlying buffer alive; copy them if they are retained long-term.
 */

const TWO_32 = 4294967296;

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export class ByteReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    checkRange(buf, offset, end);
    this.buf = buf;
    this.pos = offset;
    this.end = end;
  }

  /** Re-point this reader at another range (lets hot paths reuse one reader object). */
  reset(buf: Buffer, offset = 0, end = buf.length): this {
    checkRange(buf, offset, end);
    this.buf = buf;
    this.pos = offset;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless at least `n` bytes remain. */
  need(n: number, what: string): void {
    if (this.pos + n > this.end) this.truncated(n, what);
  }

  skip(n: number, what = 'skipped bytes'): void {
    if (this.pos + n > this.end) this.truncated(n, what);
    this.pos += n;
  }

  u8(what = 'u8'): number {
    if (this.pos + 1 > this.end) this.truncated(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'u16'): number {
    const p = this.pos;
    if (p + 2 > this.end) this.truncated(2, what);
    const b = this.buf;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u32(what = 'u32'): number {
    const p = this.pos;
    if (p + 4 > this.end) this.truncated(4, what);
    this.pos = p + 4;
    return readU32At(this.buf, p);
  }

  /** Unsigned 64-bit as a number: exact up to 2^53, rounded beyond (use `u64Big` when that matters). */
  u64(what = 'u64'): number {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    this.pos = p + 8;
    return readU32At(this.buf, p) * TWO_32 + readU32At(this.buf, p + 4);
  }

  u64Big(what = 'u64'): bigint {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    this.pos = p + 8;
    return this.buf.readBigUInt64BE(p);
  }

  i8(what = 'i8'): number {
    if (this.pos + 1 > this.end) this.truncated(1, what);
    return (this.buf[this.pos++]! << 24) >> 24;
  }

  i16(what = 'i16'): number {
    const p = this.pos;
    if (p + 2 > this.end) this.truncated(2, what);
    const b = this.buf;
    this.pos = p + 2;
    return (((b[p]! << 8) | b[p + 1]!) << 16) >> 16;
  }

  i32(what = 'i32'): number {
    const p = this.pos;
    if (p + 4 > this.end) this.truncated(4, what);
    const b = this.buf;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  /** Signed 64-bit as a number: exact within ±2^53, rounded beyond (use `i64Big` or `i64Exact`). */
  i64(what = 'i64'): number {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    this.pos = p + 8;
    const b = this.buf;
    const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    return hi * TWO_32 + readU32At(b, p + 4);
  }

  i64Big(what = 'i64'): bigint {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    this.pos = p + 8;
    return this.buf.readBigInt64BE(p);
  }

  /** Signed 64-bit: a number when it is a safe integer, otherwise a bigint (never loses precision). */
  i64Exact(what = 'i64'): number | bigint {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    const b = this.buf;
    const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    // The value lies in [-2^53, 2^53) iff the high word is in [-2^21, 2^21): exact as a double.
    this.pos = p + 8;
    if (hi >= -0x200000 && hi < 0x200000) {
      const v = hi * TWO_32 + readU32At(b, p + 4);
      if (v >= -Number.MAX_SAFE_INTEGER) return v;
    }
    return b.readBigInt64BE(p);
  }

  f32(what = 'f32'): number {
    const p = this.pos;
    if (p + 4 > this.end) this.truncated(4, what);
    this.pos = p + 4;
    return this.buf.readFloatBE(p);
  }

  f64(what = 'f64'): number {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    this.pos = p + 8;
    return this.buf.readDoubleBE(p);
  }

  /** u8 length + UTF-8. */
  shortStr(what = 'short string'): string {
    const p = this.pos;
    if (p + 1 > this.end) this.truncated(1, what);
    const b = this.buf;
    const n = b[p]!;
    const start = p + 1;
    const stop = start + n;
    if (stop > this.end) this.truncated(1 + n, what);
    this.pos = stop;
    if (n === 0) return '';
    return b.toString('utf8', start, stop);
  }

  /**
   * A short string as text that is itself a valid short string: written back as UTF-8 it takes at
   * most 255 bytes. Decoding replaces an invalid UTF-8 sequence with U+FFFD (3 bytes), so 255
   * invalid bytes would come back as 765: such a string is cut at 255 bytes. Only a value that
   * was not text to begin with changes; a property or header name read here can always be
   * encoded again (a dead-lettered copy, a delayed message's release).
   */
  shortText(what = 'short string'): string {
    const s = this.shortStr(what);
    // at most 85 UTF-16 units are at most 255 bytes: the usual case costs one comparison
    return s.length <= 85 || Buffer.byteLength(s, 'utf8') <= 255 ? s : fitShortString(s);
  }

  /**
   * A short string that names something (a queue, an exchange, a routing key, a consumer tag):
   * it must be valid UTF-8, or two different byte names would decode to the same string.
   */
  shortName(what = 'name'): string {
    const p = this.pos;
    if (p + 1 > this.end) this.truncated(1, what);
    const b = this.buf;
    const n = b[p]!;
    const start = p + 1;
    const stop = start + n;
    if (stop > this.end) this.truncated(1 + n, what);
    this.pos = stop;
    if (n === 0) return '';
    let ascii = true;
    for (let i = start; i < stop; i++) {
      if (b[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii && !isUtf8(b.subarray(start, stop))) throw new DecodeError(`${what} is not valid UTF-8 (names must be UTF-8 text)`);
    return b.toString('utf8', start, stop);
  }

  /** u32 length + bytes, as a subarray (no copy). */
  longStr(what = 'long string'): Buffer {
    const n = this.u32(what);
    const start = this.pos;
    if (start + n > this.end) this.truncated(n, what);
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  /** u32 length + UTF-8 bytes, as a string. */
  longStrUtf8(what = 'long string'): string {
    const n = this.u32(what);
    const start = this.pos;
    if (start + n > this.end) this.truncated(n, what);
    this.pos = start + n;
    return this.buf.toString('utf8', start, start + n);
  }

  /** `n` bytes decoded as UTF-8 (no length prefix). */
  utf8(n: number, what = 'utf8 text'): string {
    const start = this.pos;
    if (start + n > this.end) this.truncated(n, what);
    this.pos = start + n;
    return this.buf.toString('utf8', start, start + n);
  }

  // Little-endian variants, for storage formats that are not AMQP wire data.

  u16le(what = 'u16le'): number {
    const p = this.pos;
    if (p + 2 > this.end) this.truncated(2, what);
    const b = this.buf;
    this.pos = p + 2;
    return b[p]! | (b[p + 1]! << 8);
  }

  u32le(what = 'u32le'): number {
    const p = this.pos;
    if (p + 4 > this.end) this.truncated(4, what);
    const b = this.buf;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  f64le(what = 'f64le'): number {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated(8, what);
    this.pos = p + 8;
    return this.buf.readDoubleLE(p);
  }

  /** `n` raw bytes as a subarray (no copy). */
  bytes(n: number, what = 'bytes'): Buffer {
    const start = this.pos;
    if (start + n > this.end) this.truncated(n, what);
    this.pos = start + n;
    return this.buf.subarray(start, start + n);
  }

  private truncated(n: number, what: string): never {
    throw new DecodeError(
      `truncated input reading ${what}: need ${n} byte(s) at offset ${this.pos}, only ${this.end - this.pos} left`,
    );
  }
}

function checkRange(buf: Buffer, offset: number, end: number): void {
  if (!(offset >= 0 && offset <= end && end <= buf.length)) {
    throw new RangeError(`ByteReader range [${offset}, ${end}) outside buffer of ${buf.length} bytes`);
  }
}

function readU32At(b: Buffer, p: number): number {
  return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

/** The longest prefix of `s` that is at most 255 bytes of UTF-8, cut between code points. */
function fitShortString(s: string): string {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const code = s.codePointAt(i)!;
    const units = code > 0xffff ? 2 : 1;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > 255) break;
    bytes += size;
    i += units;
  }
  return s.slice(0, i);
}
