import 'reflect-metadata';
import { ConfigurationError, loadBrokerConfig, unknownConfigKeys } from '#config';
import { startBroker } from './broker-app';
import { applyGcTuning } from './gc-tuning';

async function main(): Promise<void> {
  let config;
  try {
    config = loadBrokerConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const concurrentMarking = applyGcTuning(config);
  const broker = await startBroker(config);
  broker.logger.debug({ concurrentMarking }, 'garbage collector tuned');
  const unknown = unknownConfigKeys(process.env);
  if (unknown.length > 0) broker.logger.warn({ keys: unknown }, 'unknown keys in CONFIG_FILE ignored');

  const shutdown = (signal: string): void => {
    broker.logger.info({ signal }, 'shutting down: closing listeners, committing the store');
    broker.close().then(
      () => process.exit(0),
      (error: unknown) => {
        broker.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`broker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
