/**
 * Plain counters the core bumps on its hot paths (a field increment, nothing more). The
 * observability module reads them at scrape time; the core never imports a metrics library.
 */
export class CoreMetrics {
  published = 0;
  /** Queue deliveries made by routing (one message routed to 3 queues counts 3). */
  routed = 0;
  unroutable = 0;
  delivered = 0;
  acked = 0;
  requeued = 0;
  /** Rejected/nacked without requeue, or discarded. */
  dropped = 0;
  storeCommits = 0;
  storeCommittedOps = 0;
  private readonly commitListeners: ((seconds: number, ops: number) => void)[] = [];

  onCommit(listener: (seconds: number, ops: number) => void): void {
    this.commitListeners.push(listener);
  }

  recordCommit(seconds: number, ops: number): void {
    this.storeCommits++;
    this.storeCommittedOps += ops;
    for (const listener of this.commitListeners) listener(seconds, ops);
  }
}
