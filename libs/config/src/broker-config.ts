import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Max, Min } from 'class-validator';

/** Environment booleans: true/false, 1/0, yes/no (anything else fails validation). */
const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  return value;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Every setting of the broker. The property names are the environment variables (and the keys
 * of the optional JSON config file); each has a default, so no configuration is needed.
 */
export class BrokerConfig {
  /** Directory of the SQLite database (created if missing). */
  @IsString()
  @IsNotEmpty()
  DATA_DIR = './data';

  /** AMQP 0-9-1 listener; 0 picks a free port. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  AMQP_PORT = 5672;

  /** dispenserd-compatible job API. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  JOBS_PORT = 8282;

  /** Dispatcher-style outbound delivery intake. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  DISPATCH_PORT = 8080;

  /** /metrics, and the admin API/UI. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  MANAGEMENT_PORT = 15672;

  /** Address every listener binds to. */
  @IsString()
  @IsNotEmpty()
  BIND_HOST = '0.0.0.0';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /** SQLite synchronous mode: `full` fsyncs every commit, `normal` only at checkpoints. */
  @IsIn(['full', 'normal'])
  STORE_SYNC: 'full' | 'normal' = 'full';

  /**
   * Where durable state lives: `sqlite` (embedded, one node, DATA_DIR) or `postgres` (every node
   * of a cluster shares the database at DATABASE_URL).
   */
  @IsIn(['sqlite', 'postgres'])
  STORE: 'sqlite' | 'postgres' = 'sqlite';

  /** PostgreSQL connection URL (`postgres://user:password@host:5432/database`); needed with STORE=postgres. */
  @IsString()
  DATABASE_URL = '';

  /** PostgreSQL connections per node at most. */
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(1000)
  DATABASE_POOL_SIZE = 10;

  /**
   * LISTEN/NOTIFY wakes nodes when another one changed something; false: poll only, every
   * CLUSTER_POLL_INTERVAL_MS (behind PgBouncer's transaction pooling, where LISTEN does not work).
   */
  @Transform(toBoolean)
  @IsBoolean()
  DATABASE_NOTIFY = true;

  /** This node's name in the cluster (STORE=postgres); empty: `<host name>:<AMQP_PORT>`. */
  @IsString()
  NODE_NAME = '';

  /** A node whose heartbeat is older than this is dead: another node releases what it held (ms). It heartbeats every third of it. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  CLUSTER_NODE_TIMEOUT_MS = 10_000;

  /** How often a node looks for changes other nodes made, as a backstop to NOTIFY (the only way with DATABASE_NOTIFY=false), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(600_000)
  CLUSTER_POLL_INTERVAL_MS = 1000;

  /** Milliseconds a write of persistent messages that consumers already have waits for their acks, which spare it. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  STORE_ACK_WAIT_MS = 25;

  /**
   * Milliseconds the write of a persistent message of 64 KB or more waits while a consumer has it
   * or its queue has consumers: an ack in that time cancels the write (its confirm is sent at the ack).
   * Off by default: while a write waits, every durable answer accepted after it waits too (the hold
   * is per batch), which would put up to this much on the job and delivery doors' latency.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2000)
  STORE_DEFER_LARGE_MS = 0;

  /**
   * V8's concurrent heap marking on helper threads: `auto` turns it off on machines with two CPUs
   * or fewer, where those threads compete with the broker and its clients for the cores.
   */
  @IsIn(['auto', 'on', 'off'])
  GC_CONCURRENT_MARKING: 'auto' | 'on' | 'off' = 'auto';

  /** Ready-message bytes a queue keeps in memory before paging the rest to the store. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65536)
  QUEUE_MEMORY_BUDGET_MB = 64;

  /** Resident memory (MiB) above which publishers are blocked; 0 = 40% of the machine's memory. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MEMORY_HIGH_WATERMARK_MB = 0;

  /** Free disk space (MiB) under DATA_DIR below which publishers are blocked. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  DISK_FREE_LIMIT_MB = 50;

  /** Heartbeat interval (seconds) the AMQP server proposes; 0 disables heartbeats. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  AMQP_HEARTBEAT = 60;

  /** Largest AMQP frame the server accepts (frame_max in connection.tune). */
  @Type(() => Number)
  @IsInt()
  @Min(4096)
  @Max(1048576)
  AMQP_FRAME_MAX = 131072;

  /** Most channels per AMQP connection. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  AMQP_CHANNEL_MAX = 2047;

  /** Largest message body accepted over AMQP, in MiB (406 PRECONDITION_FAILED above). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(512)
  AMQP_MAX_MESSAGE_MB = 128;

  /**
   * Persistent publishes one AMQP connection may have waiting for the store's commit; over it the
   * connection is not read (state `flow`) until commits catch up; 0 = no limit.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  AMQP_FLOW_UNCOMMITTED_MESSAGES = 4096;

  /** The same in MiB of message bodies (large messages); 0 = no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65536)
  AMQP_FLOW_UNCOMMITTED_MB = 32;

  /** Seconds a client has to finish the AMQP handshake. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  AMQP_HANDSHAKE_TIMEOUT = 10;

  /** The built-in user (RabbitMQ's guest/guest); set AMQP_DEFAULT_USER empty in the file to have none. */
  @IsString()
  AMQP_DEFAULT_USER = 'guest';

