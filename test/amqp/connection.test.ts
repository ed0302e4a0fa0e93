/**
 * End-to-end tests of the AMQP connection lifecycle against the whole app on ephemeral ports:
 * handshake, server properties, SASL, vhosts, config-file users, protocol header negotiation,
 * tune, heartbeats, handshake timeout, frame_max / channel_max enforcement, many channels,
 * channel.flow, connection.blocked and graceful shutdown. Real sockets: amqplib and a raw client.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import bcrypt from 'bcryptjs';
import { AmqpService } from '#amqp';
import { encodeConnectionStartOkFrame, FRAME_HEARTBEAT, HEARTBEAT_FRAME, isHardError, MethodId, PROTOCOL_HEADER } from '../../libs/amqp/src/codec/index';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { ManualClock } from '../support/manual-clock';
import {
  basicGetFrame,
  channelOpenFrame,
  describeEnd,
  expectConnectionClose,
  handshake,
  methodFrame,
  openRaw,
  publishFrames,
  queueDeclareFrame,
  rawFrame,
  RawAmqpClient,
  sleep,
  tableWithoutLength,
  waitFor,
} from '../support/amqp-wire';
import { tempDir } from '../support/temp-dir';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app?.close();
});

/** Starts an app with extra settings (and a manual clock for AMQP timers) for one test; always closes it. */
async function withApp(settings: Record<string, string>, body: (app: TestApp) => Promise<void>, clock?: ManualClock): Promise<void> {
  const own = await startTestApp(settings, undefined, clock ? { amqpClock: clock } : {});
  try {
    await body(own);
  } finally {
    await own.close();
  }
}

const url = (a: TestApp, user = 'guest', pass = 'guest', vhost = ''): string =>
  `amqp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${a.amqpPort}${vhost}`;

/** Publish to a fresh exclusive queue and get it back on one amqplib channel. */
async function roundTrip(conn: amqp.ChannelModel, text: string): Promise<void> {
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from(text));
  let got: amqp.GetMessage | false = false;
  for (let i = 0; i < 200 && got === false; i++) {
    got = await ch.get(queue, { noAck: true });
    if (got === false) await sleep(10);
  }
  assert.ok(got, `message '${text}' came back`);
  assert.equal(got.content.toString(), text);
  await ch.close();
}

/** Protocol header + start-ok with the given SASL mechanism/response; returns the client. */
async function startOk(port: number, mechanism: string, response: Buffer): Promise<RawAmqpClient> {
  const client = await RawAmqpClient.connect(port);
  client.write(PROTOCOL_HEADER);
  assert.ok(await client.waitForMethod(MethodId.ConnectionStart, 10000), 'connection.start');
  client.writeFrames((w) =>
    encodeConnectionStartOkFrame(w, 0, { clientProperties: { product: 'test' }, mechanism, response, locale: 'en_US' }),
  );
  return client;
}

test('handshake: connection.start advertises 0-9, PLAIN and AMQPLAIN, server properties and capabilities; amqplib round trip', async () => {
  const raw = await RawAmqpClient.connect(app.amqpPort);
  try {
    raw.write(PROTOCOL_HEADER);
    const start = await raw.waitForMethod(MethodId.ConnectionStart, 10000);
    assert.ok(start?.method?.id === MethodId.ConnectionStart, `connection.start (${describeEnd(raw)})`);
    const args = start.method.args;
    assert.equal(args.versionMajor, 0);
    assert.equal(args.versionMinor, 9);
    const mechanisms = args.mechanisms.toString().split(' ');
    assert.ok(mechanisms.includes('PLAIN') && mechanisms.includes('AMQPLAIN'), `mechanisms: ${mechanisms.join(' ')}`);
    assert.ok(args.locales.toString().split(' ').includes('en_US'));
    const props = args.serverProperties as Record<string, unknown>;
    for (const key of ['product', 'version', 'platform']) {
      assert.equal(typeof props[key], 'string', `server-properties.${key} is a string`);
      assert.ok((props[key] as string).length > 0, `server-properties.${key} is not empty`);
    }
    const caps = props.capabilities as Record<string, unknown>;
    assert.ok(caps && typeof caps === 'object', 'server-properties.capabilities is a table');
    for (const cap of [
      'publisher_confirms',
      'exchange_exchange_bindings',
      'basic.nack',
      'consumer_cancel_notify',
      'connection.blocked',
      'consumer_priorities',
      'authentication_failure_close',
      'per_consumer_qos',
    ]) {
      assert.equal(caps[cap], true, `capability ${cap}`);
    }
  } finally {
    raw.close();
  }

  const conn = await amqp.connect(app.amqpUrl);
  try {
    const sp = conn.connection.serverProperties as unknown as Record<string, unknown>;
    assert.equal(typeof sp.product, 'string');
    assert.equal((sp.capabilities as Record<string, unknown>)['connection.blocked'], true);
    await roundTrip(conn, 'hello');
  } finally {
    await conn.close();
  }

  // client-initiated close: close-ok, then the server closes the socket
  const client = await openRaw(app.amqpPort, { channels: [1] });
  client.writeFrames((w) => w.bytes(methodFrame(0, { id: MethodId.ConnectionClose, args: { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 } })));
  assert.ok(await client.waitForMethod(MethodId.ConnectionCloseOk, 10000), `connection.close-ok (${describeEnd(client)})`);
  assert.ok(await client.waitForClose(10000), 'server closes the socket after close-ok');
});

