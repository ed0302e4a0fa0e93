import { AlarmRule, Broker, EntryState, FoundEntry, merged, Message, PersistentCounter, PublishOutcome, Queue, QueueEntry, Refusal, VirtualHost } from '#core';
import type { DeliveryOptions } from '../delivery-options';
import type { HttpSender } from '../sender/http-sender';
import { CircuitBreaker } from './circuit-breaker';
import { conflict, DeliveryRequestError, notFound } from './delivery-errors';
import { DeliveryFilter, DeliveryIndex, DeliveryRecord, DeliveryState, recordOf } from './delivery-index';
import { Attempt, Delivery, deliveryMessage, deliveryOf, dueTimeOf, H, idOf } from './delivery-message';
import { contentHash, DeliveryRequest } from './delivery-request';
import type { DestinationPermission } from './destination-permission';
import { DeliveryWorker, WorkerEvents } from './delivery-worker';

/** Namespace of the keyed records that remember finished deliveries. */
const FINISHED_RECORDS = 'dispatch.finished';

export interface Accepted {
  /** 202 for a new delivery, 200 for a UUID already accepted with the same content. */
  status: 202 | 200;
  record: DeliveryRecord;
}

export interface DeliveryEvents extends WorkerEvents {
  accepted(): void;
  replayed(count: number): void;
}

/**
 * The delivery door's domain: deliveries are persistent messages in two durable core queues
 * (`pending`, due now or later through the core's not-before timer, and `dead`), so they share
 * group commit, recovery and paging with everything else. Finished ones are remembered as keyed
 * records in the same store for the idempotency window. An index in memory answers lookups.
 */
export class DeliveryService {
  readonly index: DeliveryIndex;
  private vhost!: VirtualHost;
  private pending!: Queue;
  private dead!: Queue;
  private worker: DeliveryWorker | null = null;
  /**
   * The queues are shared by the nodes of a cluster (STORE=postgres): deliveries are found by id
   * in their rows, not in this node's index, which keeps only what this node is sending and has
   * finished lately; acceptance is deduplicated by the database.
   */
  private shared = false;
  private readonly acceptNo: PersistentCounter;
  /** What each message this service published says, so the worker need not decode it. */
  private readonly decoded = new WeakMap<Message, Delivery>();
  readonly circuit: CircuitBreaker;

  constructor(
    private readonly broker: Broker,
    private readonly options: DeliveryOptions,
    private readonly sender: HttpSender,
    private readonly events: DeliveryEvents,
    /** The per-destination rule when the door asks for credentials; null when it is open. */
    private readonly permission: DestinationPermission | null,
  ) {
    this.index = new DeliveryIndex(options.recentFinished);
    this.acceptNo = broker.counter('dispatch.accept_no');
    this.circuit = new CircuitBreaker(options.circuit);
  }

  private get pendingName(): string {
    return `${this.options.queuePrefix}pending`;
  }

  private get deadName(): string {
    return `${this.options.queuePrefix}dead`;
  }

  /**
   * Declares the queues and the AMQP exchange, rebuilds the index from what the store kept, and
   * starts the worker (after the index, so ordering keys are known before anything is sent).
   */
  async start(): Promise<void> {
    this.vhost = this.broker.addVhost(this.options.vhost);
    this.pending = this.vhost.declareQueue({ name: this.pendingName, durable: true });
    this.dead = this.vhost.declareQueue({ name: this.deadName, durable: true });
    this.vhost.declareExchange({ name: this.options.amqpExchange, type: 'fanout', durable: true, system: true });
    this.vhost.bind('queue', this.pendingName, this.options.amqpExchange, '');
    // cancel and replay find a delivery by its id
    await Promise.all([this.pending.indexBy(H.id), this.dead.indexBy(H.id)]);
    this.shared = this.pending.features.type.sharedAcrossNodes === true;
    // a shared pending queue keeps ordering keys itself: one delivery of a key out at a time, across nodes
    this.pending.groupBy?.(H.orderingKey, H.acceptNo);
    if (!this.shared) await this.indexWhatIsKept();
    this.worker = new DeliveryWorker(
      this.pending,
      this.index,
      this.sender,
      this.circuit,
      {
        reschedule: (delivery, dueAt) => this.publishPending(delivery, dueAt),
        bury: (delivery) => this.vhost.publish('', deliveryMessage(delivery, this.deadName)),
        finished: (record) => this.remember(record),
      },
      {
        workers: this.options.workers,
        hostConcurrency: this.options.hostConcurrency,
        defaultTimeoutMs: this.options.defaultTimeoutMs,
        retry: this.options.retry,
        anyResponseDelivers: this.options.anyResponseDelivers,
        sharedQueue: this.shared,
      },
      this.events,
      this.decoded,
      this.permission === null ? null : (delivery) => this.refusal(delivery),
    );
    this.pending.addConsumer(this.worker);
  }

