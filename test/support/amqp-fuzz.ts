/**
 * Input generators for the AMQP fuzz test: random bytes, random (mostly well-enveloped) frames, and
 * mutations of a valid frame sequence. Everything is drawn from a seeded Prng so an input can be
 * rebuilt from its seed.
 */
import { ByteWriter, Decimal, encodeFieldTable, FieldTable } from '#core';
import {
  AmqpMethod,
  encodeConnectionStartOkFrame,
  encodeContent,
  encodeMethodFrame,
  MethodId,
  PROTOCOL_HEADER,
} from '../../libs/amqp/src/codec/index';
import { Prng, rawFrame } from './amqp-wire';

/** The frame_max the fuzzing connections negotiate: bounds how many bytes a partial frame can still need. */
export const FUZZ_FRAME_MAX = 4096;

/**
 * Appended after every fuzz input: completes any partial frame (at most FUZZ_FRAME_MAX bytes are
 * outstanding) with 0xCE bytes, which are also valid frame-end octets, and then continues with
 * frame headers of type 0xCE, which no server may accept. So a correct server must end up closing
 * the connection; one that keeps waiting is wedged.
 */
export const FILLER = Buffer.alloc(FUZZ_FRAME_MAX + 64, 0xce);

const KNOWN_METHODS: readonly number[] = Object.values(MethodId);

export type FuzzMode = 'pre-header' | 'pre-start-ok' | 'random-bytes' | 'random-frames' | 'mutated';

export interface FuzzInput {
  mode: FuzzMode;
  /** Bytes sent after the handshake (or instead of it, for the pre-* modes). */
  bytes: Buffer;
  /** How `bytes` is split into socket writes. */
  chunks: Buffer[];
  /** The mutations applied (for the report). */
  notes: string[];
}

function frameOf(build: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(256);
  build(w);
  return w.toBuffer();
}

const method = (channel: number, m: AmqpMethod): Buffer => frameOf((w) => encodeMethodFrame(w, channel, m));

function richTable(rng: Prng): FieldTable {
  return {
    s: 'text',
    i: rng.int(-1000, 1000),
    big: 2 ** 40 + rng.int(0, 1000),
    f: 1.5,
    t: true,
    when: new Date(1_700_000_000_000),
    dec: new Decimal(2, 12345),
    bytes: Buffer.from([1, 2, 3]),
    arr: [1, 'a', null, [true]],
    nested: { deeper: { x: 'y' } },
  };
}

