import type { Broker, VirtualHost } from '#core';
import type { AmqpServerOptions } from '../amqp-options';
import { parseSaslResponse, SASL_MECHANISMS } from '../auth/sasl';
import type { ClientCapabilities } from '../channel/channel-host';
import { checkProtocolHeader, FRAME_MIN_SIZE, PROTOCOL_HEADER } from '../codec/frame';
import {
  AmqpMethod,
  encodeConnectionOpenOkFrame,
  encodeConnectionStartFrame,
  encodeConnectionTuneFrame,
  methodNameOf,
  MethodId,
} from '../codec/methods.generated';
import { AmqpError, accessRefused, commandInvalid, internalError, notAllowed } from '../errors';
import type { FrameOutput } from './frame-output';
import { serverProperties as serverPropertiesOf } from './server-properties';

/** What the handshake settled: the connection runs with these from `connection.open-ok` on. */
export interface OpenedSession {
  user: string;
  vhost: VirtualHost;
  frameMax: number;
  channelMax: number;
  /** Seconds; 0 = no heartbeats. */
  heartbeat: number;
  capabilities: ClientCapabilities;
  clientProperties: Record<string, unknown>;
  mechanism: string;
}

export interface HandshakeEvents {
  /** Why this user may not open a connection now (limits), or null. */
  /** The refusal text when a connection limit keeps this login out, else null. */
  admit(user: string, vhost: string): string | null;
  /** Connection-level failure during the handshake: send connection.close with it. */
  failed(error: AmqpError): void;
  opened(session: OpenedSession): void;
}

const enum Step {
  AwaitProtocolHeader,
  AwaitStartOk,
  Authenticating,
  AwaitTuneOk,
  AwaitOpen,
  Done,
  /** The connection closed before the handshake finished. */
  Abandoned,
}

/** What the protocol header check decided about the first bytes of a connection. */
export type HeaderResult = { kind: 'accepted'; rest: Buffer } | { kind: 'need-more' } | { kind: 'mismatch'; reply: Buffer };

const NO_CAPABILITIES: ClientCapabilities = {
  consumerCancelNotify: false,
  connectionBlocked: false,
  authenticationFailureClose: false,
  basicNack: false,
  publisherConfirms: false,
};

/**
 * The opening of a connection, spec 2.2.4: protocol header -> start / start-ok (SASL) -> tune /
 * tune-ok -> open / open-ok. It owns the client's properties and the negotiated limits until it
 * hands them over in `opened`.
 */
export class ConnectionHandshake {
  private step = Step.AwaitProtocolHeader;
  private headerBytes: Buffer | null = null;
  private user = '';
  private frameMax = FRAME_MIN_SIZE;
  private channelMax = 0;
  private heartbeat = 0;
  private capabilities = NO_CAPABILITIES;
  private clientProperties: Record<string, unknown> = {};
  private mechanism = '';

  constructor(
    private readonly output: FrameOutput,
    private readonly broker: Broker,
    private readonly options: AmqpServerOptions,
    private readonly events: HandshakeEvents,
    /** The peer's address, for the loopback-only users. */
    private readonly remoteAddress: string | undefined,
  ) {}

  get done(): boolean {
    return this.step === Step.Done;
  }

  get awaitingHeader(): boolean {
    return this.step === Step.AwaitProtocolHeader;
  }

