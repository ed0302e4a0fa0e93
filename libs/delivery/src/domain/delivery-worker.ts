import { copyWith } from '#core';
import type { Consumer, Message, Queue, QueueEntry } from '#core';
import type { HttpSender, SentAttempt } from '../sender/http-sender';
import type { CircuitBreaker } from './circuit-breaker';
import { DeliveryIndex, DeliveryRecord, recordOf } from './delivery-index';
import { HostPacing, PARKED_PER_HOST_FACTOR } from './host-pacing';
import { Delivery, deliveryOf } from './delivery-message';
import { verdictOf } from './outcome-policy';
import { retryDelayMs, RetryPolicy } from './retry-schedule';

/** What the worker does with a delivery's messages (the service owns the queues). */
export interface DeliveryMoves {
  /** Puts a copy back in the pending queue, due at `dueAt`. */
  reschedule(delivery: Delivery, dueAt: number): void;
  /** Puts a copy in the dead letters. */
  bury(delivery: Delivery): void;
  /** Records a finished (delivered or cancelled) delivery for the idempotency window. */
  finished(record: DeliveryRecord): void;
}

export interface WorkerLimits {
  workers: number;
  hostConcurrency: number;
  defaultTimeoutMs: number;
  retry: RetryPolicy;
  anyResponseDelivers: boolean;
  /**
   * The pending queue is shared by the nodes of a cluster and takes one delivery of an ordering
   * key at a time itself, in acceptance order (Queue.groupBy): the worker keeps no turns, and
   * forgets a delivery once it left its hands (its row is the truth; another node may take it next).
   */
  sharedQueue?: boolean;
}

/**
 * Why a delivery may not be sent on behalf of whoever asked for it (the destination permission
 * of DISPATCH_AUTH), or null.
 */
export type DeliveryAuthorizer = (delivery: Delivery) => string | null;

export interface WorkerEvents {
  attempted(sent: SentAttempt, host: string): void;
  delivered(record: DeliveryRecord): void;
  dead(record: DeliveryRecord): void;
  /** A delivery went back to the pending queue for later: its host was busy or its circuit open. */
  deferred(): void;
}

/** A delivery waiting in memory (held unacked) for a host slot or its ordering turn. */
interface Parked {
  entry: QueueEntry;
  delivery: Delivery;
}

/** Deliveries of one ordering key waiting in memory for their turn; more are put back. */
const PARKED_PER_KEY = 256;
const HOST_BUSY_RETRY_MS = 1000;
/** A delivery deferred for its busy host is due at most this much later (a host that speeds up is not left idle long). */
const HOST_BUSY_MAX_DELAY_MS = 60_000;

/**
 * The delivery door's consumer of the pending queue: the core hands it due deliveries while it has
 * a free sender (credit = free workers); it keeps the per-host limit, the circuit breaker and the
 * ordering keys, sends, and settles each attempt by acknowledging the entry after writing what
 * comes next (a retry copy due later, a dead letter, or a finished record), so the store always
 * holds the delivery in one state or the next.
 */
export class DeliveryWorker implements Consumer {
  readonly tag = 'delivery-worker';
  readonly priority = 0;
  readonly exclusive = false;
  readonly autoAck = false;
  readonly owner = 'delivery';
  private inFlight = 0;
  private readonly inFlightIds = new Set<string>();
  private readonly hostActive = new Map<string, number>();
  private readonly hostWaiting = new Map<string, Parked[]>();
  /** Per ordering key, the deliveries that arrived before their turn, by id. */
  private readonly turnWaiting = new Map<string, Map<string, Parked>>();
  private readonly pacing: HostPacing;
  private stopped = false;

  constructor(
    private readonly queue: Queue,
    private readonly index: DeliveryIndex,
    private readonly sender: HttpSender,
    private readonly circuit: CircuitBreaker,
    private readonly moves: DeliveryMoves,
    private readonly limits: WorkerLimits,
    private readonly events: WorkerEvents,
    /** Deliveries already known for their messages (published here), so they are not decoded again. */
    private readonly decoded: WeakMap<Message, Delivery>,
    /** Null when the door is open (as Dispatcher's): anyone may deliver anywhere the guard allows. */
    private readonly authorize: DeliveryAuthorizer | null = null,
  ) {
    this.pacing = new HostPacing(limits.hostConcurrency, HOST_BUSY_RETRY_MS, HOST_BUSY_MAX_DELAY_MS);
  }

  get prefetchCount(): number {
    return this.limits.workers;
  }

  get activeSends(): number {
    return this.inFlight;
  }

  hasCredit(): boolean {
    return !this.stopped && this.inFlight < this.limits.workers;
  }

