import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../libs/core/src/encoding/index';
import {
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  FrameError,
  FrameParser,
  HEARTBEAT_FRAME,
  MethodId,
  PROTOCOL_HEADER,
  beginFrame,
  checkProtocolHeader,
  decodeMethod,
  encodeBasicPublishFrame,
  encodeContent,
  endFrame,
  writeHeartbeatFrame,
} from '../../libs/amqp/src/codec/index';

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

function rawFrame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = end;
  return b;
}

function collector(frameMax = 0): { parser: FrameParser; frames: Frame[] } {
  const frames: Frame[] = [];
  const parser = new FrameParser((type, channel, payload) => {
    // Copy: the payload may alias a chunk the test reuses.
    frames.push({ type, channel, payload: Buffer.from(payload) });
  }, frameMax);
  return { parser, frames };
}

/** A realistic stream: publish + header + 3 body frames, a heartbeat, an empty-payload frame. */
function sampleStream(): { bytes: Buffer; expected: Frame[] } {
  const w = new ByteWriter();
  encodeBasicPublishFrame(w, 1, { exchange: 'ex', routingKey: 'rk', mandatory: false, immediate: false });
  encodeContent(w, 1, { contentType: 'text/plain', deliveryMode: 2 }, Buffer.alloc(300, 7), 128);
  writeHeartbeatFrame(w);
  const s = beginFrame(w, FRAME_METHOD, 65535);
  w.u32(MethodId.TxSelect);
  endFrame(w, s);
  const bytes = w.toBuffer();
  // Independent expectation: walk the bytes by hand.
  const expected: Frame[] = [];
  for (let off = 0; off < bytes.length; ) {
    const size = bytes.readUInt32BE(off + 3);
    expected.push({ type: bytes[off]!, channel: bytes.readUInt16BE(off + 1), payload: bytes.subarray(off + 7, off + 7 + size) });
    off += size + 8;
  }
  return { bytes, expected };
}

test('frames split at every byte boundary (two chunks) parse identically', () => {
  const { bytes, expected } = sampleStream();
  assert.equal(expected.length, 1 + 1 + 3 + 1 + 1);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { parser, frames } = collector();
    parser.push(bytes.subarray(0, cut));
    parser.push(bytes.subarray(cut));
    assert.deepEqual(frames, expected, `cut at ${cut}`);
    assert.equal(parser.buffered, 0);
  }
});

test('frames fed one byte at a time, and in three-way splits, parse identically', () => {
  const { bytes, expected } = sampleStream();
  const one = collector();
  for (let i = 0; i < bytes.length; i++) one.parser.push(bytes.subarray(i, i + 1));
  assert.deepEqual(one.frames, expected);
  // Every pair of cut points inside the first ~60 bytes (covers header/payload/end boundaries).
  for (let a = 0; a < 60; a++) {
    for (let b = a; b < 60; b++) {
      const { parser, frames } = collector();
      parser.push(bytes.subarray(0, a));
      parser.push(bytes.subarray(a, b));
      parser.push(bytes.subarray(b));
      assert.deepEqual(frames, expected, `cuts at ${a}, ${b}`);
    }
  }
});

test('many coalesced frames in one chunk are delivered in order without copying', () => {
  const w = new ByteWriter();
  const n = 1000;
  for (let i = 0; i < n; i++) {
    encodeBasicPublishFrame(w, (i % 7) + 1, { exchange: '', routingKey: `q${i}`, mandatory: false, immediate: false });
  }
  const chunk = w.toBuffer();
  const seen: Array<{ channel: number; rk: string; aliases: boolean }> = [];
  const parser = new FrameParser((type, channel, payload) => {
    assert.equal(type, FRAME_METHOD);
    const m = decodeMethod(payload);
    assert.equal(m.id, MethodId.BasicPublish);
    if (m.id === MethodId.BasicPublish) {
      seen.push({ channel, rk: m.args.routingKey, aliases: payload.buffer === chunk.buffer });
    }
  });
  parser.push(chunk);
  assert.equal(seen.length, n);
  seen.forEach((s, i) => {
    assert.equal(s.channel, (i % 7) + 1);
    assert.equal(s.rk, `q${i}`);
    assert.ok(s.aliases, 'payload is a subarray of the chunk');
  });
});

