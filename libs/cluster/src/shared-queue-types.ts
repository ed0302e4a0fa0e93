import type { QueueType } from '#core';
import type { Cluster } from './cluster';
import { databaseQueueType } from './queue/database-queue-type';

/** Makes a queue type for one cluster node (it gets the node's database, store, notifications, releasers). */
export type SharedQueueTypeFactory = (cluster: Cluster) => QueueType;

/**
 * The queue types whose queues every node of a cluster shares (their messages are rows in the
 * database), the first being the default of a declaration without x-queue-type: the
 * database-backed type, listed as `quorum` (queue/database-queue-type.ts says why).
 */
export const SHARED_QUEUE_TYPES: readonly SharedQueueTypeFactory[] = [databaseQueueType];
