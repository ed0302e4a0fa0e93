/**
 * AMQP input is stored and forwarded as received, but the broker builds copies from its decoded
 * properties (a dead-lettered message with x-death, a delayed message held and released): those
 * are encoded again. The decoder promises they can be. Published over a raw socket with
 * properties no JS client would write (255 bytes of invalid UTF-8 in a short string and a header
 * name, timestamps of 2^64-1, 100 nested tables), persistent into durable queues: the copies
 * are stored, survive a restart, and reach amqplib. Before, the store's flush threw and the
 * broker process exited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { MAX_FIELD_NESTING } from '#core';
import { MethodId } from '../../libs/amqp/src/codec/index';
import { freePort } from '../support/app-harness';
import { methodFrame, openRaw, rawFrame, RawAmqpClient } from '../support/amqp-wire';
import { startBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';

const shortStr = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([bytes.length]), bytes]);
const u64 = (value: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
};
const u32 = (value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
};
const table = (...entries: Buffer[]): Buffer => {
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
};
const entry = (key: Buffer | string, type: string, value: Buffer): Buffer =>
  Buffer.concat([shortStr(typeof key === 'string' ? Buffer.from(key) : key), Buffer.from(type, 'latin1'), value]);

/** content-type, headers, delivery-mode 2, message-id and timestamp, written by hand. */
function oddProperties(messageId: string, extraHeaders: Buffer[] = []): Buffer {
  const invalid = Buffer.alloc(255, 0xff);
  let deep = table(entry('leaf', 'I', u32(7)));
  for (let i = 2; i < MAX_FIELD_NESTING; i++) deep = table(entry('n', 'F', deep));
  const headers = table(
    entry(invalid, 'S', Buffer.concat([u32(3), Buffer.from('odd')])),
    entry('t', 'T', u64(2n ** 64n - 1n)),
    entry('deep', 'F', deep),
    ...extraHeaders,
  );
  const flags = 0x8000 | 0x2000 | 0x1000 | 0x0080 | 0x0040;
  return Buffer.concat([u32(flags).subarray(2), shortStr(invalid), headers, Buffer.from([2]), shortStr(Buffer.from(messageId)), u64(2n ** 64n - 1n)]);
}

function publishRaw(client: RawAmqpClient, exchange: string, routingKey: string, properties: Buffer, body: string): void {
  const header = Buffer.concat([Buffer.from([0, 60, 0, 0]), u64(BigInt(Buffer.byteLength(body))), properties]);
  client.write(
    Buffer.concat([
      methodFrame(1, { id: MethodId.BasicPublish, args: { exchange, routingKey, mandatory: false, immediate: false } }),
      rawFrame(2, 1, header),
      rawFrame(3, 1, Buffer.from(body)),
    ]),
  );
}

async function take(url: string, queue: string, count: number, settle: (channel: amqp.Channel, message: amqp.ConsumeMessage) => void): Promise<amqp.ConsumeMessage[]> {
  const connection = await amqp.connect(url);
  const errors: string[] = [];
  connection.on('error', (error: Error) => errors.push(String(error)));
  const channel = await connection.createChannel();
  channel.on('error', (error: Error) => errors.push(String(error)));
  const got: amqp.ConsumeMessage[] = [];
  await channel.consume(queue, (message) => {
    if (message === null) return;
    got.push(message);
    settle(channel, message);
  });
  const deadline = Date.now() + 10_000;
  while (got.length < count && errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(errors, [], `no channel or connection error consuming ${queue}`);
  await connection.close();
  return got;
}

test('dead-lettered and delayed copies of odd AMQP properties are stored, recovered and delivered', async () => {
  const dir = tempDir();
  const env = {
    DATA_DIR: dir.path,
    AMQP_PORT: String(await freePort()),
    MANAGEMENT_PORT: String(await freePort()),
    JOBS_PORT: String(await freePort()),
    DISPATCH_PORT: String(await freePort()),
    BIND_HOST: '127.0.0.1',
  };
  const url = `amqp://guest:guest@127.0.0.1:${env.AMQP_PORT}`;
  let proc = await startBrokerProcess(env);
  try {
    const setup = await amqp.connect(url);
    const channel = await setup.createChannel();
    await channel.assertExchange('dlx', 'fanout', { durable: true });
    await channel.assertQueue('dlq', { durable: true });
    await channel.bindQueue('dlq', 'dlx', '');
    await channel.assertQueue('work', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx' } });
    await channel.assertExchange('later', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
    await channel.assertQueue('due', { durable: true });
    await channel.bindQueue('due', 'later', 'due');
    await setup.close();

    const raw = await openRaw(Number(env.AMQP_PORT), { channels: [1] });
    publishRaw(raw, '', 'work', oddProperties('to-be-rejected'), 'rejected-body');
    publishRaw(raw, 'later', 'due', oddProperties('delayed', [entry('x-delay', 'I', u32(300))]), 'delayed-body');

    // the original as published reaches a consumer byte for byte; rejected, its copy goes to dlq
    const originals = await take(url, 'work', 1, (ch, message) => ch.nack(message, false, false));
    assert.equal(originals.length, 1);
    assert.equal(originals[0]!.properties.messageId, 'to-be-rejected');
    raw.close();
    await new Promise((r) => setTimeout(r, 600)); // the delayed message falls due, the copy is committed
    assert.equal(proc.child.exitCode, null, `the broker is alive: ${proc.stderr.slice(0, 500)}`);

    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
    proc = await startBrokerProcess(env);

    for (const [queue, id, body] of [
      ['dlq', 'to-be-rejected', 'rejected-body'],
      ['due', 'delayed', 'delayed-body'],
    ] as const) {
      const [copy] = await take(url, queue, 1, (ch, message) => ch.ack(message));
      assert.ok(copy, `the copy in ${queue} came back after the restart`);
      assert.equal(copy.content.toString(), body);
      assert.equal(copy.properties.messageId, id);
      assert.equal(copy.properties.deliveryMode, 2);
      assert.ok(Buffer.byteLength(copy.properties.contentType as string) <= 255, 'the content type is a short string again');
      const headers = copy.properties.headers as Record<string, unknown>;
      let depth = 1;
      for (let t = headers.deep as Record<string, unknown>; t.n !== undefined; t = t.n as Record<string, unknown>) depth++;
      assert.equal(depth, MAX_FIELD_NESTING - 1, 'the nesting is kept');
      if (queue === 'dlq') assert.ok(Array.isArray(headers['x-death']), 'the dead-letter copy has its x-death');
    }
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
    dir.cleanup();
  }
});
