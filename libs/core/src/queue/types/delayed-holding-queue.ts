import type { DelayedMessageExchange } from '../../exchange/delayed-message-exchange';
import { changedAnnotations } from '../../message/annotations';
import { Message } from '../../message/message';
import { copiedRecord, copyWith } from '../../object-copies';
import type { Consumer } from '../consumer';
import { NOT_BEFORE_HEADER } from '../queue-options';
import { InMemoryQueue } from '../in-memory-queue';
import type { QueueEntry } from '../queue-entry';
import type { QueueInit } from '../queue-type';

/** Hidden queues holding delayed messages are named so no client can declare or see them. */
export const HOLDING_QUEUE_PREFIX = 'amq.delayed.';

export const holdingQueueName = (exchangeName: string): string => `${HOLDING_QUEUE_PREFIX}${exchangeName}`;

/** Routes a released message by its exchange's rule (the virtual host's routing). */
export type ReleaseRoute = (exchange: DelayedMessageExchange, message: Message) => void;

/**
 * A delayed-message exchange's holding queue (one variant of the in-memory queue, as LavinMQ's
 * delayed_exchange_queue): messages published with a positive x-delay wait here on the queues'
 * shared not-before mechanism, and are routed by the exchange's rule when their time comes. It is
 * the broker's own: never in the vhost's queue list, no policy, durable when its exchange is,
 * deleted with its exchange (as in the plugin, messages still waiting go with it).
 */
export class DelayedHoldingQueue extends InMemoryQueue {
  constructor(init: QueueInit, exchange: DelayedMessageExchange, route: ReleaseRoute) {
    super(init);
    exchange.holding = this;
    this.addConsumer(new DelayedRelease(exchange, route));
  }

  /** Holds the message until `dueAt` (epoch ms). */
  hold(message: Message, dueAt: number): void {
    this.enqueue(heldMessage(message, dueAt));
  }
}

/** The message as it waits: due at `dueAt` on the queues' shared not-before mechanism (an annotation). */
function heldMessage(message: Message, dueAt: number): Message {
  return message.annotated(changedAnnotations(message.annotations, { notBefore: dueAt }));
}

/** The message as it is routed at its time: what the publisher sent (its x-delay header included, as the plugin does). */
function releasedMessage(message: Message): Message {
  if (message.annotations?.notBefore === undefined) return releasedLegacyMessage(message);
  return message.annotated(changedAnnotations(message.annotations, { notBefore: undefined }));
}

/** A message held by a release before annotations (a stored row): its due time was this header, the broker's own. */
function releasedLegacyMessage(message: Message): Message {
  const headers = copiedRecord(message.properties.headers);
  delete headers[NOT_BEFORE_HEADER];
  return new Message(message.exchange, message.routingKey, copyWith(message.properties, 'headers', headers), null, message.body, message.annotations);
}

/**
 * Takes due messages off the holding queue and routes them by the exchange's rule. It consumes
 * with auto-ack (the entry is acked at hand-over), after the routed copies were enqueued, so a
 * persistent message's copies share the store batch of its delete: a crash keeps one or the other.
 */
class DelayedRelease implements Consumer {
  readonly tag = 'delayed-release';
  readonly priority = 0;
  readonly exclusive = true;
  readonly autoAck = true;
  readonly owner = 'broker';

  constructor(
    private readonly exchange: DelayedMessageExchange,
    private readonly route: ReleaseRoute,
  ) {}

  hasCredit(): boolean {
    return true;
  }

  deliver(entry: QueueEntry): void {
    if (!this.exchange.deleted) this.route(this.exchange, releasedMessage(entry.message));
  }

  cancelledByQueue(): void {}
}