test('a frame spanning chunks is assembled; the rest of the chunk keeps flowing', () => {
  const big = rawFrame(FRAME_BODY, 3, Buffer.alloc(5000, 0x41));
  const small = rawFrame(FRAME_BODY, 3, Buffer.from('tail'));
  const all = Buffer.concat([big, small, small]);
  const { parser, frames } = collector(8192);
  parser.push(all.subarray(0, 1000));
  assert.equal(frames.length, 0);
  assert.equal(parser.buffered, 1000);
  parser.push(all.subarray(1000, 5020)); // big = 5008 bytes, small = 12
  assert.equal(frames.length, 2, 'big frame completed, then a whole small one');
  parser.push(all.subarray(5020));
  assert.deepEqual(
    frames.map((f) => f.payload.length),
    [5000, 4, 4],
  );
});

test('heartbeat frames: accepted on channel 0 with an empty payload, rejected otherwise', () => {
  const { parser, frames } = collector();
  parser.push(Buffer.concat([HEARTBEAT_FRAME, HEARTBEAT_FRAME]));
  assert.deepEqual(frames, [
    { type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) },
    { type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) },
  ]);
  const onChannel = collector();
  assert.throws(
    () => onChannel.parser.push(rawFrame(FRAME_HEARTBEAT, 1, Buffer.alloc(0))),
    (e: unknown) => e instanceof FrameError && e.replyCode === 501 && /heartbeat/.test(e.message),
  );
  const withPayload = collector();
  assert.throws(() => withPayload.parser.push(rawFrame(FRAME_HEARTBEAT, 0, Buffer.from([1]))), FrameError);
});

test('bad frame-end octet is a 501 FrameError, whole or split, and the parser stops', () => {
  const bad = rawFrame(FRAME_METHOD, 1, Buffer.from([0, 90, 0, 10]), 0x00);
  for (let cut = 0; cut <= bad.length; cut++) {
    const { parser, frames } = collector();
    assert.throws(
      () => {
        parser.push(bad.subarray(0, cut));
        parser.push(bad.subarray(cut));
      },
      (e: unknown) => e instanceof FrameError && e.replyCode === 501 && /frame-end/.test(e.message),
      `cut at ${cut}`,
    );
    assert.equal(frames.length, 0);
    assert.ok(parser.isFailed);
    parser.push(HEARTBEAT_FRAME); // ignored until reset
    assert.equal(frames.length, 0);
    parser.reset();
    parser.push(HEARTBEAT_FRAME);
    assert.equal(frames.length, 1);
  }
  // Frames before the bad one in the same chunk were delivered.
  const { parser, frames } = collector();
  assert.throws(() => parser.push(Buffer.concat([HEARTBEAT_FRAME, bad])), FrameError);
  assert.equal(frames.length, 1);
});

test('oversize frames are rejected from the header alone, with a helpful message', () => {
  // Default limit before tune: 4096 - 8 = 4088 payload bytes.
  const ok = collector(FRAME_MIN_SIZE);
  ok.parser.push(rawFrame(FRAME_BODY, 1, Buffer.alloc(4088)));
  assert.equal(ok.frames.length, 1);
  const tooBig = collector(FRAME_MIN_SIZE);
  assert.throws(
    () => tooBig.parser.push(rawFrame(FRAME_BODY, 1, Buffer.alloc(4089))),
    (e: unknown) =>
      e instanceof FrameError && e.replyCode === 501 && /4089/.test(e.message) && /frame_max 4096/.test(e.message) && /4088/.test(e.message),
  );
  // Only the 7-byte header is needed to reject (nothing is buffered for a 1 GiB claim).
  const huge = collector(131072);
  const header = Buffer.from([FRAME_BODY, 0, 1, 0x40, 0, 0, 0]);
  huge.parser.push(header.subarray(0, 4));
  assert.equal(huge.parser.buffered, 4);
  assert.throws(() => huge.parser.push(header.subarray(4)), /too large/);
  // frameMax can be raised (e.g. after tune-ok) and applies to the next frame.
  const { parser, frames } = collector(FRAME_MIN_SIZE);
  parser.frameMax = 131072;
  parser.push(rawFrame(FRAME_BODY, 1, Buffer.alloc(131064)));
  assert.equal(frames.length, 1);
  assert.throws(() => parser.push(rawFrame(FRAME_BODY, 1, Buffer.alloc(131065))), FrameError);
  // 0 = unlimited.
  const unlimited = collector(0);
  unlimited.parser.push(rawFrame(FRAME_BODY, 1, Buffer.alloc(200000)));
  assert.equal(unlimited.frames.length, 1);
});

