/**
 * The PostgreSQL store and its schema on a real PostgreSQL: migrations under the lock (nodes
 * starting together), keyed records and counters, the definition change log, and losing batches
 * (not the store) while the database is down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { Database, migrateSchema, MIGRATIONS, PostgresStore } from '#cluster';
import { CoreMetrics, NO_COMMIT_NEEDED } from '#core';
import { eventually } from '../support/app-harness';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';

let server: PrivatePostgres;

before(async () => {
  if (postgresMissing) return;
  server = await startPostgres();
});

after(async () => {
  await server?.stop();
});

const databases: Database[] = [];
after(async () => {
  await Promise.all(databases.map((database) => database.close()));
});

function database(url: string): Database {
  const db = new Database({ url, poolSize: 4, queryTimeoutMs: 2000, connectTimeoutMs: 1000, applicationName: 'store test' });
  databases.push(db);
  return db;
}

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const committed = (store: PostgresStore, token = store.currentToken()): Promise<boolean> => new Promise((resolve) => store.whenCommitted(token, resolve));

describe('the schema', { skip: postgresMissing }, () => {
  it('is made once when five nodes migrate an empty database at the same moment', async () => {
    const url = await server.createDatabase('migrate_race');
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((n) => migrateSchema(database(url), `node-${n}`)));
    const newest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    assert.equal(outcomes.filter((o) => o.from === 0).length, 1, JSON.stringify(outcomes));
    assert.ok(outcomes.every((o) => o.to === newest));
    assert.deepEqual(
      (await rows<{ version: number }>(url, 'SELECT version FROM schema_version ORDER BY version')).map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('applies only the steps a database lacks, in order, and refuses a database newer than it knows', async () => {
    const url = await server.createDatabase('migrate_steps');
    const steps = [
      { version: 1, name: 'one', sql: 'CREATE TABLE one (x int)' },
      { version: 2, name: 'two', sql: 'ALTER TABLE one ADD COLUMN y int' },
    ];
    assert.deepEqual(await migrateSchema(database(url), 'n', steps.slice(0, 1)), { from: 0, to: 1 });
    assert.deepEqual(await migrateSchema(database(url), 'n', steps), { from: 1, to: 2 });
    assert.deepEqual(await migrateSchema(database(url), 'n', steps), { from: 2, to: 2 });
    await assert.rejects(migrateSchema(database(url), 'n', steps.slice(0, 1)), /schema is at version 2, newer than this broker knows \(1\)/);
  });
});

describe('PostgresStore', { skip: postgresMissing }, () => {
  let url: string;
  let db: Database;
  let store: PostgresStore;

  before(async () => {
    url = await server.createDatabase('store');
    db = database(url);
    await migrateSchema(db, 'store-test');
    store = await PostgresStore.open(db, { origin: '00000000-0000-4000-8000-000000000001', notify: true });
    store.attach(0, new CoreMetrics());
  });

  after(async () => {
    await store?.close();
  });

  it('keeps keyed records until they expire, and counters that only grow', async () => {
    const now = Date.now();
    store.putRecord('ns', 'kept', Buffer.from('one'), now + 60_000);
    store.putRecord('ns', 'key with \u0000 in it', Buffer.from('two'), now + 60_000);
    store.putRecord('ns', 'expired', Buffer.from('gone'), now - 1);
    store.setCounter('jobs', 7);
    assert.equal(await committed(store), true);
    assert.equal((await store.readRecord('ns', 'kept'))?.toString(), 'one');
    assert.equal((await store.readRecord('ns', 'key with \u0000 in it'))?.toString(), 'two');
    assert.equal(await store.readRecord('ns', 'expired'), undefined);
    assert.deepEqual((await store.listRecords('ns')).map(([key]) => key).sort(), ['kept', 'key with \u0000 in it']);
    store.deleteRecord('ns', 'kept');
    store.setCounter('jobs', 5);
    assert.equal(await committed(store), true);
    assert.equal(await store.readRecord('ns', 'kept'), undefined);
    assert.equal((await store.recover()).counters.get('jobs'), 7);
  });

  it('logs each batch of definition changes as one version, in order, and the definitions come back', async () => {
    const before = Number((await rows<{ version: string }>(url, 'SELECT version FROM definition_log'))[0]!.version);
    store.putVhost('v');
    store.putExchange({ vhost: 'v', name: 'x', type: 'topic', durable: true, autoDelete: false, internal: false, arguments: { a: 1 } });
    store.putQueue({ id: 99, vhost: 'v', name: 'q', autoDelete: false, arguments: { 'x-max-length': 5 } });
    store.putBinding({ vhost: 'v', source: 'x', destinationKind: 'queue', destination: 'q', routingKey: 'k.#', arguments: {} }, 'queue:q\nk.#\n');
    store.putRecord('definitions.users', 'u', Buffer.from(JSON.stringify({ name: 'u', passwordHash: '', tags: [] })), Number.MAX_SAFE_INTEGER);
    assert.equal(await committed(store), true);
    const log = await rows<{ version: string; ordinal: number; change: Json }>(url, `SELECT version, ordinal, change FROM definition_changes WHERE version > ${before} ORDER BY version, ordinal`);
    assert.deepEqual(
      log.map((r) => [Number(r.version), r.ordinal, r.change.kind]),
      [
        [before + 1, 1, 'vhost-put'],
        [before + 1, 2, 'exchange-put'],
        [before + 1, 3, 'queue-put'],
        [before + 1, 4, 'binding-put'],
        [before + 1, 5, 'record-put'],
      ],
    );
    const state = await store.recover();
    assert.deepEqual(state.vhosts, ['v']);
    assert.deepEqual(state.exchanges[0]!.arguments, { a: 1 });
    assert.deepEqual(
      state.queues.map((q) => [q.vhost, q.name, q.arguments]),
      [['v', 'q', { 'x-max-length': 5 }]],
    );
    assert.ok(state.queues[0]!.id > 0, 'the database numbers queues');
    assert.deepEqual(
      state.bindings.map((b) => [b.source, b.destination, b.routingKey]),
      [['x', 'q', 'k.#']],
    );
    // a delete of the queue takes its bindings; an unbind of nothing logs nothing
    store.deleteBinding('v', 'x', 'no such binding');
    store.deleteQueue(99, 'v', 'q');
    assert.equal(await committed(store), true);
    const after = await rows<{ kind: string }>(url, `SELECT change->>'kind' AS kind FROM definition_changes WHERE version = ${before + 2} ORDER BY ordinal`);
    assert.deepEqual(
      after.map((r) => r.kind),
      ['queue-delete'],
    );
    assert.deepEqual((await store.recover()).bindings, []);
  });

  it('while the database is down, loses batches at once (their waits answer false), and goes on when it is back', async () => {
    assert.equal(store.healthy, true);
    await server.down();
    // the pool finds out with its next query
    await db.query('SELECT 1').catch(() => undefined);
    assert.equal(store.healthy, false);
    const started = Date.now();
    store.putRecord('ns', 'during', Buffer.from('x'), Date.now() + 60_000);
    assert.equal(await committed(store), false);
    assert.ok(Date.now() - started < 200, `answered in ${Date.now() - started} ms`);
    assert.equal(store.isCommitted(store.currentToken()), false);
    await server.up();
    await eventually(() => store.healthy, 10_000, 'the store healthy again');
    store.putRecord('ns', 'after', Buffer.from('y'), Date.now() + 60_000);
    assert.equal(await committed(store), true);
    assert.equal((await store.readRecord('ns', 'after'))?.toString(), 'y');
    assert.equal(await store.readRecord('ns', 'during'), undefined);
    assert.equal((await store.readRecord('ns', 'key with \u0000 in it'))?.toString(), 'two', 'what committed before is kept');
  });

  it('answers a token of nothing at once', async () => {
    assert.equal(await committed(store, NO_COMMIT_NEEDED), true);
  });
});

type Json = Record<string, unknown>;
