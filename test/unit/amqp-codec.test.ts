import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  ByteReader,
  ByteWriter,
  DecodeError,
  FieldTable,
  MessageProperties,
  PropertyFlag,
  decodeHeadersAt,
  decodeProperties,
  encodeProperties,
  encodePropertiesToBuffer,
  peekProperties,
} from '../../libs/core/src/encoding/index';
import {
  AmqpConstant,
  AmqpMethod,
  ClassId,
  ContentHeader,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  FrameParser,
  METHOD_INFO,
  MethodId,
  ReplyCode,
  UnknownMethodError,
  decodeBasicPublish,
  decodeConnectionBlocked,
  decodeConnectionUpdateSecret,
  decodeContentHeader,
  decodeMethod,
  encodeBasicAckFrame,
  encodeBasicDeliverFrame,
  encodeBasicGetOkFrame,
  encodeBodyFrames,
  encodeConnectionBlockedFrame,
  encodeConnectionUnblockedFrame,
  encodeConnectionUpdateSecretFrame,
  encodeConnectionUpdateSecretOkFrame,
  encodeContent,
  encodeContentHeaderFrame,
  encodeMethodFrame,
  isHardError,
  methodHasContent,
  methodInfo,
  methodName,
} from '../../libs/amqp/src/codec/index';

// ---------------------------------------------------------------------------------------------
// Helpers

const repoRoot = path.resolve(__dirname, '..', '..', '..'); // dist/test/unit -> repo

interface SpecField {
  name: string;
  prop: string;
  type: string;
  reserved: boolean;
}
interface SpecMethod {
  className: string;
  classIndex: number;
  name: string;
  index: number;
  synchronous: boolean;
  content: boolean;
  extension: boolean;
  server: boolean;
  client: boolean;
  responses: string[];
  fields: SpecField[];
}
interface Spec {
  classes: Array<{ name: string; index: number; properties: Array<{ name: string; type: string }>; methods: SpecMethod[] }>;
}
interface Generator {
  generate(xml: string, extensionsXml?: string): string;
  loadSpec(xml: string, extensionsXml?: string): Spec;
  readInputs(): { specXml: string; extensionsXml: string };
  SPEC_REL: string;
  EXTENSIONS_REL: string;
  OUT_REL: string;
}
const requireHere = createRequire(__filename);
const generator = requireHere(path.join(repoRoot, 'scripts', 'generate-amqp-codec.js')) as Generator;
const { specXml, extensionsXml } = generator.readInputs();
assert.equal(specXml, readFileSync(path.join(repoRoot, generator.SPEC_REL), 'utf8'));
assert.equal(extensionsXml, readFileSync(path.join(repoRoot, generator.EXTENSIONS_REL), 'utf8'));
/** The main spec with RabbitMQ's extension methods merged in (what the generated file is built from). */
const spec = generator.loadSpec(specXml, extensionsXml);
const specMethods: SpecMethod[] = spec.classes.flatMap((c) => c.methods);

interface AmqplibArg {
  name: string;
  type: string;
}
interface AmqplibDefs {
  info(id: number): { id: number; name: string; args: AmqplibArg[] };
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
}
const amqplibDir = path.dirname(requireHere.resolve('amqplib')); // .../amqplib/channel_api.js
const defs = requireHere(path.join(amqplibDir, 'lib', 'defs.js')) as AmqplibDefs;

type Args = Record<string, unknown>;

function idOf(m: SpecMethod): number {
  return m.classIndex * 65536 + m.index;
}

/** Non-default values of each domain type; `seed` varies them between fields. */
function sampleValue(type: string, seed: number): unknown {
  switch (type) {
    case 'bit':
      return true;
    case 'octet':
      return 0xa0 + seed;
    case 'short':
      return 0xfe00 + seed;
    case 'long':
      return 0xfedcba00 + seed;
    case 'longlong':
      return 2 ** 53 - 1 - seed;
    case 'timestamp':
      return 1700000000 + seed;
    case 'shortstr':
      return `käse.${seed}-✓`;
    case 'longstr':
      return Buffer.from(`\u0000user\u0000pässwort${seed}`);
    case 'table':
      // Only value types amqplib and we infer identically, so bytes can be compared too.
      return { s: `v${seed}`, yes: true, nested: { deep: 'x', list: ['a', false] }, nil: null };
    default:
      throw new Error(`no sample for ${type}`);
  }
}

function sampleArgs(m: SpecMethod): Args {
  const args: Args = {};
  m.fields.forEach((f, i) => {
    if (!f.reserved) args[f.prop] = sampleValue(f.type, i);
  });
  return args;
}

