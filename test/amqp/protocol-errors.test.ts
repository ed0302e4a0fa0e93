/**
 * Protocol error handling, frame by frame with the raw client: which reply code, and whether the
 * channel or the whole connection is closed (spec / RabbitMQ: 403/404/405/406 are soft →
 * channel.close; 5xx are hard → connection.close). Ends with a seeded fuzz test: malformed input
 * must always end in a close or a dropped socket, never a wedged connection, while other
 * connections keep working.
 *
 * Reproduce a fuzz failure with FUZZ_SEED=<seed> (and FUZZ_ITERATIONS=<n>); FUZZ_SEED=random
 * picks a fresh seed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { AmqpService } from '#amqp';
import { ByteWriter } from '#core';
import { MethodId, PROTOCOL_HEADER } from '../../libs/amqp/src/codec/index';
import { startTestApp, TestApp } from '../support/app-harness';
import { FUZZ_FRAME_MAX, fuzzInput } from '../support/amqp-fuzz';
import {
  channelOpenFrame,
  connectionCloseOkFrame,
  describeEnd,
  expectConnectionClose,
  handshake,
  methodFrame,
  openRaw,
  Prng,
  publishFrames,
  queueDeclareFrame,
  rawFrame,
  rawMethodFrame,
  RawAmqpClient,
  sleep,
  waitChannelClose,
  waitFor,
} from '../support/amqp-wire';

let app: TestApp;
before(async () => {
  app = await startTestApp({ AMQP_HANDSHAKE_TIMEOUT: '5' });
});
after(async () => {
  await app?.close();
});

/** A fresh raw connection with channel 1 open. */
const fresh = (): Promise<RawAmqpClient> => openRaw(app.amqpPort, { channels: [1] });

/** Sends `input` on a fresh connection and expects connection.close with one of `codes`. */
async function expectHard(input: Buffer, codes: number | number[], what: string): Promise<{ classId: number; methodId: number; replyText: string }> {
  const client = await fresh();
  try {
    client.write(input);
    return await expectConnectionClose(client, codes, what);
  } finally {
    client.close();
  }
}

/** Field-table bytes written by hand (length prefix included) so they can be malformed. */
function queueDeclareWithRawArguments(channel: number, queue: string, table: Buffer): Buffer {
  const w = new ByteWriter(128);
  w.u16(0); // reserved-1
  w.shortStr(queue);
  w.u8(0); // passive, durable, exclusive, auto-delete, no-wait
  w.bytes(table);
  return rawMethodFrame(channel, 50, 10, w.toBuffer());
}

const publishMethod = (channel: number, routingKey: string): Buffer =>
  methodFrame(channel, { id: MethodId.BasicPublish, args: { exchange: '', routingKey, mandatory: false, immediate: false } });

function contentHeader(channel: number, bodySize: number): Buffer {
  const payload = Buffer.alloc(14);
  payload.writeUInt16BE(60, 0);
  payload.writeBigUInt64BE(BigInt(bodySize), 4);
  return rawFrame(2, channel, payload);
}

test('bad frame-end octet → connection.close 501 FRAME_ERROR and the socket is closed', async () => {
  const good = methodFrame(1, { id: MethodId.BasicQos, args: { prefetchSize: 0, prefetchCount: 1, global: false } });
  const bad = Buffer.from(good);
  bad[bad.length - 1] = 0x00;
  const close = await expectHard(bad, 501, 'frame-end 0x00');
  assert.match(close.replyText, /FRAME_ERROR/);
  await expectHard(rawFrame(9, 0, Buffer.alloc(0)), 501, 'unknown frame type 9');
  await expectHard(rawFrame(8, 1, Buffer.alloc(0)), 501, 'heartbeat on channel 1');
});

