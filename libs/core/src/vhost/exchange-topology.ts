import { DefaultExchange } from '../exchange/default-exchange';
import { DELAYED_MESSAGE_TYPE, isDelayedMessageExchange } from '../exchange/delayed-message-exchange';
import type { Exchange, ExchangeType } from '../exchange/exchange';
import { createExchange, isExchangeType } from '../exchange/exchange-factory';
import { accessRefused, invalidRequest, notFound, preconditionFailed } from '../errors';
import type { FieldTable } from '../encoding/field-table';
import type { Queue } from '../queue/queue';
import { requireEncodableArguments, requireShortString, reservedName } from './declaration-checks';
import type { DelayedHoldings } from './delayed-holdings';
import { requireEquivalent, requireEquivalentArgs } from './equivalence';
import type { ExchangeDeclaration, VhostContext } from './vhost-requests';

const PREDECLARED: readonly [string, ExchangeType][] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

/**
 * A virtual host's exchanges: the default and predeclared ones, declares with RabbitMQ's checks
 * and equivalence rules, deletes (with auto-delete of exchanges left without bindings), recovery.
 */
export class ExchangeTopology {
  constructor(
    private readonly vhost: string,
    private readonly context: VhostContext,
    private readonly holdings: DelayedHoldings,
    queues: ReadonlyMap<string, Queue>,
    /** By name; the default exchange is ''. Shared with routing, which looks alternate exchanges up. */
    readonly all: Map<string, Exchange>,
  ) {
    this.all.set('', new DefaultExchange(vhost, queues));
    for (const [name, type] of PREDECLARED) {
      this.all.set(name, createExchange(vhost, name, type, { durable: true, autoDelete: false, internal: false, arguments: {} }));
    }
  }

  /** The exchange of that name; 404 when it does not exist. */
  get(name: string): Exchange {
    const exchange = this.all.get(name);
    if (exchange === undefined) throw notFound(`no exchange '${name}' in vhost '${this.vhost}'`);
    return exchange;
  }

  declare(request: ExchangeDeclaration): Exchange {
    const { name } = request;
    const existing = this.all.get(name);
    if (request.passive) {
      if (existing === undefined) throw notFound(`no exchange '${name}' in vhost '${this.vhost}'`);
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
      requireEquivalent('exchange', name, this.vhost, 'type', request.type, existing.type);
      requireEquivalent('exchange', name, this.vhost, 'durable', durable, existing.options.durable);
      requireEquivalent('exchange', name, this.vhost, 'auto_delete', autoDelete, existing.options.autoDelete);
      requireEquivalent('exchange', name, this.vhost, 'internal', internal, existing.options.internal);
      requireEquivalentArgs('exchange', name, this.vhost, args, existing.options.arguments);
      return existing;
    }
    const sharedOnly = this.context.queueTypes.sharedOnlyReason;
    if (request.type === DELAYED_MESSAGE_TYPE && sharedOnly !== null) {
      // its messages wait in a holding queue of this node's
      throw preconditionFailed(`cannot declare exchange '${name}' in vhost '${this.vhost}': an x-delayed-message exchange holds its messages on one node; ${sharedOnly}`);
    }
    const exchange = createExchange(this.vhost, name, request.type, { durable, autoDelete, internal, arguments: args });
    this.all.set(name, exchange);
    if (durable) {
      this.context.definitions.putExchange({ vhost: this.vhost, name, type: request.type, durable, autoDelete, internal, arguments: args });
    }
    if (isDelayedMessageExchange(exchange)) this.holdings.open(exchange);
    return exchange;
  }

  delete(name: string, ifUnused: boolean): void {
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    if (reservedName(name)) throw accessRefused(`operation not permitted on exchange '${name}'`);
    const exchange = this.all.get(name);
    if (exchange === undefined) return; // RabbitMQ: deleting a missing exchange succeeds
    if (ifUnused && exchange.bindingCount > 0) {
      throw preconditionFailed(`exchange '${name}' in vhost '${this.vhost}' in use`);
    }
    this.remove(exchange);
  }

  remove(exchange: Exchange): void {
    exchange.deleted = true;
    this.all.delete(exchange.name);
    // bindings from it and to it (exchange-to-exchange)
    for (const binding of [...exchange.bindings()]) exchange.unbind(binding);
    for (const other of exchange.inbound.sources()) {
      if (other.unbindDestination(exchange).length > 0) this.removeIfUnused(other);
    }
    if (exchange.durable) this.context.definitions.deleteExchange(this.vhost, exchange.name);
    if (isDelayedMessageExchange(exchange)) this.holdings.close(exchange);
  }

  /** An auto-delete exchange goes with its last binding. */
  removeIfUnused(exchange: Exchange): void {
    if (exchange.options.autoDelete && exchange.bindingCount === 0 && !exchange.deleted) this.remove(exchange);
  }

  /** Re-creates a recovered exchange without writing it back. */
  restore(name: string, type: string, autoDelete: boolean, internal: boolean, args: FieldTable): void {
    if (this.all.has(name) || !isExchangeType(type)) return;
    this.all.set(name, createExchange(this.vhost, name, type, { durable: true, autoDelete, internal, arguments: args }));
  }

  /** The vhost is being deleted: every exchange but the default goes, durably. */
  removeAll(): void {
    for (const exchange of [...this.all.values()]) if (exchange.name !== '' && !exchange.deleted) this.remove(exchange);
  }
}
