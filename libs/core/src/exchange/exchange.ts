import type { FieldTable } from '../encoding/field-table';
import { Binding, Destination } from './binding';
import { InboundBindings } from './inbound-bindings';

/** The routing rules of AMQP 0-9-1. */
export type RoutingType = 'direct' | 'fanout' | 'topic' | 'headers';
export type ExchangeType = RoutingType | 'x-delayed-message';

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

/**
 * An exchange: a set of bindings and a rule that picks the destinations of a message.
 * `match` appends destinations to `out` (duplicates allowed; the router removes them).
 */
export abstract class Exchange {
  abstract readonly type: ExchangeType;
  readonly kind = 'exchange';
  /** Stamp used by routing to visit an exchange once per publish. */
  routeMark = 0;
  deleted = false;
  protected readonly byKey = new Map<string, Binding>();
  /** Exchanges bound to this one (exchange-to-exchange bindings). */
  readonly inbound = new InboundBindings();

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly options: ExchangeOptions,
  ) {}

  /** The rule that matches bindings (a delayed-message exchange routes by its x-delayed-type). */
  get routingType(): RoutingType {
    return this.type as RoutingType;
  }

  get durable(): boolean {
    return this.options.durable;
  }

  get alternateExchange(): string | undefined {
    const ae = this.options.arguments['alternate-exchange'];
    return typeof ae === 'string' ? ae : undefined;
  }

  get bindingCount(): number {
    return this.byKey.size;
  }

  bindings(): IterableIterator<Binding> {
    return this.byKey.values();
  }

  /** Adds the binding; false when an identical one exists. */
  bind(binding: Binding): boolean {
    if (this.byKey.has(binding.key)) return false;
    this.byKey.set(binding.key, binding);
    this.added(binding);
    binding.destination.inbound.add(this);
    return true;
  }

  /** Removes the binding with the same identity; false when there is none. */
  unbind(binding: Binding): Binding | undefined {
    const existing = this.byKey.get(binding.key);
    if (existing === undefined) return undefined;
    this.byKey.delete(binding.key);
    this.removed(existing);
    existing.destination.inbound.remove(this);
    return existing;
  }

  /** Removes every binding to `destination`; returns them. */
  unbindDestination(destination: Destination): Binding[] {
    const gone: Binding[] = [];
    for (const binding of this.byKey.values()) if (binding.destination === destination) gone.push(binding);
    for (const binding of gone) this.unbind(binding);
    return gone;
  }

  abstract match(routingKey: string, headers: FieldTable | undefined, out: Destination[]): void;
  /** Indexes a binding for `match`; called by `bind` only. */
  abstract added(binding: Binding): void;
  /** Drops a binding from the index; called by `unbind` only. */
  abstract removed(binding: Binding): void;
}
