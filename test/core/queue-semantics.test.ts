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

const publishAll = (queue: string, bodies: string[], priority?: number): void => {
  for (const body of bodies) vhost.publish('', message(body, queue, priority === undefined ? {} : { priority }));
};

const kind = errorKind;

test('a plain queue is FIFO and counts its messages', () => {
  const q = vhost.declareQueue({ name: 'fifo' });
  publishAll('fifo', ['1', '2', '3', '4']);
  assert.equal(q.messageCount, 4);
  const c = new CollectingConsumer('c', 0, { autoAck: true });
  q.addConsumer(c);
  assert.deepEqual(c.bodies(), ['1', '2', '3', '4']);
  assert.equal(q.messageCount, 0);
});

test('a priority queue serves higher AMQP priority first, FIFO within a priority, capped at x-max-priority', () => {
  const q = vhost.declareQueue({ name: 'prio', arguments: { 'x-max-priority': 5 } });
  publishAll('prio', ['a0'], 0);
  publishAll('prio', ['b5', 'c5'], 5);
  publishAll('prio', ['d9'], 9); // above the max: treated as 5
  publishAll('prio', ['e1', 'f1'], 1);
  publishAll('prio', ['g-none']); // no priority: 0
  publishAll('prio', ['h3'], 3);
  const c = new CollectingConsumer('c', 0, { autoAck: true });
  q.addConsumer(c);
  assert.deepEqual(c.bodies(), ['b5', 'c5', 'd9', 'h3', 'e1', 'f1', 'a0', 'g-none']);
});

test('priority ordering stays right over thousands of random messages', () => {
  const q = vhost.declareQueue({ name: 'prio-random', arguments: { 'x-max-priority': 9 } });
  const expected: { priority: number; index: number }[] = [];
  for (let i = 0; i < 3000; i++) {
    const priority = Math.floor(Math.random() * 10);
    expected.push({ priority, index: i });
    vhost.publish('', message(String(i), 'prio-random', { priority }));
  }
  expected.sort((a, b) => b.priority - a.priority || a.index - b.index);
  const c = new CollectingConsumer('c', 0, { autoAck: true });
  q.addConsumer(c);
  assert.deepEqual(c.bodies(), expected.map((e) => String(e.index)));
});

test('prefetch credit limits unacked deliveries and acks release more', () => {
  const q = vhost.declareQueue({ name: 'credit' });
  publishAll('credit', ['1', '2', '3', '4', '5']);
  const c = new CollectingConsumer('c', 2);
  q.addConsumer(c);
  assert.deepEqual(c.bodies(), ['1', '2']);
  assert.equal(q.unackedMessageCount, 2);
  assert.equal(q.messageCount, 3);
  c.ack(c.received[0]!);
  assert.deepEqual(c.bodies(), ['1', '2', '3']);
  c.ack(c.received[1]!);
  c.ack(c.received[2]!);
  assert.deepEqual(c.bodies(), ['1', '2', '3', '4', '5']);
});

test('consumers take turns (round-robin) and higher-priority consumers go first while they have credit', () => {
  const q = vhost.declareQueue({ name: 'rr' });
  const a = new CollectingConsumer('a', 0, { autoAck: true });
  const b = new CollectingConsumer('b', 0, { autoAck: true });
  q.addConsumer(a);
  q.addConsumer(b);
  publishAll('rr', ['1', '2', '3', '4']);
  assert.deepEqual(a.bodies(), ['1', '3']);
  assert.deepEqual(b.bodies(), ['2', '4']);

  const p = vhost.declareQueue({ name: 'consumer-prio' });
  const low = new CollectingConsumer('low', 0, { priority: 0 });
  const high = new CollectingConsumer('high', 2, { priority: 10 });
  p.addConsumer(low);
  p.addConsumer(high);
  publishAll('consumer-prio', ['1', '2', '3', '4']);
  assert.deepEqual(high.bodies(), ['1', '2']);
  assert.deepEqual(low.bodies(), ['3', '4']);
  high.ack(high.received[0]!);
  publishAll('consumer-prio', ['5']);
  assert.deepEqual(high.bodies(), ['1', '2', '5']);
});

test('exclusive consumers lock the queue (403)', () => {
  const q = vhost.declareQueue({ name: 'excl-consumer' });
  q.addConsumer(new CollectingConsumer('x', 0, { exclusive: true }));
  assert.equal(kind(() => q.addConsumer(new CollectingConsumer('y'))), 'exclusive-use');
  const r = vhost.declareQueue({ name: 'excl-consumer-2' });
  r.addConsumer(new CollectingConsumer('y'));
  assert.equal(kind(() => r.addConsumer(new CollectingConsumer('x', 0, { exclusive: true }))), 'exclusive-use');
});

