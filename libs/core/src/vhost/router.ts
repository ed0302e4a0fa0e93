import type { FieldTable } from '../encoding/field-table';
import { Destination, isQueue } from '../exchange/binding';
import type { Exchange } from '../exchange/exchange';
import type { Queue } from '../queue/queue';

/** Resolves an exchange name (for alternate exchanges). */
export type ExchangeLookup = (name: string) => Exchange | undefined;

/**
 * Walks the exchange graph for one message: exchange-to-exchange bindings, alternate exchanges
 * when an exchange routes nowhere, each queue at most once, each exchange visited once (cycles are
 * harmless). Reuses its arrays, so routing allocates nothing in the steady state.
 */
export class Router {
  private mark = 0;
  private readonly scratch: Destination[] = [];
  private readonly pending: Exchange[] = [];

  constructor(private readonly lookup: ExchangeLookup) {}

  /** Fills `out` with the distinct queues the message reaches; returns their count. */
  route(exchange: Exchange, routingKey: string, headers: FieldTable | undefined, out: Queue[]): number {
    const mark = ++this.mark;
    out.length = 0;
    const pending = this.pending;
    pending.length = 0;
    exchange.routeMark = mark;
    pending.push(exchange);
    while (pending.length > 0) {
      const current = pending.pop()!;
      const scratch = this.scratch;
      scratch.length = 0;
      current.match(routingKey, headers, scratch);
      for (let i = 0; i < scratch.length; i++) {
        const destination = scratch[i]!;
        if (destination.routeMark === mark || destination.deleted) continue;
        destination.routeMark = mark;
        if (isQueue(destination)) out.push(destination);
        else pending.push(destination);
      }
      // As in RabbitMQ: an exchange whose own bindings match nothing hands over to its alternate.
      if (scratch.length === 0) {
        const alternateName = current.alternateExchange;
        const alternate = alternateName === undefined ? undefined : this.lookup(alternateName);
        if (alternate !== undefined && alternate.routeMark !== mark) {
          alternate.routeMark = mark;
          pending.push(alternate);
        }
      }
    }
    this.scratch.length = 0;
    return out.length;
  }
}
