import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VirtualHost } from '#core';
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

function queueWithConsumer(name: string): CollectingConsumer {
  vhost.declareQueue({ name });
  const consumer = new CollectingConsumer(name, 0, { autoAck: true });
  vhost.getQueue(name).addConsumer(consumer);
  return consumer;
}

const kind = errorKind;

test('the default exchange routes by queue name and cannot be bound', () => {
  const c = queueWithConsumer('d1');
  assert.equal(vhost.publish('', message('hello', 'd1')).routed, 1);
  assert.equal(vhost.publish('', message('nowhere', 'missing')).routed, 0);
  assert.deepEqual(c.bodies(), ['hello']);
  assert.equal(kind(() => vhost.bind('queue', 'd1', '', 'x')), 'access-refused');
  assert.equal(kind(() => vhost.unbind('queue', 'd1', '', 'd1')), 'access-refused');
  assert.equal(kind(() => vhost.declareExchange({ name: '', type: 'direct' })), 'access-refused');
  assert.equal(kind(() => vhost.deleteExchange('')), 'access-refused');
});

test('amq.* exchanges are pre-declared with their types and the prefix is reserved', () => {
  assert.equal(vhost.getExchange('amq.direct').type, 'direct');
  assert.equal(vhost.getExchange('amq.fanout').type, 'fanout');
  assert.equal(vhost.getExchange('amq.topic').type, 'topic');
  assert.equal(vhost.getExchange('amq.headers').type, 'headers');
  assert.equal(vhost.getExchange('amq.match').type, 'headers');
  assert.equal(kind(() => vhost.declareExchange({ name: 'amq.custom', type: 'direct' })), 'access-refused');
  assert.equal(vhost.declareExchange({ name: 'amq.direct', type: 'direct', passive: true }).name, 'amq.direct');
  assert.equal(kind(() => vhost.declareQueue({ name: 'amq.q' })), 'access-refused');
});

test('a direct exchange delivers to every binding with the key, once per queue', () => {
  vhost.declareExchange({ name: 'dx', type: 'direct' });
  const a = queueWithConsumer('dx-a');
  const b = queueWithConsumer('dx-b');
  vhost.bind('queue', 'dx-a', 'dx', 'k');
  vhost.bind('queue', 'dx-b', 'dx', 'k');
  vhost.bind('queue', 'dx-a', 'dx', 'k2');
  vhost.bind('queue', 'dx-a', 'dx', 'k', { extra: 1 }); // second binding, same queue and key
  assert.equal(vhost.publish('dx', message('m1', 'k')).routed, 2);
  assert.equal(vhost.publish('dx', message('m2', 'k2')).routed, 1);
  assert.equal(vhost.publish('dx', message('m3', 'other')).routed, 0);
  assert.deepEqual(a.bodies(), ['m1', 'm2']);
  assert.deepEqual(b.bodies(), ['m1']);
  vhost.unbind('queue', 'dx-b', 'dx', 'k');
  assert.equal(vhost.publish('dx', message('m4', 'k')).routed, 1);
});

test('fanout ignores the routing key; topic matches patterns', () => {
  vhost.declareExchange({ name: 'fx', type: 'fanout' });
  const f1 = queueWithConsumer('fx-1');
  const f2 = queueWithConsumer('fx-2');
  vhost.bind('queue', 'fx-1', 'fx', '');
  vhost.bind('queue', 'fx-2', 'fx', 'ignored');
  assert.equal(vhost.publish('fx', message('all', 'whatever')).routed, 2);
  assert.deepEqual([f1.bodies(), f2.bodies()], [['all'], ['all']]);

  vhost.declareExchange({ name: 'tx', type: 'topic' });
  const t1 = queueWithConsumer('tx-1');
  const t2 = queueWithConsumer('tx-2');
  vhost.bind('queue', 'tx-1', 'tx', '*.orange.*');
  vhost.bind('queue', 'tx-2', 'tx', '*.*.rabbit');
  vhost.bind('queue', 'tx-2', 'tx', 'lazy.#');
  for (const key of ['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox', 'lazy.brown.fox', 'quick.brown.fox', 'lazy']) {
    vhost.publish('tx', message(key, key));
  }
  assert.deepEqual(t1.bodies(), ['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox']);
  assert.deepEqual(t2.bodies(), ['quick.orange.rabbit', 'lazy.orange.elephant', 'lazy.brown.fox', 'lazy']);
});

