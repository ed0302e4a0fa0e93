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

  /** Visibility timeout of an acknowledged receive that names none, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(43_200_000)
  JOBS_LEASE_TIMEOUT_MS = 30_000;

  /** Optional JSON file with the same keys; environment variables win over it. */
  @IsOptional()
  @IsString()
  CONFIG_FILE?: string;
}
