import type { Socket } from 'node:net';
import { ByteWriter } from '#core';

/** Bytes queued for a socket above which its consumers get no more deliveries until it drains. */
const CONGESTED_BYTES = 1024 * 1024;
/** A writer that grew beyond this for a big message is replaced after the flush. */
const KEEP_CAPACITY = 1024 * 1024;

/**
 * Frames for one socket, coalesced per event-loop turn: everything written during a turn leaves in
 * a single socket write (set up by `schedule`).
 */
export class FrameOutput {
  writer = new ByteWriter(64 * 1024);
  /** Bytes ever handed to the socket (for heartbeat bookkeeping). */
  bytesWritten = 0;
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
    const congested = this.socket.writableLength + this.writer.length > CONGESTED_BYTES;
    if (congested) this.reportedCongestion = true;
    return congested;
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
    if (writer.length === 0 || this.closed) return;
    const bytes = writer.toBuffer();
    if (writer.capacity > KEEP_CAPACITY) this.writer = new ByteWriter(64 * 1024);
    else writer.reset();
    this.bytesWritten += bytes.length;
    // if the socket took it all, whoever saw congestion may go on now; else 'drain' will tell
    if (this.socket.write(bytes)) this.writable();
  };

  /** Writes what is queued and then the socket end; nothing more is accepted. */
  end(): void {
    this.flush();
    this.closed = true;
    this.socket.end();
  }
}
