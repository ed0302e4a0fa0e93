/**
 * Whether a message's properties can be written in AMQP 0-9-1's wire format, with the reason when
 * they cannot. The rules are exactly those `encodeProperties` / `encodeFieldTable` and ByteWriter
 * enforce by throwing (octets, short strings of at most 255 UTF-8 bytes, unsigned 64-bit
 * timestamps, the field value types and their ranges, MAX_FIELD_NESTING), checked without writing
 * anything, so a door can refuse a message before it reaches a queue or the store instead of
 * having the store's flush or a delivery throw. test/core/encodable.test.ts holds the two to
 * the same answer on random values.
 */
import { ByteWriter } from './byte-writer';
import { Decimal, FieldTable, FieldValue, MAX_FIELD_NESTING, TypedValue } from './field-table';
import { encodeProperties, MessageProperties } from './properties';

/**
 * Largest property list for a message meant for AMQP consumers: what fits one content header
 * frame at frame_max 131072, the default of RabbitMQ, of this broker (AMQP_FRAME_MAX) and of
 * common clients. A content header cannot be split across frames, so a larger one could reach no
 * consumer at that frame size: each would close on it. A door whose messages are for AMQP
 * consumers (the management publish) holds them to it; the core does not, as its own queues
 * (deliveries with many attempts) may hold larger ones.
 */
export const MAX_PROPERTY_LIST_BYTES = 131072 - 8 - 12;

/** Largest unsigned 64-bit value + 1, as a double (every integer double below it is < 2^64). */
const TWO_64 = 18446744073709551616;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
/** A string of at most this many UTF-16 units is at most 255 UTF-8 bytes (3 bytes a unit at most). */
const SURELY_SHORT_UNITS = 85;

/**
 * An upper bound of the encoded size of what was checked so far (strings count 3 bytes a UTF-16
 * unit), so that the exact size is only measured, by encoding, when the bound passes a limit.
 */
let sizeBound = 0;

/**
 * The first reason `properties` cannot be encoded, naming the property by its AMQP (RabbitMQ JSON)
 * name, or null when they can. Absent properties (undefined or null) are fine, as the encoder
 * leaves them out. With `maxBytes`, an encoded property list longer than that is a reason too.
 *
 * This runs for every message an HTTP door publishes, so the happy path builds no strings and
 * allocates nothing: each property is read by name, and a reason's path (`headers.a[2].b`) is put
 * together only on the way back from a failure.
 */
export function propertiesProblem(properties: MessageProperties, maxBytes = Infinity): string | null {
  sizeBound = 2;
  const problem = shapeProblem(properties as Record<keyof MessageProperties, unknown>);
  if (problem !== null || sizeBound <= maxBytes) return problem;
  const writer = new ByteWriter(Math.min(sizeBound, 1 << 20));
  encodeProperties(writer, properties);
  return writer.length <= maxBytes ? null : `the properties take ${writer.length} bytes encoded, more than the ${maxBytes} allowed`;
}

/** The first reason a field table cannot be encoded (`what` names it in the reason), or null. */
export function fieldTableProblem(table: FieldTable, what = 'table'): string | null {
  if (!isTable(table)) return `${what} must be a table (an object of names to values), got ${describe(table)}`;
  const problem = tableProblem(table, 0);
  return problem === null ? null : `${what}${problem}`;
}

