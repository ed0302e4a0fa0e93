/** The broker-wide message counters, as a snapshot reports them. */
export interface CoreCounters {
  published: number;
  /** Queue deliveries made by routing (one message routed to 3 queues counts 3). */
  routed: number;
  unroutable: number;
  delivered: number;
  acked: number;
  requeued: number;
  /** Rejected/nacked without requeue, or discarded. */
  dropped: number;
  storeCommits: number;
  storeCommittedOps: number;
  /** Deliveries to consumers, split by whether they need an ack; fetches (basic.get) likewise. */
  deliveredAutoAck: number;
  deliveredManualAck: number;
  fetchedAutoAck: number;
  fetchedManualAck: number;
  fetchedEmpty: number;
  redelivered: number;
  queuesDeclared: number;
  queuesCreated: number;
  queuesDeleted: number;
}

/**
 * Plain counters the core bumps on its hot paths (a field increment, nothing more). The
 * observability module reads them at scrape time; the core never imports a metrics library.
 */
export class CoreMetrics implements CoreCounters {
  published = 0;
  routed = 0;
  unroutable = 0;
  delivered = 0;
  acked = 0;
  requeued = 0;
  dropped = 0;
  storeCommits = 0;
  storeCommittedOps = 0;
  deliveredAutoAck = 0;
  deliveredManualAck = 0;
  fetchedAutoAck = 0;
  fetchedManualAck = 0;
  fetchedEmpty = 0;
  redelivered = 0;
  queuesDeclared = 0;
  queuesCreated = 0;
  queuesDeleted = 0;
  private readonly commitListeners: ((seconds: number, ops: number) => void)[] = [];

  onCommit(listener: (seconds: number, ops: number) => void): void {
    this.commitListeners.push(listener);
  }

  recordCommit(seconds: number, ops: number): void {
    this.storeCommits++;
    this.storeCommittedOps += ops;
    for (const listener of this.commitListeners) listener(seconds, ops);
  }

  snapshot(): CoreCounters {
    const { published, routed, unroutable, delivered, acked, requeued, dropped, storeCommits, storeCommittedOps } = this;
    const { deliveredAutoAck, deliveredManualAck, fetchedAutoAck, fetchedManualAck, fetchedEmpty, redelivered } = this;
    const { queuesDeclared, queuesCreated, queuesDeleted } = this;
    return {
      published,
      routed,
      unroutable,
      delivered,
      acked,
      requeued,
      dropped,
      storeCommits,
      storeCommittedOps,
      deliveredAutoAck,
      deliveredManualAck,
      fetchedAutoAck,
      fetchedManualAck,
      fetchedEmpty,
      redelivered,
      queuesDeclared,
      queuesCreated,
      queuesDeleted,
    };
  }
}
