/**
 * AMQP 0-9-1 framing: constants, the incremental frame parser, frame writing helpers and the
 * protocol header check.
 *
 *   0      1         3         7                  7+size     8+size
 *   +------+---------+---------+ +-------------+ +-----------+
 *   | type | channel |  size   | |   payload   | | frame-end |  (0xCE)
 *   +------+---------+---------+ +-------------+ +-----------+
 *    octet   short      long        size octets      octet
 */
import { ByteWriter } from '#core';
import { FrameError } from './errors';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
/** Smallest frame-max a peer may negotiate; also the limit in force before connection.tune-ok. */
export const FRAME_MIN_SIZE = 4096;
/** Bytes before the payload (type, channel, size). */
export const FRAME_HEADER_SIZE = 7;
/** Bytes a frame adds around its payload (header + frame-end); payloads are at most frameMax - 8. */
export const FRAME_OVERHEAD = 8;

/** `AMQP` 0 0 9 1: the header clients open with, and what we answer an unsupported header with. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01]);
/** A complete heartbeat frame (type 8, channel 0, empty payload). */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

export type ProtocolHeaderCheck = 'ok' | 'mismatch' | 'need-more';

/**
 * Checks the start of the byte stream against `AMQP\x00\x00\x09\x01`. Returns 'need-more' while
 * `buf` is a (possibly empty) strict prefix of the header, 'mismatch' as soon as a byte differs
 * (answer with PROTOCOL_HEADER and close), 'ok' when the first 8 bytes match (frames follow at
 * offset 8).
 */
export function checkProtocolHeader(buf: Buffer): ProtocolHeaderCheck {
  const n = buf.length < 8 ? buf.length : 8;
  for (let i = 0; i < n; i++) if (buf[i] !== PROTOCOL_HEADER[i]) return 'mismatch';
  return n === 8 ? 'ok' : 'need-more';
}

/**
 * Receives each frame. `owned` says the payload is a buffer the parser allocated for this frame
 * (it spanned socket reads) rather than a view of a socket chunk: it may be kept without a copy.
 */
export type FrameHandler = (type: number, channel: number, payload: Buffer, owned: boolean) => void;

/**
 * Incremental frame parser. Feed it socket chunks with `push`; it calls the handler once per
 * complete frame, in order, synchronously.
 *
 * - A frame wholly inside one chunk is delivered as a subarray of that chunk (no copy). Frames
 *   spanning chunks are assembled into one new buffer. Payloads therefore alias socket buffers:
 *   copy whatever you retain beyond the handler call if memory retention matters.
 * - Frame headers are validated as soon as they arrive: unknown frame type, heartbeat on a
 *   non-zero channel or with a payload, and payloads larger than `frameMax - 8` raise FrameError
 *   (501) before the payload is buffered. The frame-end octet is checked for every frame.
 * - `frameMax` may be changed at any time (e.g. from the handler after connection.tune-ok); it
 *   applies to frames whose header has not been read yet. 0 means no limit.
 * - Errors (FrameError, or anything the handler throws) propagate out of `push`. After either,
 *   the rest of that chunk is lost and the stream cannot be resynchronised, so the parser ignores
 *   further input until `reset()`: treat any exception as fatal for the connection.
 */
export class FrameParser {
  /** Negotiated frame-max (whole frame, including the 8 bytes of overhead). 0 = unlimited. */
  frameMax: number;

  private readonly handler: FrameHandler;
  /**
   * Where a body frame that spans socket reads may be parsed straight into (a slice of the
   * message body being assembled), or null for a buffer of its own: a large body is then copied
   * once, from the socket chunks into its final place.
   */
  bodyTarget: ((channel: number, size: number) => Buffer | null) | null = null;
  // Partial frame header (fewer than 7 bytes seen).
  private readonly head = Buffer.alloc(FRAME_HEADER_SIZE);
  private headLen = 0;
  // Partial frame body (header seen, payload + frame-end incomplete).
  private body: Buffer | null = null;
  private bodyLen = 0;
  private curType = 0;
  private curChannel = 0;
  private failed = false;

  constructor(handler: FrameHandler, frameMax: number = FRAME_MIN_SIZE) {
    this.handler = handler;
    this.frameMax = frameMax;
  }

  /** True after an exception escaped `push` (input is ignored until `reset()`). */
  get isFailed(): boolean {
    return this.failed;
  }

  /** Bytes of an incomplete frame currently held. */
  get buffered(): number {
    return this.body !== null ? FRAME_HEADER_SIZE + this.bodyLen : this.headLen;
  }

  /** Drops any partial frame and clears the failed state. */
  reset(): void {
    this.headLen = 0;
    this.body = null;
    this.bodyLen = 0;
    this.failed = false;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    try {
      this.parse(chunk);
    } catch (err) {
      this.failed = true;
      this.body = null;
      this.headLen = 0;
      throw err;
    }
  }

