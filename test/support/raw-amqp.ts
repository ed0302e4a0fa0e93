import { connect, Socket } from 'node:net';
import { ByteWriter, FieldTable } from '#core';
import {
  AmqpMethod,
  decodeMethod,
  encodeChannelOpenFrame,
  encodeConnectionOpenFrame,
  encodeConnectionStartOkFrame,
  encodeConnectionTuneOkFrame,
  FRAME_METHOD,
  FrameParser,
  MethodId,
  PROTOCOL_HEADER,
} from '../../libs/amqp/src/codec/index';

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
  method?: AmqpMethod;
}

/**
 * A deliberately low-level AMQP client for tests that must send what real clients never would:
 * malformed frames, frames out of order, silence instead of heartbeats.
 */
export class RawAmqpClient {
  readonly frames: RawFrame[] = [];
  rawBytes = Buffer.alloc(0);
  closed = false;
  private readonly parser = new FrameParser((type, channel, payload) => {
    const frame: RawFrame = { type, channel, payload: Buffer.from(payload) };
    if (type === FRAME_METHOD) {
      try {
        frame.method = decodeMethod(frame.payload);
      } catch {
        // leave undecoded
      }
    }
    this.frames.push(frame);
  }, 0);
  private readonly waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.rawBytes = Buffer.concat([this.rawBytes, chunk]);
      try {
        this.parser.push(chunk);
      } catch {
        // not frames (e.g. a protocol header answer)
      }
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawAmqpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawAmqpClient(socket)));
      socket.once('error', reject);
    });
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  writeFrames(build: (w: ByteWriter) => void): void {
    const w = new ByteWriter(256);
    build(w);
    this.write(w.toBuffer());
  }

  /** Waits for a method frame matching `id` (or the socket closing). */
  async waitForMethod(id: number, timeoutMs = 5000): Promise<RawFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f) => f.method?.id === id);
      if (found || this.closed || Date.now() > deadline) return found;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async waitForClose(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.closed;
  }

  /** Protocol header, start-ok (PLAIN guest/guest), tune-ok, open "/"; and channel 1 if asked. */
  async handshake(options: { heartbeat?: number; frameMax?: number; openChannel?: boolean; capabilities?: FieldTable } = {}): Promise<void> {
    this.write(PROTOCOL_HEADER);
    await this.waitForMethod(MethodId.ConnectionStart);
    this.writeFrames((w) =>
      encodeConnectionStartOkFrame(w, 0, {
        clientProperties: { product: 'raw-test', capabilities: options.capabilities ?? {} },
        mechanism: 'PLAIN',
        response: Buffer.from('\0guest\0guest'),
        locale: 'en_US',
      }),
    );
    const tune = await this.waitForMethod(MethodId.ConnectionTune);
    if (!tune) throw new Error('no connection.tune');
    this.writeFrames((w) => {
      encodeConnectionTuneOkFrame(w, 0, { channelMax: 2047, frameMax: options.frameMax ?? 131072, heartbeat: options.heartbeat ?? 0 });
      encodeConnectionOpenFrame(w, 0, { virtualHost: '/' });
    });
    if (!(await this.waitForMethod(MethodId.ConnectionOpenOk))) throw new Error('no connection.open-ok');
    if (options.openChannel) {
      this.writeFrames((w) => encodeChannelOpenFrame(w, 1, {}));
      if (!(await this.waitForMethod(MethodId.ChannelOpenOk))) throw new Error('no channel.open-ok');
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
