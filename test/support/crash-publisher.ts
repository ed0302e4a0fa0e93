/**
 * Child process for the crash test: publishes persistent messages numbered 1, 2, 3 … to a durable
 * queue and prints `confirmed N` each time the store reports everything up to N committed. The
 * parent kills it with SIGKILL at a random moment.
 */
import { Broker, Message, SqliteStore } from '#core';

async function main(): Promise<void> {
  const dataDir = process.argv[2]!;
  const broker = await Broker.open(await SqliteStore.open({ dataDir, sync: 'full' }), { dataDir, queueMemoryBudget: 1024 * 1024 });
  const vhost = broker.defaultVhost;
  vhost.declareExchange({ name: 'crash-x', type: 'fanout', durable: true });
  vhost.declareQueue({ name: 'crash-q', durable: true });
  vhost.declareQueue({ name: 'crash-q2', durable: true });
  vhost.bind('queue', 'crash-q', 'crash-x', '');
  vhost.bind('queue', 'crash-q2', 'crash-x', '');
  process.stdout.write('ready\n');
  let n = 0;
  const publishSome = (): void => {
    const upTo = n + 1 + Math.floor(Math.random() * 200);
    while (n < upTo) {
      n++;
      vhost.publish('crash-x', new Message('crash-x', '', { deliveryMode: 2 }, null, Buffer.from(`m${n}`)));
    }
    const confirmed = n;
    broker.onDurable(broker.durabilityToken(), (ok) => {
      if (ok) process.stdout.write(`confirmed ${confirmed}\n`);
    });
    setImmediate(publishSome);
  };
  publishSome();
}

void main();
