import type { UncommittedLimits } from './connection/uncommitted-publishes';

export interface AmqpServerOptions {
  port: number;
  host: string;
  /** Heartbeat interval the server proposes, seconds (0 disables). */
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  /** Largest message body accepted (406 PRECONDITION_FAILED above it). */
  maxMessageBytes: number;
  /** Seconds a client has to complete the handshake. */
  handshakeTimeout: number;
  /** Connections at most in all, and per user; 0 = no limit. */
  maxConnections: number;
  maxConnectionsPerUser: number;
  /** Consumers at most per channel; 0 = no limit. */
  maxConsumersPerChannel: number;
  /** consumer_timeout: longest an unacknowledged delivery may be held (ms); 0 = off. x-consumer-timeout overrides it per queue. */
  consumerTimeoutMs: number;
  /**
   * Persistent publishes (and their body bytes) one connection may have waiting for the store's
   * commit; over either the connection is not read (state `flow`) until commits bring it back
   * within; 0 = no limit.
   */
  flowUncommitted: UncommittedLimits;
  /** AMQPS listener (TLS) beside the plain one, when configured. */
  tls: AmqpTlsOptions | null;
}

export interface AmqpTlsOptions {
  port: number;
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
  /** Ask for a client certificate and verify it against `ca`. */
  requestCert: boolean;
  /** With requestCert: refuse clients without a valid certificate. */
  rejectUnauthorized: boolean;
}

export const AMQP_OPTIONS = Symbol('AMQP_OPTIONS');
