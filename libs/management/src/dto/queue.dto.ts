import type { QueueSnapshot } from '#core';
import type { ConsumerDto } from './consumer.dto';
import type { JsonObject } from './json-value';
import type { MessageDepthDto, RateDetails } from './rates.dto';

/** A queue's cumulative message counts and their rates. */
export interface QueueMessageStatsDto {
  publish: number;
  publish_details: RateDetails;
  /** Delivered to consumers and fetched with basic.get. */
  deliver_get: number;
  deliver_get_details: RateDetails;
  ack: number;
  ack_details: RateDetails;
  redeliver: number;
  /** Always 0: redeliveries are counted, not sampled. */
  redeliver_details: RateDetails;
}

/** A queue, as RabbitMQ's /api/queues. */
export interface QueueDto extends MessageDepthDto {
  name: string;
  vhost: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: JsonObject;
  node: string;
  /** classic or quorum (x-queue-type). */
  type: QueueSnapshot['type'];
  /** Always running. */
  state: string;
  /** The policy that applies to it, or null. */
  policy: string | null;
  /** The applying policy's definition ({} without one). */
  effective_policy_definition: JsonObject;
  consumers: number;
  /** Always null: exclusive consumers are not singled out. */
  exclusive_consumer_tag: null;
  /** Estimated bytes of the ready messages held in memory. */
  memory: number;
  /** Ready messages kept only in the store (beyond the memory budget). */
  messages_paged_out: number;
  /** Messages waiting for their not-before time (a job's delay), not counted as ready. */
  messages_delayed: number;
  message_bytes: number;
  message_bytes_ready: number;
  message_bytes_unacknowledged: number;
  message_stats: QueueMessageStatsDto;
  /**
   * Ours: how it orders ready messages: `fifo`, `priority` (x-max-priority) or `rank` (an explicit
   * rank per message: a job lane's priorities).
   */
  x_queue_order: QueueSnapshot['order'];
}

/** One queue (GET /api/queues/{vhost}/{name}): with its consumers. */
export interface QueueDetailDto extends QueueDto {
  consumer_details: ConsumerDto[];
}
