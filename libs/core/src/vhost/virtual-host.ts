import type { FieldTable } from '../encoding/field-table';
import { isDelayedMessageExchange } from '../exchange/delayed-message-exchange';
import type { Exchange } from '../exchange/exchange';
import type { BindingSnapshot, ConsumerSnapshot, ExchangeSnapshot, QueueSnapshot, VhostSnapshot } from '../introspection/snapshots';
import { bindingSnapshots, exchangeSnapshot, vhostSnapshot } from '../introspection/vhost-snapshots';
import type { Message } from '../message/message';
import type { DeathReason } from '../queue/dead-letter';
import type { Queue } from '../queue/queue';
import type { QueueOwner } from '../queue/queue-type';
import { BindingTopology, DestinationKind } from './binding-topology';
import { deadLetter } from './dead-lettering';
import { DelayedHoldings } from './delayed-holdings';
import { ExchangeTopology } from './exchange-topology';
import { AlarmRule, Intake } from './intake';
import type { PublishOutcome, RefusedOutcome } from './publish-outcome';
import { QueueTopology } from './queue-topology';
import { Router } from './router';
import type { ExchangeDeclaration, QueueDeclaration, QueueDeleteConditions, VhostContext } from './vhost-requests';

export type { ExchangeDeclaration, QueueDeclaration, QueueDeleteConditions, VhostContext } from './vhost-requests';
export type { AlarmRule } from './intake';

/**
 * A virtual host: its exchanges, queues and bindings, with RabbitMQ's checks on every declare,
 * bind and delete, and the intake every door publishes through. Doors reach queues only through
 * the checked lookups here. Each concept is its own part (exchange-topology, queue-topology,
 * binding-topology, intake, dead-lettering, delayed-holdings); this class composes them.
 */
export class VirtualHost implements QueueOwner {
  private readonly exchanges: ExchangeTopology;
  private readonly queues: QueueTopology;
  private readonly bindings: BindingTopology;
  private readonly holdings: DelayedHoldings;
  private readonly intake: Intake;
  private readonly router: Router;

  constructor(
    readonly name: string,
    private readonly context: VhostContext,
  ) {
    this.queues = new QueueTopology(name, context, this);
    const exchanges = new Map<string, Exchange>();
    this.router = new Router((exchangeName) => exchanges.get(exchangeName));
    this.holdings = new DelayedHoldings(name, context, this, this.router, exchanges);
    this.exchanges = new ExchangeTopology(name, context, this.holdings, this.queues.all, exchanges);
    this.queues.exchanges = this.exchanges;
    this.bindings = new BindingTopology(name, context, this.exchanges, this.queues);
    this.intake = new Intake(name, exchanges, this.router, this.holdings, context);
  }

  // ---- what its queues ask of it (QueueOwner) --------------------------------------------------

  nextSeq(): number {
    return this.context.nextSeq();
  }

  deadLetter(source: Queue, message: Message, reason: DeathReason): void {
    deadLetter(this.exchanges.all, this.router, source, message, reason);
  }

  onQueueUnused(queue: Queue): void {
    this.queues.removeIfCurrent(queue);
  }

  // ---- intake ----------------------------------------------------------------------------------

  /**
   * Routes and enqueues a message: the one intake path of every door (intake.ts). Throws 404 for
   * an unknown exchange, 403 for an internal one, 406 for a message that cannot be kept; whatever
   * else happens is in the outcome. `onAlarm`: what a resource alarm does to it (default: accept,
   * the AMQP door blocking its publisher afterwards).
   */
  publish(exchangeName: string, message: Message, onAlarm: AlarmRule = 'accept'): PublishOutcome {
    return this.intake.publish(exchangeName, message, onAlarm);
  }

  publishTo(exchange: Exchange, message: Message, onAlarm: AlarmRule = 'accept'): PublishOutcome {
    return this.intake.publishTo(exchange, message, onAlarm);
  }

  /** A door that refuses during resource alarms asks first, before it does any work: the refusal, or null. */
  alarmRefusal(): RefusedOutcome | null {
    return this.intake.alarmRefusal();
  }

  // ---- exchanges -------------------------------------------------------------------------------

  getExchange(name: string): Exchange {
    return this.exchanges.get(name);
  }

  declareExchange(request: ExchangeDeclaration): Exchange {
    return this.exchanges.declare(request);
  }

  deleteExchange(name: string, ifUnused = false): void {
    this.exchanges.delete(name, ifUnused);
  }

  // ---- queues ----------------------------------------------------------------------------------

