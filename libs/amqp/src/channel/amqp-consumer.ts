import type { Consumer, FieldTable, Queue, QueueEntry } from '#core';

/** What a consumer needs from its channel. */
export interface ConsumerHost {
  canDeliver(consumer: AmqpConsumer, entry: QueueEntry): boolean;
  deliver(consumer: AmqpConsumer, entry: QueueEntry): void;
  consumerCancelledByQueue(consumer: AmqpConsumer): void;
}

/** An AMQP basic.consume subscription: the core's Consumer with per-consumer prefetch. */
export class AmqpConsumer implements Consumer {
  unacked = 0;
  unackedBytes = 0;

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: Queue,
    readonly tag: string,
    readonly autoAck: boolean,
    readonly exclusive: boolean,
    readonly priority: number,
    /** basic.qos(global=false) in force when it subscribed; 0 = unlimited. */
    readonly prefetchCount: number,
    readonly prefetchSize: number,
    readonly args: FieldTable,
  ) {}

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
