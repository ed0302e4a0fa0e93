import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Broker, BrokerOptions } from './broker';

/** Closes the broker (committing what is pending) after every transport has stopped. */
@Injectable()
class BrokerShutdown implements OnApplicationShutdown {
  constructor(@Inject(Broker) private readonly broker: Broker) {}

  async onApplicationShutdown(): Promise<void> {
    await this.broker.close();
  }
}

/** Provides the one Broker of the process to every transport module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: BrokerOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: Broker, useFactory: () => Broker.open(options) }, BrokerShutdown],
      exports: [Broker],
    };
  }
}
