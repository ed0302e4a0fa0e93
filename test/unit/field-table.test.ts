import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  ByteReader,
  ByteWriter,
  Decimal,
  DecodeError,
  FieldTable,
  FieldValue,
  MAX_FIELD_NESTING,
  TypedValue,
  decodeFieldArray,
  decodeFieldTable,
  encodeFieldArray,
  encodeFieldTable,
} from '../../libs/core/src/encoding/index';

// amqplib's own field-table codec, loaded by path (its package.json does not export lib/*).
interface AmqplibCodec {
  encodeTable(buffer: Buffer, value: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
}
const requireHere = createRequire(__filename);
const amqplibDir = path.dirname(requireHere.resolve('amqplib')) // .../amqplib/channel_api.js;
const amqplib = requireHere(path.join(amqplibDir, 'lib', 'codec.js')) as AmqplibCodec;

function encodeTable(t: FieldTable | undefined): Buffer {
  const w = new ByteWriter(8);
  encodeFieldTable(w, t);
  return w.toBuffer();
}

function decodeTable(buf: Buffer): FieldTable {
  const r = new ByteReader(buf);
  const t = decodeFieldTable(r);
  assert.equal(r.remaining, 0, 'table decode consumed everything');
  return t;
}

function roundTrip(t: FieldTable): FieldTable {
  return decodeTable(encodeTable(t));
}

/** Encodes with amqplib; returns just the table bytes (length prefix included). */
function amqplibEncode(value: unknown): Buffer {
  const buf = Buffer.alloc(65536);
  const n = amqplib.encodeTable(buf, value, 0);
  return buf.subarray(0, n);
}

/** Decodes our table bytes with amqplib. */
function amqplibDecode(buf: Buffer): Record<string, unknown> {
  const len = buf.readUInt32BE(0);
  assert.equal(len + 4, buf.length);
  return amqplib.decodeFields(buf.subarray(4));
}

// A table exercising every type we can infer from plain JS values.
function sampleTable(): FieldTable {
  return {
    bool_t: true,
    bool_f: false,
    int: 42,
    neg: -7,
    int32max: 2147483647,
    int32min: -2147483648,
    big: 2 ** 40 + 3,
    negBig: -(2 ** 45) - 1,
    safeMax: Number.MAX_SAFE_INTEGER,
    huge: 2n ** 62n + 1n,
    hugeNeg: -(2n ** 63n),
    double: 3.25,
    negDouble: -1e-9,
    str: 'hello',
    unicode: 'zürich ✓ 日本',
    empty: '',
    long: 'x'.repeat(70000),
    bytes: Buffer.from([0, 1, 2, 0xfe, 0xff]),
    emptyBytes: Buffer.alloc(0),
    when: new Date(1700000000 * 1000),
    dec: new Decimal(2, 12345),
    nothing: null,
    list: [1, 'two', false, null, [3, [4]], { inner: 'x' }, 2.5, Buffer.from('b')],
    emptyList: [],
    nested: { a: { b: { c: { d: 'deep', e: [] } } }, n: 1 },
    emptyTable: {},
  };
}

test('ByteWriter writes big-endian integers at their boundaries and validates ranges', () => {
  const w = new ByteWriter(1); // forces growth
  w.u8(0).u8(255).u16(0xbeef).u32(0xdeadbeef).u64(2 ** 53 - 1).u64(2n ** 64n - 1n);
  w.i8(-128).i16(-2).i32(-2147483648).i64(-1).i64(-(2 ** 53) + 1).i64(-(2n ** 63n)).f32(1.5).f64(-0.1);
  const b = w.toBuffer();
  const expect = Buffer.alloc(b.length);
  let o = 0;
  o = expect.writeUInt8(0, o);
  o = expect.writeUInt8(255, o);
  o = expect.writeUInt16BE(0xbeef, o);
  o = expect.writeUInt32BE(0xdeadbeef, o);
  o = expect.writeBigUInt64BE(2n ** 53n - 1n, o);
  o = expect.writeBigUInt64BE(2n ** 64n - 1n, o);
  o = expect.writeInt8(-128, o);
  o = expect.writeInt16BE(-2, o);
  o = expect.writeInt32BE(-2147483648, o);
  o = expect.writeBigInt64BE(-1n, o);
  o = expect.writeBigInt64BE(-(2n ** 53n) + 1n, o);
  o = expect.writeBigInt64BE(-(2n ** 63n), o);
  o = expect.writeFloatBE(1.5, o);
  o = expect.writeDoubleBE(-0.1, o);
  assert.equal(o, b.length);
  assert.deepEqual(b, expect);

  const r = new ByteReader(b);
  assert.equal(r.u8(), 0);
  assert.equal(r.u8(), 255);
  assert.equal(r.u16(), 0xbeef);
  assert.equal(r.u32(), 0xdeadbeef);
  assert.equal(r.u64(), 2 ** 53 - 1);
  assert.equal(r.u64Big(), 2n ** 64n - 1n);
  assert.equal(r.i8(), -128);
  assert.equal(r.i16(), -2);
  assert.equal(r.i32(), -2147483648);
  assert.equal(r.i64(), -1);
  assert.equal(r.i64Exact(), -(2 ** 53) + 1);
  assert.equal(r.i64Exact(), -(2n ** 63n));
  assert.equal(r.f32(), 1.5);
  assert.equal(r.f64(), -0.1);
  assert.equal(r.remaining, 0);

  for (const bad of [256, -1, 1.5, NaN]) assert.throws(() => w.u8(bad), RangeError);
  assert.throws(() => w.u16(0x10000), RangeError);
  assert.throws(() => w.u32(2 ** 32), RangeError);
  assert.throws(() => w.u32(-1), RangeError);
  assert.throws(() => w.u64(-1), RangeError);
  assert.throws(() => w.u64(2 ** 53), RangeError);
  assert.throws(() => w.u64(2n ** 64n), RangeError);
  assert.throws(() => w.i8(128), RangeError);
  assert.throws(() => w.i16(-32769), RangeError);
  assert.throws(() => w.i32(2 ** 31), RangeError);
  assert.throws(() => w.i64(2 ** 60), RangeError);
  assert.throws(() => w.i64(2n ** 63n), RangeError);
});

test('ByteWriter strings, reserve/patch, reset reuse, view vs toBuffer', () => {
  const w = new ByteWriter(4);
  w.shortStr('abc').shortStr('é✓').shortStr('').longStr('héllo').longStr(Buffer.from([9, 8, 7]));
  const at = w.reserve(4);
  w.bytes(Buffer.from('xyz'));
  w.patchU32(at, 3);
  const b = w.toBuffer();
  assert.deepEqual(
    b,
    Buffer.concat([
      Buffer.from([3]),
      Buffer.from('abc'),
      Buffer.from([5]),
      Buffer.from('é✓'),
      Buffer.from([0]),
      Buffer.from([0, 0, 0, 6]),
      Buffer.from('héllo'),
      Buffer.from([0, 0, 0, 3, 9, 8, 7]),
      Buffer.from([0, 0, 0, 3]),
      Buffer.from('xyz'),
    ]),
  );
  const r = new ByteReader(b);
  assert.equal(r.shortStr(), 'abc');
  assert.equal(r.shortStr(), 'é✓');
  assert.equal(r.shortStr(), '');
  assert.equal(r.longStrUtf8(), 'héllo');
  assert.deepEqual(r.longStr(), Buffer.from([9, 8, 7]));
  assert.deepEqual(r.longStr(), Buffer.from('xyz'));

  assert.equal(w.shortStr('a'.repeat(255)).length > 255, true);
  assert.throws(() => w.shortStr('a'.repeat(256)), RangeError);
  assert.throws(() => w.shortStr('é'.repeat(128)), RangeError); // 256 bytes in UTF-8
  assert.throws(() => w.patchU32(w.length - 2, 1), RangeError);

  const view = w.view();
  const copy = w.toBuffer();
  assert.deepEqual(view, copy);
  const cap = w.capacity;
  w.reset();
  assert.equal(w.length, 0);
  assert.equal(w.capacity, cap, 'reset keeps the buffer');
  w.u8(0x77);
  assert.equal(view[0], 0x77, 'view aliases the backing buffer');
  assert.notEqual(copy[0], 0x77, 'toBuffer copies');
});

test('ByteWriter.take hands over its own memory without a copy, and the result can be transferred', () => {
  const big = new ByteWriter(8192);
  big.bytes(Buffer.alloc(5000, 7));
  const backing = (big as unknown as { buf: Buffer }).buf;
  const taken = big.take();
  assert.equal(taken.length, 5000);
  assert.equal(taken.buffer, backing.buffer, 'own memory: no copy');
  assert.equal(big.length, 0);
  big.u8(1); // the writer goes on with a buffer of its own
  assert.equal(taken[0], 7);

  const small = new ByteWriter(64); // a slice of Node's pool: copied into memory of its own
  small.bytes(Buffer.from('pooled'));
  const copy = small.take();
  assert.equal(copy.toString(), 'pooled');
  assert.equal(copy.byteOffset, 0);
  assert.equal(copy.buffer.byteLength, copy.length);
  const moved = structuredClone(copy, { transfer: [copy.buffer as ArrayBuffer] });
  assert.equal(Buffer.from(moved).toString(), 'pooled');
  assert.equal(copy.length, 0, 'transferred (detached here)');
});

test('ByteWriter/ByteReader little-endian and raw utf8 helpers', () => {
  const w = new ByteWriter();
  w.u16le(0x1234).u32le(0xfedcba98).f64le(Math.PI).utf8('grüß').utf8('ab', 2);
  const b = w.toBuffer();
  assert.equal(b.readUInt16LE(0), 0x1234);
  assert.equal(b.readUInt32LE(2), 0xfedcba98);
  assert.equal(b.readDoubleLE(6), Math.PI);
  const r = new ByteReader(b);
  assert.equal(r.u16le(), 0x1234);
  assert.equal(r.u32le(), 0xfedcba98);
  assert.equal(r.f64le(), Math.PI);
  assert.equal(r.utf8(Buffer.byteLength('grüß')), 'grüß');
  assert.equal(r.utf8(2), 'ab');
  assert.throws(() => w.utf8('é', 1), RangeError);
});

test('ByteReader throws DecodeError naming what it was reading, honouring end', () => {
  const buf = Buffer.from([0, 5, 1, 2, 3, 0xaa, 0xbb]);
  const r = new ByteReader(buf, 0, 5);
  assert.equal(r.u16(), 5);
  assert.equal(r.pos, 2);
  assert.equal(r.remaining, 3);
  assert.throws(
    () => r.u32('queue.declare arguments length'),
    (e: unknown) => e instanceof DecodeError && /queue\.declare arguments length/.test(e.message) && e.name === 'DecodeError',
  );
  assert.equal(r.pos, 2, 'a failed read does not move');
  const s = new ByteReader(Buffer.from([10, 0x61, 0x62]));
  assert.throws(() => s.shortStr('routing key'), /routing key/);
  assert.throws(() => new ByteReader(buf, 3, 99), RangeError);
  const l = new ByteReader(Buffer.from([0, 0, 0, 9, 1]));
  assert.throws(() => l.longStr(), DecodeError);
});

test('field table round-trips every inferred type', () => {
  const input = sampleTable();
  const out = roundTrip(input);
  assert.deepEqual(out, input);
  // Types as documented.
  assert.equal(typeof out.huge, 'bigint');
  assert.equal(typeof out.hugeNeg, 'bigint');
  assert.equal(typeof out.safeMax, 'number');
  assert.ok(out.when instanceof Date);
  assert.ok(out.dec instanceof Decimal);
  assert.ok(Buffer.isBuffer(out.bytes));
});

test('field table encoding picks RabbitMQ type codes', () => {
  const codeOf = (v: FieldValue): string => {
    const b = encodeTable({ k: v });
    return String.fromCharCode(b[4 + 2]!); // u32 len, u8 key len, 'k', type
  };
  assert.equal(codeOf(true), 't');
  assert.equal(codeOf(1), 'I');
  assert.equal(codeOf(-2147483648), 'I');
  assert.equal(codeOf(2147483648), 'l');
  assert.equal(codeOf(2 ** 60), 'l');
  assert.equal(codeOf(2 ** 64), 'd');
  assert.equal(codeOf(0.5), 'd');
  assert.equal(codeOf(Infinity), 'd');
  assert.equal(codeOf(5n), 'l');
  assert.equal(codeOf('s'), 'S');
  assert.equal(codeOf(Buffer.alloc(1)), 'x');
  assert.equal(codeOf(new Date(0)), 'T');
  assert.equal(codeOf(new Decimal(1, 1)), 'D');
  assert.equal(codeOf([]), 'A');
  assert.equal(codeOf({}), 'F');
  assert.equal(codeOf(null), 'V');
  // Exact bytes of a small table.
  assert.deepEqual(
    encodeTable({ a: 1, b: 'hi' }),
    Buffer.from([0, 0, 0, 16, 1, 0x61, 0x49, 0, 0, 0, 1, 1, 0x62, 0x53, 0, 0, 0, 2, 0x68, 0x69]),
  );
  assert.deepEqual(encodeTable(undefined), Buffer.from([0, 0, 0, 0]));
  // 2^60 is an exact integer beyond 2^53: encoded as int64 without loss, decoded as a bigint.
  assert.equal(roundTrip({ v: 2 ** 60 }).v, 2n ** 60n);
  // Undefined table entries are omitted; undefined array elements become void.
  assert.deepEqual(roundTrip({ a: undefined, b: [undefined] }), { b: [null] });
});

test('TypedValue selects every wire type explicitly', () => {
  const cases: Array<[TypedValue, string, FieldValue]> = [
    [new TypedValue('t', true), 't', true],
    [new TypedValue('b', -5), 'b', -5],
    [new TypedValue('B', 200), 'B', 200],
    [new TypedValue('s', -300), 's', -300],
    [new TypedValue('u', 65535), 'u', 65535],
    [new TypedValue('I', 7), 'I', 7],
    [new TypedValue('i', 4294967295), 'i', 4294967295],
    [new TypedValue('l', 3), 'l', 3],
    [new TypedValue('l', 2n ** 63n - 1n), 'l', 2n ** 63n - 1n],
    [new TypedValue('f', 0.5), 'f', 0.5],
    [new TypedValue('d', 1), 'd', 1],
    [new TypedValue('D', new Decimal(3, 1)), 'D', new Decimal(3, 1)],
    [new TypedValue('S', Buffer.from('raw')), 'S', 'raw'],
    [new TypedValue('x', 'text'), 'x', Buffer.from('text')],
    [new TypedValue('T', 1234567890), 'T', new Date(1234567890000)],
    [new TypedValue('A', [1]), 'A', [1]],
    [new TypedValue('F', { z: 1 }), 'F', { z: 1 }],
    [new TypedValue('V', null), 'V', null],
  ];
  for (const [tv, code, decoded] of cases) {
    const b = encodeTable({ k: tv });
    assert.equal(String.fromCharCode(b[6]!), code, `type code for ${code}`);
    assert.deepEqual(decodeTable(b).k, decoded, `value for ${code}`);
  }
  assert.throws(() => encodeTable({ k: new TypedValue('B', 256) }), RangeError);
  assert.throws(() => encodeTable({ k: new TypedValue('b', 'x') }), TypeError);
  assert.throws(() => encodeTable({ k: new TypedValue('D', 1) }), TypeError);
});

test('field arrays round-trip on their own', () => {
  const w = new ByteWriter();
  const arr: FieldValue[] = [1, 'a', [true, null], { t: new Date(0) }, 2n ** 60n];
  encodeFieldArray(w, arr);
  const r = new ByteReader(w.toBuffer());
  assert.deepEqual(decodeFieldArray(r), arr);
  assert.equal(r.remaining, 0);
});

test('truncated field tables throw DecodeError at every cut point', () => {
  const full = encodeTable({
    s: 'string',
    n: 1,
    l: 2n ** 60n,
    d: 1.5,
    x: Buffer.from([1, 2]),
    a: [1, [2], { q: 'r' }],
    f: { g: { h: true } },
    dec: new Decimal(1, 2),
    t: new Date(0),
    v: null,
  });
  for (let cut = 0; cut < full.length; cut++) {
    // Both with the outer length intact (inner data ends early) and with the buffer cut short.
    assert.throws(() => decodeTable(full.subarray(0, cut)), DecodeError, `cut at ${cut}`);
  }
  for (let cut = 4; cut < full.length; cut++) {
    const patched = Buffer.from(full.subarray(0, cut));
    patched.writeUInt32BE(cut - 4, 0); // self-consistent outer length, truncated entry inside
    try {
      decodeTable(patched);
      // A cut exactly between entries is a valid shorter table.
    } catch (e) {
      assert.ok(e instanceof DecodeError, `cut at ${cut}: ${String(e)}`);
    }
  }
});

test('malformed field tables: unknown type code, bad lengths, pathological nesting, __proto__', () => {
  const unknown = Buffer.from([0, 0, 0, 3, 1, 0x6b, 0x5a]); // key 'k', type 'Z'
  assert.throws(() => decodeTable(unknown), (e: unknown) => e instanceof DecodeError && /'Z'/.test(e.message));
  // 's' is int16 in RabbitMQ's dialect, never a short string.
  assert.deepEqual(decodeTable(Buffer.from([0, 0, 0, 5, 1, 0x6b, 0x73, 0xff, 0xfe])), { k: -2 });
  // Nested table claiming more bytes than its parent holds.
  const lying = Buffer.from([0, 0, 0, 7, 1, 0x6b, 0x46, 0, 0, 0, 9]);
  assert.throws(() => decodeTable(lying), DecodeError);

  // 150 nested arrays: A (len) A (len) ... rejected on decode, not a stack overflow.
  const depth = 150;
  const parts: Buffer[] = [];
  for (let i = 0; i < depth; i++) {
    const len = (depth - i - 1) * 5;
    parts.push(Buffer.from([0x41, len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff]));
  }
  const body = Buffer.concat([Buffer.from([1, 0x6b]), ...parts]);
  const deep = Buffer.concat([Buffer.from([0, 0, (body.length >>> 8) & 0xff, body.length & 0xff]), body]);
  assert.throws(() => decodeTable(deep), (e: unknown) => e instanceof DecodeError && /nested/.test(e.message));
  let nested: FieldValue = 1;
  for (let i = 0; i < MAX_FIELD_NESTING + 1; i++) nested = [nested];
  assert.throws(() => encodeTable({ k: nested }), RangeError);
  let ok: FieldValue = 1;
  for (let i = 0; i < MAX_FIELD_NESTING - 2; i++) ok = [ok];
  assert.deepEqual(roundTrip({ k: ok }), { k: ok });

  // A "__proto__" key is kept as data and does not change the prototype.
  const proto = encodeTable(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as FieldTable);
  const decoded = decodeTable(proto);
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.deepEqual(Object.keys(decoded), ['__proto__', 'a']);
  assert.equal((decoded as { polluted?: boolean }).polluted, undefined);
});

test('cross-check: tables we encode decode identically in amqplib', () => {
  const ours = encodeTable({
    str: 'hello ✓',
    int: 42,
    neg: -100000,
    big: 2 ** 40,
    dbl: 2.5,
    yes: true,
    nil: null,
    bin: Buffer.from([1, 2, 3]),
    arr: [1, 'a', [false]],
    tbl: { x: { y: 'z' } },
    dec: new Decimal(2, 314),
    ts: new Date(1600000000000),
    i8: new TypedValue('b', -3),
    u8: new TypedValue('B', 250),
    i16: new TypedValue('s', -1000),
    u16: new TypedValue('u', 60000),
    u32: new TypedValue('i', 4000000000),
    f32: new TypedValue('f', 0.25),
  });
  assert.deepEqual(amqplibDecode(ours), {
    str: 'hello ✓',
    int: 42,
    neg: -100000,
    big: 2 ** 40,
    dbl: 2.5,
    yes: true,
    nil: null,
    bin: Buffer.from([1, 2, 3]),
    arr: [1, 'a', [false]],
    tbl: { x: { y: 'z' } },
    dec: { '!': 'decimal', value: { places: 2, digits: 314 } },
    ts: { '!': 'timestamp', value: 1600000000 },
    i8: -3,
    u8: 250,
    i16: -1000,
    u16: 60000,
    u32: 4000000000,
    f32: 0.25,
  });
});

test('cross-check: tables amqplib encodes decode identically here', () => {
  const theirs = amqplibEncode({
    str: 'hello ✓',
    byte: 5, // amqplib picks b / s / I / l by magnitude
    short: -1000,
    int: 100000,
    long: 2 ** 40,
    dbl: 0.125,
    yes: false,
    nil: null,
    bin: Buffer.from([4, 5]),
    arr: [1, 'b', { c: true }],
    tbl: { x: { y: 'z' } },
    dec: { '!': 'decimal', value: { places: 3, digits: 1500 } },
    ts: { '!': 'timestamp', value: 1600000000 },
    f32: { '!': 'float', value: 1.5 },
    u8: { '!': 'uint8', value: 255 },
    u16: { '!': 'uint16', value: 65535 },
    u32: { '!': 'uint32', value: 4294967295 },
    i64: { '!': 'int64', value: -5 },
    empty: {},
    'x-max-priority': 10,
  });
  assert.deepEqual(decodeTable(theirs), {
    str: 'hello ✓',
    byte: 5,
    short: -1000,
    int: 100000,
    long: 2 ** 40,
    dbl: 0.125,
    yes: false,
    nil: null,
    bin: Buffer.from([4, 5]),
    arr: [1, 'b', { c: true }],
    tbl: { x: { y: 'z' } },
    dec: new Decimal(3, 1500),
    ts: new Date(1600000000000),
    f32: 1.5,
    u8: 255,
    u16: 65535,
    u32: 4294967295,
    i64: -5,
    empty: {},
    'x-max-priority': 10,
  });
  // And byte-for-byte agreement where both sides infer the same types.
  const same = { s: 'a', n: 100000, l: 2 ** 40, d: 0.5, t: true, v: null, x: Buffer.from([1]), a: ['q'], f: { g: 'h' } };
  assert.deepEqual(encodeTable(same), amqplibEncode(same));
});
