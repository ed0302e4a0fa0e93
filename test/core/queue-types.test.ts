/**
 * The queue-type seam: declarations find their type by x-queue-type, each type's rules apply
 * (quorum's in one place), and a queue is used only through the Queue interface whatever its type.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { renderedHeaders, VirtualHost } from '#core';
import { errorKind } from '../support/broker-error-kind';
import { CollectingConsumer } from '../support/collecting-consumer';
import { message, openMemoryBroker } from '../support/test-broker';

let vhost: VirtualHost;
let close: () => Promise<void>;

before(async () => {
  const opened = await openMemoryBroker();
  vhost = opened.broker.defaultVhost;
  close = opened.close;
});
after(() => close());

test('x-queue-type picks the type: classic by default, quorum by name; stream and unknown types are refused', () => {
  assert.equal(vhost.declareQueue({ name: 'qt-default' }).snapshot().type, 'classic');
  assert.equal(vhost.declareQueue({ name: 'qt-classic', arguments: { 'x-queue-type': 'classic' } }).snapshot().type, 'classic');
  const quorum = vhost.declareQueue({ name: 'qt-quorum', durable: true, arguments: { 'x-queue-type': 'quorum' } });
  assert.equal(quorum.snapshot().type, 'quorum');
  assert.equal(quorum.features.deliveryLimit, 20, "RabbitMQ 4's default delivery limit");
  assert.equal(vhost.declareQueue({ name: 'qt-classic-limit' }).features.deliveryLimit, null);
  assert.equal(errorKind(() => vhost.declareQueue({ name: 'qt-stream', durable: true, arguments: { 'x-queue-type': 'stream' } })), 'precondition-failed');
  assert.equal(errorKind(() => vhost.declareQueue({ name: 'qt-odd', arguments: { 'x-queue-type': 'odd' } })), 'precondition-failed');
  assert.equal(errorKind(() => vhost.declareQueue({ name: 'qt-odd', arguments: { 'x-queue-type': 7 } })), 'precondition-failed');
  assert.equal(vhost.findQueue('qt-stream'), undefined);
});

test("a quorum queue's own rules: durable, not exclusive, not auto-delete; a requeued message carries x-delivery-count", () => {
  for (const [name, properties] of [
    ['qt-q-transient', { durable: false }],
    ['qt-q-exclusive', { durable: true, exclusive: true, owner: 'c1' }],
    ['qt-q-auto', { durable: true, autoDelete: true }],
  ] as const) {
    assert.equal(errorKind(() => vhost.declareQueue({ name, ...properties, arguments: { 'x-queue-type': 'quorum' } })), 'precondition-failed', name);
  }
  const queue = vhost.declareQueue({ name: 'qt-q-redeliver', durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const consumer = new CollectingConsumer('c', 1);
  queue.addConsumer(consumer);
  vhost.publish('', message('again', 'qt-q-redeliver'));
  const first = consumer.received[0]!;
  assert.equal(renderedHeaders(first.message)?.['x-delivery-count'], undefined);
  consumer.unacked--;
  queue.reject(first, true);
  const second = consumer.received[1]!;
  assert.equal(renderedHeaders(second.message)?.['x-delivery-count'], 1);
});
