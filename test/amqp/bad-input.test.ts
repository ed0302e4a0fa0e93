/**
 * Bugs found under bad input, each with its regression test: byte-length short strings, names
 * that are not UTF-8, and message bodies that must not pin the socket's read buffers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import {
  channelOpenFrame,
  describeEnd,
  expectConnectionClose,
  methodFrame,
  openRaw,
  publishFrames,
  queueDeclareFrame,
  rawMethodFrame,
  waitChannelClose,
  waitFor,
} from '../support/amqp-wire';
import { MethodId } from '../../libs/amqp/src/codec/index';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app?.close();
});

/** 127 two-byte characters: a valid 254-byte short string. */
const LONG_NAME = 'ж'.repeat(127);

test('a reply text quoting a 254-byte name is cut to 255 bytes at a character boundary; no broken frame, the connection goes on', async () => {
  const client = await openRaw(app.amqpPort, { channels: [1, 2] });
  try {
    client.write(queueDeclareFrame(1, LONG_NAME, { passive: true }));
    const close = await waitChannelClose(client, 1, 5000);
    assert.equal(close?.replyCode, 404, `passive declare of a missing queue (${describeEnd(client)})`);
    const bytes = Buffer.byteLength(close!.replyText);
    assert.ok(bytes <= 255, `${bytes} bytes`);
    assert.ok(close!.replyText.startsWith("NOT_FOUND - no queue 'жжж"), close!.replyText);
    assert.ok(!close!.replyText.includes('\ufffd'), 'cut between characters, not inside one');

    client.write(publishFrames(2, LONG_NAME, 'k', Buffer.from('x')));
    const second = await waitChannelClose(client, 2, 5000);
    assert.equal(second?.replyCode, 404, 'publish to a missing exchange with such a name');
    assert.ok(Buffer.byteLength(second!.replyText) <= 255);

    // the stream is intact: channel 3 opens and declares normally
    const from = client.frames.length;
    client.write(Buffer.concat([channelOpenFrame(3), queueDeclareFrame(3, LONG_NAME)]));
    const ok = await waitFor(client, (f) => f.channel === 3 && f.method?.id === MethodId.QueueDeclareOk, 5000, from);
    assert.ok(ok, `declare-ok after the errors (${describeEnd(client)})`);
    assert.equal((ok.method!.args as { queue: string }).queue, LONG_NAME, 'the name is echoed byte for byte');
    assert.equal(client.closed, false);
  } finally {
    client.close();
  }
});

/** queue.declare with the queue name given as raw bytes. */
function declareWithRawName(channel: number, name: Buffer): Buffer {
  const args = Buffer.concat([Buffer.from([0, 0]), Buffer.from([name.length]), name, Buffer.from([0]), Buffer.from([0, 0, 0, 0])]);
  return rawMethodFrame(channel, 50, 10, args);
}

test('names that are not valid UTF-8 are refused with a clear error instead of merging into one', async () => {
  for (const name of [Buffer.from([0x71, 0xff]), Buffer.from([0x71, 0xfe])]) {
    const client = await openRaw(app.amqpPort, { channels: [1] });
    try {
      client.write(declareWithRawName(1, name));
      const close = await expectConnectionClose(client, 502, `declare of ${name.toString('hex')}`);
      assert.match(close.replyText, /queue\.declare queue is not valid UTF-8/);
    } finally {
      client.close();
    }
  }
  assert.equal(app.broker.defaultVhost.findQueue('q\ufffd'), undefined, 'no merged queue was created');
  // a real U+FFFD in a name is valid UTF-8 and works
  const client = await openRaw(app.amqpPort, { channels: [1] });
  try {
    client.write(queueDeclareFrame(1, 'q\ufffd'));
    assert.ok(await waitFor(client, (f) => f.method?.id === MethodId.QueueDeclareOk, 5000));
  } finally {
    client.close();
  }
});

test('message bodies are copied out of the read they arrived in: 2,000 small messages hold little memory', async () => {
  const client = await openRaw(app.amqpPort, { channels: [1] });
  try {
    client.write(queueDeclareFrame(1, 'pin-q'));
    await waitFor(client, (f) => f.method?.id === MethodId.QueueDeclareOk, 5000);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 2000; i++) {
      client.write(publishFrames(1, '', 'pin-q', Buffer.alloc(100, 65)));
      // one publish per read: let the server read it before the next is written
      await new Promise((resolve) => setImmediate(resolve));
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    for (let i = 0; i < 100 && app.broker.defaultVhost.getQueue('pin-q').messageCount < 2000; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(app.broker.defaultVhost.getQueue('pin-q').messageCount, 2000);
    gc?.();
    const held = process.memoryUsage().arrayBuffers - before;
    // a body pinning its 64 KiB read chunk would hold over 100 MB here; copied out, about 0.3 MB
    assert.ok(held < 8 * 1024 * 1024, `${(held / 1048576).toFixed(1)} MB of buffers held for 2,000 bodies of 100 bytes`);
  } finally {
    client.close();
  }
});

test('a 255-byte consumer tag (the longest short string) is echoed whole in consume-ok', async () => {
  const client = await openRaw(app.amqpPort, { channels: [1] });
  try {
    // a consumer tag is a short string: 255 bytes of it are fine, and echoed in consume-ok
    const tag = 'x'.repeat(255);
    client.write(queueDeclareFrame(1, 'tag-q'));
    client.write(methodFrame(1, { id: MethodId.BasicConsume, args: { queue: 'tag-q', consumerTag: tag, noLocal: false, noAck: true, exclusive: false, noWait: false, arguments: {} } }));
    const ok = await waitFor(client, (f) => f.method?.id === MethodId.BasicConsumeOk, 5000);
    assert.equal((ok?.method?.args as { consumerTag: string }).consumerTag, tag);
  } finally {
    client.close();
  }
});
