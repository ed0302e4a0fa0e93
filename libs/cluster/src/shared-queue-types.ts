import type { QueueType } from '#core';
import type { Cluster } from './cluster';

/** Makes a queue type for one cluster node (it gets the node's database, store, notifications, releasers). */
export type SharedQueueTypeFactory = (cluster: Cluster) => QueueType;

/**
 * The queue types whose queues every node of a cluster shares (their messages are rows in the
 * database), the first being the default of a declaration without x-queue-type. None yet: the
 * database-backed queue type (issue 28 part 2) adds its factory here. Until one exists,
 * STORE=postgres refuses every queue declaration, and the doors that need queues stay off
 * (apps/broker/src/app.module.ts).
 */
export const SHARED_QUEUE_TYPES: readonly SharedQueueTypeFactory[] = [];
