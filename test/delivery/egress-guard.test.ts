/**
 * What the delivery door may call, over real sockets: never this broker's own listeners (on any
 * local address, by name or literal, even with loopback allowed and the address on the allow
 * list), loopback only when DISPATCH_ALLOW_LOOPBACK says so, every redirect hop judged like the
 * first, and the always-refused addresses (metadata, IPv6 forms that embed refused IPv4 ones).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { ManagementClient } from '../support/management-client';
import { haveOpenssl, makeTestCertificates } from '../support/test-certificates';
import { DestinationGuard, DestinationRules, embeddedIPv4 } from '../../libs/delivery/src/sender/destination-guard';

interface AttemptView {
  status?: number;
  error?: string;
  response?: string;
}

const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** Posts a delivery; returns its UUID (the intake must accept it: refusals come at send time). */
async function deliver(app: TestApp, request: Record<string, unknown>): Promise<string> {
  const uuid = randomUUID();
  const answer = await postJson(`${app.dispatchUrl}/`, { UUID: uuid, ...request });
  assert.equal(answer.status, 202, answer.text);
  return uuid;
}

/** The delivery once it has an attempt and is no longer pending or in flight. */
async function settled(app: TestApp, uuid: string, timeoutMs = 5000): Promise<{ state: string; attempts: AttemptView[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await getJson(`${app.dispatchUrl}/deliveries/${uuid}`)).json as { state: string; attempts: AttemptView[] };
    if ((view.state === 'dead' || view.state === 'delivered') && view.attempts.length > 0) return view;
    if (Date.now() > deadline) return view;
    await sleep(25);
  }
}

/** Asserts the delivery died at once, refused by the guard for `reason`. */
async function assertRefused(app: TestApp, uuid: string, reason: RegExp, what: string): Promise<void> {
  const view = await settled(app, uuid);
  assert.equal(view.state, 'dead', `${what}: ${JSON.stringify(view)}`);
  assert.equal(view.attempts.length, 1, `${what}: refused once, not retried`);
  assert.equal(view.attempts[0]!.error, 'forbidden-destination', `${what}: ${JSON.stringify(view.attempts[0])}`);
  assert.match(view.attempts[0]!.response ?? '', reason, what);
}

/** A non-loopback address of this machine (for a sink that is local but not loopback). */
function secondLocalAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === family && !address.internal && !address.address.startsWith('fe80')) return address.address;
    }
  }
  return undefined;
}

const bracketed = (address: string): string => (address.includes(':') ? `[${address}]` : address);

let sink: HttpSink;
before(async () => {
  // on every local address, so that IPv6 and second-address forms would reach it if allowed
  sink = await HttpSink.start(0, '::');
  sink.behaviour = (request) => {
    const to = new URL(request.url, 'http://x').searchParams.get('to');
    return to !== null ? { status: 302, headers: { location: to } } : { status: 200, body: 'reached' };
  };
});
after(async () => {
  await sink?.close();
});

describe("the issue's attack: guest's loopback privilege is not lent through the delivery door", () => {
  const attack = (port: number, name: string): Record<string, unknown> => ({
    Url: `http://127.0.0.1:${port}/api/users/${name}`,
    Method: 'PUT',
    Header: { Authorization: GUEST, 'Content-Type': 'application/json' },
    Body: JSON.stringify({ password: 'owned', tags: 'administrator' }),
  });

  test('with the defaults: refused as loopback, and no user is created', async () => {
    const app = await startTestApp();
    try {
      const uuid = await deliver(app, attack(app.running.ports.management, 'evil'));
      await assertRefused(app, uuid, /127\.0\.0\.1 is loopback/, 'management port, defaults');
      const management = new ManagementClient(app.managementUrl);
      assert.equal((await management.request('GET', '/api/users/evil')).status, 404, 'no user was created');
      assert.equal(app.broker.users.get('evil'), undefined);
    } finally {
      await app.close();
    }
  });

  test('with loopback allowed and 127.0.0.1 on the allow list: refused as the broker\'s own management listener', async () => {
    const app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_ALLOW: '127.0.0.1,localhost' });
    try {
      const uuid = await deliver(app, attack(app.running.ports.management, 'evil'));
      await assertRefused(app, uuid, /own management listener/, 'management port, loopback allowed');
      const byName = await deliver(app, { ...attack(app.running.ports.management, 'evil2'), Url: `http://localhost:${app.running.ports.management}/api/users/evil2` });
      await assertRefused(app, byName, /own management listener/, 'management port by the name localhost');
      assert.equal(app.broker.users.get('evil'), undefined, 'no user was created');
      assert.equal(app.broker.users.get('evil2'), undefined, 'no user was created');
      // loopback itself is allowed: a sink that is not the broker is delivered to
      const fine = await deliver(app, { Url: sink.url('/loopback-allowed') });
      assert.equal((await settled(app, fine)).state, 'delivered');
    } finally {
      await app.close();
    }
  });
});

