/** Cluster mode's settings: defaults, validation, and a start-up without a database stopping with exit code 2. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigurationError, loadBrokerConfig, nodeNameOf } from '#config';

test('the cluster settings have defaults and are validated', () => {
  const defaults = loadBrokerConfig({});
  assert.equal(defaults.STORE, 'sqlite');
  assert.equal(defaults.DATABASE_URL, '');
  assert.equal(defaults.DATABASE_POOL_SIZE, 10);
  assert.equal(defaults.DATABASE_NOTIFY, true);
  assert.equal(defaults.CLUSTER_NODE_TIMEOUT_MS, 10_000);
  assert.equal(defaults.CLUSTER_POLL_INTERVAL_MS, 1000);
  assert.equal(nodeNameOf(defaults), `${hostname()}:5672`);
  assert.equal(nodeNameOf(loadBrokerConfig({ NODE_NAME: 'n1' })), 'n1');
  const cluster = loadBrokerConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://u:p@db:5432/broker', DATABASE_NOTIFY: 'false', CLUSTER_NODE_TIMEOUT_MS: '3000' });
  assert.equal(cluster.DATABASE_NOTIFY, false);
  assert.equal(cluster.CLUSTER_NODE_TIMEOUT_MS, 3000);
  assert.throws(() => loadBrokerConfig({ STORE: 'postgres' }), (e: unknown) => e instanceof ConfigurationError && /STORE=postgres needs DATABASE_URL/.test(e.message));
  assert.throws(() => loadBrokerConfig({ STORE: 'postgres', DATABASE_URL: 'mysql://x' }), /DATABASE_URL: expected a postgres:\/\//);
  assert.throws(() => loadBrokerConfig({ STORE: 'mongo' }), /STORE/);
  assert.throws(() => loadBrokerConfig({ CLUSTER_NODE_TIMEOUT_MS: '10' }), /CLUSTER_NODE_TIMEOUT_MS/);
  assert.throws(() => loadBrokerConfig({ DATABASE_POOL_SIZE: '1' }), /DATABASE_POOL_SIZE/);
});

test('STORE=postgres without DATABASE_URL stops start-up with exit code 2 and says why', () => {
  const main = join(__dirname, '..', '..', 'apps', 'broker', 'src', 'main.js');
  const result = spawnSync(process.execPath, [main], { env: { PATH: process.env.PATH ?? '', STORE: 'postgres' }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /STORE=postgres needs DATABASE_URL/);
});
