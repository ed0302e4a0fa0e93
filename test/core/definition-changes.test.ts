/**
 * The core's side of cluster mode, on the in-memory store: a definition change another node
 * committed is applied without being written back (Broker.applyDefinitionChange), idempotently;
 * and a broker whose queues must be shared refuses the types kept in one node's memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Broker, BrokerStore, DEFINITION_KEYS, DEFINITION_NAMESPACES, MemoryStore, QueueType } from '#core';
import { message } from '../support/test-broker';

const WRITES = ['putVhost', 'deleteVhost', 'putExchange', 'deleteExchange', 'putQueue', 'deleteQueue', 'putBinding', 'deleteBinding', 'putRecord', 'deleteRecord'];

/** A memory store that counts the definition writes it is asked for. */
function countingStore(): { store: BrokerStore; writes: string[] } {
  const writes: string[] = [];
  const inner = new MemoryStore();
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof property === 'string' && WRITES.includes(property) && typeof value === 'function') {
        return (...args: unknown[]) => {
          writes.push(property);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, writes };
}

describe('Broker.applyDefinitionChange', () => {
  it('brings topology, users, permissions and policies in line without writing anything back', async () => {
    const { store, writes } = countingStore();
    const broker = await Broker.open(store, { queueMemoryBudget: 1 << 20 });
    try {
      writes.length = 0;
      const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
      broker.applyDefinitionChange({ kind: 'vhost-put', vhost: 'v' });
      broker.applyDefinitionChange({ kind: 'exchange-put', exchange: { vhost: 'v', name: 'x', type: 'topic', durable: true, autoDelete: true, internal: false, arguments: {} } });
      broker.applyDefinitionChange({ kind: 'queue-put', queue: { vhost: 'v', name: 'q', autoDelete: false, arguments: { 'x-max-length': 3 } } });
      const binding = { vhost: 'v', source: 'x', destinationKind: 'queue' as const, destination: 'q', routingKey: 'a.*', arguments: {} };
      broker.applyDefinitionChange({ kind: 'binding-put', binding });
      broker.applyDefinitionChange({ kind: 'record-put', namespace: DEFINITION_NAMESPACES.users, key: 'ann', value: json({ name: 'ann', passwordHash: '', hashingAlgorithm: 'bcrypt', tags: ['management'] }) });
      const permission = { user: 'ann', vhost: 'v', configure: '', write: '.*', read: '.*' };
      broker.applyDefinitionChange({ kind: 'record-put', namespace: DEFINITION_NAMESPACES.permissions, key: DEFINITION_KEYS.permission('v', 'ann'), value: json(permission) });
      const policy = { vhost: 'v', name: 'p', pattern: '^q$', applyTo: 'queues', priority: 0, definition: { 'message-ttl': 1000 } };
      broker.applyDefinitionChange({ kind: 'record-put', namespace: DEFINITION_NAMESPACES.policies, key: DEFINITION_KEYS.policy('v', 'p'), value: json(policy) });

      const vhost = broker.getVhost('v');
      assert.equal(vhost.findExchange('x')?.type, 'topic');
      assert.equal(vhost.findQueue('q')?.features.maxLength, 3);
      assert.equal(vhost.findQueue('q')?.snapshot(Date.now()).policy, 'p');
      assert.equal(vhost.publish('x', message('m', 'a.b')).kind, 'routed');
      assert.equal(broker.users.get('ann')?.tags[0], 'management');
      assert.equal(broker.users.allows('ann', 'v', 'write', 'anything'), true);
      // applied twice: nothing changes (the queue keeps its message)
      broker.applyDefinitionChange({ kind: 'queue-put', queue: { vhost: 'v', name: 'q', autoDelete: false, arguments: { 'x-max-length': 3 } } });
      broker.applyDefinitionChange({ kind: 'binding-put', binding });
      assert.equal(vhost.findQueue('q')?.messageCount, 1);
      assert.equal(vhost.bindingSnapshots().filter((b) => b.source === 'x').length, 1);

      // deletes, with their cascades (the auto-delete exchange goes with its last binding)
      broker.applyDefinitionChange({ kind: 'binding-delete', binding });
      assert.equal(vhost.findExchange('x'), undefined, 'auto-deleted with its last binding');
      broker.applyDefinitionChange({ kind: 'record-delete', namespace: DEFINITION_NAMESPACES.policies, key: DEFINITION_KEYS.policy('v', 'p') });
      assert.equal(vhost.findQueue('q')?.snapshot(Date.now()).policy, null);
      broker.applyDefinitionChange({ kind: 'queue-delete', vhost: 'v', name: 'q' });
      assert.equal(vhost.findQueue('q'), undefined);
      broker.applyDefinitionChange({ kind: 'record-delete', namespace: DEFINITION_NAMESPACES.users, key: 'ann' });
      assert.equal(broker.users.get('ann'), undefined);
      assert.equal(broker.users.permission('v', 'ann'), undefined, 'a user\'s permissions go with it');
      // a delete of what is not there is no error; a put into a vhost that is gone brings nothing back
      broker.applyDefinitionChange({ kind: 'queue-delete', vhost: 'v', name: 'q' });
      broker.applyDefinitionChange({ kind: 'vhost-delete', vhost: 'v' });
      broker.applyDefinitionChange({ kind: 'queue-put', queue: { vhost: 'v', name: 'late', autoDelete: false, arguments: {} } });
      assert.equal(broker.vhost('v'), undefined);

      assert.deepEqual(writes, [], 'nothing was written back');
      // the broker's own changes are written as before
      broker.addVhost('mine');
      assert.deepEqual(writes, ['putVhost']);
    } finally {
      await broker.close();
    }
  });

  it("applies another node's vhost limits without writing them back; they limit declares here", async () => {
    const { store, writes } = countingStore();
    const broker = await Broker.open(store, { queueMemoryBudget: 1 << 20 });
    try {
      broker.addVhost('v');
      writes.length = 0;
      const key = DEFINITION_KEYS.vhostLimits('v');
      broker.applyDefinitionChange({ kind: 'record-put', namespace: DEFINITION_NAMESPACES.vhostLimits, key, value: Buffer.from(JSON.stringify({ 'max-queues': 1 })) });
      assert.deepEqual(broker.vhostLimits.get('v'), { 'max-queues': 1 });
      broker.getVhost('v').declareQueue({ name: 'one' });
      assert.throws(() => broker.getVhost('v').declareQueue({ name: 'two' }), /queue limit in vhost 'v' \(1\) is reached/);
      broker.applyDefinitionChange({ kind: 'record-delete', namespace: DEFINITION_NAMESPACES.vhostLimits, key });
      assert.deepEqual(broker.vhostLimits.get('v'), {});
      broker.getVhost('v').declareQueue({ name: 'two' });
      assert.deepEqual(writes, [], 'nothing was written back');
    } finally {
      await broker.close();
    }
  });

  it('replaces a definition that differs (another node deleted it and declared it again otherwise)', async () => {
    const broker = await Broker.open(new MemoryStore(), { queueMemoryBudget: 1 << 20 });
    try {
      broker.defaultVhost.declareQueue({ name: 'q', durable: true, arguments: { 'x-max-length': 1 } });
      broker.applyDefinitionChange({ kind: 'queue-put', queue: { vhost: '/', name: 'q', autoDelete: false, arguments: { 'x-max-length': 9 } } });
      assert.equal(broker.defaultVhost.findQueue('q')?.features.maxLength, 9);
    } finally {
      await broker.close();
    }
  });
});