test('headers exchange routes on x-match all/any and refuses bad x-match', () => {
  vhost.declareExchange({ name: 'hx', type: 'headers' });
  const all = queueWithConsumer('hx-all');
  const any = queueWithConsumer('hx-any');
  vhost.bind('queue', 'hx-all', 'hx', '', { 'x-match': 'all', format: 'pdf', type: 'report' });
  vhost.bind('queue', 'hx-any', 'hx', '', { 'x-match': 'any', format: 'pdf', type: 'report' });
  vhost.publish('hx', message('both', '', { headers: { format: 'pdf', type: 'report' } }));
  vhost.publish('hx', message('one', '', { headers: { format: 'pdf', type: 'log' } }));
  vhost.publish('hx', message('none', '', { headers: { format: 'zip' } }));
  vhost.publish('hx', message('no-headers'));
  assert.deepEqual(all.bodies(), ['both']);
  assert.deepEqual(any.bodies(), ['both', 'one']);
  assert.equal(kind(() => vhost.bind('queue', 'hx-all', 'hx', '', { 'x-match': 'some' })), 'precondition-failed');
});

test('exchange-to-exchange bindings route onward, cycles are harmless, a queue gets a message once', () => {
  vhost.declareExchange({ name: 'e-src', type: 'topic' });
  vhost.declareExchange({ name: 'e-mid', type: 'fanout' });
  const q = queueWithConsumer('e-q');
  vhost.bind('exchange', 'e-mid', 'e-src', 'a.#');
  vhost.bind('exchange', 'e-src', 'e-mid', ''); // cycle
  vhost.bind('queue', 'e-q', 'e-mid', '');
  vhost.bind('queue', 'e-q', 'e-src', 'a.b'); // second path to the same queue
  assert.equal(vhost.publish('e-src', message('m', 'a.b')).routed, 1);
  assert.equal(vhost.publish('e-src', message('n', 'b')).routed, 0);
  assert.deepEqual(q.bodies(), ['m']);
  vhost.unbind('exchange', 'e-mid', 'e-src', 'a.#');
  assert.equal(vhost.publish('e-src', message('o', 'a.c')).routed, 0);
});

test('alternate exchange receives what the exchange cannot route', () => {
  vhost.declareExchange({ name: 'ae', type: 'fanout' });
  vhost.declareExchange({ name: 'with-ae', type: 'direct', arguments: { 'alternate-exchange': 'ae' } });
  const main = queueWithConsumer('ae-main');
  const unrouted = queueWithConsumer('ae-unrouted');
  vhost.bind('queue', 'ae-main', 'with-ae', 'known');
  vhost.bind('queue', 'ae-unrouted', 'ae', '');
  vhost.publish('with-ae', message('routed', 'known'));
  vhost.publish('with-ae', message('stray', 'unknown'));
  assert.deepEqual(main.bodies(), ['routed']);
  assert.deepEqual(unrouted.bodies(), ['stray']);
});

test('internal exchanges refuse publishes but route from other exchanges', () => {
  vhost.declareExchange({ name: 'int', type: 'fanout', internal: true });
  vhost.declareExchange({ name: 'front', type: 'fanout' });
  const q = queueWithConsumer('int-q');
  vhost.bind('queue', 'int-q', 'int', '');
  vhost.bind('exchange', 'int', 'front', '');
  assert.equal(kind(() => vhost.publish('int', message('x'))), 'access-refused');
  vhost.publish('front', message('via-front'));
  assert.deepEqual(q.bodies(), ['via-front']);
});

test('unknown exchange is 404; unknown type is 503; re-declare must be equivalent (406)', () => {
  assert.equal(kind(() => vhost.publish('nope', message('x'))), 'not-found');
  assert.equal(kind(() => vhost.declareExchange({ name: 'nope', type: 'direct', passive: true })), 'not-found');
  assert.equal(kind(() => vhost.declareExchange({ name: 'weird', type: 'x-unknown' })), 'invalid-request');
  vhost.declareExchange({ name: 'eq', type: 'direct', durable: false });
  assert.equal(kind(() => vhost.declareExchange({ name: 'eq', type: 'topic' })), 'precondition-failed');
  assert.equal(kind(() => vhost.declareExchange({ name: 'eq', type: 'direct', durable: true })), 'precondition-failed');
  vhost.declareExchange({ name: 'eq', type: 'direct' }); // equivalent: fine
  vhost.deleteExchange('eq');
  vhost.deleteExchange('eq'); // deleting a missing exchange succeeds
  assert.equal(kind(() => vhost.getExchange('eq')), 'not-found');
});

test('exchange delete if-unused, and auto-delete exchanges go with their last binding', () => {
  vhost.declareExchange({ name: 'used', type: 'direct' });
  vhost.declareQueue({ name: 'used-q' });
  vhost.bind('queue', 'used-q', 'used', 'k');
  assert.equal(kind(() => vhost.deleteExchange('used', true)), 'precondition-failed');
  vhost.deleteExchange('used');
  assert.equal(kind(() => vhost.getExchange('used')), 'not-found');

  vhost.declareExchange({ name: 'auto', type: 'direct', autoDelete: true });
  vhost.bind('queue', 'used-q', 'auto', 'a');
  vhost.bind('queue', 'used-q', 'auto', 'b');
  vhost.unbind('queue', 'used-q', 'auto', 'a');
  assert.notEqual(vhost.findExchange('auto'), undefined);
  vhost.unbind('queue', 'used-q', 'auto', 'b');
  assert.equal(vhost.findExchange('auto'), undefined);
  vhost.declareExchange({ name: 'auto2', type: 'fanout', autoDelete: true });
  vhost.bind('queue', 'used-q', 'auto2', '');
  vhost.deleteQueue('used-q');
  assert.equal(vhost.findExchange('auto2'), undefined, 'deleting the bound queue removes the auto-delete exchange');
});

