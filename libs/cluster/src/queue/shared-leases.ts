import { BrokerError, merged } from '#core';
import type { LeaseBook, QueueEntry } from '#core';
import type { DatabaseQueue } from './database-queue';
import { leasedRowOf, MessageRow } from './message-rows';
import type { LeaseOp } from './queue-batch';
import type { SharedEntry } from './shared-entry';
import type { SharedQueues } from './shared-queues';

/**
 * Leases on the rows of shared queues (the LeaseBook of the database-backed type): the lease id
 * names the row and its taking (queue id, seq, deliveries), so any node settles it. Acks,
 * releases and touches go into the store's open batch and answer once it committed, so a job
 * received on one node is settled through any other, in the same group commit as everything else.
 *
 * Granting writes nothing: the node that granted a lease keeps its deadline in a timer and, when
 * it passes, gives the row back unless the lease was extended (a touch writes the deadline into the
 * row's `lease_until`, which every node's poll returns once past). A granting node that dies
 * releases the row with everything else it held.
 */
export class SharedLeases implements LeaseBook {
  /** Deadlines of the leases this node granted and nobody settled here yet, by id. */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();

  constructor(private readonly shared: SharedQueues) {}

  grant(entry: QueueEntry, timeoutMs: number): { id: string; expiresAt: number } {
    const shared = entry as SharedEntry;
    const id = shared.leaseId;
    const queue = entry.queue as DatabaseQueue;
    const op = { queueId: shared.dbQueueId, seq: shared.seq, deliveries: shared.deliveries, at: 0, settled: () => {} };
    const timer = setTimeout(() => {
      this.deadlines.delete(id);
      this.shared.lease('expiries', op, queue);
    }, timeoutMs);
    timer.unref();
    this.deadlines.set(id, timer);
    return { id, expiresAt: Date.now() + timeoutMs };
  }

  /** Settled (or extended) through this node: its timer is not needed (an extended deadline is the row's). */
  private forget(id: string): void {
    const timer = this.deadlines.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.deadlines.delete(id);
  }

  async get(id: string): Promise<QueueEntry | undefined> {
    const ref = leasedRowOf(id);
    if (ref === null) return undefined;
    const row = await this.shared.leasedRow(ref.queueId, ref.seq, ref.deliveries);
    return row === undefined ? undefined : this.entryOf(row);
  }

  async ack(id: string): Promise<QueueEntry | undefined> {
    const row = await this.settle('leaseAcks', id, 0);
    return row === undefined ? undefined : this.entryOf(row);
  }

  async release(id: string, notBefore = 0): Promise<QueueEntry | undefined> {
    const ref = leasedRowOf(id);
    const queue = ref === null ? undefined : await this.shared.queueOfId(ref.queueId);
    const row = await this.settle('leaseReleases', id, notBefore, queue);
    return row === undefined ? undefined : this.entryOf(row);
  }

  async touch(id: string, timeoutMs: number): Promise<number | undefined> {
    const expiresAt = Date.now() + timeoutMs;
    const row = await this.settle('touches', id, expiresAt);
    return row === undefined ? undefined : expiresAt;
  }

  private async settle(kind: 'leaseAcks' | 'leaseReleases' | 'touches', id: string, at: number, readies?: DatabaseQueue): Promise<MessageRow | undefined> {
    const ref = leasedRowOf(id);
    if (ref === null) return undefined;
    this.forget(id);
    const row = await new Promise<MessageRow | undefined | null>((resolve) => {
      const op: LeaseOp = merged(ref, { at, settled: resolve });
      this.shared.lease(kind, op, readies);
    });
    if (row === null) throw new BrokerError('store-unavailable', 'the lease could not be settled: the database is unavailable');
    return row;
  }

  private async entryOf(row: MessageRow): Promise<QueueEntry | undefined> {
    const queue = await this.shared.queueOfId(Number(row.queue_id));
    return queue?.entryOf(row);
  }
}
