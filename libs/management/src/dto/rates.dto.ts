/**
 * A counter's or depth's per-second rate over the last sampling interval (5 s), as RabbitMQ's
 * `*_details` objects; with the history parameters (`lengths_age`, `msg_rates_age`, …) also its
 * samples, as RabbitMQ adds them.
 */
export interface RateDetails {
  /** Per second, to one decimal. */
  rate: number;
  /** Asked for with the history parameters: the values, newest first. */
  samples?: SampleDto[];
  /** The mean of `samples`. */
  avg?: number;
  /** The change per second from the oldest sample to the newest. */
  avg_rate?: number;
}

/** One sample: a counter's cumulative count or a depth, and when it was taken (ms since the epoch). */
export interface SampleDto {
  sample: number;
  timestamp: number;
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
