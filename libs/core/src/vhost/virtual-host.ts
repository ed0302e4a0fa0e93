import { randomBytes } from 'node:crypto';
import { fieldTableProblem } from '../encoding/encodable';
import type { FieldTable } from '../encoding/field-table';
import { Binding, Destination, isQueue } from '../exchange/binding';
import { DefaultExchange } from '../exchange/default-exchange';
import { DelayedMessageExchange, isDelayedMessageExchange, requestedDelay } from '../exchange/delayed-message-exchange';
import type { Exchange, ExchangeType } from '../exchange/exchange';
import { createExchange, isExchangeType } from '../exchange/exchange-factory';
import { matchModeOf } from '../exchange/headers-match';
import { accessRefused, invalidRequest, notFound, preconditionFailed, resourceLocked } from '../errors';
import type { BindingSnapshot, ConsumerSnapshot, ExchangeSnapshot, QueueSnapshot, VhostSnapshot } from '../introspection/snapshots';
import type { Message } from '../message/message';
import { Queue, QueueOwner } from '../queue/queue';
import type { QueueFeatures, QueueOptions } from '../queue/queue-options';
import { DeathReason, deadLetteredMessage, isDeadLetterCycle } from '../queue/dead-letter';
import { expirationOf, readQueueFeatures } from '../queue/queue-options';
import type { BrokerStore } from '../store/broker-store';
import { NO_COMMIT_NEEDED } from '../store/commit-token';
import { requireEquivalent, requireEquivalentArgs } from './equivalence';
import { attachHolding, heldMessage, HOLDING_QUEUE_PREFIX, holdingQueueName } from './delayed-holding';
import { ExclusiveQueues } from './exclusive-queues';
import type { ExchangeDeclaration, PublishOutcome, QueueDeclaration, QueueDeleteConditions, VhostContext } from './vhost-requests';
import { bindingSnapshots, exchangeSnapshot, vhostSnapshot } from '../introspection/vhost-snapshots';
import { Router } from './router';

export type { ExchangeDeclaration, PublishOutcome, QueueDeclaration, QueueDeleteConditions, VhostContext } from './vhost-requests';

const PREDECLARED: readonly [string, ExchangeType][] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

const reservedName = (name: string): boolean => name.startsWith('amq.');

function requireEncodable(message: Message): void {
  const problem = message.propertiesProblem();
  if (problem !== null) throw invalidRequest(`invalid message: ${problem}`);
  // basic.deliver carries the routing key as a short string
  requireShortString('routing key', message.routingKey);
}

/** Names and routing keys travel as AMQP short strings: at most 255 bytes (RabbitMQ's wording). */
function requireShortString(what: string, text: string): void {
  if (text.length <= 85) return; // 85 UTF-16 units are at most 255 bytes
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > 255) throw invalidRequest(`${what} should be less than 255 bytes, actually was ${bytes}`);
}

/** Arguments are stored as a field table: refused here when they could not be (objects from JSON). */
function requireEncodableArguments(args: FieldTable): void {
  const problem = fieldTableProblem(args, 'arguments');
  if (problem !== null) throw invalidRequest(`invalid ${problem}`);
}

/**
 * A virtual host: its exchanges, queues and bindings, with RabbitMQ's checks on every declare,
 * bind and delete. Doors reach queues only through the checked lookups here.
 */
export class VirtualHost implements QueueOwner {
  private readonly exchanges = new Map<string, Exchange>();
  private readonly queues = new Map<string, Queue>();
  private readonly exclusiveQueues = new ExclusiveQueues();
  private readonly defaultExchange: DefaultExchange;
  private readonly router: Router;
  private readonly routed: Queue[] = [];
  private readonly outcome: PublishOutcome = { routed: 0, commitToken: NO_COMMIT_NEEDED, overloaded: null, refused: false };

  constructor(
    readonly name: string,
    private readonly context: VhostContext,
  ) {
    this.defaultExchange = new DefaultExchange(name, this.queues);
    this.exchanges.set('', this.defaultExchange);
    for (const [exchangeName, type] of PREDECLARED) {
      this.exchanges.set(
        exchangeName,
        createExchange(name, exchangeName, type, { durable: true, autoDelete: false, internal: false, arguments: {} }),
      );
    }
    this.router = new Router((exchangeName) => this.exchanges.get(exchangeName));
  }

