/**
 * Password checks under attack, over real sockets: the default user is created on a new database
 * only (a deleted guest stays deleted across a restart of the real executable), bcrypt runs off the
 * event loop (/healthz stays fast during a wrong-password storm), unknown users and a loopback
 * user's right password from the network cost what a wrong password does, failed logins are logged
 * (quietly) and counted in /metrics on every door, and a failing source is backed off for a while
 * without touching other sources.
 */
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { freePort, sleep, startTestApp, TestApp } from '../support/app-harness';
import { BrokerProcess, startBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';

interface Answer {
  status: number;
  text: string;
  ms: number;
}

/** One HTTP request with node's client; `localAddress` picks the source address. */
function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Whether an AMQP login works. */
async function amqpLogin(url: string): Promise<boolean> {
  try {
    const connection = await amqp.connect(url);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

function externalAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

/** The value of one sample of /metrics, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((label) => labelText.split(',').includes(label))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('the default user is created on the first start only (the real executable)', () => {
  const dir = tempDir();
  let proc: BrokerProcess | null = null;
  after(async () => {
    proc?.child.kill('SIGKILL');
    dir.cleanup();
  });

  it('guest deleted over the management API is gone after a restart, on every door; a configured user deleted stays deleted while its entry is unchanged', async () => {
    const ports = { amqp: await freePort(), management: await freePort(), jobs: await freePort(), dispatch: await freePort() };
    const configFile = join(dir.path, 'broker.json');
    writeFileSync(configFile, JSON.stringify({ users: { dave: { password_bcrypt: bcrypt.hashSync('dave-pw', 4) } } }));
    const env = {
      DATA_DIR: dir.path,
      AMQP_PORT: String(ports.amqp),
      MANAGEMENT_PORT: String(ports.management),
      JOBS_PORT: String(ports.jobs),
      DISPATCH_PORT: String(ports.dispatch),
      BIND_HOST: '127.0.0.1',
      JOBS_AUTH: 'true',
      DISPATCH_AUTH: 'true',
      STORE_SYNC: 'normal',
      CONFIG_FILE: configFile,
    };
    const management = `http://127.0.0.1:${ports.management}`;
    const asGuest = basic('guest', 'guest');
    proc = await startBrokerProcess(env);
    const created = await call(`${management}/api/users/alice`, {
      method: 'PUT',
      headers: { ...asGuest, 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'alice-pw', tags: 'administrator' }),
    });
    assert.equal(created.status, 201, created.text);
    const permitted = await call(`${management}/api/permissions/%2F/alice`, {
      method: 'PUT',
      headers: { ...asGuest, 'content-type': 'application/json' },
      body: JSON.stringify({ configure: '.*', write: '.*', read: '.*' }),
    });
    assert.equal(permitted.status, 201, permitted.text);
    assert.equal(await amqpLogin(`amqp://dave:dave-pw@127.0.0.1:${ports.amqp}`), true, 'the configured user exists');
    for (const name of ['guest', 'dave']) assert.equal((await call(`${management}/api/users/${name}`, { method: 'DELETE', headers: basic('alice', 'alice-pw') })).status, 204);
    proc.child.kill('SIGTERM');
    await proc.exited;

    proc = await startBrokerProcess(env);
    assert.equal((await call(`${management}/api/whoami`, { headers: asGuest })).status, 401, 'management');
    assert.equal(await amqpLogin(`amqp://guest:guest@127.0.0.1:${ports.amqp}`), false, 'AMQP');
    assert.equal(await amqpLogin(`amqp://dave:dave-pw@127.0.0.1:${ports.amqp}`), false, 'the configured user stays deleted');
    assert.equal((await call(`http://127.0.0.1:${ports.jobs}/`, { headers: asGuest })).status, 401, 'job API');
    assert.equal((await call(`http://127.0.0.1:${ports.dispatch}/deliveries`, { headers: asGuest })).status, 401, 'delivery API');
    const users = await call(`${management}/api/users`, { headers: basic('alice', 'alice-pw') });
    assert.deepEqual((JSON.parse(users.text) as { name: string }[]).map((u) => u.name), ['alice'], 'guest was not brought back');
    assert.equal(await amqpLogin(`amqp://alice:alice-pw@127.0.0.1:${ports.amqp}`), true, 'the remaining administrator still logs in');
    const failed = proc.logs.filter((line) => line.msg === 'login failed');
    assert.deepEqual(
      new Set(failed.filter((line) => line.user === 'guest').map((line) => line.door)),
      new Set(['management', 'amqp', 'jobs', 'delivery']),
      'each refused login is logged with its door',
    );
    for (const line of failed) {
      assert.equal(line.level, 40, 'at warn level');
      assert.equal(line.reason, 'unknown_user');
      assert.match(String(line.source), /127\.0\.0\.1$/);
    }
  });
});

describe('password checks off the event loop, at one cost', () => {
  let app: TestApp;
  const external = externalAddress();
  before(async () => {
    // no back-off here: the storm must keep costing bcrypt
    app = await startTestApp({ AUTH_FAILURE_LIMIT: '0', BIND_HOST: '0.0.0.0', AUTH_CACHE_TTL_MS: '0' });
    app.broker.users.put('carol', { password: 'carol-pw' }, ['management']);
  });
  after(async () => {
    await app?.close();
  });

  it('/healthz stays fast while three loops send wrong passwords', async () => {
    const management = app.managementUrl;
    const healthz = async (): Promise<number> => (await call(`${management}/healthz`)).ms;
    for (let i = 0; i < 5; i++) await healthz();
    const wrong: number[] = [];
    for (let i = 0; i < 3; i++) wrong.push((await call(`${management}/api/whoami`, { headers: basic('carol', `wrong-${i}`) })).ms);
    const oneCheck = median(wrong);
    let storming = true;
    const loops = Array.from({ length: 3 }, async (_, loop) => {
      for (let i = 0; storming; i++) await call(`${management}/api/whoami`, { headers: basic('carol', `storm-${loop}-${i}`) });
    });
    await sleep(200);
    const during: number[] = [];
    for (let i = 0; i < 15; i++) {
      during.push(await healthz());
      await sleep(20);
    }
    storming = false;
    await Promise.all(loops);
    // bcrypt on the main thread made each /healthz wait for the checks queued before it (~5x a check)
    assert.ok(median(during) < oneCheck / 3, `/healthz median ${median(during).toFixed(1)} ms during the storm; one wrong-password check takes ${oneCheck.toFixed(1)} ms`);
  });

  it('an unknown user costs what a wrong password costs', async () => {
    const management = app.managementUrl;
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 7; i++) {
      unknown.push((await call(`${management}/api/whoami`, { headers: basic(`nobody-${i}`, 'pw') })).ms);
      wrong.push((await call(`${management}/api/whoami`, { headers: basic('carol', `pw-${i}`) })).ms);
    }
    const ratio = median(unknown) / median(wrong);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(wrong).toFixed(1)} ms`);
  });

  it("a loopback-only user's right password from the network costs what a wrong one does", { skip: external === undefined ? 'no non-loopback IPv4 address' : false }, async () => {
    const remote = `http://${external}:${app.running.ports.management}/api/whoami`;
    const right: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 7; i++) {
      const withRight = await call(remote, { headers: basic('guest', 'guest') });
      assert.equal(withRight.status, 401);
      right.push(withRight.ms);
      wrong.push((await call(remote, { headers: basic('guest', `wrong-${i}`) })).ms);
    }
    const ratio = median(right) / median(wrong);
    assert.ok(ratio > 0.5 && ratio < 2, `right password ${median(right).toFixed(1)} ms vs wrong ${median(wrong).toFixed(1)} ms`);
  });
});

describe('failed logins in /metrics, and the per-source back-off', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_MS: '10000', AUTH_BACKOFF_MS: '600', AUTH_BACKOFF_MAX_MS: '600', JOBS_AUTH: 'true', DISPATCH_AUTH: 'true' });
  });
  after(async () => {
    await app?.close();
  });

  it('a burst of logins with the same right credentials from one source shares one check: none is refused', async () => {
    app.broker.users.put('burst', { password: 'burst-pw' }, ['management']);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call(`${app.managementUrl}/api/whoami`, { headers: basic('burst', 'burst-pw'), localAddress: '127.0.0.5' })),
    );
    assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
  });

  it('every door counts its refusals by reason; a source that keeps failing waits, others do not, and the wait ends', async () => {
    const management = app.managementUrl;
    const jobs = `http://127.0.0.1:${app.running.ports.jobs}/`;
    const metrics = async (): Promise<string> => (await call(`${management}/metrics`)).text;
    const before = await metrics();
    const failures = (text: string, door: string, reason: string): number => sample(text, 'broker_login_failures_total', { door, reason });

    // from 127.0.0.3: one failure on each of three doors reaches the limit
    assert.equal((await call(`${management}/api/whoami`, { headers: basic('guest', 'nope'), localAddress: '127.0.0.3' })).status, 401);
    assert.equal((await call(jobs, { headers: basic('nobody', 'nope'), localAddress: '127.0.0.3' })).status, 401);
    assert.equal((await call(`${app.dispatchUrl}/deliveries`, { headers: { authorization: 'Bearer not-a-token' }, localAddress: '127.0.0.3' })).status, 401);
    const counted = await metrics();
    assert.equal(failures(counted, 'management', 'invalid_credentials') - failures(before, 'management', 'invalid_credentials'), 1);
    assert.equal(failures(counted, 'jobs', 'invalid_credentials') - failures(before, 'jobs', 'invalid_credentials'), 1, 'an unknown user counts as invalid credentials: /metrics is public');
    assert.equal(failures(counted, 'delivery', 'invalid_token') - failures(before, 'delivery', 'invalid_token'), 1);

    // backed off: even the right password is refused, at once, without a check
    const refused = await call(`${management}/api/whoami`, { headers: basic('guest', 'guest'), localAddress: '127.0.0.3' });
    assert.equal(refused.status, 401);
    const jobsRefused = await call(jobs, { headers: basic('guest', 'guest'), localAddress: '127.0.0.3' });
    assert.equal(jobsRefused.status, 401);
    assert.match(jobsRefused.text, /too many failed logins/);
    assert.equal(await amqpLogin(`amqp://guest:guest@127.0.0.1:${app.amqpPort}`), true, 'another source (127.0.0.1) is not affected');
    assert.equal((await call(`${management}/api/whoami`, { headers: basic('guest', 'guest'), localAddress: '127.0.0.4' })).status, 200, 'nor is 127.0.0.4');
    const backedOff = await metrics();
    assert.ok(failures(backedOff, 'management', 'backoff') - failures(before, 'management', 'backoff') >= 1);
    assert.ok(failures(backedOff, 'jobs', 'backoff') - failures(before, 'jobs', 'backoff') >= 1);

    await sleep(700);
    assert.equal((await call(`${management}/api/whoami`, { headers: basic('guest', 'guest'), localAddress: '127.0.0.3' })).status, 200, 'the back-off has expired');
  });

  it('AMQP refusals are counted too', async () => {
    const before = sample((await call(`${app.managementUrl}/metrics`)).text, 'broker_login_failures_total', { door: 'amqp', reason: 'invalid_credentials' });
    assert.equal(await amqpLogin(`amqp://guest:wrong@127.0.0.1:${app.amqpPort}`), false);
    const after = sample((await call(`${app.managementUrl}/metrics`)).text, 'broker_login_failures_total', { door: 'amqp', reason: 'invalid_credentials' });
    assert.equal(after - before, 1);
  });
});

describe('the failed-login log is quiet', () => {
  const dir = tempDir();
  let proc: BrokerProcess | null = null;
  after(async () => {
    proc?.child.kill('SIGKILL');
    dir.cleanup();
  });

  it('a storm of failures writes a bounded number of lines, then one line counting the rest', async () => {
    const management = await freePort();
    proc = await startBrokerProcess({
      DATA_DIR: dir.path,
      AMQP_PORT: '0',
      JOBS_PORT: '0',
      DISPATCH_PORT: '0',
      MANAGEMENT_PORT: String(management),
      BIND_HOST: '127.0.0.1',
      AUTH_FAILURE_LIMIT: '0',
    });
    await Promise.all(Array.from({ length: 40 }, (_, i) => call(`http://127.0.0.1:${management}/api/whoami`, { headers: basic(`u${i}`, 'x') })));
    const lines = proc.logs.filter((line) => line.msg === 'login failed');
    assert.ok(lines.length >= 10 && lines.length <= 20, `${lines.length} lines for 40 failures`);
    assert.deepEqual(Object.keys(lines[0]!).filter((key) => ['user', 'source', 'door', 'reason'].includes(key)).sort(), ['door', 'reason', 'source', 'user']);
  });
});
