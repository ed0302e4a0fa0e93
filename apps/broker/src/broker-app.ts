import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';
import type { AddressInfo } from 'node:net';
import { AmqpService } from '#amqp';
import { Broker } from '#core';
import { DeliveryHttpService } from '#delivery';
import { httpServerOptions } from '#http-kit';
import { JobsHttpService } from '#jobs';
import type { BrokerConfig } from '#config';
import { createLogger, Logger, NestPinoLogger } from '#observability';
import { AppModule, CompositionOverrides, tlsOf } from './app.module';
import { hardenManagementServer } from './management-hardening';

export interface RunningBroker {
  readonly app: NestFastifyApplication;
  readonly logger: Logger;
  /** The ports actually bound (differs from the configuration when it asked for 0). */
  readonly ports: { management: number; amqp: number; amqps: number; jobs: number; dispatch: number };
  /** Stops the listeners, then commits and closes the store. */
  close(): Promise<void>;
}

/** Builds the Nest application on Fastify and starts every listener. */
export async function startBroker(config: BrokerConfig, overrides: CompositionOverrides = {}): Promise<RunningBroker> {
  const logger = createLogger(config.LOG_LEVEL);
  const tls = config.HTTP_TLS ? tlsOf(config) : null;
  const adapter = new FastifyAdapter({
    // the management port honours the HTTP doors' time limits: a trickled request is dropped (408)
    ...httpServerOptions({ requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS, headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS }, tls),
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, logger, overrides), adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  hardenManagementServer(app.getHttpAdapter().getInstance(), app.get(Broker).users);
  await app.listen(config.MANAGEMENT_PORT, config.BIND_HOST);
  const management = (app.getHttpServer().address() as AddressInfo).port;
  const amqp = app.get(AmqpService).server.port;
  const amqps = app.get(AmqpService).server.tlsPort;
  const jobs = app.get(JobsHttpService).server.port;
  const dispatch = app.get(DeliveryHttpService).server.port;
  // the delivery door must never call these: it waits for the list to be complete before its first call
  const listeners = app.get(Broker).listeners;
  listeners.add({ door: 'management', host: config.BIND_HOST, port: management });
  listeners.add({ door: 'amqp', host: config.BIND_HOST, port: amqp });
  listeners.add({ door: 'amqps', host: config.BIND_HOST, port: amqps });
  listeners.add({ door: 'jobs', host: config.JOBS_HOST || config.BIND_HOST, port: jobs });
  listeners.add({ door: 'dispatch', host: config.DISPATCH_HOST || config.BIND_HOST, port: dispatch });
  listeners.complete();
  logger.info({ dataDir: config.DATA_DIR, management, amqp, ...(amqps !== 0 ? { amqps } : {}), jobs, dispatch }, 'broker started');
  let closing: Promise<void> | null = null;
  return {
    app,
    logger,
    ports: { management, amqp, amqps, jobs, dispatch },
    close: () => (closing ??= app.close()),
  };
}
