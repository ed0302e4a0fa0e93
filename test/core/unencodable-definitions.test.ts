/**
 * Names, routing keys and arguments that come as JSON (the management API) must fit what AMQP and
 * the store write: short strings of at most 255 bytes, field tables nested at most 100 deep. They
 * answered 500 and left a queue in memory that the store never had, or (a routing key of 300
 * bytes) made every delivery of the message close its consumer's connection with 541.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

let app: TestApp;
let api: ManagementClient;

before(async () => {
  app = await startTestApp();
  api = new ManagementClient(app.managementUrl);
});
after(async () => {
  await app?.close();
});

const nested = (levels: number): unknown => {
  let inner: unknown = 1;
  for (let i = 0; i < levels; i++) inner = { a: inner };
  return inner;
};

test('declares and bindings with arguments the store cannot write are a 400, and leave nothing behind', async () => {
  const refusals: [string, string, unknown, RegExp][] = [
    ['PUT', '/api/queues/%2F/deep-args', { durable: true, arguments: { x: nested(101) } }, /^invalid arguments\.x(\.a)+ is nested deeper than 100/],
    ['PUT', '/api/exchanges/%2F/long-arg-name', { type: 'direct', durable: true, arguments: { ['k'.repeat(300)]: 1 } }, /^invalid arguments: the name "k+…" is 300 bytes long/],
    ['POST', '/api/bindings/%2F/e/amq.direct/q/target', { routing_key: 'k', arguments: { y: nested(101) } }, /^invalid arguments\.y/],
  ];
  assert.equal((await api.put('/api/queues/%2F/target', { durable: true })).status, 201);
  for (const [method, path, body, reason] of refusals) {
    const answer = await api.request(method, path, body);
    assert.equal(answer.status, 400, `${method} ${path}: ${answer.text.slice(0, 300)}`);
    assert.equal((answer.json as { error: string }).error, 'bad_request');
    assert.match((answer.json as { reason: string }).reason, reason);
  }
  assert.equal((await api.request('GET', '/api/queues/%2F/deep-args')).status, 404, 'no queue was declared');
  assert.equal((await api.request('GET', '/api/exchanges/%2F/long-arg-name')).status, 404, 'no exchange was declared');
  assert.deepEqual(await api.get('/api/queues/%2F/target/bindings').then((b) => (b as unknown as unknown[]).length), 1, 'only the default binding');
  // definitions come through the same declares
  const imported = await api.post('/api/definitions', { queues: [{ name: 'q'.repeat(300), vhost: '/', durable: true, auto_delete: false, arguments: {} }] });
  assert.ok(imported.status >= 400 && imported.status < 500, `definitions with a 300-byte queue name: ${imported.status} ${imported.text.slice(0, 200)}`);
  assert.match(imported.text, /queue should be less than 255 bytes, actually was 300/);
});

test('a publish with a routing key over 255 bytes is a 400; the queue and its consumers are not touched', async () => {
  assert.equal((await api.put('/api/queues/%2F/rk', { durable: true })).status, 201);
  assert.equal((await api.post('/api/bindings/%2F/e/amq.fanout/q/rk', { routing_key: '' })).status, 201);
  const long = await api.post('/api/exchanges/%2F/amq.fanout/publish', { routing_key: 'k'.repeat(300), payload: 'x', payload_encoding: 'string', properties: {} });
  assert.equal(long.status, 400, long.text);
  assert.match((long.json as { reason: string }).reason, /^routing key should be less than 255 bytes, actually was 300$/);
  const fine = await api.post('/api/exchanges/%2F/amq.fanout/publish', { routing_key: 'é'.repeat(127), payload: 'kept', payload_encoding: 'string', properties: {} });
  assert.equal(fine.status, 200, fine.text);
  const connection = await amqp.connect(app.amqpUrl);
  try {
    const channel = await connection.createChannel();
    const got = await new Promise<amqp.ConsumeMessage>((resolve, reject) => {
      channel.on('close', () => reject(new Error('the channel closed')));
      void channel.consume('rk', (message) => message && resolve(message), { noAck: true });
    });
    assert.equal(got.content.toString(), 'kept');
    assert.equal(got.fields.routingKey, 'é'.repeat(127));
  } finally {
    await connection.close();
  }
});
