/**
 * AMQP 0-9-1 field tables and field arrays, using RabbitMQ's type codes
 * (https://www.rabbitmq.com/amqp-0-9-1-errata.html#section_3):
 *
 *   t bool      b int8     B uint8    s int16    u uint16   I int32    i uint32   l int64
 *   f float32   d float64  D decimal  S longstr  x bytes    A array    T timestamp
 *   F table     V void
 *
 * Decoded representation: t→boolean, integers→number (int64 → number when it is a safe integer,
 * else bigint), f/d→number, D→Decimal, S→string (UTF-8), x→Buffer (subarray of the input),
 * A→array, T→Date (a TypedValue 'T' holding a bigint when too late for a Date), F→plain object,
 * V→null. Whatever decodes encodes again (keys cut to 255 bytes when invalid UTF-8 inflated them).
 *
 * Encoding picks the wire type from the JS value: boolean→t, integer in int32 range→I, other
 * integer within int64→l, any other number→d, bigint→l, string→S, Buffer/Uint8Array→x, Date→T
 * (whole seconds), Decimal→D, array→A, null/undefined→V (inside arrays; table entries whose value
 * is `undefined` are omitted, like JSON), other object→F. Wrap a value in `TypedValue` to choose
 * the wire type explicitly.
 */
import { ByteReader, DecodeError } from './byte-reader';
import { ByteWriter } from './byte-writer';

/** Deepest table/array nesting accepted when decoding or encoding. */
export const MAX_FIELD_NESTING = 100;

export type FieldTypeCode =
  | 't'
  | 'b'
  | 'B'
  | 's'
  | 'u'
  | 'I'
  | 'i'
  | 'l'
  | 'f'
  | 'd'
  | 'D'
  | 'S'
  | 'x'
  | 'A'
  | 'T'
  | 'F'
  | 'V';

/** AMQP decimal: `value / 10^scale`, scale is an octet, value an unsigned 32-bit integer. */
export class Decimal {
  constructor(
    public scale: number,
    public value: number,
  ) {}

  toNumber(): number {
    return this.value / 10 ** this.scale;
  }
}

/**
 * A value with an explicit wire type, for callers that need e.g. a uint8 (`'B'`) or a float32
 * (`'f'`) rather than the type the encoder would infer. Only used when encoding.
 */
export class TypedValue {
  constructor(
    readonly type: FieldTypeCode,
    readonly value: FieldValue,
  ) {}
}

export type FieldValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | Decimal
  | TypedValue
  | FieldValue[]
  | FieldTable;

export interface FieldTable {
  [key: string]: FieldValue;
}

/** Latest time a Date can hold, in seconds (8.64e15 ms). */
const MAX_DATE_SECONDS = 8.64e12;
const INT64_MIN_NUM = -9223372036854775808; // -2^63, exact as a double
const INT64_LIMIT_NUM = 9223372036854775808; // 2^63

// Type code octets.
const T_BOOL = 0x74; // t
const T_I8 = 0x62; // b
const T_U8 = 0x42; // B
const T_I16 = 0x73; // s
const T_U16 = 0x75; // u
const T_I32 = 0x49; // I
const T_U32 = 0x69; // i
const T_I64 = 0x6c; // l
const T_F32 = 0x66; // f
const T_F64 = 0x64; // d
const T_DECIMAL = 0x44; // D
const T_LONGSTR = 0x53; // S
const T_BYTES = 0x78; // x
const T_ARRAY = 0x41; // A
const T_TIMESTAMP = 0x54; // T
const T_TABLE = 0x46; // F
const T_VOID = 0x56; // V

// ---------------------------------------------------------------------------------------------
// Encoding

/** Writes a field table (u32 byte length + entries). `undefined`/`null` writes an empty table. */
export function encodeFieldTable(w: ByteWriter, table: FieldTable | null | undefined): void {
  if (table == null) {
    w.u32(0);
    return;
  }
  writeTable(w, table, 0);
}

/** Writes a field array (u32 byte length + values). */
export function encodeFieldArray(w: ByteWriter, values: readonly FieldValue[]): void {
  writeArray(w, values, 0);
}

function writeTable(w: ByteWriter, table: FieldTable, depth: number): void {
  if (depth >= MAX_FIELD_NESTING) throw new RangeError(`field table nested deeper than ${MAX_FIELD_NESTING}`);
  const at = w.reserve(4);
  for (const key in table) {
    const v = table[key];
    if (v === undefined) continue;
    w.shortStr(key);
    writeValue(w, v, depth);
  }
  w.patchU32(at, w.length - at - 4);
}