  deliver(entry: QueueEntry): void {
    const delivery = this.decode(entry);
    if (delivery === null) {
      // an AMQP message without x-dispatch-url: nothing to deliver it to
      this.queue.reject(entry, false);
      return;
    }
    let record = this.index.get(delivery.id);
    if (record === undefined || record.state === 'delivered' || record.state === 'cancelled' || record.state === 'dead') {
      if (record !== undefined && record.state !== 'dead' && record.hash === delivery.hash && delivery.attempts.length === 0) {
        // a second copy of something finished (at-least-once duplicate after a crash): drop it
        this.queue.ack(entry);
        return;
      }
      record = recordOf(delivery, 'pending');
      this.index.track(record);
    }
    // judged every time it is taken, whoever put it in the queue: a permission taken away
    // stops the deliveries still pending too
    const refusal = this.authorize?.(delivery) ?? null;
    if (refusal !== null) {
      this.refuse(entry, delivery, record, refusal);
      return;
    }
    this.consider(entry, delivery, record);
  }

  /**
   * A delivery its requester may not send is dead at once, unsent, with the refusal as its
   * reason (visible in the API and counted as dead), as a delivery to a refused address is.
   */
  private refuse(entry: QueueEntry, delivery: Delivery, record: DeliveryRecord, refusal: string): void {
    const deadReason = `refused: ${refusal}`;
    record.state = 'dead';
    record.deadReason = deadReason;
    record.updatedAt = Date.now();
    delete record.nextAttemptAt;
    this.index.track(record);
    this.moves.bury(copyWith(delivery, 'deadReason', deadReason));
    this.events.dead(record);
    this.queue.ack(entry);
    if (this.limits.sharedQueue === true) this.index.forget(record);
    this.wakeWaiting(record.host, delivery.orderingKey);
  }

  cancelledByQueue(): void {
    this.stopped = true;
  }

  /** Whether the delivery is being sent right now. */
  isInFlight(id: string): boolean {
    return this.inFlightIds.has(id);
  }

  /** Cancels a delivery parked in memory; false when it is not parked here. */
  cancelParked(id: string): boolean {
    for (const [key, waiting] of this.turnWaiting) {
      const parked = waiting.get(id);
      if (parked === undefined) continue;
      waiting.delete(id);
      if (waiting.size === 0) this.turnWaiting.delete(key);
      this.queue.ack(parked.entry);
      return true;
    }
    for (const [host, list] of this.hostWaiting) {
      const at = list.findIndex((p) => p.delivery.id === id);
      if (at < 0) continue;
      const [parked] = list.splice(at, 1);
      if (list.length === 0) this.hostWaiting.delete(host);
      this.queue.ack(parked!.entry);
      return true;
    }
    return false;
  }

  /** Stops taking deliveries (shutdown); what is parked or in flight comes back after a restart. */
  stop(): void {
    this.stopped = true;
    this.queue.removeConsumer(this);
  }

  private decode(entry: QueueEntry): Delivery | null {
    let delivery = this.decoded.get(entry.message);
    if (delivery === undefined) {
      const read = deliveryOf(entry.message, `amqp-${entry.seq}`, entry.seq);
      if (read === null) return null;
      delivery = read;
      this.decoded.set(entry.message, delivery);
    }
    return delivery;
  }

  /** Sends now, or parks (host busy, not its turn), or puts back (circuit open, too many waiting). */
  private consider(entry: QueueEntry, delivery: Delivery, record: DeliveryRecord): void {
    const key = delivery.orderingKey;
    if (key !== undefined && this.limits.sharedQueue !== true) {
      const turn = this.index.turnOf(key);
      if (turn !== undefined && turn.id !== delivery.id) {
        let waiting = this.turnWaiting.get(key);
        if (waiting === undefined) {
          waiting = new Map();
          this.turnWaiting.set(key, waiting);
        }
        if (waiting.size < PARKED_PER_KEY) waiting.set(delivery.id, { entry, delivery });
        else this.putBack(entry, delivery, record, Date.now() + HOST_BUSY_RETRY_MS);
        return;
      }
    }
    const host = record.host;
    if ((this.hostActive.get(host) ?? 0) >= this.limits.hostConcurrency) {
      const list = this.hostWaiting.get(host) ?? [];
      if (list.length >= this.limits.hostConcurrency * PARKED_PER_HOST_FACTOR) {
        this.putBack(entry, delivery, record, this.pacing.deferredUntil(host));
        return;
      }
      list.push({ entry, delivery });
      this.hostWaiting.set(host, list);
      return;
    }
    if (!this.circuit.admit(host)) {
      this.putBack(entry, delivery, record, Math.max(this.circuit.reopensAt(host), Date.now() + HOST_BUSY_RETRY_MS));
      return;
    }
    this.start(entry, delivery, record);
  }

