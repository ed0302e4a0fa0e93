import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { BrokerConfig } from './broker-config';

/**
 * Makes the validated BrokerConfig injectable everywhere, and also available through
 * @nestjs/config's ConfigService (`config.get('AMQP_PORT')`).
 */
@Global()
@Module({})
export class BrokerConfigModule {
  static forRoot(config: BrokerConfig): DynamicModule {
    return {
      module: BrokerConfigModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          skipProcessEnv: true,
          load: [() => ({ ...config })],
        }),
      ],
      providers: [{ provide: BrokerConfig, useValue: config }],
      exports: [BrokerConfig],
    };
  }
}
