import { DynamicModule, Module } from '@nestjs/common';
import bcrypt from 'bcryptjs';
import { AmqpModule, Clock, systemClock, UserRecord, usersFromConfig } from '#amqp';
import { BrokerConfig, BrokerConfigModule } from '#config';
import { CoreModule, SqliteStore } from '#core';
import { JobsModule } from '#jobs';
import { Logger, ObservabilityModule } from '#observability';

/** AMQP users: the built-in default (RabbitMQ's guest/guest) plus those of the config file. */
function amqpUsers(config: BrokerConfig): UserRecord[] {
  const users = usersFromConfig(config.users);
  if (config.AMQP_DEFAULT_USER !== '' && !users.some((u) => u.name === config.AMQP_DEFAULT_USER)) {
    users.push({ name: config.AMQP_DEFAULT_USER, passwordHash: bcrypt.hashSync(config.AMQP_DEFAULT_PASS, 8) });
  }
  return users;
}

/** What an embedder (the tests) may replace in the composition. */
export interface CompositionOverrides {
  /** Timers of AMQP connections (heartbeats, handshake and close timeouts). */
  amqpClock?: Clock;
}

/** Composition only: configuration, the core, and the front doors. */
@Module({})
export class AppModule {
  static register(config: BrokerConfig, logger: Logger, overrides: CompositionOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        BrokerConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logger),
        CoreModule.forRoot({
          // the embedded store; another BrokerStore implementation would be composed in here
          openStore: () => SqliteStore.open({ dataDir: config.DATA_DIR, sync: config.STORE_SYNC }),
          broker: {
            dataDir: config.DATA_DIR,
            queueMemoryBudget: config.QUEUE_MEMORY_BUDGET_MB * 1024 * 1024,
            memoryHighWatermarkBytes: config.MEMORY_HIGH_WATERMARK_MB * 1024 * 1024,
            diskFreeLimitBytes: config.DISK_FREE_LIMIT_MB * 1024 * 1024,
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
          users: amqpUsers(config),
        }, overrides.amqpClock ?? systemClock),
        JobsModule.forRoot({
          port: config.JOBS_PORT,
          host: config.JOBS_HOST || config.BIND_HOST,
          vhost: config.JOBS_VHOST,
          queuePrefix: config.JOBS_QUEUE_PREFIX,
          maxBodyBytes: config.JOBS_MAX_BODY_MB * 1024 * 1024,
          throttleReceive: config.JOBS_THROTTLE_RECEIVE,
          throttleSchedule: config.JOBS_THROTTLE_SCHEDULE,
          defaultLeaseMs: config.JOBS_LEASE_TIMEOUT_MS,
        }),
      ],
    };
  }
}
