import type { Message } from '../message/message';
import type { Consumer } from './consumer';
import type { Queue } from './queue';

/** Where an entry stands with the store. */
export const enum StoreState {
  /** Lives only in memory. */
  None = 0,
  /** Its insert is queued in the store's open batch. */
  Pending = 1,
  /** Its insert was handed to the writer (committed or about to be). */
  Stored = 2,
  /** Retired while Pending: the open batch skips it, so it never touches disk. */
  Cancelled = 3,
}

export const enum EntryState {
  Ready = 0,
  /** Handed to a consumer (or fetched) and not yet acked or rejected. */
  Unacked = 1,
  /** Left the queue for good (retired): acked, dropped, expired, purged, removed. */
  Retired = 2,
}

/** A message's place in one queue: ordering key, delivery state and store bookkeeping. */
export class QueueEntry {
  /** Times delivered to a consumer (or fetched). */
  deliveries = 0;
  redelivered = false;
  storeState: StoreState = StoreState.None;
  /** Id of the shared body row this entry's stored row points to; 0 when stored inline. */
  sharedBodyId = 0;
  state: EntryState = EntryState.Ready;
  /** The consumer it is out with, unacked; null while ready or when fetched with basic.get. */
  consumer: Consumer | null = null;
  /** The consumer's own reference for it while unacked (an AMQP delivery tag). */
  deliveryTag = 0;
  /** When it expires (message TTL, epoch ms); 0 = never. Kept across restarts by the store. */
  expiresAt = 0;

  constructor(
    /** Global, monotonically increasing: arrival order and store key. */
    readonly seq: number,
    /** Ordering key within the queue: lower first (0 for plain FIFO queues). */
    readonly rank: number,
    /** Replaced by a copy when the queue adds headers of its own on redelivery (x-delivery-count). */
    public message: Message,
    readonly queue: Queue,
    /** Whether the store must keep it across restarts (persistent message in a durable queue). */
    readonly durable: boolean,
  ) {}
}
