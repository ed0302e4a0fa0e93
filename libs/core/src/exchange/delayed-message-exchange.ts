import type { FieldTable } from '../encoding/field-table';
import type { DelayedHoldingQueue } from '../queue/types/delayed-holding-queue';
import type { Binding, Destination } from './binding';
import { Exchange, ExchangeOptions, RoutingType } from './exchange';

export const DELAYED_MESSAGE_TYPE = 'x-delayed-message';
/** The header that asks for a delay, in milliseconds (as RabbitMQ's delayed-message plugin). */
export const DELAY_HEADER = 'x-delay';

/**
 * An exchange of type x-delayed-message: it routes by its `x-delayed-type` rule, but a message
 * published with a positive `x-delay` header first waits in the exchange's holding queue (hidden,
 * durable when the exchange is) and is routed when its time comes.
 */
export class DelayedMessageExchange extends Exchange {
  readonly type = 'x-delayed-message';
  /** Where delayed messages wait; set by the virtual host when it creates or recovers it. */
  holding: DelayedHoldingQueue | null = null;

  constructor(
    vhost: string,
    name: string,
    options: ExchangeOptions,
    private readonly rule: Exchange,
  ) {
    super(vhost, name, options);
  }

  override get routingType(): RoutingType {
    return this.rule.routingType;
  }

  match(routingKey: string, headers: FieldTable | undefined, out: Destination[]): void {
    this.rule.match(routingKey, headers, out);
  }

  added(binding: Binding): void {
    this.rule.added(binding);
  }

  removed(binding: Binding): void {
    this.rule.removed(binding);
  }
}

/** The delay a message asks for (ms), or 0 to route it at once: a missing, non-integer or non-positive x-delay. */
export function requestedDelay(headers: FieldTable | undefined): number {
  const value = headers?.[DELAY_HEADER];
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : 0;
  if (typeof value === 'bigint') return value > 0n ? Number(value) : 0;
  return 0;
}

export const isDelayedMessageExchange = (exchange: Exchange): exchange is DelayedMessageExchange => exchange.type === DELAYED_MESSAGE_TYPE;