test('after connection.close the server ignores other frames and drops a client that never sends close-ok', async () => {
  const client = await fresh();
  try {
    client.write(channelOpenFrame(1)); // 504: second channel.open (a hard error that keeps the stream in sync)
    const close = await waitFor(client, (f) => f.method?.id === MethodId.ConnectionClose);
    assert.ok(close, `connection.close (${describeEnd(client)})`);
    const from = client.frames.length;
    client.write(channelOpenFrame(2));
    client.write(queueDeclareFrame(1, 'after-close-q'));
    assert.ok(await client.waitForClose(15000), 'socket closed without our close-ok');
    assert.deepEqual(client.frames.slice(from).map((f) => f.method?.id), [], 'nothing answered after connection.close');
  } finally {
    client.close();
  }
});

test('unknown class → 540 NOT_IMPLEMENTED; unknown method of a known class → 503 COMMAND_INVALID', async () => {
  await expectHard(rawMethodFrame(1, 99, 10), 540, 'class 99 on channel 1');
  await expectHard(rawMethodFrame(0, 77, 1), 540, 'class 77 on channel 0');
  await expectHard(rawMethodFrame(1, 60, 999), 503, 'basic method 999');
  await expectHard(rawMethodFrame(1, 50, 99), 503, 'queue method 99');
});

test('content frames out of order → 505 UNEXPECTED_FRAME', async () => {
  await expectHard(contentHeader(1, 5), 505, 'content header without basic.publish');
  await expectHard(rawFrame(3, 1, Buffer.from('hello')), 505, 'body frame without publish or header');
  await expectHard(Buffer.concat([publishMethod(1, 'x'), rawFrame(3, 1, Buffer.from('hello'))]), 505, 'body frame right after basic.publish');
  await expectHard(Buffer.concat([publishMethod(1, 'x'), queueDeclareFrame(1, 'q')]), 505, 'method frame where a content header belongs');
  await expectHard(
    Buffer.concat([publishMethod(1, 'x'), contentHeader(1, 3), rawFrame(3, 1, Buffer.from('toolong'))]),
    505,
    'body frames longer than the header said',
  );
  await expectHard(Buffer.concat([publishMethod(1, 'x'), contentHeader(1, 3), contentHeader(1, 3)]), 505, 'second content header');
});

test('channels: method on a never-opened channel → 504; second channel.open → 504', async () => {
  const close = await expectHard(queueDeclareFrame(5, 'q'), 504, 'queue.declare on channel 5 that was never opened');
  assert.match(close.replyText, /CHANNEL_ERROR/);
  await expectHard(channelOpenFrame(1), 504, 'channel.open on the already open channel 1');
  await expectHard(Buffer.concat([contentHeader(7, 1)]), [504, 505], 'content header on a never-opened channel');
});

test('connection-class methods on channel 1 → 503 COMMAND_INVALID (connection.close)', async () => {
  const tuneOk = methodFrame(1, { id: MethodId.ConnectionTuneOk, args: { channelMax: 10, frameMax: 4096, heartbeat: 0 } });
  await expectHard(tuneOk, 503, 'connection.tune-ok on channel 1');
  await expectHard(methodFrame(1, { id: MethodId.ConnectionOpen, args: { virtualHost: '/' } }), 503, 'connection.open on channel 1');
  await expectHard(methodFrame(1, { id: MethodId.ConnectionClose, args: { replyCode: 200, replyText: '', classId: 0, methodId: 0 } }), 503, 'connection.close on channel 1');
});

test('non-connection methods on channel 0 → 504 CHANNEL_ERROR (connection.close), as RabbitMQ', async () => {
  // RabbitMQ (rabbit_reader:handle_method0 fallback): "unexpected method in connection state running" → channel_error
  await expectHard(channelOpenFrame(0), 504, 'channel.open on channel 0');
  await expectHard(queueDeclareFrame(0, 'q'), 504, 'queue.declare on channel 0');
  await expectHard(publishMethod(0, 'q'), 504, 'basic.publish on channel 0');
  // a content frame on channel 0 is an unexpected frame
  await expectHard(contentHeader(0, 1), 505, 'content header on channel 0');
});

