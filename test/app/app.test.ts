import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigurationError, loadBrokerConfig } from '#config';
import { startBroker } from '../../apps/broker/src/broker-app';
import { startBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';

/** A broker process's environment: data in `dataDir`, every door on a free loopback port. */
const onFreePorts = (dataDir: string): Record<string, string> => ({
  DATA_DIR: dataDir,
  MANAGEMENT_PORT: '0',
  AMQP_PORT: '0',
  JOBS_PORT: '0',
  DISPATCH_PORT: '0',
  BIND_HOST: '127.0.0.1',
});

test('configuration: defaults, env values, config file (env wins), errors name the key', () => {
  const defaults = loadBrokerConfig({});
  assert.equal(defaults.DATA_DIR, './data');
  assert.equal(defaults.AMQP_PORT, 5672);
  assert.equal(defaults.JOBS_PORT, 8282);
  assert.equal(defaults.DISPATCH_PORT, 8080);
  assert.equal(defaults.MANAGEMENT_PORT, 15672);
  assert.equal(defaults.BIND_HOST, '0.0.0.0');
  assert.equal(defaults.STORE_SYNC, 'full');

  const fromEnv = loadBrokerConfig({ AMQP_PORT: '5999', STORE_SYNC: 'normal', UNRELATED: 'x' });
  assert.equal(fromEnv.AMQP_PORT, 5999);
  assert.equal(fromEnv.STORE_SYNC, 'normal');

  const dir = tempDir();
  try {
    const file = join(dir.path, 'config.json');
    writeFileSync(file, JSON.stringify({ AMQP_PORT: 6000, JOBS_PORT: 6001, LOG_LEVEL: 'warn' }));
    const merged = loadBrokerConfig({ CONFIG_FILE: file, JOBS_PORT: '7001' });
    assert.equal(merged.AMQP_PORT, 6000);
    assert.equal(merged.JOBS_PORT, 7001, 'environment wins over the file');
    assert.equal(merged.LOG_LEVEL, 'warn');

    writeFileSync(file, JSON.stringify({ tokens: { short: 'alice' } }));
    assert.throws(() => loadBrokerConfig({ CONFIG_FILE: file }), /tokens: each token must be at least 16 characters/);

    writeFileSync(file, '{not json');
    assert.throws(() => loadBrokerConfig({ CONFIG_FILE: file }), /CONFIG_FILE: .* is not valid JSON/);
  } finally {
    dir.cleanup();
  }
  assert.throws(() => loadBrokerConfig({ AMQP_PORT: '99999' }), (e: unknown) => e instanceof ConfigurationError && /AMQP_PORT/.test(e.message));
  assert.throws(() => loadBrokerConfig({ STORE_SYNC: 'sometimes' }), /STORE_SYNC/);
  assert.throws(() => loadBrokerConfig({ JOBS_PORT: 'eighty' }), /JOBS_PORT/);
  assert.throws(() => loadBrokerConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  assert.equal(defaults.GC_CONCURRENT_MARKING, 'auto');
  assert.throws(() => loadBrokerConfig({ GC_CONCURRENT_MARKING: 'sometimes' }), /GC_CONCURRENT_MARKING/);
  assert.throws(() => loadBrokerConfig({ CONFIG_FILE: '/nonexistent/x.json' }), /CONFIG_FILE: cannot read/);
  // settings that only make sense together
  assert.throws(() => loadBrokerConfig({ TLS_CERT_FILE: '/x/cert.pem' }), /TLS_CERT_FILE and TLS_KEY_FILE: give both or neither/);
  assert.throws(() => loadBrokerConfig({ HTTP_TLS: 'true' }), /HTTP_TLS: needs TLS_CERT_FILE/);
  assert.throws(() => loadBrokerConfig({ TLS_CERT_FILE: '/x/c', TLS_KEY_FILE: '/x/k', TLS_VERIFY_PEER: 'true' }), /TLS_VERIFY_PEER: needs TLS_CA_FILE/);
  assert.equal(loadBrokerConfig({ AMQP_MAX_CONNECTIONS: '10' }).AMQP_MAX_CONNECTIONS, 10);
  assert.throws(() => loadBrokerConfig({ AMQP_MAX_CONNECTIONS: '-1' }), /AMQP_MAX_CONNECTIONS/);
});

test('GET /metrics serves Prometheus text with the core counters and queue gauges', async () => {
  const dir = tempDir();
  const running = await startBroker(
    loadBrokerConfig({ DATA_DIR: dir.path, MANAGEMENT_PORT: '0', AMQP_PORT: '0', JOBS_PORT: '0', DISPATCH_PORT: '0', BIND_HOST: '127.0.0.1', LOG_LEVEL: 'silent' }),
  );
  try {
    const { Broker, Message } = await import('#core');
    const broker = running.app.get(Broker);
    broker.defaultVhost.declareQueue({ name: 'metrics-q', durable: true });
    broker.defaultVhost.publish('', new Message('', 'metrics-q', { deliveryMode: 2 }, null, Buffer.from('x')));
    broker.defaultVhost.publish('', new Message('', 'nowhere', {}, null, Buffer.from('y')));
    await broker.whenDurable();
    const response = await fetch(`http://127.0.0.1:${running.ports.management}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    assert.match(text, /^broker_messages_published_total 2$/m);
    assert.match(text, /^broker_messages_unroutable_total 1$/m);
    assert.match(text, /^broker_queue_messages_ready\{vhost="\/",queue="metrics-q"\} 1$/m);
    assert.match(text, /^broker_store_commit_seconds_count [1-9]/m);
    assert.match(text, /^process_cpu_user_seconds_total /m);
  } finally {
    await running.close();
    dir.cleanup();
  }
});

test('the executable refuses bad configuration with a message naming the key', async () => {
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(process.execPath, [join(__dirname, '..', '..', 'apps', 'broker', 'src', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', MANAGEMENT_PORT: '70000' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /MANAGEMENT_PORT/);
});

test('GC_CONCURRENT_MARKING reaches V8 before the broker starts: auto follows the CPU count, on/off force it', async () => {
  const { availableParallelism } = await import('node:os');
  for (const [setting, expected] of [
    ['auto', availableParallelism() > 2],
    ['on', true],
    ['off', false],
  ] as const) {
    const dir = tempDir();
    try {
      const proc = await startBrokerProcess({ ...onFreePorts(dir.path), LOG_LEVEL: 'debug', GC_CONCURRENT_MARKING: setting });
      const deadline = Date.now() + 5000;
      let tuned: Record<string, unknown> | undefined;
      while ((tuned = proc.logs.find((l) => l.msg === 'garbage collector tuned')) === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(tuned?.concurrentMarking, expected, setting);
      proc.child.kill('SIGTERM');
      assert.equal(await proc.exited, 0);
    } finally {
      dir.cleanup();
    }
  }
});

test('SIGTERM shuts down gracefully: listeners close, the store is committed, exit code 0', async () => {
  const dir = tempDir();
  try {
    const proc = await startBrokerProcess(onFreePorts(dir.path));
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
    assert.ok(proc.logs.some((l) => String(l.msg).startsWith('shutting down')));
  } finally {
    dir.cleanup();
  }
});
