import type { Message } from '../message/message';
import type { QueueEntry } from './queue-entry';

/** A business key's value: a job number, a delivery id. */
export type EntryKey = string | number;

/** An entry found by its key, and when it is due if it waits for its not-before time (0 otherwise). */
export interface FoundEntry {
  entry: QueueEntry;
  dueAt: number;
  /** Out under a lease any node can settle (a shared queue's LeaseBook): its id. */
  leaseId?: string;
}

/**
 * The key a message has under `annotation`: that door annotation, or else a publisher header of
 * the same name (an AMQP client's x-job-num, a row stored before annotations), as the doors read
 * them. Numbers (an int64 header too) and strings are keys; anything else is none.
 */
export function keyOf(message: Message, annotation: string): EntryKey | undefined {
  const annotated = message.annotations?.door?.[annotation];
  if (annotated !== undefined) return typeof annotated === 'number' || typeof annotated === 'string' ? annotated : undefined;
  return keyOfHeader(message.properties.headers?.[annotation]);
}

/** A header value as a key (see keyOf). */
export function keyOfHeader(value: unknown): EntryKey | undefined {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/**
 * Where the entries of one queue are, by the value of one annotation. A key maps to its entry
 * while the queue holds the entry in memory (ready, delayed, or out with a consumer) and to its
 * seq while only the store does (paged out), so a million paged entries cost a map slot each, not
 * their messages. Told of every move by the queue (added, paged, held again, retired); a key held
 * by several entries maps to the latest one added.
 */
export class KeyIndex {
  private readonly places = new Map<EntryKey, QueueEntry | number>();
  /** Settles once what the queue held when the index was declared is in it. */
  rebuilt: Promise<void> = Promise.resolve();
  /** `rebuilt` has settled (lookups need not wait). */
  complete = true;

  constructor(readonly annotation: string) {}

  get size(): number {
    return this.places.size;
  }

  /** The entry or the seq of its row, or undefined. */
  get(key: EntryKey): QueueEntry | number | undefined {
    return this.places.get(key);
  }

  /** A new entry: it takes the key. */
  added(entry: QueueEntry): void {
    const key = keyOf(entry.message, this.annotation);
    if (key !== undefined) this.places.set(key, entry);
  }

  /** The entry is in memory again (read back, due, requeued): it keeps (or takes) its key. */
  held(entry: QueueEntry): void {
    const key = keyOf(entry.message, this.annotation);
    if (key === undefined) return;
    const place = this.places.get(key);
    if (place === undefined || place === entry.seq) this.places.set(key, entry);
  }

  /** The entry lives only in the store now: its key points to its row. */
  paged(entry: QueueEntry): void {
    const key = keyOf(entry.message, this.annotation);
    if (key === undefined) return;
    const place = this.places.get(key);
    if (place === undefined || place === entry) this.places.set(key, entry.seq);
  }

  /** A paged row found while rebuilding: it counts unless the key is known already. */
  pagedRow(key: EntryKey, seq: number): void {
    if (!this.places.has(key)) this.places.set(key, seq);
  }

  /** The entry left the queue. */
  retired(entry: QueueEntry): void {
    const key = keyOf(entry.message, this.annotation);
    if (key === undefined) return;
    const place = this.places.get(key);
    if (place === entry || place === entry.seq) this.places.delete(key);
  }

  /** The queue's paged rows were deleted all at once (a purge): forget the keys pointing to rows. */
  forgetPaged(): void {
    for (const [key, place] of this.places) if (typeof place === 'number') this.places.delete(key);
  }
}

/** What the queue's pagers tell about entries moving between memory and the store. */
export interface EntryResidence {
  /** The entry is only in the store now. */
  paged(entry: QueueEntry): void;
  /** The entry was read back into memory. */
  held(entry: QueueEntry): void;
}

/** The key indexes of one queue (none until a door declares one), told of every move at once. */
export class KeyIndexes implements EntryResidence {
  private readonly byAnnotation = new Map<string, KeyIndex>();
  private all: KeyIndex[] = [];
  /** Any index declared: the queue tells of its entries' moves (a field: read on every enqueue). */
  indexed = false;

  get(annotation: string): KeyIndex | undefined {
    return this.byAnnotation.get(annotation);
  }

  add(annotation: string): KeyIndex {
    const index = new KeyIndex(annotation);
    this.byAnnotation.set(annotation, index);
    this.all = [...this.all, index];
    this.indexed = true;
    return index;
  }

  added(entry: QueueEntry): void {
    for (const index of this.all) index.added(entry);
  }

  held(entry: QueueEntry): void {
    for (const index of this.all) index.held(entry);
  }

  paged(entry: QueueEntry): void {
    for (const index of this.all) index.paged(entry);
  }

  retired(entry: QueueEntry): void {
    for (const index of this.all) index.retired(entry);
  }

  forgetPaged(): void {
    for (const index of this.all) index.forgetPaged();
  }
}
