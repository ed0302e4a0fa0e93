import type { Socket } from 'node:net';
import { ByteWriter } from '#core';
import { encodeBodyFrames } from '../codec/content';
import { FRAME_BODY, FRAME_END, FRAME_OVERHEAD } from '../codec/frame';

/** Bytes queued for a socket above which its consumers get no more deliveries until it drains. */
const CONGESTED_BYTES = 1024 * 1024;
/** A writer that grew beyond this for a big message is replaced after the flush. */
const KEEP_CAPACITY = 1024 * 1024;
/** Bodies at least this large go to the socket as slices of themselves instead of being copied. */
const DIRECT_BODY_BYTES = 16 * 1024;

/**
 * Frames for one socket, coalesced per event-loop turn: everything written during a turn leaves in
 * a single socket write (set up by `schedule`).
 */
export class FrameOutput {
  writer = new ByteWriter(64 * 1024);
  /** Bytes ever handed to the socket (for heartbeat bookkeeping). */
  bytesWritten = 0;
  /** Output of this turn in order: cut-off writer content and body slices (large bodies only). */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private scheduled = false;
  private closed = false;
  /** Someone was told "congested" since the last flush: tell them when it is over. */
  private reportedCongestion = false;

  constructor(
    private readonly socket: Socket,
    /** Called when output that was congested can flow again (a flush the socket took at once, or 'drain'). */
    private readonly onWritable: () => void,
  ) {
    socket.on('drain', () => this.writable());
  }

  /** True while the socket is behind: deliveries to this connection should pause. */
  get congested(): boolean {
    const congested = this.socket.writableLength + this.pending > CONGESTED_BYTES;
    if (congested) this.reportedCongestion = true;
    return congested;
  }

  /** Bytes written this turn and not yet handed to the socket. */
  get pending(): number {
    return this.writer.length + this.chunkBytes;
  }

  /**
   * Body frames for `body`. A large body is not copied: each frame's payload goes to the socket
   * as a slice of the body (which is immutable and outlives the write), between its 7-byte frame
   * header and its frame-end byte in the writer.
   */
  writeBodyFrames(channel: number, body: Buffer, frameMax: number): void {
    const total = body.length;
    if (total < DIRECT_BODY_BYTES) {
      encodeBodyFrames(this.writer, channel, body, frameMax);
      return;
    }
    const maxPayload = frameMax > 0 ? frameMax - FRAME_OVERHEAD : total;
    if (maxPayload <= 0) throw new RangeError(`frameMax ${frameMax} leaves no room for a body payload`);
    const w = this.writer;
    for (let off = 0; off < total; off += maxPayload) {
      const n = total - off < maxPayload ? total - off : maxPayload;
      w.u8(FRAME_BODY);
      w.u16(channel);
      w.u32(n);
      this.cut();
      this.chunks.push(off === 0 && n === total ? body : body.subarray(off, off + n));
      this.chunkBytes += n;
      w.u8(FRAME_END);
    }
  }

  /** Moves what the writer holds to the chunk list (a copy of a few header bytes, usually). */
  private cut(): void {
    const w = this.writer;
    if (w.length === 0) return;
    this.chunks.push(w.toBuffer());
    this.chunkBytes += w.length;
    w.reset();
  }

  /** Whether the socket asked us to wait for 'drain'. */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  private writable(): void {
    if (!this.reportedCongestion || this.closed) return;
    this.reportedCongestion = false;
    this.onWritable();
  }

  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const writer = this.writer;
    if (this.pending === 0 || this.closed) return;
    let took: boolean;
    if (this.chunks.length === 0) {
      const bytes = writer.toBuffer();
      this.bytesWritten += bytes.length;
      took = this.socket.write(bytes);
    } else {
      this.cut();
      const chunks = this.chunks;
      this.chunks = [];
      this.bytesWritten += this.chunkBytes;
      this.chunkBytes = 0;
      // corked, the chunks leave in one writev
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
      took = !this.socket.writableNeedDrain;
    }
    if (writer.capacity > KEEP_CAPACITY) this.writer = new ByteWriter(64 * 1024);
    else writer.reset();
    // if the socket took it all, whoever saw congestion may go on now; else 'drain' will tell
    if (took) this.writable();
  };

  /** Writes what is queued and then the socket end; nothing more is accepted. */
  end(): void {
    this.flush();
    this.closed = true;
    this.socket.end();
  }
}
