/**
 * Growable big-endian Buffer writer.
 *
 * Designed to be reused: keep one writer per connection (or per encoder), call `reset()` between
 * uses and the backing buffer is kept, so steady-state encoding allocates nothing. Integer writers
 * validate their range (a silently truncated length or id on the wire is far worse than an
 * exception) but otherwise write bytes directly without going through Buffer's checked helpers.
 *
 * `view()` returns a subarray of the backing buffer: it is only valid until the next write that
 * grows the buffer or the next `reset()`. Use `toBuffer()` for a copy that outlives the writer.
 */

const TWO_32 = 4294967296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** Strings at most this long are written with a JS loop when they are ASCII (cheaper than a C++ call). */
const SHORT_ASCII_MAX = 48;

export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialCapacity = 1024) {
    this.buf = Buffer.allocUnsafe(initialCapacity > 16 ? initialCapacity : 16);
  }

  /** Number of bytes written since construction or the last `reset()`. */
  get length(): number {
    return this.pos;
  }

  /** Current size of the backing buffer. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Forget everything written; keeps the backing buffer for reuse. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** Forgets what was written after `length` (an earlier `length`): undoes a write that failed half-way. */
  truncate(length: number): this {
    if (length < 0 || length > this.pos) throw new RangeError(`cannot truncate to ${length} (length ${this.pos})`);
    this.pos = length;
    return this;
  }

  /** Make sure at least `n` more bytes can be written without another check. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    if (cap < need) cap = need;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    if ((v & 0xff) !== v) throw new RangeError(`u8 out of range: ${v}`);
    if (this.pos + 1 > this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    if ((v & 0xffff) !== v) throw new RangeError(`u16 out of range: ${v}`);
    if (this.pos + 2 > this.buf.length) this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
    return this;
  }

  u32(v: number): this {
    if (v >>> 0 !== v) throw new RangeError(`u32 out of range: ${v}`);
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    writeU32At(this.buf, this.pos, v);
    this.pos += 4;
    return this;
  }

  /** Unsigned 64-bit. Numbers must be non-negative safe integers; larger values must be bigint. */
  u64(v: number | bigint): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    if (typeof v === 'number') {
      if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER) || Math.floor(v) !== v) {
        throw new RangeError(`u64 out of range (use a bigint beyond 2^53): ${v}`);
      }
      const hi = Math.floor(v / TWO_32);
      writeU32At(this.buf, this.pos, hi);
      writeU32At(this.buf, this.pos + 4, v - hi * TWO_32);
    } else {
      if (v < 0n || v > UINT64_MAX) throw new RangeError(`u64 out of range: ${v}`);
      this.buf.writeBigUInt64BE(v, this.pos);
    }
    this.pos += 8;
    return this;
  }

  i8(v: number): this {
    if (!(v >= -0x80 && v <= 0x7f) || (v | 0) !== v) throw new RangeError(`i8 out of range: ${v}`);
    if (this.pos + 1 > this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  i16(v: number): this {
    if (!(v >= -0x8000 && v <= 0x7fff) || (v | 0) !== v) throw new RangeError(`i16 out of range: ${v}`);
    if (this.pos + 2 > this.buf.length) this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 8) & 0xff;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
    return this;
  }

  i32(v: number): this {
    if ((v | 0) !== v) throw new RangeError(`i32 out of range: ${v}`);
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    writeU32At(this.buf, this.pos, v >>> 0);
    this.pos += 4;
    return this;
  }

  /** Signed 64-bit. Numbers must be safe integers; values beyond ±2^53 must be bigint. */
  i64(v: number | bigint): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) {
        throw new RangeError(`i64 out of range (use a bigint beyond ±2^53): ${v}`);
      }
      const hi = Math.floor(v / TWO_32); // negative for negative v (two's complement high word)
      writeU32At(this.buf, this.pos, hi >>> 0);
      writeU32At(this.buf, this.pos + 4, v - hi * TWO_32);
    } else {
      if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`i64 out of range: ${v}`);
      this.buf.writeBigInt64BE(v, this.pos);
    }
    this.pos += 8;
    return this;
  }

  f32(v: number): this {
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
    return this;
  }

  f64(v: number): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** u8 byte length + UTF-8 bytes. Throws RangeError if the encoding exceeds 255 bytes. */
  shortStr(s: string): this {
    const n = s.length;
    if (n > 255) throw new RangeError(`short string longer than 255 bytes (${n} chars)`);
    if (n <= SHORT_ASCII_MAX) {
      if (this.pos + 1 + n > this.buf.length) this.ensure(1 + n);
      const b = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        b[start + i] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = start + n;
        return this;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 255) throw new RangeError(`short string longer than 255 bytes (${len} bytes)`);
    if (this.pos + 1 + len > this.buf.length) this.ensure(1 + len);
    this.buf[this.pos] = len;
    this.buf.write(s, this.pos + 1, len, 'utf8');
    this.pos += 1 + len;
    return this;
  }

  /** u32 byte length + bytes (strings are UTF-8 encoded). */
  longStr(s: string | Buffer): this {
    if (typeof s !== 'string') {
      this.ensure(4 + s.length);
      writeU32At(this.buf, this.pos, s.length);
      s.copy(this.buf, this.pos + 4);
      this.pos += 4 + s.length;
      return this;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + len);
    writeU32At(this.buf, this.pos, len);
    if (len > 0) this.buf.write(s, this.pos + 4, len, 'utf8');
    this.pos += 4 + len;
    return this;
  }

  /**
   * UTF-8 bytes of `s` with no length prefix. Pass `byteLength` when already known
   * (`Buffer.byteLength(s)`) to skip measuring it again.
   */
  utf8(s: string, byteLength: number = Buffer.byteLength(s, 'utf8')): this {
    this.ensure(byteLength);
    const written = byteLength > 0 ? this.buf.write(s, this.pos, byteLength, 'utf8') : 0;
    if (written !== byteLength) {
      throw new RangeError(`utf8: byteLength ${byteLength} does not match the string's ${Buffer.byteLength(s, 'utf8')} bytes`);
    }
    this.pos += byteLength;
    return this;
  }

  // Little-endian variants, for storage formats that are not AMQP wire data.

  u16le(v: number): this {
    if ((v & 0xffff) !== v) throw new RangeError(`u16 out of range: ${v}`);
    if (this.pos + 2 > this.buf.length) this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = v >>> 8;
    this.pos = p + 2;
    return this;
  }

  u32le(v: number): this {
    if (v >>> 0 !== v) throw new RangeError(`u32 out of range: ${v}`);
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
    return this;
  }

  f64le(v: number): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Raw bytes, no length prefix. */
  bytes(b: Buffer): this {
    const n = b.length;
    this.ensure(n);
    if (n < 32) {
      const d = this.buf;
      const p = this.pos;
      for (let i = 0; i < n; i++) d[p + i] = b[i]!;
    } else {
      b.copy(this.buf, this.pos);
    }
    this.pos += n;
    return this;
  }

  /** Skip `n` bytes (contents undefined) and return their offset, e.g. to back-patch a length. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  patchU16(offset: number, v: number): void {
    if ((v & 0xffff) !== v) throw new RangeError(`u16 out of range: ${v}`);
    this.checkPatch(offset, 2);
    this.buf[offset] = v >>> 8;
    this.buf[offset + 1] = v & 0xff;
  }

  patchU32(offset: number, v: number): void {
    if (v >>> 0 !== v) throw new RangeError(`u32 out of range: ${v}`);
    this.checkPatch(offset, 4);
    writeU32At(this.buf, offset, v);
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /**
   * Hands the bytes written over and starts again on a new backing buffer. They are not copied when
   * the backing buffer is the writer's own memory rather than a slice of Node's shared pool; either
   * way the result owns its ArrayBuffer alone, so it can be transferred to another thread.
   */
  take(): Buffer {
    const own = this.buf.byteOffset === 0 && this.buf.buffer.byteLength === this.buf.length;
    let out: Buffer;
    if (own) out = this.buf.subarray(0, this.pos);
    else {
      out = Buffer.allocUnsafeSlow(this.pos);
      this.buf.copy(out, 0, 0, this.pos);
    }
    if (own) this.buf = Buffer.allocUnsafe(16);
    this.pos = 0;
    return out;
  }

  /** The bytes written so far, without copying. Invalidated by `reset()` and by growth. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private checkPatch(offset: number, n: number): void {
    if (!(offset >= 0 && offset + n <= this.pos)) {
      throw new RangeError(`patch at ${offset} (+${n}) outside written range 0..${this.pos}`);
    }
  }
}

function writeU32At(b: Buffer, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}
