import { DynamicModule, Module } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { AmqpModule, Clock, systemClock } from '#amqp';
import { Cluster, ClusterModule } from '#cluster';
import { BrokerConfig, BrokerConfigModule, ConfigurationError, nodeNameOf, usersFromConfig } from '#config';
import { AuthenticationOptions, BrokerStore, CoreModule, DefaultUser, SqliteStore } from '#core';
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

/** Which doors the process runs. */
export interface Doors {
  amqp: boolean;
  jobs: boolean;
  delivery: boolean;
}

/** How the process is composed: the cluster it joins (STORE=postgres; null: the embedded SQLite store) and its doors. */
export interface Composition {
  cluster: Cluster | null;
  doors: Doors;
}

/** Decides the composition (the doors that stay off say so in the log). */
export function compositionOf(config: BrokerConfig, logger: Logger): Composition {
  const cluster = clusterOf(config, logger);
  return { cluster, doors: doorsOf(config, cluster, logger) };
}

/** The cluster this node joins (STORE=postgres), or null for the embedded SQLite store. */
function clusterOf(config: BrokerConfig, logger: Logger): Cluster | null {
  if (config.STORE !== 'postgres') return null;
  return new Cluster(
    {
      databaseUrl: config.DATABASE_URL,
      poolSize: config.DATABASE_POOL_SIZE,
      nodeName: nodeNameOf(config),
      nodeTimeoutMs: config.CLUSTER_NODE_TIMEOUT_MS,
      pollIntervalMs: config.CLUSTER_POLL_INTERVAL_MS,
      notify: config.DATABASE_NOTIFY,
    },
    logger.child({ component: 'cluster' }),
  );
}

/**
 * Which doors run. On SQLite, all. With STORE=postgres, the job and delivery doors run on queues
 * of the database-backed type every node shares (libs/cluster/src/queue); the AMQP door stays off
 * until AMQP is shared too (its basic.get needs a claim, as the job door's receive has, and its
 * semantics across nodes need their own tests). Each door that stays off says so in the log.
 */
function doorsOf(config: BrokerConfig, cluster: Cluster | null, logger: Logger): Doors {
  if (cluster === null) return { amqp: true, jobs: true, delivery: true };
  const off = (door: string, why: string): false => {
    logger.warn({ door, store: config.STORE }, `the ${door} door is off: ${why}`);
    return false;
  };
  const noSharedQueues = 'with STORE=postgres its queues must be shared by every node, and no queue type shared through the database exists yet';
  return {
    amqp: off('AMQP', 'with STORE=postgres AMQP queues are not shared across nodes yet (every node would hold its own messages)'),
    jobs: cluster.sharesQueues || off('job API', noSharedQueues),
    delivery: cluster.sharesQueues || off('delivery', noSharedQueues),
  };
}

/** The embedded store: SQLite under DATA_DIR. */
async function openSqlite(config: BrokerConfig, logger: Logger): Promise<BrokerStore> {
  const store = await SqliteStore.open({ dataDir: config.DATA_DIR, sync: config.STORE_SYNC, ackWaitMs: config.STORE_ACK_WAIT_MS, deferLargeMs: config.STORE_DEFER_LARGE_MS });
  for (const { path, from, to } of store.tightenedModes) logger.warn({ path, from, to }, 'narrowed the mode of a data file others could read');
  return store;
}

/** What an embedder (the tests) may replace in the composition. */
export interface CompositionOverrides {
  /** Timers of AMQP connections (heartbeats, handshake and close timeouts). */
  amqpClock?: Clock;
}

/** Composition only: configuration, the core, and the front doors. */
@Module({})
export class AppModule {
  static register(config: BrokerConfig, logger: Logger, overrides: CompositionOverrides = {}, composition: Composition = compositionOf(config, logger)): DynamicModule {
    const httpTimeouts = { requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS, headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS };
    const tls = tlsOf(config);
    const httpTls = config.HTTP_TLS ? tls : null;
    const httpAuth = (door: 'jobs' | 'delivery', enabled: boolean): HttpAuthOptions => ({ door, enabled, tokens: config.tokens ?? {} });
    const { cluster, doors } = composition;
    return {
      module: AppModule,
      imports: [
        BrokerConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logger),
        ManagementModule,
        CoreModule.forRoot({
          // the embedded SQLite store, or the PostgreSQL every node of a cluster shares
          openStore: cluster !== null ? () => cluster.openStore() : () => openSqlite(config, logger),
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
            ...(cluster !== null ? { queueTypes: cluster.queueTypes() } : {}),
          },
        }),
        ...(cluster !== null ? [ClusterModule.forRoot(cluster)] : []),
        ...(doors.amqp ? [amqpModule(config, tls, overrides)] : []),
        ...(doors.jobs ? [jobsModule(config, httpTimeouts, httpTls, httpAuth('jobs', config.JOBS_AUTH))] : []),
        ...(doors.delivery ? [deliveryModule(config, httpTimeouts, httpTls, httpAuth('delivery', config.DISPATCH_AUTH))] : []),
      ],
    };
  }
}

type HttpTimeouts = { requestTimeoutMs: number; headersTimeoutMs: number };
type Tls = ReturnType<typeof tlsOf>;

function amqpModule(config: BrokerConfig, tls: Tls, overrides: CompositionOverrides): DynamicModule {
  return AmqpModule.forRoot({
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
    flowUncommitted: { messages: config.AMQP_FLOW_UNCOMMITTED_MESSAGES, bytes: config.AMQP_FLOW_UNCOMMITTED_MB * 1024 * 1024 },
    tls: tls === null ? null : { ...tls, port: config.AMQPS_PORT },
  }, overrides.amqpClock ?? systemClock);
}

function jobsModule(config: BrokerConfig, httpTimeouts: HttpTimeouts, httpTls: Tls, auth: HttpAuthOptions): DynamicModule {
  return JobsModule.forRoot({
    port: config.JOBS_PORT,
    host: config.JOBS_HOST || config.BIND_HOST,
    timeouts: httpTimeouts,
    tls: httpTls,
    auth,
    vhost: config.JOBS_VHOST,
    queuePrefix: config.JOBS_QUEUE_PREFIX,
    maxBodyBytes: config.JOBS_MAX_BODY_MB * 1024 * 1024,
    throttleReceive: config.JOBS_THROTTLE_RECEIVE,
    throttleSchedule: config.JOBS_THROTTLE_SCHEDULE,
    defaultLeaseMs: config.JOBS_LEASE_TIMEOUT_MS,
    fastPath: config.JOBS_FAST_PATH,
  });
}

function deliveryModule(config: BrokerConfig, httpTimeouts: HttpTimeouts, httpTls: Tls, auth: HttpAuthOptions): DynamicModule {
  return DeliveryModule.forRoot({
    port: config.DISPATCH_PORT,
    host: config.DISPATCH_HOST || config.BIND_HOST,
    timeouts: httpTimeouts,
    tls: httpTls,
    auth,
    vhost: config.DISPATCH_VHOST,
    queuePrefix: config.DISPATCH_QUEUE_PREFIX,
    amqpExchange: config.DISPATCH_AMQP_EXCHANGE,
    maxBodyBytes: config.DISPATCH_MAX_BODY_MB * 1024 * 1024,
    fastPath: config.DISPATCH_FAST_PATH,
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
  });
}
