import { randomUUID } from 'node:crypto';
import { EntryState, QueueEntry } from '#core';
import type { JobLeases } from './job-leases';

interface Lease {
  id: string;
  entry: QueueEntry;
  lane: string;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

/**
 * Jobs received with `ack: true`: held unacked under a lease id until /ack, /release or the
 * visibility timeout, when they go back to the front of their lane (their original position),
 * as dbqueue's read/confirm does.
 */
export class Leases implements JobLeases {
  private readonly byId = new Map<string, Lease>();

  /** `done` is told of each job acked under its lease. */
  constructor(private readonly done: (entry: QueueEntry) => void = () => {}) {}

  get size(): number {
    return this.byId.size;
  }

  grant(entry: QueueEntry, lane: string, timeoutMs: number): { id: string; expiresAt: number } {
    const id = randomUUID();
    const expiresAt = Date.now() + timeoutMs;
    const timer = setTimeout(() => this.expire(id), timeoutMs);
    timer.unref();
    this.byId.set(id, { id, entry, lane, expiresAt, timer });
    return { id, expiresAt };
  }

  get(id: string): Lease | undefined {
    return this.byId.get(id);
  }

  /** The job is done: settle it. */
  ack(id: string): boolean {
    const lease = this.take(id);
    if (lease === undefined) return false;
    lease.entry.queue.ack(lease.entry);
    this.done(lease.entry);
    return true;
  }

  /** Gives the job back at once (front of its lane). */
  release(id: string): QueueEntry | undefined {
    const lease = this.take(id);
    if (lease === undefined) return undefined;
    lease.entry.queue.reject(lease.entry, true);
    return lease.entry;
  }

  /** Extends the visibility timeout. */
  touch(id: string, timeoutMs: number): number | undefined {
    const lease = this.byId.get(id);
    if (lease === undefined) return undefined;
    clearTimeout(lease.timer);
    lease.expiresAt = Date.now() + timeoutMs;
    lease.timer = setTimeout(() => this.expire(id), timeoutMs);
    lease.timer.unref();
    return lease.expiresAt;
  }

  /** Leases of one job (for lookup), by entry. */
  find(entry: QueueEntry): Lease | undefined {
    for (const lease of this.byId.values()) if (lease.entry === entry) return lease;
    return undefined;
  }

  all(): IterableIterator<Lease> {
    return this.byId.values();
  }

  /** Broker stopping: requeue everything still leased (it would come back redelivered anyway). */
  releaseAll(): void {
    for (const id of [...this.byId.keys()]) this.release(id);
  }

  private take(id: string): Lease | undefined {
    const lease = this.byId.get(id);
    if (lease === undefined) return undefined;
    clearTimeout(lease.timer);
    this.byId.delete(id);
    if (lease.entry.state !== EntryState.Unacked) return undefined;
    return lease;
  }

  private expire(id: string): void {
    this.release(id);
  }
}
