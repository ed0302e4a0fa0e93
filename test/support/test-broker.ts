import { Broker, Message, MessageProperties } from '#core';
import { tempDir } from './temp-dir';

/** A broker on a fresh temporary data directory. */
export async function openTestBroker(
  options: { queueMemoryBudget?: number; dataDir?: string } = {},
): Promise<{ broker: Broker; dataDir: string; close: () => Promise<void> }> {
  const dir = options.dataDir ? { path: options.dataDir, cleanup: () => undefined } : tempDir();
  const broker = await Broker.open({
    dataDir: dir.path,
    sync: 'normal',
    queueMemoryBudget: options.queueMemoryBudget ?? 64 * 1024 * 1024,
  });
  return {
    broker,
    dataDir: dir.path,
    close: async () => {
      await broker.close();
      dir.cleanup();
    },
  };
}

export const message = (
  body: string,
  routingKey = '',
  properties: MessageProperties = {},
  exchange = '',
): Message => new Message(exchange, routingKey, properties, null, Buffer.from(body));
