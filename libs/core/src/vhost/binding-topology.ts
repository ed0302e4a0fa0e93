import type { FieldTable } from '../encoding/field-table';
import { Binding, Destination, isQueue } from '../exchange/binding';
import type { Exchange } from '../exchange/exchange';
import { matchModeOf } from '../exchange/headers-match';
import { accessRefused, preconditionFailed } from '../errors';
import { requireEncodableArguments } from './declaration-checks';
import type { ExchangeTopology } from './exchange-topology';
import type { QueueTopology } from './queue-topology';
import type { VhostContext } from './vhost-requests';

export type DestinationKind = 'queue' | 'exchange';

/** A virtual host's bindings: bind and unbind with RabbitMQ's checks, durably when both ends are, and recovery. */
export class BindingTopology {
  constructor(
    private readonly vhost: string,
    private readonly context: VhostContext,
    private readonly exchanges: ExchangeTopology,
    private readonly queues: QueueTopology,
  ) {}

  bind(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable, owner: string | null): void {
    requireEncodableArguments(args);
    const binding = this.bindingFor(kind, destinationName, sourceName, routingKey, args, owner);
    const { source, destination } = binding;
    if (source.routingType === 'headers' && matchModeOf(args) === undefined) {
      throw preconditionFailed(`Invalid x-match field value '${String(args['x-match'])}'; expected all, any, all-with-x, or any-with-x`);
    }
    if (!source.bind(binding)) return;
    if (source.durable && isDurable(destination)) {
      this.context.definitions.putBinding(
        { vhost: this.vhost, source: source.name, destinationKind: kind, destination: destination.name, routingKey, arguments: args },
        binding.key,
      );
    }
  }

  unbind(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable, owner: string | null): void {
    const requested = this.bindingFor(kind, destinationName, sourceName, routingKey, args, owner);
    const { source, destination } = requested;
    const removed = source.unbind(requested);
    if (removed === undefined) return; // RabbitMQ: unbinding a missing binding succeeds
    if (source.durable && isDurable(destination)) this.context.definitions.deleteBinding(this.vhost, source.name, removed.key);
    this.exchanges.removeIfUnused(source);
  }

  /** Re-creates a recovered binding without writing it back. */
  restore(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): boolean {
    const source = this.exchanges.all.get(sourceName);
    const destination = kind === 'queue' ? this.queues.all.get(destinationName) : this.exchanges.all.get(destinationName);
    if (source === undefined || destination === undefined || sourceName === '') return false;
    source.bind(new Binding(source, destination, routingKey, args));
    return true;
  }

  /** Removes a binding unchecked, if both its ends and it exist (a delete another broker node committed). */
  drop(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    const source = this.exchanges.all.get(sourceName);
    const destination = kind === 'queue' ? this.queues.all.get(destinationName) : this.exchanges.all.get(destinationName);
    if (source === undefined || destination === undefined || sourceName === '') return;
    if (source.unbind(new Binding(source, destination, routingKey, args)) !== undefined) this.exchanges.removeIfUnused(source);
  }

  /** The binding a bind/unbind request names, with both ends resolved (404/403/405 as due). */
  private bindingFor(kind: DestinationKind, destinationName: string, sourceName: string, routingKey: string, args: FieldTable, owner: string | null): Binding {
    const destination = this.resolveDestination(kind, destinationName, owner);
    return new Binding(this.resolveSource(sourceName), destination, routingKey, args);
  }

  private resolveDestination(kind: DestinationKind, name: string, owner: string | null): Destination {
    if (kind === 'queue') return this.queues.get(name, owner);
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    return this.exchanges.get(name);
  }

  private resolveSource(name: string): Exchange {
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    return this.exchanges.get(name);
  }
}

const isDurable = (destination: Destination): boolean =>
  isQueue(destination) ? destination.durable && destination.options.exclusiveOwner === null : destination.durable;