test('truncated method payloads → 502 SYNTAX_ERROR', async () => {
  // basic.publish: reserved short, then an exchange shortstr announcing 10 bytes but carrying 2
  await expectHard(rawMethodFrame(1, 60, 40, Buffer.from([0, 0, 10, 0x61, 0x62])), 502, 'basic.publish cut inside the exchange name');
  const full = publishMethod(1, 'routing-key');
  const payload = full.subarray(7, full.length - 1);
  await expectHard(rawFrame(1, 1, payload.subarray(0, payload.length - 3)), 502, 'basic.publish without its flags and end of routing key');
  const declare = queueDeclareFrame(1, 'some-queue');
  const dp = declare.subarray(7, declare.length - 1);
  await expectHard(rawFrame(1, 1, dp.subarray(0, 9)), 502, 'queue.declare cut short');
  await expectHard(rawFrame(1, 1, Buffer.from([0, 60])), 502, 'only a class id');
  await expectHard(Buffer.concat([publishMethod(1, 'x'), rawFrame(2, 1, Buffer.from([0, 60, 0, 0, 0]))]), 502, 'content header shorter than 14 bytes');
});

test('malformed field tables in queue.declare arguments → 502 SYNTAX_ERROR', async () => {
  const table = (entries: Buffer, declaredLength = entries.length): Buffer => {
    const out = Buffer.alloc(4 + entries.length);
    out.writeUInt32BE(declaredLength, 0);
    entries.copy(out, 4);
    return out;
  };
  // key "x", unknown type 'Z'
  await expectHard(queueDeclareWithRawArguments(1, 'ft-1', table(Buffer.from([1, 0x78, 0x5a, 0, 0, 0, 0]))), 502, "unknown field type 'Z'");
  // table length claims more bytes than the frame has
  await expectHard(queueDeclareWithRawArguments(1, 'ft-2', table(Buffer.from([1, 0x78, 0x74, 1]), 500)), 502, 'table length past the payload');
  // key length runs past the table
  await expectHard(queueDeclareWithRawArguments(1, 'ft-3', table(Buffer.from([40, 0x78, 0x74, 1]))), 502, 'key longer than the table');
  // long string value announcing 1000 bytes inside a 10-byte table
  await expectHard(queueDeclareWithRawArguments(1, 'ft-4', table(Buffer.from([1, 0x78, 0x53, 0, 0, 0x03, 0xe8, 0x61, 0x62, 0x63]))), 502, 'long string past the table');
});