test('unknown frame types are a 501 FrameError', () => {
  for (const type of [0, 4, 5, 6, 7, 9, 65, 255]) {
    const { parser } = collector();
    assert.throws(
      () => parser.push(rawFrame(type, 0, Buffer.alloc(0))),
      (e: unknown) => e instanceof FrameError && e.replyCode === 501 && new RegExp(`unknown frame type ${type}`).test(e.message),
    );
  }
  // Known types pass (header frames with channel != 0 etc. are the connection's business).
  const { parser, frames } = collector();
  parser.push(Buffer.concat([rawFrame(FRAME_HEADER, 9, Buffer.alloc(14)), rawFrame(FRAME_BODY, 9, Buffer.from('x'))]));
  assert.equal(frames.length, 2);
});

test('a handler exception propagates and stops the parser', () => {
  let calls = 0;
  const parser = new FrameParser(() => {
    calls++;
    throw new Error('boom');
  });
  assert.throws(() => parser.push(Buffer.concat([HEARTBEAT_FRAME, HEARTBEAT_FRAME])), /boom/);
  assert.equal(calls, 1);
  parser.push(HEARTBEAT_FRAME);
  assert.equal(calls, 1);
});

test('protocol header check: ok, need-more, mismatch variants', () => {
  assert.equal(checkProtocolHeader(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')), 'ok');
  assert.equal(checkProtocolHeader(Buffer.concat([PROTOCOL_HEADER, HEARTBEAT_FRAME])), 'ok');
  assert.equal(checkProtocolHeader(Buffer.alloc(0)), 'need-more');
  for (let n = 1; n < 8; n++) assert.equal(checkProtocolHeader(PROTOCOL_HEADER.subarray(0, n)), 'need-more', `prefix ${n}`);
  assert.equal(checkProtocolHeader(Buffer.from('AMQP\x01\x01\x00\x09', 'latin1')), 'mismatch'); // 0-9 style
  assert.equal(checkProtocolHeader(Buffer.from('AMQP\x00\x00\x09\x00', 'latin1')), 'mismatch'); // wrong revision
  assert.equal(checkProtocolHeader(Buffer.from('AMQP\x00\x01\x00\x00', 'latin1')), 'mismatch'); // AMQP 1.0
  assert.equal(checkProtocolHeader(Buffer.from('AMQP\x03\x01\x00\x00', 'latin1')), 'mismatch'); // 1.0 SASL
  assert.equal(checkProtocolHeader(Buffer.from('GET / HTTP/1.1\r\n')), 'mismatch');
  assert.equal(checkProtocolHeader(Buffer.from('AM')), 'need-more');
  assert.equal(checkProtocolHeader(Buffer.from('AX')), 'mismatch', 'mismatch detected before 8 bytes');
  assert.deepEqual(PROTOCOL_HEADER, Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
});

test('a body frame spanning reads is parsed straight into the target it is offered, whatever the chunking', () => {
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
  const stream = Buffer.concat([rawFrame(FRAME_BODY, 3, payload), rawFrame(FRAME_BODY, 3, payload.subarray(0, 10))]);
  for (const chunkSize of [1, 7, 8, 299, 306, 307, 308]) {
    const whole = Buffer.alloc(310);
    const targets: Buffer[] = [];
    const seen: { payload: Buffer; owned: boolean }[] = [];
    const parser = new FrameParser((_type, _channel, p, owned) => seen.push({ payload: p, owned }), 0);
    let at = 0;
    parser.bodyTarget = (channel, size) => {
      assert.equal(channel, 3);
      const target = whole.subarray(at, at + size);
      at += size;
      targets.push(target);
      return target;
    };
    for (let off = 0; off < stream.length; off += chunkSize) parser.push(stream.subarray(off, off + chunkSize));
    assert.equal(seen.length, 2, `chunk size ${chunkSize}`);
    assert.deepEqual(seen[0]!.payload, payload);
    assert.deepEqual(seen[1]!.payload, payload.subarray(0, 10));
    // a frame that spanned reads landed in its target; one inside a single read is a view of it
    if (chunkSize < 308) {
      assert.equal(seen[0]!.payload, targets[0], `chunk size ${chunkSize}: parsed in place`);
      assert.equal(seen[0]!.owned, true);
      assert.deepEqual(whole.subarray(0, 300), payload);
    }
  }
});
