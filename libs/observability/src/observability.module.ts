import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_LOGGER } from './logging';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({})
export class ObservabilityModule {
  /** `logger` becomes injectable as APP_LOGGER for every module. */
  static forRoot(logger: Logger): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [MetricsController],
      providers: [MetricsService, { provide: APP_LOGGER, useValue: logger }],
      exports: [MetricsService, APP_LOGGER],
    };
  }
}
