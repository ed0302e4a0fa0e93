import type { Annotations, DeadLetterHistory, Death, DeathPlace, DoorAnnotations } from './annotations';
import { DEATH_REASONS } from './annotations';

/**
 * How a store keeps annotations next to a message: JSON, version 1. Dates are epoch milliseconds
 * (exact: a death's time is whole seconds anyway), door annotations are kept as they are (they
 * are JSON-safe by type). A row without annotations stores nothing (null).
 *
 *   {"v":1, "rank"?: n, "notBefore"?: ms, "deliveryCount"?: n,
 *    "deadLetters"?: {"deaths": [{"queue","reason","count","time": ms,"exchange","routingKeys","originalExpiration"?}],
 *                     "first": {"reason","queue","exchange"}, "last": {…}},
 *    "door"?: {name: value}}
 */
export const ANNOTATIONS_VERSION = 1;

interface StoredDeath extends Omit<Death, 'time'> {
  time: number;
}

interface StoredAnnotations {
  v: number;
  rank?: number;
  notBefore?: number;
  deliveryCount?: number;
  deadLetters?: { deaths: StoredDeath[]; first: DeathPlace; last: DeathPlace };
  door?: DoorAnnotations;
}

/** The stored form of `annotations`; null when there are none. */
export function encodeAnnotations(annotations: Annotations | null): string | null {
  if (annotations === null) return null;
  const stored: StoredAnnotations = { v: ANNOTATIONS_VERSION };
  if (annotations.rank !== undefined) stored.rank = annotations.rank;
  if (annotations.notBefore !== undefined) stored.notBefore = annotations.notBefore;
  if (annotations.deliveryCount !== undefined) stored.deliveryCount = annotations.deliveryCount;
  const history = annotations.deadLetters;
  if (history !== undefined) {
    stored.deadLetters = { deaths: history.deaths.map((death) => ({ ...death, time: death.time.getTime() })), first: history.first, last: history.last };
  }
  if (annotations.door !== undefined) stored.door = annotations.door;
  return JSON.stringify(stored);
}

/**
 * Annotations read back from a store; null for none. Throws on a version this broker does not
 * know (a file written by a newer release) or on text that is not what encodeAnnotations writes.
 */
export function decodeAnnotations(text: string | null): Annotations | null {
  if (text === null) return null;
  const stored = JSON.parse(text) as StoredAnnotations;
  if (stored.v !== ANNOTATIONS_VERSION) throw new Error(`stored annotations of version ${String(stored.v)}: this broker reads version ${ANNOTATIONS_VERSION}`);
  const annotations: { -readonly [K in keyof Annotations]?: Annotations[K] } = {};
  if (typeof stored.rank === 'number') annotations.rank = stored.rank;
  if (typeof stored.notBefore === 'number') annotations.notBefore = stored.notBefore;
  if (typeof stored.deliveryCount === 'number') annotations.deliveryCount = stored.deliveryCount;
  if (stored.deadLetters !== undefined) annotations.deadLetters = historyOf(stored.deadLetters);
  if (stored.door !== undefined) annotations.door = stored.door;
  return Object.keys(annotations).length === 0 ? null : annotations;
}

function historyOf(stored: NonNullable<StoredAnnotations['deadLetters']>): DeadLetterHistory {
  const deaths = stored.deaths.map((death): Death => {
    if (!DEATH_REASONS.includes(death.reason)) throw new Error(`stored death with reason '${String(death.reason)}'`);
    return { ...death, time: new Date(death.time) };
  });
  return { deaths, first: stored.first, last: stored.last };
}
