import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { Broker } from '#core';
import { APP_LOGGER, Logger } from '#observability';
import { AMQP_OPTIONS, AmqpServerOptions } from './amqp-options';
import { AMQP_CLOCK, Clock, systemClock } from './connection/clock';
import { AmqpServer } from './server/amqp-server';

/** Owns the AMQP listener: started with the application, closed before the store shuts down. */
@Injectable()
export class AmqpService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly server: AmqpServer;

  constructor(
    @Inject(Broker) broker: Broker,
    @Inject(AMQP_OPTIONS) options: AmqpServerOptions,
    @Inject(APP_LOGGER) logger: Logger,
    @Inject(AMQP_CLOCK) clock: Clock,
  ) {
    this.server = new AmqpServer(broker, options, logger.child({ component: 'amqp' }), clock);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.server.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server.stop();
  }
}

@Module({})
export class AmqpModule {
  /** `clock` replaces the system timers of connections (tests drive heartbeats with it). */
  static forRoot(options: AmqpServerOptions, clock: Clock = systemClock): DynamicModule {
    return {
      module: AmqpModule,
      providers: [{ provide: AMQP_OPTIONS, useValue: options }, { provide: AMQP_CLOCK, useValue: clock }, AmqpService],
      exports: [AmqpService],
    };
  }
}