test('SASL PLAIN: wrong password or unknown user → connection.close 403 ACCESS_REFUSED', async () => {
  await assert.rejects(amqp.connect(url(app, 'guest', 'wrong')), /403.*ACCESS.REFUSED/);
  await assert.rejects(amqp.connect(url(app, 'nobody', 'guest')), /403.*ACCESS.REFUSED/);
  for (const response of ['\0guest\0wrong', '\0nobody\0guest']) {
    const client = await startOk(app.amqpPort, 'PLAIN', Buffer.from(response));
    const close = await expectConnectionClose(client, 403, `PLAIN ${JSON.stringify(response)}`);
    assert.match(close.replyText, /ACCESS_REFUSED/);
    assert.equal(client.frames.some((f) => f.method?.id === MethodId.ConnectionTune), false, 'no connection.tune after a refused login');
  }
  // a mechanism the server did not offer: refused as RabbitMQ does (503 COMMAND_INVALID), never tuned
  const external = await startOk(app.amqpPort, 'EXTERNAL', Buffer.alloc(0));
  const refused = await expectConnectionClose(external, 503, 'start-ok with EXTERNAL');
  assert.match(refused.replyText, /^COMMAND_INVALID - unknown authentication mechanism 'EXTERNAL'/);
  assert.equal(external.frames.some((f) => f.method?.id === MethodId.ConnectionTune), false, 'no connection.tune for EXTERNAL');
});

test('SASL AMQPLAIN: LOGIN/PASSWORD table (no length prefix) logs in; a wrong password gets 403', async () => {
  const ok = await RawAmqpClient.connect(app.amqpPort);
  try {
    await handshake(ok, { mechanism: 'AMQPLAIN', response: tableWithoutLength({ LOGIN: 'guest', PASSWORD: 'guest' }) });
    ok.write(channelOpenFrame(1));
    assert.ok(await waitFor(ok, (f) => f.channel === 1 && f.method?.id === MethodId.ChannelOpenOk), `channel.open-ok (${describeEnd(ok)})`);
  } finally {
    ok.close();
  }
  const bad = await startOk(app.amqpPort, 'AMQPLAIN', tableWithoutLength({ LOGIN: 'guest', PASSWORD: 'nope' }));
  await expectConnectionClose(bad, 403, 'AMQPLAIN with a wrong password');
});

test('connection.open of an unknown vhost → connection.close 530 NOT_ALLOWED', async () => {
  // amqplib reports only "Expected ConnectionOpenOk; got <ConnectionClose ...>"; the raw client checks the code
  await assert.rejects(amqp.connect(url(app, 'guest', 'guest', '/no-such-vhost')), /530|ConnectionClose/);
  const client = await RawAmqpClient.connect(app.amqpPort);
  await assert.rejects(handshake(client, { vhost: 'no-such-vhost' }), /no connection.open-ok/);
  const close = await expectConnectionClose(client, 530, 'unknown vhost');
  assert.deepEqual([close.classId, close.methodId], [10, 40], 'close names connection.open');
});