  private get store(): BrokerStore {
    return this.context.store;
  }

  nextSeq(): number {
    return this.context.nextSeq();
  }

  /**
   * Publishes the dead-lettered copy of a message leaving `source` to its dead-letter exchange, as
   * RabbitMQ does: a missing exchange drops it, internal exchanges are allowed, and a queue the
   * copy would reach in a cycle (see isDeadLetterCycle) is skipped.
   */
  deadLetter(source: Queue, message: Message, reason: DeathReason): void {
    const exchangeName = source.features.deadLetterExchange;
    if (exchangeName === null) return;
    const exchange = this.exchanges.get(exchangeName);
    if (exchange === undefined) return;
    const copy = deadLetteredMessage(message, source.name, reason, exchangeName, source.features.deadLetterRoutingKey);
    const targets: Queue[] = [];
    this.router.route(exchange, copy.routingKey, copy.properties.headers, targets);
    for (const queue of targets) {
      if (!isDeadLetterCycle(copy.properties.headers, queue.name, reason)) queue.enqueue(copy);
    }
  }

  // ---- publishing ------------------------------------------------------------------------------

  /** Routes and enqueues a message. Throws 404 for an unknown exchange, 403 for an internal one. */
  publish(exchangeName: string, message: Message): PublishOutcome {
    const exchange = this.exchanges.get(exchangeName);
    if (exchange === undefined) throw notFound(`no exchange '${exchangeName}' in vhost '${this.name}'`);
    if (exchange.options.internal) {
      throw accessRefused(`cannot publish to internal exchange '${exchangeName}' in vhost '${this.name}'`);
    }
    return this.publishTo(exchange, message);
  }

