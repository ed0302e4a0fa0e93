import { DynamicModule, Module } from '@nestjs/common';
import { BrokerConfig, BrokerConfigModule } from '#config';
import { CoreModule } from '#core';
import { ObservabilityModule } from '#observability';

/** Composition only: configuration, the core, and the front doors. */
@Module({})
export class AppModule {
  static register(config: BrokerConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        BrokerConfigModule.forRoot(config),
        CoreModule.forRoot({
          dataDir: config.DATA_DIR,
          sync: config.STORE_SYNC,
          queueMemoryBudget: config.QUEUE_MEMORY_BUDGET_MB * 1024 * 1024,
        }),
        ObservabilityModule,
      ],
    };
  }
}
