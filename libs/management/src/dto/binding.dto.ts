import type { JsonObject } from './json-value';

/** A binding, as RabbitMQ's /api/bindings. */
export interface BindingDto {
  /** The source exchange ('' for the default exchange's implicit bindings). */
  source: string;
  vhost: string;
  destination: string;
  destination_type: 'queue' | 'exchange';
  routing_key: string;
  arguments: JsonObject;
  /**
   * Names the binding among those with the same source and destination, in its URL
   * (`/api/bindings/{vhost}/e/{source}/q/{destination}/{properties_key}`): the URL-encoded routing
   * key (`~` when empty), and with arguments `~` and a short hash of them.
   */
  properties_key: string;
}
