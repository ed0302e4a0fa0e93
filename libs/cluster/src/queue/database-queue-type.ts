import { BrokerError } from '#core';
import type { DeclaredProperties, Queue, QueueInit, QueueType } from '#core';
import type { Cluster } from '../cluster';
import { DatabaseQueue } from './database-queue';
import { SharedLeases } from './shared-leases';
import { SharedQueues } from './shared-queues';

/** RabbitMQ 4's delivery limit of a quorum queue declared without x-delivery-limit. */
const DEFAULT_DELIVERY_LIMIT = 20;

/**
 * The database-backed queue type: its messages are rows of queue_messages in the PostgreSQL every
 * node shares, so every node sees the same queue (see DatabaseQueue, SharedQueues).
 *
 * It is listed as `quorum`, and it is the cluster's default: RabbitMQ users ask for `quorum` when
 * they want a queue that survives the loss of a node and is the same on every node, which is what
 * this type gives (the replication is PostgreSQL's). It keeps quorum's rules too: durable only, no
 * exclusive owner, never auto-deleted, a delivery limit of 20 unless declared. A declaration
 * without x-queue-type gets it, so clients written for one node work on a cluster unchanged; one
 * asking for `classic` is refused with the reason (a classic queue lives in one node's memory).
 */
export function databaseQueueType(cluster: Cluster): QueueType {
  const shared = new SharedQueues(cluster);
  const leases = new SharedLeases(shared);
  return Object.freeze({
    name: 'quorum' as const,
    sharedAcrossNodes: true,
    leases,
    defaultDeliveryLimit: DEFAULT_DELIVERY_LIMIT,
    selectedByPolicy: (applyTo: 'classic_queues' | 'quorum_queues'): boolean => applyTo === 'quorum_queues',
    checkProperties(queue: string, vhost: string, { durable, exclusive, autoDelete }: DeclaredProperties): void {
      // RabbitMQ's texts for quorum queues
      const invalid = !durable ? 'non-durable' : exclusive ? 'exclusive-owner' : autoDelete ? 'auto-delete' : null;
      if (invalid !== null) throw new BrokerError('precondition-failed', `invalid property '${invalid}' for queue '${queue}' in vhost '${vhost}'`);
    },
    create: (init: QueueInit): Queue => new DatabaseQueue(init, shared),
  });
}
