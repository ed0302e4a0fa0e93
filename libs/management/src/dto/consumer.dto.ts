import type { JsonObject } from './json-value';
import type { ConnectionDetailsDto } from './connection.dto';

/** The channel a consumer is on, as RabbitMQ's consumer `channel_details`. */
export interface ConsumerChannelDetailsDto extends ConnectionDetailsDto {
  /** The channel's name, `{connection name} ({number})` (it replaces the connection's name here). */
  name: string;
  connection_name: string;
  number: number;
  user: string;
  node: string;
}

/**
 * A consumer whose holder no door lists as a session (RabbitMQ has none such): the holder's id,
 * if the door gave one, and channel 0.
 */
export interface OwnerOnlyChannelDetailsDto {
  name: string;
  number: 0;
}

/** A consumer, as RabbitMQ's /api/consumers and a queue's `consumer_details`. */
export interface ConsumerDto {
  consumer_tag: string;
  queue: { name: string; vhost: string };
  ack_required: boolean;
  exclusive: boolean;
  prefetch_count: number;
  arguments: JsonObject;
  /** Gets messages now (false: waiting behind a single active consumer). */
  active: boolean;
  activity_status: 'up' | 'single_active' | 'waiting';
  channel_details: ConsumerChannelDetailsDto | OwnerOnlyChannelDetailsDto;
}
