import { isQueue } from '../exchange/binding';
import { isDelayedMessageExchange } from '../exchange/delayed-message-exchange';
import type { Exchange } from '../exchange/exchange';
import type { Queue } from '../queue/queue';
import type { BindingSnapshot, ExchangeSnapshot, VhostSnapshot } from './snapshots';

/** A vhost's totals over its queues. */
export function vhostSnapshot(name: string, exchangeCount: number, queues: Iterable<Queue>): VhostSnapshot {
  let messagesReady = 0;
  let messagesUnacknowledged = 0;
  let consumers = 0;
  let queueCount = 0;
  for (const queue of queues) {
    queueCount++;
    messagesReady += queue.messageCount;
    messagesUnacknowledged += queue.unackedMessageCount;
    consumers += queue.consumerCount;
  }
  return { name, exchanges: exchangeCount, queues: queueCount, consumers, messagesReady, messagesUnacknowledged };
}

export function exchangeSnapshot(vhost: string, exchange: Exchange): ExchangeSnapshot {
  return {
    vhost,
    name: exchange.name,
    type: exchange.type,
    durable: exchange.durable,
    autoDelete: exchange.options.autoDelete,
    internal: exchange.options.internal,
    arguments: exchange.options.arguments,
    bindings: exchange.bindingCount,
    messagesDelayed: isDelayedMessageExchange(exchange) ? (exchange.holding?.delayedCount ?? 0) : null,
  };
}

/** Every binding, the default exchange's implicit ones (one per queue) first, as RabbitMQ lists them. */
export function bindingSnapshots(vhost: string, queues: Iterable<Queue>, exchanges: Iterable<Exchange>): BindingSnapshot[] {
  const out: BindingSnapshot[] = [];
  for (const queue of queues) {
    out.push({ vhost, source: '', destination: queue.name, destinationKind: 'queue', routingKey: queue.name, arguments: {}, key: queue.name });
  }
  for (const exchange of exchanges) {
    for (const binding of exchange.bindings()) {
      out.push({
        vhost,
        source: exchange.name,
        destination: binding.destination.name,
        destinationKind: isQueue(binding.destination) ? 'queue' : 'exchange',
        routingKey: binding.routingKey,
        arguments: binding.args,
        key: binding.key,
      });
    }
  }
  return out;
}
