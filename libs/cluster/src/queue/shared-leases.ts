import { BrokerError } from '#core';
import type { LeaseBook, QueueEntry } from '#core';
import type { DatabaseQueue } from './database-queue';
import { leasedRowOf, MessageRow } from './message-rows';
import type { LeaseOp } from './queue-batch';
import type { SharedEntry } from './shared-entry';
import type { SharedQueues } from './shared-queues';

/**
 * Leases on the rows of shared queues (the LeaseBook of the database-backed type): the lease id
 * names the row and its taking (queue id, seq, deliveries), its deadline is the row's
 * `lease_until`. Acks, releases and touches go into the store's open batch and answer once it
 * committed, so a job received on one node is settled through any other, in the same group commit
 * as everything else; the poll of any node returns rows whose lease ran out.
 */
export class SharedLeases implements LeaseBook {
  constructor(private readonly shared: SharedQueues) {}

  grant(entry: QueueEntry, timeoutMs: number): { id: string; expiresAt: number } {
    const shared = entry as SharedEntry;
    const expiresAt = Date.now() + timeoutMs;
    this.shared.lease('grants', { queueId: shared.dbQueueId, seq: shared.seq, deliveries: shared.deliveries, at: expiresAt, settled: () => {} });
    return { id: shared.leaseId, expiresAt };
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
    const row = await new Promise<MessageRow | undefined | null>((resolve) => {
      const op: LeaseOp = { ...ref, at, settled: resolve };
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
