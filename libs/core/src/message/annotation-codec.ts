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

/**
 * The stored form of `annotations`; null when there are none. Written field by field (the same
 * text as JSON.stringify of a StoredAnnotations): it runs for every stored job and delivery, and
 * the object built only to be stringified cost a third of it.
 */
export function encodeAnnotations(annotations: Annotations | null): string | null {
  if (annotations === null) return null;
  let text = `{"v":${ANNOTATIONS_VERSION}`;
  if (annotations.rank !== undefined) text += `,"rank":${JSON.stringify(annotations.rank)}`;
  if (annotations.notBefore !== undefined) text += `,"notBefore":${JSON.stringify(annotations.notBefore)}`;
  if (annotations.deliveryCount !== undefined) text += `,"deliveryCount":${JSON.stringify(annotations.deliveryCount)}`;
  const history = annotations.deadLetters;
  if (history !== undefined) {
    const deadLetters: NonNullable<StoredAnnotations['deadLetters']> = {
      deaths: history.deaths.map((death) => ({ ...death, time: death.time.getTime() })),
      first: history.first,
      last: history.last,
    };
    text += `,"deadLetters":${JSON.stringify(deadLetters)}`;
  }
  if (annotations.door !== undefined) text += `,"door":${JSON.stringify(annotations.door)}`;
  return `${text}}`;
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
