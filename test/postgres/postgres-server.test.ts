import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { PrivatePostgres, postgresMissing, startPostgres } from '../support/postgres-server';

/** A connected client whose connection errors (the server going away) are collected, not thrown. */
async function connect(url: string, options: { queryTimeoutMs?: number } = {}): Promise<{ client: Client; errors: Error[] }> {
  const client = new Client({ connectionString: url, query_timeout: options.queryTimeoutMs });
  const errors: Error[] = [];
  client.on('error', (error) => errors.push(error));
  await client.connect();
  return { client, errors };
}

async function value(url: string, sql: string): Promise<unknown> {
  const { client } = await connect(url);
  try {
    const result = await client.query<Record<string, unknown>>(sql);
    return Object.values(result.rows[0] ?? {})[0];
  } finally {
    await client.end();
  }
}

describe('the private PostgreSQL server for tests', { skip: postgresMissing }, () => {
  let server: PrivatePostgres;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  it('listens on loopback with durable commits, with a database of its own', async () => {
    assert.match(server.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/broker$/);
    assert.equal(await value(server.url, 'SHOW fsync'), 'on');
    assert.equal(await value(server.url, 'SHOW synchronous_commit'), 'on');
    assert.equal(await value(server.url, 'SHOW listen_addresses'), '127.0.0.1');
    assert.equal(await value(server.url, 'SELECT current_database()'), 'broker');
    const pids = await server.pids();
    assert.ok(pids.length >= 2, `postmaster and its processes: ${pids.join(' ')}`);
  });

  it('restarts on the same URL: open connections end with an error, new ones see committed rows', async () => {
    const { client, errors } = await connect(server.url);
    await client.query('CREATE TABLE kept (n int)');
    await client.query('INSERT INTO kept VALUES (1)');
    await server.restart();
    await assert.rejects(client.query('SELECT 1'));
    assert.ok(errors.length > 0, 'the old connection reported its end');
    await client.end().catch(() => {});
    assert.equal(await value(server.url, 'SELECT count(*)::int FROM kept'), 1);
  });

  it('refuses connections while down, and comes back after a kill with what was committed', async () => {
    await server.down();
    await assert.rejects(connect(server.url), /ECONNREFUSED/);
    await server.up();
    const { client } = await connect(server.url);
    await client.query('INSERT INTO kept VALUES (2)');
    await server.kill();
    await client.end().catch(() => {});
    await server.up(); // crash recovery
    assert.equal(await value(server.url, 'SELECT count(*)::int FROM kept'), 2);
  });

  it('pauses: connections stay open and nothing answers until resumed', async () => {
    const { client } = await connect(server.url, { queryTimeoutMs: 500 });
    await server.pause();
    try {
      await assert.rejects(client.query('SELECT 1'), /timeout/i);
    } finally {
      await server.resume();
    }
    await client.end().catch(() => {});
    assert.equal(await value(server.url, 'SELECT 1'), 1);
  });

  it('creates further databases on the same server', async () => {
    const url = await server.createDatabase('second');
    assert.equal(url, server.url.replace(/\/broker$/, '/second'));
    assert.equal(await value(url, 'SELECT current_database()'), 'second');
  });

  it('stop() shuts the server down and removes its directory', async () => {
    const other = await startPostgres();
    await other.stop();
    assert.equal(existsSync(other.dir), false);
    await assert.rejects(connect(other.url), /ECONNREFUSED/);
  });
});
