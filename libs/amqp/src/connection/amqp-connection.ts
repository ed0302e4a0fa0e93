import type { Socket } from 'node:net';
import type { Broker, ChannelSnapshot, CommitToken, Queue, SessionSnapshot, VirtualHost } from '#core';
import type { AmqpServerOptions } from '../amqp-options';
import { AmqpChannel } from '../channel/amqp-channel';
import type { ChannelHost, ClientCapabilities, Durability } from '../channel/channel-host';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE, FrameParser, writeHeartbeatFrame } from '../codec/frame';
import { decodeMethodFrame } from '../codec/method-frame';
import {
  decodeMethod,
  encodeChannelCloseOkFrame,
  encodeChannelOpenOkFrame,
  encodeConnectionCloseFrame,
  encodeConnectionCloseOkFrame,
  encodeConnectionUpdateSecretOkFrame,
  methodNameOf,
  MethodId,
  ReplyCode,
  AmqpMethod,
} from '../codec/methods.generated';
import { AmqpError, channelError, commandInvalid, connectionForced, isUnexpected, notAllowed, replyTextOf, toAmqpError, unexpectedFrame } from '../errors';
import { AccessControl } from '../auth/access-control';
import type { DoorCounters } from '../server/door-counters';
import type { Clock } from './clock';
import { ConnectionHandshake, OpenedSession } from './connection-handshake';
import { FrameOutput } from './frame-output';
import { HeartbeatMonitor } from './heartbeat-monitor';
import { PublisherThrottle } from './publisher-throttle';

const enum Phase {
  Handshake,
  Open,
  /** We sent connection.close; waiting for close-ok. */
  Closing,
  Closed,
}

/** How long we wait for close-ok after sending connection.close. */
const CLOSE_TIMEOUT_MS = 3000;

export interface ConnectionEvents {
  closed(connection: AmqpConnection): void;
  log(level: 'info' | 'warn' | 'debug', message: string, fields?: Record<string, unknown>): void;
}

/** Everything a connection is built from besides its socket. */
export interface ConnectionContext {
  broker: Broker;
  options: AmqpServerOptions;
  clock: Clock;
  stats: DoorCounters;
  /** Why a new connection of this user may not open now (limits), or null. */
  admit(user: string, vhost: string): string | null;
  events: ConnectionEvents;
}

/**
 * One client connection after accept: frames in, demultiplexed to the handshake, channel 0 or a
 * channel; frames out through FrameOutput; and closing in both directions. Heartbeats and publisher
 * throttling are the monitor's and the throttle's.
 */
export class AmqpConnection implements ChannelHost {
  readonly output: FrameOutput;
  readonly connectedAt = Date.now();
  private session: OpenedSession | null = null;
  private accessControl: AccessControl | null = null;
  private phase = Phase.Handshake;
  private readonly parser: FrameParser;
  private readonly channels = new Map<number, AmqpChannel>();
  private readonly handshake: ConnectionHandshake;
  private readonly heartbeats: HeartbeatMonitor;
  private readonly throttle: PublisherThrottle;
  private readonly broker: Broker;
  private cancelHandshakeTimeout: (() => void) | null;
  private cancelCloseTimeout: (() => void) | null = null;
  private lastBytesWritten = 0;

