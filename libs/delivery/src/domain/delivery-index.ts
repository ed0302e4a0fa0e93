import type { Attempt, Delivery } from './delivery-message';

export type DeliveryState = 'pending' | 'in-flight' | 'delivered' | 'dead' | 'cancelled';
export const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'in-flight', 'delivered', 'dead', 'cancelled'];

/** What the API shows of a delivery. */
export interface DeliveryRecord {
  id: string;
  state: DeliveryState;
  url: string;
  host: string;
  method: string;
  acceptedAt: number;
  acceptNo: number;
  updatedAt: number;
  hash: string;
  attempts: Attempt[];
  replays: number;
  orderingKey?: string;
  /** When a pending delivery is due (its next attempt). */
  nextAttemptAt?: number;
  deadReason?: string;
}

export interface DeliveryFilter {
  state?: DeliveryState;
  host?: string;
  /** Accepted at or after (epoch ms). */
  since?: number;
  /** Accepted before (epoch ms). */
  until?: number;
}

export const recordOf = (delivery: Delivery, state: DeliveryState, now: number = Date.now()): DeliveryRecord => {
  const record: DeliveryRecord = {
    id: delivery.id,
    state,
    url: delivery.url,
    host: delivery.host,
    method: delivery.method,
    acceptedAt: delivery.acceptedAt,
    acceptNo: delivery.acceptNo,
    updatedAt: now,
    hash: delivery.hash,
    attempts: delivery.attempts,
    replays: delivery.replays,
  };
  if (delivery.orderingKey !== undefined) record.orderingKey = delivery.orderingKey;
  if (delivery.deadReason !== undefined) record.deadReason = delivery.deadReason;
  return record;
};

/**
 * Every delivery the broker still holds (pending, in flight, dead), and the most recent finished
 * ones (delivered, cancelled; older ones are kept as keyed records in the store for the
 * idempotency window). Also the acceptance order of pending deliveries per ordering key.
 */
export class DeliveryIndex {
  private readonly active = new Map<string, DeliveryRecord>();
  private readonly recent = new Map<string, DeliveryRecord>();
  /** Pending (not dead, not finished) ids per ordering key, in acceptance order. */
  private readonly byKey = new Map<string, DeliveryRecord[]>();

  constructor(private readonly recentLimit: number) {}

  get(id: string): DeliveryRecord | undefined {
    return this.active.get(id) ?? this.recent.get(id);
  }

  /** Adds or replaces a pending, in-flight or dead delivery. */
  track(record: DeliveryRecord): void {
    const previous = this.active.get(record.id);
    this.recent.delete(record.id);
    this.active.set(record.id, record);
    if (previous !== undefined && previous.orderingKey !== undefined) this.leaveKey(previous);
    if (record.orderingKey !== undefined && record.state !== 'dead') this.joinKey(record);
  }

  /** A delivery the broker did not keep after all (its intake was refused): it was never here. */
  forget(record: DeliveryRecord): void {
    if (this.active.get(record.id) !== record) return;
    this.active.delete(record.id);
    if (record.orderingKey !== undefined) this.leaveKey(record);
  }

  /** A delivery is delivered or cancelled: it leaves the active set for the recent list. */
  finish(record: DeliveryRecord): void {
    const previous = this.active.get(record.id);
    if (previous !== undefined) {
      this.active.delete(record.id);
      if (previous.orderingKey !== undefined) this.leaveKey(previous);
    }
    this.recent.set(record.id, record);
    if (this.recent.size > this.recentLimit) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /** The pending delivery of `key` whose turn it is (earliest accepted), if any. */
  turnOf(key: string): DeliveryRecord | undefined {
    return this.byKey.get(key)?.[0];
  }

  /** Deliveries matching the filter, in acceptance order, after `afterNo`, at most `limit`. */
  list(filter: DeliveryFilter, afterNo: number, limit: number): DeliveryRecord[] {
    const matches: DeliveryRecord[] = [];
    const consider = (record: DeliveryRecord): void => {
      if (record.acceptNo <= afterNo) return;
      if (filter.state !== undefined && record.state !== filter.state) return;
      if (filter.host !== undefined && record.host !== filter.host.toLowerCase()) return;
      if (filter.since !== undefined && record.acceptedAt < filter.since) return;
      if (filter.until !== undefined && record.acceptedAt >= filter.until) return;
      matches.push(record);
    };
    for (const record of this.active.values()) consider(record);
    for (const record of this.recent.values()) consider(record);
    matches.sort((a, b) => a.acceptNo - b.acceptNo);
    return matches.slice(0, limit);
  }

  /** Deliveries per state (finished ones only as far as the recent list reaches). */
  counts(): Record<DeliveryState, number> {
    const counts: Record<DeliveryState, number> = { pending: 0, 'in-flight': 0, delivered: 0, dead: 0, cancelled: 0 };
    for (const record of this.active.values()) counts[record.state]++;
    for (const record of this.recent.values()) counts[record.state]++;
    return counts;
  }

  private joinKey(record: DeliveryRecord): void {
    const key = record.orderingKey!;
    let list = this.byKey.get(key);
    if (list === undefined) {
      list = [];
      this.byKey.set(key, list);
    }
    let at = list.length;
    while (at > 0 && list[at - 1]!.acceptNo > record.acceptNo) at--;
    list.splice(at, 0, record);
  }

  private leaveKey(record: DeliveryRecord): void {
    const key = record.orderingKey!;
    const list = this.byKey.get(key);
    if (list === undefined) return;
    const at = list.findIndex((r) => r.id === record.id);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.byKey.delete(key);
  }
}
