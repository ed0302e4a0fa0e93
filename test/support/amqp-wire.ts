/**
 * Helpers for frame-level AMQP tests on top of RawAmqpClient: a configurable handshake, frame
 * builders (including deliberately malformed ones), waiting for connection.close / channel.close,
 * and a seeded PRNG for reproducible fuzzing.
 */
import { ByteWriter, encodeFieldTable, FieldTable } from '#core';
import {
  AmqpMethod,
  encodeConnectionCloseOkFrame,
  encodeConnectionOpenFrame,
  encodeConnectionStartOkFrame,
  encodeConnectionTuneOkFrame,
  encodeContent,
  encodeMethodFrame,
  FRAME_END,
  MethodId,
  PROTOCOL_HEADER,
} from '../../libs/amqp/src/codec/index';
import { RawAmqpClient, RawFrame } from './raw-amqp';

export { RawAmqpClient };
export type { RawFrame };

/** What a peer's close method carried. */
export interface CloseInfo {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- building bytes ------------------------------------------------------------------------------

/** Runs `build` on a fresh ByteWriter and returns the bytes. */
export function bytes(build: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(256);
  build(w);
  return w.toBuffer();
}

/** One well-formed method frame. */
export function methodFrame(channel: number, method: AmqpMethod): Buffer {
  return bytes((w) => encodeMethodFrame(w, channel, method));
}

/** A frame with an arbitrary type, payload and frame-end octet (size is always right). */
export function rawFrame(type: number, channel: number, payload: Buffer, frameEnd = FRAME_END): Buffer {
  const out = Buffer.alloc(8 + payload.length);
  out[0] = type;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, 7);
  out[7 + payload.length] = frameEnd;
  return out;
}

/** A method frame whose payload is class id, method id and then `args` verbatim. */
export function rawMethodFrame(channel: number, classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  const payload = Buffer.alloc(4 + args.length);
  payload.writeUInt16BE(classId, 0);
  payload.writeUInt16BE(methodId, 2);
  args.copy(payload, 4);
  return rawFrame(1, channel, payload);
}

/** A field table's bytes without the 4-byte length prefix (the AMQPLAIN response form). */
export function tableWithoutLength(table: FieldTable): Buffer {
  return bytes((w) => encodeFieldTable(w, table)).subarray(4);
}

/** basic.publish + content header + body frames. */
export function publishFrames(channel: number, exchange: string, routingKey: string, body: Buffer, frameMax = 131072): Buffer {
  return bytes((w) => {
    encodeMethodFrame(w, channel, { id: MethodId.BasicPublish, args: { exchange, routingKey, mandatory: false, immediate: false } });
    encodeContent(w, channel, {}, body, frameMax);
  });
}

export function queueDeclareFrame(channel: number, queue: string, options: { passive?: boolean; exclusive?: boolean; arguments?: FieldTable } = {}): Buffer {
  return methodFrame(channel, {
    id: MethodId.QueueDeclare,
    args: {
      queue,
      passive: options.passive ?? false,
      durable: false,
      exclusive: options.exclusive ?? false,
      autoDelete: false,
      noWait: false,
      arguments: options.arguments ?? {},
    },
  });
}

export const channelOpenFrame = (channel: number): Buffer => methodFrame(channel, { id: MethodId.ChannelOpen, args: {} });
export const channelCloseOkFrame = (channel: number): Buffer => methodFrame(channel, { id: MethodId.ChannelCloseOk, args: {} });
export const connectionCloseOkFrame = (): Buffer => bytes((w) => encodeConnectionCloseOkFrame(w, 0, {}));
export const basicGetFrame = (channel: number, queue: string): Buffer =>
  methodFrame(channel, { id: MethodId.BasicGet, args: { queue, noAck: true } });

// ---- handshake ----------------------------------------------------------------------------------

export interface HandshakeOptions {
  mechanism?: string;
  /** SASL response; default PLAIN guest/guest. */
  response?: Buffer;
  /** tune-ok values; `undefined` means "accept what the server proposed". */
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
  vhost?: string;
  capabilities?: FieldTable;
  timeoutMs?: number;
}

export interface HandshakeResult {
  start: RawFrame;
  tune: RawFrame;
  openOk: RawFrame;
}

/**
 * Runs the opening handshake step by step and throws (with what the server said) if a step is
 * not answered as expected. Unlike RawAmqpClient.handshake, every tune-ok value is configurable.
 */
export async function handshake(client: RawAmqpClient, options: HandshakeOptions = {}): Promise<HandshakeResult> {
  const timeout = options.timeoutMs ?? 10000;
  client.write(PROTOCOL_HEADER);
  const start = await client.waitForMethod(MethodId.ConnectionStart, timeout);
  if (!start) throw new Error(`no connection.start (${describeEnd(client)})`);
  client.writeFrames((w) =>
    encodeConnectionStartOkFrame(w, 0, {
      clientProperties: { product: 'amqp-wire-test', capabilities: options.capabilities ?? {} },
      mechanism: options.mechanism ?? 'PLAIN',
      response: options.response ?? Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    }),
  );
  const tune = await waitFor(client, (f) => f.method?.id === MethodId.ConnectionTune || f.method?.id === MethodId.ConnectionClose, timeout);
  if (!tune || tune.method?.id !== MethodId.ConnectionTune) throw new Error(`no connection.tune (${describeEnd(client)})`);
  const proposed = tune.method.args;
  client.writeFrames((w) => {
    encodeConnectionTuneOkFrame(w, 0, {
      channelMax: options.channelMax ?? proposed.channelMax,
      frameMax: options.frameMax ?? proposed.frameMax,
      heartbeat: options.heartbeat ?? proposed.heartbeat,
    });
    encodeConnectionOpenFrame(w, 0, { virtualHost: options.vhost ?? '/' });
  });
  const openOk = await waitFor(client, (f) => f.method?.id === MethodId.ConnectionOpenOk || f.method?.id === MethodId.ConnectionClose, timeout);
  if (!openOk || openOk.method?.id !== MethodId.ConnectionOpenOk) throw new Error(`no connection.open-ok (${describeEnd(client)})`);
  return { start, tune, openOk };
}

