import type { FieldTable } from '../encoding/field-table';
import type { Queue } from '../queue/queue';
import type { Binding, Destination } from './binding';
import { Exchange } from './exchange';

/**
 * The nameless direct exchange: every queue is implicitly bound to it by its own name. It cannot
 * be bound or unbound explicitly (the virtual host refuses that before it gets here).
 */
export class DefaultExchange extends Exchange {
  readonly type = 'direct';

  constructor(
    vhost: string,
    private readonly queues: ReadonlyMap<string, Queue>,
  ) {
    super(vhost, '', { durable: true, autoDelete: false, internal: false, arguments: {} });
  }

  match(routingKey: string, _headers: FieldTable | undefined, out: Destination[]): void {
    const queue = this.queues.get(routingKey);
    if (queue !== undefined) out.push(queue);
  }

  added(_binding: Binding): void {
    throw new Error('the default exchange has no explicit bindings');
  }

  removed(_binding: Binding): void {}
}
