/**
 * A counter's or depth's per-second rate over the last sampling interval (5 s), as RabbitMQ's
 * `*_details` objects. RabbitMQ adds `samples` and averages when asked for them; we never send them.
 */
export interface RateDetails {
  /** Per second, to one decimal. */
  rate: number;
}

/** Message depths and their rates: a queue's, a vhost's, or the overview's `queue_totals`. */
export interface MessageDepthDto {
  /** Ready plus unacknowledged. */
  messages: number;
  messages_details: RateDetails;
  messages_ready: number;
  messages_ready_details: RateDetails;
  /** Delivered to a consumer (or fetched) and not yet acknowledged. */
  messages_unacknowledged: number;
  messages_unacknowledged_details: RateDetails;
}