/** Connects, handshakes, and opens the given channels (waiting for each open-ok). */
export async function openRaw(port: number, options: HandshakeOptions & { channels?: number[] } = {}): Promise<RawAmqpClient> {
  const client = await RawAmqpClient.connect(port);
  try {
    await handshake(client, options);
    for (const channel of options.channels ?? []) {
      client.write(channelOpenFrame(channel));
      const ok = await waitFor(client, (f) => f.channel === channel && f.method?.id === MethodId.ChannelOpenOk, options.timeoutMs ?? 10000);
      if (!ok) throw new Error(`no channel.open-ok on channel ${channel} (${describeEnd(client)})`);
    }
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

// ---- waiting ------------------------------------------------------------------------------------

/** Polls the frames received so far (from index `from`) until one matches, the socket closes, or the timeout. */
export async function waitFor(client: RawAmqpClient, match: (f: RawFrame) => boolean, timeoutMs = 10000, from = 0): Promise<RawFrame | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = from; i < client.frames.length; i++) if (match(client.frames[i]!)) return client.frames[i];
    if (client.closed || Date.now() > deadline) return undefined;
    await sleep(5);
  }
}

function closeInfo(frame: RawFrame): CloseInfo {
  const args = (frame.method as { args: CloseInfo }).args;
  return { replyCode: args.replyCode, replyText: args.replyText, classId: args.classId, methodId: args.methodId };
}

/** Waits for connection.close from the server; answers it with close-ok unless told not to. */
export async function waitConnectionClose(client: RawAmqpClient, timeoutMs = 10000, answer = true): Promise<CloseInfo | undefined> {
  const frame = await waitFor(client, (f) => f.channel === 0 && f.method?.id === MethodId.ConnectionClose, timeoutMs);
  if (!frame) return undefined;
  if (answer && !client.closed) client.write(connectionCloseOkFrame());
  return closeInfo(frame);
}

/** Waits for channel.close on `channel`; answers it with close-ok unless told not to. */
export async function waitChannelClose(client: RawAmqpClient, channel: number, timeoutMs = 10000, answer = true): Promise<CloseInfo | undefined> {
  const frame = await waitFor(
    client,
    (f) => (f.channel === channel && f.method?.id === MethodId.ChannelClose) || f.method?.id === MethodId.ConnectionClose,
    timeoutMs,
  );
  if (!frame || frame.method?.id !== MethodId.ChannelClose) return undefined;
  if (answer && !client.closed) client.write(channelCloseOkFrame(channel));
  return closeInfo(frame);
}

/** A one-line account of how a raw connection ended, for assertion messages. */
export function describeEnd(client: RawAmqpClient): string {
  const closes = client.frames
    .filter((f) => f.method?.id === MethodId.ConnectionClose || f.method?.id === MethodId.ChannelClose)
    .map((f) => {
      const c = closeInfo(f);
      const kind = f.method?.id === MethodId.ConnectionClose ? 'connection.close' : `channel.close(ch ${f.channel})`;
      return `${kind} ${c.replyCode} ${c.classId}/${c.methodId} "${c.replyText}"`;
    });
  const methods = client.frames.map((f) => (f.method ? `${f.channel}:${f.method.id >>> 16}/${f.method.id & 0xffff}` : `${f.channel}:type${f.type}`));
  return `socket ${client.closed ? 'closed' : 'open'}; frames [${methods.join(' ')}]${closes.length ? '; ' + closes.join('; ') : ''}`;
}

/**
 * Asserts-by-throwing that the server closes the whole connection with `code` (connection.close,
 * then the socket is closed after our close-ok). Returns the close for further checks.
 */
export async function expectConnectionClose(client: RawAmqpClient, code: number | number[], what: string, timeoutMs = 10000): Promise<CloseInfo> {
  const close = await waitConnectionClose(client, timeoutMs);
  const codes = Array.isArray(code) ? code : [code];
  if (!close) throw new Error(`${what}: expected connection.close ${codes.join('/')}, got none (${describeEnd(client)})`);
  if (!codes.includes(close.replyCode)) {
    throw new Error(`${what}: expected connection.close ${codes.join('/')}, got ${close.replyCode} "${close.replyText}" (${describeEnd(client)})`);
  }
  if (!(await client.waitForClose(timeoutMs))) throw new Error(`${what}: socket still open after connection.close and close-ok`);
  return close;
}

// ---- PRNG ---------------------------------------------------------------------------------------

/** mulberry32: small, fast, seedable; good enough to pick fuzz inputs reproducibly. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}
