import { FieldTable, FieldValue, TypedValue } from '../encoding/field-table';
import type { MessageProperties } from '../encoding/properties';
import { changedAnnotations, DEATH_REASONS, DeadLetterHistory, Death, DeathPlace, DeathReason } from '../message/annotations';
import { Message } from '../message/message';

export type { DeathReason } from '../message/annotations';

const valueOf = (value: FieldValue | TypedValue): FieldValue => (value instanceof TypedValue ? value.value : value);

const isTable = (value: unknown): value is FieldTable =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value) && !(value instanceof TypedValue);

const isReason = (value: unknown): value is DeathReason => typeof value === 'string' && (DEATH_REASONS as readonly string[]).includes(value);

/**
 * A message's dead-letter history: its annotation, or else what its x-death headers say (a
 * message a client consumed from a dead-letter queue and published again with its headers, or a
 * row stored before annotations), so the count goes on from there as it did. Undefined when it
 * never died.
 */
export function deadLetterHistoryOf(message: Message): DeadLetterHistory | undefined {
  return message.annotations?.deadLetters ?? historyInHeaders(message.properties.headers);
}

function historyInHeaders(headers: FieldTable | undefined): DeadLetterHistory | undefined {
  const raw = headers?.['x-death'];
  if (!Array.isArray(raw)) return undefined;
  const deaths: Death[] = [];
  for (const table of raw) {
    if (!isTable(table) || typeof table.queue !== 'string' || !isReason(table.reason)) continue;
    const count = Number(valueOf(table.count as FieldValue));
    const time = valueOf(table.time as FieldValue);
    const keys = table['routing-keys'];
    const death: { -readonly [K in keyof Death]: Death[K] } = {
      queue: table.queue,
      reason: table.reason,
      count: Number.isFinite(count) ? count : 1,
      time: time instanceof Date ? time : new Date(0),
      exchange: typeof table.exchange === 'string' ? table.exchange : '',
      routingKeys: Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [],
    };
    if (typeof table['original-expiration'] === 'string') death.originalExpiration = table['original-expiration'];
    deaths.push(death);
  }
  if (deaths.length === 0) return undefined;
  const newest = deaths[0]!;
  const placeIn = (which: 'first' | 'last'): DeathPlace => {
    const reason = headers![`x-${which}-death-reason`];
    const queue = headers![`x-${which}-death-queue`];
    const exchange = headers![`x-${which}-death-exchange`];
    if (isReason(reason) && typeof queue === 'string' && typeof exchange === 'string') return { reason, queue, exchange };
    return { reason: newest.reason, queue: newest.queue, exchange: newest.exchange };
  };
  return { deaths, first: placeIn('first'), last: placeIn('last') };
}

/** The routing keys a message was published with: its routing key and any CC header strings. */
function routingKeysOf(message: Message): string[] {
  const cc = message.properties.headers?.CC;
  const keys = [message.routingKey];
  if (Array.isArray(cc)) for (const key of cc) if (typeof key === 'string') keys.push(key);
  return keys;
}

/**
 * The copy of `message` that leaves `queue` for its dead-letter exchange, with RabbitMQ's
 * bookkeeping as its dead-letter annotation: a death per (queue, reason) with its count (moved to
 * the front when it grows), time, exchange, routing keys and original expiration; the first death's
 * place kept, the last one's set each time. The per-message expiration is removed, so it cannot
 * expire again; otherwise the publisher's properties are kept as they are.
 */
export function deadLetteredMessage(
  message: Message,
  queue: string,
  reason: DeathReason,
  deadLetterExchange: string,
  deadLetterRoutingKey: string | null,
  now: number = Date.now(),
): Message {
  const expiration = message.properties.expiration;
  const history = deadLetterHistoryOf(message);
  let count = 1;
  const others: Death[] = [];
  for (const death of history?.deaths ?? []) {
    if (death.queue === queue && death.reason === reason) count = death.count + 1;
    else others.push(death);
  }
  const death: { -readonly [K in keyof Death]: Death[K] } = {
    count,
    reason,
    queue,
    time: new Date(Math.floor(now / 1000) * 1000),
    exchange: message.exchange,
    routingKeys: routingKeysOf(message),
  };
  if (expiration !== undefined) death.originalExpiration = expiration;
  const place: DeathPlace = { reason, queue, exchange: message.exchange };
  const deadLetters: DeadLetterHistory = { deaths: [death, ...others], first: history?.first ?? place, last: place };
  let properties: MessageProperties = message.properties;
  if (expiration !== undefined) {
    properties = Object.assign({}, message.properties);
    delete properties.expiration;
  }
  const annotations = changedAnnotations(message.annotations, { deadLetters });
  // encoded again from the decoded properties, as the broker's copies are (see Message.annotated)
  return new Message(deadLetterExchange, deadLetterRoutingKey ?? message.routingKey, properties, null, message.body, annotations);
}

/**
 * RabbitMQ's cycle rule: a dead-lettered message must not reach a queue it already died in unless
 * a rejection happened since (a client decided); otherwise it could go round for ever. Expects the
 * dead-lettered copy (its newest death first).
 */
export function isDeadLetterCycle(message: Message, targetQueue: string, reason: DeathReason): boolean {
  if (reason === 'rejected') return false;
  for (const death of deadLetterHistoryOf(message)?.deaths ?? []) {
    if (death.reason === 'rejected') return false;
    if (death.queue === targetQueue) return true;
  }
  return false;
}
