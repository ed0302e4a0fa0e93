import { DynamicModule, Module } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { AmqpModule, Clock, systemClock } from '#amqp';
import { BrokerConfig, BrokerConfigModule, ConfigurationError, usersFromConfig } from '#config';
import { AuthenticationOptions, CoreModule, DefaultUser, SqliteStore } from '#core';
import { DeliveryModule } from '#delivery';
import type { HttpAuthOptions } from '#http-kit';
import { JobsModule } from '#jobs';
import { ManagementModule } from '#management';
import { Logger, ObservabilityModule } from '#observability';

/** The user a new database starts with (RabbitMQ's guest/guest, an administrator); none when AMQP_DEFAULT_USER is empty. */
function defaultUser(config: BrokerConfig): DefaultUser | undefined {
  if (config.AMQP_DEFAULT_USER === '') return undefined;
  return { name: config.AMQP_DEFAULT_USER, password: config.AMQP_DEFAULT_PASS, tags: ['administrator'] };
}

/** Password checks: cache, workers, back-off. */
function authenticationOf(config: BrokerConfig): AuthenticationOptions {
  return {
    cacheTtlMs: config.AUTH_CACHE_TTL_MS,
    workers: config.AUTH_WORKERS,
    throttle: {
      failureLimit: config.AUTH_FAILURE_LIMIT,
      windowMs: config.AUTH_FAILURE_WINDOW_MS,
      backoffMs: config.AUTH_BACKOFF_MS,
      maxBackoffMs: Math.max(config.AUTH_BACKOFF_MS, config.AUTH_BACKOFF_MAX_MS),
    },
  };
}

/** The TLS key, certificate and CA of the configuration, read once; null when TLS is off. */
export function tlsOf(config: BrokerConfig): { key: Buffer; cert: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } | null {
  if (config.TLS_CERT_FILE === '') return null;
  const read = (key: 'TLS_KEY_FILE' | 'TLS_CERT_FILE' | 'TLS_CA_FILE'): Buffer => {
    try {
      return readFileSync(config[key]);
    } catch (error) {
      throw new ConfigurationError(`${key}: cannot read '${config[key]}': ${(error as Error).message}`);
    }
  };
  return {
    key: read('TLS_KEY_FILE'),
    cert: read('TLS_CERT_FILE'),
    ...(config.TLS_CA_FILE !== '' ? { ca: read('TLS_CA_FILE') } : {}),
    requestCert: config.TLS_VERIFY_PEER,
    rejectUnauthorized: config.TLS_VERIFY_PEER && config.TLS_FAIL_IF_NO_PEER_CERT,
  };
}

/** A comma-separated setting as a list. */
const listOf = (value: string): string[] => value.split(',').map((item) => item.trim()).filter((item) => item !== '');

/** What an embedder (the tests) may replace in the composition. */
export interface CompositionOverrides {
  /** Timers of AMQP connections (heartbeats, handshake and close timeouts). */
  amqpClock?: Clock;
}

