import type { FieldTable } from '../encoding/field-table';
import type { InboundBindings } from '../exchange/inbound-bindings';
import type { ConsumerSnapshot, QueueSnapshot } from '../introspection/snapshots';
import type { Message } from '../message/message';
import type { Consumer } from './consumer';
import type { EntryKey, FoundEntry } from './key-index';
import type { QueueFeatures, QueueOptions } from './queue-options';
import type { QueueEntry } from './queue-entry';
import type { UniqueOutcome } from './shared-queue';

/**
 * The queue-type seam (RabbitMQ's rabbit_queue_type): what every kind of queue does, whatever
 * holds its ready messages. Doors, routing and the virtual host use only this; which type a queue
 * is (queue-types.ts) decides its class and is never asked again. Today's one implementation keeps
 * ready entries in memory with the store as its log (InMemoryQueue); a database-backed type whose
 * ready messages are rows claimed in batches fits behind the same methods, so nothing here
 * assumes the ready set is in memory: counts may be estimates, listing is asynchronous.
 *
 * Doors publish through the virtual host's intake (VirtualHost.publish), which calls `enqueue`;
 * they take (consume with credit, fetch) and settle (ack, reject, requeue) here.
 *
 * Words, one meaning each: a consumer *takes* an entry (it is then out with it, unacked) and
 * *settles* it (ack, reject, requeue); an entry *retires* when it leaves the queue for good (acked,
 * dropped, expired, purged, removed); a delayed-message exchange *holds* a delayed message in its
 * holding queue until it is *released* to be routed; a publisher confirm *answers* a publish.
 */
export interface Queue {
  readonly kind: 'queue';
  /** Store id, unique across the broker's lifetime. */
  readonly id: number;
  readonly vhost: string;
  readonly name: string;
  /** As declared: durable, exclusive owner, auto-delete, arguments. */
  readonly options: QueueOptions;
  /** From the declared arguments and the policy that applies; replaced when policies change. */
  readonly features: QueueFeatures;
  readonly durable: boolean;
  readonly arguments: FieldTable;
  /** Exchanges with bindings to this queue. */
  readonly inbound: InboundBindings;
  readonly deleted: boolean;
  /** Stamp used by routing to add a queue once per publish (Router). */
  routeMark: number;

  // ---- intake (the virtual host's) -------------------------------------------------------------

  /**
   * Adds a routed message and tries to deliver it. Returns null when the queue refused it (a
   * length limit with x-overflow reject-publish or reject-publish-dlx, or a message it cannot
   * keep); the intake turns that into a refused outcome.
   */
  enqueue(message: Message): QueueEntry | null;
  /** True while consumers cannot keep up: publishers should pause until `onRelief`. */
  readonly overloaded: boolean;
  /** Calls back once the backlog is down to the low mark (or the queue is gone). */
  onRelief(listener: () => void): void;

  // ---- taking: consumers with credit, and fetch ------------------------------------------------

  /** Throws `exclusive-use` if the consumer could not be added now. */
  checkConsumer(consumer: Consumer): void;
  addConsumer(consumer: Consumer): void;
  removeConsumer(consumer: Consumer): void;
  /** A consumer may have credit again: hand it what is ready. */
  dispatch(): void;
  /** basic.get: takes the next ready entry; with autoAck it is acked at once. */
  fetch(autoAck: boolean): QueueEntry | undefined;
  /**
   * A queue whose entries are rows shared by the nodes of a cluster: takes up to `max` ready
   * entries (none when none is ready) as `fetch` does, once it claimed them from the database
   * (claims of concurrent callers are batched). Absent on the in-memory types, whose `fetch`
   * answers at once.
   */
  claim?(autoAck: boolean, max: number): Promise<QueueEntry[]>;
  /**
   * A shared queue: adds the message unless `key` was taken by another of its messages within
   * `keepKeyMs` (atomically across nodes: two nodes adding the same key at once add one entry; a
   * key stays taken for its window after its entry left). Resolves once committed. A duplicate
   * whose entry left is found as a retired entry (its message without the body). Absent on the
   * in-memory types (a door checks its keys with `find` there).
   */
  enqueueUnique?(message: Message, key: EntryKey, keepKeyMs: number): Promise<UniqueOutcome>;
  /**
   * A shared queue: entries with the same key under `groupAnnotation` are taken one at a time
   * across every node, in the order of their `orderAnnotation` (a number): one of a group is taken
   * only while none of its group is out and none comes before it (a delivery's ordering key).
   * Declared by the door at each start, before anything is enqueued. Absent on the in-memory
   * types (the door keeps the order itself there).
   */
  groupBy?(groupAnnotation: string, orderAnnotation: string): void;

  // ---- settling what was taken -----------------------------------------------------------------

  /** Positive acknowledgement of an unacked entry. */
  ack(entry: QueueEntry): void;
  /** Negative acknowledgement: back to its place (`requeue`), or dropped (dead-lettered if set up). */
  reject(entry: QueueEntry, requeue: boolean): void;

  // ---- management --------------------------------------------------------------------------------

  /** Visits ready entries in dispatch order, then delayed ones with their due time; stop by returning false. */
  list(visit: (entry: QueueEntry, dueAt: number) => boolean): Promise<void>;
  /** Removes one ready or delayed entry (a job deleted by id); false when it is not there any more. */
  remove(entry: QueueEntry): boolean;
  /** Removes every ready and delayed entry (unacked ones stay with their consumers); returns how many. */
  purge(): number;
  /** The queue was used (consumed or fetched from, declared again): x-expires counts from now. */
  touch(): void;

  // ---- lookup by business key (the door names the key) ------------------------------------------

  /**
   * Indexes the queue's entries by one door annotation, the door's business key (a job number, a
   * delivery id; for a message without that annotation, a publisher header of the same name, as
   * the door reads it), so `find` answers without walking the queue. Resolves once what the queue
   * holds already is indexed (a database-backed type: at once, from its table). Declared by the
   * door at each start; declaring it again changes nothing.
   */
  indexBy(annotation: string): Promise<void>;
  /**
   * The entry whose key under `annotation` (declared with indexBy) is `key`: ready, waiting for
   * its not-before time (dueAt > 0) or out with a consumer (state Unacked); undefined if none.
   * Reads at most one entry from the store. With several entries of one key, the latest added.
   */
  find(annotation: string, key: EntryKey): Promise<FoundEntry | undefined>;

  // ---- counts and introspection (a database-backed type may estimate) --------------------------

  /** Ready messages (not counting delayed ones). */
  readonly messageCount: number;
  readonly unackedMessageCount: number;
  /** Entries waiting for their not-before time. */
  readonly delayedCount: number;
  /** Ready entries kept only in the store. */
  readonly pagedCount: number;
  readonly consumerCount: number;
  snapshot(now?: number): QueueSnapshot;
  consumerSnapshots(): ConsumerSnapshot[];

  // ---- life cycle (the virtual host's) ---------------------------------------------------------

  /** A policy now applies (or none does): its settings join the declared arguments. */
  applyPolicy(policyName: string | null, features: QueueFeatures): void;
  /** Loads one recovered rank of the store: its head entries, and how many (and bytes) stay paged. */
  recoverBucket(rank: number, head: readonly QueueEntry[], count: number, bytes: number): void;
  /** Marks it deleted, drops its ready entries and cancels its consumers; returns how many were ready. */
  delete(): number;
}