function asMethod(id: number, args: Args): AmqpMethod {
  return { id, args } as unknown as AmqpMethod;
}

/** Encodes a method frame and parses it back through the FrameParser. */
function frameOf(method: AmqpMethod, channel = 7): Buffer {
  const w = new ByteWriter(16);
  encodeMethodFrame(w, channel, method);
  return w.toBuffer();
}

function parseFrames(bytes: Buffer, frameMax = 0): Array<{ type: number; channel: number; payload: Buffer }> {
  const out: Array<{ type: number; channel: number; payload: Buffer }> = [];
  const p = new FrameParser((type, channel, payload) => out.push({ type, channel, payload: Buffer.from(payload) }), frameMax);
  p.push(bytes);
  assert.equal(p.buffered, 0, 'no partial frame left');
  return out;
}

/** Our args -> amqplib field object (positional: the same XML field order; reserved -> defaults). */
function toAmqplibFields(m: SpecMethod, args: Args): Record<string, unknown> {
  const info = defs.info(idOf(m));
  assert.equal(info.args.length, m.fields.length, `${m.className}.${m.name}: field count vs amqplib`);
  const fields: Record<string, unknown> = {};
  m.fields.forEach((f, i) => {
    const theirs = info.args[i]!;
    assert.equal(theirs.type, f.type, `${m.className}.${m.name} field ${f.name} type vs amqplib`);
    if (f.reserved) {
      fields[theirs.name] = f.type === 'bit' ? false : f.type === 'longstr' ? Buffer.alloc(0) : f.type === 'shortstr' ? '' : 0;
    } else {
      fields[theirs.name] = args[f.prop];
    }
  });
  return fields;
}

