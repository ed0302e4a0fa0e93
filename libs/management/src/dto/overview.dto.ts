import type { GlobalCounter } from '../rates/rate-sampler';
import type { ExchangeTypeDto } from './exchange.dto';
import type { MessageDepthDto, RateDetails } from './rates.dto';

/**
 * The broker's cumulative message counts (`publish`, `deliver_get`, `deliver`, `deliver_no_ack`,
 * `get`, `get_no_ack`, `get_empty`, `ack`, `redeliver`, `confirm`, `return_unroutable`,
 * `drop_unroutable`), each with its `{name}_details` rate.
 */
export type GlobalMessageStatsDto = { [K in GlobalCounter]: number } & { [K in GlobalCounter as `${K}_details`]: RateDetails };

/** Opened and closed objects since the start (RabbitMQ shows their rates; we show the counts). */
export interface ChurnRatesDto {
  connection_created: number;
  connection_closed: number;
  channel_created: number;
  channel_closed: number;
  queue_declared: number;
  queue_created: number;
  queue_deleted: number;
}

export interface ObjectTotalsDto {
  connections: number;
  channels: number;
  exchanges: number;
  queues: number;
  consumers: number;
}

/** GET /api/overview: totals over what the user may see. */
export interface OverviewDto {
  management_version: string;
  rates_mode: 'basic';
  exchange_types: ExchangeTypeDto[];
  product_version: string;
  product_name: string;
  /** The RabbitMQ version whose management API we follow. */
  rabbitmq_version: string;
  cluster_name: string;
  /** The Node.js version (RabbitMQ's Erlang/OTP version). */
  erlang_version: string;
  node: string;
  message_stats: GlobalMessageStatsDto;
  churn_rates: ChurnRatesDto;
  queue_totals: MessageDepthDto;
  object_totals: ObjectTotalsDto;
  statistics_db_event_queue: number;
  /** Always empty: listeners are not listed. */
  listeners: never[];
  /** Always empty: web contexts are not listed. */
  contexts: never[];
  /** Ours: the resource alarm in effect (`memory: …`, `disk: …`), or null. */
  alarm: string | null;
  /** Ours: messages recovered from the store at start. */
  recovered_messages: number;
}
