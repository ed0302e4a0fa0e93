/**
 * What the broker knows about a message beyond what its publisher sent (RabbitMQ's mc
 * annotations): its dead-letter history, failed deliveries, not-before time and rank, and what a
 * door keeps on it (a job's number, a delivery's attempts). Plain typed values, never AMQP field
 * tables: each door renders them its own way (the AMQP door as the headers RabbitMQ clients know,
 * amqp-rendering.ts), and the store keeps them next to the message (annotation-codec.ts).
 *
 * Annotations are immutable: a change is a new object, and so a new Message (Message.annotated).
 */

/** A value a door keeps on a message: JSON-safe, so a store persists it without knowing it. */
export type AnnotationValue = string | number | boolean | null | readonly AnnotationValue[] | { readonly [key: string]: AnnotationValue };

/** Door annotations by name. Names starting with `x-` are shown to AMQP clients as headers of that name. */
export type DoorAnnotations = Readonly<Record<string, AnnotationValue>>;

/** Why a message left a queue for its dead-letter exchange (RabbitMQ's reasons). */
export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

export const DEATH_REASONS: readonly DeathReason[] = ['rejected', 'expired', 'maxlen', 'delivery_limit'];

/** One (queue, reason) of a message's dead-letter history: an entry of RabbitMQ's x-death. */
export interface Death {
  readonly queue: string;
  readonly reason: DeathReason;
  /** Times the message died in this queue for this reason. */
  readonly count: number;
  /** The latest of those times, to the second (as RabbitMQ writes it). */
  readonly time: Date;
  /** The exchange the message had been published to. */
  readonly exchange: string;
  /** Its routing key and CC keys. */
  readonly routingKeys: readonly string[];
  /** Its per-message expiration, removed when it was dead-lettered. */
  readonly originalExpiration?: string;
}

/** Where a message died: RabbitMQ's x-first-death-* and x-last-death-*. */
export interface DeathPlace {
  readonly reason: DeathReason;
  readonly queue: string;
  readonly exchange: string;
}

export interface DeadLetterHistory {
  /** One per (queue, reason), the most recent first. */
  readonly deaths: readonly Death[];
  readonly first: DeathPlace;
  readonly last: DeathPlace;
}

export interface Annotations {
  /** Set when the message was dead-lettered. */
  readonly deadLetters?: DeadLetterHistory;
  /** Deliveries of it that failed, as a queue with a delivery limit counts them. */
  readonly deliveryCount?: number;
  /** Epoch ms before which no consumer gets it (a delayed job, a delivery's retry, a delayed exchange's hold). */
  readonly notBefore?: number;
  /** Its rank in a rank-ordered queue (a job's priority); lower first. */
  readonly rank?: number;
  /** What doors keep on it, by name (see DoorAnnotations). */
  readonly door?: DoorAnnotations;
}

/**
 * `annotations` with `changes` applied (an undefined value removes that annotation); null when
 * nothing is left, so a message without annotations stays without.
 */
export function changedAnnotations(annotations: Annotations | null, changes: Partial<{ [K in keyof Annotations]: Annotations[K] | undefined }>): Annotations | null {
  const next: { -readonly [K in keyof Annotations]?: Annotations[K] } = Object.assign({}, annotations);
  for (const key of Object.keys(changes) as (keyof Annotations)[]) {
    const value = changes[key];
    if (value === undefined) delete next[key];
    else (next as Record<string, unknown>)[key] = value;
  }
  return Object.keys(next).length === 0 ? null : next;
}