/** amqplib decoded fields -> our args shape (drops reserved fields). */
function fromAmqplibFields(m: SpecMethod, fields: Record<string, unknown>): Args {
  const info = defs.info(idOf(m));
  const args: Args = {};
  m.fields.forEach((f, i) => {
    if (!f.reserved) args[f.prop] = fields[info.args[i]!.name];
  });
  return args;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generated file and spec

test('regenerating methods.generated.ts from the spec produces the committed file', () => {
  const committed = readFileSync(path.join(repoRoot, generator.OUT_REL), 'utf8');
  const fresh = generator.generate(specXml, extensionsXml);
  assert.ok(committed.startsWith('// GENERATED by scripts/generate-amqp-codec.js from libs/amqp/spec/'));
  const banner = committed.slice(0, committed.indexOf('/* eslint-disable */'));
  assert.ok(banner.includes(generator.SPEC_REL) && banner.includes(generator.EXTENSIONS_REL), 'banner names both inputs');
  assert.equal(fresh, committed, 'run `npm run gen:amqp` and commit the result');
});

test('RabbitMQ extensions are merged into the spec classes; the spec XML alone lacks them', () => {
  const mainOnly = generator.loadSpec(specXml).classes.flatMap((c) => c.methods);
  assert.equal(mainOnly.length, 60);
  assert.ok(mainOnly.every((m) => !m.extension));
  const extensions = specMethods.filter((m) => m.extension);
  assert.deepEqual(
    extensions.map((m) => `${m.className}.${m.name} ${m.classIndex}/${m.index}`),
    ['connection.blocked 10/60', 'connection.unblocked 10/61', 'connection.update-secret 10/70', 'connection.update-secret-ok 10/71'],
  );
  // Appended after the class's own methods, before the next class.
  const names = specMethods.map((m) => `${m.className}.${m.name}`);
  assert.equal(names.indexOf('connection.blocked'), names.indexOf('connection.close-ok') + 1);
  assert.equal(names.indexOf('channel.open'), names.indexOf('connection.update-secret-ok') + 1);
  // Merge errors: unknown class, class index mismatch, method name or index clash, constants.
  const ext = (body: string): string => `<?xml version="1.0"?><!-- test --><amqp major="0" minor="9" revision="1">${body}</amqp>`;
  const method = '<method name="x" index="99"><chassis name="client" implement="MAY"/></method>';
  assert.throws(() => generator.loadSpec(specXml, ext(`<class name="nope" index="99">${method}</class>`)), /class nope is not in the main spec/);
  assert.throws(() => generator.loadSpec(specXml, ext(`<class name="connection" index="11">${method}</class>`)), /index 11, main spec says 10/);
  assert.throws(
    () => generator.loadSpec(specXml, ext('<class name="connection" index="10"><method name="close" index="98"/></class>')),
    /connection\.close \(98\) clashes with connection\.close \(50\)/,
  );
  assert.throws(
    () => generator.loadSpec(specXml, ext('<class name="connection" index="10"><method name="tune2" index="30"/></class>')),
    /clashes with connection\.tune \(30\)/,
  );
  assert.throws(() => generator.loadSpec(specXml, ext('<constant name="x" value="1"/>')), /<constant> is not supported/);
  assert.throws(
    () => generator.loadSpec(specXml, '<amqp major="0" minor="8" revision="0"></amqp>'),
    /version 0-8-0, main spec is 0-9-1/,
  );
  // Extension fields may use the main spec's domains.
  const merged = generator.loadSpec(
    specXml,
    ext('<class name="connection" index="10"><method name="x" index="99"><field name="vhost" domain="path"/></method></class>'),
  );
  const x = merged.classes[0]!.methods.find((m) => m.name === 'x');
  assert.deepEqual(x?.fields, [{ name: 'vhost', prop: 'vhost', type: 'shortstr', reserved: false }]);
});

test('generated tables agree with the spec', () => {
  assert.equal(specMethods.length, 64, '60 from the spec XML + 4 RabbitMQ extensions');
  assert.equal(METHOD_INFO.size, specMethods.length);
  for (const m of specMethods) {
    const info = methodInfo(m.classIndex, m.index);
    assert.ok(info, `${m.className}.${m.name}`);
    assert.equal(info.name, `${m.className}.${m.name}`);
    assert.equal(info.id, idOf(m));
    assert.equal(info.content, m.content);
    assert.equal(methodHasContent(idOf(m)), m.content);
    assert.equal(info.synchronous, m.synchronous);
    assert.equal(info.responses.length, m.responses.length);
    assert.equal(info.serverReceives, m.server, `${info.name} serverReceives`);
    assert.equal(info.clientReceives, m.client, `${info.name} clientReceives`);
  }
  assert.equal(MethodId.BasicPublish, (60 << 16) | 40);
  assert.equal(ClassId.Confirm, 85);
  assert.equal(methodName(60, 40), 'basic.publish');
  assert.equal(methodName(60, 99), 'unknown method basic/99');
  assert.equal(methodName(70, 10), 'unknown class 70 method 10');
  assert.deepEqual(
    [...METHOD_INFO.values()].filter((i) => i.content).map((i) => i.name),
    ['basic.publish', 'basic.return', 'basic.deliver', 'basic.get-ok'],
  );
  assert.deepEqual(methodInfo(60, 70)?.responses, [MethodId.BasicGetOk, MethodId.BasicGetEmpty]);
  assert.equal(methodInfo(60, 40)?.serverReceives, true);
  assert.equal(methodInfo(60, 60)?.serverReceives, false);
  assert.equal(methodInfo(60, 80)?.clientReceives, true, 'extended spec: server may send basic.ack');
  // Frame constants and reply codes.
  assert.equal(AmqpConstant.FrameMethod, FRAME_METHOD);
  assert.equal(AmqpConstant.FrameHeader, FRAME_HEADER);
  assert.equal(AmqpConstant.FrameBody, FRAME_BODY);
  assert.equal(AmqpConstant.FrameHeartbeat, FRAME_HEARTBEAT);
  assert.equal(AmqpConstant.FrameEnd, FRAME_END);
  assert.equal(AmqpConstant.FrameMinSize, FRAME_MIN_SIZE);
  assert.equal(ReplyCode.NotImplemented, 540);
  assert.equal(ReplyCode.NoRoute, 312);
  assert.equal(isHardError(ReplyCode.FrameError), true);
  assert.equal(isHardError(ReplyCode.NotFound), false);
  // The hand-written property codec follows the spec's basic class field order.
  const basic = spec.classes.find((c) => c.name === 'basic');
  assert.ok(basic);
  const flagNames = Object.keys(PropertyFlag).filter((k) => k !== 'Continuation');
  assert.deepEqual(
    basic.properties.map((p) => (p.name === 'reserved' ? 'ClusterId' : p.name.replace(/(^|-)([a-z])/g, (_, _d: string, c: string) => c.toUpperCase()))),
    flagNames,
  );
  flagNames.forEach((name, i) => assert.equal(PropertyFlag[name as keyof typeof PropertyFlag], 0x8000 >>> i));
});

// ---------------------------------------------------------------------------------------------
// Methods

test('every method round-trips through encodeMethodFrame, FrameParser and decodeMethod', () => {
  for (const m of specMethods) {
    const args = sampleArgs(m);
    const bytes = frameOf(asMethod(idOf(m), args), 513);
    const frames = parseFrames(bytes);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.type, FRAME_METHOD);
    assert.equal(frames[0]!.channel, 513);
    const decoded = decodeMethod(frames[0]!.payload);
    assert.equal(decoded.id, idOf(m), `${m.className}.${m.name}`);
    assert.deepEqual(decoded.args, args, `${m.className}.${m.name}`);
  }
});

