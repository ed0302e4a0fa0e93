/**
 * The protocol-neutral message: annotations apart from what the publisher sent, rendered as the
 * headers AMQP clients saw when this state was headers, kept by the store in a versioned JSON
 * encoding (Dates exact); and the key index a queue keeps over annotations, paged entries too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Annotations, EntryState, FieldTable, Message, MessageProperties, encodePropertiesToBuffer, QueueEntry, renderedHeaders, TypedValue } from '#core';
import { decodeAnnotations, encodeAnnotations } from '../../libs/core/src/message/annotation-codec';
import { deadLetteredMessage, deadLetterHistoryOf } from '../../libs/core/src/queue/dead-letter';
import { CollectingConsumer } from '../support/collecting-consumer';
import { openMemoryBroker, openTestBroker } from '../support/test-broker';

/** A message as the AMQP door receives it: properties with their encoded form. */
const plain = (headers?: FieldTable, expiration?: string): Message => {
  const properties: MessageProperties = { messageId: 'm1', ...(headers ? { headers } : {}), ...(expiration ? { expiration } : {}) };
  return new Message('orders-x', 'new', properties, encodePropertiesToBuffer(properties), Buffer.from('body'));
};

test('a message without annotations renders its own headers, the same object: nothing is allocated', () => {
  const headers = { a: 1 };
  const message = plain(headers);
  assert.equal(message.annotations, null);
  assert.equal(renderedHeaders(message), headers);
});

test("annotations render as the headers the broker wrote before: rank, a door's x- names, not-before, delivery count", () => {
  const annotations: Annotations = {
    rank: 7,
    notBefore: 1_700_000_000_000,
    deliveryCount: 2,
    door: { 'x-job-num': 42, 'x-job-hash': 'ab', 'x-dispatch-attempts': [{ at: 1, ms: 2, status: 500 }], private: 'not shown' },
  };
  const message = plain({ custom: 'kept', 'x-not-before': 5 }).annotated(annotations);
  assert.deepEqual(renderedHeaders(message), {
    custom: 'kept',
    'x-rank': 7,
    'x-job-num': 42,
    'x-job-hash': 'ab',
    'x-dispatch-attempts': [{ at: 1, ms: 2, status: 500 }],
    // the annotation wins over a publisher header of the same name, as the broker's header did
    'x-not-before': 1_700_000_000_000,
    'x-delivery-count': 2,
  });
  assert.equal(message.properties.headers?.['x-rank'], undefined, "the publisher's properties are untouched");
});

test('dead-lettering annotates the copy; it renders as x-death and x-first/last-death-*, and counts on', () => {
  const original = plain({ CC: ['also'] }, '60000');
  const now = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  const once = deadLetteredMessage(original, 'orders', 'rejected', 'dlx', null, now);
  assert.equal(once.properties.expiration, undefined);
  const headers = renderedHeaders(once)!;
  assert.deepEqual(headers['x-death'], [
    {
      count: new TypedValue('l', 1),
      reason: 'rejected',
      queue: 'orders',
      time: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      exchange: 'orders-x',
      'routing-keys': ['new', 'also'],
      'original-expiration': '60000',
    },
  ]);
  assert.deepEqual(
    ['x-first-death-reason', 'x-first-death-queue', 'x-first-death-exchange', 'x-last-death-reason', 'x-last-death-queue', 'x-last-death-exchange'].map((h) => headers[h]),
    ['rejected', 'orders', 'orders-x', 'rejected', 'orders', 'orders-x'],
  );
  const twice = deadLetteredMessage(deadLetteredMessage(once, 'retry', 'expired', '', 'orders'), 'orders', 'rejected', 'dlx', null);
  assert.deepEqual(
    deadLetterHistoryOf(twice)!.deaths.map((d) => [d.queue, d.reason, d.count]),
    [
      ['orders', 'rejected', 2],
      ['retry', 'expired', 1],
    ],
  );
  assert.deepEqual(deadLetterHistoryOf(twice)!.first, { reason: 'rejected', queue: 'orders', exchange: 'orders-x' });
  const received = plain();
  const noExpiry = deadLetteredMessage(received, 'q', 'maxlen', 'dlx', null);
  assert.equal(noExpiry.properties, received.properties, "without an expiration the publisher's properties are kept");
  assert.equal(noExpiry.encodedProperties, null, "and encoded again, as the broker's copies always were");
});

