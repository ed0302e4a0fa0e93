/**
 * The one rule for "can these properties be encoded" (encoding/encodable.ts) against the encoder
 * itself, on random values; and the decoder's promise that whatever it decodes encodes again
 * (dead-lettered copies, delayed releases and job re-releases re-encode decoded properties).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ByteWriter,
  Decimal,
  FieldTable,
  FieldValue,
  MAX_FIELD_NESTING,
  MAX_PROPERTY_LIST_BYTES,
  Message,
  MessageProperties,
  TypedValue,
  decodeProperties,
  encodeProperties,
  fieldTableProblem,
  propertiesProblem,
} from '#core';
import { Prng } from '../support/amqp-wire';

const SEED = 0x5eed0e1c;

function encodes(p: MessageProperties): boolean {
  try {
    encodeProperties(new ByteWriter(64), p);
    return true;
  } catch {
    return false;
  }
}

const TYPE_CODES = ['t', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f', 'd', 'D', 'S', 'x', 'A', 'T', 'F', 'V', 'Z'] as const;

/** Values of every kind, many at or just past a limit of the encoder. */
class ValueMaker {
  constructor(private readonly rng: Prng) {}

  string(maxUnits = 300): string {
    const r = this.rng;
    const n = r.chance(0.3) ? r.pick([0, 1, 85, 86, 127, 128, 254, 255, 256, 300]) : r.int(0, maxUnits);
    const alphabet = r.pick(['ascii', 'latin', 'cjk', 'emoji', 'lone']);
    let s = '';
    for (let i = 0; i < n; i++) {
      if (alphabet === 'ascii') s += String.fromCharCode(r.int(0x20, 0x7e));
      else if (alphabet === 'latin') s += String.fromCharCode(r.int(0xa0, 0xff));
      else if (alphabet === 'cjk') s += String.fromCharCode(r.int(0x4e00, 0x9fff));
      else if (alphabet === 'emoji') s += r.chance(0.5) ? '\u{1f600}' : 'a';
      else s += r.chance(0.2) ? '\ud800' : 'b';
    }
    return n > 0 && alphabet === 'emoji' ? s.slice(0, n) : s;
  }

  number(): number {
    const r = this.rng;
    return r.pick([
      0, -0, 1, -1, 1.5, 255, 256, -129, 127, 32767, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63,
      -(2 ** 63), 2 ** 64, 2 ** 64 - 2048, 1e300, -1e300, NaN, Infinity, -Infinity, r.int(-1000, 1000), r.next() * 1e6,
    ]);
  }

  bigint(): bigint {
    return this.rng.pick([0n, -1n, 2n ** 63n - 1n, 2n ** 63n, -(2n ** 63n), -(2n ** 63n) - 1n, 2n ** 64n - 1n, 2n ** 64n]);
  }

  date(): Date {
    return new Date(this.rng.pick([0, 1, -1, -1000, 1e12, 8.64e15, NaN, -8.64e15]));
  }

  decimal(): Decimal {
    const r = this.rng;
    return new Decimal(r.pick([0, 2, 255, 256, -1, 1.5]), r.pick([0, 1, 2 ** 32 - 1, 2 ** 32, -1, 0.5]));
  }