function shapeProblem(p: Record<keyof MessageProperties, unknown>): string | null {
  if (p.contentType != null && !isShortString(p.contentType)) return shortStringReason('content_type', p.contentType);
  if (p.contentEncoding != null && !isShortString(p.contentEncoding)) return shortStringReason('content_encoding', p.contentEncoding);
  if (p.headers != null) {
    if (!isTable(p.headers)) return `property headers must be a table (an object of names to values), got ${describe(p.headers)}`;
    sizeBound += 4;
    const problem = tableProblem(p.headers, 0);
    if (problem !== null) return `property headers${problem}`;
  }
  if (p.deliveryMode != null && !isOctet(p.deliveryMode)) return octetReason('delivery_mode', p.deliveryMode);
  if (p.priority != null && !isOctet(p.priority)) return octetReason('priority', p.priority);
  if (p.correlationId != null && !isShortString(p.correlationId)) return shortStringReason('correlation_id', p.correlationId);
  if (p.replyTo != null && !isShortString(p.replyTo)) return shortStringReason('reply_to', p.replyTo);
  if (p.expiration != null && !isShortString(p.expiration)) return shortStringReason('expiration', p.expiration);
  if (p.messageId != null && !isShortString(p.messageId)) return shortStringReason('message_id', p.messageId);
  const timestamp = p.timestamp;
  if (timestamp != null) {
    if (!(typeof timestamp === 'number' && Number.isInteger(timestamp) && timestamp >= 0 && timestamp < TWO_64)) {
      return `property timestamp must be an integer number of seconds from 0 to 2^64-1, got ${describe(timestamp)}`;
    }
    sizeBound += 8;
  }
  if (p.type != null && !isShortString(p.type)) return shortStringReason('type', p.type);
  if (p.userId != null && !isShortString(p.userId)) return shortStringReason('user_id', p.userId);
  if (p.appId != null && !isShortString(p.appId)) return shortStringReason('app_id', p.appId);
  if (p.clusterId != null && !isShortString(p.clusterId)) return shortStringReason('cluster_id', p.clusterId);
  return null;
}

const shortStringReason = (name: string, value: unknown): string => `property ${name} ${shortStringProblem(value)!}`;
const octetReason = (name: string, value: unknown): string => `property ${name} must be an integer from 0 to 255, got ${describe(value)}`;

// The walk below returns a reason relative to the value it was given: a path continuation
// (".name…", "[3]…") or, where the problem is, a text after a space.

function tableProblem(table: FieldTable, depth: number): string | null {
  if (depth >= MAX_FIELD_NESTING) return ` is nested deeper than ${MAX_FIELD_NESTING} tables and arrays`;
  // for…in, as the encoder iterates
  for (const key in table) {
    const value = table[key];
    if (value === undefined) continue;
    if (!isShortString(key)) return `: the name ${describe(key)} ${shortStringProblem(key)!}`;
    sizeBound += 1;
    const problem = valueProblem(value, depth);
    if (problem !== null) return `.${key}${problem}`;
  }
  return null;
}

function arrayProblem(values: readonly FieldValue[], depth: number): string | null {
  if (depth >= MAX_FIELD_NESTING) return ` is nested deeper than ${MAX_FIELD_NESTING} tables and arrays`;
  for (let i = 0; i < values.length; i++) {
    sizeBound += 1;
    const problem = valueProblem(values[i], depth);
    if (problem !== null) return `[${i}]${problem}`;
  }
  return null;
}

function valueProblem(value: unknown, depth: number): string | null {
  switch (typeof value) {
    case 'string':
      sizeBound += 4 + 3 * value.length;
      return null;
    case 'number':
    case 'bigint':
      sizeBound += 8;
      return typeof value === 'number' || (value >= INT64_MIN && value <= INT64_MAX) ? null : ' is an integer outside the signed 64-bit range';
    case 'boolean':
      sizeBound += 1;
      return null;
    case 'undefined':
      return null;
    case 'object':
      if (value === null) return null;
      if (value instanceof Uint8Array) {
        sizeBound += 4 + value.byteLength;
        return null;
      }
      if (Array.isArray(value)) {
        sizeBound += 4;
        return arrayProblem(value as FieldValue[], depth + 1);
      }
      if (value instanceof Date) return dateProblem(value);
      if (value instanceof Decimal) return decimalProblem(value);
      if (value instanceof TypedValue) return typedProblem(value, depth);
      sizeBound += 4;
      return tableProblem(value as FieldTable, depth + 1);
    default:
      return ` is a ${typeof value}, which has no AMQP field type`;
  }
}

