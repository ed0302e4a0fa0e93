/**
 * The intake's outcome (VirtualHost.publish): one immutable answer per publish that every door
 * reads, routed (with what to wait for), unroutable, or refused (by a queue's reject-publish
 * limit, or by a resource alarm for doors that refuse); and a consumer publishing while a
 * publish is being enqueued does not disturb it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Broker, NO_COMMIT_NEEDED, QueueEntry, VirtualHost } from '#core';
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

test('a routed publish gets a frozen outcome; in-memory ones are shared, durable ones shared within a store batch', () => {
  vhost.declareQueue({ name: 'out-transient' });
  const first = vhost.publish('', message('a', 'out-transient'));
  assert.equal(first.kind, 'routed');
  assert.equal(first.routed, 1);
  assert.equal(first.commitToken, NO_COMMIT_NEEDED);
  assert.equal(first.refusal, null);
  assert.ok(Object.isFrozen(first));
  assert.equal(vhost.publish('', message('b', 'out-transient')), first, 'no allocation per in-memory publish');

  vhost.declareQueue({ name: 'out-durable', durable: true });
  const persistent = vhost.publish('', message('c', 'out-durable', { deliveryMode: 2 }));
  assert.equal(persistent.kind, 'routed');
  assert.notEqual(persistent.commitToken, NO_COMMIT_NEEDED);
  assert.ok(Object.isFrozen(persistent));
  assert.equal(vhost.publish('', message('d', 'out-durable', { deliveryMode: 2 })), persistent, 'one outcome per store batch');
});

test('an unroutable publish says so', () => {
  const outcome = vhost.publish('', message('x', 'no-such-queue'));
  assert.equal(outcome.kind, 'unroutable');
  assert.equal(outcome.routed, 0);
  assert.ok(Object.isFrozen(outcome));
});

test('a queue at its reject-publish limit refuses: the outcome names the queue and the overflow mode, earlier outcomes stay as they were', () => {
  vhost.declareQueue({ name: 'out-bounded', arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
  const kept = vhost.publish('', message('one', 'out-bounded'));
  const refused = vhost.publish('', message('two', 'out-bounded'));
  assert.equal(kept.kind, 'routed');
  assert.equal(refused.kind, 'refused');
  assert.ok(refused.kind === 'refused' && refused.refusal.reason === 'length-limit');
  assert.equal(refused.refusal.queue.name, 'out-bounded');
  assert.equal(refused.refusal.overflow, 'reject-publish');
  assert.equal(refused.routed, 1);
  assert.equal(vhost.getQueue('out-bounded').messageCount, 1);
});

test('a resource alarm refuses the publish of a door that asks for it, and only that', () => {
  vhost.declareQueue({ name: 'out-alarm' });
  broker.alarms.set('memory: test');
  try {
    const refused = vhost.publish('', message('refused', 'out-alarm'), 'refuse');
    assert.equal(refused.kind, 'refused');
    assert.deepEqual(refused.refusal, { reason: 'resource-alarm', alarm: 'memory: test' });
    assert.deepEqual(vhost.alarmRefusal()?.refusal, { reason: 'resource-alarm', alarm: 'memory: test' });
    assert.equal(vhost.publish('', message('accepted', 'out-alarm')).kind, 'routed');
    assert.equal(vhost.getQueue('out-alarm').messageCount, 1);
  } finally {
    broker.alarms.set(null);
  }
  assert.equal(vhost.alarmRefusal(), null);
  assert.equal(vhost.publish('', message('after', 'out-alarm'), 'refuse').kind, 'routed');
});

test('a consumer that publishes while a fan-out is being enqueued neither cuts the fan-out short nor changes its outcome', () => {
  for (const name of ['out-fan-1', 'out-fan-2', 'out-side']) vhost.declareQueue({ name });
  vhost.declareExchange({ name: 'out-fan', type: 'fanout' });
  vhost.bind('queue', 'out-fan-1', 'out-fan', '');
  vhost.bind('queue', 'out-fan-2', 'out-fan', '');
  const republisher = new CollectingConsumer('republisher', 0, { autoAck: true });
  const deliver = republisher.deliver.bind(republisher);
  republisher.deliver = (entry: QueueEntry): void => {
    deliver(entry);
    assert.equal(vhost.publish('', message('side', 'out-side')).routed, 1);
  };
  vhost.getQueue('out-fan-1').addConsumer(republisher);
  const outcome = vhost.publish('out-fan', message('fan'));
  assert.equal(outcome.kind, 'routed');
  assert.equal(outcome.routed, 2);
  assert.equal(republisher.received.length, 1);
  assert.equal(vhost.getQueue('out-fan-2').messageCount, 1, 'the second queue of the fan-out got it too');
  assert.equal(vhost.getQueue('out-side').messageCount, 1);
});
