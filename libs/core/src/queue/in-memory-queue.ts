import type { FieldTable } from '../encoding/field-table';
import { InboundBindings } from '../exchange/inbound-bindings';
import { exclusiveUse } from '../errors';
import type { ConsumerSnapshot, QueueSnapshot } from '../introspection/snapshots';
import type { Message } from '../message/message';
import type { CoreMetrics } from '../metrics';
import type { Consumer } from './consumer';
import { ConsumerSet } from './consumer-set';
import type { DeathReason } from './dead-letter';
import { DelayedSet, delayedPagerFor } from './delayed-set';
import { DueTimer } from './due-timer';
import { EntryKey, FoundEntry, KeyIndex, KeyIndexes } from './key-index';
import type { Queue } from './queue';
import { messageTtlIn, notBeforeOf, QueueFeatures, QueueOptions, rankIn } from './queue-options';
import type { QueueInit, QueueLimits, QueueOwner } from './queue-type';
import { EntryState, QueueEntry, StoreState } from './queue-entry';
import type { QueueStore } from './queue-store';
import { QueueStats } from './queue-stats';
import { ReadySet } from './ready-set';
import { withDeliveryCount } from './types/quorum-queue-type';

/**
 * Today's queue (classic and quorum alike): ready entries in rank order in memory, paged to the
 * store beyond the memory budget; delayed entries; consumers with credit, and the unacked entries
 * they have taken. The store is its log: the truth while running is here.
 */
export class InMemoryQueue implements Queue {
  readonly kind = 'queue';
  /** Exchanges with bindings to this queue. */
  readonly inbound = new InboundBindings();
  private readonly ready: ReadySet;
  /** Entries whose not-before time has not come yet. */
  private readonly delayed: DelayedSet;
  private readonly consumers: ConsumerSet;
  /** Entries by business key, for the doors that declared one (see indexBy). */
  private readonly keys = new KeyIndexes();
  private readonly stats = new QueueStats();
  private unackedCount = 0;
  private unackedBytes = 0;
  deleted = false;
  /** Stamp used by routing to add a queue once per publish. */
  routeMark = 0;
  private hadConsumers = false;
  private dispatching = false;
  private dispatchAgain = false;
  /** A paged head was read back: deliver it, or expire it if its time is past (nobody may be consuming). */
  private readonly refilled = (): void => {
    this.dispatch();
    this.expireHeads();
  };
  private reliefListeners: (() => void)[] = [];
  /** x-max-length or x-max-length-bytes is set. */
  private lengthLimited: boolean;
  /** The policy whose settings apply (see applyPolicy), or null. */
  private policyName: string | null = null;
  /** The entry being enqueued while its first dispatch runs. */
  private arriving: QueueEntry | null = null;
  /** x-expires: the end of the queue's unused period. */
  private readonly unusedTimer = new DueTimer(() => this.checkUnused());
  private lastUsedAt = Date.now();
  /** Message TTL: when the head of the queue is due to expire. */
  private readonly headExpiry = new DueTimer(() => this.expireHeads());
  private continuationScheduled = false;
  private readonly continueDispatch = (): void => {
    this.continuationScheduled = false;
    this.dispatch();
  };

  readonly id: number;
  readonly vhost: string;
  readonly name: string;
  readonly options: QueueOptions;
  features: QueueFeatures;
  private readonly owner: QueueOwner;
  private readonly store: QueueStore | null;
  private readonly metrics: CoreMetrics;
  private readonly limits: QueueLimits;