  value(depth: number, maxDepth: number): FieldValue {
    const r = this.rng;
    const kind = r.int(0, depth >= maxDepth ? 11 : 14);
    switch (kind) {
      case 0:
        return this.string(r.chance(0.05) ? 2000 : 40);
      case 1:
        return this.number();
      case 2:
        return r.chance(0.5);
      case 3:
        return this.bigint();
      case 4:
        return null;
      case 5:
        return undefined;
      case 6:
        return r.bytes(r.int(0, 20));
      case 7:
        return this.date();
      case 8:
        return this.decimal();
      case 9: {
        const type = r.pick(TYPE_CODES) as TypedValue['type'];
        const inner = r.chance(0.7) ? this.number() : r.pick<FieldValue>([this.string(10), this.bigint(), this.date(), this.decimal(), null, [], {}, r.bytes(3)]);
        return new TypedValue(type, inner);
      }
      case 10:
        // no field type: a function or a symbol smuggled in
        return r.pick([() => 1, Symbol('s')]) as unknown as FieldValue;
      case 11:
        return this.number();
      case 12:
        return Array.from({ length: r.int(0, 3) }, () => this.value(depth + 1, maxDepth));
      case 13:
        return new TypedValue(r.pick(['A', 'F'] as const), r.chance(0.5) ? Array.from({ length: r.int(0, 2) }, () => this.value(depth + 1, maxDepth)) : this.table(depth + 1, maxDepth));
      default:
        return this.table(depth + 1, maxDepth);
    }
  }

  table(depth: number, maxDepth: number): FieldTable {
    const r = this.rng;
    const table: FieldTable = {};
    for (let i = r.int(0, 3); i > 0; i--) table[r.chance(0.05) ? this.string(300) : this.string(12)] = this.value(depth, maxDepth);
    return table;
  }

  /** A chain of single-entry tables and arrays `levels` deep. */
  nested(levels: number): FieldTable {
    let inner: FieldValue = 1;
    for (let i = 1; i < levels; i++) inner = this.rng.chance(0.3) ? [inner] : { n: inner };
    return { n: inner };
  }

  properties(): MessageProperties {
    const r = this.rng;
    const p: Record<string, unknown> = {};
    const any = (): unknown => r.pick<unknown>([this.string(), this.number(), this.bigint(), null, undefined, true, [], {}, this.date()]);
    for (const name of SHORT_STRINGS) {
      if (r.chance(0.15)) p[name] = r.chance(0.8) ? this.string() : any();
    }
    for (const name of ['deliveryMode', 'priority', 'timestamp']) if (r.chance(0.3)) p[name] = r.chance(0.8) ? this.number() : any();
    if (r.chance(0.6)) {
      if (r.chance(0.1)) p.headers = this.nested(r.int(MAX_FIELD_NESTING - 3, MAX_FIELD_NESTING + 3));
      else p.headers = r.chance(0.95) ? this.table(0, r.int(1, 6)) : any();
    }
    return p as MessageProperties;
  }
}

const SHORT_STRINGS = ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'expiration', 'messageId', 'type', 'userId', 'appId', 'clusterId'] as const;

function wellTyped(p: MessageProperties): boolean {
  for (const name of SHORT_STRINGS) if (p[name] != null && typeof p[name] !== 'string') return false;
  for (const name of ['deliveryMode', 'priority', 'timestamp'] as const) if (p[name] != null && typeof p[name] !== 'number') return false;
  const headers: unknown = p.headers;
  return (
    headers == null ||
    (typeof headers === 'object' &&
      !Array.isArray(headers) &&
      !(headers instanceof Date) &&
      !(headers instanceof TypedValue) &&
      !(headers instanceof Uint8Array) &&
      !(headers instanceof Decimal))
  );
}

test('propertiesProblem says null exactly when encodeProperties succeeds (random properties)', () => {
  const rng = new Prng(SEED);
  const make = new ValueMaker(rng);
  let encodable = 0;
  for (let i = 0; i < 20_000; i++) {
    const p = make.properties();
    const problem = propertiesProblem(p);
    if (!wellTyped(p)) {
      // a value of the wrong JS type (headers that are a string, a priority that is an array…)
      // is refused, although the encoder writes some of them as something else
      assert.notEqual(problem, null, `case ${i}: a property of the wrong type`);
      continue;
    }
    const ok = encodes(p);
    assert.equal(problem === null, ok, `case ${i}: propertiesProblem ${JSON.stringify(problem)} but the encoder ${ok ? 'succeeded' : 'threw'}`);
    if (ok) encodable++;
  }
  assert.ok(encodable > 2_000 && encodable < 18_000, `both answers are exercised (${encodable} encodable)`);
});

