/**
 * The filter of keyed records (RecordKeyFilter in SqliteKeyedRecords): a read of a key never
 * written is answered without a SQLite lookup, and no written key is ever answered "absent" —
 * committed before the filter was built, put while it was being built, put after, across the
 * rebuild when the keys outgrow it, and after a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Broker, SqliteStore } from '#core';
import { MAX_FILTERED_KEYS, RecordKeyFilter } from '../../libs/core/src/store/sqlite/record-key-filter';
import { tempDir } from '../support/temp-dir';

async function openBroker(dataDir: string): Promise<{ broker: Broker; store: SqliteStore }> {
  const store = await SqliteStore.open({ dataDir, sync: 'normal' });
  return { broker: await Broker.open(store, { dataDir, queueMemoryBudget: 64 * 1024 * 1024 }), store };
}

describe('RecordKeyFilter', () => {
  it('never says absent for a key it holds, and says it for nearly every key it does not', () => {
    const filter = new RecordKeyFilter();
    assert.equal(filter.mayHold('ns', 'anything'), true, 'not built yet: holds nothing back');
    const held = Array.from({ length: 100_000 }, (_v, i) => `held-${i}-${(i * 2654435761) >>> 0}`);
    filter.rebuild(held.length, held.map((key) => ['deliveries', key] as const));
    for (const key of held) assert.equal(filter.mayHold('deliveries', key), true);
    let wrong = 0;
    for (let i = 0; i < 100_000; i++) if (filter.mayHold('deliveries', `absent-${i}`)) wrong++;
    assert.ok(wrong < 3_000, `${wrong} of 100,000 absent keys taken for present`);
    assert.equal(filter.mayHold('jobs', held[0]!) && filter.mayHold('jobs', held[1]!) && filter.mayHold('jobs', held[2]!), false, 'the namespace is part of the key');
    filter.rebuild(MAX_FILTERED_KEYS + 1, []);
    assert.equal(filter.mayHold('deliveries', 'absent-1'), true, 'too many keys: every read asks SQLite');
  });
});

describe('SqliteStore keyed records behind the filter', () => {
  it('finds every key written, before and after the filter is built, through a rebuild and a restart', async () => {
    const dir = tempDir();
    let { broker, store } = await openBroker(dir.path);
    try {
      const expiresAt = Date.now() + 600_000;
      // committed before the first read builds the filter
      for (let i = 0; i < 100; i++) store.putRecord('f', `early-${i}`, Buffer.from(String(i)), expiresAt);
      await broker.whenDurable();
      // put, not committed yet, when the first read builds it
      const pending = store.putRecord('f', 'pending', Buffer.from('p'), expiresAt);
      assert.equal(await store.readRecord('f', 'never-written'), undefined);
      assert.equal(await store.readRecord('f', 'pending'), undefined, 'not committed yet');
      await broker.whenDurable(pending);
      assert.equal((await store.readRecord('f', 'pending'))?.toString(), 'p', 'put while the filter was built');
      assert.equal((await store.readRecord('f', 'early-42'))?.toString(), '42');
      // more than the filter was sized for (65,536 at least): it is built again
      for (let i = 0; i < 70_000; i++) store.putRecord('f', `late-${i}`, Buffer.from(String(i)), expiresAt);
      assert.equal(await store.readRecord('f', 'never-written-either'), undefined);
      await broker.whenDurable();
      for (const i of [0, 1, 65_535, 65_536, 65_537, 69_999]) assert.equal((await store.readRecord('f', `late-${i}`))?.toString(), String(i), `late-${i}`);
      store.putRecord('f', 'after-rebuild', Buffer.from('a'), expiresAt);
      await broker.whenDurable();
      assert.equal((await store.readRecord('f', 'after-rebuild'))?.toString(), 'a');
      await broker.close();
      ({ broker, store } = await openBroker(dir.path));
      for (const key of ['early-0', 'pending', 'late-69999', 'after-rebuild']) assert.ok((await store.readRecord('f', key)) !== undefined, `${key} after a restart`);
      assert.equal(await store.readRecord('f', 'never-written'), undefined);
    } finally {
      await broker.close();
      dir.cleanup();
    }
  });
});
