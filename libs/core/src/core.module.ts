import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Broker, BrokerOptions } from './broker';
import type { BrokerStore } from './store/broker-store';

export interface CoreModuleOptions {
  /** Opens the durable store the broker runs on (the application chooses the implementation). */
  openStore: () => Promise<BrokerStore>;
  broker: BrokerOptions;
}

/** Closes the broker (committing what is pending) after every transport has stopped. */
@Injectable()
class BrokerShutdown implements OnApplicationShutdown {
  constructor(@Inject(Broker) private readonly broker: Broker) {}

  async onApplicationShutdown(): Promise<void> {
    await this.broker.close();
  }
}

/** Provides the one Broker of the process, over the injected store, to every door. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: CoreModuleOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: Broker, useFactory: async () => Broker.open(await options.openStore(), options.broker) }, BrokerShutdown],
      exports: [Broker],
    };
  }
}