test('soft errors close only the channel (with class/method ids); the connection keeps working', async () => {
  const client = await openRaw(app.amqpPort, { channels: [1, 2] });
  const other = await openRaw(app.amqpPort, { channels: [1] });
  try {
    // 404 on a passive declare of a missing queue
    client.write(queueDeclareFrame(1, 'no-such-queue', { passive: true }));
    const close = await waitChannelClose(client, 1, 10000, false);
    assert.ok(close, `channel.close on channel 1 (${describeEnd(client)})`);
    assert.equal(close.replyCode, 404);
    assert.match(close.replyText, /NOT_FOUND/);
    assert.deepEqual([close.classId, close.methodId], [50, 10], 'close names queue.declare');
    // until we answer close-ok, the server ignores everything else on that channel
    client.write(queueDeclareFrame(1, 'ignored-q'));
    await sleep(300);
    assert.equal(client.frames.some((f) => f.channel === 1 && f.method?.id === MethodId.QueueDeclareOk), false, 'methods after channel.close are ignored');
    client.write(methodFrame(1, { id: MethodId.ChannelCloseOk, args: {} }));
    // channel 2 was never affected
    client.write(queueDeclareFrame(2, 'soft-ok-q'));
    assert.ok(await waitFor(client, (f) => f.channel === 2 && f.method?.id === MethodId.QueueDeclareOk), `channel 2 works (${describeEnd(client)})`);
    // channel 1 can be opened again
    client.write(channelOpenFrame(1));
    assert.ok(await waitFor(client, (f, ) => f.channel === 1 && f.method?.id === MethodId.ChannelOpenOk, 10000, client.frames.length), `channel 1 reopened (${describeEnd(client)})`);

    const softCases: [string, Buffer, number, [number, number]][] = [
      ['reserved amq. queue name', queueDeclareFrame(1, 'amq.mine'), 403, [50, 10]],
      ['redeclare with different exclusive flag', queueDeclareFrame(1, 'soft-ok-q', { exclusive: true }), 406, [50, 10]],
      ['basic.get from a missing queue', methodFrame(1, { id: MethodId.BasicGet, args: { queue: 'missing-q', noAck: true } }), 404, [60, 70]],
      ['ack of an unknown delivery tag', methodFrame(1, { id: MethodId.BasicAck, args: { deliveryTag: 99, multiple: false } }), 406, [60, 80]],
      ['publish to a missing exchange', publishFrames(1, 'no-such-exchange', 'k', Buffer.from('x')), 404, [60, 40]],
    ];
    for (const [what, input, code, ids] of softCases) {
      const from = client.frames.length;
      client.write(input);
      const frame = await waitFor(client, (f) => f.method?.id === MethodId.ChannelClose || f.method?.id === MethodId.ConnectionClose, 10000, from);
      assert.ok(frame?.method?.id === MethodId.ChannelClose && frame.channel === 1, `${what}: channel.close on channel 1 (${describeEnd(client)})`);
      const args = frame.method.args;
      assert.equal(args.replyCode, code, `${what}: reply code (${args.replyText})`);
      assert.deepEqual([args.classId, args.methodId], ids, `${what}: class/method ids`);
      client.write(methodFrame(1, { id: MethodId.ChannelCloseOk, args: {} }));
      client.write(channelOpenFrame(1));
      const reopened = await waitFor(client, (f) => f.channel === 1 && f.method?.id === MethodId.ChannelOpenOk, 10000, from);
      assert.ok(reopened, `${what}: channel 1 reopened (${describeEnd(client)})`);
    }
    // client-initiated channel.close → close-ok
    client.write(methodFrame(1, { id: MethodId.ChannelClose, args: { replyCode: 200, replyText: 'done', classId: 0, methodId: 0 } }));
    assert.ok(await waitFor(client, (f) => f.channel === 1 && f.method?.id === MethodId.ChannelCloseOk), `channel.close-ok (${describeEnd(client)})`);
    // 405: another connection's exclusive queue
    client.write(queueDeclareFrame(2, 'mine-exclusive', { exclusive: true }));
    assert.ok(await waitFor(client, (f) => f.channel === 2 && f.method?.id === MethodId.QueueDeclareOk && f.method.args.queue === 'mine-exclusive'));
    other.write(queueDeclareFrame(1, 'mine-exclusive', { passive: true }));
    const locked = await waitChannelClose(other, 1);
    assert.equal(locked?.replyCode, 405, `another connection's exclusive queue → 405 (${describeEnd(other)})`);
    assert.equal(client.closed || other.closed, false, 'soft errors never close the connection');
    assert.equal(client.frames.some((f) => f.method?.id === MethodId.ConnectionClose), false);
  } finally {
    client.close();
    other.close();
  }
});

// ---- fuzz -----------------------------------------------------------------------------------------

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 400);
const SEED = process.env.FUZZ_SEED === 'random' ? (Math.random() * 2 ** 32) >>> 0 : Number(process.env.FUZZ_SEED ?? 0x5eed2024) >>> 0;
const CONCURRENCY = 4;
/** Time the server gets to answer one fuzz input with a close (or drop the socket). */
const ANSWER_TIMEOUT_MS = 15000;

