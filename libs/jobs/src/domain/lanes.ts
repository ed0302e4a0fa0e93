import type { Broker, Queue, VirtualHost } from '#core';
import { DEFAULT_LANE } from '../jobs-options';

/**
 * Lanes are durable, rank-ordered queues of the core: lane `x` is queue `${prefix}x` in the
 * configured virtual host. So a job scheduled over HTTP can be consumed over AMQP and back.
 */
export class Lanes {
  constructor(
    private readonly broker: Broker,
    private readonly vhostName: string,
    private readonly prefix: string,
  ) {}

  get vhost(): VirtualHost {
    return this.broker.addVhost(this.vhostName);
  }

  queueName(lane: string): string {
    return this.prefix + lane;
  }

  /** The lane's queue, created (durable, rank-ordered) on first use, as dispenserd creates lanes. */
  queue(lane: string): Queue {
    const vhost = this.vhost;
    const name = this.queueName(lane);
    return vhost.queues.get(name) ?? vhost.declareQueue({ name, durable: true, arguments: { 'x-queue-order': 'rank' } });
  }

  /** Lanes that exist (queues with the prefix), sorted as Go sorts map keys; `main` is always there. */
  list(): { lane: string; queue: Queue | undefined }[] {
    const out = new Map<string, Queue | undefined>([[DEFAULT_LANE, undefined]]);
    for (const queue of this.vhost.queues.values()) {
      if (queue.name.startsWith(this.prefix)) out.set(queue.name.slice(this.prefix.length), queue);
    }
    return [...out.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([lane, queue]) => ({ lane, queue }));
  }

  laneOf(queue: Queue): string | undefined {
    return queue.name.startsWith(this.prefix) ? queue.name.slice(this.prefix.length) : undefined;
  }
}
