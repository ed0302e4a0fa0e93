/**
 * Helpers for the end-to-end AMQP tests that drive the broker with amqplib over real sockets.
 * Every connection and channel gets an 'error' listener (amqplib throws on unhandled 'error'
 * events), and the errors are kept so tests can assert on the server's reply codes.
 */
import assert from 'node:assert/strict';
import amqp, { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, GetMessage, Options } from 'amqplib';
import { sleep } from './app-harness';

/** What amqplib reports when the server closes a channel or connection. */
export interface ServerError extends Error {
  code?: number;
  classId?: number;
  methodId?: number;
}

export interface TrackedConnection extends ChannelModel {
  /** Errors the connection emitted (e.g. a server connection.close). */
  errors: ServerError[];
  /** Resolves with the error (if any) once the connection closed. */
  closed: Promise<ServerError | undefined>;
}

export interface Tracked {
  errors: ServerError[];
  /** Resolves once the channel closed, with the error that closed it (if any). */
  closed: Promise<ServerError | undefined>;
}

export type TrackedChannel = Channel & Tracked;
export type TrackedConfirmChannel = ConfirmChannel & Tracked;

export const ReplyCode = {
  NoRoute: 312,
  AccessRefused: 403,
  NotFound: 404,
  ResourceLocked: 405,
  PreconditionFailed: 406,
  CommandInvalid: 503,
  NotImplemented: 540,
} as const;

/** The numeric method ids amqplib uses (class << 16 | method), for methods it has no API for. */
export const Method = {
  ConfirmSelect: (85 << 16) | 10,
  ConfirmSelectOk: (85 << 16) | 11,
  TxSelect: (90 << 16) | 10,
  TxSelectOk: (90 << 16) | 11,
  TxCommit: (90 << 16) | 20,
  TxCommitOk: (90 << 16) | 21,
  TxRollback: (90 << 16) | 30,
  TxRollbackOk: (90 << 16) | 31,
} as const;

/** amqplib's internal rpc (promise model): send a method and wait for the expected reply. */
export function rpc(ch: Channel, method: number, fields: Record<string, unknown>, expect: number): Promise<unknown> {
  return (ch as unknown as { rpc(m: number, f: unknown, e: number): Promise<unknown> }).rpc(method, fields, expect);
}

export async function connect(url: string, options: { frameMax?: number; heartbeat?: number } = {}): Promise<TrackedConnection> {
  const query = new URLSearchParams();
  if (options.frameMax !== undefined) query.set('frameMax', String(options.frameMax));
  query.set('heartbeat', String(options.heartbeat ?? 0));
  const conn = (await amqp.connect(`${url}?${query.toString()}`)) as TrackedConnection;
  conn.errors = [];
  conn.on('error', (error: ServerError) => conn.errors.push(error));
  conn.closed = new Promise((resolve) => conn.once('close', (error?: ServerError) => resolve(error)));
  return conn;
}

function track<T extends Channel>(ch: T): T & Tracked {
  const tracked = ch as T & Tracked;
  tracked.errors = [];
  ch.on('error', (error: ServerError) => tracked.errors.push(error));
  tracked.closed = new Promise((resolve) => ch.once('close', () => resolve(tracked.errors[0])));
  return tracked;
}

export async function channel(conn: ChannelModel): Promise<TrackedChannel> {
  return track(await conn.createChannel());
}

export async function confirmChannel(conn: ChannelModel): Promise<TrackedConfirmChannel> {
  return track(await conn.createConfirmChannel());
}

/**
 * Closes quietly: the connection may already be gone, or the server may not answer (a wedged
 * connection must not hang the test run), in which case the socket is destroyed after `timeoutMs`.
 */
export async function closeQuietly(conn: ChannelModel | undefined, timeoutMs = 5000): Promise<void> {
  if (!conn) return;
  try {
    await withTimeout(conn.close(), timeoutMs, 'connection.close-ok');
  } catch {
    const stream = (conn as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  }
}

/** Asserts that `operation` is refused by the server with `code`; returns the error. */
export async function expectRefused(operation: Promise<unknown>, code: number, what = 'operation'): Promise<ServerError> {
  let error: ServerError | undefined;
  try {
    await operation;
  } catch (caught) {
    error = caught as ServerError;
  }
  assert.ok(error, `${what}: expected the server to refuse it with ${code}, but it succeeded`);
  assert.equal(error.code, code, `${what}: expected reply code ${code}, got ${String(error.code)} (${error.message})`);
  return error;
}

/** Waits until the channel is closed by the server and asserts the reply code. */
export async function expectChannelClosed(ch: Tracked, code: number, what = 'channel', timeoutMs = 10000): Promise<ServerError> {
  const error = await withTimeout(ch.closed, timeoutMs, `${what}: the server did not close the channel`);
  assert.ok(error, `${what}: channel closed without an error, expected ${code}`);
  assert.equal(error.code, code, `${what}: expected reply code ${code}, got ${String(error.code)} (${error.message})`);
  return error;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${message}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Does the exchange/queue exist? Uses a passive declare on a throwaway channel (404 = no). */
export async function exists(conn: ChannelModel, kind: 'exchange' | 'queue', name: string): Promise<boolean> {
  const ch = await channel(conn);
  try {
    if (kind === 'exchange') await ch.checkExchange(name);
    else await ch.checkQueue(name);
  } catch (error) {
    if ((error as ServerError).code === ReplyCode.NotFound) return false;
    throw error;
  }
  await ch.close();
  return true;
}

/** Ready-message count of a queue, via a passive declare on a throwaway channel. */
export async function messageCount(conn: ChannelModel, queue: string): Promise<number> {
  const ch = await channel(conn);
  const ok = await ch.checkQueue(queue);
  await ch.close();
  return ok.messageCount;
}

/** basic.get (no-ack) until get-empty; returns the bodies in order. */
export async function drain(ch: Channel, queue: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const msg = await ch.get(queue, { noAck: true });
    if (msg === false) return bodies;
    bodies.push(msg.content.toString());
  }
}

/** basic.get that must return a message. */
export async function getOne(ch: Channel, queue: string, options: Options.Get = {}): Promise<GetMessage> {
  const msg = await ch.get(queue, options);
  assert.ok(msg !== false, `expected a message in ${queue}, got get-empty`);
  return msg;
}

/** A consumer that records what it receives. */
export class Collector {
  readonly messages: ConsumeMessage[] = [];
  /** Number of times amqplib signalled a server-side cancel (callback with null). */
  cancelled = 0;
  tag = '';

  readonly onMessage = (msg: ConsumeMessage | null): void => {
    if (msg === null) this.cancelled++;
    else this.messages.push(msg);
  };

  static async start(ch: Channel, queue: string, options: Options.Consume = {}): Promise<Collector> {
    const collector = new Collector();
    const ok = await ch.consume(queue, collector.onMessage, options);
    collector.tag = ok.consumerTag;
    return collector;
  }

  bodies(): string[] {
    return this.messages.map((m) => m.content.toString());
  }

  async waitFor(count: number, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} messages, have ${this.messages.length}`);
      await sleep(5);
    }
  }
}

/** Waits a moment for in-flight deliveries to settle (used before asserting that nothing more arrives). */
export const settle = (ms = 300): Promise<void> => sleep(ms);

export { freePort } from './app-harness';

export const body = (text: string): Buffer => Buffer.from(text);
export const range = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
