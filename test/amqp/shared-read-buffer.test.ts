/**
 * Every plain-TCP connection reads through one shared buffer, which the next read of any
 * connection overwrites. What the broker keeps of a frame (a content header waiting for its body,
 * the arguments of a binding, a small body) must therefore be its own copy. Each test leaves
 * something behind, lets another connection push a few megabytes through the buffer, and then
 * checks that what was left behind is intact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { channel, closeQuietly, connect, getOne, TrackedChannel, TrackedConnection } from '../support/amqp-e2e';
import { bytes, openRaw } from '../support/amqp-wire';
import { encodeContent, encodeMethodFrame, MethodId } from '../../libs/amqp/src/codec/index';

let app: TestApp;
let conn: TrackedConnection;
let ch: TrackedChannel;

before(async () => {
  app = await startTestApp();
  conn = await connect(app.amqpUrl);
  ch = await channel(conn);
  await ch.assertQueue('noise', { durable: false });
});

after(async () => {
  await closeQuietly(conn);
  await app.close();
});

/** Pushes about 4 MB of 0x5a bytes through the broker's read buffer and waits until all was read. */
async function overwriteReadBuffer(): Promise<void> {
  for (let i = 0; i < 20; i++) ch.sendToQueue('noise', Buffer.alloc(200_000, 0x5a));
  await ch.checkQueue('noise'); // the answer comes after every publish before it was read
  await ch.purgeQueue('noise');
}

test('a content header waiting for its body keeps its properties while other connections read', async () => {
  await ch.assertQueue('split-publish', { durable: false });
  const properties = {
    messageId: 'split-1',
    contentType: 'application/x-test',
    headers: { token: 'header-value-that-must-survive', raw: Buffer.from('byte array value') },
  };
  const body = Buffer.from('the body, sent in a later read');
  const frames = bytes((w) => {
    encodeMethodFrame(w, 1, { id: MethodId.BasicPublish, args: { exchange: '', routingKey: 'split-publish', mandatory: false, immediate: false } });
    encodeContent(w, 1, properties, body, 131072);
  });
  const bodyFrameSize = 8 + body.length;
  const raw = await openRaw(app.amqpPort, { channels: [1] });
  try {
    raw.write(frames.subarray(0, frames.length - bodyFrameSize)); // basic.publish and the content header
    await new Promise((resolve) => setTimeout(resolve, 100));
    await overwriteReadBuffer();
    raw.write(frames.subarray(frames.length - bodyFrameSize));
    const message = await getOne(ch, 'split-publish');
    assert.equal(message.content.toString(), body.toString());
    assert.equal(message.properties.messageId, 'split-1');
    assert.equal(message.properties.contentType, 'application/x-test');
    assert.equal(message.properties.headers?.token, 'header-value-that-must-survive');
    assert.deepEqual(message.properties.headers?.raw, Buffer.from('byte array value'));
  } finally {
    raw.close();
  }
});

test('binding arguments with a byte array still match after other connections read', async () => {
  await ch.assertExchange('by-token', 'headers', { durable: false });
  await ch.assertQueue('token-holders', { durable: false });
  const token = Buffer.from('a byte array the binding keeps');
  await ch.bindQueue('token-holders', 'by-token', '', { 'x-match': 'all', token });
  await overwriteReadBuffer();
  ch.publish('by-token', '', Buffer.from('routed by a byte array'), { headers: { token } });
  ch.publish('by-token', '', Buffer.from('not routed'), { headers: { token: Buffer.alloc(token.length, 0x5a) } });
  const message = await getOne(ch, 'token-holders');
  assert.equal(message.content.toString(), 'routed by a byte array');
  assert.equal((await ch.checkQueue('token-holders')).messageCount, 0);
});

test('small queued bodies are the broker’s own copies, not views of the read buffer', async () => {
  await ch.assertQueue('small-bodies', { durable: false });
  const sent = Array.from({ length: 200 }, (_, i) => Buffer.from(`small body ${i} `.repeat(1 + (i % 7))));
  for (const body of sent) ch.sendToQueue('small-bodies', body);
  await ch.checkQueue('small-bodies');
  await overwriteReadBuffer();
  for (const body of sent) assert.deepEqual((await getOne(ch, 'small-bodies')).content, body);
});
