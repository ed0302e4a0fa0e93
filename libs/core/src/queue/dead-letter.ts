import { FieldTable, FieldValue, TypedValue } from '../encoding/field-table';
import { Message } from '../message/message';

/** Why a message left a queue for its dead-letter exchange (RabbitMQ's reasons). */
export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

const DEATHS = 'x-death';

const valueOf = (value: FieldValue | TypedValue): FieldValue => (value instanceof TypedValue ? value.value : value);

const isTable = (value: unknown): value is FieldTable =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value) && !(value instanceof TypedValue);

/** The x-death entries of a message, most recent first. */
export function deathsOf(headers: FieldTable | undefined): FieldTable[] {
  const deaths = headers?.[DEATHS];
  return Array.isArray(deaths) ? deaths.filter(isTable) : [];
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
 * bookkeeping: an x-death entry per (queue, reason) with its count (moved to the front when it
 * grows), time, exchange, routing keys and original expiration; x-first-death-* set once and
 * x-last-death-* each time. The per-message expiration is removed, so it cannot expire again.
 */
export function deadLetteredMessage(
  message: Message,
  queue: string,
  reason: DeathReason,
  deadLetterExchange: string,
  deadLetterRoutingKey: string | null,
  now: number = Date.now(),
): Message {
  const { expiration, ...properties } = message.properties;
  const headers: FieldTable = { ...(properties.headers ?? {}) };
  let count = 1;
  const others: FieldTable[] = [];
  for (const death of deathsOf(headers)) {
    if (death.queue === queue && death.reason === reason) count = Number(valueOf(death.count as FieldValue)) + 1;
    else others.push(death);
  }
  const death: FieldTable = {
    // a long, as RabbitMQ writes it
    count: new TypedValue('l', count),
    reason,
    queue,
    time: new Date(Math.floor(now / 1000) * 1000),
    exchange: message.exchange,
    'routing-keys': routingKeysOf(message),
  };
  if (expiration !== undefined) death['original-expiration'] = expiration;
  headers[DEATHS] = [death, ...others];
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue;
    headers['x-first-death-exchange'] = message.exchange;
  }
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-queue'] = queue;
  headers['x-last-death-exchange'] = message.exchange;
  return new Message(deadLetterExchange, deadLetterRoutingKey ?? message.routingKey, { ...properties, headers }, null, message.body);
}

/**
 * RabbitMQ's cycle rule: a dead-lettered message must not reach a queue it already died in unless
 * a rejection happened since (a client decided); otherwise it could go round for ever. Expects the
 * headers of the dead-lettered copy (its newest death first).
 */
export function isDeadLetterCycle(headers: FieldTable | undefined, targetQueue: string, reason: DeathReason): boolean {
  if (reason === 'rejected') return false;
  for (const death of deathsOf(headers)) {
    if (death.reason === 'rejected') return false;
    if (death.queue === targetQueue) return true;
  }
  return false;
}