test('bits are packed in order, each in its own position, 8 per octet', () => {
  for (const m of specMethods) {
    const bits = m.fields.filter((f) => f.type === 'bit' && !f.reserved);
    for (const only of bits) {
      const args = sampleArgs(m);
      for (const b of bits) args[b.prop] = b === only;
      const decoded = decodeMethod(parseFrames(frameOf(asMethod(idOf(m), args)))[0]!.payload);
      assert.deepEqual(decoded.args, args, `${m.className}.${m.name} with only ${only.name} set`);
    }
  }
  // queue.declare: five consecutive bits share one octet.
  const w = new ByteWriter();
  encodeMethodFrame(w, 1, {
    id: MethodId.QueueDeclare,
    args: { queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, noWait: true, arguments: {} },
  });
  const b = w.toBuffer();
  // header 7 + ids 4 + reserved short 2 + "q" 2 = offset 15 holds the bits.
  assert.equal(b[15], 0b11010);
  assert.deepEqual(b.subarray(16, 20), Buffer.from([0, 0, 0, 0]));
});

test('cross-check: every method encodes byte-identically to amqplib and decodes both ways', () => {
  for (const m of specMethods) {
    const id = idOf(m);
    const args = sampleArgs(m);
    const ours = frameOf(asMethod(id, args), 3);
    const theirs = defs.encodeMethod(id, 3, toAmqplibFields(m, args));
    assert.deepEqual(ours, theirs, `${m.className}.${m.name} bytes`);
    // amqplib decodes our payload (after class/method ids)...
    const payload = ours.subarray(7, ours.length - 1);
    assert.deepEqual(fromAmqplibFields(m, defs.decode(id, payload.subarray(4))), args, `amqplib decodes ${m.name}`);
    // ...and we decode theirs.
    assert.deepEqual(decodeMethod(theirs, 7, theirs.length - 1).args, args, `we decode amqplib ${m.name}`);
  }
});

