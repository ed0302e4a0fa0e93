/** Read-only snapshots of what the broker holds (on the in-memory store). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Broker, VirtualHost } from '#core';
import { CollectingConsumer } from '../support/collecting-consumer';
import { message, openMemoryBroker } from '../support/test-broker';

let broker: Broker;
let vhost: VirtualHost;
let close: () => Promise<void>;

before(async () => {
  const opened = await openMemoryBroker();
  broker = opened.broker;
  vhost = broker.defaultVhost;
  close = opened.close;
});
after(() => close());

test('queue snapshots count ready, unacked, delayed messages and bytes, and cumulative stats', () => {
  vhost.declareQueue({ name: 'snap-q', durable: true, arguments: { 'x-max-priority': 3 } });
  for (const body of ['aa', 'bbb', 'cccc']) vhost.publish('', message(body, 'snap-q'));
  vhost.publish('', message('later', 'snap-q', { headers: { 'x-not-before': Date.now() + 60_000 } }));
  const consumer = new CollectingConsumer('c1', 1);
  vhost.getQueue('snap-q').addConsumer(consumer);
  const snap = vhost.getQueue('snap-q').snapshot();
  assert.deepEqual(
    {
      name: snap.name,
      vhost: snap.vhost,
      durable: snap.durable,
      exclusive: snap.exclusive,
      order: snap.order,
      ready: snap.messagesReady,
      unacked: snap.messagesUnacknowledged,
      delayed: snap.messagesDelayed,
      readyBytes: snap.messageBytesReady,
      unackedBytes: snap.messageBytesUnacknowledged,
      consumers: snap.consumers,
    },
    { name: 'snap-q', vhost: '/', durable: true, exclusive: false, order: 'priority', ready: 2, unacked: 1, delayed: 1, readyBytes: 7, unackedBytes: 2, consumers: 1 },
  );
  assert.deepEqual(snap.arguments, { 'x-max-priority': 3 });
  assert.equal(snap.stats.published, 4);
  assert.equal(snap.stats.delivered, 1);
  assert.equal(snap.stats.acked, 0);
  consumer.ack(consumer.received[0]!);
  const after = vhost.getQueue('snap-q').snapshot();
  assert.equal(after.stats.acked, 1);
  assert.equal(after.stats.delivered, 2, 'the ack freed credit for the next delivery');
  assert.ok(after.memoryBytes > 0);
});

test('consumer, exchange, binding and vhost snapshots', () => {
  vhost.declareExchange({ name: 'snap-x', type: 'topic', durable: true });
  vhost.declareQueue({ name: 'snap-bound' });
  vhost.bind('queue', 'snap-bound', 'snap-x', 'a.#', { k: 'v' });
  const exchange = vhost.exchangeSnapshots().find((e) => e.name === 'snap-x');
  assert.deepEqual(exchange, { vhost: '/', name: 'snap-x', type: 'topic', durable: true, autoDelete: false, internal: false, arguments: {}, bindings: 1, messagesDelayed: null });
  assert.ok(vhost.exchangeSnapshots().some((e) => e.name === 'amq.topic'), 'predeclared exchanges are listed');
  const bindings = vhost.bindingSnapshots().filter((b) => b.destination === 'snap-bound');
  assert.deepEqual(
    bindings.map(({ source, destinationKind, routingKey, arguments: args }) => ({ source, destinationKind, routingKey, args })),
    [
      { source: '', destinationKind: 'queue', routingKey: 'snap-bound', args: {} },
      { source: 'snap-x', destinationKind: 'queue', routingKey: 'a.#', args: { k: 'v' } },
    ],
    'the default exchange binding first, as RabbitMQ lists them',
  );
  const consumers = vhost.consumerSnapshots().filter((c) => c.queue === 'snap-q');
  assert.deepEqual(
    consumers.map(({ tag, ackRequired, exclusive, owner }) => ({ tag, ackRequired, exclusive, owner })),
    [{ tag: 'c1', ackRequired: true, exclusive: false, owner: null }],
  );
  const vhostSnap = broker.snapshot().vhosts.find((v) => v.name === '/')!;
  assert.equal(vhostSnap.queues, vhost.queueSnapshots().length);
  assert.equal(vhostSnap.consumers, 1);
  assert.equal(broker.snapshot().counters.published, vhostSnap.messagesReady + vhostSnap.messagesUnacknowledged + 2, 'one acked, one delayed');
});
