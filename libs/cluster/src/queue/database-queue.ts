import {
  BrokerError,
  ConsumerSet,
  EntryKey,
  EntryState,
  exclusiveUse,
  encodeAnnotations,
  FieldTable,
  FoundEntry,
  InboundBindings,
  keyOf,
  Message,
  notBeforeOf,
  QueueStats,
  rankIn,
  withDeliveryCount,
} from '#core';
import type { Consumer, ConsumerSnapshot, CoreMetrics, DeathReason, Queue, QueueEntry, QueueFeatures, QueueInit, QueueOptions, QueueOwner, QueueSnapshot, UniqueOutcome } from '#core';
import { keyText, MessageRow, messageOf } from './message-rows';
import type { RowInsert } from './queue-batch';
import type { SharedQueues } from './shared-queues';
import { RowCounts, RowTally } from './row-tally';
import { SharedEntry } from './shared-entry';

/** Rows one claim takes at most. */
const CLAIM_MAX = 256;

/** Stands in for an entry not claimed yet when asking consumers for credit. */
const PROBE_ENTRY = { message: { body: Buffer.alloc(0) } } as unknown as QueueEntry;

/** A fetch (Queue.claim) waiting for the next claim: it takes up to `max` entries. */
interface Fetcher {
  autoAck: boolean;
  max: number;
  resolve(entries: QueueEntry[]): void;
}

/**
 * A queue whose messages are rows of queue_messages that every node shares (the database-backed
 * queue type). Enqueues go into the store's open batch (one multi-row insert per commit); consumers
 * and fetches take rows by claiming them in batches (FOR UPDATE SKIP LOCKED, rank then arrival
 * order), only while someone waits for them; acks, requeues and removals are batched too. What
 * this node holds in memory: its consumers, the few rows it claimed and has not handed over yet,
 * and counts (refreshed from the table every poll interval).
 */
export class DatabaseQueue implements Queue {
  readonly kind = 'queue';
  readonly inbound = new InboundBindings();
  deleted = false;
  routeMark = 0;
  /** The queue's id in the database (queues.id), once known. */
  dbId: number | null = null;
  private readonly consumers: ConsumerSet;
  private readonly stats = new QueueStats();
  /** Rows claimed for consumers that had no credit left when they arrived: handed over first. */
  private readonly claimed: SharedEntry[] = [];
  private fetchers: Fetcher[] = [];
  private claiming = false;
  private claimAgain = false;
  /** The annotations of the business keys, by column (key_1, key_2). */
  private readonly keyAnnotations: string[] = [];
  /** Entries of one group are taken one at a time, in order (see groupBy); null: no groups. */
  grouping: { group: string; order: string } | null = null;
  /** How many rows the queue has, as this node sees them between looks at the table. */
  private readonly tally = new RowTally();
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = 0;
  private policyName: string | null = null;

  readonly id: number;
  readonly vhost: string;
  readonly name: string;
  readonly options: QueueOptions;
  features: QueueFeatures;
  private readonly owner: QueueOwner;
  private readonly metrics: CoreMetrics;

  constructor(
    init: QueueInit,
    private readonly shared: SharedQueues,
  ) {
    this.id = init.id;
    this.vhost = init.vhost;
    this.name = init.name;
    this.options = init.options;
    this.features = init.features;
    this.owner = init.owner;
    this.metrics = init.metrics;
    this.consumers = new ConsumerSet(init.features.singleActiveConsumer);
    shared.adopt(this);
  }

  get durable(): boolean {
    return this.options.durable;
  }

  get arguments(): FieldTable {
    return this.options.arguments;
  }

  /** Publishers are never paused by a shared queue: its backlog is rows, not memory. */
  get overloaded(): boolean {
    return false;
  }

  onRelief(listener: () => void): void {
    queueMicrotask(listener);
  }

  /** The database id is known (read in a batch's transaction, or by a lookup). */
  resolvedId(id: number | null): void {
    if (id !== null) this.shared.identified(this, id);
  }

  // ---- intake ----------------------------------------------------------------------------------

  enqueue(message: Message): QueueEntry | null {
    const insert = this.rowOf(message);
    if (insert === null) return null;
    const entry = new SharedEntry(this.owner.nextSeq(), insert.rank, message, this, true);
    entry.notBefore = insert.notBefore;
    this.shared.insert(insert);
    this.added(insert);
    return entry;
  }

