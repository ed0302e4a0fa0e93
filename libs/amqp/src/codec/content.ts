/**
 * Content frames: the content header frame (class id, weight, body size, property list) and body
 * frames.
 *
 * Header payload:  class-id u16 | weight u16 (0) | body-size u64 | property flags + fields
 */
import { ByteReader, ByteWriter, MessageProperties, decodeProperties, encodeProperties } from '#core';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_OVERHEAD, beginFrame, endFrame } from './frame';

/** Basic class id, the only content class in 0-9-1. */
export const BASIC_CLASS_ID = 60;

/**
 * Writes a content header frame. `properties` is either a MessageProperties object (encoded here)
 * or an already-encoded property list (flags + fields, e.g. `ContentHeader.propertiesRaw` kept from
 * the publish) which is copied through unchanged.
 */
export function encodeContentHeaderFrame(
  w: ByteWriter,
  channel: number,
  classId: number,
  bodySize: number,
  properties: MessageProperties | Buffer,
): void {
  const start = beginFrame(w, FRAME_HEADER, channel);
  w.u16(classId);
  w.u16(0);
  w.u64(bodySize);
  if (Buffer.isBuffer(properties)) w.bytes(properties);
  else {
    try {
      encodeProperties(w, properties);
    } catch (error) {
      w.truncate(start); // never leave half a frame for the socket
      throw error;
    }
  }
  endFrame(w, start);
}

/**
 * Writes `body` as body frames of at most `frameMax - 8` payload bytes each (frameMax 0 = one
 * frame). An empty body produces no frames, as the spec requires.
 */
export function encodeBodyFrames(w: ByteWriter, channel: number, body: Buffer, frameMax: number): void {
  const total = body.length;
  if (total === 0) return;
  const maxPayload = frameMax > 0 ? frameMax - FRAME_OVERHEAD : total;
  if (maxPayload <= 0) throw new RangeError(`frameMax ${frameMax} leaves no room for a body payload`);
  const frames = Math.ceil(total / maxPayload);
  w.ensure(total + frames * FRAME_OVERHEAD);
  for (let off = 0; off < total; off += maxPayload) {
    const n = total - off < maxPayload ? total - off : maxPayload;
    w.u8(FRAME_BODY);
    w.u16(channel);
    w.u32(n);
    w.bytes(off === 0 && n === total ? body : body.subarray(off, off + n));
    w.u8(FRAME_END);
  }
}

/** Header frame followed by the body frames. */
export function encodeContent(
  w: ByteWriter,
  channel: number,
  properties: MessageProperties | Buffer,
  body: Buffer,
  frameMax: number,
  classId: number = BASIC_CLASS_ID,
): void {
  encodeContentHeaderFrame(w, channel, classId, body.length, properties);
  encodeBodyFrames(w, channel, body, frameMax);
}

/** A decoded content header. `properties` is decoded on first access and cached. */
export class ContentHeader {
  private decoded: MessageProperties | undefined = undefined;

  constructor(
    readonly classId: number,
    readonly weight: number,
    readonly bodySize: number,
    /** The property flags and fields, as a subarray of the frame payload (no copy). */
    readonly propertiesRaw: Buffer,
  ) {}

  /** Decoded properties (throws DecodeError if the property list is malformed). */
  get properties(): MessageProperties {
    if (this.decoded === undefined) this.decoded = decodeProperties(this.propertiesRaw);
    return this.decoded;
  }
}

const sharedReader = new ByteReader(Buffer.alloc(0));

/** Decodes a content header frame payload. Throws DecodeError if it is shorter than 14 bytes. */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  const r = sharedReader.reset(payload);
  const classId = r.u16('content header class-id');
  const weight = r.u16('content header weight');
  const bodySize = r.u64('content header body-size');
  r.need(2, 'content header property flags');
  return new ContentHeader(classId, weight, bodySize, payload.subarray(r.pos));
}
