import type { Consumer, FieldTable, Queue, QueueEntry } from '#core';
import type { ConsumerCredit } from './unacked-deliveries';

/** What a consumer needs from its channel. */
export interface ConsumerHost {
  canDeliver(consumer: AmqpConsumer, entry: QueueEntry): boolean;
  deliver(consumer: AmqpConsumer, entry: QueueEntry): void;
  consumerCancelledByQueue(consumer: AmqpConsumer): void;
}

/** An AMQP basic.consume subscription: the core's Consumer with per-consumer prefetch. */
export class AmqpConsumer implements Consumer {
  constructor(
    private readonly host: ConsumerHost,
    readonly queue: Queue,
    readonly tag: string,
    readonly autoAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** basic.qos(global=false) in force when it subscribed, and what it holds. */
    readonly credit: ConsumerCredit,
    private readonly args: FieldTable,
    /** Connection and channel, for introspection. */
    readonly owner: string,
  ) {}

  get arguments(): FieldTable {
    return this.args;
  }

  get prefetchCount(): number {
    return this.credit.prefetchCount;
  }

  hasCredit(entry: QueueEntry): boolean {
    return this.host.canDeliver(this, entry);
  }

  deliver(entry: QueueEntry): void {
    this.host.deliver(this, entry);
  }

  cancelledByQueue(): void {
    this.host.consumerCancelledByQueue(this);
  }
}
