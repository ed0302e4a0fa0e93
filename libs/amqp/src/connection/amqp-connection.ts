import type { Socket } from 'node:net';
import { Broker, BrokerError, DecodeError, Queue, VirtualHost } from '#core';
import type { AmqpServerOptions } from '../amqp-options';
import { parseSaslResponse, SASL_MECHANISMS } from '../auth/sasl';
import type { UserDirectory } from '../auth/user-directory';
import { AmqpChannel } from '../channel/amqp-channel';
import type { ChannelHost, ClientCapabilities } from '../channel/channel-host';
import {
  AmqpMethod,
  checkProtocolHeader,
  decodeMethod,
  encodeChannelOpenOkFrame,
  encodeConnectionBlockedFrame,
  encodeConnectionCloseFrame,
  encodeConnectionCloseOkFrame,
  encodeConnectionOpenOkFrame,
  encodeConnectionStartFrame,
  encodeConnectionTuneFrame,
  encodeConnectionUnblockedFrame,
  encodeConnectionUpdateSecretOkFrame,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  FrameError,
  FrameParser,
  MethodId,
  PROTOCOL_HEADER,
  ReplyCode,
  UnknownMethodError,
  writeHeartbeatFrame,
} from '../codec';
import {
  accessRefused,
  AmqpError,
  channelError,
  commandInvalid,
  frameError,
  internalError,
  notAllowed,
  syntaxError,
  unexpectedFrame,
} from '../errors';
import { FrameOutput } from './frame-output';
import { serverProperties } from './server-properties';

const enum Phase {
  AwaitProtocolHeader,
  AwaitStartOk,
  Authenticating,
  AwaitTuneOk,
  AwaitOpen,
  Open,
  /** We sent connection.close; waiting for close-ok. */
  Closing,
  Closed,
}

/**
 * Longest a publisher stays paused by one overloaded queue. The pause normally ends when the queue
 * drains; the cap keeps a connection that also consumes from that queue from stalling itself.
 */
const FLOW_PAUSE_MAX_MS = 250;

/** How long we wait for close-ok after sending connection.close. */
const CLOSE_TIMEOUT_MS = 3000;

export interface ConnectionEvents {
  closed(connection: AmqpConnection): void;
  log(level: 'info' | 'warn' | 'debug', message: string, fields?: Record<string, unknown>): void;
}

/** One client connection: handshake, frame routing to channels, heartbeats, close. */
export class AmqpConnection implements ChannelHost {
  readonly output: FrameOutput;
  frameMax = FRAME_MIN_SIZE;
  channelMax = 0;
  heartbeat = 0;
  vhost!: VirtualHost;
  user = '';
  capabilities: ClientCapabilities = {
    consumerCancelNotify: false,
    connectionBlocked: false,
    authenticationFailureClose: false,
    basicNack: false,
    publisherConfirms: false,
  };
  clientProperties: Record<string, unknown> = {};
  private phase = Phase.AwaitProtocolHeader;
  private readonly parser: FrameParser;
  private headerBytes: Buffer | null = null;
  private readonly channels = new Map<number, AmqpChannel>();
  private timer: NodeJS.Timeout | null = null;
  private receivedSinceTick = true;
  private silentTicks = 0;
  private lastBytesWritten = 0;
  /** A resource alarm is on (RabbitMQ's memory/disk alarm): publishers get blocked. */
  private blockedReason: string | null = null;
  /** This connection published during the alarm and was told (connection.blocked) and paused. */
  private blocked = false;
  private pausedForStore = false;
  private pausedForFlow = false;

