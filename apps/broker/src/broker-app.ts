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
import { BrokerConfig, nodeNameOf } from '#config';
import { createLogger, Logger, NestPinoLogger } from '#observability';
import { AppModule, compositionOf, CompositionOverrides, tlsOf } from './app.module';
import { hardenManagementServer } from './management-hardening';

export interface RunningBroker {
  readonly app: NestFastifyApplication;
  readonly logger: Logger;
  /** The ports actually bound (differs from the configuration when it asked for 0); 0 for a door that is off. */
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
  const composition = compositionOf(config, logger);
  const { cluster, doors } = composition;
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, logger, overrides, composition), adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  hardenManagementServer(app.getHttpAdapter().getInstance(), app.get(Broker).users);
  await app.listen(config.MANAGEMENT_PORT, config.BIND_HOST);
  const management = (app.getHttpServer().address() as AddressInfo).port;
  // a door that is off (STORE=postgres keeps the doors whose queues are not shared off) has no service
  const amqpServer = doors.amqp ? app.get(AmqpService).server : undefined;
  const amqp = amqpServer?.port ?? 0;
  const amqps = amqpServer?.tlsPort ?? 0;
  const jobs = doors.jobs ? app.get(JobsHttpService).server.port : 0;
  const dispatch = doors.delivery ? app.get(DeliveryHttpService).server.port : 0;
  // the delivery door must never call these: it waits for the list to be complete before its first call
  const listeners = app.get(Broker).listeners;
  listeners.add({ door: 'management', host: config.BIND_HOST, port: management });
  if (amqpServer !== undefined) listeners.add({ door: 'amqp', host: config.BIND_HOST, port: amqp });
  if (amqpServer !== undefined) listeners.add({ door: 'amqps', host: config.BIND_HOST, port: amqps });
  if (jobs !== 0) listeners.add({ door: 'jobs', host: config.JOBS_HOST || config.BIND_HOST, port: jobs });
  if (dispatch !== 0) listeners.add({ door: 'dispatch', host: config.DISPATCH_HOST || config.BIND_HOST, port: dispatch });
  listeners.complete();
  const bound = { management, amqp, ...(amqps !== 0 ? { amqps } : {}), jobs, dispatch };
  if (cluster !== null) await cluster.announce(bound);
  const where = cluster === null ? { dataDir: config.DATA_DIR } : { store: config.STORE, node: nodeNameOf(config) };
  logger.info({ ...where, ...bound }, 'broker started');
  let closing: Promise<void> | null = null;
  return {
    app,
    logger,
    ports: { management, amqp, amqps, jobs, dispatch },
    close: () => (closing ??= app.close()),
  };
}
