/**
 * Defence in depth under the doors' checks: a message whose properties cannot be encoded, however
 * it got past them, costs neither the process nor the other messages of its store batch, and a
 * queue does not take it in. The doors refuse such properties (VirtualHost.publishTo), so these
 * tests make one the only way left: by changing a message's properties after it was published.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Broker, BrokerError, FieldTable, MessageProperties, QueueEntry } from '#core';
import { CollectingConsumer } from '../support/collecting-consumer';
import { tempDir } from '../support/temp-dir';
import { message, openTestBroker } from '../support/test-broker';

function drain(broker: Broker, queue: string): string[] {
  const q = broker.defaultVhost.getQueue(queue);
  const out: string[] = [];
  for (let e: QueueEntry | undefined = q.fetch(true); e; e = q.fetch(true)) out.push(e.message.body.toString().slice(0, 20));
  return out;
}

/** Collects the process warnings emitted while `run` runs (the store and queues warn this way). */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const listener = (warning: Error): void => void warnings.push(warning.message);
  process.on('warning', listener);
  try {
    await run();
  } finally {
    process.off('warning', listener);
  }
  return warnings;
}

/** As a bug would: the properties of a message already published turn unencodable. */
const spoil = (properties: MessageProperties, change: Partial<Record<keyof MessageProperties, unknown>>): void => void Object.assign(properties, change);

test('a flush skips a message it cannot encode and writes the rest of the batch; the process stays up', async (t) => {
  const dir = tempDir();
  try {
    let opened = await openTestBroker({ dataDir: dir.path });
    const first = opened.broker;
    t.after(() => first.close());
    const vhost = opened.broker.defaultVhost;
    vhost.declareQueue({ name: 'q1', durable: true });
    vhost.declareQueue({ name: 'q2', durable: true });
    vhost.declareExchange({ name: 'both', type: 'fanout', durable: true });
    vhost.bind('queue', 'q1', 'both', '');
    vhost.bind('queue', 'q2', 'both', '');
    const large = 'L'.repeat(100 * 1024); // a body row of its own
    const cases: [string, string, Partial<Record<keyof MessageProperties, unknown>>][] = [
      ['bad-priority', '', { priority: 300 }],
      ['bad-timestamp', 'both', { timestamp: -1 }],
      [`bad-large-${large}`, '', { messageId: 'm'.repeat(300) }],
      ['bad-headers', 'both', { headers: { deep: { [('k'.repeat(256))]: 1 } } }],
    ];
    const warnings = await warningsDuring(async () => {
      vhost.publish('', message('good-1', 'q1', { deliveryMode: 2 }));
      for (const [body, exchange, change] of cases) {
        const properties: MessageProperties = { deliveryMode: 2 };
        vhost.publish(exchange, message(body, exchange === '' ? 'q1' : '', properties, exchange));
        spoil(properties, change);
        vhost.publish('both', message(`good-after-${body.slice(0, 12)}`, '', { deliveryMode: 2, priority: 1 }, 'both'));
      }
      vhost.publish('', message(`good-large-${large}`, 'q2', { deliveryMode: 2 }));
      await opened.broker.whenDurable(); // the batch holding them all commits
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    });
    assert.equal(opened.broker.storeOpen, true, 'the store still takes writes');
    assert.equal(warnings.filter((w) => /is not written, its properties cannot be encoded/.test(w)).length, 6, warnings.join('\n'));
    assert.ok(warnings.some((w) => /message \d+ of queue 'q1' .*: .*300/.test(w)), `the warning says which message and why: ${warnings.join('\n')}`);
    // in memory they are all still queued (not stored, like transient ones)
    assert.equal(vhost.getQueue('q1').messageCount, 9);
    await opened.broker.close();

    opened = await openTestBroker({ dataDir: dir.path });
    const after = opened.broker;
    try {
      const good = cases.map(([body]) => `good-after-${body.slice(0, 12)}`.slice(0, 20));
      assert.deepEqual(drain(after, 'q1'), ['good-1', ...good]);
      assert.deepEqual(drain(after, 'q2'), [...good, 'good-large-LLLLLLLLL']);
    } finally {
      await after.close();
    }
  } finally {
    dir.cleanup();
  }
});

