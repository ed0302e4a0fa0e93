/**
 * The store port's contract, run against both implementations (SQLite and in-memory): commit
 * tokens, durability promises, recovery in order with the redelivered flag, and paging beyond the
 * memory budget. A broker reopened over the same store is a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Broker, BrokerStore, MemoryStore, NO_COMMIT_NEEDED, SqliteStore } from '#core';
import { CollectingConsumer } from '../support/collecting-consumer';
import { message } from '../support/test-broker';
import { tempDir } from '../support/temp-dir';

interface StoreUnderTest {
  name: string;
  /** Opens the store for a run; the same factory reopens what the previous run left. */
  open(): Promise<BrokerStore>;
  cleanup(): void;
}

function sqlite(): StoreUnderTest {
  const dir = tempDir();
  return { name: 'SqliteStore', open: () => SqliteStore.open({ dataDir: dir.path, sync: 'normal' }), cleanup: dir.cleanup };
}

function memory(): StoreUnderTest {
  const store = new MemoryStore();
  return { name: 'MemoryStore', open: async () => store, cleanup: () => undefined };
}

const openBroker = async (store: BrokerStore, queueMemoryBudget = 64 * 1024 * 1024): Promise<Broker> =>
  Broker.open(store, { queueMemoryBudget });

for (const make of [sqlite, memory]) {
  const probe = make();
  probe.cleanup();
  describe(probe.name, () => {
    it('names durable publishes with commit tokens that become committed; transient ones need none', async () => {
      const under = make();
      const broker = await openBroker(await under.open());
      try {
        const vhost = broker.defaultVhost;
        vhost.declareQueue({ name: 'durable-q', durable: true });
        vhost.declareQueue({ name: 'transient-q' });
        assert.equal(vhost.publish('', message('t', 'transient-q')).commitToken, NO_COMMIT_NEEDED);
        assert.equal(vhost.publish('', message('p', 'transient-q', { deliveryMode: 2 })).commitToken, NO_COMMIT_NEEDED, 'persistent in a transient queue');
        const token = vhost.publish('', message('d', 'durable-q', { deliveryMode: 2 })).commitToken;
        assert.notEqual(token, NO_COMMIT_NEEDED);
        const order: string[] = [];
        broker.onDurable(token, (ok) => order.push(`durable ${ok}`));
        broker.onDurable(NO_COMMIT_NEEDED, (ok) => order.push(`nothing ${ok}`));
        order.push('sync');
        await broker.whenDurable(token);
        assert.deepEqual(order, ['sync', 'nothing true', 'durable true'], 'callbacks never run synchronously');
        // a token taken later covers the earlier one
        const later = broker.durabilityToken();
        assert.ok(later >= token);
        await broker.whenDurable(later);
      } finally {
        await broker.close();
        under.cleanup();
      }
    });

    it('returns a commit token for every definition and record write; reads are async and see committed writes only', async () => {
      const under = make();
      const store = await under.open();
      const broker = await openBroker(store);
      try {
        const expiresAt = Date.now() + 60_000;
        const first = store.putRecord('port.records', 'b', Buffer.from('two'), expiresAt);
        const second = store.putRecord('port.records', 'a', Buffer.from('one'), expiresAt);
        assert.ok(second >= first, 'tokens of one store only grow');
        assert.equal(store.isCommitted(second), false);
        const early = store.readRecord('port.records', 'b');
        assert.ok(early instanceof Promise, 'reads are async');
        assert.equal(await early, undefined, 'a write not committed yet is not seen');
        await broker.whenDurable(second);
        assert.equal(store.isCommitted(second), true);
        assert.equal((await store.readRecord('port.records', 'b'))?.toString(), 'two');
        const listed = await store.listRecords('port.records');
        assert.deepEqual(listed.map(([key, value]) => [key, value.toString()]), [['a', 'one'], ['b', 'two']], 'by key');

        const definitions = [
          store.putExchange({ vhost: '/', name: 'port-token-x', type: 'fanout', durable: true, autoDelete: false, internal: false, arguments: {} }),
          store.putQueue({ id: 9000, vhost: '/', name: 'port-token-q', autoDelete: false, arguments: {} }),
          store.putBinding({ vhost: '/', source: 'port-token-x', destinationKind: 'queue', destination: 'port-token-q', routingKey: '', arguments: {} }, 'k'),
          store.deleteRecord('port.records', 'a'),
          store.setCounter('port.counter', 7),
        ];
        for (const token of definitions) assert.ok(token > second && !store.isCommitted(token));
        await broker.whenDurable(definitions[definitions.length - 1]);
        assert.ok(definitions.every((token) => store.isCommitted(token)));
        assert.deepEqual((await store.listRecords('port.records')).map(([key]) => key), ['b']);
      } finally {
        await broker.close();
        under.cleanup();
      }
    });

    it('recovers durable definitions and persistent messages in order, delivered ones marked redelivered', async () => {
      const under = make();
      let broker = await openBroker(await under.open());
      const vhost = broker.defaultVhost;
      vhost.declareExchange({ name: 'port-x', type: 'fanout', durable: true });
      vhost.declareQueue({ name: 'port-q', durable: true });
      vhost.bind('queue', 'port-q', 'port-x', '');
      for (const body of ['1', '2', '3', '4']) vhost.publish('port-x', message(body, '', { deliveryMode: 2 }));
      await broker.whenDurable();
      const held = new CollectingConsumer('held', 1);
      vhost.getQueue('port-q').addConsumer(held);
      assert.deepEqual(held.bodies(), ['1'], 'one delivered and left unacked');
      await broker.whenDurable();
      await broker.close();

      broker = await openBroker(await under.open());
      try {
        const again = broker.defaultVhost;
        assert.notEqual(again.findExchange('port-x'), undefined);
        const queue = again.getQueue('port-q');
        assert.equal(queue.messageCount, 4);
        const consumer = new CollectingConsumer('after', 0, { autoAck: true });
        queue.addConsumer(consumer);
        assert.deepEqual(consumer.bodies(), ['1', '2', '3', '4']);
        assert.deepEqual(consumer.received.map((e) => e.redelivered), [true, false, false, false]);
        again.publish('port-x', message('5', '', { deliveryMode: 2 }));
        assert.deepEqual(consumer.bodies().slice(4), ['5'], 'bindings came back too');
      } finally {
        await broker.close();
        under.cleanup();
      }
    });

    it('pages a backlog beyond the memory budget and reads it back in order, across a restart', async () => {
      const under = make();
      let broker = await openBroker(await under.open(), 32 * 1024);
      const body = 'x'.repeat(200);
      const vhost = broker.defaultVhost;
      vhost.declareQueue({ name: 'paged-q', durable: true });
      for (let i = 0; i < 2000; i++) vhost.publish('', message(`${i}:${body}`, 'paged-q', { deliveryMode: 2 }));
      const queue = vhost.getQueue('paged-q');
      assert.ok(queue.pagedCount > 1000, `paged ${queue.pagedCount}`);
      assert.ok(queue.snapshot().memoryBytes <= 32 * 1024 + 1024, 'memory stays within the budget');
      await broker.whenDurable();
      await broker.close();

      broker = await openBroker(await under.open(), 32 * 1024);
      try {
        const recovered = broker.defaultVhost.getQueue('paged-q');
        assert.equal(recovered.messageCount, 2000);
        assert.ok(recovered.pagedCount > 0, 'only the head is in memory after recovery');
        const consumer = new CollectingConsumer('drain', 0, { autoAck: true });
        recovered.addConsumer(consumer);
        for (let i = 0; i < 200 && consumer.received.length < 2000; i++) await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(consumer.bodies().map((b) => Number(b.split(':')[0])), Array.from({ length: 2000 }, (_, i) => i));
        assert.equal(recovered.messageCount, 0);
        assert.equal(recovered.snapshot().messageBytesReady, 0);
      } finally {
        await broker.close();
        under.cleanup();
      }
    });
  });
}
