import { InMemoryQueue } from '../in-memory-queue';
import type { Queue } from '../queue';
import type { QueueInit, QueueType } from '../queue-type';

/** RabbitMQ's default type: any properties, no delivery limit unless declared; kept in memory with the store as its log. */
export const CLASSIC_QUEUE: QueueType = Object.freeze({
  name: 'classic',
  defaultDeliveryLimit: null,
  selectedByPolicy: (applyTo: 'classic_queues' | 'quorum_queues'): boolean => applyTo === 'classic_queues',
  checkProperties(): void {},
  create: (init: QueueInit): Queue => new InMemoryQueue(init),
});