test('users from CONFIG_FILE in dispatchd form log in; a wrong password is refused', async () => {
  const dir = tempDir('amqp-users-');
  try {
    const file = join(dir.path, 'broker.json');
    const b64 = (password: string): string => Buffer.from(bcrypt.hashSync(password, 6)).toString('base64');
    writeFileSync(file, JSON.stringify({ users: { alice: { password_bcrypt_base64: b64('wonderland') }, bob: { password_bcrypt_base64: b64('b0b!') } } }));
    await withApp({ CONFIG_FILE: file }, async (a) => {
      const alice = await amqp.connect(url(a, 'alice', 'wonderland'));
      try {
        await roundTrip(alice, 'from alice');
      } finally {
        await alice.close();
      }
      const bob = await openRaw(a.amqpPort, { mechanism: 'AMQPLAIN', response: tableWithoutLength({ LOGIN: 'bob', PASSWORD: 'b0b!' }), channels: [1] });
      bob.close();
      await assert.rejects(amqp.connect(url(a, 'alice', 'wrong')), /403/);
      await assert.rejects(amqp.connect(url(a, 'bob', 'wonderland')), /403/);
      const raw = await startOk(a.amqpPort, 'PLAIN', Buffer.from('\0alice\0Wonderland'));
      await expectConnectionClose(raw, 403, 'alice with a wrong password');
    });
  } finally {
    dir.cleanup();
  }
});

