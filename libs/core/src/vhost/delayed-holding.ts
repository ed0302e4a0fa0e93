import type { Consumer } from '../queue/consumer';
import type { DelayedMessageExchange } from '../exchange/delayed-message-exchange';
import { Message } from '../message/message';
import type { Queue } from '../queue/queue';
import type { QueueEntry } from '../queue/queue-entry';
import { NOT_BEFORE_HEADER } from '../queue/queue-options';

/** Hidden queues holding delayed messages are named so no client can declare or see them. */
export const HOLDING_QUEUE_PREFIX = 'amq.delayed.';

export const holdingQueueName = (exchangeName: string): string => `${HOLDING_QUEUE_PREFIX}${exchangeName}`;

/** The message as it waits: due at `dueAt` on the queues' shared not-before mechanism. */
export function heldMessage(message: Message, dueAt: number): Message {
  const properties = { ...message.properties, headers: { ...message.properties.headers, [NOT_BEFORE_HEADER]: dueAt } };
  return new Message(message.exchange, message.routingKey, properties, null, message.body);
}

/** The message as it is routed at its time: what the publisher sent (its x-delay header included, as the plugin does). */
function releasedMessage(message: Message): Message {
  const headers = { ...message.properties.headers };
  delete headers[NOT_BEFORE_HEADER];
  return new Message(message.exchange, message.routingKey, { ...message.properties, headers }, null, message.body);
}

/**
 * Takes due messages off a delayed-message exchange's holding queue and routes them by the
 * exchange's rule. It settles at hand-over (no ack), after the routed copies were enqueued, so a
 * persistent message's copies share the store batch of its delete: a crash keeps one or the other.
 */
export class DelayedRelease implements Consumer {
  readonly tag = 'delayed-release';
  readonly priority = 0;
  readonly exclusive = true;
  readonly autoAck = true;
  readonly owner = 'broker';

  constructor(
    private readonly exchange: DelayedMessageExchange,
    private readonly route: (exchange: DelayedMessageExchange, message: Message) => void,
  ) {}

  hasCredit(): boolean {
    return true;
  }

  deliver(entry: QueueEntry): void {
    if (!this.exchange.deleted) this.route(this.exchange, releasedMessage(entry.message));
  }

  cancelledByQueue(): void {}
}

/** Attaches a holding queue to its exchange and starts releasing from it. */
export function attachHolding(exchange: DelayedMessageExchange, queue: Queue, route: (exchange: DelayedMessageExchange, message: Message) => void): void {
  exchange.holding = queue;
  queue.addConsumer(new DelayedRelease(exchange, route));
}