  constructor(init: QueueInit) {
    this.id = init.id;
    this.vhost = init.vhost;
    this.name = init.name;
    this.options = init.options;
    this.features = init.features;
    this.owner = init.owner;
    this.store = init.store;
    this.metrics = init.metrics;
    this.limits = init.limits;
    const { features, store, limits } = init;
    this.consumers = new ConsumerSet(features.singleActiveConsumer);
    this.lengthLimited = features.maxLength !== null || features.maxLengthBytes !== null;
    this.ready = new ReadySet(this, features.order !== 'fifo', store, limits.memoryBudget, (seq) => this.delayed.has(seq), this.keys);
    this.delayed = new DelayedSet(
      (due) => {
        for (const entry of due) {
          if (entry.state !== EntryState.Ready) continue;
          // a paged one was read back: a new object for the same entry
          if (this.keys.indexed) this.keys.held(entry);
          this.ready.restore(entry);
        }
        this.dispatch();
      },
      store && delayedPagerFor(store, this),
      { residentCount: DELAYED_RESIDENT_COUNT, residentBytes: limits.memoryBudget / 4 },
      this.keys,
    );
    this.armUnusedExpiry();
  }

  /**
   * A policy now applies (or none does): its settings join the declared arguments. Only settings a
   * policy may carry change (TTL, expiry, length limits, dead-lettering, delivery limit); a new
   * length limit applies at once, a new TTL to messages enqueued from now on.
   */
  applyPolicy(policyName: string | null, features: QueueFeatures): void {
    this.policyName = policyName;
    this.features = features;
    this.lengthLimited = features.maxLength !== null || features.maxLengthBytes !== null;
    this.armUnusedExpiry();
    if (this.lengthLimited) this.dropHeadsOverLimit();
  }

  /**
   * The queue was used (consumed from, fetched from, declared again): an x-expires queue starts
   * its unused period again. Publishing does not count, as in RabbitMQ.
   */
  touch(): void {
    if (this.features.expires === null) return;
    this.lastUsedAt = Date.now();
    this.armUnusedExpiry();
  }

  /** Counts down the unused period while the queue has no consumer. */
  private armUnusedExpiry(): void {
    const expires = this.features.expires;
    if (expires === null || this.deleted || this.consumers.size > 0) this.unusedTimer.cancel();
    else this.unusedTimer.wakeAt(this.lastUsedAt + expires);
  }

  private checkUnused(): void {
    const expires = this.features.expires;
    if (expires === null || this.deleted || this.consumers.size > 0) return;
    if (Date.now() < this.lastUsedAt + expires) this.armUnusedExpiry();
    else this.owner.onQueueUnused(this);
  }

  /** True while consumers cannot keep up: publishers should pause until `onRelief`. */
  get overloaded(): boolean {
    // by count, and by bytes: a backlog of large bodies that consumers are draining is better held
    // in memory with publishers paused than paged to the store and read back
    const ready = this.ready;
    return (ready.count > this.limits.flowHigh || ready.bytesInMemory > this.limits.memoryBudget * FLOW_HIGH_SHARE) && this.consumers.size > 0;
  }

  /** Back under the low marks: paused publishers may go on. */
  private get relieved(): boolean {
    return this.ready.count <= this.limits.flowLow && this.ready.bytesInMemory <= this.limits.memoryBudget * FLOW_LOW_SHARE;
  }

  /** Calls back once the backlog is down to the low mark (or the queue is gone). */
  onRelief(listener: () => void): void {
    this.reliefListeners.push(listener);
  }

  private relieve(): void {
    const listeners = this.reliefListeners;
    if (listeners.length === 0) return;
    this.reliefListeners = [];
    for (const listener of listeners) listener();
  }

  get durable(): boolean {
    return this.options.durable;
  }

  get arguments(): FieldTable {
    return this.options.arguments;
  }

  /** Ready messages (in memory or paged; delayed ones are not ready yet). */
  get messageCount(): number {
    return this.ready.count;
  }

  get unackedMessageCount(): number {
    return this.unackedCount;
  }

  /** Entries waiting for their not-before time. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get pagedCount(): number {
    return this.ready.pagedCount;
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  /** Ordering key for a message: lower ranks are served first. */
  rankOf(message: Message): number {
    return this.features.order === 'fifo' ? 0 : rankIn(this.features, message);
  }