test("every door's port, on every local form of every address, is refused even with loopback allowed and the addresses on the allow list", async () => {
  const v4 = secondLocalAddress('IPv4');
  const v6 = secondLocalAddress('IPv6');
  const hosts = ['127.0.0.1', '127.0.0.2', 'localhost', '0.0.0.0', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:127.0.0.1]'];
  if (v4 !== undefined) hosts.push(v4, `[::ffff:${v4}]`);
  if (v6 !== undefined) hosts.push(bracketed(v6));
  // the broker listens on every address here, so each form would reach it
  const app = await startTestApp({
    BIND_HOST: '::',
    DISPATCH_ALLOW_LOOPBACK: 'true',
    DISPATCH_ALLOW: ['127.0.0.0/8', '::1', 'localhost', '::ffff:0:0/96', ...(v4 !== undefined ? [v4] : []), ...(v6 !== undefined ? [v6] : [])].join(','),
  });
  try {
    const ports = app.running.ports;
    const doors: [string, number][] = [
      ['management', ports.management],
      ['amqp', ports.amqp],
      ['jobs', ports.jobs],
      ['dispatch', ports.dispatch],
    ];
    const sent: [string, string, string][] = [];
    for (const [door, port] of doors) {
      for (const host of hosts) sent.push([await deliver(app, { Url: `http://${host}:${port}/probe`, Method: 'POST', Body: '{}' }), door, host]);
    }
    for (const [uuid, door, host] of sent) {
      const view = await settled(app, uuid);
      if (host === '0.0.0.0') {
        // refused before any socket: "this network" is never called
        assert.equal(view.attempts[0]?.error, 'forbidden-destination', `${door} on ${host}`);
        continue;
      }
      await assertRefused(app, uuid, new RegExp(`own ${door} listener`), `${door} on ${host}`);
    }
    const jobs = (await getJson(`http://127.0.0.1:${ports.jobs}/`)).json as { payload: { queued_jobs: Record<string, number> } };
    assert.equal(Object.values(jobs.payload.queued_jobs).reduce((a, b) => a + b, 0), 0, 'nothing reached the job door');
  } finally {
    await app.close();
  }
});

test('a door bound to a non-loopback local address only is refused there too (loopback allowed)', async (t) => {
  const v4 = secondLocalAddress('IPv4');
  if (v4 === undefined) {
    t.skip('this machine has no non-loopback IPv4 address');
    return;
  }
  const app = await startTestApp({ JOBS_HOST: v4, DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_ALLOW: v4 });
  try {
    const url = `http://${v4}:${app.running.ports.jobs}/schedule`;
    const uuid = await deliver(app, { Url: url, Method: 'POST', Body: JSON.stringify({ message: 'via the delivery door', lane: 'probe' }) });
    await assertRefused(app, uuid, /own jobs listener/, url);
    const status = (await getJson(`http://${v4}:${app.running.ports.jobs}/`)).json as { payload: { queued_jobs: Record<string, number> } };
    assert.equal(status.payload.queued_jobs.probe ?? 0, 0, 'no job was scheduled');
  } finally {
    await app.close();
  }
});

test('loopback is refused by default, by name and in every literal form; the sink hears nothing', async () => {
  const app = await startTestApp();
  try {
    const port = sink.port;
    const before = sink.received.length;
    const urls = [`http://127.0.0.1:${port}/lo`, `http://localhost:${port}/lo`, `http://[::1]:${port}/lo`, `http://[::ffff:127.0.0.1]:${port}/lo`, `http://127.7.7.7:${port}/lo`];
    for (const url of urls) await assertRefused(app, await deliver(app, { Url: url }), /loopback \(DISPATCH_ALLOW_LOOPBACK is off\)/, url);
    assert.equal(sink.received.length, before, 'nothing reached the loopback sink');
    // private addresses stay allowed by default (Dispatcher's users call internal services)
    const v4 = secondLocalAddress('IPv4');
    if (v4 !== undefined) {
      const uuid = await deliver(app, { Url: `http://${v4}:${port}/second-address` });
      assert.equal((await settled(app, uuid)).state, 'delivered', 'a local non-loopback address is not loopback');
    }
  } finally {
    await app.close();
  }
});

