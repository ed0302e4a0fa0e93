import { isDelayedMessageExchange, requestedDelay } from '../exchange/delayed-message-exchange';
import type { Exchange } from '../exchange/exchange';
import { accessRefused, invalidRequest, notFound } from '../errors';
import { renderedHeaders } from '../message/amqp-rendering';
import type { Message } from '../message/message';
import type { Queue } from '../queue/queue';
import { expirationOf } from '../queue/queue-options';
import { NO_COMMIT_NEEDED } from '../store/commit-token';
import { requireShortString } from './declaration-checks';
import type { DelayedHoldings } from './delayed-holdings';
import { PublishOutcome, RefusedOutcome, refusedOutcome, RoutedOutcomes, UNROUTABLE } from './publish-outcome';
import type { Router } from './router';
import type { VhostContext } from './vhost-requests';

/**
 * What a resource alarm does to a publish: `accept` it (the AMQP door blocks its connection after
 * the publish, as RabbitMQ), or `refuse` it (HTTP doors answer 503 rather than promise to keep it).
 */
export type AlarmRule = 'accept' | 'refuse';

/**
 * The one way a message enters a virtual host, whichever door brings it: checks, the delayed
 * exchange's holding, routing, enqueueing on every queue reached, and the outcome every door
 * answers from (publish-outcome.ts). Allocates nothing per message in the steady state.
 */
export class Intake {
  private readonly routedOutcomes = new RoutedOutcomes();
  /** Routing's output array, lent to one publish at a time (a consumer may publish while it is in use). */
  private spare: Queue[] | null = [];

  constructor(
    private readonly vhost: string,
    private readonly exchanges: ReadonlyMap<string, Exchange>,
    private readonly router: Router,
    private readonly holdings: DelayedHoldings,
    private readonly context: VhostContext,
  ) {}

  /** The refusal of a door that refuses during a resource alarm, or null while none is on. */
  alarmRefusal(): RefusedOutcome | null {
    const alarm = this.context.alarms.active;
    return alarm === null ? null : refusedOutcome({ reason: 'resource-alarm', alarm });
  }

  /** Routes and enqueues a message. Throws 404 for an unknown exchange, 403 for an internal one. */
  publish(exchangeName: string, message: Message, onAlarm: AlarmRule): PublishOutcome {
    const exchange = this.exchanges.get(exchangeName);
    if (exchange === undefined) throw notFound(`no exchange '${exchangeName}' in vhost '${this.vhost}'`);
    if (exchange.options.internal) {
      throw accessRefused(`cannot publish to internal exchange '${exchangeName}' in vhost '${this.vhost}'`);
    }
    return this.publishTo(exchange, message, onAlarm);
  }

  publishTo(exchange: Exchange, message: Message, onAlarm: AlarmRule): PublishOutcome {
    // A message built from an object (the management publish, jobs, deliveries and their retries)
    // is refused here when AMQP cannot encode its properties or routing key, before any queue or
    // the store holds it. AMQP input arrives encoded and skips the check: a property list that
    // decoded always encodes again (encodable.ts, test/core/encodable.test.ts), so the decoder is
    // the guarantee there and the AMQP path pays one comparison. On object-built messages, the
    // check's worst case, bench/core/core-bench.ts measured no difference (transient 2M-4M x 200 B,
    // alternating with 627759a on a quiet 2-core machine: 3.07M/3.19M msg/s before, 3.11M/3.15M
    // after; persistent backlog of 500k end to end 72.6k-98.8k msg/s before, 71.2k-98.7k after, in
    // five alternating runs each), nor in decodeProperties on the AMQP path (680-850 ns a typical
    // property list either way). The check itself takes 10-100 ns a message.
    if (message.encodedProperties === null) requireEncodable(message);
    // an expiration that is not a number of milliseconds is refused (406), as in RabbitMQ
    if (message.properties.expiration !== undefined) expirationOf(message.properties.expiration);
    if (onAlarm === 'refuse') {
      const refused = this.alarmRefusal();
      if (refused !== null) return refused;
    }
    const metrics = this.context.metrics;
    metrics.recordPublish(message.body.length);
    if (isDelayedMessageExchange(exchange)) {
      const delay = requestedDelay(message.properties.headers);
      // where it will go is known only at its time: it counts as routed (a mandatory publish is not returned)
      if (delay > 0) return this.routedOutcomes.of(1, this.holdings.hold(exchange, message, delay), null);
    }
    const queues = this.spare ?? [];
    this.spare = null;
    // a headers exchange matches what a client would see: annotations as headers (none on AMQP
    // input; and the default exchange, which the job and delivery doors publish to, routes by name only)
    const headers = message.annotations === null || exchange.name === '' ? message.properties.headers : renderedHeaders(message);
    const routed = this.router.route(exchange, message.routingKey, headers, queues);
    if (routed === 0) {
      this.spare = queues;
      metrics.unroutable++;
      return UNROUTABLE;
    }
    metrics.routed += routed;
    const persistent = message.properties.deliveryMode === 2;
    let persisted = false;
    let refusedBy: Queue | null = null;
    let overloaded: Queue | null = null;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[i]!;
      if (queue.enqueue(message) === null) refusedBy ??= queue;
      else if (persistent && queue.durable) persisted = true;
      if (queue.overloaded) overloaded = queue;
    }
    queues.length = 0;
    this.spare = queues;
    const commitToken = persisted ? this.context.store.currentToken() : NO_COMMIT_NEEDED;
    if (refusedBy !== null) {
      return refusedOutcome({ reason: 'length-limit', queue: refusedBy, overflow: refusedBy.features.overflow }, routed, commitToken, overloaded);
    }
    return this.routedOutcomes.of(routed, commitToken, overloaded);
  }
}

function requireEncodable(message: Message): void {
  const problem = message.propertiesProblem();
  if (problem !== null) throw invalidRequest(`invalid message: ${problem}`);
  // basic.deliver carries the routing key as a short string
  requireShortString('routing key', message.routingKey);
}