  publishTo(exchange: Exchange, message: Message): PublishOutcome {
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
    const metrics = this.context.metrics;
    metrics.recordPublish(message.body.length);
    const outcome = this.outcome;
    outcome.commitToken = NO_COMMIT_NEEDED;
    outcome.overloaded = null;
    outcome.refused = false;
    if (isDelayedMessageExchange(exchange)) {
      const delay = requestedDelay(message.properties.headers);
      if (delay > 0) return this.hold(exchange, message, delay);
    }
    const queues = this.routed;
    outcome.routed = this.router.route(exchange, message.routingKey, message.properties.headers, queues);
    if (outcome.routed === 0) {
      metrics.unroutable++;
      return outcome;
    }
    metrics.routed += outcome.routed;
    const persistent = message.properties.deliveryMode === 2;
    let persisted = false;
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[i]!;
      if (queue.enqueue(message) === null) outcome.refused = true;
      else if (persistent && queue.durable) persisted = true;
      if (queue.overloaded) outcome.overloaded = queue;
    }
    queues.length = 0;
    if (persisted) outcome.commitToken = this.store.currentToken();
    return outcome;
  }

  /**
   * A delayed message waits in its exchange's holding queue. It counts as routed (a mandatory
   * publish is not returned: where it will go is known only at its time).
   */
  private hold(exchange: DelayedMessageExchange, message: Message, delay: number): PublishOutcome {
    const outcome = this.outcome;
    outcome.routed = 1;
    const holding = exchange.holding!;
    holding.enqueue(heldMessage(message, Date.now() + delay));
    if (message.properties.deliveryMode === 2 && holding.durable) outcome.commitToken = this.store.currentToken();
    return outcome;
  }

  /** Routes a delayed message whose time has come, by its exchange's rule. */
  private readonly releaseDelayed = (exchange: DelayedMessageExchange, message: Message): void => {
    const targets: Queue[] = [];
    const routed = this.router.route(exchange, message.routingKey, message.properties.headers, targets);
    if (routed === 0) this.context.metrics.unroutable++;
    else this.context.metrics.routed += routed;
    for (const queue of targets) queue.enqueue(message);
  };

  private createHolding(exchange: DelayedMessageExchange, id: number = this.context.nextQueueId()): Queue {
    const queue = this.newQueue(id, holdingQueueName(exchange.name), {
      durable: exchange.durable,
      exclusiveOwner: null,
      autoDelete: false,
      arguments: {},
    });
    attachHolding(exchange, queue, this.releaseDelayed);
    return queue;
  }

  private newQueue(id: number, name: string, options: QueueOptions): Queue {
    const { policy, features } = this.featuresOf(name, options.arguments);
    const queue = new Queue(id, this.name, name, options, features, this, this.store, this.context.metrics, this.context.queueLimits);
    if (policy !== null) queue.applyPolicy(policy, features);
    return queue;
  }

  private featuresOf(name: string, args: FieldTable): { policy: string | null; features: QueueFeatures } {
    // the broker's own holding queues take no policy
    if (name.startsWith(HOLDING_QUEUE_PREFIX)) return { policy: null, features: readQueueFeatures(name, args) };
    return this.context.policies.featuresFor(this.name, name, args);
  }

  /** Policies changed: every queue takes its new effective settings. */
  reapplyPolicies(): void {
    for (const queue of this.queues.values()) {
      const { policy, features } = this.featuresOf(queue.name, queue.options.arguments);
      queue.applyPolicy(policy, features);
    }
  }

  /** After recovery: delayed messages that came back start waiting (or go, when due). */
  resumeAfterRecovery(): void {
    for (const exchange of this.exchanges.values()) {
      if (!isDelayedMessageExchange(exchange)) continue;
      if (exchange.holding === null) {
        const holding = this.createHolding(exchange);
        if (exchange.durable) this.store.putQueue({ id: holding.id, vhost: this.name, name: holding.name, autoDelete: false, arguments: {} });
      } else exchange.holding.dispatch();
    }
  }

  // ---- exchanges -------------------------------------------------------------------------------

  getExchange(name: string): Exchange {
    const exchange = this.exchanges.get(name);
    if (exchange === undefined) throw notFound(`no exchange '${name}' in vhost '${this.name}'`);
    return exchange;
  }

  declareExchange(request: ExchangeDeclaration): Exchange {
    const { name } = request;
    const existing = this.exchanges.get(name);
    if (request.passive) {
      if (existing === undefined) throw notFound(`no exchange '${name}' in vhost '${this.name}'`);
      return existing;
    }
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    if (!isExchangeType(request.type)) throw invalidRequest(`unknown exchange type '${request.type}'`);
    // the prefix is reserved for creating exchanges; re-declaring an existing amq.* is fine
    if (existing === undefined && reservedName(name) && request.system !== true) {
      throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`);
    }
    requireShortString('exchange', name);
    const durable = request.durable ?? false;
    const autoDelete = request.autoDelete ?? false;
    const internal = request.internal ?? false;
    const args = request.arguments ?? {};
    requireEncodableArguments(args);
    if (existing !== undefined) {
      requireEquivalent('exchange', name, this.name, 'type', request.type, existing.type);
      requireEquivalent('exchange', name, this.name, 'durable', durable, existing.options.durable);
      requireEquivalent('exchange', name, this.name, 'auto_delete', autoDelete, existing.options.autoDelete);
      requireEquivalent('exchange', name, this.name, 'internal', internal, existing.options.internal);
      requireEquivalentArgs('exchange', name, this.name, args, existing.options.arguments);
      return existing;
    }
    const exchange = createExchange(this.name, name, request.type, { durable, autoDelete, internal, arguments: args });
    this.exchanges.set(name, exchange);
    if (durable) {
      this.store.putExchange({ vhost: this.name, name, type: request.type, durable, autoDelete, internal, arguments: args });
    }
    if (isDelayedMessageExchange(exchange)) {
      const holding = this.createHolding(exchange);
      if (durable) this.store.putQueue({ id: holding.id, vhost: this.name, name: holding.name, autoDelete: false, arguments: {} });
    }
    return exchange;
  }

  deleteExchange(name: string, ifUnused = false): void {
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    if (reservedName(name)) throw accessRefused(`operation not permitted on exchange '${name}'`);
    const exchange = this.exchanges.get(name);
    if (exchange === undefined) return; // RabbitMQ: deleting a missing exchange succeeds
    if (ifUnused && exchange.bindingCount > 0) {
      throw preconditionFailed(`exchange '${name}' in vhost '${this.name}' in use`);
    }
    this.removeExchange(exchange);
  }

  private removeExchange(exchange: Exchange): void {
    exchange.deleted = true;
    this.exchanges.delete(exchange.name);
    // bindings from it and to it (exchange-to-exchange)
    for (const binding of [...exchange.bindings()]) exchange.unbind(binding);
    for (const other of exchange.inbound.sources()) {
      if (other.unbindDestination(exchange).length > 0) this.maybeAutoDelete(other);
    }
    if (exchange.durable) this.store.deleteExchange(this.name, exchange.name);
    if (isDelayedMessageExchange(exchange) && exchange.holding !== null) {
      // as in the plugin, messages still waiting go with their exchange
      exchange.holding.delete();
      this.store.deleteQueue(exchange.holding.id);
      exchange.holding = null;
    }
  }

  private maybeAutoDelete(exchange: Exchange): void {
    if (exchange.options.autoDelete && exchange.bindingCount === 0 && !exchange.deleted) this.removeExchange(exchange);
  }

  // ---- queues ----------------------------------------------------------------------------------

  /** Looks a queue up for use by `owner`: 404 when missing, 405 when exclusive to someone else. */
  getQueue(name: string, owner: string | null = null): Queue {
    const queue = this.queues.get(name);
    if (queue === undefined) throw notFound(`no queue '${name}' in vhost '${this.name}'`);
    this.checkOwner(queue, owner);
    return queue;
  }

  private checkOwner(queue: Queue, owner: string | null): void {
    const holder = queue.options.exclusiveOwner;
    if (holder !== null && holder !== owner) {
      throw resourceLocked(
        `cannot obtain exclusive access to locked queue '${queue.name}' in vhost '${this.name}'. ` +
          'It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.',
      );
    }
  }

  declareQueue(request: QueueDeclaration): Queue {
    this.context.metrics.queuesDeclared++;
    const owner = request.owner ?? null;
    let name = request.name;
    if (request.passive) {
      const queue = this.queues.get(name);
      if (queue === undefined) throw notFound(`no queue '${name}' in vhost '${this.name}'`);
      this.checkOwner(queue, owner);
      // a passive declare only looks (monitoring must not keep an x-expires queue alive)
      return queue;
    }
    if (name === '') name = `amq.gen-${randomBytes(16).toString('base64url')}`;
    else if (reservedName(name)) throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`);
    requireShortString('queue', name);
    request.authorize?.(name);
    const durable = request.durable ?? false;
    const exclusive = request.exclusive ?? false;
    const autoDelete = request.autoDelete ?? false;
    const args = request.arguments ?? {};
    requireEncodableArguments(args);
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      this.checkOwner(existing, exclusive ? owner : null);
      requireEquivalent('queue', name, this.name, 'durable', durable, existing.options.durable);
      requireEquivalent('queue', name, this.name, 'exclusive', exclusive, existing.options.exclusiveOwner !== null);
      requireEquivalent('queue', name, this.name, 'auto_delete', autoDelete, existing.options.autoDelete);
      requireEquivalentArgs('queue', name, this.name, args, existing.options.arguments);
      existing.touch();
      return existing;
    }
    const { policy, features } = this.featuresOf(name, args);
    if (features.queueType === 'quorum') {
      // RabbitMQ's texts: a quorum queue is durable, has no owner and is never auto-deleted
      const invalid = !durable ? 'non-durable' : exclusive ? 'exclusive-owner' : autoDelete ? 'auto-delete' : null;
      if (invalid !== null) throw preconditionFailed(`invalid property '${invalid}' for queue '${name}' in vhost '${this.name}'`);
    }
    const max = this.context.maxQueues;
    if (max > 0 && this.queues.size >= max) {
      // RabbitMQ's text and kind for its vhost queue limit
      throw preconditionFailed(`cannot declare queue '${name}': queue limit in vhost '${this.name}' (${max}) is reached`);
    }
    const queue = new Queue(
      this.context.nextQueueId(),
      this.name,
      name,
      { durable, exclusiveOwner: exclusive ? owner : null, autoDelete, arguments: args },
      features,
      this,
      this.store,
      this.context.metrics,
      this.context.queueLimits,
    );
    if (policy !== null) queue.applyPolicy(policy, features);
    this.queues.set(name, queue);
    if (exclusive && owner !== null) this.exclusiveQueues.add(owner, queue);
    this.context.metrics.queuesCreated++;
    if (durable && !exclusive) {
      this.store.putQueue({ id: queue.id, vhost: this.name, name, autoDelete, arguments: args });
    }
    return queue;
  }

  /** Deletes a queue; returns the number of ready messages it held. Missing queue: 0. */
  deleteQueue(name: string, conditions: QueueDeleteConditions = {}): number {
    const queue = this.queues.get(name);
    if (queue === undefined) return 0;
    this.checkOwner(queue, conditions.owner ?? null);
    if (conditions.ifUnused && queue.consumerCount > 0) {
      throw preconditionFailed(`queue '${name}' in vhost '${this.name}' in use`);
    }
    if (conditions.ifEmpty && queue.messageCount > 0) {
      throw preconditionFailed(`queue '${name}' in vhost '${this.name}' is not empty`);
    }
    return this.removeQueue(queue);
  }

  purgeQueue(name: string, owner: string | null = null): number {
    return this.getQueue(name, owner).purge();
  }

  private removeQueue(queue: Queue): number {
    this.queues.delete(queue.name);
    const owner = queue.options.exclusiveOwner;
    if (owner !== null) this.exclusiveQueues.remove(owner, queue);
    this.context.metrics.queuesDeleted++;
    const count = queue.delete();
    for (const exchange of queue.inbound.sources()) {
      if (exchange.unbindDestination(queue).length > 0) this.maybeAutoDelete(exchange);
    }
    this.store.deleteQueue(queue.id);
    return count;
  }

  /** The vhost is being deleted: every queue and exchange goes, durably. */
  deleteAll(): void {
    for (const queue of [...this.queues.values()]) this.removeQueue(queue);
    for (const exchange of [...this.exchanges.values()]) if (exchange.name !== '' && !exchange.deleted) this.removeExchange(exchange);
  }

  onQueueUnused(queue: Queue): void {
    if (this.queues.get(queue.name) === queue) this.removeQueue(queue);
  }

  /** An owner (connection) went away: its exclusive queues go with it. */
  releaseOwner(owner: string): void {
    for (const queue of this.exclusiveQueues.take(owner)) this.removeQueue(queue);
  }

  // ---- bindings --------------------------------------------------------------------------------

  private resolveDestination(kind: 'queue' | 'exchange', name: string, owner: string | null): Destination {
    if (kind === 'queue') return this.getQueue(name, owner);
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    return this.getExchange(name);
  }

  /** The binding a bind/unbind request names, with both ends resolved (404/403/405 as due). */
  private bindingFor(
    kind: 'queue' | 'exchange',
    destinationName: string,
    sourceName: string,
    routingKey: string,
    args: FieldTable,
    owner: string | null,
  ): Binding {
    const destination = this.resolveDestination(kind, destinationName, owner);
    return new Binding(this.resolveSource(sourceName), destination, routingKey, args);
  }

  private resolveSource(name: string): Exchange {
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    return this.getExchange(name);
  }

  bind(
    kind: 'queue' | 'exchange',
    destinationName: string,
    sourceName: string,
    routingKey: string,
    args: FieldTable = {},
    owner: string | null = null,
  ): void {
    requireEncodableArguments(args);
    const binding = this.bindingFor(kind, destinationName, sourceName, routingKey, args, owner);
    const { source, destination } = binding;
    if (source.routingType === 'headers' && matchModeOf(args) === undefined) {
      throw preconditionFailed(`Invalid x-match field value '${String(args['x-match'])}'; expected all, any, all-with-x, or any-with-x`);
    }
    if (!source.bind(binding)) return;
    if (source.durable && this.isDurable(destination)) {
      this.store.putBinding(
        {
          vhost: this.name,
          source: source.name,
          destinationKind: kind,
          destination: destination.name,
          routingKey,
          arguments: args,
        },
        binding.key,
      );
    }
  }

  unbind(
    kind: 'queue' | 'exchange',
    destinationName: string,
    sourceName: string,
    routingKey: string,
    args: FieldTable = {},
    owner: string | null = null,
  ): void {
    const requested = this.bindingFor(kind, destinationName, sourceName, routingKey, args, owner);
    const { source, destination } = requested;
    const removed = source.unbind(requested);
    if (removed === undefined) return; // RabbitMQ: unbinding a missing binding succeeds
    if (source.durable && this.isDurable(destination)) this.store.deleteBinding(this.name, source.name, removed.key);
    this.maybeAutoDelete(source);
  }

  private isDurable(destination: Destination): boolean {
    return isQueue(destination)
      ? destination.durable && destination.options.exclusiveOwner === null
      : destination.durable;
  }

  /** Re-creates a recovered binding without writing it back. */
  restoreBinding(kind: 'queue' | 'exchange', destinationName: string, sourceName: string, routingKey: string, args: FieldTable): boolean {
    const source = this.exchanges.get(sourceName);
    const destination = kind === 'queue' ? this.queues.get(destinationName) : this.exchanges.get(destinationName);
    if (source === undefined || destination === undefined || sourceName === '') return false;
    source.bind(new Binding(source, destination, routingKey, args));
    return true;
  }

  /** Re-creates a recovered exchange without writing it back. */
  restoreExchange(name: string, type: string, autoDelete: boolean, internal: boolean, args: FieldTable): void {
    if (this.exchanges.has(name) || !isExchangeType(type)) return;
    this.exchanges.set(name, createExchange(this.name, name, type, { durable: true, autoDelete, internal, arguments: args }));
  }

  /** Re-creates a recovered durable queue (or a delayed-message exchange's holding queue) without writing it back. */
  restoreQueue(id: number, name: string, autoDelete: boolean, args: FieldTable): Queue {
    if (name.startsWith(HOLDING_QUEUE_PREFIX)) {
      const exchange = this.exchanges.get(name.slice(HOLDING_QUEUE_PREFIX.length));
      if (exchange !== undefined && isDelayedMessageExchange(exchange) && exchange.holding === null) return this.createHolding(exchange, id);
      const orphan = this.newQueue(id, name, { durable: true, exclusiveOwner: null, autoDelete, arguments: args });
      this.store.deleteQueue(id);
      return orphan;
    }
    const queue = this.newQueue(id, name, { durable: true, exclusiveOwner: null, autoDelete, arguments: args });
    this.queues.set(name, queue);
    return queue;
  }

  // ---- introspection ---------------------------------------------------------------------------

  /** The exchange of that name if it exists. */
  findExchange(name: string): Exchange | undefined {
    return this.exchanges.get(name);
  }

  /** The queue of that name if it exists (no ownership check: for listings and lookups by name). */
  findQueue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  /** The vhost's queues, optionally only those whose name starts with `prefix`. */
  listQueues(prefix = ''): Queue[] {
    const out: Queue[] = [];
    for (const queue of this.queues.values()) if (queue.name.startsWith(prefix)) out.push(queue);
    return out;
  }

  snapshot(): VhostSnapshot {
    return vhostSnapshot(this.name, this.exchanges.size, this.queues.values());
  }

  queueSnapshots(): QueueSnapshot[] {
    const now = Date.now();
    return [...this.queues.values()].map((queue) => queue.snapshot(now));
  }

  exchangeSnapshots(): ExchangeSnapshot[] {
    return [...this.exchanges.values()].map((exchange) => exchangeSnapshot(this.name, exchange));
  }

  bindingSnapshots(): BindingSnapshot[] {
    return bindingSnapshots(this.name, this.queues.values(), this.exchanges.values());
  }

  consumerSnapshots(): ConsumerSnapshot[] {
    const out: ConsumerSnapshot[] = [];
    for (const queue of this.queues.values()) out.push(...queue.consumerSnapshots());
    return out;
  }
}