function writeArray(w: ByteWriter, values: readonly FieldValue[], depth: number): void {
  if (depth >= MAX_FIELD_NESTING) throw new RangeError(`field array nested deeper than ${MAX_FIELD_NESTING}`);
  const at = w.reserve(4);
  for (let i = 0; i < values.length; i++) writeValue(w, values[i], depth);
  w.patchU32(at, w.length - at - 4);
}

function writeValue(w: ByteWriter, v: FieldValue, depth: number): void {
  switch (typeof v) {
    case 'string':
      w.u8(T_LONGSTR);
      w.longStr(v);
      return;
    case 'number':
      if (Number.isInteger(v)) {
        if ((v | 0) === v) {
          w.u8(T_I32);
          w.i32(v);
          return;
        }
        if (v >= INT64_MIN_NUM && v < INT64_LIMIT_NUM) {
          w.u8(T_I64);
          w.i64(Number.isSafeInteger(v) ? v : BigInt(v));
          return;
        }
      }
      w.u8(T_F64);
      w.f64(v);
      return;
    case 'boolean':
      w.u8(T_BOOL);
      w.u8(v ? 1 : 0);
      return;
    case 'bigint':
      w.u8(T_I64);
      w.i64(v);
      return;
    case 'undefined':
      w.u8(T_VOID);
      return;
    case 'object':
      if (v === null) {
        w.u8(T_VOID);
      } else if (Array.isArray(v)) {
        w.u8(T_ARRAY);
        writeArray(w, v, depth + 1);
      } else if (v instanceof Uint8Array) {
        w.u8(T_BYTES);
        // The FieldValue type says Buffer, but accept any Uint8Array at runtime.
        const u8: Uint8Array = v;
        w.longStr(Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength));
      } else if (v instanceof Date) {
        w.u8(T_TIMESTAMP);
        w.u64(dateToSeconds(v));
      } else if (v instanceof Decimal) {
        w.u8(T_DECIMAL);
        writeDecimal(w, v);
      } else if (v instanceof TypedValue) {
        writeTyped(w, v, depth);
      } else {
        w.u8(T_TABLE);
        writeTable(w, v, depth + 1);
      }
      return;
    default:
      throw new TypeError(`cannot encode a ${typeof v} in a field table`);
  }
}

function writeTyped(w: ByteWriter, tv: TypedValue, depth: number): void {
  const v = tv.value;
  const t = tv.type;
  switch (t) {
    case 't':
      w.u8(T_BOOL);
      w.u8(v ? 1 : 0);
      return;
    case 'b':
      w.u8(T_I8);
      w.i8(asNumber(v, t));
      return;
    case 'B':
      w.u8(T_U8);
      w.u8(asNumber(v, t));
      return;
    case 's':
      w.u8(T_I16);
      w.i16(asNumber(v, t));
      return;
    case 'u':
      w.u8(T_U16);
      w.u16(asNumber(v, t));
      return;
    case 'I':
      w.u8(T_I32);
      w.i32(asNumber(v, t));
      return;
    case 'i':
      w.u8(T_U32);
      w.u32(asNumber(v, t));
      return;
    case 'l':
      w.u8(T_I64);
      if (typeof v === 'bigint') w.i64(v);
      else {
        const n = asNumber(v, t);
        w.i64(Number.isSafeInteger(n) || !Number.isInteger(n) ? n : BigInt(n));
      }
      return;
    case 'f':
      w.u8(T_F32);
      w.f32(asNumber(v, t));
      return;
    case 'd':
      w.u8(T_F64);
      w.f64(asNumber(v, t));
      return;
    case 'D':
      if (!(v instanceof Decimal)) throw new TypeError(`TypedValue 'D' needs a Decimal`);
      w.u8(T_DECIMAL);
      writeDecimal(w, v);
      return;
    case 'S':
      if (typeof v !== 'string' && !Buffer.isBuffer(v)) throw new TypeError(`TypedValue 'S' needs a string or Buffer`);
      w.u8(T_LONGSTR);
      w.longStr(v);
      return;
    case 'x':
      if (typeof v !== 'string' && !Buffer.isBuffer(v)) throw new TypeError(`TypedValue 'x' needs a Buffer or string`);
      w.u8(T_BYTES);
      w.longStr(v);
      return;
    case 'T':
      w.u8(T_TIMESTAMP);
      if (v instanceof Date) w.u64(dateToSeconds(v));
      else if (typeof v === 'bigint') w.u64(v);
      else w.u64(asNumber(v, t));
      return;
    case 'A':
      if (!Array.isArray(v)) throw new TypeError(`TypedValue 'A' needs an array`);
      w.u8(T_ARRAY);
      writeArray(w, v, depth + 1);
      return;
    case 'F':
      if (!isPlainTable(v)) throw new TypeError(`TypedValue 'F' needs an object`);
      w.u8(T_TABLE);
      writeTable(w, v, depth + 1);
      return;
    case 'V':
      w.u8(T_VOID);
      return;
    default:
      throw new TypeError(`unknown field type code ${JSON.stringify(t as string)}`);
  }
}

