import type { Exchange } from '../exchange/exchange';
import { renderedHeaders } from '../message/amqp-rendering';
import type { Message } from '../message/message';
import { DeathReason, deadLetteredMessage, isDeadLetterCycle } from '../queue/dead-letter';
import type { Queue } from '../queue/queue';
import type { Router } from './router';

/**
 * Publishes the dead-lettered copy of a message leaving `source` to its dead-letter exchange, as
 * RabbitMQ does: a missing exchange drops it, internal exchanges are allowed, and a queue the copy
 * would reach in a cycle (see isDeadLetterCycle) is skipped.
 */
export function deadLetter(exchanges: ReadonlyMap<string, Exchange>, router: Router, source: Queue, message: Message, reason: DeathReason): void {
  const exchangeName = source.features.deadLetterExchange;
  if (exchangeName === null) return;
  const exchange = exchanges.get(exchangeName);
  if (exchange === undefined) return;
  const copy = deadLetteredMessage(message, source.name, reason, exchangeName, source.features.deadLetterRoutingKey);
  const targets: Queue[] = [];
  // a headers exchange sees the x-death headers a client would see, as RabbitMQ routes on them
  router.route(exchange, copy.routingKey, renderedHeaders(copy), targets);
  for (const queue of targets) {
    if (!isDeadLetterCycle(copy, queue.name, reason)) queue.enqueue(copy);
  }
}