test('reasons name the property and the limit', () => {
  const cases: [MessageProperties, RegExp][] = [
    [{ priority: 300 }, /^property priority must be an integer from 0 to 255, got 300$/],
    [{ deliveryMode: 1.5 }, /^property delivery_mode /],
    [{ timestamp: -1 }, /^property timestamp must be an integer number of seconds from 0 to 2\^64-1, got -1$/],
    [{ timestamp: 1.5 }, /^property timestamp /],
    [{ messageId: 'm'.repeat(300) }, /^property message_id is 300 bytes long, longer than the 255 bytes/],
    [{ appId: 'é'.repeat(128) }, /^property app_id is 256 bytes long/],
    [{ headers: { a: { b: [1, new Date(-5000)] } } }, /^property headers\.a\.b\[1\] is a time before 1970/],
    [{ headers: { ['k'.repeat(256)]: 1 } }, /^property headers: the name "k{40}…" is 256 bytes long/],
    [{ headers: { x: new TypedValue('B', 256) } }, /^property headers\.x \(type 'B'\) must be an integer from 0 to 255, got 256$/],
    [{ headers: { x: 2n ** 63n } }, /^property headers\.x is an integer outside the signed 64-bit range$/],
    [{ headers: 'oops' as unknown as FieldTable }, /^property headers must be a table/],
  ];
  for (const [p, reason] of cases) assert.match(propertiesProblem(p) ?? 'null', reason);
  const make = new ValueMaker(new Prng(1));
  assert.equal(propertiesProblem({ headers: make.nested(MAX_FIELD_NESTING) }), null, `${MAX_FIELD_NESTING} levels encode`);
  assert.match(propertiesProblem({ headers: make.nested(MAX_FIELD_NESTING + 1) }) ?? 'null', /is nested deeper than 100 tables and arrays$/);
  assert.match(fieldTableProblem({ 'x-a': null, 'x-b': [{ c: Symbol('s') as unknown as FieldValue }] }, 'arguments') ?? 'null', /^arguments\.x-b\[0\]\.c is a symbol/);
});

test('a size limit is checked exactly, by encoding, only when the bound passes it', () => {
  const big = { deliveryMode: 2, headers: { k: 'a'.repeat(MAX_PROPERTY_LIST_BYTES) } };
  assert.match(propertiesProblem(big, MAX_PROPERTY_LIST_BYTES) ?? 'null', /^the properties take 131066 bytes encoded, more than the 131052 allowed$/);
  assert.equal(propertiesProblem(big), null, 'no limit: encodable');
  // multi-byte text whose bound (3 bytes a unit) passes the limit but whose encoding does not
  const fits = { headers: { k: 'é'.repeat(60_000) } };
  assert.equal(propertiesProblem(fits, MAX_PROPERTY_LIST_BYTES), null);
  const message = new Message('', 'q', big, null, Buffer.alloc(0));
  assert.equal(message.propertiesProblem(), null, 'the core sets no size limit of its own');
  assert.equal(message.encodeProperties(), null);
  assert.ok(message.encodedProperties !== null && message.encodedProperties.length === 131066);
});

// ---- the decoder's promise ---------------------------------------------------------------------

/** A property list written by hand: flags, then each field as given (already encoded). */
function propertyList(flags: number, ...fields: Buffer[]): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(flags);
  return Buffer.concat([head, ...fields]);
}
const shortStr = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([bytes.length]), bytes]);
const u64 = (value: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
};
const table = (...entries: Buffer[]): Buffer => {
  const body = Buffer.concat(entries);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};
const entry = (key: Buffer, type: string, value: Buffer): Buffer => Buffer.concat([shortStr(key), Buffer.from(type, 'latin1'), value]);