  /** Reads the protocol header from the first bytes; on success sends connection.start. */
  acceptHeader(chunk: Buffer): HeaderResult {
    const data: Buffer = this.headerBytes ? Buffer.concat([this.headerBytes, chunk]) : chunk;
    const check = checkProtocolHeader(data);
    if (check === 'need-more') {
      this.headerBytes = Buffer.from(data); // the chunk's memory is reused after this read
      return { kind: 'need-more' };
    }
    this.headerBytes = null;
    // spec 4.2.2: answer a header we do not support with the one we do, then close
    if (check === 'mismatch') return { kind: 'mismatch', reply: PROTOCOL_HEADER };
    this.step = Step.AwaitStartOk;
    encodeConnectionStartFrame(this.output.writer, 0, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverPropertiesOf(),
      mechanisms: Buffer.from(SASL_MECHANISMS.join(' ')),
      locales: Buffer.from('en_US'),
    });
    this.output.schedule();
    return { kind: 'accepted', rest: data.subarray(PROTOCOL_HEADER.length) };
  }

  /** A connection-class method before the connection is open. Throws AmqpError on violations. */
  onMethod(method: AmqpMethod): void {
    switch (this.step) {
      case Step.AwaitStartOk:
        if (method.id !== MethodId.ConnectionStartOk) throw this.unexpected(method, 'connection.start-ok');
        this.startOk(method.args.clientProperties, method.args.mechanism, method.args.response);
        return;
      case Step.Authenticating:
        throw commandInvalid('connection method received while authenticating').withMethod(method.id);
      case Step.AwaitTuneOk:
        if (method.id !== MethodId.ConnectionTuneOk) throw this.unexpected(method, 'connection.tune-ok');
        this.tuneOk(method.args.channelMax, method.args.frameMax, method.args.heartbeat);
        return;
      case Step.AwaitOpen:
        if (method.id !== MethodId.ConnectionOpen) throw this.unexpected(method, 'connection.open');
        this.open(method.args.virtualHost);
        return;
      default:
        throw commandInvalid(`unexpected ${methodNameOf(method.id)} during the handshake`);
    }
  }

  private unexpected(method: AmqpMethod, expected: string): AmqpError {
    return commandInvalid(`expected '${expected}', got ${methodNameOf(method.id)}`).withMethod(method.id);
  }

  private startOk(clientProperties: Record<string, unknown>, mechanism: string, response: Buffer): void {
    this.clientProperties = clientProperties;
    this.mechanism = mechanism;
    const caps = (clientProperties.capabilities ?? {}) as Record<string, unknown>;
    this.capabilities = {
      consumerCancelNotify: caps.consumer_cancel_notify === true,
      connectionBlocked: caps['connection.blocked'] === true,
      authenticationFailureClose: caps.authentication_failure_close === true,
      basicNack: caps['basic.nack'] === true,
      publisherConfirms: caps.publisher_confirms === true,
    };
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      // as RabbitMQ: an unknown mechanism is a command error, not a refused login
      throw commandInvalid(`unknown authentication mechanism '${mechanism}', supported: ${SASL_MECHANISMS.join(' ')}`).withMethod(
        MethodId.ConnectionStartOk,
      );
    }
    const credentials = parseSaslResponse(mechanism, response);
    if (credentials === null) throw accessRefused(`malformed ${mechanism} response`).withMethod(MethodId.ConnectionStartOk);
    this.step = Step.Authenticating;
    this.broker.users.authenticate(credentials.username, credentials.password, { source: this.remoteAddress, door: 'amqp' }).then(
      (outcome) => {
        if (this.step !== Step.Authenticating) return;
        if (outcome.user === undefined) {
          // the core logs and counts the refusal; the client hears RabbitMQ's one text for every reason
          this.events.failed(
            accessRefused(`Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`).withMethod(
              MethodId.ConnectionStartOk,
            ),
          );
          return;
        }
        this.user = credentials.username;
        this.step = Step.AwaitTuneOk;
        encodeConnectionTuneFrame(this.output.writer, 0, {
          channelMax: this.options.channelMax,
          frameMax: this.options.frameMax,
          heartbeat: this.options.heartbeat,
        });
        this.output.schedule();
      },
      (error: unknown) => this.events.failed(internalError(`authentication failed: ${String(error)}`)),
    );
  }

  private tuneOk(channelMax: number, frameMax: number, heartbeat: number): void {
    // As RabbitMQ: 0 ("no limit") is refused when the server has a limit, and it always has.
    const serverFrameMax = this.options.frameMax;
    if (frameMax < FRAME_MIN_SIZE || frameMax > serverFrameMax) {
      throw notAllowed(`frame_max=${frameMax} outside the allowed range ${FRAME_MIN_SIZE}..${serverFrameMax}`).withMethod(MethodId.ConnectionTuneOk);
    }
    const serverChannelMax = this.options.channelMax;
    if (channelMax === 0 || channelMax > serverChannelMax) {
      throw notAllowed(`channel_max=${channelMax} outside the allowed range 1..${serverChannelMax}`).withMethod(MethodId.ConnectionTuneOk);
    }
    this.frameMax = frameMax;
    this.channelMax = channelMax;
    this.heartbeat = heartbeat;
    this.step = Step.AwaitOpen;
  }

  private open(vhostName: string): void {
    const vhost = this.broker.vhost(vhostName);
    if (vhost === undefined) throw notAllowed(`vhost '${vhostName}' not found`).withMethod(MethodId.ConnectionOpen);
    if (!this.broker.users.mayUseVhost(this.user, vhostName)) {
      throw notAllowed(`access to vhost '${vhostName}' refused for user '${this.user}'`).withMethod(MethodId.ConnectionOpen);
    }
    const refusal = this.events.admit(this.user, vhostName);
    if (refusal !== null) {
      throw notAllowed(refusal).withMethod(MethodId.ConnectionOpen);
    }
    this.step = Step.Done;
    encodeConnectionOpenOkFrame(this.output.writer, 0, {});
    this.output.schedule();
    this.events.opened({
      user: this.user,
      vhost,
      frameMax: this.frameMax,
      channelMax: this.channelMax,
      heartbeat: this.heartbeat,
      capabilities: this.capabilities,
      clientProperties: this.clientProperties,
      mechanism: this.mechanism,
    });
  }

  /** The connection is closing: a pending login result must not go on with the handshake. */
  abandon(): void {
    if (this.step !== Step.Done) this.step = Step.Abandoned;
  }
}