test('a message republished with x-death headers (or stored before annotations) counts on from them', () => {
  const earlier = renderedHeaders(deadLetteredMessage(plain(), 'orders', 'rejected', 'dlx', null))!;
  const republished = plain({ ...earlier, custom: 'kept' });
  const again = deadLetteredMessage(republished, 'orders', 'rejected', 'dlx', null);
  const headers = renderedHeaders(again)!;
  assert.equal(((headers['x-death'] as FieldTable[])[0]!.count as TypedValue).value, 2);
  assert.equal((headers['x-death'] as FieldTable[]).length, 1, "the header's x-death is replaced, not repeated");
  assert.equal(headers.custom, 'kept');
});

test('the stored form: versioned JSON, Dates exact, nothing for none; another version is refused', () => {
  assert.equal(encodeAnnotations(null), null);
  assert.equal(decodeAnnotations(null), null);
  const copy = deadLetteredMessage(plain(), 'orders', 'expired', 'dlx', null).annotated(null);
  assert.equal(copy.annotations, null);
  const annotations: Annotations = {
    rank: 3,
    notBefore: 8.64e15,
    deliveryCount: 1,
    deadLetters: deadLetteredMessage(plain(), 'orders', 'expired', 'dlx', null, 1_234_567_000).annotations!.deadLetters!,
    door: { 'x-job-num': 9, nested: { list: [1, 'two', null, true] } },
  };
  const text = encodeAnnotations(annotations)!;
  assert.equal(JSON.parse(text).v, 1);
  // the documented stored shape, field for field and in its order
  const history = annotations.deadLetters!;
  const stored = {
    v: 1,
    rank: 3,
    notBefore: 8.64e15,
    deliveryCount: 1,
    deadLetters: { deaths: history.deaths.map((death) => ({ ...death, time: death.time.getTime() })), first: history.first, last: history.last },
    door: annotations.door,
  };
  assert.equal(text, JSON.stringify(stored));
  assert.equal(encodeAnnotations({ rank: 512 }), '{"v":1,"rank":512}');
  assert.equal(encodeAnnotations({}), '{"v":1}');
  const back = decodeAnnotations(text)!;
  assert.deepEqual(back, annotations);
  assert.ok(back.deadLetters!.deaths[0]!.time instanceof Date);
  assert.equal(back.deadLetters!.deaths[0]!.time.getTime(), 1_234_567_000);
  assert.throws(() => decodeAnnotations('{"v":2}'), /version 2/);
});

test('a message built from an object is stored with its properties and keeps no encoded copy of them', async () => {
  let opened = await openTestBroker();
  const dataDir = opened.dataDir;
  const properties: MessageProperties = { contentType: 'text/plain', deliveryMode: 2, priority: 4, messageId: 'm-1', timestamp: 1_700_000_000, headers: { k: 'v' } };
  const vhost = opened.broker.defaultVhost;
  vhost.declareQueue({ name: 'built', durable: true, arguments: {} });
  const message = new Message('', 'built', properties, null, Buffer.from('body'), { rank: 2, door: { 'x-job-num': 7 } });
  vhost.publish('', message);
  await opened.broker.whenDurable();
  assert.equal(message.encodedProperties, null, 'the store copied the encoded properties into its batch, the message holds none');
  await opened.broker.close();
  opened = await openTestBroker({ dataDir });
  try {
    const found: QueueEntry[] = [];
    await opened.broker.defaultVhost.getQueue('built').list((entry) => found.push(entry) > 0);
    assert.equal(found.length, 1);
    const entry = found[0]!;
    assert.deepEqual(entry.message.properties, properties);
    assert.deepEqual(entry.message.encodedProperties, encodePropertiesToBuffer(properties));
    assert.equal(entry.message.doorAnnotation('x-job-num'), 7);
  } finally {
    await opened.broker.close();
  }
});

