import type { CircuitPolicy } from './domain/circuit-breaker';
import type { RetryPolicy } from './domain/retry-schedule';
import type { DestinationRules } from './sender/destination-guard';

import type { HttpAuthOptions, HttpTimeouts, HttpTls } from '#http-kit';

export interface DeliveryOptions {
  port: number;
  host: string;
  timeouts: HttpTimeouts;
  /** HTTPS when set. */
  tls: HttpTls | null;
  /** Credentials asked of callers; off by default, as Dispatcher asks for none. */
  auth: HttpAuthOptions;
  /** Virtual host of the delivery queues and the AMQP exchange. */
  vhost: string;
  /** Queues `${prefix}pending` and `${prefix}dead`. */
  queuePrefix: string;
  /** Exchange whose messages become deliveries (declared at start, bound to the pending queue). */
  amqpExchange: string;
  maxBodyBytes: number;
  /** Intake (`POST /`) on the lean HTTP fast path (same answers); false: every request through Fastify. */
  fastPath: boolean;
  /** Concurrent outbound requests in all (Dispatcher's `worker`). */
  workers: number;
  /** Concurrent outbound requests to one host. */
  hostConcurrency: number;
  /** Per-request timeout when the request gives none (or 0). */
  defaultTimeoutMs: number;
  retry: RetryPolicy;
  /** Dispatcher's rule: any HTTP answer counts as delivered. */
  anyResponseDelivers: boolean;
  /** Follow up to 5 redirects (off: a 3xx is an answer, dead by the outcome policy). */
  followRedirects: boolean;
  circuit: CircuitPolicy;
  /** `whsec_…`: sign every attempt (Standard Webhooks); empty: no signature headers. */
  signingSecret: string;
  destinations: DestinationRules;
  /** Response bytes read at most (the rest is dropped, the connection closed). */
  maxResponseBytes: number;
  /** Open connections per destination origin, at most. */
  maxConnectionsPerOrigin: number;
  /** How long a finished delivery's UUID is remembered (idempotency, lookups). */
  idempotencyWindowMs: number;
  /** Finished deliveries kept in memory for listing. */
  recentFinished: number;
}

export const DELIVERY_OPTIONS = Symbol('DELIVERY_OPTIONS');
