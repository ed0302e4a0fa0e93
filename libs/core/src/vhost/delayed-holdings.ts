import { DelayedMessageExchange, isDelayedMessageExchange } from '../exchange/delayed-message-exchange';
import type { Exchange } from '../exchange/exchange';
import { renderedHeaders } from '../message/amqp-rendering';
import type { Message } from '../message/message';
import type { Queue } from '../queue/queue';
import { readQueueFeatures } from '../queue/queue-options';
import type { QueueInit, QueueOwner } from '../queue/queue-type';
import { CLASSIC_QUEUE } from '../queue/types/classic-queue-type';
import { DelayedHoldingQueue, HOLDING_QUEUE_PREFIX, holdingQueueName } from '../queue/types/delayed-holding-queue';
import { CommitToken, NO_COMMIT_NEEDED } from '../store/commit-token';
import type { Router } from './router';
import type { VhostContext } from './vhost-requests';

/**
 * A virtual host's delayed-message exchanges and their holding queues: each such exchange gets one
 * when declared (or recovered), messages with a positive x-delay wait in it, and are routed by the
 * exchange's rule at their time.
 */
export class DelayedHoldings {
  constructor(
    private readonly vhost: string,
    private readonly context: VhostContext,
    private readonly owner: QueueOwner,
    private readonly router: Router,
    private readonly exchanges: ReadonlyMap<string, Exchange>,
  ) {}

  /** Holds a message `delay` ms in its exchange's holding queue; returns what to wait for before it is durable. */
  hold(exchange: DelayedMessageExchange, message: Message, delay: number): CommitToken {
    const holding = exchange.holding!;
    holding.hold(message, Date.now() + delay);
    return message.properties.deliveryMode === 2 && holding.durable ? this.context.store.currentToken() : NO_COMMIT_NEEDED;
  }

  /** A delayed-message exchange was declared: its holding queue starts (durably when the exchange is). */
  open(exchange: DelayedMessageExchange): void {
    const holding = this.create(exchange, this.context.nextQueueId());
    if (exchange.durable) this.context.definitions.putQueue({ id: holding.id, vhost: this.vhost, name: holding.name, autoDelete: false, arguments: {} });
  }

  /** Its exchange is deleted: as in the plugin, messages still waiting go with it. */
  close(exchange: DelayedMessageExchange): void {
    const holding = exchange.holding;
    if (holding === null) return;
    holding.delete();
    this.context.definitions.deleteQueue(holding.id, this.vhost, holding.name);
    exchange.holding = null;
  }

  /** Whether a recovered queue record is a holding queue (its name has the reserved prefix). */
  isHoldingQueue(name: string): boolean {
    return name.startsWith(HOLDING_QUEUE_PREFIX);
  }

  /**
   * Re-creates a recovered holding queue for its exchange; one whose exchange is gone is deleted
   * from the store (returned so its recovered rows have somewhere to go).
   */
  restore(id: number, name: string, autoDelete: boolean): Queue {
    const exchange = this.exchanges.get(name.slice(HOLDING_QUEUE_PREFIX.length));
    if (exchange !== undefined && isDelayedMessageExchange(exchange) && exchange.holding === null) return this.create(exchange, id);
    const orphan = CLASSIC_QUEUE.create(this.init(id, name, true, autoDelete));
    this.context.definitions.deleteQueue(id, this.vhost, name);
    return orphan;
  }

  /** After recovery: delayed messages that came back start waiting (or go, when due). */
  resume(exchange: DelayedMessageExchange): void {
    if (exchange.holding === null) this.open(exchange);
    else exchange.holding.dispatch();
  }

  private create(exchange: DelayedMessageExchange, id: number): DelayedHoldingQueue {
    return new DelayedHoldingQueue(this.init(id, holdingQueueName(exchange.name), exchange.durable, false), exchange, this.release);
  }

  private init(id: number, name: string, durable: boolean, autoDelete: boolean): QueueInit {
    const { store, metrics, queueLimits } = this.context;
    return {
      id,
      vhost: this.vhost,
      name,
      options: { durable, exclusiveOwner: null, autoDelete, arguments: {} },
      // the broker's own queues take no policy
      features: readQueueFeatures(name, {}, () => CLASSIC_QUEUE),
      owner: this.owner,
      store,
      metrics,
      limits: queueLimits,
    };
  }

  /** Routes a delayed message whose time has come, by its exchange's rule. */
  private readonly release = (exchange: DelayedMessageExchange, message: Message): void => {
    const targets: Queue[] = [];
    const routed = this.router.route(exchange, message.routingKey, renderedHeaders(message), targets);
    if (routed === 0) this.context.metrics.unroutable++;
    else this.context.metrics.routed += routed;
    for (const queue of targets) queue.enqueue(message);
  };
}
