import type { JsonObject } from './json-value';

/** POST /api/exchanges/{vhost}/{name}/publish: whether a queue took the message (answered once it is durable). */
export interface PublishResultDto {
  routed: boolean;
}

/** AMQP basic properties in RabbitMQ's JSON; only those the message carries are present. */
export interface MessagePropertiesDto {
  content_type?: string;
  content_encoding?: string;
  /** 2: persistent. */
  delivery_mode?: number;
  priority?: number;
  correlation_id?: string;
  reply_to?: string;
  /** Per-message TTL in milliseconds, as text (AMQP's shortstr). */
  expiration?: string;
  message_id?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  type?: string;
  user_id?: string;
  app_id?: string;
  headers?: JsonObject;
}

/** One message taken by POST /api/queues/{vhost}/{name}/get. */
export interface GotMessageDto {
  /** The body's length in bytes (before any truncation). */
  payload_bytes: number;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  /** Messages left in the queue after this one was taken. */
  message_count: number;
  properties: MessagePropertiesDto;
  /** The body as text, or base64 when it is not UTF-8 (or base64 was asked for); cut at `truncate` characters. */
  payload: string;
  payload_encoding: 'string' | 'base64';
}
