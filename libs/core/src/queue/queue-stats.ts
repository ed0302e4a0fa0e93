import { RateMeter } from '../introspection/rate-meter';
import type { MessageStats } from '../introspection/snapshots';

/** A queue's cumulative message counts, with rates computed when a snapshot reads them. */
export class QueueStats {
  published = 0;
  delivered = 0;
  acked = 0;
  redelivered = 0;
  private readonly publishRate = new RateMeter();
  private readonly deliverRate = new RateMeter();
  private readonly ackRate = new RateMeter();

  snapshot(now: number): MessageStats {
    return {
      published: this.published,
      delivered: this.delivered,
      acked: this.acked,
      redelivered: this.redelivered,
      publishRate: this.publishRate.rate(this.published, now),
      deliverRate: this.deliverRate.rate(this.delivered, now),
      ackRate: this.ackRate.rate(this.acked, now),
    };
  }
}