/** A valid sequence of frames on channel 2 (which it opens): topology, a publish, get, ack, close. */
export function validSequence(rng: Prng, tag: string): Buffer[] {
  const ch = 2;
  const queue = `fz.q.${tag}`;
  const exchange = `fz.x.${tag}`;
  const bodyLength = rng.pick([0, 1, 100, FUZZ_FRAME_MAX - 8, FUZZ_FRAME_MAX * 2 + 17]);
  const frames: Buffer[] = [
    method(ch, { id: MethodId.ChannelOpen, args: {} }),
    method(ch, { id: MethodId.BasicQos, args: { prefetchSize: 0, prefetchCount: 10, global: rng.chance(0.5) } }),
    method(ch, {
      id: MethodId.ExchangeDeclare,
      args: { exchange, type: rng.pick(['direct', 'topic', 'fanout', 'headers']), passive: false, durable: false, autoDelete: true, internal: false, noWait: false, arguments: { 'alternate-exchange': 'amq.fanout' } },
    }),
    method(ch, {
      id: MethodId.QueueDeclare,
      args: { queue, passive: false, durable: false, exclusive: true, autoDelete: false, noWait: false, arguments: { 'x-max-length': 100, 'x-message-ttl': 60000, 'x-max-priority': 5 } },
    }),
    method(ch, { id: MethodId.QueueBind, args: { queue, exchange, routingKey: 'k', noWait: false, arguments: richTable(rng) } }),
  ];
  if (rng.chance(0.3)) frames.push(method(ch, { id: MethodId.ConfirmSelect, args: { noWait: false } }));
  else if (rng.chance(0.3)) frames.push(method(ch, { id: MethodId.TxSelect, args: {} }));
  frames.push(method(ch, { id: MethodId.BasicPublish, args: { exchange, routingKey: 'k', mandatory: rng.chance(0.5), immediate: false } }));
  const content = frameOf((w) =>
    encodeContent(
      w,
      ch,
      { contentType: 'application/octet-stream', headers: richTable(rng), deliveryMode: rng.pick([1, 2]), priority: rng.int(0, 9), messageId: 'm-1', timestamp: 1_700_000_000, expiration: '60000' },
      Buffer.alloc(bodyLength, 0x5a),
      FUZZ_FRAME_MAX,
    ),
  );
  // split the content into its frames so frame-level mutations can reorder them
  for (let off = 0; off < content.length; ) {
    const size = content.readUInt32BE(off + 3);
    frames.push(content.subarray(off, off + size + 8));
    off += size + 8;
  }
  frames.push(
    method(ch, { id: MethodId.BasicGet, args: { queue, noAck: false } }),
    method(ch, { id: MethodId.BasicAck, args: { deliveryTag: 1, multiple: false } }),
    method(ch, { id: MethodId.BasicConsume, args: { queue, consumerTag: '', noLocal: false, noAck: false, exclusive: false, noWait: false, arguments: { 'x-priority': 3 } } }),
    method(ch, { id: MethodId.BasicRecover, args: { requeue: true } }),
    method(ch, { id: MethodId.QueuePurge, args: { queue, noWait: false } }),
    method(ch, { id: MethodId.QueueDelete, args: { queue, ifUnused: false, ifEmpty: false, noWait: false } }),
    method(ch, { id: MethodId.ChannelClose, args: { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 } }),
  );
  return frames;
}

function randomFrame(rng: Prng): Buffer {
  const type = rng.pick([1, 1, 1, 1, 2, 2, 3, 3, 8, rng.int(0, 255)]);
  const channel = rng.pick([0, 1, 1, 1, 2, 3, rng.int(0, 65535)]);
  let payload: Buffer;
  if (type === 1) {
    const id = rng.chance(0.85) ? rng.pick(KNOWN_METHODS) : rng.int(0, 0xffffffff);
    payload = Buffer.concat([Buffer.from([id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]), rng.bytes(rng.int(0, 96))]);
  } else if (type === 2) {
    payload = Buffer.alloc(14 + rng.int(0, 40));
    payload.writeUInt16BE(rng.chance(0.8) ? 60 : rng.int(0, 65535), 0);
    payload.writeBigUInt64BE(rng.chance(0.7) ? BigInt(rng.int(0, 20000)) : BigInt.asUintN(64, BigInt(rng.int(0, 0xffffffff)) << 32n), 4);
    rng.bytes(payload.length - 12).copy(payload, 12);
  } else if (type === 8) {
    payload = rng.chance(0.8) ? Buffer.alloc(0) : rng.bytes(rng.int(1, 8));
  } else {
    payload = rng.bytes(rng.int(0, 300));
  }
  return rawFrame(type, channel, payload, rng.chance(0.95) ? 0xce : rng.int(0, 255));
}