  private start(entry: QueueEntry, delivery: Delivery, record: DeliveryRecord): void {
    const host = record.host;
    this.inFlight++;
    this.inFlightIds.add(delivery.id);
    this.hostActive.set(host, (this.hostActive.get(host) ?? 0) + 1);
    record.state = 'in-flight';
    record.updatedAt = Date.now();
    const timeout = delivery.timeoutMs > 0 ? delivery.timeoutMs : this.limits.defaultTimeoutMs;
    void this.sender.send(delivery, timeout).then(
      (sent) => this.settle(entry, delivery, record, sent),
      (error: unknown) =>
        this.settle(entry, delivery, record, {
          result: { error: 'other' },
          attempt: { at: Date.now(), ms: 0, error: 'other', snippet: String(error) },
        }),
    );
  }

  private settle(entry: QueueEntry, delivery: Delivery, record: DeliveryRecord, sent: SentAttempt): void {
    const host = record.host;
    this.inFlight--;
    this.inFlightIds.delete(delivery.id);
    const active = (this.hostActive.get(host) ?? 1) - 1;
    if (active === 0) this.hostActive.delete(host);
    else this.hostActive.set(host, active);
    this.events.attempted(sent, host);
    this.pacing.observed(host, sent.attempt.ms);

    const attempts = [...delivery.attempts, sent.attempt];
    const verdict = verdictOf(sent.result, this.limits.anyResponseDelivers);
    if (verdict === 'delivered') this.circuit.succeeded(host);
    else if (verdict === 'retry') this.circuit.failed(host);
    else this.circuit.released(host);
    const next: Delivery = copyWith(delivery, 'attempts', attempts);
    const now = Date.now();
    record.attempts = attempts;
    record.updatedAt = now;
    const maxAttempts = delivery.maxAttempts ?? this.limits.retry.maxAttempts;
    const failures = attempts.length - (delivery.attemptBase ?? 0);
    if (verdict === 'delivered') {
      record.state = 'delivered';
      delete record.nextAttemptAt;
      this.index.finish(record);
      this.moves.finished(record);
      this.events.delivered(record);
    } else if (verdict === 'retry' && failures < maxAttempts) {
      const retryAfter = 'status' in sent.result ? sent.result.retryAfterMs : undefined;
      const dueAt = now + retryDelayMs(this.limits.retry, failures, retryAfter);
      record.state = 'pending';
      record.nextAttemptAt = dueAt;
      this.index.track(record);
      this.moves.reschedule(next, dueAt);
    } else {
      next.deadReason = verdict === 'retry' ? `gave up after ${failures} attempts` : describeFinal(sent);
      record.state = 'dead';
      record.deadReason = next.deadReason;
      delete record.nextAttemptAt;
      this.index.track(record);
      this.moves.bury(next);
      this.events.dead(record);
    }
    this.queue.ack(entry);
    if (this.limits.sharedQueue === true && record.state !== 'delivered') this.index.forget(record);
    this.wakeWaiting(host, delivery.orderingKey);
    this.queue.dispatch();
  }

  /** A copy due later replaces the entry (it keeps its attempts; nothing was tried). */
  private putBack(entry: QueueEntry, delivery: Delivery, record: DeliveryRecord, dueAt: number): void {
    record.state = 'pending';
    record.nextAttemptAt = dueAt;
    this.moves.reschedule(delivery, dueAt);
    this.queue.ack(entry);
    this.events.deferred();
    if (this.limits.sharedQueue === true) this.index.forget(record);
  }

  /** A host slot or an ordering turn became free: let what waits for it go. */
  private wakeWaiting(host: string, key: string | undefined): void {
    if (key !== undefined) {
      const turn = this.index.turnOf(key);
      const waiting = this.turnWaiting.get(key);
      const parked = turn !== undefined ? waiting?.get(turn.id) : undefined;
      if (waiting !== undefined && parked !== undefined) {
        waiting.delete(parked.delivery.id);
        if (waiting.size === 0) this.turnWaiting.delete(key);
        this.resume(parked);
      }
    }
    const list = this.hostWaiting.get(host);
    while (list !== undefined && list.length > 0 && (this.hostActive.get(host) ?? 0) < this.limits.hostConcurrency) {
      const parked = list.shift()!;
      if (list.length === 0) this.hostWaiting.delete(host);
      this.resume(parked);
    }
  }

  private resume(parked: Parked): void {
    const record = this.index.get(parked.delivery.id) ?? recordOf(parked.delivery, 'pending');
    this.consider(parked.entry, parked.delivery, record);
  }
}

function describeFinal(sent: SentAttempt): string {
  if ('status' in sent.result) return `the destination answered ${sent.result.status}`;
  return `refused: ${sent.attempt.snippet ?? sent.result.error}`;
}
