/**
 * Whether a message's properties can be written in AMQP 0-9-1's wire format, with the reason when
 * they cannot. The rules are exactly those `encodeProperties` / `encodeFieldTable` and ByteWriter
 * enforce by throwing (octets, short strings of at most 255 UTF-8 bytes, unsigned 64-bit
 * timestamps, the field value types and their ranges, MAX_FIELD_NESTING), checked without writing
 * anything, so a door can refuse a message before it reaches a queue or the store instead of
 * having the store's flush or a delivery throw. test/core/encodable.test.ts holds the two to
 * the same answer on random values.
 */
import { Decimal, FieldTable, FieldValue, MAX_FIELD_NESTING, TypedValue } from './field-table';
import type { MessageProperties } from './properties';

/**
 * Largest property list a message built from an object (an HTTP door's, not an AMQP client's) may
 * have: what fits one content header frame at frame_max 131072, the default of RabbitMQ, of this
 * broker (AMQP_FRAME_MAX) and of common clients. A content header cannot be split across frames,
 * so a larger one could reach no consumer at that frame size: each would close on it.
 */
export const MAX_PROPERTY_LIST_BYTES = 131072 - 8 - 12;

/** Largest unsigned 64-bit value + 1, as a double (every integer double below it is < 2^64). */
const TWO_64 = 18446744073709551616;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** A string of at most this many UTF-16 units is at most 255 UTF-8 bytes (3 bytes a unit at most). */
const SURELY_SHORT_UNITS = 85;

const SHORT_STRING_PROPERTIES = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
] as const satisfies readonly (readonly [keyof MessageProperties, string])[];

/**
 * The first reason `properties` cannot be encoded, naming the property by its AMQP (RabbitMQ JSON)
 * name, or null when they can. Absent properties (undefined or null) are fine, as the encoder
 * leaves them out.
 */
export function propertiesProblem(properties: MessageProperties): string | null {
  for (const [field, name] of SHORT_STRING_PROPERTIES) {
    const value: unknown = properties[field];
    if (value == null) continue;
    const problem = shortStringProblem(value);
    if (problem !== null) return `property ${name} ${problem}`;
  }
  for (const [field, name] of [
    ['deliveryMode', 'delivery_mode'],
    ['priority', 'priority'],
  ] as const) {
    const value: unknown = properties[field];
    if (value == null) continue;
    if (!isOctet(value)) return `property ${name} must be an integer from 0 to 255, got ${describe(value)}`;
  }
  const timestamp: unknown = properties.timestamp;
  if (timestamp != null && !(typeof timestamp === 'number' && Number.isInteger(timestamp) && timestamp >= 0 && timestamp < TWO_64)) {
    return `property timestamp must be an integer number of seconds from 0 to 2^64-1, got ${describe(timestamp)}`;
  }
  const headers: unknown = properties.headers;
  if (headers != null) {
    if (!isTable(headers)) return `property headers must be a table (an object of names to values), got ${describe(headers)}`;
    const problem = tableProblem(headers, 0, 'headers');
    if (problem !== null) return `property ${problem}`;
  }
  return null;
}

/** The first reason a field table cannot be encoded (`what` names it in the reason), or null. */
export function fieldTableProblem(table: FieldTable, what = 'table'): string | null {
  if (!isTable(table)) return `${what} must be a table (an object of names to values), got ${describe(table)}`;
  return tableProblem(table, 0, what);
}

function tableProblem(table: FieldTable, depth: number, path: string): string | null {
  if (depth >= MAX_FIELD_NESTING) return `${path} is nested deeper than ${MAX_FIELD_NESTING} tables and arrays`;
  // for…in, as the encoder iterates
  for (const key in table) {
    const value = table[key];
    if (value === undefined) continue;
    const keyProblem = shortStringProblem(key);
    if (keyProblem !== null) return `${path}: the name ${describe(key)} ${keyProblem}`;
    const problem = valueProblem(value, depth, `${path}.${key}`);
    if (problem !== null) return problem;
  }
  return null;
}

function arrayProblem(values: readonly FieldValue[], depth: number, path: string): string | null {
  if (depth >= MAX_FIELD_NESTING) return `${path} is nested deeper than ${MAX_FIELD_NESTING} tables and arrays`;
  for (let i = 0; i < values.length; i++) {
    const problem = valueProblem(values[i], depth, `${path}[${i}]`);
    if (problem !== null) return problem;
  }
  return null;
}