/** How each iteration ended, for the diagnostic summary. */
const outcomes = new Map<string, number>();
const countOutcome = (client: RawAmqpClient, start: number, mode: string): void => {
  const close = client.frames.slice(start).find((f) => f.method?.id === MethodId.ConnectionClose);
  const chClose = client.frames.slice(start).some((f) => f.method?.id === MethodId.ChannelClose);
  const key = `${mode}: ` + (close ? `connection.close ${(close.method!.args as { replyCode: number }).replyCode}` : 'socket closed') + (chClose ? ' (after a channel.close)' : '');
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
};

/** Runs one iteration; returns a failure description or null. */
async function fuzzIteration(port: number, iteration: number): Promise<string | null> {
  const iterSeed = (SEED ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0;
  const rng = new Prng(iterSeed);
  const input = fuzzInput(rng, `${SEED}-${iteration}`);
  const client = await RawAmqpClient.connect(port);
  const fail = (why: string): string => {
    const hex = input.bytes.subarray(0, 4096).toString('hex');
    return (
      `fuzz failure: seed=${SEED} iteration=${iteration} iterSeed=${iterSeed} mode=${input.mode} ` +
      `mutations=[${input.notes.join(', ')}] chunks=[${input.chunks.map((c) => c.length).join(',')}]: ${why}\n` +
      `  server: ${describeEnd(client)}\n  input (${input.bytes.length} bytes${input.bytes.length > 4096 ? ', first 4096 shown' : ''}): ${hex}`
    );
  };
  try {
    if (input.mode === 'pre-start-ok') {
      client.write(PROTOCOL_HEADER);
      if (!(await client.waitForMethod(MethodId.ConnectionStart, ANSWER_TIMEOUT_MS))) return fail('no connection.start');
    } else if (input.mode !== 'pre-header') {
      try {
        await handshake(client, { frameMax: FUZZ_FRAME_MAX, heartbeat: 0, timeoutMs: ANSWER_TIMEOUT_MS });
        client.write(channelOpenFrame(1));
        if (!(await waitFor(client, (f) => f.method?.id === MethodId.ChannelOpenOk, ANSWER_TIMEOUT_MS))) return fail('no channel.open-ok before fuzzing');
      } catch (error) {
        return fail(`valid handshake failed: ${String(error)}`);
      }
    }
    const start = client.frames.length;
    for (const chunk of input.chunks) {
      if (client.closed) break;
      client.write(chunk);
      if (rng.chance(0.5)) await sleep(1);
    }
    const close = await waitFor(client, (f) => f.method?.id === MethodId.ConnectionClose, ANSWER_TIMEOUT_MS, start);
    if (!close && !client.closed) return fail(`neither connection.close nor a closed socket within ${ANSWER_TIMEOUT_MS} ms`);
    countOutcome(client, start, input.mode);
    if (input.mode === 'pre-header' && !client.rawBytes.subarray(0, 8).equals(PROTOCOL_HEADER)) {
      return fail('a wrong protocol header was not answered with AMQP 0-9-1');
    }
    if (!client.closed) {
      client.write(connectionCloseOkFrame());
      if (!(await client.waitForClose(10000))) return fail('socket still open 10 s after connection.close / close-ok');
    }
    return null;
  } catch (error) {
    return fail(`test harness error: ${(error as Error)?.stack ?? String(error)}`);
  } finally {
    client.close();
  }
}

async function sentinelRoundTrip(ch: amqp.Channel, queue: string, text: string): Promise<void> {
  ch.sendToQueue(queue, Buffer.from(text));
  for (let i = 0; i < 1000; i++) {
    const got = await ch.get(queue, { noAck: true });
    if (got) {
      assert.equal(got.content.toString(), text, 'sentinel got its own message back');
      return;
    }
    await sleep(10);
  }
  assert.fail(`sentinel round trip '${text}' timed out`);
}

test(`fuzz: ${ITERATIONS} connections fed random and mutated frames each end in a close; others keep working (seed ${SEED})`, async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${ITERATIONS}`);
  const server = app.running.app.get(AmqpService).server;
  const sentinel = await amqp.connect(app.amqpUrl);
  const sentinelEvents: string[] = [];
  sentinel.on('error', (e: Error) => sentinelEvents.push(`error: ${e.message}`));
  sentinel.on('close', () => sentinelEvents.push('close'));
  try {
    const ch = await sentinel.createChannel();
    ch.on('error', (e: Error) => sentinelEvents.push(`channel error: ${e.message}`));
    const { queue } = await ch.assertQueue(`fuzz-sentinel-${SEED}`, { exclusive: true });
    await sentinelRoundTrip(ch, queue, 'before');

    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ITERATIONS && failures.length < 5) {
        const iteration = next++;
        const failure = await fuzzIteration(app.amqpPort, iteration);
        if (failure) failures.push(failure);
        if (iteration % 50 === 49 && failures.length === 0) await sentinelRoundTrip(ch, queue, `during-${iteration}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (failures.length > 0) {
      for (const failure of failures) console.error(failure);
      assert.fail(`${failures.length} fuzz iteration(s) failed (seed ${SEED}); first:\n${failures[0]}`);
    }

    t.diagnostic(`outcomes: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join('; ')}`);
    await sentinelRoundTrip(ch, queue, 'after');
    assert.deepEqual(sentinelEvents, [], 'the sentinel connection saw no error or close');
    const fresh = await amqp.connect(app.amqpUrl);
    try {
      const fch = await fresh.createChannel();
      const { queue: q2 } = await fch.assertQueue('', { exclusive: true });
      await sentinelRoundTrip(fch, q2, 'new connection after fuzzing');
    } finally {
      await fresh.close();
    }
    // every fuzzed connection is gone from the server: only the sentinel remains
    for (let i = 0; i < 500 && server.connectionCount > 1; i++) await sleep(20);
    assert.equal(server.connectionCount, 1, 'server released every fuzzed connection');
  } finally {
    await sentinel.close().catch(() => undefined);
  }
});

