import type { ConnectionDetailsDto } from './connection.dto';

/** An AMQP channel, as RabbitMQ's /api/channels. */
export interface ChannelDto {
  /** `{connection name} ({number})`. */
  name: string;
  node: string;
  number: number;
  user: string;
  vhost: string | null;
  /** Always running. */
  state: string;
  connection_details: ConnectionDetailsDto;
  consumer_count: number;
  messages_unacknowledged: number;
  prefetch_count: number;
  /** Always 0: basic.qos with global=true is not kept apart. */
  global_prefetch_count: number;
  /** In publisher-confirm mode. */
  confirm: boolean;
  transactional: boolean;
}