  enqueueUnique(message: Message, key: EntryKey, keepKeyMs: number): Promise<UniqueOutcome> {
    const insert = this.rowOf(message);
    if (insert === null) return Promise.resolve(null);
    this.added(insert);
    return new Promise((resolve, reject) => {
      this.shared.insertUnique({
        ...insert,
        uniqueKey: keyText(key),
        keepKeyMs,
        settled: (outcome) => {
          if (outcome === null) reject(new BrokerError('store-unavailable', `the message for queue '${this.name}' in vhost '${this.vhost}' was not stored: the database is unavailable`));
          else if (outcome === 'gone') resolve(null);
          else if (outcome.added) {
            const entry = new SharedEntry(outcome.seq, insert.rank, message, this, true);
            entry.dbQueueId = this.dbId ?? 0;
            entry.notBefore = insert.notBefore;
            resolve({ added: true, entry });
          } else {
            this.tally.notAdded();
            resolve({ added: false, found: this.foundOf(outcome.row) });
          }
        },
      });
    });
  }

  /** The row of a message, or null when the queue refuses it (a length limit, properties that cannot be encoded). */
  private rowOf(message: Message): RowInsert | null {
    const problem = message.encodingProblem() ?? message.encodeProperties();
    if (problem !== null) {
      this.metrics.dropped++;
      process.emitWarning(`queue '${this.name}' in vhost '${this.vhost}' dropped a message whose properties cannot be encoded: ${problem}`, { code: 'BROKER_UNENCODABLE_MESSAGE' });
      return null;
    }
    const { maxLength, maxLengthBytes, overflow } = this.features;
    // x-overflow drop-head is not kept by a shared queue (it would delete other nodes' rows unseen): it refuses as reject-publish
    if ((maxLength !== null && this.tally.ready >= maxLength) || (maxLengthBytes !== null && this.tally.readyBytes + message.body.length > maxLengthBytes)) {
      this.metrics.dropped++;
      if (overflow === 'reject-publish-dlx' && this.features.deadLetterExchange !== null) this.owner.deadLetter(this, message, 'maxlen');
      return null;
    }
    const annotations = message.annotations === null ? null : encodeAnnotations(message.annotations);
    return {
      queue: this,
      rank: this.features.order === 'fifo' ? 0 : rankIn(this.features, message),
      notBefore: message.annotations === null && message.properties.headers === undefined ? 0 : notBeforeOf(message),
      key1: this.keyColumn(message, 0),
      key2: this.keyColumn(message, 1),
      ...this.groupColumns(message),
      exchange: Buffer.from(message.exchange, 'utf8'),
      routingKey: Buffer.from(message.routingKey, 'utf8'),
      properties: message.encodedProperties!,
      body: message.body,
      annotations,
    };
  }

  private groupColumns(message: Message): { groupKey: string | null; groupOrder: number | null } {
    const grouping = this.grouping;
    const groupKey = grouping === null ? undefined : keyOf(message, grouping.group);
    if (grouping === null || groupKey === undefined) return { groupKey: null, groupOrder: null };
    const order = keyOf(message, grouping.order);
    return { groupKey: keyText(groupKey), groupOrder: typeof order === 'number' ? order : 0 };
  }

  groupBy(groupAnnotation: string, orderAnnotation: string): void {
    this.grouping = { group: groupAnnotation, order: orderAnnotation };
  }

  private keyColumn(message: Message, column: number): string | null {
    const annotation = this.keyAnnotations[column];
    if (annotation === undefined) return null;
    const key = keyOf(message, annotation);
    return key === undefined ? null : keyText(key);
  }

  private added(insert: RowInsert): void {
    this.stats.published++;
    const delayed = insert.notBefore > Date.now();
    this.tally.added(this.shared.openBatchNo, delayed, insert.body.length);
    if (delayed) this.wakeAt(insert.notBefore);
  }

  /** A store batch with rows of this queue committed (or was lost: its rows were never added). */
  batchSettled(no: number, committed: boolean): void {
    this.tally.batchSettled(no, committed);
  }

  // ---- taking ----------------------------------------------------------------------------------

