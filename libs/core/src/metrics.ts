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
/**
 * Upper bounds of the message size histogram, one more for larger: RabbitMQ's own (4.1's
 * rabbitmq_message_size_bytes), because its Overview dashboard asks for exactly these `le` values
 * (100 B, 1 kB, … 100 MB) and a bound it does not find is a panel without data.
 */
export const MESSAGE_SIZE_BOUNDS = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 50_000_000, 100_000_000];

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
  /** Published messages per size bucket (MESSAGE_SIZE_BOUNDS, then larger), and their total bytes. */
  readonly messageSizes: number[] = new Array<number>(MESSAGE_SIZE_BOUNDS.length + 1).fill(0);
  messageSizeSum = 0;
  private readonly commitListeners: ((seconds: number, ops: number, transactionSeconds: number) => void)[] = [];

  /** seconds: from handing the batch to the writer until its commit is known; transactionSeconds: the writer's SQLite transaction alone. */
  onCommit(listener: (seconds: number, ops: number, transactionSeconds: number) => void): void {
    this.commitListeners.push(listener);
  }

  /** One publish of `bytes` (a few comparisons: cheap enough for the hot path). */
  recordPublish(bytes: number): void {
    this.published++;
    this.messageSizeSum += bytes;
    let bucket = 0;
    while (bucket < MESSAGE_SIZE_BOUNDS.length && bytes > MESSAGE_SIZE_BOUNDS[bucket]!) bucket++;
    this.messageSizes[bucket]!++;
  }

  recordCommit(seconds: number, ops: number, transactionSeconds = seconds): void {
    this.storeCommits++;
    this.storeCommittedOps += ops;
    for (const listener of this.commitListeners) listener(seconds, ops, transactionSeconds);
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
