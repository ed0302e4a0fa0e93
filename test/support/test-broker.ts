import { Broker, MemoryStore, Message, MessageProperties, SqliteStore } from '#core';
import { tempDir } from './temp-dir';

/** A broker on SQLite in a fresh temporary data directory (or the given one). */
export async function openTestBroker(
  options: { queueMemoryBudget?: number; dataDir?: string } = {},
): Promise<{ broker: Broker; dataDir: string; close: () => Promise<void> }> {
  const dir = options.dataDir ? { path: options.dataDir, cleanup: () => undefined } : tempDir();
  const store = await SqliteStore.open({ dataDir: dir.path, sync: 'normal' });
  const broker = await Broker.open(store, { dataDir: dir.path, queueMemoryBudget: options.queueMemoryBudget ?? 64 * 1024 * 1024 });
  return {
    broker,
    dataDir: dir.path,
    close: async () => {
      await broker.close();
      dir.cleanup();
    },
  };
}

/** A broker on the in-memory store: core semantics without SQLite. */
export async function openMemoryBroker(
  options: { queueMemoryBudget?: number; store?: MemoryStore } = {},
): Promise<{ broker: Broker; store: MemoryStore; close: () => Promise<void> }> {
  const store = options.store ?? new MemoryStore();
  const broker = await Broker.open(store, { queueMemoryBudget: options.queueMemoryBudget ?? 64 * 1024 * 1024 });
  return { broker, store, close: () => broker.close() };
}

export const message = (
  body: string,
  routingKey = '',
  properties: MessageProperties = {},
  exchange = '',
): Message => new Message(exchange, routingKey, properties, null, Buffer.from(body));