  @IsString()
  AMQP_DEFAULT_PASS = 'guest';

  /**
   * More AMQP users, from the config file only, in dispatchd's form:
   * `{ "users": { "name": { "password_bcrypt_base64": "<base64 of a bcrypt hash>" } } }`.
   */
  @IsOptional()
  @IsObject()
  users?: Record<string, unknown>;

  /** Address of the job API listener; empty = BIND_HOST. */
  @IsString()
  JOBS_HOST = '';

  /** Virtual host whose queues are the job lanes. */
  @IsString()
  @IsNotEmpty()
  JOBS_VHOST = '/';

  /** Lane `x` is the queue `${JOBS_QUEUE_PREFIX}x`. */
  @IsString()
  JOBS_QUEUE_PREFIX = 'jobs.';

  /** Largest job API request body, in MiB (413 above). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1024)
  JOBS_MAX_BODY_MB = 64;

  /** dispenserd's throttle_receive: 25 ms between receives. */
  @Transform(toBoolean)
  @IsBoolean()
  JOBS_THROTTLE_RECEIVE = false;

  /** dispenserd's throttle_schedule: 25 ms between schedules. */
  @Transform(toBoolean)
  @IsBoolean()
  JOBS_THROTTLE_SCHEDULE = false;

  /** /schedule, /receive_noblock, /receive_block and /ack on the lean HTTP fast path; false = every request through Fastify. */
  @Transform(toBoolean)
  @IsBoolean()
  JOBS_FAST_PATH = true;

  /** Visibility timeout of an acknowledged receive that names none, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(43_200_000)
  JOBS_LEASE_TIMEOUT_MS = 30_000;

  /** Address of the delivery API listener; empty = BIND_HOST. */
  @IsString()
  DISPATCH_HOST = '';

  /** Virtual host of the delivery queues and of DISPATCH_AMQP_EXCHANGE. */
  @IsString()
  @IsNotEmpty()
  DISPATCH_VHOST = '/';

  /** Deliveries live in the queues `${DISPATCH_QUEUE_PREFIX}pending` and `…dead`. */
  @IsString()
  @IsNotEmpty()
  DISPATCH_QUEUE_PREFIX = 'dispatch.';

  /** Messages published over AMQP to this exchange become deliveries (x-dispatch-* headers). */
  @IsString()
  @IsNotEmpty()
  DISPATCH_AMQP_EXCHANGE = 'amq.dispatch';

  /** Largest delivery request body, in MiB (413 above). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1024)
  DISPATCH_MAX_BODY_MB = 16;

  /** Intake (`POST /`) on the lean HTTP fast path; false = every request through Fastify. */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_FAST_PATH = true;

  /** Outbound requests in flight at most, in all (Dispatcher's `worker`). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  DISPATCH_WORKERS = 256;

  /** Outbound requests in flight at most to one destination host. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  DISPATCH_HOST_CONCURRENCY = 64;

  /** Timeout of an attempt whose request gives none (or 0), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  DISPATCH_DEFAULT_TIMEOUT_MS = 30_000;

  /** Delay after the first failed attempt; it doubles after each further failure (2 s, 4 s, 8 s …). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  DISPATCH_RETRY_BASE_MS = 2000;

  /** Longest delay between attempts (also caps Retry-After), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(604_800_000)
  DISPATCH_RETRY_MAX_DELAY_MS = 3_600_000;

  /** Attempts in all before a delivery becomes a dead letter (a request's MaxAttempts wins). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  DISPATCH_MAX_ATTEMPTS = 10;

  /** Spread each retry delay over [delay/2, delay]; off keeps Dispatcher's exact timing. */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_RETRY_JITTER = false;

  /** Dispatcher's rule: any HTTP answer (even a 500) counts as delivered. */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_ANY_RESPONSE_DELIVERS = false;

  /** Follow up to 5 redirects; off, a 3xx is the answer (dead under the outcome policy). */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_FOLLOW_REDIRECTS = false;

  /** Consecutive failures to one host that open its circuit; 0 disables circuit breaking. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  DISPATCH_CIRCUIT_THRESHOLD = 10;

  /** While a host's circuit is open, one probe delivery goes per this interval, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  DISPATCH_CIRCUIT_PROBE_MS = 30_000;

  /** `whsec_<base64>`: sign every attempt with Standard Webhooks headers; empty: unsigned. */
  @IsString()
  DISPATCH_SIGNING_SECRET = '';