function typedProblem(typed: TypedValue, depth: number): string | null {
  const v: unknown = typed.value;
  const number = (size: number, check: (n: number) => boolean, range: string): string | null => {
    sizeBound += size;
    return typeof v === 'number' && check(v) ? null : ` (type '${typed.type}') must be ${range}, got ${describe(v)}`;
  };
  switch (typed.type) {
    case 't':
      sizeBound += 1;
      return null;
    case 'V':
      return null;
    case 'b':
      return number(1, (n) => Number.isInteger(n) && n >= -0x80 && n <= 0x7f, 'an integer from -128 to 127');
    case 'B':
      return number(1, isOctet, 'an integer from 0 to 255');
    case 's':
      return number(2, (n) => Number.isInteger(n) && n >= -0x8000 && n <= 0x7fff, 'an integer from -32768 to 32767');
    case 'u':
      return number(2, (n) => (n & 0xffff) === n, 'an integer from 0 to 65535');
    case 'I':
      return number(4, (n) => (n | 0) === n, 'a signed 32-bit integer');
    case 'i':
      return number(4, (n) => n >>> 0 === n, 'an unsigned 32-bit integer');
    case 'l':
      if (typeof v === 'bigint') {
        sizeBound += 8;
        return v >= INT64_MIN && v <= INT64_MAX ? null : ` (type 'l') is outside the signed 64-bit range`;
      }
      return number(8, (n) => Number.isSafeInteger(n) || (Number.isInteger(n) && n >= -TWO_64 / 2 && n < TWO_64 / 2), 'a signed 64-bit integer');
    case 'f':
      return number(4, () => true, 'a number');
    case 'd':
      return number(8, () => true, 'a number');
    case 'D':
      return v instanceof Decimal ? decimalProblem(v) : ` (type 'D') must be a Decimal`;
    case 'S':
    case 'x':
      if (typeof v === 'string') sizeBound += 4 + 3 * v.length;
      else if (Buffer.isBuffer(v)) sizeBound += 4 + v.length;
      else return ` (type '${typed.type}') must be a string or bytes`;
      return null;
    case 'T':
      sizeBound += 8;
      if (v instanceof Date) return dateProblem(v);
      if (typeof v === 'bigint') return v >= 0n && v <= UINT64_MAX ? null : ` (type 'T') is outside the unsigned 64-bit range`;
      return number(0, (n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer number of seconds');
    case 'A':
      sizeBound += 4;
      return Array.isArray(v) ? arrayProblem(v as FieldValue[], depth + 1) : ` (type 'A') must be an array`;
    case 'F':
      sizeBound += 4;
      return isTable(v) ? tableProblem(v, depth + 1) : ` (type 'F') must be a table`;
    default:
      return ` has the unknown field type ${describe(typed.type)}`;
  }
}

/** True when `value` is a string the encoder writes as a short string; adds its size to the bound. */
function isShortString(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  sizeBound += 1 + 3 * value.length;
  return value.length <= SURELY_SHORT_UNITS || Buffer.byteLength(value, 'utf8') <= 255;
}

function shortStringProblem(value: unknown): string | null {
  if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
  if (value.length <= SURELY_SHORT_UNITS) return null;
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes <= 255 ? null : `is ${bytes} bytes long, longer than the 255 bytes of an AMQP short string`;
}

function dateProblem(date: Date): string | null {
  sizeBound += 8;
  return date.getTime() >= 0 ? null : ' is a time before 1970 or an invalid date, which an AMQP timestamp cannot hold';
}

function decimalProblem(decimal: Decimal): string | null {
  sizeBound += 5;
  if ((decimal.scale & 0xff) !== decimal.scale) return ' is a decimal whose scale is not an integer from 0 to 255';
  if (decimal.value >>> 0 !== decimal.value) return ' is a decimal whose value is not an unsigned 32-bit integer';
  return null;
}

function isOctet(value: unknown): value is number {
  if (typeof value !== 'number' || (value & 0xff) !== value) return false;
  sizeBound += 1;
  return true;
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