  /** Indexes what the store kept (on one node the index answers every lookup). */
  private async indexWhatIsKept(): Promise<void> {
    await this.pending.list((entry, dueAt) => {
      const delivery = deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq);
      if (delivery !== null) {
        const record = recordOf(delivery, 'pending');
        // recovered entries list as ready until they are taken; their message says when they are due
        const notBefore = dueAt || Number(dueTimeOf(entry.message));
        if (notBefore > Date.now()) record.nextAttemptAt = notBefore;
        this.index.track(record);
      }
      return true;
    });
    await this.dead.list((entry) => {
      const delivery = deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq);
      if (delivery !== null) this.index.track(recordOf(delivery, 'dead'));
      return true;
    });
  }

  stop(): void {
    this.worker?.stop();
  }

  /**
   * Why a delivery taken from the pending queue may not be sent: its requester (the HTTP caller,
   * or the AMQP publisher's validated user_id) must be allowed to write to the destination.
   *
   * An AMQP publish that breaks the rule is confirmed (it was stored) and its delivery is dead at
   * once, never sent, with the refusal as dead_reason. RabbitMQ's closest rule, topic
   * authorisation, closes the channel with 403 at publish; that needs the publishing connection,
   * which only the AMQP door knows, while this rule must hold for whatever reaches the pending
   * queue by any route (the delivery exchange, the default exchange, exchange-to-exchange
   * bindings, dead-lettering, a management publish). So the door judges where every route ends,
   * on the identity RabbitMQ itself vouches for on a message: user_id, which every door refuses
   * unless it names the publishing user. A message without user_id has no requester and is refused.
   */
  private refusal(delivery: Delivery): string | null {
    if (delivery.requester === undefined) {
      return `a delivery needs the user who asked for it while DISPATCH_AUTH is on: publish with the user_id property set to your user`;
    }
    return this.permission!.refusal(delivery.requester, delivery.url);
  }

  get activeSends(): number {
    return this.worker?.activeSends ?? 0;
  }

  // ---- intake ----------------------------------------------------------------------------------

  /**
   * Accepts a delivery for `requester` (null when the door is open): answered once it is
   * committed (202), or the earlier acceptance (200).
   */
  async accept(request: DeliveryRequest, requester: string | null = null): Promise<Accepted> {
    // refused before any work (a repeated UUID too), as before the intake decided it
    const alarm = this.vhost.alarmRefusal();
    if (alarm !== null) throw refusedDelivery(alarm.refusal);
    const hash = contentHash(request);
    const existing = await this.lookup(request.id);
    if (existing !== undefined) {
      if (existing.hash !== hash) throw conflict(`UUID '${request.id}' was accepted with other content`);
      // not delivered again; answered once what was accepted is durable
      await this.broker.whenDurable();
      return { status: 200, record: existing };
    }
    // in acceptance order across nodes: ordering keys deliver in it
    const allocated = this.acceptNo.allocateInOrder();
    const acceptNo = typeof allocated === 'number' ? allocated : await allocated;
    const delivery: Delivery = merged(request, { acceptedAt: Date.now(), acceptNo, hash, attempts: [] as Attempt[], replays: 0 });
    if (requester !== null) delivery.requester = requester;
    if (this.shared) return this.acceptOnce(delivery);
    const record = recordOf(delivery, 'pending', delivery.acceptedAt);
    // indexed first: the worker may take it while it is published
    this.index.track(record);
    const outcome = this.publishPending(delivery, 0, 'refuse');
    if (outcome.kind === 'refused') {
      // not kept (a policy's x-max-length with reject-publish on the pending queue): no 202, no trace
      this.index.forget(record);
      throw refusedDelivery(outcome.refusal);
    }
    this.events.accepted();
    await this.broker.whenDurable(outcome.commitToken);
    return { status: 202, record };
  }

  /**
   * A delivery into a pending queue shared by the nodes of a cluster: kept unless a delivery of
   * its UUID is pending already, atomically in the database, so the same UUID posted to two nodes
   * at once is accepted once (the other answers as for a repeat).
   */
  private async acceptOnce(delivery: Delivery): Promise<Accepted> {
    const message = deliveryMessage(delivery, this.pendingName);
    this.decoded.set(message, delivery);
    const outcome = await this.pending.enqueueUnique!(message, delivery.id, this.options.idempotencyWindowMs);
    // not kept: its UUID is taken (by a delivery still pending or in flight, or one that left the
    // queue: its record tells how it ended), or refused
    const existing =
      outcome === null || (!outcome.added && outcome.found.entry.state === EntryState.Retired)
        ? await this.lookup(delivery.id)
        : outcome.added
          ? undefined
          : this.recordOfFound(outcome.found, 'pending');
    if (outcome === null && existing === undefined) {
      throw new DeliveryRequestError(503, `not accepting deliveries: queue '${this.pendingName}' is full and refuses new messages (x-overflow ${this.pending.features.overflow})`);
    }
    if (outcome === null || !outcome.added) {
      if (existing === undefined || existing.hash !== delivery.hash) throw conflict(`UUID '${delivery.id}' was accepted with other content`);
      return { status: 200, record: existing };
    }
    this.events.accepted();
    return { status: 202, record: recordOf(delivery, 'pending', delivery.acceptedAt) };
  }

  /** The record of a delivery found in a queue's rows (taken: in flight, on whichever node). */
  private recordOfFound(found: FoundEntry, state: 'pending' | 'dead'): DeliveryRecord | undefined {
    const entry = found.entry;
    const delivery = deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq);
    if (delivery === null) return undefined;
    const record = recordOf(delivery, state === 'pending' && entry.state === EntryState.Unacked ? 'in-flight' : state);
    if (found.dueAt > 0) record.nextAttemptAt = found.dueAt;
    return record;
  }

  // ---- lookups ---------------------------------------------------------------------------------

  /**
   * The delivery with this UUID: tracked now, or finished within the idempotency window (a keyed
   * record, read from the store: async).
   */
  async lookup(id: string): Promise<DeliveryRecord | undefined> {
    if (this.shared) return this.lookupShared(id);
    const tracked = this.index.get(id);
    if (tracked !== undefined) return tracked;
    const stored = await this.broker.readRecord(FINISHED_RECORDS, id);
    // while the store answered, an accept of the same UUID may have taken it: the index is newer
    const trackedNow = this.index.get(id);
    if (trackedNow !== undefined) return trackedNow;
    return stored === undefined ? undefined : (JSON.parse(stored.toString('utf8')) as DeliveryRecord);
  }

  /**
   * On a cluster: the delivery as its rows say (pending or in flight on whichever node, dead), or
   * its finished record; this node's index only for what it is sending or finished lately.
   */
  private async lookupShared(id: string): Promise<DeliveryRecord | undefined> {
    const tracked = this.index.get(id);
    if (tracked !== undefined && (tracked.state === 'in-flight' || tracked.state === 'delivered' || tracked.state === 'cancelled')) return tracked;
    const pending = await this.pending.find(H.id, id);
    const fromPending = pending === undefined ? undefined : this.recordOfFound(pending, 'pending');
    if (fromPending !== undefined) return fromPending;
    const dead = await this.dead.find(H.id, id);
    const fromDead = dead === undefined ? undefined : this.recordOfFound(dead, 'dead');
    if (fromDead !== undefined) return fromDead;
    const stored = await this.broker.readRecord(FINISHED_RECORDS, id);
    if (stored !== undefined) return JSON.parse(stored.toString('utf8')) as DeliveryRecord;
    return this.index.get(id);
  }

  list(filter: DeliveryFilter, afterNo: number, limit: number): DeliveryRecord[] | Promise<DeliveryRecord[]> {
    if (this.shared) return this.listShared(filter, afterNo, limit);
    return this.index.list(filter, afterNo, limit);
  }

  /**
   * On a cluster: what the rows hold (pending and dead deliveries of every node), what this node
   * is sending, and the finished records kept for the idempotency window (delivered and
   * cancelled, whichever node finished them). Read from the database at each call.
   */
  private async listShared(filter: DeliveryFilter, afterNo: number, limit: number): Promise<DeliveryRecord[]> {
    const records = new Map<string, DeliveryRecord>();
    const wants = (state: DeliveryState): boolean => filter.state === undefined || filter.state === state;
    const collect = (state: 'pending' | 'dead') => (entry: QueueEntry, dueAt: number): boolean => {
      const record = this.recordOfFound({ entry, dueAt }, state);
      if (record !== undefined) records.set(record.id, record);
      return true;
    };
    if (wants('pending')) await this.pending.list(collect('pending'));
    if (wants('dead')) await this.dead.list(collect('dead'));
    if (wants('delivered') || wants('cancelled')) {
      for (const [, value] of await this.broker.listRecords(FINISHED_RECORDS)) {
        const record = JSON.parse(value.toString('utf8')) as DeliveryRecord;
        records.set(record.id, record);
      }
    }
    const index = new DeliveryIndex(Number.MAX_SAFE_INTEGER);
    for (const record of records.values()) {
      if (record.state === 'delivered' || record.state === 'cancelled') index.finish(record);
      else index.track(record);
    }
    // what this node is sending now, and finished lately (its records may not be committed yet)
    for (const record of this.index.list({}, 0, Number.MAX_SAFE_INTEGER)) {
      if (record.state === 'in-flight') index.track(record);
      else if ((record.state === 'delivered' || record.state === 'cancelled') && !records.has(record.id)) index.finish(record);
    }
    return index.list(filter, afterNo, limit);
  }

  // ---- replay and cancel -----------------------------------------------------------------------

  /**
   * Re-queues dead deliveries (one by id, or all matching a filter); returns how many. A replay
   * by a user (allowed to write to the destination) is sent on that user's behalf.
   */
  async replay(select: { id: string } | DeliveryFilter, requester: string | null = null): Promise<number> {
    const wanted = (record: DeliveryRecord | undefined): boolean => {
      if (record === undefined || record.state !== 'dead') return false;
      if ('id' in select) return record.id === select.id;
      const f = select as DeliveryFilter;
      if (f.host !== undefined && record.host !== f.host.toLowerCase()) return false;
      if (f.since !== undefined && record.acceptedAt < f.since) return false;
      if (f.until !== undefined && record.acceptedAt >= f.until) return false;
      return true;
    };
    if ('id' in select) {
      const record = await this.lookup(select.id);
      if (record === undefined) throw notFound(`no delivery '${select.id}'`);
      if (record.state !== 'dead') throw conflict(`delivery '${select.id}' is ${record.state}, only dead deliveries are replayed`);
    }
    const found: QueueEntry[] = [];
    if (this.shared) {
      // on a cluster the dead rows are the truth (this node's index knows what it buried only)
      if ('id' in select) {
        const entry = await this.entryWithId(this.dead, select.id);
        if (entry !== undefined) found.push(entry);
      } else {
        await this.dead.list((entry) => {
          const delivery = deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq);
          if (delivery !== null && wanted(recordOf(delivery, 'dead'))) found.push(entry);
          return true;
        });
      }
    } else {
      // the dead deliveries wanted are known by id (the index of records): each is found by its key
      const ids = 'id' in select ? [select.id] : this.index.list({ ...select, state: 'dead' }, 0, Number.MAX_SAFE_INTEGER).map((record) => record.id);
      for (const id of ids) {
        const entry = await this.entryWithId(this.dead, id);
        const delivery = entry && deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq);
        if (delivery && wanted(this.index.get(delivery.id))) found.push(entry);
      }
    }
    // in the dead queue's order, as they were buried
    found.sort((a, b) => a.seq - b.seq);
    let replayed = 0;
    for (const entry of found) {
      const delivery = deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq)!;
      const record = this.shared ? recordOf(delivery, 'dead') : this.index.get(delivery.id);
      if (record === undefined || record.state !== 'dead' || !this.dead.remove(entry)) continue;
      const again: Delivery = merged(delivery, { replays: delivery.replays + 1, attemptBase: delivery.attempts.length });
      delete again.deadReason;
      if (requester !== null) again.requester = requester;
      const fresh = recordOf(again, 'pending');
      if (!this.shared) this.index.track(fresh);
      if (this.publishPending(again, 0).kind === 'refused') {
        // the pending queue is full: it stays dead, as it was
        if (!this.shared) this.index.track(record);
        this.vhost.publish('', deliveryMessage(delivery, this.deadName));
        continue;
      }
      replayed++;
    }
    await this.broker.whenDurable();
    if (replayed > 0) this.events.replayed(replayed);
    return replayed;
  }

  /** Cancels a pending (or dead) delivery; one being sent right now cannot be. */
  async cancel(id: string): Promise<DeliveryRecord> {
    const record = await this.lookup(id);
    if (record === undefined) throw notFound(`no delivery '${id}'`);
    if (record.state === 'delivered' || record.state === 'cancelled') throw conflict(`delivery '${id}' is already ${record.state}`);
    if (this.worker?.isInFlight(id) || (this.shared && record.state === 'in-flight')) throw conflict(`delivery '${id}' is being sent right now; cancel again if it is retried`);
    let removed = this.worker?.cancelParked(id) ?? false;
    if (!removed) {
      const queue = record.state === 'dead' ? this.dead : this.pending;
      const target = await this.entryWithId(queue, id);
      removed = target !== undefined && queue.remove(target);
    }
    if (!removed) {
      if (this.worker?.isInFlight(id)) throw conflict(`delivery '${id}' is being sent right now; cancel again if it is retried`);
      throw conflict(`delivery '${id}' could not be cancelled in its state (${record.state})`);
    }
    record.state = 'cancelled';
    record.updatedAt = Date.now();
    delete record.nextAttemptAt;
    this.index.finish(record);
    this.remember(record);
    await this.broker.whenDurable();
    return record;
  }

  /**
   * The ready or waiting entry of the delivery with this id in `queue`: found by its key. An AMQP
   * client's delivery published without x-dispatch-id has none (its id is its message-id, or made
   * from its place): only for such an id is the queue walked.
   */
  private async entryWithId(queue: Queue, id: string): Promise<QueueEntry | undefined> {
    const found = await queue.find(H.id, id);
    if (found !== undefined) return found.entry.state === EntryState.Ready ? found.entry : undefined;
    let target: QueueEntry | undefined;
    await queue.list((entry) => {
      if (idOf(entry.message) !== undefined) return true;
      if (deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq)?.id !== id) return true;
      target = entry;
      return false;
    });
    return target;
  }

  private publishPending(delivery: Delivery, dueAt: number, onAlarm: AlarmRule = 'accept'): PublishOutcome {
    const message = deliveryMessage(delivery, this.pendingName, dueAt);
    this.decoded.set(message, delivery);
    return this.vhost.publish('', message, onAlarm);
  }

  private remember(record: DeliveryRecord): void {
    this.broker.putRecord(FINISHED_RECORDS, record.id, Buffer.from(JSON.stringify(record)), Date.now() + this.options.idempotencyWindowMs);
  }
}

/** The one answer of this door to a refused delivery: 503, saying why; nothing was kept. */
function refusedDelivery(refusal: Refusal): DeliveryRequestError {
  if (refusal.reason === 'resource-alarm') return new DeliveryRequestError(503, `not accepting deliveries while a resource alarm is on (${refusal.alarm})`);
  return new DeliveryRequestError(503, `not accepting deliveries: queue '${refusal.queue.name}' is full and refuses new messages (x-overflow ${refusal.overflow})`);
}