test('cross-check with amqplib: handshake and hot-path methods with realistic values', () => {
  const cases: AmqpMethod[] = [
    {
      id: MethodId.ConnectionStart,
      args: {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: {
          product: 'unified-broker',
          version: '0.1.0',
          capabilities: { publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true },
        },
        mechanisms: Buffer.from('PLAIN AMQPLAIN'),
        locales: Buffer.from('en_US'),
      },
    },
    { id: MethodId.ConnectionTune, args: { channelMax: 2047, frameMax: 131072, heartbeat: 60 } },
    { id: MethodId.ConnectionTuneOk, args: { channelMax: 0, frameMax: 4096, heartbeat: 0 } },
    { id: MethodId.BasicPublish, args: { exchange: 'amq.topic', routingKey: 'a.b.c', mandatory: true, immediate: false } },
    { id: MethodId.BasicPublish, args: { exchange: '', routingKey: '', mandatory: false, immediate: false } },
    {
      id: MethodId.BasicDeliver,
      args: { consumerTag: 'amq.ctag-XYZ', deliveryTag: 123456789012, redelivered: true, exchange: 'ex', routingKey: 'rk' },
    },
    {
      id: MethodId.BasicConsume,
      args: {
        queue: 'jobs',
        consumerTag: '',
        noLocal: false,
        noAck: true,
        exclusive: true,
        noWait: false,
        arguments: { 'x-priority': 'high', 'x-cancel-on-ha-failover': true, opts: { a: 'b' } },
      },
    },
    {
      id: MethodId.QueueDeclare,
      args: {
        queue: 'orders',
        passive: false,
        durable: true,
        exclusive: false,
        autoDelete: false,
        noWait: false,
        arguments: { 'x-queue-type': 'classic', 'x-dead-letter-exchange': 'dlx' },
      },
    },
    { id: MethodId.BasicAck, args: { deliveryTag: 42, multiple: true } },
    { id: MethodId.BasicGetOk, args: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', messageCount: 99 } },
    { id: MethodId.ConnectionClose, args: { replyCode: 540, replyText: 'NOT_IMPLEMENTED - nope', classId: 60, methodId: 99 } },
  ];
  for (const method of cases) {
    const m = specMethods.find((s) => idOf(s) === method.id);
    assert.ok(m);
    const args = method.args as unknown as Args;
    const ours = frameOf(method, 1);
    const theirs = defs.encodeMethod(method.id, 1, toAmqplibFields(m, args));
    assert.deepEqual(ours, theirs, `${m.className}.${m.name}`);
    assert.deepEqual(decodeMethod(theirs, 7, theirs.length - 1), method);
    assert.deepEqual(fromAmqplibFields(m, defs.decode(method.id, ours.subarray(11, ours.length - 1))), args);
  }
  // Tables with small integers: amqplib picks b/s types, we pick I; values agree both ways.
  const args = { 'x-max-priority': 10, 'x-message-ttl': 60000, 'x-expires': 1800000, 'x-max-length': 2 ** 40 };
  const theirs = defs.encodeMethod(MethodId.QueueDeclare, 1, { queue: 'p', arguments: args });
  const decoded = decodeMethod(theirs, 7, theirs.length - 1);
  assert.equal(decoded.id, MethodId.QueueDeclare);
  if (decoded.id === MethodId.QueueDeclare) assert.deepEqual(decoded.args.arguments, args);
  const ours = frameOf({
    id: MethodId.QueueDeclare,
    args: { queue: 'p', passive: false, durable: false, exclusive: false, autoDelete: false, noWait: false, arguments: args },
  });
  assert.deepEqual(defs.decode(MethodId.QueueDeclare, ours.subarray(11, ours.length - 1)).arguments, args);
});

test('RabbitMQ extensions: METHOD_INFO, round trip, typed encoders/decoders, amqplib both ways', () => {
  // Which side receives them: blocked/unblocked and update-secret-ok go to the client,
  // update-secret goes to the server.
  const expected: Array<[number, string, boolean, boolean, boolean, readonly number[]]> = [
    // id, name, serverReceives, clientReceives, synchronous, responses
    [MethodId.ConnectionBlocked, 'connection.blocked', false, true, false, []],
    [MethodId.ConnectionUnblocked, 'connection.unblocked', false, true, false, []],
    [MethodId.ConnectionUpdateSecret, 'connection.update-secret', true, false, true, [MethodId.ConnectionUpdateSecretOk]],
    [MethodId.ConnectionUpdateSecretOk, 'connection.update-secret-ok', false, true, true, []],
  ];
  for (const [id, name, serverReceives, clientReceives, synchronous, responses] of expected) {
    const info = METHOD_INFO.get(id);
    assert.ok(info, name);
    assert.deepEqual(
      { name: info.name, classId: info.classId, methodId: info.methodId, serverReceives: info.serverReceives },
      { name, classId: 10, methodId: id & 0xffff, serverReceives },
    );
    assert.equal(info.clientReceives, clientReceives, name);
    assert.equal(info.synchronous, synchronous, name);
    assert.equal(info.content, false, name);
    assert.equal(info.deprecated, false, name);
    assert.deepEqual(info.responses, responses, name);
    assert.equal(methodName(10, id & 0xffff), name);
    // Same numeric ids as amqplib.
    assert.equal(defs.info(id).id, id, name);
  }
  assert.equal(MethodId.ConnectionBlocked, (10 << 16) | 60);
  assert.equal(MethodId.ConnectionUnblocked, (10 << 16) | 61);
  assert.equal(MethodId.ConnectionUpdateSecret, (10 << 16) | 70);
  assert.equal(MethodId.ConnectionUpdateSecretOk, (10 << 16) | 71);

  const cases: AmqpMethod[] = [
    { id: MethodId.ConnectionBlocked, args: { reason: 'low on memory' } },
    { id: MethodId.ConnectionBlocked, args: { reason: '' } },
    { id: MethodId.ConnectionBlocked, args: { reason: 'x'.repeat(255) } },
    { id: MethodId.ConnectionUnblocked, args: {} },
    { id: MethodId.ConnectionUpdateSecret, args: { newSecret: Buffer.from('eyJhbGciOiJSUzI1NiJ9.e30.sig'), reason: 'token refresh' } },
    { id: MethodId.ConnectionUpdateSecret, args: { newSecret: Buffer.alloc(0), reason: '' } },
    { id: MethodId.ConnectionUpdateSecret, args: { newSecret: Buffer.alloc(70000, 0xab), reason: 'größer ✓' } },
    { id: MethodId.ConnectionUpdateSecretOk, args: {} },
  ];
  for (const method of cases) {
    const m = specMethods.find((s) => idOf(s) === method.id);
    assert.ok(m);
    const args = method.args as unknown as Args;
    const what = `${m.className}.${m.name} ${JSON.stringify(args).slice(0, 60)}`;
    // Round trip through the frame parser, on channel 0 (connection methods use channel 0).
    const ours = frameOf(method, 0);
    const frames = parseFrames(ours);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.channel, 0);
    assert.deepEqual(decodeMethod(frames[0]!.payload), method, what);
    // amqplib encodes the same bytes, decodes ours, and we decode theirs.
    const theirs = defs.encodeMethod(method.id, 0, toAmqplibFields(m, args));
    assert.deepEqual(ours, theirs, what);
    assert.deepEqual(fromAmqplibFields(m, defs.decode(method.id, ours.subarray(11, ours.length - 1))), args, what);
    assert.deepEqual(decodeMethod(theirs, 7, theirs.length - 1), method, what);
  }

  // Typed per-method encoders write the same frames as encodeMethodFrame.
  const w1 = new ByteWriter();
  const w2 = new ByteWriter();
  encodeConnectionBlockedFrame(w1, 0, { reason: 'disk alarm' });
  encodeConnectionUnblockedFrame(w1, 0, {});
  encodeConnectionUpdateSecretFrame(w1, 0, { newSecret: Buffer.from('s3cret'), reason: 'rotate' });
  encodeConnectionUpdateSecretOkFrame(w1, 0, {});
  encodeMethodFrame(w2, 0, { id: MethodId.ConnectionBlocked, args: { reason: 'disk alarm' } });
  encodeMethodFrame(w2, 0, { id: MethodId.ConnectionUnblocked, args: {} });
  encodeMethodFrame(w2, 0, { id: MethodId.ConnectionUpdateSecret, args: { newSecret: Buffer.from('s3cret'), reason: 'rotate' } });
  encodeMethodFrame(w2, 0, { id: MethodId.ConnectionUpdateSecretOk, args: {} });
  assert.deepEqual(w1.toBuffer(), w2.toBuffer());
  const payloads = parseFrames(w1.toBuffer()).map((f) => f.payload);
  assert.deepEqual(
    payloads.map((p) => decodeMethod(p).id),
    [MethodId.ConnectionBlocked, MethodId.ConnectionUnblocked, MethodId.ConnectionUpdateSecret, MethodId.ConnectionUpdateSecretOk],
  );
  assert.deepEqual(payloads[1], Buffer.from([0, 10, 0, 61]), 'unblocked has no arguments');
  assert.deepEqual(payloads[3], Buffer.from([0, 10, 0, 71]), 'update-secret-ok has no arguments');
  // Direct argument decoders, from a reader positioned after the ids; truncation is a DecodeError.
  assert.deepEqual(decodeConnectionBlocked(new ByteReader(payloads[0]!, 4)), { reason: 'disk alarm' });
  const secret = new ByteReader(payloads[2]!, 4);
  assert.deepEqual(decodeConnectionUpdateSecret(secret), { newSecret: Buffer.from('s3cret'), reason: 'rotate' });
  assert.equal(secret.remaining, 0);
  for (let cut = 4; cut < payloads[2]!.length; cut++) {
    assert.throws(() => decodeMethod(payloads[2]!, 0, cut), DecodeError, `update-secret cut at ${cut}`);
  }
});