test('protocol header mismatch is answered with AMQP 0-9-1 and the socket is closed', async () => {
  const cases: [string, Buffer[]][] = [
    ['AMQP 0-0-8-0', [Buffer.from('AMQP\x00\x00\x08\x00', 'latin1')]],
    ['AMQP 1.0', [Buffer.from('AMQP\x00\x01\x00\x00', 'latin1')]],
    ['HTTP request', [Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')]],
    ['header split over two writes', [Buffer.from('AMQ'), Buffer.from('P\x00\x00\x08\x00', 'latin1')]],
  ];
  for (const [name, chunks] of cases) {
    const client = await RawAmqpClient.connect(app.amqpPort);
    for (const chunk of chunks) {
      client.write(chunk);
      await sleep(30);
    }
    assert.ok(await client.waitForClose(10000), `${name}: socket closed`);
    assert.deepEqual(client.rawBytes, PROTOCOL_HEADER, `${name}: answered with exactly AMQP\\x00\\x00\\x09\\x01`);
  }
  // the valid header one byte at a time still works
  const slow = await RawAmqpClient.connect(app.amqpPort);
  try {
    for (const byte of PROTOCOL_HEADER) {
      slow.write(Buffer.from([byte]));
      await sleep(10);
    }
    assert.ok(await slow.waitForMethod(MethodId.ConnectionStart, 10000), 'connection.start after a byte-by-byte header');
  } finally {
    slow.close();
  }
});

test('tune: defaults 2047/131072/60, settings appear in connection.tune, out-of-range tune-ok → 530', async () => {
  const client = await openRaw(app.amqpPort);
  const tune = client.frames.find((f) => f.method?.id === MethodId.ConnectionTune)!.method!.args as Record<string, number>;
  assert.deepEqual([tune.channelMax, tune.frameMax, tune.heartbeat], [2047, 131072, 60]);
  client.close();

  await withApp({ AMQP_FRAME_MAX: '65536', AMQP_CHANNEL_MAX: '100', AMQP_HEARTBEAT: '7' }, async (a) => {
    const raw = await openRaw(a.amqpPort);
    const t = raw.frames.find((f) => f.method?.id === MethodId.ConnectionTune)!.method!.args as Record<string, number>;
    assert.deepEqual([t.channelMax, t.frameMax, t.heartbeat], [100, 65536, 7]);
    raw.close();

    const conn = await amqp.connect(a.amqpUrl);
    try {
      const c = conn.connection as unknown as { frameMax: number; channelMax: number; heartbeat: number };
      assert.deepEqual([c.channelMax, c.frameMax, c.heartbeat], [100, 65536, 7], 'amqplib negotiated the server values');
      await roundTrip(conn, 'tuned');
    } finally {
      await conn.close();
    }

    for (const [what, options] of [
      ['frame_max above the server maximum', { frameMax: 131072 }],
      ['frame_max below 4096', { frameMax: 1024 }],
      ['channel_max above the server maximum', { channelMax: 2047 }],
    ] as const) {
      const bad = await RawAmqpClient.connect(a.amqpPort);
      await assert.rejects(handshake(bad, options));
      await expectConnectionClose(bad, 530, what);
    }
  });
});

test('tune-ok asking for "no limit" (channel_max 0 / frame_max 0) while the server has limits → 530, as RabbitMQ', async () => {
  // rabbit_reader:validate_negotiated_integer_value: ServerValue /= 0 andalso ClientValue =:= 0 → not_allowed
  const outcomes: Record<string, string> = {};
  for (const [what, options] of [
    ['channel_max 0', { channelMax: 0 }],
    ['frame_max 0', { frameMax: 0 }],
  ] as const) {
    const client = await RawAmqpClient.connect(app.amqpPort);
    try {
      await handshake(client, options);
      outcomes[what] = 'connection opened';
    } catch {
      const close = await waitFor(client, (f) => f.method?.id === MethodId.ConnectionClose);
      outcomes[what] = close ? `connection.close ${(close.method!.args as { replyCode: number }).replyCode}` : 'no close';
    } finally {
      client.close();
    }
  }
  assert.deepEqual(outcomes, { 'channel_max 0': 'connection.close 530', 'frame_max 0': 'connection.close 530' });
});

/** Lets the server read what a client just wrote (in-process app on loopback). */
const serverTurn = (): Promise<void> => sleep(30);

test('heartbeats: the server sends them when idle and drops a silent client after about two intervals', async () => {
  const clock = new ManualClock();
  await withApp(
    { AMQP_HEARTBEAT: '1' },
    async (a) => {
      const client = await openRaw(a.amqpPort, { heartbeat: 1 });
      // a client that heartbeats stays connected: 3.5 intervals of half-interval ticks
      for (let tick = 0; tick < 7; tick++) {
        client.write(HEARTBEAT_FRAME);
        await serverTurn();
        clock.advance(500);
      }
      await eventually(() => client.frames.filter((f) => f.type === FRAME_HEARTBEAT).length >= 2, 2000, 'server heartbeats');
      assert.equal(client.closed, false, `a heartbeating client is kept (${describeEnd(client)})`);
      const beats = client.frames.filter((f) => f.type === FRAME_HEARTBEAT).length;
      assert.ok(beats >= 2, `server sent heartbeats while idle (got ${beats} in 3.5 intervals)`);
      // now go silent: kept through 1.5 intervals, dropped at 2 (heartbeat 1 s: about 2 s)
      clock.advance(1500);
      await serverTurn();
      assert.equal(client.closed, false, `not dropped after 1.5 silent intervals (${describeEnd(client)})`);
      clock.advance(500);
      assert.ok(await client.waitForClose(5000), 'silent client disconnected after two intervals');
    },
    clock,
  );
  // amqplib heartbeating at 1 s keeps its connection (real time: its own timer sends them)
  await withApp({ AMQP_HEARTBEAT: '1' }, async (a) => {
    const conn = await amqp.connect(`${a.amqpUrl}?heartbeat=1`);
    try {
      await sleep(2500);
      await roundTrip(conn, 'still alive');
    } finally {
      await conn.close();
    }
  });
});

test('heartbeat 0 in tune-ok: no heartbeats and an idle connection is never dropped', async () => {
  const clock = new ManualClock();
  await withApp(
    { AMQP_HEARTBEAT: '1' },
    async (a) => {
      const client = await openRaw(a.amqpPort, { heartbeat: 0 });
      try {
        clock.advance(60_000);
        await serverTurn();
        assert.equal(client.closed, false, 'idle connection with heartbeat 0 is kept');
        assert.equal(client.frames.filter((f) => f.type === FRAME_HEARTBEAT).length, 0, 'no heartbeat frames with heartbeat 0');
        client.write(channelOpenFrame(1));
        assert.ok(await waitFor(client, (f) => f.method?.id === MethodId.ChannelOpenOk), `still usable (${describeEnd(client)})`);
      } finally {
        client.close();
      }
    },
    clock,
  );
});

test('handshake timeout: a client that does not complete the handshake is disconnected', async () => {
  const clock = new ManualClock();
  await withApp(
    { AMQP_HANDSHAKE_TIMEOUT: '1' },
    async (a) => {
      const silent = await RawAmqpClient.connect(a.amqpPort);
      await eventually(() => clock.pending === 1, 2000, 'the server accepted the socket');
      clock.advance(900);
      await serverTurn();
      assert.equal(silent.closed, false, 'not closed before the timeout');
      clock.advance(100);
      assert.ok(await silent.waitForClose(5000), 'silent socket closed');

      const headerOnly = await RawAmqpClient.connect(a.amqpPort);
      headerOnly.write(PROTOCOL_HEADER);
      assert.ok(await headerOnly.waitForMethod(MethodId.ConnectionStart, 10000));
      clock.advance(1000);
      assert.ok(await headerOnly.waitForClose(5000), 'client that stops after the protocol header is closed');

      const done = await openRaw(a.amqpPort, { heartbeat: 0 });
      try {
        clock.advance(2500);
        await serverTurn();
        assert.equal(done.closed, false, 'a completed handshake is not affected by the handshake timeout');
      } finally {
        done.close();
      }
    },
    clock,
  );
});

test('frame_max: a frame of exactly frame_max is accepted, a larger one → connection.close 501', async () => {
  await withApp({ AMQP_FRAME_MAX: '8192' }, async (a) => {
    const client = await openRaw(a.amqpPort, { channels: [1] });
    client.write(queueDeclareFrame(1, 'fm-q'));
    assert.ok(await waitFor(client, (f) => f.method?.id === MethodId.QueueDeclareOk), `declare-ok (${describeEnd(client)})`);
    const body = Buffer.alloc(8192 - 8, 0x61);
    client.write(publishFrames(1, '', 'fm-q', body, 8192));
    client.write(basicGetFrame(1, 'fm-q'));
    assert.ok(await waitFor(client, (f) => f.method?.id === MethodId.BasicGetOk), `a frame of exactly frame_max is accepted (${describeEnd(client)})`);
    // publish + header, then a single body frame of 8292 bytes. (Not just one byte over: RabbitMQ
    // tolerates up to 8 bytes over frame_max for clients that get the overhead wrong.)
    const oversize = Buffer.alloc(8192 - 8 + 100, 0x62);
    const publish = methodFrame(1, { id: MethodId.BasicPublish, args: { exchange: '', routingKey: 'fm-q', mandatory: false, immediate: false } });
    client.write(Buffer.concat([publish, rawHeader(1, oversize.length), rawFrame(3, 1, oversize)]));
    await expectConnectionClose(client, 501, 'body frame over frame_max');

    // the negotiated (lower) value is the one enforced
    const small = await openRaw(a.amqpPort, { frameMax: 4096, channels: [1] });
    small.write(rawFrame(1, 1, Buffer.alloc(4096 + 100)));
    await expectConnectionClose(small, 501, 'frame over the client-negotiated frame_max of 4096');
  });
});

/** A content header frame for class 60 with no properties. */
function rawHeader(channel: number, bodySize: number): Buffer {
  const payload = Buffer.alloc(14);
  payload.writeUInt16BE(60, 0);
  payload.writeBigUInt64BE(BigInt(bodySize), 4);
  return rawFrame(2, channel, payload);
}

test('channel_max: channel == channel_max opens, a channel id above it → connection.close', async () => {
  await withApp({ AMQP_CHANNEL_MAX: '10' }, async (a) => {
    // all ten allowed channels (so both an id check and RabbitMQ's count check must refuse the next)
    const client = await openRaw(a.amqpPort, { channels: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    client.write(channelOpenFrame(11));
    const close = await expectConnectionClose(client, [530, 504, 501], 'channel 11 with channel_max 10');
    assert.ok(isHardError(close.replyCode));
    assert.equal(client.frames.some((f) => f.channel === 11 && f.method?.id === MethodId.ChannelOpenOk), false, 'channel 11 was not opened');
  });
});

test('1,000 channels on one connection, each doing declare + publish + get', async () => {
  const conn = await amqp.connect(app.amqpUrl);
  try {
    const channels = await Promise.all(Array.from({ length: 1000 }, () => conn.createChannel()));
    const ids = new Set(channels.map((ch) => (ch as unknown as { ch: number }).ch));
    assert.equal(ids.size, 1000, '1000 distinct channel ids');
    await Promise.all(
      channels.map(async (ch, i) => {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        ch.sendToQueue(queue, Buffer.from(`msg-${i}`));
        const got = await ch.get(queue, { noAck: true });
        assert.ok(got, `channel ${i}: message came back`);
        assert.equal(got.content.toString(), `msg-${i}`);
      }),
    );
    await Promise.all(channels.map((ch) => ch.close()));
    await roundTrip(conn, 'after 1000 channels');
  } finally {
    await conn.close();
  }
});

test('channel.flow: active=true → flow-ok; active=false → 540 NOT_IMPLEMENTED (hard error: connection.close)', async () => {
  const client = await openRaw(app.amqpPort, { channels: [1] });
  client.write(methodFrame(1, { id: MethodId.ChannelFlow, args: { active: true } }));
  const ok = await waitFor(client, (f) => f.method?.id === MethodId.ChannelFlowOk);
  assert.ok(ok?.method?.id === MethodId.ChannelFlowOk && ok.method.args.active === true, `flow-ok active=true (${describeEnd(client)})`);
  client.write(methodFrame(1, { id: MethodId.ChannelFlow, args: { active: false } }));
  const close = await expectConnectionClose(client, 540, 'channel.flow(active=false)');
  assert.deepEqual([close.classId, close.methodId], [20, 20], 'close names channel.flow');
});

test('connection.blocked / unblocked: a publisher is told with the reason and held until the alarm clears', async () => {
  await withApp({}, async (a) => {
    const server = a.running.app.get(AmqpService).server;
    const conn = await amqp.connect(a.amqpUrl);
    const checker = await amqp.connect(a.amqpUrl);
    const incapable = await openRaw(a.amqpPort, { capabilities: {} });
    try {
      const events: string[] = [];
      conn.on('blocked', (reason: string) => events.push(`blocked:${reason}`));
      conn.on('unblocked', () => events.push('unblocked'));
      const ch = await conn.createChannel();
      await ch.assertQueue('blocked-q');
      const cch = await checker.createChannel();
      const drain = async (): Promise<string[]> => {
        const got: string[] = [];
        for (let m = await cch.get('blocked-q', { noAck: true }); m; m = await cch.get('blocked-q', { noAck: true })) got.push(m.content.toString());
        return got;
      };
      ch.sendToQueue('blocked-q', Buffer.from('before'));
      for (let i = 0; i < 500 && (await cch.checkQueue('blocked-q')).messageCount === 0; i++) await sleep(10);
      assert.deepEqual(await drain(), ['before']);

      server.setAlarm('low on memory');
      // RabbitMQ blocks a connection when it publishes during the alarm (that publish may still go through)
      ch.sendToQueue('blocked-q', Buffer.from('trigger'));
      for (let i = 0; i < 500 && events.length === 0; i++) await sleep(10);
      assert.deepEqual(events, ['blocked:low on memory']);
      ch.sendToQueue('blocked-q', Buffer.from('held'));
      await sleep(700);
      const during = await drain();
      assert.ok(!during.includes('held'), `a blocked publisher is not read (got ${JSON.stringify(during)})`);

      // a publisher that connects during the alarm is blocked as well (amqplib records it in .blocked)
      const late = await amqp.connect(a.amqpUrl);
      const lateCh = await late.createChannel();
      lateCh.sendToQueue('nowhere', Buffer.from('late'));
      const lateState = late.connection as unknown as { blocked: boolean };
      for (let i = 0; i < 500 && !lateState.blocked; i++) await sleep(10);
      assert.equal(lateState.blocked, true, 'a publisher connected during the alarm gets connection.blocked');
      await late.close();

      server.setAlarm(null);
      for (let i = 0; i < 500 && events.length < 2; i++) await sleep(10);
      assert.deepEqual(events, ['blocked:low on memory', 'unblocked']);
      const afterwards = [...during];
      for (let i = 0; i < 500 && !afterwards.includes('held'); i++) {
        afterwards.push(...(await drain()));
        await sleep(10);
      }
      assert.deepEqual(afterwards, ['trigger', 'held'], 'held publishes go through, in order, after connection.unblocked');
      assert.equal(
        incapable.frames.some((f) => f.method?.id === MethodId.ConnectionBlocked || f.method?.id === MethodId.ConnectionUnblocked),
        false,
        'no connection.blocked for a client without the capability',
      );
    } finally {
      server.setAlarm(null);
      incapable.close();
      await checker.close();
      await conn.close();
    }
  });
});

test('connection.blocked is for publishers: a connection that never publishes is not blocked (RabbitMQ)', async () => {
  await withApp({}, async (a) => {
    const server = a.running.app.get(AmqpService).server;
    const consumer = await openRaw(a.amqpPort, { capabilities: { 'connection.blocked': true }, channels: [1] });
    try {
      server.setAlarm('low on memory');
      await sleep(500);
      // it can still declare and get while the alarm is on
      consumer.write(queueDeclareFrame(1, 'consumer-only-q'));
      assert.ok(await waitFor(consumer, (f) => f.method?.id === MethodId.QueueDeclareOk), `consumer works during the alarm (${describeEnd(consumer)})`);
      assert.equal(
        consumer.frames.some((f) => f.method?.id === MethodId.ConnectionBlocked),
        false,
        'connection.blocked sent to a connection that has not published during the alarm',
      );
    } finally {
      server.setAlarm(null);
      consumer.close();
    }
  });
});

test('a blocked publisher is not dropped for missed heartbeats while the server is not reading it', async () => {
  const clock = new ManualClock();
  await withApp({ AMQP_HEARTBEAT: '1' }, async (a) => {
    const server = a.running.app.get(AmqpService).server;
    const conn = await amqp.connect(`${a.amqpUrl}?heartbeat=1`);
    const events: string[] = [];
    conn.on('close', (err?: Error) => events.push(`close: ${err?.message ?? 'clean'}`));
    conn.on('error', (err: Error) => events.push(`error: ${err.message}`));
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('hb-blocked-q');
      server.setAlarm('disk alarm');
      ch.sendToQueue('hb-blocked-q', Buffer.from('during the alarm'));
      const state = conn.connection as unknown as { blocked: boolean };
      for (let i = 0; i < 500 && !state.blocked; i++) await sleep(10);
      assert.equal(state.blocked, true, 'connection.blocked received');
      // RabbitMQ pauses its heartbeat monitor for a blocked connection: the client keeps
      // heartbeating, but the server is not reading the socket, so silence is not the client's fault
      for (let tick = 0; tick < 8; tick++) clock.advance(500);
      await serverTurn();
      assert.deepEqual(events, [], 'the blocked connection stays open for 4 heartbeat intervals');
      server.setAlarm(null);
      await roundTrip(conn, 'after the alarm');
    } finally {
      server.setAlarm(null);
      if (events.length === 0) await conn.close();
    }
  }, clock);
});

test('graceful app stop sends connection.close 320 CONNECTION_FORCED to clients', async () => {
  const own = await startTestApp();
  let stopped = false;
  try {
    const conn = await amqp.connect(own.amqpUrl);
    const closed = new Promise<Error | undefined>((resolve) => conn.on('close', resolve));
    conn.on('error', () => undefined);
    const raw = await openRaw(own.amqpPort, { channels: [1] });
    const stopping = own.stop();
    const close = await expectConnectionClose(raw, 320, 'raw client at shutdown');
    assert.match(close.replyText, /CONNECTION_FORCED/);
    const err = (await closed) as (Error & { code?: number }) | undefined;
    assert.equal(err?.code, 320, `amqplib close reason: ${err?.message}`);
    await stopping;
    stopped = true;
    await assert.rejects(RawAmqpClient.connect(own.amqpPort), /ECONNREFUSED/);
  } finally {
    if (!stopped) await own.stop();
    await own.close();
  }
});