/** Applies 1–3 byte- or frame-level mutations. */
function mutate(rng: Prng, frames: Buffer[], notes: string[]): Buffer {
  let list = frames.slice();
  if (rng.chance(0.4)) {
    const op = rng.pick(['drop-frame', 'dup-frame', 'swap-frames', 'random-frame'] as const);
    const a = rng.int(0, list.length - 1);
    const b = rng.int(0, list.length - 1);
    if (op === 'drop-frame') list.splice(a, 1);
    else if (op === 'dup-frame') list.splice(b, 0, list[a]!);
    else if (op === 'swap-frames') [list[a], list[b]] = [list[b]!, list[a]!];
    else list.splice(a, 0, randomFrame(rng));
    notes.push(`${op}@${a}/${b}`);
  }
  let bytes = Buffer.concat(list);
  list = [];
  const count = rng.int(1, 3);
  for (let i = 0; i < count && bytes.length > 0; i++) {
    const op = rng.pick(['flip', 'flip', 'flip', 'truncate', 'duplicate', 'insert', 'delete'] as const);
    const at = rng.int(0, bytes.length - 1);
    if (op === 'flip') {
      bytes = Buffer.from(bytes);
      const n = rng.int(1, 4);
      for (let k = 0; k < n; k++) {
        const pos = rng.chance(0.5) ? at + k : rng.int(0, bytes.length - 1);
        if (pos < bytes.length) bytes[pos] = rng.chance(0.5) ? rng.int(0, 255) : bytes[pos]! ^ (1 << rng.int(0, 7));
      }
    } else if (op === 'truncate') {
      bytes = bytes.subarray(0, at);
    } else if (op === 'duplicate') {
      const len = rng.int(1, Math.min(200, bytes.length - at));
      bytes = Buffer.concat([bytes.subarray(0, at + len), bytes.subarray(at, at + len), bytes.subarray(at + len)]);
    } else if (op === 'insert') {
      bytes = Buffer.concat([bytes.subarray(0, at), rng.bytes(rng.int(1, 16)), bytes.subarray(at)]);
    } else {
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + rng.int(1, 16))]);
    }
    notes.push(`${op}@${at}`);
  }
  return bytes;
}

function splitChunks(rng: Prng, bytes: Buffer): Buffer[] {
  const n = rng.int(1, 4);
  const cuts = Array.from({ length: n - 1 }, () => rng.int(0, bytes.length)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > prev) chunks.push(bytes.subarray(prev, cut));
    prev = cut;
  }
  return chunks;
}

/** Builds one fuzz input. `tag` makes the names in valid sequences unique per iteration. */
export function fuzzInput(rng: Prng, tag: string): FuzzInput {
  const mode = rng.pick<FuzzMode>(['pre-header', 'pre-start-ok', 'random-bytes', 'random-frames', 'random-frames', 'mutated', 'mutated', 'mutated']);
  const notes: string[] = [];
  let bytes: Buffer;
  if (mode === 'pre-header') {
    // something that is not our protocol header (possibly sharing a prefix with it)
    const prefix = PROTOCOL_HEADER.subarray(0, rng.int(0, 7));
    let wrong = rng.int(0, 255);
    if (wrong === PROTOCOL_HEADER[prefix.length]) wrong ^= 0x80;
    bytes = Buffer.concat([prefix, Buffer.from([wrong]), rng.bytes(rng.int(0, 64))]);
  } else if (mode === 'pre-start-ok') {
    const startOk = frameOf((w) =>
      encodeConnectionStartOkFrame(w, 0, {
        clientProperties: { product: 'fuzz', capabilities: { 'connection.blocked': true } },
        mechanism: rng.pick(['PLAIN', 'AMQPLAIN']),
        response: rng.chance(0.5) ? Buffer.from('\0guest\0guest') : frameOf((w2) => encodeFieldTable(w2, { LOGIN: 'guest', PASSWORD: 'guest' })).subarray(4),
        locale: 'en_US',
      }),
    );
    bytes = Buffer.concat([mutate(rng, [startOk], notes), FILLER]);
  } else if (mode === 'random-bytes') {
    bytes = Buffer.concat([rng.bytes(rng.int(1, 600)), FILLER]);
  } else if (mode === 'random-frames') {
    const frames = Array.from({ length: rng.int(1, 6) }, () => randomFrame(rng));
    bytes = Buffer.concat([...frames, FILLER]);
  } else {
    bytes = Buffer.concat([mutate(rng, validSequence(rng, tag), notes), FILLER]);
  }
  return { mode, bytes, chunks: splitChunks(rng, bytes), notes };
}
