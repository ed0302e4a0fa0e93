import { FieldTable, FieldValue, TypedValue } from '../encoding/field-table';
import type { MessageProperties } from '../encoding/properties';
import type { Annotations, DeadLetterHistory, Death } from './annotations';
import type { Message } from './message';
import { copiedRecord, copyWith } from '../object-copies';

/**
 * How annotations look to an AMQP 0-9-1 client: the headers RabbitMQ writes (x-death and
 * x-first/last-death-*, x-delivery-count) and the ones this broker wrote before it had
 * annotations (x-rank, x-not-before, and every door annotation named `x-…` under its own name).
 * The AMQP door writes these to consumers, the management API shows them on a got message, and a
 * headers exchange routes on them, so all three see what clients saw when this state was headers.
 *
 * It lives in the core beside the AMQP property format the core stores (encoding/), as the one
 * rendering every door that shows AMQP properties uses.
 */

/** Header names of the core's annotations. */
export const ANNOTATION_HEADERS = {
  rank: 'x-rank',
  notBefore: 'x-not-before',
  deliveryCount: 'x-delivery-count',
  deaths: 'x-death',
} as const;

/**
 * The headers a client sees: the publisher's, with the annotations over them (an annotation wins
 * over a publisher header of the same name, as the broker's own header did). The publisher's
 * table as it is when there are no annotations.
 */
export function renderedHeaders(message: Message): FieldTable | undefined {
  const annotations = message.annotations;
  const published = message.properties.headers;
  if (annotations === null) return published;
  const headers: FieldTable = copiedRecord(published);
  renderInto(headers, annotations);
  return headers;
}

/** The properties a client sees (see renderedHeaders); the message's own when it has no annotations. */
export function renderedProperties(message: Message): MessageProperties {
  if (message.annotations === null) return message.properties;
  return copyWith(message.properties, 'headers', renderedHeaders(message));
}

function renderInto(headers: FieldTable, annotations: Annotations): void {
  if (annotations.rank !== undefined) headers[ANNOTATION_HEADERS.rank] = annotations.rank;
  const door = annotations.door;
  if (door !== undefined) {
    // JSON-safe values are field values already: strings, numbers, booleans, null, arrays, tables
    for (const name in door) if (name.startsWith('x-')) headers[name] = door[name] as FieldValue;
  }
  if (annotations.notBefore !== undefined) headers[ANNOTATION_HEADERS.notBefore] = annotations.notBefore;
  if (annotations.deliveryCount !== undefined) headers[ANNOTATION_HEADERS.deliveryCount] = annotations.deliveryCount;
  if (annotations.deadLetters !== undefined) renderDeadLetters(headers, annotations.deadLetters);
}

function renderDeadLetters(headers: FieldTable, history: DeadLetterHistory): void {
  headers[ANNOTATION_HEADERS.deaths] = history.deaths.map(deathTable);
  headers['x-first-death-reason'] = history.first.reason;
  headers['x-first-death-queue'] = history.first.queue;
  headers['x-first-death-exchange'] = history.first.exchange;
  headers['x-last-death-reason'] = history.last.reason;
  headers['x-last-death-queue'] = history.last.queue;
  headers['x-last-death-exchange'] = history.last.exchange;
}

/** An x-death entry as RabbitMQ writes it. */
function deathTable(death: Death): FieldTable {
  const table: FieldTable = {
    // a long, as RabbitMQ writes it
    count: new TypedValue('l', death.count),
    reason: death.reason,
    queue: death.queue,
    time: death.time,
    exchange: death.exchange,
    'routing-keys': [...death.routingKeys],
  };
  if (death.originalExpiration !== undefined) table['original-expiration'] = death.originalExpiration;
  return table;
}