function assertReencodes(encoded: Buffer, what: string): MessageProperties {
  const decoded = decodeProperties(encoded);
  assert.equal(propertiesProblem(decoded), null, `${what}: decoded properties pass the rule`);
  assert.ok(encodes(decoded), `${what}: decoded properties encode again`);
  return decoded;
}

test('what the decoder reads encodes again: invalid UTF-8 short strings, huge timestamps, deepest nesting', () => {
  const invalid = Buffer.alloc(255, 0xff);
  const decoded = assertReencodes(propertyList(0x8000 | 0x0080, shortStr(invalid), shortStr(Buffer.from('id'))), 'content_type of 255 invalid bytes');
  assert.equal(Buffer.byteLength(decoded.contentType!), 255, 'cut to 255 bytes');
  assert.equal(decoded.messageId, 'id');
  const keyed = assertReencodes(propertyList(0x2000, table(entry(invalid, 'I', Buffer.alloc(4)))), 'a header name of 255 invalid bytes');
  assert.equal(Object.keys(keyed.headers!).length, 1);
  assertReencodes(propertyList(0x0040, u64(2n ** 64n - 1n)), 'timestamp 2^64-1');
  assertReencodes(propertyList(0x0040, u64(2n ** 53n + 1n)), 'timestamp 2^53+1');
  const late = assertReencodes(propertyList(0x2000, table(entry(Buffer.from('t'), 'T', u64(2n ** 64n - 1n)))), 'a table timestamp past what a Date holds');
  assert.ok(late.headers!.t instanceof TypedValue && late.headers!.t.value === 2n ** 64n - 1n, 'kept exact');
  let deepest = table(entry(Buffer.from('n'), 'I', Buffer.alloc(4)));
  for (let i = 1; i < MAX_FIELD_NESTING; i++) deepest = table(entry(Buffer.from('n'), 'F', deepest));
  assertReencodes(propertyList(0x2000, deepest), `${MAX_FIELD_NESTING} nested tables`);
  const mixed = [
    entry(Buffer.from('s'), 'S', Buffer.concat([Buffer.from([0, 0, 1, 0]), Buffer.alloc(256, 0xc3)])),
    entry(Buffer.from('i'), 'i', Buffer.from([0xff, 0xff, 0xff, 0xff])),
    entry(Buffer.from('f'), 'f', Buffer.from([0x7f, 0xc0, 0, 0])),
    entry(Buffer.from('D'), 'D', Buffer.from([255, 0xff, 0xff, 0xff, 0xff])),
    entry(Buffer.from('l'), 'l', Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0])),
    entry(Buffer.from('A'), 'A', Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('V'), Buffer.from('V')])),
  ];
  assertReencodes(propertyList(0x2000, table(...mixed)), 'every field type at its edge');
});

test('what the decoder reads encodes again: random and mutated property lists', () => {
  const rng = new Prng(SEED + 1);
  const make = new ValueMaker(rng);
  let decoded = 0;
  for (let i = 0; i < 10_000; i++) {
    let p = make.properties();
    if (propertiesProblem(p) !== null) p = { headers: make.table(0, 3), messageId: make.string(80), timestamp: rng.int(0, 2 ** 31) };
    if (propertiesProblem(p) !== null) continue;
    const w = new ByteWriter(64);
    encodeProperties(w, p);
    const bytes = w.toBuffer();
    // flip a few bytes: most mutations make it undecodable, some make odd but valid input
    for (let k = rng.int(0, 3); k > 0 && bytes.length > 2; k--) bytes[rng.int(2, bytes.length - 1)] = rng.pick([0x00, 0xff, 0x80, 0xc3, rng.int(0, 255)]);
    let value: MessageProperties;
    try {
      value = decodeProperties(bytes);
    } catch {
      continue;
    }
    decoded++;
    assert.equal(propertiesProblem(value), null, `case ${i}: decoded properties pass the rule`);
    assert.ok(encodes(value), `case ${i}: decoded properties encode again`);
  }
  assert.ok(decoded > 3_000, `enough inputs decoded (${decoded})`);
});
