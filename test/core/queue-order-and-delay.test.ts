import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Broker, BrokerError, QueueEntry, VirtualHost } from '#core';
import { CollectingConsumer } from '../support/collecting-consumer';
import { message, openTestBroker } from '../support/test-broker';
import { tempDir } from '../support/temp-dir';

let broker: Broker;
let vhost: VirtualHost;
let close: () => Promise<void>;

before(async () => {
  const opened = await openTestBroker({ queueMemoryBudget: 16 * 1024 });
  broker = opened.broker;
  vhost = broker.defaultVhost;
  close = opened.close;
});
after(() => close());

const drainAll = (name: string): string[] => {
  const q = vhost.getQueue(name);
  const out: string[] = [];
  for (let e = q.fetch(true); e; e = q.fetch(true)) out.push(e.message.body.toString());
  return out;
};

test('rank queues serve lower x-rank first, FIFO within a rank; no header = 512 minus AMQP priority', () => {
  vhost.declareQueue({ name: 'ranked', arguments: { 'x-queue-order': 'rank' } });
  const jobs: [string, number | undefined, number | undefined][] = [
    ['r10-a', 10, undefined],
    ['r0', 0, undefined],
    ['r10-b', 10, undefined],
    ['default', undefined, undefined], // 512
    ['amqp-p9', undefined, 9], // 503
    ['r4294967295', 4294967295, undefined],
    ['r512', 512, undefined],
  ];
  for (const [body, rank, priority] of jobs) {
    vhost.publish('', message(body, 'ranked', { headers: rank === undefined ? undefined : { 'x-rank': rank }, priority }));
  }
  assert.deepEqual(drainAll('ranked'), ['r0', 'r10-a', 'r10-b', 'amqp-p9', 'default', 'r512', 'r4294967295']);
});

test('rank ordering holds over thousands of random ranks, including paged-out ones', async () => {
  const q = vhost.declareQueue({ name: 'ranked-many', durable: true, arguments: { 'x-queue-order': 'rank' } });
  const expected: { rank: number; i: number }[] = [];
  for (let i = 0; i < 4000; i++) {
    const rank = Math.floor(Math.random() * 20) * 1000;
    expected.push({ rank, i });
    vhost.publish('', message(`job-${i}`.padEnd(64, '.'), 'ranked-many', { deliveryMode: 2, headers: { 'x-rank': rank } }));
  }
  assert.ok(q.pagedCount > 0, 'some of it is paged out under the small budget');
  expected.sort((a, b) => a.rank - b.rank || a.i - b.i);
  const listed: string[] = [];
  await q.list((entry) => {
    listed.push(entry.message.body.toString());
    return true;
  });
  assert.deepEqual(listed, expected.map((e) => `job-${e.i}`.padEnd(64, '.')), 'listing is in dispatch order');
  assert.deepEqual(drainAll('ranked-many'), listed);
});

test('x-queue-order and x-max-priority cannot be combined; unknown orders are refused', () => {
  assert.throws(
    () => vhost.declareQueue({ name: 'bad-order', arguments: { 'x-queue-order': 'rank', 'x-max-priority': 5 } }),
    (e: unknown) => e instanceof BrokerError && e.kind === 'precondition-failed',
  );
  assert.throws(
    () => vhost.declareQueue({ name: 'bad-order2', arguments: { 'x-queue-order': 'lifo' } }),
    (e: unknown) => e instanceof BrokerError && e.kind === 'precondition-failed',
  );
});

test('messages with a future x-not-before wait in the delayed set, then join in their place', async () => {
  const q = vhost.declareQueue({ name: 'delayed' });
  const c = new CollectingConsumer('c', 0, { autoAck: true });
  q.addConsumer(c);
  const soon = Date.now() + 150;
  vhost.publish('', message('later', 'delayed', { headers: { 'x-not-before': soon } }));
  vhost.publish('', message('now', 'delayed'));
  vhost.publish('', message('past', 'delayed', { headers: { 'x-not-before': Date.now() - 1000 } }));
  assert.deepEqual(c.bodies(), ['now', 'past']);
  assert.equal(q.delayedCount, 1);
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(c.bodies(), ['now', 'past', 'later']);
  assert.ok(Date.now() >= soon);
});

test('a delayed persistent message waits again after a restart', async () => {
  const dir = tempDir();
  try {
    let opened = await openTestBroker({ dataDir: dir.path });
    opened.broker.defaultVhost.declareQueue({ name: 'dq', durable: true });
    const due = Date.now() + 600;
    opened.broker.defaultVhost.publish('', message('wait', 'dq', { deliveryMode: 2, headers: { 'x-not-before': due } }));
    opened.broker.defaultVhost.publish('', message('go', 'dq', { deliveryMode: 2 }));
    await opened.broker.close();
    opened = await openTestBroker({ dataDir: dir.path });
    const q = opened.broker.defaultVhost.getQueue('dq');
    assert.equal(q.fetch(true)?.message.body.toString(), 'go');
    assert.equal(q.fetch(true), undefined, 'not before its time');
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 100));
    assert.equal(q.fetch(true)?.message.body.toString(), 'wait');
    await opened.broker.close();
  } finally {
    dir.cleanup();
  }
});

test('remove takes one ready, delayed or paged entry out of the queue', async () => {
  const q = vhost.declareQueue({ name: 'removable', durable: true });
  for (let i = 0; i < 600; i++) vhost.publish('', message(`m${i}`.padEnd(64, '.'), 'removable', { deliveryMode: 2 }));
  vhost.publish('', message('delayed', 'removable', { deliveryMode: 2, headers: { 'x-not-before': Date.now() + 60_000 } }));
  assert.ok(q.pagedCount > 0);
  const found: QueueEntry[] = [];
  await q.list((entry) => {
    const body = entry.message.body.toString().trim().replace(/\.+$/, '');
    if (body === 'm1' || body === 'm599' || body === 'delayed') found.push(entry);
    return true;
  });
  assert.equal(found.length, 3);
  for (const entry of found) assert.equal(q.remove(entry), true);
  assert.equal(q.remove(found[0]!), false, 'twice is a no-op');
  assert.equal(q.messageCount, 598);
  assert.equal(q.delayedCount, 0);
  await broker.whenDurable();
  const bodies = drainAll('removable').map((b) => b.replace(/\.+$/, ''));
  assert.equal(bodies.length, 598);
  assert.ok(!bodies.includes('m1') && !bodies.includes('m599'));
  assert.deepEqual(bodies.slice(0, 3), ['m0', 'm2', 'm3']);
});