  /** Entries that must wait (not-before in the future) go to the delayed set instead. */
  private deferIfEarly(entry: QueueEntry): boolean {
    const message = entry.message;
    // a plain AMQP message (no headers, no annotations) takes no call
    if (message.annotations === null && message.properties.headers === undefined) return false;
    const notBefore = notBeforeOf(message);
    if (notBefore === 0 || notBefore <= Date.now()) return false;
    this.delayed.add(entry, notBefore);
    return true;
  }

  /** Whether one more message of this size would break a length limit. */
  private full(bodySize: number): boolean {
    const { maxLength, maxLengthBytes } = this.features;
    return (maxLength !== null && this.ready.count >= maxLength) || (maxLengthBytes !== null && this.ready.bytes + bodySize > maxLengthBytes);
  }

  /**
   * Adds a routed message behind everything of its rank and tries to deliver it. Returns null when
   * the queue refused it (a length limit with x-overflow reject-publish or reject-publish-dlx).
   */
  enqueue(message: Message): QueueEntry | null {
    // a message built from an object (not received encoded) must be encodable when it is stored or delivered
    if (message.encodedProperties === null && !this.encodable(message)) return null;
    // queues without limits and messages without TTL take none of the branches below
    const limited = this.lengthLimited;
    if (limited && this.features.overflow !== 'drop-head' && this.full(message.body.length)) {
      this.metrics.dropped++;
      if (this.features.overflow === 'reject-publish-dlx' && this.features.deadLetterExchange !== null) this.owner.deadLetter(this, message, 'maxlen');
      return null;
    }
    const durable = this.options.durable && message.properties.deliveryMode === 2;
    const entry = new QueueEntry(this.owner.nextSeq(), this.rankOf(message), message, this, durable);
    const ttl = this.features.messageTtl === null && message.properties.expiration === undefined ? null : messageTtlIn(this.features, message.properties.expiration);
    if (ttl !== null) entry.expiresAt = Date.now() + ttl;
    if (durable && this.store) this.store.insert(entry);
    if (this.keys.indexed) this.keys.added(entry);
    this.stats.published++;
    if (this.deferIfEarly(entry)) return entry;
    this.ready.append(entry);
    // the arriving entry may be delivered even when due now: TTL 0 reaches a consumer that can take it at once (RabbitMQ's rule)
    this.arriving = entry;
    this.dispatch();
    this.arriving = null;
    if (limited) this.dropHeadsOverLimit();
    if (ttl !== null && entry.state === EntryState.Ready) {
      if (ttl === 0) {
        if (this.ready.remove(entry)) this.expire(entry);
      } else this.armHeadExpiry(entry.expiresAt);
    }
    return entry;
  }

  /**
   * Properties that cannot be encoded (or a routing key too long for basic.deliver, from a
   * dead-letter routing key set by a policy) would fail the store's flush and every delivery, so
   * such a message is dropped with a warning: a poison message never reaches a consumer. The doors
   * refuse these first (VirtualHost.publishTo); this is the net under them.
   */
  private encodable(message: Message): boolean {
    const problem = message.encodingProblem();
    if (problem === null) return true;
    this.metrics.dropped++;
    process.emitWarning(`queue '${this.name}' in vhost '${this.vhost}' dropped a message whose properties cannot be encoded: ${problem}`, {
      code: 'BROKER_UNENCODABLE_MESSAGE',
    });
    return false;
  }

  /** x-overflow drop-head: the oldest ready messages make room, dead-lettered with reason maxlen. */
  private dropHeadsOverLimit(): void {
    const { maxLength, maxLengthBytes, overflow } = this.features;
    if (overflow !== 'drop-head') return;
    while ((maxLength !== null && this.ready.count > maxLength) || (maxLengthBytes !== null && this.ready.bytes > maxLengthBytes)) {
      const head = this.ready.take(this.refilled);
      if (head === undefined) break; // the head is being read back from the store: the next publish trims
      this.discard(head, 'maxlen');
    }
  }