test('hot-path frame encoders match encodeMethodFrame', () => {
  const w1 = new ByteWriter();
  const w2 = new ByteWriter();
  const deliver = { consumerTag: 'c', deliveryTag: 7, redelivered: false, exchange: 'e', routingKey: 'r' };
  encodeBasicDeliverFrame(w1, 2, deliver);
  encodeMethodFrame(w2, 2, { id: MethodId.BasicDeliver, args: deliver });
  encodeBasicAckFrame(w1, 2, { deliveryTag: 9, multiple: false });
  encodeMethodFrame(w2, 2, { id: MethodId.BasicAck, args: { deliveryTag: 9, multiple: false } });
  const getOk = { deliveryTag: 3, redelivered: true, exchange: '', routingKey: 'q', messageCount: 0 };
  encodeBasicGetOkFrame(w1, 2, getOk);
  encodeMethodFrame(w2, 2, { id: MethodId.BasicGetOk, args: getOk });
  assert.deepEqual(w1.toBuffer(), w2.toBuffer());
  assert.equal(parseFrames(w1.toBuffer()).length, 3);
});

test('decodeMethod: unknown ids, truncated payloads, direct argument decoders', () => {
  const unknownClass = Buffer.from([0, 70, 0, 10]);
  assert.throws(
    () => decodeMethod(unknownClass),
    (e: unknown) =>
      e instanceof UnknownMethodError && e.classId === 70 && e.methodId === 10 && !e.classKnown && e.replyCode === 540,
  );
  const unknownMethod = Buffer.from([0, 60, 0, 99]);
  assert.throws(
    () => decodeMethod(unknownMethod),
    (e: unknown) => e instanceof UnknownMethodError && e.classId === 60 && e.methodId === 99 && e.classKnown && e.replyCode === 503,
  );
  const full = frameOf({
    id: MethodId.BasicConsume,
    args: { queue: 'q1', consumerTag: 'tag', noLocal: false, noAck: false, exclusive: false, noWait: false, arguments: { k: 'v' } },
  });
  const payload = full.subarray(7, full.length - 1);
  for (let cut = 0; cut < payload.length; cut++) {
    assert.throws(() => decodeMethod(payload.subarray(0, cut)), DecodeError, `cut at ${cut}`);
  }
  assert.throws(() => decodeMethod(payload, 0, payload.length - 1), /basic\.consume arguments|field table/);
  // Arguments decoders work on a reader positioned after the ids.
  const pub = frameOf({ id: MethodId.BasicPublish, args: { exchange: 'x', routingKey: 'y', mandatory: false, immediate: true } });
  const r = new ByteReader(pub, 11, pub.length - 1);
  assert.deepEqual(decodeBasicPublish(r), { exchange: 'x', routingKey: 'y', mandatory: false, immediate: true });
  assert.equal(r.remaining, 0);
});