test('exclusive queues belong to their owner (405 for others) and go with it', () => {
  const q = vhost.declareQueue({ name: 'excl', exclusive: true, owner: 'conn-1' });
  assert.equal(kind(() => vhost.getQueue('excl', 'conn-2')), 'resource-locked');
  assert.equal(kind(() => vhost.declareQueue({ name: 'excl', exclusive: true, owner: 'conn-2' })), 'resource-locked');
  assert.equal(vhost.getQueue('excl', 'conn-1'), q);
  vhost.releaseOwner('conn-1');
  assert.equal(kind(() => vhost.getQueue('excl', 'conn-1')), 'not-found');
});

test('server-named queues and queue equivalence', () => {
  const q = vhost.declareQueue({ name: '' });
  assert.match(q.name, /^amq\.gen-[A-Za-z0-9_-]{22}$/);
  vhost.declareQueue({ name: 'qe', durable: false });
  assert.equal(kind(() => vhost.declareQueue({ name: 'qe', durable: true })), 'precondition-failed');
  assert.equal(kind(() => vhost.declareQueue({ name: 'qe', arguments: { 'x-max-priority': 5 } })), 'precondition-failed');
  assert.equal(kind(() => vhost.declareQueue({ name: 'qp', arguments: { 'x-max-priority': 300 } })), 'precondition-failed');
  assert.equal(kind(() => vhost.declareQueue({ name: 'missing', passive: true })), 'not-found');
});

test('deleting a queue or exchange drops exactly the bindings to it, however many exchanges exist; auto-delete sources go with their last binding', () => {
  for (let i = 0; i < 200; i++) vhost.declareExchange({ name: `idle-x-${i}`, type: 'fanout', autoDelete: true });
  vhost.declareExchange({ name: 'src-a', type: 'direct' });
  vhost.declareExchange({ name: 'src-auto', type: 'fanout', autoDelete: true });
  vhost.declareExchange({ name: 'mid', type: 'fanout' });
  vhost.declareQueue({ name: 'inbound-q' });
  vhost.declareQueue({ name: 'other-q' });
  vhost.bind('queue', 'inbound-q', 'src-a', 'k1');
  vhost.bind('queue', 'inbound-q', 'src-a', 'k2');
  vhost.bind('queue', 'other-q', 'src-a', 'k1');
  vhost.bind('queue', 'inbound-q', 'src-auto', '');
  vhost.bind('exchange', 'mid', 'src-a', 'k3');
  vhost.bind('queue', 'other-q', 'mid', '');

  vhost.deleteQueue('inbound-q');
  assert.deepEqual([...vhost.getExchange('src-a').bindings()].map((b) => `${b.destination.name}/${b.routingKey}`).sort(), ['mid/k3', 'other-q/k1']);
  assert.equal(vhost.findExchange('src-auto'), undefined, 'the auto-delete exchange went with its last binding');
  assert.ok(vhost.findExchange('idle-x-7') !== undefined, 'never-bound auto-delete exchanges stay, as in RabbitMQ');

  // a queue declared again under the same name starts with no bindings
  vhost.declareQueue({ name: 'inbound-q' });
  assert.equal(vhost.publish('src-a', message('m', 'k2')).routed, 0);

  vhost.deleteExchange('mid');
  assert.deepEqual([...vhost.getExchange('src-a').bindings()].map((b) => b.destination.name), ['other-q'], 'the e2e binding to mid is gone');
  assert.equal(vhost.publish('src-a', message('m', 'k1')).routed, 1);
});

test('a closing owner releases its exclusive queues and only those', () => {
  vhost.declareQueue({ name: 'excl-1', exclusive: true, owner: 'conn-1' });
  vhost.declareQueue({ name: 'excl-2', exclusive: true, owner: 'conn-1' });
  vhost.declareQueue({ name: 'excl-3', exclusive: true, owner: 'conn-2' });
  vhost.deleteQueue('excl-2', { owner: 'conn-1' });
  vhost.releaseOwner('conn-1');
  assert.equal(vhost.findQueue('excl-1'), undefined);
  assert.ok(vhost.findQueue('excl-3') !== undefined, "another owner's queue stays");
  vhost.releaseOwner('conn-1');
  vhost.releaseOwner('conn-2');
  assert.equal(vhost.findQueue('excl-3'), undefined);
});