test('requeued messages return to their original position with redelivered set', () => {
  const q = vhost.declareQueue({ name: 'requeue' });
  publishAll('requeue', ['1', '2', '3', '4', '5']);
  const c = new CollectingConsumer('c', 3);
  q.addConsumer(c);
  const [m1, m2, m3] = c.received;
  q.removeConsumer(c);
  c.reject(m2!, true);
  c.reject(m1!, true);
  c.ack(m3!);
  const fetched: string[] = [];
  const flags: boolean[] = [];
  for (let e = q.fetch(true); e; e = q.fetch(true)) {
    fetched.push(e.message.body.toString());
    flags.push(e.redelivered);
  }
  assert.deepEqual(fetched, ['1', '2', '4', '5']);
  assert.deepEqual(flags, [true, true, false, false]);
});

test('reject without requeue drops; ack is idempotent per entry', () => {
  const q = vhost.declareQueue({ name: 'drop' });
  publishAll('drop', ['1', '2']);
  const c = new CollectingConsumer('c', 1);
  q.addConsumer(c);
  c.reject(c.received[0]!, false);
  assert.deepEqual(c.bodies(), ['1', '2']);
  c.ack(c.received[1]!);
  q.ack(c.received[1]!); // second ack of the same entry is ignored
  assert.equal(q.unackedMessageCount, 0);
  assert.equal(q.messageCount, 0);
});

test('basic.get style fetch reports remaining count and honours ack mode', () => {
  const q = vhost.declareQueue({ name: 'fetch' });
  publishAll('fetch', ['1', '2', '3']);
  const first = q.fetch(false)!;
  assert.equal(first.message.body.toString(), '1');
  assert.equal(q.messageCount, 2);
  assert.equal(q.unackedMessageCount, 1);
  q.reject(first, true);
  assert.equal(q.fetch(true)!.redelivered, true);
  assert.equal(q.fetch(true)!.message.body.toString(), '2');
  assert.equal(q.fetch(true)!.message.body.toString(), '3');
  assert.equal(q.fetch(true), undefined);
});

test('purge removes ready messages only; delete honours if-unused and if-empty and keeps the queue', () => {
  const q = vhost.declareQueue({ name: 'purge' });
  publishAll('purge', ['1', '2', '3']);
  const c = new CollectingConsumer('c', 1);
  q.addConsumer(c);
  assert.equal(vhost.purgeQueue('purge'), 2);
  assert.equal(q.unackedMessageCount, 1);
  assert.equal(kind(() => vhost.deleteQueue('purge', { ifUnused: true })), 'precondition-failed');
  q.removeConsumer(c);
  c.reject(c.received[0]!, true);
  assert.equal(kind(() => vhost.deleteQueue('purge', { ifEmpty: true })), 'precondition-failed');
  assert.equal(vhost.getQueue('purge'), q, 'a refused delete keeps the queue');
  assert.equal(vhost.deleteQueue('purge'), 1);
  assert.equal(kind(() => vhost.getQueue('purge')), 'not-found');
  assert.equal(vhost.deleteQueue('purge'), 0, 'deleting a missing queue succeeds');
});

test('deleting a queue cancels its consumers; auto-delete queues go with their last consumer', () => {
  const q = vhost.declareQueue({ name: 'cancel' });
  const c = new CollectingConsumer('c');
  q.addConsumer(c);
  vhost.deleteQueue('cancel');
  assert.equal(c.cancelled, true);

  const auto = vhost.declareQueue({ name: 'auto-q', autoDelete: true });
  const a = new CollectingConsumer('a');
  const b = new CollectingConsumer('b');
  auto.addConsumer(a);
  auto.addConsumer(b);
  auto.removeConsumer(a);
  assert.notEqual(vhost.findQueue('auto-q'), undefined);
  auto.removeConsumer(b);
  assert.equal(vhost.findQueue('auto-q'), undefined);
});

test('a long backlog is dispatched in bounded slices that yield to the event loop', async () => {
  const q = vhost.declareQueue({ name: 'yielding' });
  for (let i = 0; i < 20_000; i++) vhost.publish('', message(String(i), 'yielding'));
  const c = new CollectingConsumer('c', 0, { autoAck: true });
  let seenDuringDispatch = -1;
  setImmediate(() => (seenDuringDispatch = c.received.length));
  q.addConsumer(c);
  assert.ok(c.received.length < 20_000, 'the first slice stops before the end');
  while (c.received.length < 20_000) await new Promise((r) => setImmediate(r));
  assert.ok(seenDuringDispatch > 0 && seenDuringDispatch < 20_000, `other callbacks ran mid-way (${seenDuringDispatch})`);
  assert.deepEqual(c.bodies(), Array.from({ length: 20_000 }, (_, i) => String(i)));
});
