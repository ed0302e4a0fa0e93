import type { JsonObject } from './json-value';

/** An exchange, as RabbitMQ's /api/exchanges. */
export interface ExchangeDto {
  /** '' is the default exchange (its path name is `amq.default`). */
  name: string;
  vhost: string;
  /** direct, fanout, headers, topic or x-delayed-message. */
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: JsonObject;
  user_who_performed_action: string;
  /** Messages a delayed-message exchange holds until their time: only on such exchanges (the plugin's field). */
  messages_delayed?: number;
}

/** One of the exchange types the broker offers, as listed by /api/overview and /api/nodes. */
export interface ExchangeTypeDto {
  name: string;
  description: string;
  enabled: boolean;
}