test('a queue refuses a dead-lettered copy it could not encode: dropped with a warning, the source settles, the broker goes on', async () => {
  const opened = await openTestBroker();
  try {
    const vhost = opened.broker.defaultVhost;
    vhost.declareExchange({ name: 'dlx', type: 'fanout', durable: true });
    vhost.declareQueue({ name: 'dlq', durable: true });
    vhost.bind('queue', 'dlq', 'dlx', '');
    vhost.declareQueue({ name: 'work', durable: true, arguments: { 'x-dead-letter-exchange': 'dlx' } });
    const consumer = new CollectingConsumer('c');
    vhost.getQueue('work').addConsumer(consumer);
    const properties: MessageProperties = { deliveryMode: 2 };
    vhost.publish('', message('poison', 'work', properties));
    vhost.publish('', message('fine', 'work', { deliveryMode: 2 }));
    spoil(properties, { timestamp: 1.5 });
    const warnings = await warningsDuring(async () => {
      for (const entry of [...consumer.received]) entry.queue.reject(entry, false);
      await opened.broker.whenDurable();
      await new Promise((resolve) => setImmediate(resolve));
    });
    assert.ok(
      warnings.some((w) => /queue 'dlq' in vhost '\/' dropped a message whose properties cannot be encoded: property timestamp/.test(w)),
      warnings.join('\n'),
    );
    assert.deepEqual(drain(opened.broker, 'dlq'), ['fine']);
    assert.equal(vhost.getQueue('work').messageCount, 0);
  } finally {
    await opened.close();
  }
});

test('the core refuses to publish a message built with properties AMQP cannot encode (invalid-request), before any queue or the store', async () => {
  const opened = await openTestBroker();
  try {
    const vhost = opened.broker.defaultVhost;
    vhost.declareQueue({ name: 'q', durable: true });
    const refused: MessageProperties[] = [
      { deliveryMode: 2, priority: 300 },
      { deliveryMode: 2, timestamp: -1 },
      { deliveryMode: 2, correlationId: 'c'.repeat(256) },
      { deliveryMode: 2, headers: { when: new Date(Number.NaN) } },
      { deliveryMode: 2, headers: 'not a table' as unknown as FieldTable },
    ];
    for (const properties of refused) {
      assert.throws(
        () => vhost.publish('', message('refused', 'q', properties)),
        (error: unknown) => error instanceof BrokerError && error.kind === 'invalid-request' && /^invalid message: property /.test(error.message),
        JSON.stringify(properties),
      );
    }
    vhost.publish('', message('kept', 'q', { deliveryMode: 2 }));
    await opened.broker.whenDurable();
    assert.deepEqual(drain(opened.broker, 'q'), ['kept']);
  } finally {
    await opened.close();
  }
});

test('a dead-lettered copy whose routing key could not go in basic.deliver (a dead-letter routing key over 255 bytes) is dropped with a warning', async () => {
  const opened = await openTestBroker();
  try {
    const vhost = opened.broker.defaultVhost;
    vhost.declareExchange({ name: 'dlx', type: 'fanout', durable: true });
    vhost.declareQueue({ name: 'dlq', durable: true });
    vhost.bind('queue', 'dlq', 'dlx', '');
    vhost.declareQueue({ name: 'work', durable: true, arguments: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'r'.repeat(300) } });
    const consumer = new CollectingConsumer('c');
    vhost.getQueue('work').addConsumer(consumer);
    vhost.publish('', message('rejected', 'work', { deliveryMode: 2 }));
    const warnings = await warningsDuring(async () => {
      for (const entry of [...consumer.received]) entry.queue.reject(entry, false);
      await opened.broker.whenDurable();
      await new Promise((resolve) => setImmediate(resolve));
    });
    assert.ok(warnings.some((w) => /queue 'dlq' .* dropped a message .*routing key should be less than 255 bytes, actually was 300/.test(w)), warnings.join('\n'));
    assert.deepEqual(drain(opened.broker, 'dlq'), []);
  } finally {
    await opened.close();
  }
});
