import { recoveryHeadLimit } from './queue/ready-pager';
import type { Queue } from './queue/queue';
import type { QueueStore } from './queue/queue-store';
import type { RecoveredState } from './store/store-records';
import type { VirtualHost } from './vhost/virtual-host';

export interface RecoveryTarget {
  /** The classic queues' local log, whose paged rows are read back synchronously. */
  store: QueueStore;
  /** Ready-message bytes a queue keeps in memory. */
  memoryBudget: number;
  /** The vhost of that name, created (without writing it back) when missing. */
  vhost(name: string): VirtualHost;
}

export interface RecoveryResult {
  maxSeq: number;
  maxQueueId: number;
  counters: Map<string, number>;
  /** Ready messages brought back (in memory or paged). */
  messages: number;
}

/**
 * Rebuilds what the store kept: vhosts, durable exchanges, queues and bindings, then each queue's
 * ready entries per rank. Only the head of each rank is read into memory (as much as the memory
 * budget allows); the rest stays paged in the store and is read back as the head drains.
 */
export function recoverBroker(state: RecoveredState, target: RecoveryTarget): RecoveryResult {
  for (const name of state.vhosts) target.vhost(name);
  for (const e of state.exchanges) target.vhost(e.vhost).restoreExchange(e.name, e.type, e.autoDelete, e.internal, e.arguments);
  const queuesById = new Map<number, Queue>();
  for (const q of state.queues) queuesById.set(q.id, target.vhost(q.vhost).restoreQueue(q.id, q.name, q.autoDelete, q.arguments));
  for (const b of state.bindings) {
    target.vhost(b.vhost).restoreBinding(b.destinationKind, b.destination, b.source, b.routingKey, b.arguments);
  }
  let messages = 0;
  const vhosts = new Set(state.vhosts);
  for (const bucket of state.buckets) {
    const queue = queuesById.get(bucket.queueId);
    if (queue === undefined) continue;
    const head = target.store.readPaged(queue, bucket.rank, 0, recoveryHeadLimit(bucket, target.memoryBudget));
    queue.recoverBucket(bucket.rank, head, bucket.count, bucket.bytes);
    messages += bucket.count;
  }
  for (const e of state.exchanges) vhosts.add(e.vhost);
  // only once every queue holds its recovered entries may delayed messages be routed to them
  for (const name of vhosts) target.vhost(name).resumeAfterRecovery();
  return { maxSeq: state.maxSeq, maxQueueId: state.maxQueueId, counters: state.counters, messages };
}