// ---------------------------------------------------------------------------------------------
// Properties and content

function allProperties(): MessageProperties {
  return {
    contentType: 'application/json',
    contentEncoding: 'gzip',
    headers: { 'x-trace': 'abc', retry: true, nested: { hop: 'one' } },
    deliveryMode: 2,
    priority: 9,
    correlationId: 'corr-✓',
    replyTo: 'amq.rabbitmq.reply-to',
    expiration: '60000',
    messageId: 'msg-1',
    timestamp: 1700000000,
    type: 'order.created',
    userId: 'guest',
    appId: 'tests',
    clusterId: 'c1',
  };
}

test('properties: all 14 round-trip, every subset keeps its flags and order', () => {
  const all = allProperties();
  assert.deepEqual(decodeProperties(encodePropertiesToBuffer(all)), all);
  assert.deepEqual(decodeProperties(encodePropertiesToBuffer({})), {});
  assert.deepEqual(encodePropertiesToBuffer({}), Buffer.from([0, 0]));
  const keys = Object.keys(all) as Array<keyof MessageProperties>;
  keys.forEach((key, i) => {
    const one: MessageProperties = { [key]: all[key] };
    const buf = encodePropertiesToBuffer(one);
    assert.equal(buf.readUInt16BE(0), 0x8000 >>> i, `flag for ${key}`);
    assert.deepEqual(decodeProperties(buf), one, key);
    const allBut: MessageProperties = { ...all };
    delete allBut[key];
    assert.deepEqual(decodeProperties(encodePropertiesToBuffer(allBut)), allBut, `all but ${key}`);
  });
  // null means absent, like undefined.
  assert.deepEqual(
    decodeProperties(encodePropertiesToBuffer({ contentType: null, priority: 1 } as unknown as MessageProperties)),
    { priority: 1 },
  );
  // Continuation flag words are read and skipped.
  const cont = Buffer.from([0x08, 0x01, 0x00, 0x00, 5]); // priority + continuation, empty 2nd word
  assert.deepEqual(decodeProperties(cont), { priority: 5 });
  // Truncation anywhere is a DecodeError.
  const full = encodePropertiesToBuffer(all);
  for (let cut = 0; cut < full.length; cut++) {
    assert.throws(() => decodeProperties(full, 0, cut), DecodeError, `cut at ${cut}`);
    assert.throws(() => peekProperties(full, 0, cut), DecodeError, `peek cut at ${cut}`);
  }
});

test('peekProperties finds delivery mode, priority, expiration and headers cheaply', () => {
  const all = allProperties();
  const buf = Buffer.concat([Buffer.from('junk'), encodePropertiesToBuffer(all)]);
  const peek = peekProperties(buf, 4);
  assert.equal(peek.deliveryMode, 2);
  assert.equal(peek.priority, 9);
  assert.equal(peek.expiration, '60000');
  assert.equal(peek.end, buf.length);
  assert.ok(peek.headersAt > 4);
  assert.deepEqual(decodeHeadersAt(buf, peek.headersAt), all.headers);
  const reused = peekProperties(encodePropertiesToBuffer({ contentType: 'x' }), 0, undefined, peek);
  assert.equal(reused, peek);
  assert.deepEqual(
    { ...reused },
    { flags: 0x8000, deliveryMode: 0, priority: 0, expiration: undefined, headersAt: -1, end: 4 },
  );
});