/** Composition only: configuration, the core, and the front doors. */
@Module({})
export class AppModule {
  static register(config: BrokerConfig, logger: Logger, overrides: CompositionOverrides = {}): DynamicModule {
    const httpTimeouts = { requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS, headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS };
    const tls = tlsOf(config);
    const httpTls = config.HTTP_TLS ? tls : null;
    const httpAuth = (door: 'jobs' | 'delivery', enabled: boolean): HttpAuthOptions => ({ door, enabled, tokens: config.tokens ?? {} });
    return {
      module: AppModule,
      imports: [
        BrokerConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logger),
        ManagementModule,
        CoreModule.forRoot({
          // the embedded store; another BrokerStore implementation would be composed in here
          openStore: async () => {
            const store = await SqliteStore.open({ dataDir: config.DATA_DIR, sync: config.STORE_SYNC, ackWaitMs: config.STORE_ACK_WAIT_MS });
            for (const { path, from, to } of store.tightenedModes) logger.warn({ path, from, to }, 'narrowed the mode of a data file others could read');
            return store;
          },
          broker: {
            dataDir: config.DATA_DIR,
            queueMemoryBudget: config.QUEUE_MEMORY_BUDGET_MB * 1024 * 1024,
            memoryHighWatermarkBytes: config.MEMORY_HIGH_WATERMARK_MB * 1024 * 1024,
            diskFreeLimitBytes: config.DISK_FREE_LIMIT_MB * 1024 * 1024,
            users: usersFromConfig(config.users),
            defaultUser: defaultUser(config),
            authentication: authenticationOf(config),
            maxQueuesPerVhost: config.MAX_QUEUES_PER_VHOST,
            loopbackUsers: listOf(config.LOOPBACK_USERS),
          },
        }),
        AmqpModule.forRoot({
          port: config.AMQP_PORT,
          host: config.BIND_HOST,
          heartbeat: config.AMQP_HEARTBEAT,
          frameMax: config.AMQP_FRAME_MAX,
          channelMax: config.AMQP_CHANNEL_MAX,
          maxMessageBytes: config.AMQP_MAX_MESSAGE_MB * 1024 * 1024,
          handshakeTimeout: config.AMQP_HANDSHAKE_TIMEOUT,
          maxConnections: config.AMQP_MAX_CONNECTIONS,
          maxConnectionsPerUser: config.AMQP_MAX_CONNECTIONS_PER_USER,
          maxConsumersPerChannel: config.AMQP_MAX_CONSUMERS_PER_CHANNEL,
          consumerTimeoutMs: config.CONSUMER_TIMEOUT_MS,
          tls: tls === null ? null : { ...tls, port: config.AMQPS_PORT },
        }, overrides.amqpClock ?? systemClock),
        JobsModule.forRoot({
          port: config.JOBS_PORT,
          host: config.JOBS_HOST || config.BIND_HOST,
          timeouts: httpTimeouts,
          tls: httpTls,
          auth: httpAuth('jobs', config.JOBS_AUTH),
          vhost: config.JOBS_VHOST,
          queuePrefix: config.JOBS_QUEUE_PREFIX,
          maxBodyBytes: config.JOBS_MAX_BODY_MB * 1024 * 1024,
          throttleReceive: config.JOBS_THROTTLE_RECEIVE,
          throttleSchedule: config.JOBS_THROTTLE_SCHEDULE,
          defaultLeaseMs: config.JOBS_LEASE_TIMEOUT_MS,
          fastPath: config.JOBS_FAST_PATH,
        }),
        DeliveryModule.forRoot({
          port: config.DISPATCH_PORT,
          host: config.DISPATCH_HOST || config.BIND_HOST,
          timeouts: httpTimeouts,
          tls: httpTls,
          auth: httpAuth('delivery', config.DISPATCH_AUTH),
          vhost: config.DISPATCH_VHOST,
          queuePrefix: config.DISPATCH_QUEUE_PREFIX,
          amqpExchange: config.DISPATCH_AMQP_EXCHANGE,
          maxBodyBytes: config.DISPATCH_MAX_BODY_MB * 1024 * 1024,
          workers: config.DISPATCH_WORKERS,
          hostConcurrency: config.DISPATCH_HOST_CONCURRENCY,
          defaultTimeoutMs: config.DISPATCH_DEFAULT_TIMEOUT_MS,
          retry: {
            baseDelayMs: config.DISPATCH_RETRY_BASE_MS,
            maxDelayMs: config.DISPATCH_RETRY_MAX_DELAY_MS,
            maxAttempts: config.DISPATCH_MAX_ATTEMPTS,
            jitter: config.DISPATCH_RETRY_JITTER,
          },
          anyResponseDelivers: config.DISPATCH_ANY_RESPONSE_DELIVERS,
          followRedirects: config.DISPATCH_FOLLOW_REDIRECTS,
          circuit: { failureThreshold: config.DISPATCH_CIRCUIT_THRESHOLD, probeIntervalMs: config.DISPATCH_CIRCUIT_PROBE_MS },
          signingSecret: config.DISPATCH_SIGNING_SECRET,
          destinations: {
            allowLoopback: config.DISPATCH_ALLOW_LOOPBACK,
            refusePrivate: config.DISPATCH_REFUSE_PRIVATE,
            allow: listOf(config.DISPATCH_ALLOW),
            deny: listOf(config.DISPATCH_DENY),
          },
          maxResponseBytes: config.DISPATCH_MAX_RESPONSE_BYTES,
          maxConnectionsPerOrigin: config.DISPATCH_MAX_CONNECTIONS,
          idempotencyWindowMs: config.DISPATCH_IDEMPOTENCY_HOURS * 3_600_000,
          recentFinished: 10_000,
        }),
      ],
    };
  }
}