function writeDecimal(w: ByteWriter, d: Decimal): void {
  if ((d.scale & 0xff) !== d.scale) throw new RangeError(`decimal scale must be 0..255, got ${d.scale}`);
  if (d.value >>> 0 !== d.value) throw new RangeError(`decimal value must be a uint32, got ${d.value}`);
  w.u8(d.scale);
  w.u32(d.value);
}

function asNumber(v: FieldValue, t: FieldTypeCode): number {
  if (typeof v !== 'number') throw new TypeError(`TypedValue '${t}' needs a number, got ${typeof v}`);
  return v;
}

function isPlainTable(v: FieldValue): v is FieldTable {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date) &&
    !(v instanceof Decimal) &&
    !(v instanceof TypedValue)
  );
}

function dateToSeconds(d: Date): number {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new RangeError('cannot encode an invalid Date');
  return Math.floor(ms / 1000);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Reads a field table (u32 byte length + entries). */
export function decodeFieldTable(r: ByteReader): FieldTable {
  return readTable(r, 0);
}

/** Reads a field array (u32 byte length + values). */
export function decodeFieldArray(r: ByteReader): FieldValue[] {
  return readArray(r, 0);
}

function readTable(r: ByteReader, depth: number): FieldTable {
  if (depth >= MAX_FIELD_NESTING) throw new DecodeError(`field table nested deeper than ${MAX_FIELD_NESTING}`);
  const len = r.u32('field table length');
  const end = r.pos + len;
  const outerEnd = r.end;
  if (end > outerEnd) {
    throw new DecodeError(`field table length ${len} exceeds the ${outerEnd - r.pos} byte(s) available`);
  }
  const table: FieldTable = {};
  if (len === 0) return table;
  r.end = end; // confine reads to the table
  while (r.pos < end) {
    const key = r.shortText('field table key');
    const value = readValue(r, depth);
    if (key === '__proto__') {
      Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      table[key] = value;
    }
  }
  r.end = outerEnd;
  return table;
}

function readArray(r: ByteReader, depth: number): FieldValue[] {
  if (depth >= MAX_FIELD_NESTING) throw new DecodeError(`field array nested deeper than ${MAX_FIELD_NESTING}`);
  const len = r.u32('field array length');
  const end = r.pos + len;
  const outerEnd = r.end;
  if (end > outerEnd) {
    throw new DecodeError(`field array length ${len} exceeds the ${outerEnd - r.pos} byte(s) available`);
  }
  const out: FieldValue[] = [];
  if (len === 0) return out;
  r.end = end;
  while (r.pos < end) out.push(readValue(r, depth));
  r.end = outerEnd;
  return out;
}

function readValue(r: ByteReader, depth: number): FieldValue {
  const code = r.u8('field value type');
  switch (code) {
    case T_LONGSTR:
      return r.longStrUtf8('field value (S long string)');
    case T_I32:
      return r.i32('field value (I int32)');
    case T_BOOL:
      return r.u8('field value (t boolean)') !== 0;
    case T_I64:
      return r.i64Exact('field value (l int64)');
    case T_TABLE:
      return readTable(r, depth + 1);
    case T_ARRAY:
      return readArray(r, depth + 1);
    case T_I8:
      return r.i8('field value (b int8)');
    case T_U8:
      return r.u8('field value (B uint8)');
    case T_I16:
      return r.i16('field value (s int16)');
    case T_U16:
      return r.u16('field value (u uint16)');
    case T_U32:
      return r.u32('field value (i uint32)');
    case T_F32:
      return r.f32('field value (f float)');
    case T_F64:
      return r.f64('field value (d double)');
    case T_DECIMAL: {
      const scale = r.u8('field value (D decimal scale)');
      return new Decimal(scale, r.u32('field value (D decimal value)'));
    }
    case T_BYTES:
      return r.longStr('field value (x byte array)');
    case T_TIMESTAMP: {
      const seconds = r.u64('field value (T timestamp)');
      if (seconds <= MAX_DATE_SECONDS) return new Date(seconds * 1000);
      // beyond what a Date holds: kept exact, so the table can be written back
      r.pos -= 8;
      return new TypedValue('T', r.u64Big('field value (T timestamp)'));
    }
    case T_VOID:
      return null;
    default:
      throw new DecodeError(
        `unknown field value type 0x${code.toString(16).padStart(2, '0')}` +
          (code >= 0x20 && code < 0x7f ? ` ('${String.fromCharCode(code)}')` : '') +
          ` at offset ${r.pos - 1}`,
      );
  }
}