  private parse(chunk: Buffer): void {
    const len = chunk.length;
    let off = 0;
    if (this.headLen !== 0 || this.body !== null) {
      off = this.continuePartial(chunk);
      if (off >= len) return;
    }
    // Fast path: whole frames inside this chunk.
    while (len - off >= FRAME_HEADER_SIZE) {
      const type = chunk[off]!;
      const channel = (chunk[off + 1]! << 8) | chunk[off + 2]!;
      const size = chunk[off + 3]! * 0x1000000 + ((chunk[off + 4]! << 16) | (chunk[off + 5]! << 8) | chunk[off + 6]!);
      this.checkHeader(type, channel, size);
      const endAt = off + FRAME_HEADER_SIZE + size;
      if (endAt >= len) {
        // Payload or frame-end not here yet: start assembling.
        const body = this.bufferFor(type, channel, size);
        const have = len - off - FRAME_HEADER_SIZE;
        chunk.copy(body, 0, off + FRAME_HEADER_SIZE, len);
        this.body = body;
        this.bodyLen = have;
        this.curType = type;
        this.curChannel = channel;
        return;
      }
      if (chunk[endAt] !== FRAME_END) throw badFrameEnd(type, channel, chunk[endAt]!);
      off = endAt + 1;
      this.handler(type, channel, chunk.subarray(endAt - size, endAt), false);
    }
    if (off < len) {
      chunk.copy(this.head, 0, off, len);
      this.headLen = len - off;
    }
  }

  /** Continues an incomplete frame with the start of `chunk`; returns how many bytes were used. */
  private continuePartial(chunk: Buffer): number {
    let off = 0;
    if (this.body === null) {
      const take = Math.min(FRAME_HEADER_SIZE - this.headLen, chunk.length);
      chunk.copy(this.head, this.headLen, 0, take);
      this.headLen += take;
      off = take;
      if (this.headLen < FRAME_HEADER_SIZE) return off;
      const h = this.head;
      const type = h[0]!;
      const channel = (h[1]! << 8) | h[2]!;
      const size = h.readUInt32BE(3);
      this.headLen = 0;
      this.checkHeader(type, channel, size);
      this.body = this.bufferFor(type, channel, size);
      this.bodyLen = 0;
      this.curType = type;
      this.curChannel = channel;
    }
    const body = this.body;
    if (this.bodyLen < body.length) {
      const take = Math.min(body.length - this.bodyLen, chunk.length - off);
      chunk.copy(body, this.bodyLen, off, off + take);
      this.bodyLen += take;
      off += take;
      if (this.bodyLen < body.length) return off;
    }
    // the payload is complete; the frame-end octet may still be in the next chunk
    if (off >= chunk.length) return off;
    const end = chunk[off++]!;
    this.body = null;
    this.bodyLen = 0;
    if (end !== FRAME_END) throw badFrameEnd(this.curType, this.curChannel, end);
    this.handler(this.curType, this.curChannel, body, true);
    return off;
  }

  /** The buffer an incomplete frame's payload is assembled in (exactly its size). */
  private bufferFor(type: number, channel: number, size: number): Buffer {
    if (type === FRAME_BODY && this.bodyTarget !== null) {
      const target = this.bodyTarget(channel, size);
      if (target !== null && target.length === size) return target;
    }
    return Buffer.allocUnsafe(size);
  }

  private checkHeader(type: number, channel: number, size: number): void {
    switch (type) {
      case FRAME_METHOD:
      case FRAME_HEADER:
      case FRAME_BODY:
        break;
      case FRAME_HEARTBEAT:
        if (channel !== 0) throw new FrameError(`heartbeat frame on channel ${channel} (must be channel 0)`);
        if (size !== 0) throw new FrameError(`heartbeat frame with a ${size} byte payload (must be empty)`);
        break;
      default:
        throw new FrameError(`unknown frame type ${type} on channel ${channel}`);
    }
    const max = this.frameMax;
    if (max > 0 && size > max - FRAME_OVERHEAD) {
      throw new FrameError(
        `frame too large: type ${type} on channel ${channel} has a ${size} byte payload, ` +
          `over the limit of ${max - FRAME_OVERHEAD} bytes (frame_max ${max} minus 8 bytes of framing)` +
          (max === FRAME_MIN_SIZE ? '; frame_max is 4096 until connection.tune-ok' : ''),
      );
    }
  }
}

function badFrameEnd(type: number, channel: number, got: number): FrameError {
  return new FrameError(
    `bad frame-end octet 0x${got.toString(16).padStart(2, '0')} (expected 0xce) after type ${type} frame on channel ${channel}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Writing frames into a ByteWriter.

/** Starts a frame (type, channel, size placeholder); returns its start offset for `endFrame`. */
export function beginFrame(w: ByteWriter, type: number, channel: number): number {
  const start = w.length;
  w.u8(type);
  w.u16(channel);
  w.u32(0);
  return start;
}

/** Writes the frame-end octet and back-patches the payload size of the frame started at `start`. */
export function endFrame(w: ByteWriter, start: number): void {
  w.u8(FRAME_END);
  w.patchU32(start + 3, w.length - start - FRAME_OVERHEAD);
}

/** Starts a method frame and writes the class and method ids (`methodId` = classId << 16 | method). */
export function beginMethodFrame(w: ByteWriter, channel: number, methodId: number): number {
  const start = beginFrame(w, FRAME_METHOD, channel);
  w.u32(methodId);
  return start;
}

export function writeHeartbeatFrame(w: ByteWriter): void {
  w.bytes(HEARTBEAT_FRAME);
}
