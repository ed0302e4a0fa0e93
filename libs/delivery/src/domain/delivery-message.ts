import { AnnotationValue, Annotations, Message, MessageProperties, NOT_BEFORE_HEADER } from '#core';
import { DeliveryRequest, deliveryProblem, HeaderMap, hostOfUrl } from './delivery-request';

/** One attempt to deliver, as recorded. */
export interface Attempt {
  /** Start, epoch ms. */
  at: number;
  /** Duration in ms. */
  ms: number;
  status?: number;
  /** Transport failure class when there was no HTTP answer. */
  error?: string;
  /** The start of the response body (or the error text). */
  snippet?: string;
}

/** A delivery as it travels through the core queues: the request, and what happened to it. */
export interface Delivery extends DeliveryRequest {
  acceptedAt: number;
  /** Acceptance order (ordering keys deliver in it). */
  acceptNo: number;
  hash: string;
  attempts: Attempt[];
  /** Times it was replayed from the dead letters. */
  replays: number;
  /** Attempts made before the last replay (they do not count against MaxAttempts). */
  attemptBase?: number;
  /** Why it is dead, once it is. */
  deadReason?: string;
  /**
   * Who asked for it: the HTTP caller, or the AMQP publisher's user_id (which the AMQP door
   * checks against the connection's user, as RabbitMQ does). Absent when the door is open.
   */
  requester?: string;
}

/**
 * Names of a delivery's fields on its message. The door keeps a delivery as annotations of these
 * names (AMQP consumers see them as headers); AMQP clients publish deliveries with the
 * `x-dispatch-*` request headers (url, method, timeout, headers, max-attempts, ordering-key), and
 * deliveries stored before annotations kept every field as a header: both are read the same way.
 */
export const H = {
  id: 'x-dispatch-id',
  url: 'x-dispatch-url',
  method: 'x-dispatch-method',
  timeout: 'x-dispatch-timeout',
  headers: 'x-dispatch-headers',
  maxAttempts: 'x-dispatch-max-attempts',
  orderingKey: 'x-dispatch-ordering-key',
  acceptedAt: 'x-dispatch-accepted-at',
  acceptNo: 'x-dispatch-accept-no',
  hash: 'x-dispatch-hash',
  attempts: 'x-dispatch-attempts',
  replays: 'x-dispatch-replays',
  attemptBase: 'x-dispatch-attempt-base',
  deadReason: 'x-dispatch-dead-reason',
} as const;

/** Epoch milliseconds a Date can hold (an AMQP publisher's x-dispatch-* times and timestamp may not be). */
const timeOf = (ms: number | undefined): number | undefined => (ms !== undefined && Math.abs(ms) <= 8.64e15 ? ms : undefined);
const numberOf = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;
const stringOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;

/** The delivery as a persistent message for `routingKey` (a delivery queue), due at `notBefore`: its fields are annotations. */
export function deliveryMessage(delivery: Delivery, routingKey: string, notBefore = 0): Message {
  const door: Record<string, AnnotationValue> = {
    [H.id]: delivery.id,
    [H.url]: delivery.url,
    [H.method]: delivery.method,
    [H.timeout]: delivery.timeoutMs,
    [H.headers]: { ...delivery.headers },
    [H.acceptedAt]: delivery.acceptedAt,
    [H.acceptNo]: delivery.acceptNo,
    [H.hash]: delivery.hash,
    [H.attempts]: delivery.attempts.map(attemptAnnotation),
    [H.replays]: delivery.replays,
  };
  if (delivery.maxAttempts !== undefined) door[H.maxAttempts] = delivery.maxAttempts;
  if (delivery.orderingKey !== undefined) door[H.orderingKey] = delivery.orderingKey;
  if (delivery.deadReason !== undefined) door[H.deadReason] = delivery.deadReason;
  if (delivery.attemptBase !== undefined) door[H.attemptBase] = delivery.attemptBase;
  const annotations: Annotations = notBefore > 0 ? { door, notBefore } : { door };
  const properties: MessageProperties = { deliveryMode: 2, messageId: delivery.id };
  if (delivery.requester !== undefined) properties.userId = delivery.requester;
  return new Message('', routingKey, properties, null, delivery.body, annotations);
}

