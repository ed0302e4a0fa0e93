import type { FieldTable } from '../encoding/field-table';
import type { Binding, Destination } from './binding';
import { Exchange } from './exchange';

/** Routes to every binding whose key equals the routing key. */
export class DirectExchange extends Exchange {
  readonly type = 'direct';
  private readonly byRoutingKey = new Map<string, Destination[]>();

  match(routingKey: string, _headers: FieldTable | undefined, out: Destination[]): void {
    const destinations = this.byRoutingKey.get(routingKey);
    if (destinations === undefined) return;
    for (let i = 0; i < destinations.length; i++) out.push(destinations[i]!);
  }

  added(binding: Binding): void {
    const list = this.byRoutingKey.get(binding.routingKey);
    if (list) list.push(binding.destination);
    else this.byRoutingKey.set(binding.routingKey, [binding.destination]);
  }

  removed(binding: Binding): void {
    const list = this.byRoutingKey.get(binding.routingKey);
    if (!list) return;
    // the same destination may be bound with this key twice (different arguments): drop one
    const at = list.indexOf(binding.destination);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.byRoutingKey.delete(binding.routingKey);
  }
}
