import type { Exchange } from './exchange';

/**
 * The exchanges holding bindings to one destination (a queue or an exchange), with how many
 * each: deleting the destination visits only those instead of every exchange of the vhost, so a
 * vhost full of exchanges does not make each queue deletion (and each connection close with
 * exclusive queues) slower.
 */
export class InboundBindings {
  private readonly counts = new Map<Exchange, number>();

  add(source: Exchange): void {
    this.counts.set(source, (this.counts.get(source) ?? 0) + 1);
  }

  remove(source: Exchange): void {
    const count = this.counts.get(source);
    if (count === undefined) return;
    if (count <= 1) this.counts.delete(source);
    else this.counts.set(source, count - 1);
  }

  /** A copy: callers unbind while they walk it. */
  sources(): Exchange[] {
    return [...this.counts.keys()];
  }
}