/**
 * Reads a delivery message: ours (annotations), or an AMQP client's with `x-dispatch-*` headers
 * (or one stored before annotations). Null when it names no URL, or a field the intake would
 * refuse (deliveryProblem): it cannot be delivered. `fallbackId` names messages that carry no id.
 */
export function deliveryOf(message: Message, fallbackId: string, fallbackAcceptNo: number): Delivery | null {
  const properties = message.properties;
  const headers = properties.headers;
  // the door's annotation, else the header of that name
  const field = (name: string): unknown => message.doorAnnotation(name) ?? headers?.[name];
  const url = stringOf(field(H.url));
  if (url === undefined) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const attempts = field(H.attempts);
  const delivery: Delivery = {
    id: stringOf(field(H.id)) ?? properties.messageId ?? fallbackId,
    url,
    ...hostOfUrl(parsed),
    method: (stringOf(field(H.method)) ?? 'GET').toUpperCase() || 'GET',
    headers: headerMapOf(field(H.headers)),
    body: message.body,
    timeoutMs: numberOf(field(H.timeout)) ?? 0,
    acceptedAt: timeOf(numberOf(field(H.acceptedAt)) ?? (properties.timestamp !== undefined ? properties.timestamp * 1000 : undefined)) ?? Date.now(),
    acceptNo: numberOf(field(H.acceptNo)) ?? fallbackAcceptNo,
    hash: stringOf(field(H.hash)) ?? '',
    attempts: Array.isArray(attempts) ? (attempts as unknown[]).map(attemptOf) : [],
    replays: numberOf(field(H.replays)) ?? 0,
  };
  const maxAttempts = numberOf(field(H.maxAttempts));
  if (maxAttempts !== undefined) delivery.maxAttempts = maxAttempts;
  const orderingKey = stringOf(field(H.orderingKey));
  if (orderingKey !== undefined) delivery.orderingKey = orderingKey;
  const deadReason = stringOf(field(H.deadReason));
  if (deadReason !== undefined) delivery.deadReason = deadReason;
  const attemptBase = numberOf(field(H.attemptBase));
  if (attemptBase !== undefined) delivery.attemptBase = attemptBase;
  if (properties.userId !== undefined) delivery.requester = properties.userId;
  // an AMQP publisher's fields are held to the intake's rules: nothing that cannot be sent or stored
  // again, and no due time past what a Date holds (the listing could not show it)
  const notBefore = numberOf(headers?.[NOT_BEFORE_HEADER]);
  if (notBefore !== undefined && timeOf(notBefore) === undefined) return null;
  return deliveryProblem(delivery) === null ? delivery : null;
}

/** The id a delivery message carries (its key in the delivery queues), if any. */
export function idOf(message: Message): string | undefined {
  return stringOf(message.doorAnnotation(H.id) ?? message.properties.headers?.[H.id]);
}

/** When a delivery message is due: its not-before annotation, or its publisher's x-not-before header; 0 for now. */
export function dueTimeOf(message: Message): number {
  return message.annotations?.notBefore ?? numberOf(message.properties.headers?.[NOT_BEFORE_HEADER]) ?? 0;
}

function headerMapOf(value: unknown): HeaderMap {
  const out: HeaderMap = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) return out;
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(raw)) out[name] = raw.map((v) => stringOf(v) ?? String(v));
    else out[name] = stringOf(raw) ?? String(raw);
  }
  return out;
}

function attemptAnnotation(attempt: Attempt): Record<string, AnnotationValue> {
  const value: Record<string, AnnotationValue> = { at: attempt.at, ms: attempt.ms };
  if (attempt.status !== undefined) value.status = attempt.status;
  if (attempt.error !== undefined) value.error = attempt.error;
  if (attempt.snippet !== undefined) value.snippet = attempt.snippet;
  return value;
}

function attemptOf(value: unknown): Attempt {
  const t = (value ?? {}) as Record<string, unknown>;
  const attempt: Attempt = { at: timeOf(numberOf(t.at)) ?? 0, ms: numberOf(t.ms) ?? 0 };
  const status = numberOf(t.status);
  if (status !== undefined) attempt.status = status;
  const error = stringOf(t.error);
  if (error !== undefined) attempt.error = error;
  const snippet = stringOf(t.snippet);
  if (snippet !== undefined) attempt.snippet = snippet;
  return attempt;
}
