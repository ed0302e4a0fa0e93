import type { FieldTable } from '../encoding/field-table';
import type { Binding, Destination } from './binding';
import { Exchange } from './exchange';

/** Routes to every binding, whatever the routing key. */
export class FanoutExchange extends Exchange {
  readonly type = 'fanout';
  private destinations: Destination[] = [];

  match(_routingKey: string, _headers: FieldTable | undefined, out: Destination[]): void {
    const destinations = this.destinations;
    for (let i = 0; i < destinations.length; i++) out.push(destinations[i]!);
  }

  added(binding: Binding): void {
    this.destinations.push(binding.destination);
  }

  removed(binding: Binding): void {
    const at = this.destinations.indexOf(binding.destination);
    if (at >= 0) this.destinations.splice(at, 1);
  }
}