test('cross-check: content header frames match amqplib byte for byte and decode both ways', () => {
  const variants: MessageProperties[] = [
    allProperties(),
    {},
    { deliveryMode: 1 },
    { headers: {}, timestamp: 0, expiration: '' },
    { contentType: 'text/plain', headers: { a: { b: ['c', true] } }, priority: 0, appId: 'a' },
  ];
  for (const props of variants) {
    const w = new ByteWriter();
    encodeContentHeaderFrame(w, 5, ClassId.Basic, 1234567, props);
    const ours = w.toBuffer();
    const theirs = defs.encodeProperties(ClassId.Basic, 5, 1234567, props as Record<string, unknown>);
    assert.deepEqual(ours, theirs, JSON.stringify(props));
    const frames = parseFrames(theirs);
    assert.equal(frames[0]!.type, FRAME_HEADER);
    const header = decodeContentHeader(frames[0]!.payload);
    assert.ok(header instanceof ContentHeader);
    assert.equal(header.classId, 60);
    assert.equal(header.weight, 0);
    assert.equal(header.bodySize, 1234567);
    assert.deepEqual(header.properties, props);
    assert.equal(header.properties, header.properties, 'decoded once and cached');
    // amqplib decodes our property list (it reports absent properties as undefined).
    assert.deepEqual(stripUndefined(defs.decode(ClassId.Basic, header.propertiesRaw)), props as Record<string, unknown>);
  }
});

test('content: raw property passthrough, body split at frameMax - 8, empty body', () => {
  const props = allProperties();
  const raw = encodePropertiesToBuffer(props);
  const w1 = new ByteWriter();
  const w2 = new ByteWriter();
  encodeContentHeaderFrame(w1, 1, 60, 10, props);
  encodeContentHeaderFrame(w2, 1, 60, 10, raw);
  assert.deepEqual(w1.toBuffer(), w2.toBuffer(), 'raw properties are copied through unchanged');

  const frameMax = 4096;
  const maxPayload = frameMax - 8;
  for (const size of [0, 1, maxPayload - 1, maxPayload, maxPayload + 1, 3 * maxPayload, 3 * maxPayload + 17]) {
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = (i * 31) & 0xff;
    const w = new ByteWriter();
    encodeContent(w, 9, raw, body, frameMax);
    const frames = parseFrames(w.toBuffer(), frameMax);
    const header = decodeContentHeader(frames[0]!.payload);
    assert.equal(header.bodySize, size);
    assert.deepEqual(header.propertiesRaw, raw);
    const bodies = frames.slice(1);
    assert.equal(bodies.length, Math.ceil(size / maxPayload), `frames for ${size}`);
    for (const f of bodies) {
      assert.equal(f.type, FRAME_BODY);
      assert.equal(f.channel, 9);
      assert.ok(f.payload.length <= maxPayload);
    }
    assert.deepEqual(Buffer.concat(bodies.map((f) => f.payload)), body);
  }
  // frameMax 0 = unlimited: one frame.
  const w = new ByteWriter();
  encodeBodyFrames(w, 1, Buffer.alloc(100000, 1), 0);
  assert.equal(parseFrames(w.toBuffer()).length, 1);
  assert.throws(() => encodeBodyFrames(new ByteWriter(), 1, Buffer.alloc(1), 8), RangeError);
  // Short header payloads are a DecodeError.
  assert.throws(() => decodeContentHeader(Buffer.alloc(13)), DecodeError);
  // Malformed property lists surface on first access.
  const bad = decodeContentHeader(Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 9]));
  assert.throws(() => bad.properties, DecodeError);
});

test('properties encode into a reused writer alongside other data', () => {
  const w = new ByteWriter(8);
  w.u8(0xaa);
  const headers: FieldTable = { k: 'v' };
  encodeProperties(w, { headers, priority: 3 });
  w.u8(0xbb);
  const b = w.toBuffer();
  assert.equal(b[0], 0xaa);
  assert.equal(b[b.length - 1], 0xbb);
  assert.deepEqual(decodeProperties(b, 1, b.length - 1), { headers, priority: 3 });
});