describe('queue types a broker offers', () => {
  it('a broker whose queues must be shared refuses types kept in one node\'s memory, and delayed-message exchanges', async () => {
    const broker = await Broker.open(new MemoryStore(), { queueMemoryBudget: 1 << 20, queueTypes: { sharedOnly: 'nodes share one database' } });
    try {
      const vhost = broker.defaultVhost;
      assert.throws(() => vhost.declareQueue({ name: 'q', durable: true }), /a classic queue keeps its messages on one node; nodes share one database/);
      assert.throws(() => vhost.declareQueue({ name: 'q', durable: true, arguments: { 'x-queue-type': 'quorum' } }), /a quorum queue keeps its messages on one node/);
      assert.throws(() => vhost.declareExchange({ name: 'later', type: 'x-delayed-message', durable: true, arguments: { 'x-delayed-type': 'direct' } }), /holds its messages on one node/);
      // other exchanges are fine
      vhost.declareExchange({ name: 'fine', type: 'direct', durable: true });
    } finally {
      await broker.close();
    }
  });

  it('a type composed in can be the default and is declared when shared', async () => {
    const plain = await Broker.open(new MemoryStore(), { queueMemoryBudget: 1 << 20 });
    const classic = plain.queueTypes.get('classic')!;
    await plain.close();
    const shared: QueueType = { ...classic, name: 'classic', sharedAcrossNodes: true };
    const broker = await Broker.open(new MemoryStore(), { queueMemoryBudget: 1 << 20, queueTypes: { types: [shared], defaultType: 'classic', sharedOnly: 'shared only' } });
    try {
      assert.equal(broker.queueTypes.get('classic'), shared);
      const queue = broker.defaultVhost.declareQueue({ name: 'q', durable: true });
      assert.equal(queue.features.type, shared);
      assert.throws(() => broker.defaultVhost.declareQueue({ name: 'r', durable: true, arguments: { 'x-queue-type': 'quorum' } }), /keeps its messages on one node/);
      assert.throws(() => broker.defaultVhost.declareQueue({ name: 's', durable: true, arguments: { 'x-queue-type': 'stream' } }), /'stream' is not supported/);
    } finally {
      await broker.close();
    }
  });
});