  private expire(entry: QueueEntry): void {
    this.discard(entry, 'expired');
  }

  /**
   * An entry leaves for good without an ack: dead-lettered for `reason` when the queue has a
   * dead-letter exchange. The copy goes first, so its insert shares the store batch (and
   * transaction) of this entry's delete.
   */
  private discard(entry: QueueEntry, reason: DeathReason): void {
    if (this.features.deadLetterExchange !== null) this.owner.deadLetter(this, entry.message, reason);
    this.retire(entry);
    this.metrics.dropped++;
  }

  /** Removes expired entries from the head (RabbitMQ expires at the head only), then waits for the next. */
  private expireHeads(): void {
    if (this.deleted) return;
    const now = Date.now();
    for (let head = this.ready.peek(); head !== undefined && head.expiresAt !== 0 && head.expiresAt <= now; head = this.ready.peek()) {
      const entry = this.ready.take(this.refilled);
      if (entry === undefined) break;
      this.expire(entry);
    }
    const head = this.ready.peek();
    if (head !== undefined && head.expiresAt !== 0) this.armHeadExpiry(head.expiresAt);
    if (this.reliefListeners.length > 0 && this.relieved) this.relieve();
  }

  private armHeadExpiry(at: number): void {
    if (!this.deleted) this.headExpiry.wakeBy(at);
  }

