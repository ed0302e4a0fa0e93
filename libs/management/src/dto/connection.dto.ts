import type { JsonObject } from './json-value';

/** Which connection something belongs to, as RabbitMQ's `connection_details`. */
export interface ConnectionDetailsDto {
  /** `{peer address}:{port} -> {local address}:{port}`. */
  name: string;
  peer_host: string;
  peer_port: number;
}

/** A client connection, as RabbitMQ's /api/connections. */
export interface ConnectionDto {
  name: string;
  node: string;
  type: 'network';
  /** `AMQP 0-9-1`, or the name of the door a session came through. */
  protocol: string;
  user: string;
  user_who_performed_action: string;
  /** null before the client opened a vhost (listed connections always have one). */
  vhost: string | null;
  state: string;
  /** How many channels are open. */
  channels: number;
  peer_host: string;
  peer_port: number;
  /** The broker's address and port the client reached. */
  host: string;
  port: number;
  /** Epoch milliseconds. */
  connected_at: number;
  frame_max: number;
  channel_max: number;
  /** The negotiated heartbeat, in seconds (0: none). */
  timeout: number;
  auth_mechanism: string;
  ssl: boolean;
  /** What the client said about itself (AMQP client properties). */
  client_properties: JsonObject;
  /** The client's `connection_name` property, when it sent one. */
  user_provided_name?: string;
}