  checkConsumer(consumer: Consumer): void {
    if (this.consumers.hasExclusive() || (consumer.exclusive && this.consumers.size > 0)) {
      throw exclusiveUse(`queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
  }

  addConsumer(consumer: Consumer): void {
    this.checkConsumer(consumer);
    this.consumers.add(consumer);
    this.dispatch();
  }

  removeConsumer(consumer: Consumer): void {
    if (!this.consumers.remove(consumer)) return;
    if (this.features.singleActiveConsumer && this.consumers.size > 0) this.dispatch();
    if (this.consumers.size === 0 && this.fetchers.length === 0) this.giveBackClaimed();
  }

  /** Hands what this node claimed to consumers with credit, and claims more while they want it. */
  dispatch(): void {
    if (this.deleted) return;
    this.handOut();
    if (this.wanted() > 0) this.requestClaim();
  }

  /** Rows were added or given back (here or, told by NOTIFY or the poll, on another node): claim if someone waits. */
  wake(): void {
    if (this.deleted || this.wanted() === 0) return;
    this.requestClaim();
  }

  private handOut(): void {
    while (this.claimed.length > 0 && this.consumers.size > 0) {
      const consumer = this.consumers.pick(this.claimed[0]!);
      if (consumer === undefined) return;
      this.handOver(this.claimed.shift()!, consumer);
    }
  }

  /** Rows worth claiming now: what the waiting fetches ask for, and the credit of consumers (when nothing claimed waits for them). */
  private wanted(): number {
    let wanted = 0;
    for (const fetcher of this.fetchers) wanted += fetcher.max;
    if (this.claimed.length > 0 || this.consumers.size === 0) return Math.min(wanted, CLAIM_MAX);
    for (const consumer of this.consumers.all()) {
      if (this.consumers.isActive(consumer) && consumer.hasCredit(PROBE_ENTRY)) wanted += Math.max(1, consumer.prefetchCount ?? 1);
    }
    return Math.min(wanted, CLAIM_MAX);
  }

  private requestClaim(): void {
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimWhileWanted().finally(() => {
      this.claiming = false;
    });
  }

  private async claimWhileWanted(): Promise<void> {
    for (;;) {
      this.claimAgain = false;
      const want = this.wanted();
      if (want === 0 || this.deleted) return;
      const asking = this.fetchers;
      this.fetchers = [];
      let rows: MessageRow[] = [];
      try {
        rows = await this.shared.claim(this, want);
      } catch {
        // the database is unavailable: fetches answer empty, consumers wait for the next wake
      }
      const entries = rows.map((row) => this.entryOf(row)).sort(byRankThenSeq);
      this.tally.claimed(entries.length);
      let next = 0;
      for (const fetcher of asking) {
        // in arrival order: the claim asked for all of them, so a short one leaves the last empty
        const share = Math.min(fetcher.max, entries.length - next);
        const taken = entries.slice(next, next + share);
        next += taken.length;
        for (const entry of taken) this.fetched(entry, fetcher.autoAck);
        fetcher.resolve(taken);
      }
      for (; next < entries.length; next++) this.claimed.push(entries[next]!);
      if (this.deleted) {
        this.giveBackClaimed();
        return;
      }
      this.handOut();
      if (this.consumers.size === 0 && this.fetchers.length === 0) this.giveBackClaimed();
      if (rows.length < want && !this.claimAgain) return;
    }
  }

  /** Rows claimed for consumers that went away go back (in their place) for any node to take. */
  private giveBackClaimed(): void {
    for (const entry of this.claimed.splice(0)) this.shared.requeue(entry);
  }

  /** An entry of a row read back from the database. */
  entryOf(row: MessageRow): SharedEntry {
    let message = messageOf(row);
    const deliveries = row.deliveries;
    const limit = this.features.deliveryLimit;
    // a queue with a delivery limit says how many deliveries failed (quorum semantics)
    if (limit !== null && deliveries > 1) message = withDeliveryCount(message, deliveries - 1);
    const entry = new SharedEntry(Number(row.seq), Number(row.rank), message, this, true);
    entry.dbQueueId = Number(row.queue_id);
    entry.notBefore = Number(row.not_before);
    entry.deliveries = deliveries;
    entry.redelivered = deliveries > 1;
    if (row.holder !== null) entry.state = EntryState.Unacked;
    // a unique key's first message whose row left (what the reservation kept)
    if (deliveries < 0) {
      entry.state = EntryState.Retired;
      entry.deliveries = 0;
      entry.redelivered = false;
    }
    return entry;
  }

  private foundOf(row: MessageRow): FoundEntry {
    const entry = this.entryOf(row);
    const dueAt = entry.notBefore > Date.now() && row.holder === null ? entry.notBefore : 0;
    const found: FoundEntry = { entry, dueAt };
    // taken: settled by its lease id on any node (a job received with ack; its deadline is the granting node's, or the row's once touched)
    if (row.holder !== null) found.leaseId = entry.leaseId;
    return found;
  }

  private handOver(entry: SharedEntry, consumer: Consumer): void {
    this.delivered(entry);
    if (consumer.autoAck) {
      this.metrics.deliveredAutoAck++;
      consumer.deliver(entry);
      this.retire(entry, true);
      return;
    }
    this.metrics.deliveredManualAck++;
    entry.state = EntryState.Unacked;
    entry.consumer = consumer;
    consumer.deliver(entry);
  }

  private fetched(entry: SharedEntry, autoAck: boolean): void {
    this.delivered(entry);
    if (autoAck) {
      this.metrics.fetchedAutoAck++;
      this.retire(entry, true);
    } else {
      this.metrics.fetchedManualAck++;
      entry.state = EntryState.Unacked;
    }
  }

  private delivered(entry: SharedEntry): void {
    if (entry.redelivered) {
      this.stats.redelivered++;
      this.metrics.redelivered++;
    }
    this.stats.delivered++;
    this.metrics.delivered++;
  }

  /** basic.get: a row this node claimed already, if any (Queue.claim claims one). */
  fetch(autoAck: boolean): QueueEntry | undefined {
    const entry = this.claimed.shift();
    if (entry === undefined) {
      this.metrics.fetchedEmpty++;
      this.wake();
      return undefined;
    }
    this.fetched(entry, autoAck);
    return entry;
  }

  claim(autoAck: boolean, max: number): Promise<QueueEntry[]> {
    if (this.claimed.length > 0) {
      const taken = this.claimed.splice(0, max);
      for (const entry of taken) this.fetched(entry, autoAck);
      return Promise.resolve(taken);
    }
    return new Promise((resolve) => {
      this.fetchers.push({ autoAck, max: Math.max(1, Math.min(max, CLAIM_MAX)), resolve });
      this.requestClaim();
    });
  }

  // ---- settling --------------------------------------------------------------------------------

  ack(entry: QueueEntry): void {
    if (entry.state !== EntryState.Unacked) return;
    this.retire(entry as SharedEntry, true);
    if (this.consumers.size > 0) this.dispatch();
  }

  reject(entry: QueueEntry, requeue: boolean): void {
    if (entry.state !== EntryState.Unacked) return;
    const shared = entry as SharedEntry;
    const limit = this.features.deliveryLimit;
    entry.consumer = null;
    if (requeue && !this.deleted && (limit === null || entry.deliveries <= limit)) {
      entry.state = EntryState.Ready;
      this.tally.requeued();
      this.metrics.requeued++;
      this.shared.requeue(shared);
    } else {
      this.discard(shared, requeue && !this.deleted ? 'delivery_limit' : 'rejected');
    }
    if (this.consumers.size > 0) this.dispatch();
  }

  /** Leaves for good without an ack: dead-lettered first (its insert shares the batch of this row's delete). */
  private discard(entry: SharedEntry, reason: DeathReason): void {
    if (this.features.deadLetterExchange !== null) this.owner.deadLetter(this, entry.message, reason);
    this.retire(entry, false);
    this.metrics.dropped++;
  }

  private retire(entry: SharedEntry, acked: boolean): void {
    entry.state = EntryState.Retired;
    entry.consumer = null;
    this.tally.retired();
    this.shared.delete(entry);
    if (acked) {
      this.stats.acked++;
      this.metrics.acked++;
    }
  }

  // ---- management ------------------------------------------------------------------------------

  async list(visit: (entry: QueueEntry, dueAt: number) => boolean): Promise<void> {
    await this.shared.committed();
    await this.shared.listRows(this, (row) => {
      const found = this.foundOf(row);
      return visit(found.entry, found.dueAt);
    });
  }

  /** Removes a ready row (the delete commits with the next batch; a row another node took meanwhile stays). */
  remove(entry: QueueEntry): boolean {
    if (entry.state !== EntryState.Ready || entry.queue !== this) return false;
    const shared = entry as SharedEntry;
    if (shared.dbQueueId === 0) return false;
    entry.state = EntryState.Retired;
    this.tally.removed(shared.notBefore > Date.now());
    this.shared.remove(shared);
    return true;
  }

  purge(): number {
    const count = this.tally.purged();
    this.shared.purge(this);
    return count;
  }

  touch(): void {
    // x-expires is not kept by a shared queue (which node's use would count?)
  }

  // ---- lookup by business key ------------------------------------------------------------------

  indexBy(annotation: string): Promise<void> {
    if (this.keyAnnotations.includes(annotation)) return Promise.resolve();
    if (this.keyAnnotations.length === 2) return Promise.reject(new Error(`queue '${this.name}': a shared queue is indexed by two keys at most`));
    // every node declares the same keys in the same order (the doors' code), so key_1 and key_2 mean the same everywhere
    this.keyAnnotations.push(annotation);
    return Promise.resolve();
  }

  async find(annotation: string, key: EntryKey): Promise<FoundEntry | undefined> {
    const column = this.keyAnnotations.indexOf(annotation);
    if (column < 0) throw new Error(`queue '${this.name}' is not indexed by '${annotation}'`);
    await this.shared.committed();
    const row = await this.shared.findRow(this, column, keyText(key));
    return row === undefined ? undefined : this.foundOf(row);
  }

  // ---- counts and introspection -----------------------------------------------------------------

  get messageCount(): number {
    return this.tally.ready;
  }

  get unackedMessageCount(): number {
    return this.tally.unacked;
  }

  get delayedCount(): number {
    return this.tally.delayed;
  }

  get pagedCount(): number {
    return 0;
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  /** What a look at the table started at `countedAt` found (the poll), with the earliest time a delayed row is due. */
  counted(counts: RowCounts, nextDue: number, countedAt: number): void {
    this.tally.counted(counts, countedAt);
    if (nextDue > 0) this.wakeAt(nextDue);
  }

  /** Claims again when a delayed row is due (if someone waits then). */
  private wakeAt(at: number): void {
    if (this.deleted || (this.dueTimer !== null && this.dueAt <= at)) return;
    if (this.dueTimer !== null) clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = setTimeout(
      () => {
        this.dueTimer = null;
        this.dueAt = 0;
        this.wake();
      },
      Math.min(Math.max(0, at - Date.now()) + 1, 2 ** 31 - 1),
    );
    this.dueTimer.unref();
  }

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
      messagesReady: this.tally.ready,
      messagesUnacknowledged: this.tally.unacked,
      messagesDelayed: this.tally.delayed,
      messagesPaged: 0,
      messageBytesReady: this.tally.readyBytes,
      messageBytesUnacknowledged: 0,
      memoryBytes: 0,
      consumers: this.consumers.size,
      stats: this.stats.snapshot(now),
    };
  }

  consumerSnapshots(): ConsumerSnapshot[] {
    return this.consumers.snapshots(this.vhost, this.name);
  }

  // ---- life cycle ------------------------------------------------------------------------------

  applyPolicy(policyName: string | null, features: QueueFeatures): void {
    this.policyName = policyName;
    this.features = features;
  }

  /** Nothing to recover: the rows are in the database. */
  recoverBucket(): void {}

  /** Deleted (here or on another node): its rows go with its definition row (ON DELETE CASCADE). */
  delete(): number {
    const count = this.tally.ready + this.tally.delayed;
    this.deleted = true;
    if (this.dueTimer !== null) clearTimeout(this.dueTimer);
    for (const fetcher of this.fetchers.splice(0)) fetcher.resolve([]);
    this.claimed.length = 0;
    for (const consumer of this.consumers.all()) {
      this.consumers.remove(consumer);
      consumer.cancelledByQueue();
    }
    this.shared.forget(this);
    return count;
  }
}

function byRankThenSeq(a: QueueEntry, b: QueueEntry): number {
  return a.rank - b.rank || a.seq - b.seq;
}
