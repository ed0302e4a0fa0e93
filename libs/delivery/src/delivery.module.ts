import { BeforeApplicationShutdown, DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { Broker } from '#core';
import { APP_LOGGER, Logger, MetricsService } from '#observability';
import { DELIVERY_OPTIONS, DeliveryOptions } from './delivery-options';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliveryService } from './domain/delivery-service';
import { DestinationPermission } from './domain/destination-permission';
import { DeliveryHttpServer } from './http/delivery-http-server';
import { DestinationGuard } from './sender/destination-guard';
import { HttpSender } from './sender/http-sender';
import { WebhookSigner } from './sender/signature';

/**
 * The delivery door: the service over the core queues, its sender, and the HTTP API on
 * DISPATCH_PORT. Started with the application (after the store recovered), stopped before it.
 */
@Injectable()
export class DeliveryHttpService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly service: DeliveryService;
  readonly server: DeliveryHttpServer;
  private readonly sender: HttpSender;

  constructor(
    @Inject(Broker) broker: Broker,
    @Inject(DELIVERY_OPTIONS) readonly options: DeliveryOptions,
    @Inject(MetricsService) metrics: MetricsService,
    @Inject(APP_LOGGER) logger: Logger,
  ) {
    const signer = options.signingSecret === '' ? null : new WebhookSigner(options.signingSecret);
    this.sender = new HttpSender(
      new DestinationGuard(options.destinations, broker.listeners),
      signer,
      {
        maxConnectionsPerOrigin: options.maxConnectionsPerOrigin,
        maxResponseBytes: options.maxResponseBytes,
        followRedirects: options.followRedirects,
      },
      broker.listeners,
    );
    const log = logger.child({ component: 'delivery' });
    const events = new DeliveryMetrics(metrics.registry, () => ({ index: this.service.index, circuit: this.service.circuit }), log);
    const permission = options.auth.enabled ? new DestinationPermission(broker.users, options.vhost) : null;
    this.service = new DeliveryService(broker, options, this.sender, events, permission);
    this.server = new DeliveryHttpServer(broker, this.service, options, log);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.service.start();
    await this.server.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.server.close();
    this.service.stop();
    await this.sender.close();
  }
}

@Module({})
export class DeliveryModule {
  static forRoot(options: DeliveryOptions): DynamicModule {
    return {
      module: DeliveryModule,
      // global: the management layer shows the deliveries through DeliveryHttpService
      global: true,
      providers: [{ provide: DELIVERY_OPTIONS, useValue: options }, DeliveryHttpService],
      exports: [DeliveryHttpService],
    };
  }
}
