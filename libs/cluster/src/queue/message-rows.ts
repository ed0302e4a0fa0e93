import { decodeAnnotations, decodeProperties, Message } from '#core';

/** A shared queue's message row as claims and lookups read it back (bigint columns arrive as text). */
export interface MessageRow {
  queue_id: string;
  seq: string;
  rank: string;
  not_before: string;
  holder: string | null;
  lease_until: string | null;
  deliveries: number;
  exchange: Buffer;
  routing_key: Buffer;
  properties: Buffer;
  body: Buffer;
  annotations: string | null;
}

/** The columns a MessageRow reads (prefixed for statements that join: `m.`). */
export const ROW_COLUMNS = 'queue_id, seq, rank, not_before, holder, lease_until, deliveries, exchange, routing_key, properties, body, annotations';
export const M_ROW_COLUMNS = ROW_COLUMNS.split(', ')
  .map((column) => `m.${column}`)
  .join(', ');

/**
 * The message of a row: the same parts the SQLite store keeps (the AMQP property list as received
 * or encoded once, the body, the core's annotation codec), so a message reads back as it went in.
 */
export function messageOf(row: MessageRow): Message {
  return new Message(row.exchange.toString('utf8'), row.routing_key.toString('utf8'), decodeProperties(row.properties), row.properties, row.body, decodeAnnotations(row.annotations));
}

/**
 * A business key as the key columns hold it: PostgreSQL text cannot hold NUL, so NUL and the
 * backslash are escaped (one-to-one: equal keys, equal texts).
 */
export function keyText(key: string | number): string {
  const text = String(key);
  return text.includes('\u0000') || text.includes('\\') ? text.replace(/\\/g, '\\\\').replace(/\u0000/g, '\\0') : text;
}

/**
 * A shared entry's lease id: its queue, its row and which taking of it (an earlier taking's id
 * never settles a later one), as 32 hex digits in a UUID's shape (the job API's lease ids look the
 * same on one node and on a cluster).
 */
export function leaseIdOf(queueId: number, seq: number, deliveries: number): string {
  const hex = queueId.toString(16).padStart(8, '0') + seq.toString(16).padStart(16, '0') + deliveries.toString(16).padStart(8, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The row a lease id names, or null for an id of another form. */
export function leasedRowOf(id: string): { queueId: number; seq: number; deliveries: number } | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return null;
  const hex = id.replace(/-/g, '');
  return { queueId: parseInt(hex.slice(0, 8), 16), seq: parseInt(hex.slice(8, 24), 16), deliveries: parseInt(hex.slice(24), 16) };
}
