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
}

export const AMQP_OPTIONS = Symbol('AMQP_OPTIONS');
