import type { Message } from '../message/message';
import type { CoreMetrics } from '../metrics';
import type { DeathReason } from './dead-letter';
import type { Queue } from './queue';
import type { QueueFeatures, QueueOptions } from './queue-options';
import type { QueueStore } from './queue-store';
import type { LeaseBook } from './shared-queue';

/** The x-queue-type values a queue can be listed with (a type composed in from outside the core adds its name here). */
export type QueueTypeName = 'classic' | 'quorum';

/** What a queue tells its owner (the virtual host). */
export interface QueueOwner {
  /** An auto-delete or x-expires queue is unused now: the owner deletes it. */
  onQueueUnused(queue: Queue): void;
  /** Allocates the next global sequence number. */
  nextSeq(): number;
  /** Routes a message leaving the queue through its dead-letter exchange. */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void;
}

/** Per-queue resource settings, shared by all queues of a broker. */
export interface QueueLimits {
  /** Ready-message bytes kept in memory before paging to the store. */
  memoryBudget: number;
  /**
   * Flow control: while a queue with consumers has more ready messages than this, publishers to
   * it are asked to pause (RabbitMQ's "flow" state) until it is back under `flowLow`.
   */
  flowHigh: number;
  flowLow: number;
}

/** The properties a declaration asks for, checked by the type before the queue exists. */
export interface DeclaredProperties {
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
}

/** Everything a queue type needs to build one queue. */
export interface QueueInit {
  readonly id: number;
  readonly vhost: string;
  readonly name: string;
  readonly options: QueueOptions;
  readonly features: QueueFeatures;
  readonly owner: QueueOwner;
  /** Null: the queue keeps nothing in the store. */
  readonly store: QueueStore | null;
  readonly metrics: CoreMetrics;
  readonly limits: QueueLimits;
}

/**
 * One kind of queue (RabbitMQ's rabbit_queue_type behaviour; LavinMQ's one variant a file): its
 * declare-time rules and the class it builds. The registry (queue-types.ts) finds it by
 * x-queue-type; once built, the queue answers for itself through the Queue interface.
 */
export interface QueueType {
  /** Its x-queue-type value, as listings show it. */
  readonly name: QueueTypeName;
  /** Whether a policy's apply-to selects this type (besides `queues` and `all`, which select every type). */
  selectedByPolicy(applyTo: 'classic_queues' | 'quorum_queues'): boolean;
  /**
   * Its queues live where every broker node sees the same messages (a database shared by the
   * nodes), so it may be declared when the nodes share one store (STORE=postgres). Absent: no, the
   * messages are one node's (the built-in types: in memory, with the local store as their log).
   */
  readonly sharedAcrossNodes?: boolean;
  /** Leases on its taken entries that any node can settle (a shared type); absent: a door keeps its leases itself. */
  readonly leases?: LeaseBook;
  /** x-delivery-limit when the declaration sets none (null: no limit). */
  readonly defaultDeliveryLimit: number | null;
  /**
   * Declare-time checks of the queue's properties beyond its arguments (which readQueueFeatures
   * checks for every type); throws with RabbitMQ's texts.
   */
  checkProperties(queue: string, vhost: string, properties: DeclaredProperties): void;
  create(init: QueueInit): Queue;
}