  constructor(
    readonly connectionId: string,
    private readonly socket: Socket,
    readonly broker: Broker,
    private readonly options: AmqpServerOptions,
    private readonly users: UserDirectory,
    private readonly events: ConnectionEvents,
  ) {
    this.output = new FrameOutput(socket, () => this.onWritable());
    this.parser = new FrameParser((type, channel, payload) => {
      try {
        this.onFrame(type, channel, payload);
      } catch (error) {
        // the stream is still in sync: close politely and keep reading for close-ok
        this.connectionError(this.toAmqpError(error));
      }
    }, FRAME_MIN_SIZE);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.onSocketClosed());
    this.timer = setTimeout(() => this.handshakeTimedOut(), options.handshakeTimeout * 1000);
  }

  get maxMessageBytes(): number {
    return this.options.maxMessageBytes;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  get channelCount(): number {
    return this.channels.size;
  }

  // ---- input -----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.receivedSinceTick = true;
    if (this.phase === Phase.Closed) return;
    if (this.phase === Phase.AwaitProtocolHeader) {
      const data: Buffer = this.headerBytes ? Buffer.concat([this.headerBytes, chunk]) : chunk;
      const check = checkProtocolHeader(data);
      if (check === 'need-more') {
        this.headerBytes = data;
        return;
      }
      if (check === 'mismatch') {
        // spec 4.2.2: answer with the header we support, then close
        this.socket.end(PROTOCOL_HEADER);
        this.phase = Phase.Closed;
        return;
      }
      this.headerBytes = null;
      this.phase = Phase.AwaitStartOk;
      this.sendStart();
      chunk = data.subarray(8);
      if (chunk.length === 0) return;
    }
    try {
      this.parser.push(chunk);
    } catch (error) {
      // a framing error: the byte stream cannot be followed any further
      this.connectionError(this.toAmqpError(error));
      this.phase = Phase.Closed;
      this.output.end();
    }
    if (this.output.congested) {
      // write what we have now; stop reading only if the socket really asks us to wait
      this.output.flush();
      if (this.output.needsDrain && !this.socket.isPaused()) this.socket.pause();
    }
  }

  private toAmqpError(error: unknown): AmqpError {
    if (error instanceof AmqpError) return error;
    if (error instanceof FrameError) return frameError(error.message);
    if (error instanceof UnknownMethodError) {
      return error.classKnown
        ? commandInvalid(error.message).withMethod(error.classId, error.methodId)
        : new AmqpError(ReplyCode.NotImplemented, `NOT_IMPLEMENTED - ${error.message}`, error.classId, error.methodId);
    }
    if (error instanceof DecodeError) return syntaxError(error.message);
    if (error instanceof BrokerError) return new AmqpError(error.code, error.message);
    this.events.log('warn', 'internal error handling a frame', { err: String(error), stack: (error as Error)?.stack });
    return internalError(error instanceof Error ? error.message : String(error));
  }

  private onFrame(type: number, channelId: number, payload: Buffer): void {
    if (this.phase === Phase.Closing) {
      if (type === FRAME_METHOD && channelId === 0) {
        const method = decodeMethod(payload);
        if (method.id === MethodId.ConnectionCloseOk) this.destroy();
        else if (method.id === MethodId.ConnectionClose) {
          encodeConnectionCloseOkFrame(this.output.writer, 0, {});
          this.output.end();
        }
      }
      return;
    }
    if (this.phase === Phase.Closed) return;
    if (type === FRAME_HEARTBEAT) return;
    if (channelId === 0) {
      if (type !== FRAME_METHOD) throw unexpectedFrame(`content frame (type ${type}) on channel 0`);
      const method = decodeMethod(payload);
      if (method.id >>> 16 !== 10) {
        throw channelError(`unexpected method ${describe(method.id)} on channel 0 (only connection methods belong there)`).withMethod(
          method.id >>> 16,
          method.id & 0xffff,
        );
      }
      this.onConnectionMethod(method);
      return;
    }
    if (this.phase !== Phase.Open) {
      throw channelError(`frame on channel ${channelId} before the connection was opened`);
    }
    const channel = this.channels.get(channelId);
    if (channel === undefined) {
      this.openChannel(channelId, type, payload);
      return;
    }
    try {
      if (type === FRAME_METHOD) channel.onMethod(decodeMethod(payload));
      else if (type === FRAME_HEADER) channel.onHeader(payload);
      else if (type === FRAME_BODY) channel.onBody(payload);
    } catch (error) {
      const amqpError = this.toAmqpError(error);
      if (amqpError.closesConnection) throw amqpError;
      channel.close(amqpError);
    }
  }

  private openChannel(channelId: number, type: number, payload: Buffer): void {
    const method = type === FRAME_METHOD ? decodeMethod(payload) : null;
    if (method === null || method.id !== MethodId.ChannelOpen) {
      throw channelError(`expected 'channel.open' on channel ${channelId}`);
    }
    if (channelId > this.channelMax) {
      throw notAllowed(`channel_max exceeded: channel ${channelId} is above the negotiated maximum of ${this.channelMax}`).withMethod(20, 10);
    }
    this.channels.set(channelId, new AmqpChannel(channelId, this));
    encodeChannelOpenOkFrame(this.output.writer, channelId, {});
    this.output.schedule();
  }

  // ---- connection class ------------------------------------------------------------------------

  private onConnectionMethod(method: AmqpMethod): void {
    switch (this.phase) {
      case Phase.AwaitStartOk:
        if (method.id !== MethodId.ConnectionStartOk) throw commandInvalid(`expected 'connection.start-ok', got ${method.id}`);
        this.startOk(method.args.clientProperties, method.args.mechanism, method.args.response);
        return;
      case Phase.Authenticating:
        throw commandInvalid('connection method received while authenticating');
      case Phase.AwaitTuneOk:
        if (method.id !== MethodId.ConnectionTuneOk) throw commandInvalid(`expected 'connection.tune-ok'`);
        this.tuneOk(method.args.channelMax, method.args.frameMax, method.args.heartbeat);
        return;
      case Phase.AwaitOpen:
        if (method.id !== MethodId.ConnectionOpen) throw commandInvalid(`expected 'connection.open'`);
        this.open(method.args.virtualHost);
        return;
      default:
        break;
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
        throw commandInvalid(`connection method ${describe(method.id)} not allowed now`).withMethod(
          method.id >>> 16,
          method.id & 0xffff,
        );
    }
  }

  private sendStart(): void {
    encodeConnectionStartFrame(this.output.writer, 0, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(),
      mechanisms: Buffer.from(SASL_MECHANISMS.join(' ')),
      locales: Buffer.from('en_US'),
    });
    this.output.schedule();
  }

  private startOk(clientProperties: Record<string, unknown>, mechanism: string, response: Buffer): void {
    this.clientProperties = clientProperties;
    const caps = (clientProperties.capabilities ?? {}) as Record<string, unknown>;
    this.capabilities = {
      consumerCancelNotify: caps.consumer_cancel_notify === true,
      connectionBlocked: caps['connection.blocked'] === true,
      authenticationFailureClose: caps.authentication_failure_close === true,
      basicNack: caps['basic.nack'] === true,
      publisherConfirms: caps.publisher_confirms === true,
    };
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw accessRefused(`unsupported authentication mechanism '${mechanism}', supported: ${SASL_MECHANISMS.join(' ')}`).withMethod(10, 11);
    }
    const credentials = parseSaslResponse(mechanism, response);
    if (credentials === null) throw accessRefused(`malformed ${mechanism} response`).withMethod(10, 11);
    this.phase = Phase.Authenticating;
    this.users.verify(credentials.username, credentials.password).then(
      (ok) => {
        if (this.phase !== Phase.Authenticating) return;
        if (!ok) {
          this.events.log('warn', 'login refused', { user: credentials.username, remote: this.remoteAddress });
          this.connectionError(
            accessRefused(`Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`).withMethod(10, 11),
          );
          return;
        }
        this.user = credentials.username;
        this.phase = Phase.AwaitTuneOk;
        encodeConnectionTuneFrame(this.output.writer, 0, {
          channelMax: this.options.channelMax,
          frameMax: this.options.frameMax,
          heartbeat: this.options.heartbeat,
        });
        this.output.schedule();
      },
      (error: unknown) => this.connectionError(internalError(`authentication failed: ${String(error)}`)),
    );
  }

  private tuneOk(channelMax: number, frameMax: number, heartbeat: number): void {
    // As RabbitMQ: 0 ("no limit") is refused when the server has a limit, and it always has.
    const serverFrameMax = this.options.frameMax;
    const negotiatedFrameMax = frameMax;
    if (negotiatedFrameMax < FRAME_MIN_SIZE || negotiatedFrameMax > serverFrameMax) {
      throw notAllowed(`frame_max=${frameMax} outside the allowed range ${FRAME_MIN_SIZE}..${serverFrameMax}`).withMethod(10, 31);
    }
    const serverChannelMax = this.options.channelMax;
    const negotiatedChannelMax = channelMax;
    if (negotiatedChannelMax === 0 || negotiatedChannelMax > serverChannelMax) {
      throw notAllowed(`channel_max=${channelMax} outside the allowed range 1..${serverChannelMax}`).withMethod(10, 31);
    }
    this.frameMax = negotiatedFrameMax;
    this.channelMax = negotiatedChannelMax;
    this.heartbeat = heartbeat;
    this.parser.frameMax = negotiatedFrameMax;
    this.phase = Phase.AwaitOpen;
  }

  private open(vhostName: string): void {
    const vhost = this.broker.vhost(vhostName);
    if (vhost === undefined) throw notAllowed(`vhost '${vhostName}' not found`).withMethod(10, 40);
    this.vhost = vhost;
    this.phase = Phase.Open;
    this.startHeartbeats();
    encodeConnectionOpenOkFrame(this.output.writer, 0, {});
    this.output.schedule();
  }

  // ---- heartbeats ------------------------------------------------------------------------------

  private handshakeTimedOut(): void {
    if (this.phase === Phase.Open || this.phase === Phase.Closed) return;
    this.events.log('info', 'handshake timed out', { remote: this.remoteAddress });
    this.destroy();
  }

  private startHeartbeats(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.heartbeat === 0) return;
    const tickMs = (this.heartbeat * 1000) / 2;
    this.timer = setInterval(() => this.heartbeatTick(), tickMs);
    this.timer.unref();
  }

  private heartbeatTick(): void {
    if (this.receivedSinceTick || this.socket.isPaused()) {
      // while we hold the socket paused (blocked, flow control) we cannot see the client's
      // heartbeats; RabbitMQ pauses its heartbeat monitor then too
      this.receivedSinceTick = false;
      this.silentTicks = 0;
    } else if (++this.silentTicks >= 4) {
      // two heartbeat intervals without a byte from the peer (ticks are half an interval)
      this.events.log('info', 'missed heartbeats from client, closing', { remote: this.remoteAddress, heartbeat: this.heartbeat });
      this.destroy();
      return;
    }
    if (this.output.bytesWritten === this.lastBytesWritten && this.output.writer.length === 0) {
      writeHeartbeatFrame(this.output.writer);
      this.output.flush();
    }
    this.lastBytesWritten = this.output.bytesWritten;
  }

  // ---- flow control ----------------------------------------------------------------------------

  publishAccepted(overloaded: Queue | null): void {
    if (this.blockedReason !== null) this.block();
    if (!this.pausedForStore && this.broker.store.backlogged) {
      this.pausedForStore = true;
      this.socket.pause();
      this.broker.store.onDrain(() => {
        this.pausedForStore = false;
        this.resumeReading();
      });
    }
    if (overloaded !== null && !this.pausedForFlow) {
      this.pausedForFlow = true;
      this.socket.pause();
      let timer: NodeJS.Timeout | null = null;
      const resume = (): void => {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        if (!this.pausedForFlow) return;
        this.pausedForFlow = false;
        this.resumeReading();
      };
      overloaded.onRelief(resume);
      timer = setTimeout(resume, FLOW_PAUSE_MAX_MS);
    }
  }

  /** Resumes reading unless something still holds the connection back. */
  private resumeReading(): void {
    if (this.phase === Phase.Closed || this.blocked || this.pausedForStore || this.pausedForFlow) return;
    if (this.output.needsDrain) return; // 'drain' resumes
    this.socket.resume();
  }

  /**
   * A resource alarm started (reason) or cleared (null). As in RabbitMQ, a connection is blocked
   * (told with connection.blocked, and no longer read) only once it publishes during the alarm;
   * consumers-only connections carry on.
   */
  setBlocked(reason: string | null): void {
    if (reason === this.blockedReason) return;
    this.blockedReason = reason;
    if (reason === null && this.blocked) {
      this.blocked = false;
      if (this.capabilities.connectionBlocked && this.phase === Phase.Open) {
        encodeConnectionUnblockedFrame(this.output.writer, 0, {});
        this.output.schedule();
      }
      this.resumeReading();
    }
  }

  private block(): void {
    if (this.blocked || this.blockedReason === null) return;
    this.blocked = true;
    if (this.capabilities.connectionBlocked) {
      encodeConnectionBlockedFrame(this.output.writer, 0, { reason: this.blockedReason });
      this.output.schedule();
    }
    this.socket.pause();
  }

  private onWritable(): void {
    if (this.socket.isPaused()) this.resumeReading();
    for (const channel of this.channels.values()) channel.resume();
  }

  // ---- closing ---------------------------------------------------------------------------------

  channelClosed(channelId: number): void {
    this.channels.delete(channelId);
  }

  /** Sends connection.close with the error and waits (briefly) for close-ok. */
  connectionError(error: AmqpError): void {
    if (this.phase === Phase.Closing || this.phase === Phase.Closed) return;
    if (error.replyCode !== ReplyCode.AccessRefused || this.phase === Phase.Open) {
      this.events.log('debug', 'closing connection on error', { code: error.replyCode, text: error.replyText, remote: this.remoteAddress });
    }
    this.releaseAll();
    this.phase = Phase.Closing;
    encodeConnectionCloseFrame(this.output.writer, 0, {
      replyCode: error.replyCode,
      replyText: error.replyText.slice(0, 255),
      classId: error.classId,
      methodId: error.methodId,
    });
    this.output.flush();
    if (this.timer) clearInterval(this.timer);
    this.timer = setTimeout(() => this.destroy(), CLOSE_TIMEOUT_MS);
  }

  /** Server shutdown: connection.close 320 CONNECTION_FORCED. */
  shutdown(): void {
    this.connectionError(new AmqpError(ReplyCode.ConnectionForced, 'CONNECTION_FORCED - broker shutting down'));
  }

  private releaseAll(): void {
    for (const channel of this.channels.values()) channel.release();
    this.channels.clear();
    if (this.vhost) this.vhost.releaseOwner(this.connectionId);
  }

  destroy(): void {
    if (this.phase === Phase.Closed && this.socket.destroyed) return;
    this.phase = Phase.Closed;
    this.output.flush();
    this.socket.destroy();
  }

  private onSocketClosed(): void {
    this.phase = Phase.Closed;
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
      this.timer = null;
    }
    this.releaseAll();
    this.events.closed(this);
  }
}

function describe(methodId: number): string {
  return `${methodId >>> 16}/${methodId & 0xffff}`;
}
