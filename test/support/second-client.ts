/**
 * Loads @cloudamqp/amqp-client, the second AMQP client of the end-to-end tests. The package is
 * ESM-first but ships a CommonJS build (its "require" export), which is what this CommonJS test
 * build loads; the types come from the ESM declarations.
 */
import type * as AmqpClientModule from '@cloudamqp/amqp-client' with { 'resolution-mode': 'import' };

export type AmqpClientApi = typeof AmqpClientModule;

let loaded: AmqpClientApi | undefined;

export function loadAmqpClient(): AmqpClientApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('@cloudamqp/amqp-client') as AmqpClientApi;
  return loaded;
}