  constructor(
    readonly connectionId: string,
    private readonly socket: Socket,
    private readonly context: ConnectionContext,
    /** True when the server feeds `receive` itself (a shared read buffer) instead of 'data' events. */
    readByServer = false,
  ) {
    const { broker, options, clock } = context;
    this.broker = broker;
    this.output = new FrameOutput(socket, () => this.onWritable());
    this.handshake = new ConnectionHandshake(this.output, broker, options, {
      admit: (user, vhost) => context.admit(user, vhost),
      failed: (error) => this.connectionError(error),
      opened: (session) => this.opened(session),
    }, socket.remoteAddress);
    this.heartbeats = new HeartbeatMonitor(clock, {
      readingPaused: () => socket.isPaused(),
      sendHeartbeatIfIdle: () => this.sendHeartbeatIfIdle(),
      timedOut: () => {
        context.events.log('info', 'missed heartbeats from client, closing', { remote: this.remoteAddress, heartbeat: this.session?.heartbeat });
        this.destroy();
      },
    });
    this.throttle = new PublisherThrottle(broker, this.output, clock, {
      pauseReading: () => socket.pause(),
      readingAllowed: () => this.resumeReading(),
      supportsBlocked: () => this.session?.capabilities.connectionBlocked ?? false,
      isOpen: () => this.phase === Phase.Open,
    }, options.flowUncommitted);
    this.parser = new FrameParser((type, channel, payload, owned) => {
      try {
        this.onFrame(type, channel, payload, owned);
      } catch (error) {
        // the stream is still in sync: close politely and keep reading for close-ok
        this.connectionError(this.asAmqpError(error));
      }
    }, FRAME_MIN_SIZE);
    this.parser.bodyTarget = (channelId, size) => (this.phase === Phase.Open ? (this.channels.get(channelId)?.bodyTarget(size) ?? null) : null);
    socket.setNoDelay(true);
    if (!readByServer) socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.onSocketClosed());
    this.cancelHandshakeTimeout = clock.after(options.handshakeTimeout * 1000, () => this.handshakeTimedOut());
  }

  // ---- what channels see (ChannelHost) ---------------------------------------------------------

  get vhost(): VirtualHost {
    return this.openSession().vhost;
  }

  get user(): string {
    return this.session?.user ?? '';
  }

  get isOpen(): boolean {
    return this.phase === Phase.Open;
  }

  get frameMax(): number {
    return this.session?.frameMax ?? FRAME_MIN_SIZE;
  }

  get capabilities(): ClientCapabilities {
    return this.openSession().capabilities;
  }

  get maxMessageBytes(): number {
    return this.context.options.maxMessageBytes;
  }

  get maxConsumersPerChannel(): number {
    return this.context.options.maxConsumersPerChannel;
  }

  get consumerTimeoutMs(): number {
    return this.context.options.consumerTimeoutMs;
  }

  get access(): AccessControl {
    if (this.accessControl === null) throw new Error('connection is not open');
    return this.accessControl;
  }

  get stats(): DoorCounters {
    return this.context.stats;
  }

  get durability(): Durability {
    return this.broker;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** RabbitMQ's name for a connection: `peer -> local`. */
  get name(): string {
    return `${this.remoteAddress} -> ${this.socket.localAddress ?? '?'}:${this.socket.localPort ?? '?'}`;
  }

  private openSession(): OpenedSession {
    if (this.session === null) throw new Error('connection is not open');
    return this.session;
  }

  publishAccepted(overloaded: Queue | null, commitToken: CommitToken, bodyBytes: number): void {
    this.throttle.publishAccepted(overloaded, commitToken, bodyBytes);
  }

  /** A resource alarm started (reason) or cleared (null). */
  setAlarm(reason: string | null): void {
    this.throttle.setAlarm(reason);
  }

  // ---- input -----------------------------------------------------------------------------------

  /** Bytes from the socket. `chunk` may be reused once this returns: whatever is kept is copied. */
  receive(chunk: Buffer): void {
    this.heartbeats.received();
    if (this.phase === Phase.Closed) return;
    if (this.handshake.awaitingHeader) {
      const header = this.handshake.acceptHeader(chunk);
      if (header.kind === 'need-more') return;
      if (header.kind === 'mismatch') {
        this.socket.end(header.reply);
        this.phase = Phase.Closed;
        return;
      }
      chunk = header.rest;
      if (chunk.length === 0) return;
    }
    try {
      this.parser.push(chunk);
    } catch (error) {
      // a framing error: the byte stream cannot be followed any further
      this.connectionError(this.asAmqpError(error));
      this.phase = Phase.Closed;
      this.output.end();
    }
    if (this.output.congested) {
      // write what we have now; stop reading only if the socket really asks us to wait
      this.output.flush();
      if (this.output.needsDrain && !this.socket.isPaused()) this.socket.pause();
    }
  }

  private asAmqpError(error: unknown, methodId = 0): AmqpError {
    if (isUnexpected(error)) {
      this.context.events.log('warn', 'internal error handling a frame', { err: String(error), stack: (error as Error)?.stack });
    }
    return toAmqpError(error, methodId);
  }

  private onFrame(type: number, channelId: number, payload: Buffer, owned: boolean): void {
    if (this.phase === Phase.Closing) {
      this.onFrameWhileClosing(type, channelId, payload);
      return;
    }
    if (this.phase === Phase.Closed || type === FRAME_HEARTBEAT) return;
    if (channelId === 0) {
      if (type !== FRAME_METHOD) throw unexpectedFrame(`content frame (type ${type}) on channel 0`);
      this.onChannelZeroMethod(decodeMethodFrame(payload, owned));
      return;
    }
    if (this.phase !== Phase.Open) throw channelError(`frame on channel ${channelId} before the connection was opened`);
    const channel = this.channels.get(channelId);
    if (channel === undefined) {
      this.onFrameForClosedChannel(channelId, type, payload);
      return;
    }
    try {
      if (type === FRAME_METHOD) channel.onMethod(decodeMethodFrame(payload, owned));
      else if (type === FRAME_HEADER) channel.onHeader(payload);
      else if (type === FRAME_BODY) channel.onBody(payload, owned);
    } catch (error) {
      const amqpError = this.asAmqpError(error);
      if (amqpError.closesConnection) throw amqpError;
      this.context.events.log('info', 'channel error', { connection: this.connectionId, channel: channelId, code: amqpError.replyCode, text: amqpError.replyText });
      channel.close(amqpError);
    }
  }

  private onFrameWhileClosing(type: number, channelId: number, payload: Buffer): void {
    if (type !== FRAME_METHOD || channelId !== 0) return;
    const method = decodeMethod(payload);
    if (method.id === MethodId.ConnectionCloseOk) this.destroy();
    else if (method.id === MethodId.ConnectionClose) {
      encodeConnectionCloseOkFrame(this.output.writer, 0, {});
      this.output.end();
    }
  }

  /** A frame on a channel number not in use: channel.open, or what a crossing close leaves behind. */
  private onFrameForClosedChannel(channelId: number, type: number, payload: Buffer): void {
    const method = type === FRAME_METHOD ? decodeMethod(payload) : null;
    // As RabbitMQ: a close-ok for a channel already gone is dropped, and a close is answered,
    // so a client whose close crossed ours on the wire keeps its connection.
    if (method?.id === MethodId.ChannelCloseOk) return;
    if (method?.id === MethodId.ChannelClose) {
      encodeChannelCloseOkFrame(this.output.writer, channelId, {});
      this.output.schedule();
      return;
    }
    if (method === null || method.id !== MethodId.ChannelOpen) throw channelError(`expected 'channel.open' on channel ${channelId}`);
    const channelMax = this.openSession().channelMax;
    if (channelId > channelMax) {
      throw notAllowed(`channel_max exceeded: channel ${channelId} is above the negotiated maximum of ${channelMax}`).withMethod(MethodId.ChannelOpen);
    }
    this.channels.set(channelId, new AmqpChannel(channelId, this));
    this.context.stats.channelsOpened++;
    encodeChannelOpenOkFrame(this.output.writer, channelId, {});
    this.output.schedule();
  }

  private onChannelZeroMethod(method: AmqpMethod): void {
    if (method.id >>> 16 !== 10) {
      throw channelError(`unexpected method ${methodNameOf(method.id)} on channel 0 (only connection methods belong there)`).withMethod(method.id);
    }
    if (this.phase === Phase.Handshake) {
      this.handshake.onMethod(method);
      return;
    }
    switch (method.id) {
      case MethodId.ConnectionClose:
        this.releaseAll();
        encodeConnectionCloseOkFrame(this.output.writer, 0, {});
        this.phase = Phase.Closed;
        this.output.end();
        return;
      case MethodId.ConnectionCloseOk:
        return;
      case MethodId.ConnectionUpdateSecret:
        encodeConnectionUpdateSecretOkFrame(this.output.writer, 0, {});
        this.output.schedule();
        return;
      default:
        throw commandInvalid(`connection method ${methodNameOf(method.id)} not allowed now`).withMethod(method.id);
    }
  }

  private opened(session: OpenedSession): void {
    this.session = session;
    this.accessControl = new AccessControl(this.broker, session.user, session.vhost.name);
    this.context.stats.connectionsOpened++;
    this.context.events.log('info', 'connection opened', {
      connection: this.connectionId,
      name: this.name,
      user: session.user,
      vhost: session.vhost.name,
      client: typeof session.clientProperties.connection_name === 'string' ? session.clientProperties.connection_name : undefined,
    });
    this.phase = Phase.Open;
    this.parser.frameMax = session.frameMax;
    this.cancelHandshakeTimeout?.();
    this.cancelHandshakeTimeout = null;
    this.heartbeats.start(session.heartbeat);
  }

  private handshakeTimedOut(): void {
    if (this.phase !== Phase.Handshake) return;
    this.context.events.log('info', 'handshake timed out', { remote: this.remoteAddress });
    this.destroy();
  }

  private sendHeartbeatIfIdle(): void {
    if (this.output.bytesWritten === this.lastBytesWritten && this.output.pending === 0) {
      writeHeartbeatFrame(this.output.writer);
      this.output.flush();
    }
    this.lastBytesWritten = this.output.bytesWritten;
  }

  // ---- flow ------------------------------------------------------------------------------------

  /** Resumes reading unless something still holds the connection back. */
  private resumeReading(): void {
    if (this.phase === Phase.Closed || this.throttle.pausing) return;
    if (this.output.needsDrain) return; // 'drain' resumes
    this.socket.resume();
  }

  private onWritable(): void {
    if (this.socket.isPaused()) this.resumeReading();
    for (const channel of this.channels.values()) channel.resume();
  }

  // ---- introspection ---------------------------------------------------------------------------

  snapshot(): SessionSnapshot {
    const session = this.session;
    const channels: ChannelSnapshot[] = [];
    for (const channel of this.channels.values()) channels.push(channel.snapshot());
    const client = session?.clientProperties ?? {};
    const details: Record<string, string | number | boolean> = {
      name: this.name,
      peerHost: this.socket.remoteAddress ?? '',
      peerPort: this.socket.remotePort ?? 0,
      host: this.socket.localAddress ?? '',
      port: this.socket.localPort ?? 0,
      frameMax: this.frameMax,
      channelMax: session?.channelMax ?? 0,
      heartbeat: session?.heartbeat ?? 0,
      authMechanism: session?.mechanism ?? '',
      uncommittedMessages: this.throttle.uncommitted.messages,
      uncommittedBytes: this.throttle.uncommitted.bytes,
    };
    for (const key of ['product', 'version', 'platform', 'connection_name'] as const) {
      const value = client[key];
      if (typeof value === 'string') details[key] = value;
    }
    return {
      id: this.connectionId,
      door: 'amqp',
      user: this.user,
      vhost: session?.vhost.name ?? null,
      peer: this.remoteAddress,
      connectedAt: this.connectedAt,
      state: this.phase === Phase.Open ? this.throttle.state : phaseName(this.phase),
      channels,
      details,
      clientProperties: this.clientPropertiesJson(),
    };
  }

  // ---- closing ---------------------------------------------------------------------------------

  channelClosed(channelId: number): void {
    if (this.channels.delete(channelId)) this.context.stats.channelsClosed++;
  }

  /** Client properties as plain JSON values (field tables may hold Buffers and bigints). */
  clientPropertiesJson(): Record<string, unknown> {
    return jsonOf(this.session?.clientProperties ?? {}) as Record<string, unknown>;
  }

  /** Sends connection.close with the error and waits (briefly) for close-ok. */
  connectionError(error: AmqpError): void {
    if (this.phase === Phase.Closing || this.phase === Phase.Closed) return;
    if (error.replyCode !== ReplyCode.AccessRefused || this.phase === Phase.Open) {
      this.context.events.log('debug', 'closing connection on error', { code: error.replyCode, text: error.replyText, remote: this.remoteAddress });
    }
    this.releaseAll();
    this.phase = Phase.Closing;
    encodeConnectionCloseFrame(this.output.writer, 0, {
      replyCode: error.replyCode,
      replyText: replyTextOf(error.replyText),
      classId: error.classId,
      methodId: error.methodId,
    });
    this.output.flush();
    this.heartbeats.stop();
    this.cancelCloseTimeout = this.context.clock.after(CLOSE_TIMEOUT_MS, () => this.destroy());
  }

  /** Server shutdown: connection.close 320 CONNECTION_FORCED. */
  shutdown(reason = 'broker shutting down'): void {
    this.connectionError(connectionForced(reason));
  }

  private releaseAll(): void {
    this.handshake.abandon();
    for (const channel of this.channels.values()) channel.release();
    this.context.stats.channelsClosed += this.channels.size;
    this.channels.clear();
    this.session?.vhost.releaseOwner(this.connectionId);
  }

  destroy(): void {
    if (this.phase === Phase.Closed && this.socket.destroyed) return;
    this.phase = Phase.Closed;
    this.output.flush();
    this.socket.destroy();
  }

  private onSocketClosed(): void {
    if (this.session !== null) {
      this.context.stats.connectionsClosed++;
      this.context.events.log('info', 'connection closed', { connection: this.connectionId, name: this.name, user: this.session.user });
    }
    this.phase = Phase.Closed;
    this.cancelHandshakeTimeout?.();
    this.cancelCloseTimeout?.();
    this.heartbeats.stop();
    this.throttle.stop();
    this.releaseAll();
    this.context.events.closed(this);
  }
}

/** A client-properties value as JSON for the session registry (bytes as text, 64-bit integers as numbers). */
function jsonOf(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(jsonOf);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonOf(v)]));
  return value;
}

function phaseName(phase: Phase): string {
  switch (phase) {
    case Phase.Handshake:
      return 'starting';
    case Phase.Open:
      return 'running';
    case Phase.Closing:
      return 'closing';
    case Phase.Closed:
      return 'closed';
  }
}