  /** Looks a queue up for use by `owner`: 404 when missing, 405 when exclusive to someone else. */
  getQueue(name: string, owner: string | null = null): Queue {
    return this.queues.get(name, owner);
  }

  declareQueue(request: QueueDeclaration): Queue {
    return this.queues.declare(request);
  }

  /** Deletes a queue; returns the number of ready messages it held. Missing queue: 0. */
  deleteQueue(name: string, conditions: QueueDeleteConditions = {}): number {
    return this.queues.delete(name, conditions);
  }

  purgeQueue(name: string, owner: string | null = null): number {
    return this.queues.get(name, owner).purge();
  }

  /** An owner (connection) went away: its exclusive queues go with it. */
  releaseOwner(owner: string): void {
    this.queues.releaseOwner(owner);
  }

  /** Policies changed: every queue takes its new effective settings. */
  reapplyPolicies(): void {
    this.queues.reapplyPolicies();
  }

  /** The vhost is being deleted: every queue and exchange goes, durably. */
  deleteAll(): void {
    this.queues.removeAll();
    this.exchanges.removeAll();
  }

  // ---- bindings --------------------------------------------------------------------------------

  bind(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable = {}, owner: string | null = null): void {
    this.bindings.bind(kind, destinationName, sourceName, routingKey, args, owner);
  }

  unbind(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable = {}, owner: string | null = null): void {
    this.bindings.unbind(kind, destinationName, sourceName, routingKey, args, owner);
  }

  // ---- recovery --------------------------------------------------------------------------------

  /** Re-creates a recovered exchange without writing it back. */
  restoreExchange(name: string, type: string, autoDelete: boolean, internal: boolean, args: FieldTable): void {
    this.exchanges.restore(name, type, autoDelete, internal, args);
  }

  /** Re-creates a recovered durable queue (or a delayed-message exchange's holding queue) without writing it back. */
  restoreQueue(id: number, name: string, autoDelete: boolean, args: FieldTable): Queue {
    if (this.holdings.isHoldingQueue(name)) return this.holdings.restore(id, name, autoDelete);
    return this.queues.restore(id, name, autoDelete, args);
  }

  /** Re-creates a recovered binding without writing it back. */
  restoreBinding(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): boolean {
    return this.bindings.restore(kind, destinationName, sourceName, routingKey, args);
  }

  // ---- changes another broker node committed (Broker.applyDefinitionChange: writes muted) ------

  /** Removes the exchange with its bindings, unchecked (the node that deleted it checked). */
  dropExchange(name: string): void {
    const exchange = this.exchanges.all.get(name);
    if (exchange !== undefined && name !== '') this.exchanges.remove(exchange);
  }

  /** Removes the queue with its bindings and messages, unchecked. */
  dropQueue(name: string): void {
    const queue = this.queues.all.get(name);
    if (queue !== undefined) this.queues.remove(queue);
  }

  /** Removes the binding, unchecked, if it and both its ends exist. */
  dropBinding(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    this.bindings.drop(kind, destinationName, sourceName, routingKey, args);
  }

  /** After recovery: delayed messages that came back start waiting (or go, when due). */
  resumeAfterRecovery(): void {
    for (const exchange of this.exchanges.all.values()) if (isDelayedMessageExchange(exchange)) this.holdings.resume(exchange);
  }

  // ---- introspection ---------------------------------------------------------------------------

  /** The exchange of that name if it exists. */
  findExchange(name: string): Exchange | undefined {
    return this.exchanges.all.get(name);
  }

  /** The queue of that name if it exists (no ownership check: for listings and lookups by name). */
  findQueue(name: string): Queue | undefined {
    return this.queues.all.get(name);
  }

  /** The vhost's queues, optionally only those whose name starts with `prefix`. */
  listQueues(prefix = ''): Queue[] {
    return this.queues.list(prefix);
  }

  snapshot(): VhostSnapshot {
    return vhostSnapshot(this.name, this.exchanges.all.size, this.queues.all.values());
  }

  queueSnapshots(): QueueSnapshot[] {
    const now = Date.now();
    return [...this.queues.all.values()].map((queue) => queue.snapshot(now));
  }

  exchangeSnapshots(): ExchangeSnapshot[] {
    return [...this.exchanges.all.values()].map((exchange) => exchangeSnapshot(this.name, exchange));
  }

  bindingSnapshots(): BindingSnapshot[] {
    return bindingSnapshots(this.name, this.queues.all.values(), this.exchanges.all.values());
  }

  consumerSnapshots(): ConsumerSnapshot[] {
    const out: ConsumerSnapshot[] = [];
    for (const queue of this.queues.all.values()) out.push(...queue.consumerSnapshots());
    return out;
  }
}