  /** Throws `exclusive-use` if the consumer could not be added now. */
  checkConsumer(consumer: Consumer): void {
    if (this.consumers.hasExclusive() || (consumer.exclusive && this.consumers.size > 0)) {
      throw exclusiveUse(`queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
  }

  addConsumer(consumer: Consumer): void {
    this.checkConsumer(consumer);
    this.consumers.add(consumer);
    this.hadConsumers = true;
    this.touch();
    this.dispatch();
  }

  removeConsumer(consumer: Consumer): void {
    if (!this.consumers.remove(consumer)) return;
    if (this.consumers.size === 0) this.touch();
    // a single active consumer's successor takes over what is ready
    if (this.features.singleActiveConsumer && this.consumers.size > 0) this.dispatch();
    if (this.consumers.size === 0) this.relieve();
    if (this.consumers.size === 0 && this.hadConsumers && this.options.autoDelete && !this.deleted) {
      this.owner.onQueueUnused(this);
    }
  }

  /** Hands ready entries to consumers with credit until either runs out. Safe to re-enter. */
  dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    if (this.consumers.size === 0 || this.deleted) return;
    this.dispatching = true;
    try {
      let yielded = false;
      do {
        this.dispatchAgain = false;
        yielded = this.dispatchLoop();
      } while (this.dispatchAgain && !yielded);
    } finally {
      this.dispatching = false;
    }
    if (this.reliefListeners.length > 0 && (this.relieved || this.consumers.size === 0)) {
      this.relieve();
    }
  }

  /** Returns true when it stopped to yield (a continuation is scheduled). */
  private dispatchLoop(): boolean {
    const ready = this.ready;
    // Bounded per turn, so one long backlog cannot starve other connections and timers.
    let budget = DISPATCH_BATCH;
    while (ready.count > 0 && this.consumers.size > 0) {
      if (budget-- === 0) {
        if (!this.continuationScheduled) {
          this.continuationScheduled = true;
          setImmediate(this.continueDispatch);
        }
        return true;
      }
      const head = ready.peek();
      // Credit is checked against the head when it is in memory; when it is still paged out the
      // check uses a zero-size probe, and the real entry is delivered once it is read back.
      const consumer = this.consumers.pick(head ?? PROBE_ENTRY);
      if (consumer === undefined) return false;
      const entry = ready.take(this.refilled);
      if (entry === undefined) return false;
      if (this.deferIfEarly(entry)) continue; // recovered or paged-in before its time
      if (entry.expiresAt !== 0 && entry !== this.arriving && entry.expiresAt <= Date.now()) {
        this.expire(entry); // never delivered once expired
        continue;
      }
      this.handOver(entry, consumer);
    }
    return false;
  }

  private handOver(entry: QueueEntry, consumer: Consumer): void {
    this.markDelivered(entry);
    if (consumer.autoAck) {
      this.metrics.deliveredAutoAck++;
      consumer.deliver(entry);
      this.retireAcked(entry);
      return;
    }
    this.metrics.deliveredManualAck++;
    this.checkOut(entry, consumer);
    consumer.deliver(entry);
  }

  /** basic.get: takes the next entry; with autoAck it is acked at once. */
  fetch(autoAck: boolean): QueueEntry | undefined {
    this.touch();
    let entry = this.ready.take(this.refilled);
    while (entry !== undefined && (this.deferIfEarly(entry) || this.expiredNow(entry))) entry = this.ready.take(this.refilled);
    if (entry === undefined) {
      this.metrics.fetchedEmpty++;
      return undefined;
    }
    this.markDelivered(entry);
    if (autoAck) {
      this.metrics.fetchedAutoAck++;
      this.retireAcked(entry);
    } else {
      this.metrics.fetchedManualAck++;
      this.checkOut(entry, null);
    }
    return entry;
  }

  /** Expires the entry if its time has come (true: it is gone). */
  private expiredNow(entry: QueueEntry): boolean {
    if (entry.expiresAt === 0 || entry.expiresAt > Date.now()) return false;
    this.expire(entry);
    return true;
  }

  /** The entry is out with a consumer (or a fetcher) until it acks or rejects it. */
  private checkOut(entry: QueueEntry, consumer: Consumer | null): void {
    entry.state = EntryState.Unacked;
    entry.consumer = consumer;
    this.unackedCount++;
    this.unackedBytes += entry.message.body.length;
  }

  /** The consumer acked or rejected it: it is no longer out. */
  private checkIn(entry: QueueEntry): void {
    entry.consumer = null;
    this.unackedCount--;
    this.unackedBytes -= entry.message.body.length;
  }

  private markDelivered(entry: QueueEntry): void {
    if (entry.deliveries++ === 0 && entry.durable && entry.storeState === StoreState.Stored && this.store) {
      this.store.markDelivered(entry);
    }
    if (entry.redelivered) {
      this.stats.redelivered++;
      this.metrics.redelivered++;
    }
    this.stats.delivered++;
    this.metrics.delivered++;
  }

  /** Positive acknowledgement of an unacked entry. */
  ack(entry: QueueEntry): void {
    if (entry.state !== EntryState.Unacked) return;
    this.checkIn(entry);
    this.retireAcked(entry);
    // its consumer may have credit again
    if (this.ready.count > 0) this.dispatch();
  }

  /** Negative acknowledgement: back to its original position, or dropped. */
  reject(entry: QueueEntry, requeue: boolean): void {
    if (entry.state !== EntryState.Unacked) return;
    this.checkIn(entry);
    const limit = this.features.deliveryLimit;
    if (requeue && !this.deleted && (limit === null || entry.deliveries <= limit)) {
      entry.state = EntryState.Ready;
      entry.redelivered = true;
      // a queue with a delivery limit says how many deliveries failed (quorum semantics)
      if (limit !== null) entry.message = withDeliveryCount(entry.message, entry.deliveries);
      if (this.keys.indexed) this.keys.held(entry);
      this.ready.restore(entry);
      if (entry.expiresAt !== 0) this.armHeadExpiry(entry.expiresAt);
      this.metrics.requeued++;
      this.dispatch();
    } else {
      // a requeue past the delivery limit: it failed once too often to go round again
      this.discard(entry, requeue && !this.deleted ? 'delivery_limit' : 'rejected');
      if (this.ready.count > 0) this.dispatch();
    }
  }

  /** An acked entry retires. */
  private retireAcked(entry: QueueEntry): void {
    this.retire(entry, true);
    this.stats.acked++;
    this.metrics.acked++;
  }

  /** The entry leaves the queue for good (acked, dropped, expired, purged, removed), with its store row. */
  private retire(entry: QueueEntry, acked = false): void {
    entry.state = EntryState.Retired;
    entry.consumer = null;
    if (this.keys.indexed) this.keys.retired(entry);
    if (entry.storeState !== StoreState.None && this.store) this.store.remove(entry, acked);
  }

  /**
   * Visits ready entries in dispatch order (reading paged ones from the store), then delayed ones.
   * Waits for the store first when paged-out entries are not committed yet.
   */
  async list(visit: (entry: QueueEntry, dueAt: number) => boolean): Promise<void> {
    const token = this.ready.uncommittedPagedToken;
    if (token !== null && this.store) {
      const store = this.store;
      await new Promise<void>((resolve) => store.whenCommitted(token, () => resolve()));
    }
    let go = true;
    this.ready.list((entry) => (go = visit(entry, 0)));
    if (!go) return;
    for (const { entry, dueAt } of this.delayed.list()) if (!visit(entry, dueAt)) return;
  }

  /** Removes one ready or delayed entry (a job deleted by id). */
  remove(entry: QueueEntry): boolean {
    if (entry.state !== EntryState.Ready || entry.queue !== this) return false;
    if (!this.delayed.remove(entry) && !this.ready.remove(entry)) return false;
    this.retire(entry);
    return true;
  }

  /**
   * Removes all ready (and delayed) entries; unacked ones stay with their consumers. When the
   * queue's rows are deleted with it, paged delayed entries are not read back to be deleted.
   */
  purge(rowsGoWithQueue = false): number {
    queueMicrotask(() => this.relieve());
    const delayed = this.delayed.clear((entry) => this.retire(entry), !rowsGoWithQueue);
    const ready = this.ready.clear(
      (entry) => this.retire(entry),
      (rank, afterSeq) => this.store?.removePaged(this.id, rank, afterSeq),
    );
    // the paged ready rows went by range, unread
    if (this.keys.indexed) this.keys.forgetPaged();
    return delayed + ready;
  }

  // ---- lookup by business key --------------------------------------------------------------------

  /**
   * Indexes entries by `annotation` from now on, and what the queue holds already: in memory at
   * once, paged rows from the store (keys only, no body; a chunk per turn). Resolves once done.
   */
  indexBy(annotation: string): Promise<void> {
    const known = this.keys.get(annotation);
    if (known !== undefined) return known.rebuilt;
    const index = this.keys.add(annotation);
    this.ready.forEachInMemory((entry) => index.held(entry));
    // unacked entries are not held anywhere here: they join the index if they come back
    const pagedDelayed = new Set<number>();
    this.delayed.forEachSlot((seq, entry) => (entry === null ? pagedDelayed.add(seq) : index.held(entry)));
    if (this.store !== null && (this.ready.pagedCount > 0 || pagedDelayed.size > 0)) {
      index.complete = false;
      index.rebuilt = this.indexPagedRows(index, this.store, pagedDelayed).then(() => {
        index.complete = true;
      });
    }
    return index.rebuilt;
  }

  private async indexPagedRows(index: KeyIndex, store: QueueStore, pagedDelayed: ReadonlySet<number>): Promise<void> {
    await this.pagedRowsCommitted();
    let afterRank = -1;
    let afterSeq = 0;
    for (;;) {
      const rows = store.readKeys(this, index.annotation, afterRank, afterSeq, KEY_ROWS_PER_TURN);
      for (const [seq, rank, key] of rows) {
        if (key === null) continue;
        // still only in the store (the queue's moves since were told to the index already)
        const paged = pagedDelayed.has(seq) ? this.delayed.has(seq) : this.ready.isPaged(rank, seq);
        if (paged) index.pagedRow(key, seq);
      }
      if (rows.length < KEY_ROWS_PER_TURN || this.deleted) return;
      [afterSeq, afterRank] = rows[rows.length - 1]!;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Waits until the rows of paged-out entries can be read back. */
  private async pagedRowsCommitted(): Promise<void> {
    const store = this.store;
    if (store === null) return;
    for (const token of [this.ready.uncommittedPagedToken, this.delayed.uncommittedToken]) {
      if (token !== null) await new Promise<void>((resolve) => store.whenCommitted(token, () => resolve()));
    }
  }

  /**
   * The entry whose `annotation` (declared with indexBy) is `key`: ready, delayed (with its due
   * time) or out with a consumer; one row read back when it is paged out. Undefined if none.
   */
  async find(annotation: string, key: EntryKey): Promise<FoundEntry | undefined> {
    const index = this.keys.get(annotation);
    if (index === undefined) throw new Error(`queue '${this.name}' is not indexed by '${annotation}'`);
    if (!index.complete) await index.rebuilt;
    let place = index.get(key);
    if (typeof place === 'number') {
      await this.pagedRowsCommitted();
      // it may have moved meanwhile
      place = index.get(key);
      if (typeof place === 'number') place = this.store?.readEntry(this, place);
    }
    if (place === undefined) return undefined;
    return { entry: place, dueAt: this.delayed.has(place.seq) ? notBeforeOf(place.message) : 0 };
  }

  /** Loads one recovered rank: its head entries in memory, the rest (count, bytes) paged. */
  recoverBucket(rank: number, head: readonly QueueEntry[], count: number, bytes: number): void {
    this.ready.recover(rank, head, count, bytes);
    // TTLs count from the original enqueue: what expired while the broker was down goes at once
    const first = this.ready.peek();
    if (first !== undefined && first.expiresAt !== 0) this.armHeadExpiry(first.expiresAt);
  }

  // ---- introspection ---------------------------------------------------------------------------

  snapshot(now: number = Date.now()): QueueSnapshot {
    const { durable, autoDelete, exclusiveOwner } = this.options;
    return {
      vhost: this.vhost,
      name: this.name,
      durable,
      autoDelete,
      exclusive: exclusiveOwner !== null,
      owner: exclusiveOwner,
      arguments: this.options.arguments,
      order: this.features.order,
      type: this.features.type.name,
      policy: this.policyName,
      messagesReady: this.ready.count,
      messagesUnacknowledged: this.unackedCount,
      messagesDelayed: this.delayed.size,
      messagesPaged: this.ready.pagedCount,
      messageBytesReady: this.ready.bytes,
      messageBytesUnacknowledged: this.unackedBytes,
      memoryBytes: this.ready.bytesInMemory,
      consumers: this.consumers.size,
      stats: this.stats.snapshot(now),
    };
  }

  consumerSnapshots(): ConsumerSnapshot[] {
    return this.consumers.snapshots(this.vhost, this.name);
  }

  /** Marks the queue deleted, drops its ready entries and cancels its consumers (its store rows go with its record). */
  delete(): number {
    const count = this.purge(true);
    this.deleted = true;
    this.unusedTimer.cancel();
    this.headExpiry.cancel();
    this.delayed.stop();
    for (const consumer of this.consumers.all()) {
      this.consumers.remove(consumer);
      consumer.cancelledByQueue();
    }
    return count;
  }
}

/** Share of the memory budget held in memory above which a consumed queue pauses its publishers, and below which they go on. */
const FLOW_HIGH_SHARE = 0.5;
const FLOW_LOW_SHARE = 0.25;

/** Delayed entries a queue keeps in memory at most; the others wait as store rows. */
const DELAYED_RESIDENT_COUNT = 16_384;

/** Stored rows a key index reads back per turn while it is rebuilt. */
const KEY_ROWS_PER_TURN = 4096;

/** Most deliveries one dispatch call makes before yielding to the event loop. */
const DISPATCH_BATCH = 4096;

/** Stands in for a paged-out head when asking consumers for credit. */
const PROBE_ENTRY = { message: { body: Buffer.alloc(0) } } as unknown as QueueEntry;