test('always refused, at once: cloud metadata over IPv4 and IPv6, and IPv6 forms that embed a refused IPv4 address', async () => {
  const app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' });
  try {
    const urls = [
      'http://100.100.100.200/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[64:ff9b::169.254.169.254]/latest/meta-data/',
      'http://[64:ff9b::a9fe:a9fe]/latest/meta-data/',
      'http://[2002:a9fe:a9fe::1]/latest/meta-data/',
      'http://[::169.254.169.254]/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/latest/meta-data/',
      'http://[::ffff:0:169.254.169.254]/latest/meta-data/',
    ];
    for (const url of urls) await assertRefused(app, await deliver(app, { Url: url }), /link-local, cloud metadata/, url);
  } finally {
    await app.close();
  }
});

test('https: TLS starts only on a socket the guard allowed, with the name as SNI', async (t) => {
  if (!haveOpenssl()) {
    t.skip('openssl is not installed');
    return;
  }
  const certificates = makeTestCertificates();
  const names: string[] = [];
  const server = createTlsServer({
    key: readFileSync(certificates.keyFile),
    cert: readFileSync(certificates.certFile),
    SNICallback: (name, callback) => {
      names.push(name);
      callback(null, undefined);
    },
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' });
  try {
    // the test CA is not trusted by the sender: the handshake runs and fails on the certificate
    const uuid = await deliver(app, { Url: `https://localhost:${port}/secure` });
    const view = await settled(app, uuid);
    assert.equal(view.attempts[0]?.error, 'tls', JSON.stringify(view));
    assert.deepEqual(names.slice(0, 1), ['localhost']);
    const own = await deliver(app, { Url: `https://localhost:${app.running.ports.management}/api/overview` });
    await assertRefused(app, own, /own management listener/, 'https to the management port');
  } finally {
    await app.close();
    server.close();
    certificates.cleanup();
  }
});

describe('with DISPATCH_FOLLOW_REDIRECTS=true every hop is judged like the first', () => {
  test('a redirect from an allowed local address to 0.0.0.0, [::ffff:0.0.0.0], [::1], localhost or loopback literals is refused', async (t) => {
    const v4 = secondLocalAddress('IPv4');
    if (v4 === undefined) {
      t.skip('this machine has no non-loopback IPv4 address for the first hop');
      return;
    }
    const app = await startTestApp({ DISPATCH_FOLLOW_REDIRECTS: 'true' });
    try {
      const port = sink.port;
      const targets = ['0.0.0.0', '[::ffff:0.0.0.0]', '[::1]', 'localhost', '[::ffff:127.0.0.1]', '127.0.0.1'];
      for (const [i, target] of targets.entries()) {
        const landing = `http://${target}:${port}/landed/${i}`;
        const url = `http://${v4}:${port}/hop?to=${encodeURIComponent(landing)}`;
        await assertRefused(app, await deliver(app, { Url: url }), /link-local|loopback/, `302 to ${landing}`);
      }
      assert.equal(sink.to('/landed/').length, 0, 'no redirect was followed to a refused address');
      assert.ok(sink.to('/hop').length >= targets.length, 'the first hop was called');
    } finally {
      await app.close();
    }
  });

  test('a redirect to a denied host, or to the broker\'s own port, is refused (loopback allowed)', async () => {
    const app = await startTestApp({ DISPATCH_FOLLOW_REDIRECTS: 'true', DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_DENY: 'localhost' });
    try {
      const port = sink.port;
      const denied = await deliver(app, { Url: `http://127.0.0.1:${port}/hop?to=${encodeURIComponent(`http://localhost:${port}/landed/denied`)}` });
      await assertRefused(app, denied, /host 'localhost' is on the deny list/, 'redirect to a denied name');
      const management = `http://127.0.0.1:${app.running.ports.management}/api/overview`;
      const own = await deliver(app, { Url: `http://127.0.0.1:${port}/hop?to=${encodeURIComponent(management)}` });
      await assertRefused(app, own, /own management listener/, 'redirect to the management port');
      assert.equal(sink.to('/landed/').length, 0);
      // an allowed hop is still followed
      const fine = await deliver(app, { Url: `http://127.0.0.1:${port}/hop?to=${encodeURIComponent(`http://127.0.0.1:${port}/landed-fine`)}` });
      assert.equal((await settled(app, fine)).state, 'delivered');
      assert.equal(sink.to('/landed-fine').length, 1);
    } finally {
      await app.close();
    }
  });
});

describe('destination guard (addresses that cannot be reached from here)', () => {
  const rules = (overrides: Partial<DestinationRules> = {}): DestinationRules => ({ allowLoopback: false, refusePrivate: false, allow: [], deny: [], ...overrides });
  const ownPort = 15672;
  const listeners = {
    reachedBy: (address: string, port: number) => (port === ownPort && (address.startsWith('127.') || address === '::1' || address === '192.0.2.2') ? { door: 'management', host: '0.0.0.0', port } : null),
  };

  test('IPv6 forms that embed an IPv4 address are read as it', () => {
    const cases: [string, string | null][] = [
      ['::ffff:169.254.169.254', '169.254.169.254'],
      ['::ffff:a9fe:a9fe', '169.254.169.254'],
      ['::ffff:0:7f00:1', '127.0.0.1'],
      ['64:ff9b::169.254.169.254', '169.254.169.254'],
      ['64:FF9B::7F00:1', '127.0.0.1'],
      ['2002:a9fe:a9fe::', '169.254.169.254'],
      ['2002:7f00:1:0:1::5', '127.0.0.1'],
      ['::127.0.0.1', '127.0.0.1'],
      ['::a00:1', '10.0.0.1'],
      ['::1', null],
      ['::', null],
      ['2001:db8::1', null],
      ['fd00::2', null],
      ['127.0.0.1', null],
    ];
    for (const [address, expected] of cases) assert.equal(embeddedIPv4(address), expected, address);
  });

  test('metadata and embedded forms always refused; embedded loopback is loopback; embedded private is private; lists see the embedded address', () => {
    const open = new DestinationGuard(rules({ allowLoopback: true }), listeners);
    for (const address of ['100.100.100.200', 'fd00:ec2::254', '64:ff9b::169.254.169.254', '2002:a9fe:a9fe::1', '::169.254.169.254', '::ffff:0.0.0.0', '64:ff9b::0.0.0.0', '::ffff:224.0.0.1']) {
      assert.match(open.refuseAddress(address) ?? '', /link-local, cloud metadata/, address);
    }
    assert.notEqual(open.refuseHost('[fd00:ec2::254]'), null, 'a bracketed literal host');
    for (const address of ['127.0.0.1', '::1', '64:ff9b::127.0.0.1', '2002:7f00:1::', '::127.0.0.1', '::ffff:127.0.0.1']) {
      assert.equal(open.refuseAddress(address), null, `${address} with loopback allowed`);
    }
    const closed = new DestinationGuard(rules(), listeners);
    for (const address of ['127.0.0.1', '::1', '64:ff9b::127.0.0.1', '2002:7f00:1::', '::127.0.0.1', '::ffff:127.0.0.1', '::ffff:0:127.0.0.1']) {
      assert.match(closed.refuseAddress(address) ?? '', /loopback/, address);
    }
    assert.equal(closed.refuseAddress('10.0.0.1'), null, 'private ranges stay allowed by default');
    assert.equal(closed.refuseAddress('64:ff9b::10.0.0.1'), null);
    const strict = new DestinationGuard(rules({ allowLoopback: true, refusePrivate: true, deny: ['203.0.113.0/24'] }), listeners);
    for (const address of ['10.0.0.1', '64:ff9b::10.0.0.1', '2002:c0a8:101::', 'fd12::1', '127.0.0.1']) assert.notEqual(strict.refuseAddress(address), null, address);
    assert.match(strict.refuseAddress('64:ff9b::203.0.113.5') ?? '', /deny list/, 'the deny list sees the embedded address');
    const allowOnly = new DestinationGuard(rules({ allow: ['198.51.100.0/24'] }), listeners);
    assert.equal(allowOnly.refuseAddress('64:ff9b::198.51.100.7'), null, 'the allow list sees the embedded address');
  });

  test("the broker's own port on any local address, whatever the switches and lists say", () => {
    const lax = new DestinationGuard(rules({ allowLoopback: true, allow: ['127.0.0.1', '::1', '192.0.2.2', '64:ff9b::/96'] }), listeners);
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '64:ff9b::7f00:1', '::127.0.0.1', '192.0.2.2', '::ffff:192.0.2.2']) {
      assert.match(lax.refusePeer(address, ownPort) ?? '', /own management listener/, address);
    }
    assert.equal(lax.refusePeer('127.0.0.1', ownPort + 1), null, 'another port on loopback is allowed when loopback is');
  });
});
