import type { LeaseBook, QueueEntry } from '#core';

/** A job out under a lease: its id, the job, its lane. */
export interface JobLease {
  id: string;
  entry: QueueEntry;
  lane: string;
}

/**
 * Where the door keeps the leases of jobs received with `ack: true`: in this process (Leases, the
 * single-node broker) or on the jobs' rows, where any node of a cluster settles them
 * (SharedJobLeases). Answers are immediate for the first and promises for the second; the routes
 * await both.
 */
export interface JobLeases {
  /** Leases out (a gauge). */
  readonly size: number;
  grant(entry: QueueEntry, lane: string, timeoutMs: number): { id: string; expiresAt: number };
  get(id: string): JobLease | undefined | Promise<JobLease | undefined>;
  /** The job is done; false when the lease is unknown or expired. */
  ack(id: string): boolean | Promise<boolean>;
  /** The job goes back to the front of its lane at once; undefined when the lease is unknown or expired. */
  release(id: string): QueueEntry | undefined | Promise<QueueEntry | undefined>;
  /**
   * The job goes back to its lane, due at `notBefore` (a delayed release), when the leases keep
   * the job's row (the same row waits: nothing is copied). Absent: the door schedules a copy.
   */
  releaseUntil?(id: string, notBefore: number): Promise<QueueEntry | undefined>;
  touch(id: string, timeoutMs: number): number | undefined | Promise<number | undefined>;
  /** Broker stopping: every lease of this node goes back. */
  releaseAll(): void;
}

/**
 * Leases on the rows of a queue type shared across nodes (the core's LeaseBook): a job received
 * on one node is acknowledged, released or touched through any node, and a lease that runs out
 * returns the job whichever node notices first (the database keeps the deadline).
 */
export class SharedJobLeases implements JobLeases {
  constructor(
    private readonly book: LeaseBook,
    private readonly laneOf: (entry: QueueEntry) => string,
    /** Told of each job acked under its lease; the ack answers once what it wrote (an idempotency record) is committed. */
    private readonly done: (entry: QueueEntry) => Promise<void> | void,
    /** Jobs out, as the lanes count them (cluster-wide). */
    private readonly out: () => number,
  ) {}

  get size(): number {
    return this.out();
  }

  grant(entry: QueueEntry, _lane: string, timeoutMs: number): { id: string; expiresAt: number } {
    return this.book.grant(entry, timeoutMs);
  }

  async get(id: string): Promise<JobLease | undefined> {
    const entry = await this.book.get(id);
    return entry === undefined ? undefined : { id, entry, lane: this.laneOf(entry) };
  }

  async ack(id: string): Promise<boolean> {
    const entry = await this.book.ack(id);
    if (entry === undefined) return false;
    await this.done(entry);
    return true;
  }

  release(id: string): Promise<QueueEntry | undefined> {
    return this.book.release(id);
  }

  releaseUntil(id: string, notBefore: number): Promise<QueueEntry | undefined> {
    return this.book.release(id, notBefore);
  }

  touch(id: string, timeoutMs: number): Promise<number | undefined> {
    return this.book.touch(id, timeoutMs);
  }

  /** Nothing to do here: the rows this node holds go back when it leaves the cluster (its releasers). */
  releaseAll(): void {}
}