function valueProblem(value: unknown, depth: number, path: string): string | null {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return null;
    case 'bigint':
      return value >= INT64_MIN && value <= INT64_MAX ? null : `${path} is an integer outside the signed 64-bit range`;
    case 'object':
      if (value === null || value instanceof Uint8Array) return null;
      if (Array.isArray(value)) return arrayProblem(value as FieldValue[], depth + 1, path);
      if (value instanceof Date) return dateProblem(value, path);
      if (value instanceof Decimal) return decimalProblem(value, path);
      if (value instanceof TypedValue) return typedProblem(value, depth, path);
      return tableProblem(value as FieldTable, depth + 1, path);
    default:
      return `${path} is a ${typeof value}, which has no AMQP field type`;
  }
}

function typedProblem(typed: TypedValue, depth: number, path: string): string | null {
  const v: unknown = typed.value;
  const number = (check: (n: number) => boolean, range: string): string | null =>
    typeof v === 'number' && check(v) ? null : `${path} (type '${typed.type}') must be ${range}, got ${describe(v)}`;
  switch (typed.type) {
    case 't':
    case 'V':
      return null;
    case 'b':
      return number((n) => Number.isInteger(n) && n >= -0x80 && n <= 0x7f, 'an integer from -128 to 127');
    case 'B':
      return number(isOctet, 'an integer from 0 to 255');
    case 's':
      return number((n) => Number.isInteger(n) && n >= -0x8000 && n <= 0x7fff, 'an integer from -32768 to 32767');
    case 'u':
      return number((n) => (n & 0xffff) === n, 'an integer from 0 to 65535');
    case 'I':
      return number((n) => (n | 0) === n, 'a signed 32-bit integer');
    case 'i':
      return number((n) => n >>> 0 === n, 'an unsigned 32-bit integer');
    case 'l':
      if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? null : `${path} (type 'l') is outside the signed 64-bit range`;
      return number((n) => Number.isSafeInteger(n) || (Number.isInteger(n) && n >= -TWO_64 / 2 && n < TWO_64 / 2), 'a signed 64-bit integer');
    case 'f':
    case 'd':
      return number(() => true, 'a number');
    case 'D':
      return v instanceof Decimal ? decimalProblem(v, path) : `${path} (type 'D') must be a Decimal`;
    case 'S':
    case 'x':
      return typeof v === 'string' || Buffer.isBuffer(v) ? null : `${path} (type '${typed.type}') must be a string or bytes`;
    case 'T':
      if (v instanceof Date) return dateProblem(v, path);
      if (typeof v === 'bigint') return v >= 0n && v <= UINT64_MAX ? null : `${path} (type 'T') is outside the unsigned 64-bit range`;
      return number((n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer number of seconds');
    case 'A':
      return Array.isArray(v) ? arrayProblem(v as FieldValue[], depth + 1, path) : `${path} (type 'A') must be an array`;
    case 'F':
      return isTable(v) ? tableProblem(v, depth + 1, path) : `${path} (type 'F') must be a table`;
    default:
      return `${path} has the unknown field type ${describe(typed.type)}`;
  }
}

function shortStringProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
  if (value.length <= SURELY_SHORT_UNITS) return null;
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes <= 255 ? null : `is ${bytes} bytes long, longer than the 255 bytes of an AMQP short string`;
}

function dateProblem(date: Date, path: string): string | null {
  const ms = date.getTime();
  return ms >= 0 ? null : `${path} is a time before 1970 or an invalid date, which an AMQP timestamp cannot hold`;
}

function decimalProblem(decimal: Decimal, path: string): string | null {
  if ((decimal.scale & 0xff) !== decimal.scale) return `${path} is a decimal whose scale is not an integer from 0 to 255`;
  if (decimal.value >>> 0 !== decimal.value) return `${path} is a decimal whose value is not an unsigned 32-bit integer`;
  return null;
}

function isOctet(value: unknown): value is number {
  return typeof value === 'number' && (value & 0xff) === value;
}

function isTable(value: unknown): value is FieldTable {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date) &&
    !(value instanceof Decimal) &&
    !(value instanceof TypedValue)
  );
}

/** A short, safe rendering of an offending value for an error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