test('annotations survive the SQLite store: paged out and read back, and after a restart', async () => {
  let opened = await openTestBroker({ queueMemoryBudget: 64 * 1024 });
  const dataDir = opened.dataDir;
  const vhost = opened.broker.defaultVhost;
  vhost.declareQueue({ name: 'annotated', durable: true, arguments: { 'x-queue-order': 'rank' } });
  const annotations: Annotations = { rank: 5, door: { 'x-job-num': 1, 'x-attempts': [{ at: 1 }] } };
  for (let i = 0; i < 200; i++) vhost.publish('', new Message('', 'annotated', { deliveryMode: 2 }, null, Buffer.alloc(1024, i), { ...annotations, door: { ...annotations.door, 'x-job-num': i } }));
  await opened.broker.whenDurable();
  const queue = vhost.getQueue('annotated');
  assert.ok(queue.pagedCount > 0);
  const seen: unknown[] = [];
  await queue.list((entry) => seen.push(entry.message.doorAnnotation('x-job-num')) > 0);
  assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i));
  await opened.broker.close();
  opened = await openTestBroker({ queueMemoryBudget: 64 * 1024, dataDir });
  try {
    const after = opened.broker.defaultVhost.getQueue('annotated');
    const consumer = new CollectingConsumer('c');
    after.addConsumer(consumer);
    for (let turns = 0; consumer.received.length < 200 && turns < 500; turns++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(
      consumer.received.map((entry) => [entry.message.annotations?.rank, entry.message.doorAnnotation('x-job-num')]),
      Array.from({ length: 200 }, (_, i) => [5, i]),
    );
    assert.deepEqual(renderedHeaders(consumer.received[0]!.message), { 'x-rank': 5, 'x-job-num': 0, 'x-attempts': [{ at: 1 }] });
  } finally {
    await opened.close();
  }
});

test('the key index follows every move: enqueue, page out and back, delay, requeue, ack, remove, purge', async () => {
  const { broker, close } = await openMemoryBroker({ queueMemoryBudget: 32 * 1024 });
  try {
    const vhost = broker.defaultVhost;
    const queue = vhost.declareQueue({ name: 'keyed', durable: true });
    const publish = (key: number, notBefore?: number): void => {
      const annotations: Annotations = notBefore === undefined ? { door: { key } } : { door: { key }, notBefore };
      vhost.publish('', new Message('', 'keyed', { deliveryMode: 2 }, null, Buffer.alloc(1024), annotations));
    };
    publish(0);
    await queue.indexBy('key');
    for (let key = 1; key < 100; key++) publish(key);
    publish(100, Date.now() + 60_000);
    // an AMQP publisher's header of that name is a key too
    vhost.publish('', new Message('', 'keyed', { deliveryMode: 2, headers: { key: 101n } }, null, Buffer.alloc(8)));
    await broker.whenDurable();
    assert.ok(queue.pagedCount > 50, `paged: ${queue.pagedCount}`);
    for (const key of [0, 1, 50, 99]) assert.equal((await queue.find('key', key))?.entry.message.doorAnnotation('key'), key);
    assert.equal((await queue.find('key', 101))?.entry.message.properties.headers?.key, 101n);
    const delayed = (await queue.find('key', 100))!;
    assert.ok(delayed.dueAt > Date.now());
    assert.equal(await queue.find('key', 102), undefined);

    // remove a paged one and the delayed one
    assert.ok(queue.remove((await queue.find('key', 99))!.entry));
    assert.equal(await queue.find('key', 99), undefined);
    assert.ok(queue.remove(delayed.entry));
    assert.equal(await queue.find('key', 100), undefined);

    // taken: still found (out with its consumer); requeued: found again; acked: gone
    const consumer = new CollectingConsumer('c', 1);
    queue.addConsumer(consumer);
    const first = consumer.received[0]!;
    assert.equal((await queue.find('key', 0))?.entry.state, EntryState.Unacked);
    consumer.unacked--;
    queue.removeConsumer(consumer);
    queue.reject(first, true);
    assert.equal((await queue.find('key', 0))?.entry, first);
    assert.equal(first.state, EntryState.Ready);
    const taken = queue.fetch(false)!;
    queue.ack(taken);
    assert.equal(await queue.find('key', 0), undefined);

    // read back in order as the head drains: found in memory again
    let drained = 0;
    for (let entry = queue.fetch(true); entry !== undefined && drained < 60; entry = queue.fetch(true)) drained++;
    await new Promise((resolve) => setImmediate(resolve));
    const later = (await queue.find('key', 80))!;
    assert.equal(later.entry.state, EntryState.Ready);
    assert.equal(await queue.find('key', 5), undefined, 'fetched with auto-ack: gone');

    assert.ok(queue.purge() > 0);
    for (const key of [61, 80, 98, 101]) assert.equal(await queue.find('key', key), undefined, `purged: ${key}`);
    await assert.rejects(queue.find('other', 1), /not indexed/);
  } finally {
    await close();
  }
});
