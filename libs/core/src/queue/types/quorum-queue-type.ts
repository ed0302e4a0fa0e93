import { preconditionFailed } from '../../errors';
import { changedAnnotations } from '../../message/annotations';
import type { Message } from '../../message/message';
import { InMemoryQueue } from '../in-memory-queue';
import type { Queue } from '../queue';
import type { DeclaredProperties, QueueInit, QueueType } from '../queue-type';

/** RabbitMQ 4's delivery limit of a quorum queue declared without x-delivery-limit. */
const DEFAULT_DELIVERY_LIMIT = 20;

/**
 * Quorum queues, with the semantics one node can honour (RabbitMQ 4's): durable only, no owner,
 * never auto-deleted; a delivery limit of 20 unless declared; a redelivered message says how many
 * of its deliveries failed (x-delivery-count). Replication is not this broker's: the queue itself
 * is the in-memory queue with the store as its log, as a classic one. Every quorum rule lives here.
 */
export const QUORUM_QUEUE: QueueType = Object.freeze({
  name: 'quorum',
  defaultDeliveryLimit: DEFAULT_DELIVERY_LIMIT,
  selectedByPolicy: (applyTo: 'classic_queues' | 'quorum_queues'): boolean => applyTo === 'quorum_queues',
  checkProperties(queue: string, vhost: string, { durable, exclusive, autoDelete }: DeclaredProperties): void {
    // RabbitMQ's texts
    const invalid = !durable ? 'non-durable' : exclusive ? 'exclusive-owner' : autoDelete ? 'auto-delete' : null;
    if (invalid !== null) throw preconditionFailed(`invalid property '${invalid}' for queue '${queue}' in vhost '${vhost}'`);
  },
  create: (init: QueueInit): Queue => new InMemoryQueue(init),
});

/**
 * The message as it is redelivered by a queue with a delivery limit (a quorum queue, or any queue
 * declared with x-delivery-limit): it carries the count of its failed deliveries (an annotation,
 * which AMQP consumers see as x-delivery-count).
 */
export function withDeliveryCount(message: Message, failedDeliveries: number): Message {
  return message.annotated(changedAnnotations(message.annotations, { deliveryCount: failedDeliveries }));
}