test('crossing channel closes: the client closes a channel the server is closing; the connection stays up (RabbitMQ)', async () => {
  const client = await fresh();
  try {
    // a publish to a missing exchange (the server answers with channel.close 404), then, in the
    // same write, the client's own channel.close and its close-ok for the close it expects
    client.write(
      Buffer.concat([
        publishFrames(1, 'no-such-exchange', 'k', Buffer.from('x')),
        methodFrame(1, { id: MethodId.ChannelClose, args: { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 } }),
        methodFrame(1, { id: MethodId.ChannelCloseOk, args: {} }),
      ]),
    );
    const close = await waitChannelClose(client, 1, 5000, false);
    assert.equal(close?.replyCode, 404, `server closed channel 1 with 404 (${describeEnd(client)})`);
    assert.ok(await waitFor(client, (f) => f.channel === 1 && f.method?.id === MethodId.ChannelCloseOk), 'the client close is answered with close-ok');
    // the connection is still up: channel 1 reopens and works, another channel too
    client.write(Buffer.concat([channelOpenFrame(1), channelOpenFrame(2)]));
    const from = client.frames.length;
    client.write(Buffer.concat([queueDeclareFrame(1, 'crossing-q1'), queueDeclareFrame(2, 'crossing-q2')]));
    assert.ok(await waitFor(client, (f) => f.channel === 1 && f.method?.id === MethodId.QueueDeclareOk, 5000, from), `channel 1 works again (${describeEnd(client)})`);
    assert.ok(await waitFor(client, (f) => f.channel === 2 && f.method?.id === MethodId.QueueDeclareOk, 5000, from), 'channel 2 works');
    assert.equal(client.closed, false, 'the connection was not closed');
    assert.equal(client.frames.some((f) => f.channel === 0 && f.method?.id === MethodId.ConnectionClose), false, 'no connection.close');
  } finally {
    client.close();
  }
});