  /** Also refuse private ranges, and loopback even with DISPATCH_ALLOW_LOOPBACK (link-local, metadata, multicast are always refused). */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_REFUSE_PRIVATE = false;

  /** Deliveries may call loopback addresses (development, tests); the broker's own ports stay refused. */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_ALLOW_LOOPBACK = false;

  /** Comma-separated hosts, addresses or CIDRs that alone may be called; empty: any. */
  @IsString()
  DISPATCH_ALLOW = '';

  /** Comma-separated hosts, addresses or CIDRs that are never called. */
  @IsString()
  DISPATCH_DENY = '';

  /** Response bytes read at most per attempt. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(1_073_741_824)
  DISPATCH_MAX_RESPONSE_BYTES = 1_048_576;

  /** Open connections per destination origin, at most. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  DISPATCH_MAX_CONNECTIONS = 256;

  /** How long a finished delivery's UUID is remembered (not delivered again), in hours. */
  @Type(() => Number)
  @IsInt()
  @Min(24)
  @Max(8760)
  DISPATCH_IDEMPOTENCY_HOURS = 24;

  /** The HTTP doors (job API, delivery API): a whole request must arrive within this, in ms; 0 = no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  /** The HTTP doors: request headers must arrive within this, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  /** Comma-separated users that may log in only from a loopback address (RabbitMQ's loopback_users); empty: none. */
  @IsString()
  LOOPBACK_USERS = 'guest';

  /** How long a successful password check is remembered (RabbitMQ's auth cache), in ms; 0 = never. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  AUTH_CACHE_TTL_MS = 60_000;

  /** Worker threads for bcrypt password checks; 0 = half the CPUs (1 to 4). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(64)
  AUTH_WORKERS = 0;

  /** Failed logins from one source address (IPv6: /64) within AUTH_FAILURE_WINDOW_MS that start its back-off; 0 = no back-off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  AUTH_FAILURE_LIMIT = 10;

  /** The window AUTH_FAILURE_LIMIT counts in, and how long a source must stay quiet to start afresh, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  AUTH_FAILURE_WINDOW_MS = 60_000;

  /** First back-off of a failing source, in ms: its logins are refused unchecked meanwhile; each further failure doubles it. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  AUTH_BACKOFF_MS = 1000;

  /** Longest back-off, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86_400_000)
  AUTH_BACKOFF_MAX_MS = 60_000;

  /** AMQP connections at most, in all; 0 = no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  AMQP_MAX_CONNECTIONS = 0;

  /** AMQP connections at most per user; 0 = no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  AMQP_MAX_CONNECTIONS_PER_USER = 0;

  /** Consumers at most per AMQP channel; 0 = no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  AMQP_MAX_CONSUMERS_PER_CHANNEL = 0;

  /** RabbitMQ's consumer_timeout: an unacknowledged delivery held longer closes its channel (406); 0 = off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  CONSUMER_TIMEOUT_MS = 1_800_000;

  /** Queues at most per vhost; 0 = no limit. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  MAX_QUEUES_PER_VHOST = 0;

  /** PEM certificate (chain) for TLS: enables AMQPS on AMQPS_PORT (and HTTPS with HTTP_TLS). */
  @IsString()
  TLS_CERT_FILE = '';

  /** PEM private key of TLS_CERT_FILE. */
  @IsString()
  TLS_KEY_FILE = '';

  /** PEM CA certificates that client certificates are verified against. */
  @IsString()
  TLS_CA_FILE = '';

  /** Ask clients for a certificate and verify it against TLS_CA_FILE. */
  @Transform(toBoolean)
  @IsBoolean()
  TLS_VERIFY_PEER = false;

  /** With TLS_VERIFY_PEER: refuse clients that present no certificate. */
  @Transform(toBoolean)
  @IsBoolean()
  TLS_FAIL_IF_NO_PEER_CERT = false;

  /** AMQP over TLS (when TLS_CERT_FILE is set); 0 picks a free port. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  AMQPS_PORT = 5671;

  /** Serve the job API, the delivery API and the management port over HTTPS (needs TLS_CERT_FILE). */
  @Transform(toBoolean)
  @IsBoolean()
  HTTP_TLS = false;

  /** The job API asks for credentials (basic auth with broker users, or a bearer token from `tokens`). */
  @Transform(toBoolean)
  @IsBoolean()
  JOBS_AUTH = false;

  /** The delivery API asks for credentials (as JOBS_AUTH). */
  @Transform(toBoolean)
  @IsBoolean()
  DISPATCH_AUTH = false;

  /** Bearer tokens for the HTTP doors, config file only: `{ "tokens": { "<token>": "<user>" } }`. */
  @IsOptional()
  @IsObject()
  tokens?: Record<string, string>;

  /** Optional JSON file with the same keys; environment variables win over it. */
  @IsOptional()
  @IsString()
  CONFIG_FILE?: string;
}
