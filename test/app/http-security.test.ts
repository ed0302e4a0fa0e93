/**
 * Security of the HTTP doors over real sockets: optional authentication of the job API and the
 * delivery API (basic auth with broker users, bearer tokens), permissions naming lanes and
 * destinations, HTTPS with a CA made in the test, guest on loopback only for the management API,
 * and a graceful stop that lets requests in flight finish.
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { HttpSink } from '../support/http-sink';
import { tempDir } from '../support/temp-dir';
import { haveOpenssl, makeTestCertificates, TestCertificates } from '../support/test-certificates';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
  text: string;
}

/** One request with node's own client; `ca` makes it HTTPS against that CA. */
function call(url: string, options: { method?: string; body?: unknown; headers?: Record<string, string>; ca?: Buffer } = {}): Promise<Answer> {
  const payload = options.body === undefined ? '' : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...options.headers },
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function externalAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

describe('job API and delivery API with authentication on', () => {
  let app: TestApp;
  let sink: HttpSink;
  let jobs: string;
  const config = tempDir();
  before(async () => {
    sink = await HttpSink.start();
    const file = join(config.path, 'broker.json');
    writeFileSync(file, JSON.stringify({ tokens: { 'worker-token-0123456789': 'worker', 'ghost-token-for-nobody': 'nobody' } }));
    app = await startTestApp({ CONFIG_FILE: file, JOBS_AUTH: 'true', DISPATCH_AUTH: 'true', DISPATCH_REFUSE_PRIVATE: 'false', DISPATCH_ALLOW_LOOPBACK: 'true' });
    jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
    const users = app.broker.users;
    users.put('worker', { password: 'w0rk' }, []);
    // the worker may schedule on lane "mail" and receive from "mail" and "reports"
    users.setPermission({ user: 'worker', vhost: '/', configure: '', write: '^jobs\\.mail$', read: '^jobs\\.(mail|reports)$' });
    users.put('sender', { password: 's3nd' }, []);
    // the sender may deliver to 127.0.0.1 only
    users.setPermission({ user: 'sender', vhost: '/', configure: '', write: '^127\\.0\\.0\\.1$', read: '' });
    users.put('outsider', { password: 'out' }, []);
  });
  after(async () => {
    await app?.close();
    await sink?.close();
    config.cleanup();
  });

  it('the job API answers 401 (JSON, with a challenge) without or with wrong credentials, and does nothing', async () => {
    for (const headers of [{}, basic('worker', 'wrong'), bearer('no-such-token'), bearer('ghost-token-for-nobody'), { authorization: 'Digest x' }]) {
      const answer = await call(`${jobs}/schedule`, { body: { message: 'x', lane: 'mail' }, headers });
      assert.equal(answer.status, 401, JSON.stringify(headers));
      assert.equal(answer.json.status, 'error');
      assert.equal(typeof answer.json.message, 'string');
      assert.match(String(answer.headers['www-authenticate']), /^Basic /);
    }
    assert.equal((await call(`${jobs}/`, { method: 'GET' })).status, 401, 'even the status document');
    const status = await call(`${jobs}/`, { method: 'GET', headers: basic('guest', 'guest') });
    assert.equal(status.status, 200);
    assert.equal((status.json.payload as { queued_jobs: Record<string, number> }).queued_jobs.mail ?? 0, 0, 'nothing was scheduled');
  });

  it('lanes are permissions: write to schedule, read to receive and settle, with RabbitMQ-style texts', async () => {
    const scheduled = await call(`${jobs}/schedule`, { body: { message: 'hello', lane: 'mail' }, headers: basic('worker', 'w0rk') });
    assert.deepEqual([scheduled.status, scheduled.json.status], [200, 'ok'], scheduled.text);
    const viaToken = await call(`${jobs}/schedule`, { body: { message: 'second', lane: 'mail' }, headers: bearer('worker-token-0123456789') });
    assert.equal(viaToken.status, 200, viaToken.text);

    const refused = await call(`${jobs}/schedule`, { body: { message: 'nope', lane: 'reports' }, headers: basic('worker', 'w0rk') });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.message, "write access to queue 'jobs.reports' in vhost '/' refused for user 'worker'");
    const outsider = await call(`${jobs}/receive_noblock`, { body: { lane: 'mail' }, headers: basic('outsider', 'out') });
    assert.equal(outsider.status, 403);
    assert.equal(outsider.json.message, "read access to queue 'jobs.mail' in vhost '/' refused for user 'outsider'");
    assert.equal((await call(`${jobs}/jobs`, { headers: basic('outsider', 'out') })).status, 403, 'no access to the vhost at all');

    const leased = await call(`${jobs}/receive_noblock`, { body: { lane: 'mail', ack: true }, headers: bearer('worker-token-0123456789') });
    assert.equal(leased.json.message, 'hello', leased.text);
    assert.equal((await call(`${jobs}/ack`, { body: { id: leased.json.id }, headers: basic('outsider', 'out') })).status, 403, 'a stranger cannot settle it');
    assert.equal((await call(`${jobs}/ack`, { body: { id: leased.json.id }, headers: basic('worker', 'w0rk') })).json.status, 'ok');
    const next = await call(`${jobs}/receive_noblock`, { body: { lane: 'mail' }, headers: basic('guest', 'guest') });
    assert.equal(next.json.message, 'second', 'the refused requests lost nothing');
  });

  it('the delivery API authenticates too, and a user may deliver only to destinations its write permission names', async () => {
    const delivery = { Url: sink.url('/auth-hook'), Method: 'POST', Body: 'hi', Header: {}, Timeout: 2000 };
    const anonymous = await call(`${app.dispatchUrl}/`, { body: delivery });
    assert.equal(anonymous.status, 401);
    assert.equal(typeof anonymous.json.error, 'string');
    assert.equal((await call(`${app.dispatchUrl}/deliveries`, { method: 'GET' })).status, 401);

    const accepted = await call(`${app.dispatchUrl}/`, { body: { ...delivery, UUID: 'auth-1' }, headers: basic('sender', 's3nd') });
    assert.equal(accepted.status, 202, accepted.text);
    await sink.waitFor(() => sink.to('/auth-hook').length === 1, 5000, 'the delivery');

    const elsewhere = await call(`${app.dispatchUrl}/`, { body: { ...delivery, Url: 'http://localhost:9/x' }, headers: basic('sender', 's3nd') });
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.json.error, "write access to destination 'localhost' in vhost '/' refused for user 'sender'");
    const stranger = await call(`${app.dispatchUrl}/`, { body: delivery, headers: basic('outsider', 'out') });
    assert.equal(stranger.status, 403);
    assert.equal(stranger.json.error, "access to vhost '/' refused for user 'outsider'");
    assert.equal((await call(`${app.dispatchUrl}/deliveries/auth-1/replay`, { headers: basic('worker', 'w0rk') })).status, 403, 'worker may not deliver to 127.0.0.1');
    const shown = await call(`${app.dispatchUrl}/deliveries/auth-1`, { method: 'GET', headers: basic('sender', 's3nd') });
    assert.equal(shown.json.state, 'delivered', shown.text);
    assert.equal(sink.to('/auth-hook').length, 1, 'refused requests delivered nothing');
  });
});

describe('HTTPS on the HTTP doors and the management API', { skip: haveOpenssl() ? false : 'no openssl to make certificates' }, () => {
  let certificates: TestCertificates;
  let app: TestApp;
  before(async () => {
    certificates = makeTestCertificates();
    app = await startTestApp({ TLS_CERT_FILE: certificates.certFile, TLS_KEY_FILE: certificates.keyFile, HTTP_TLS: 'true', AMQPS_PORT: '0' });
  });
  after(async () => {
    await app?.close();
    certificates?.cleanup();
  });

  it('job API, delivery API and management answer over TLS with the configured certificate, and not in clear', async () => {
    const ports = app.running.ports;
    const scheduled = await call(`https://127.0.0.1:${ports.jobs}/schedule`, { body: { message: 'tls job' }, ca: certificates.ca });
    assert.equal(scheduled.json.status, 'ok');
    assert.equal(scheduled.headers['content-type'], 'application/json', "served by the job API's fast path, which runs under TLS too");
    const received = await call(`https://127.0.0.1:${ports.jobs}/receive_noblock`, { body: {}, ca: certificates.ca });
    assert.equal(received.json.message, 'tls job');
    const deliveries = await call(`https://127.0.0.1:${ports.dispatch}/deliveries`, { method: 'GET', ca: certificates.ca });
    assert.equal(deliveries.status, 200);
    const overview = await call(`https://127.0.0.1:${ports.management}/api/overview`, { method: 'GET', headers: basic('guest', 'guest'), ca: certificates.ca });
    assert.equal(overview.status, 200);
    await assert.rejects(call(`https://127.0.0.1:${ports.jobs}/`, { method: 'GET' }), /self-signed|unable to verify|certificate/i, 'a client not trusting the CA refuses it');
    await assert.rejects(call(`http://127.0.0.1:${ports.jobs}/`, { method: 'GET' }), 'plain HTTP is not served on a TLS port');
  });
});

describe('loopback users on the HTTP side', () => {
  const external = externalAddress();
  let app: TestApp;
  before(async () => {
    app = await startTestApp({ BIND_HOST: '0.0.0.0', JOBS_AUTH: 'true' });
    app.broker.users.put('admin2', { password: 'pw' }, ['administrator']);
    app.broker.users.setPermission({ user: 'admin2', vhost: '/', configure: '.*', write: '.*', read: '.*' });
  });
  after(async () => {
    await app?.close();
  });

  it('guest is refused from a network address by the management API and the job API; a real user is not', { skip: external === undefined ? 'no non-loopback IPv4 address' : false }, async () => {
    const management = `http://${external}:${app.running.ports.management}/api/whoami`;
    assert.equal((await call(management, { method: 'GET', headers: basic('guest', 'guest') })).status, 401);
    assert.equal((await call(`http://127.0.0.1:${app.running.ports.management}/api/whoami`, { method: 'GET', headers: basic('guest', 'guest') })).status, 200);
    assert.equal((await call(management, { method: 'GET', headers: basic('admin2', 'pw') })).status, 200);
    const jobs = await call(`http://${external}:${app.running.ports.jobs}/schedule`, { body: { message: 'x' }, headers: basic('guest', 'guest') });
    assert.equal(jobs.status, 401);
    assert.equal(jobs.json.message, "user 'guest' can only connect via localhost");
  });
});

describe('graceful stop', () => {
  it('a request in flight when the broker stops is answered; blocked receivers get 503; new connections are refused', async () => {
    const app = await startTestApp();
    const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
    try {
      const blocked = call(`${jobs}/receive_block`, { body: { lane: 'idle-lane' } });
      // a schedule whose body is still arriving when the stop begins
      const slow = new Promise<Answer>((resolve, reject) => {
        const body = JSON.stringify({ message: 'in flight', lane: 'slow' });
        const req = httpRequest(`${jobs}/schedule`, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, text: '' }));
        });
        req.on('error', reject);
        req.write(body.slice(0, 10));
        setTimeout(() => req.end(body.slice(10)), 300);
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const stopping = app.stop();
      const answer = await slow;
      assert.deepEqual([answer.status, answer.json.status], [200, 'ok'], 'the schedule in flight finished');
      const waiting = await blocked;
      assert.equal(waiting.status, 503);
      await stopping;
      await assert.rejects(call(`${jobs}/`, { method: 'GET' }));
    } finally {
      await app.close();
    }
  });
});

describe('the management port in a browser and on a slow line', () => {
  let app: TestApp;
  let management: string;
  before(async () => {
    app = await startTestApp({ HTTP_REQUEST_TIMEOUT_MS: '1500', HTTP_HEADERS_TIMEOUT_MS: '1000' });
    management = app.managementUrl;
    const declared = await call(`${management}/api/queues/%2F/csrf-target`, { method: 'PUT', body: { durable: false }, headers: basic('guest', 'guest') });
    assert.equal(declared.status, 201, declared.text);
  });
  after(async () => {
    await app?.close();
  });

  /** Sends headers and a body one byte at a time, every `everyMs`; resolves with the status (0: closed without one) and when. */
  function trickle(path: string, headers: Record<string, string>, everyMs: number): Promise<{ status: number; ms: number }> {
    const body = JSON.stringify({ count: 1, ackmode: 'ack_requeue_true', encoding: 'auto' });
    const started = performance.now();
    return new Promise((resolve) => {
      const req = httpRequest(`${management}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < body.length) req.write(body.slice(sent, ++sent));
      }, everyMs);
      const done = (status: number): void => {
        clearInterval(timer);
        req.destroy();
        resolve({ status, ms: performance.now() - started });
      };
      req.on('response', (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('error', () => done(0));
      req.on('close', () => done(0));
    });
  }

  it('a request whose body trickles in is dropped at HTTP_REQUEST_TIMEOUT_MS', async () => {
    const answer = await trickle('/api/queues/%2F/csrf-target/get', basic('guest', 'guest'), 400);
    assert.ok(answer.ms < 6000, `still open after ${answer.ms.toFixed(0)} ms`);
    assert.ok(answer.status === 408 || answer.status === 0, `status ${answer.status}`);
  });

  it('credentials are checked before the body is read: a wrong password is refused while the body is still to come', async () => {
    const answer = await trickle('/api/queues/%2F/csrf-target/get', basic('guest', 'wrong'), 400);
    assert.equal(answer.status, 401);
    assert.ok(answer.ms < 1200, `answered after ${answer.ms.toFixed(0)} ms`);
    const anonymous = await trickle('/api/definitions', {}, 400);
    assert.equal(anonymous.status, 401);
  });

  it('changes only as application/json: forms and text/plain (what a foreign page can send without asking) get a 415', async () => {
    const published = await call(`${management}/api/exchanges/%2F/amq.default/publish`, {
      body: { routing_key: 'csrf-target', payload: 'keep me', payload_encoding: 'string', properties: {} },
      headers: basic('guest', 'guest'),
    });
    assert.equal(published.status, 200, published.text);
    const path = `${management}/api/queues/%2F/csrf-target/get`;
    const body = JSON.stringify({ count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' });
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const answer = await call(path, { body, headers: { ...basic('guest', 'guest'), 'content-type': type } });
      assert.equal(answer.status, 415, type);
      assert.deepEqual(answer.json, { error: 'unsupported_media_type', reason: `unsupported content type '${type}': send application/json` });
    }
    const formDelete = await call(`${management}/api/queues/%2F/csrf-target/contents`, { method: 'DELETE', body: 'x=1', headers: { ...basic('guest', 'guest'), 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(formDelete.status, 415);
    const queue = await call(`${management}/api/queues/%2F/csrf-target`, { method: 'GET', headers: basic('guest', 'guest') });
    assert.equal(queue.json.messages, 1, 'nothing was taken');
    const json = await call(path, { body, headers: { ...basic('guest', 'guest'), 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(json.status, 200, json.text);
    assert.equal((JSON.parse(json.text) as { payload: string }[])[0]!.payload, 'keep me');
    const bodiless = await fetch(`${management}/api/queues/%2F/csrf-target`, { method: 'DELETE', headers: basic('guest', 'guest') });
    assert.equal(bodiless.status, 204, 'a DELETE without a body needs no content type');
  });

  it('a bodiless change a foreign page could send (no preflight) is refused when the browser says it is cross-site; same-origin pages and non-browser clients pass', async () => {
    const declared = await call(`${management}/api/queues/%2F/csrf-bodiless`, { method: 'PUT', body: { durable: false }, headers: basic('guest', 'guest') });
    assert.equal(declared.status, 201, declared.text);
    const path = `${management}/api/queues/%2F/csrf-bodiless`;
    const foreign: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'http://evil.example' }, { origin: 'null' }];
    for (const headers of foreign) {
      const answer = await call(path, { method: 'DELETE', headers: { ...basic('guest', 'guest'), ...headers } });
      assert.equal(answer.status, 403, JSON.stringify(headers));
      assert.equal(answer.json.error, 'forbidden');
      assert.match(String(answer.json.reason), /cross-site request refused/);
    }
    const still = await call(path, { method: 'GET', headers: basic('guest', 'guest') });
    assert.equal(still.status, 200, 'the queue is still there');
    const host = new URL(management).host;
    const sameOrigin = await fetch(path, { method: 'DELETE', headers: { ...basic('guest', 'guest'), origin: `http://${host}`, 'sec-fetch-site': 'same-origin' } });
    assert.equal(sameOrigin.status, 204, await sameOrigin.text());
  });

  it('the admin page and the API answer with CSP, X-Frame-Options: DENY and nosniff', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/ui/app.js', {}],
      ['/api/overview', basic('guest', 'guest')],
      ['/api/overview', {}],
      ['/api/no-such-thing', basic('guest', 'guest')],
    ] as const) {
      const answer = await call(`${management}${path}`, { method: 'GET', headers });
      const policy = String(answer.headers['content-security-policy']);
      assert.match(policy, /default-src 'self'/, path);
      assert.match(policy, /script-src 'self'(;|$)/, `${path}: no inline script`);
      assert.match(policy, /frame-ancestors 'none'/, path);
      assert.equal(answer.headers['x-frame-options'], 'DENY', path);
      assert.equal(answer.headers['x-content-type-options'], 'nosniff', path);
    }
    const page = await call(`${management}/`, { method: 'GET' });
    assert.doesNotMatch(page.text, /<script>|<style|\son[a-z]+=|style="/i, 'the page has nothing inline the policy would block');
  });
});

describe('file modes of DATA_DIR', () => {
  it('a new DATA_DIR is 0700 and the database files 0600; wider modes found at start are narrowed', async () => {
    const parent = tempDir();
    const dataDir = join(parent.path, 'nested', 'data');
    try {
      let app = await startTestApp({}, dataDir);
      const declared = await call(`${app.managementUrl}/api/queues/%2F/kept`, { method: 'PUT', body: { durable: true }, headers: basic('guest', 'guest') });
      assert.equal(declared.status, 201);
      await app.stop();
      const modeOf = (path: string): number => statSync(path).mode & 0o777;
      assert.equal(modeOf(dataDir).toString(8), '700');
      for (const file of readdirSync(dataDir)) assert.equal(modeOf(join(dataDir, file)).toString(8), '600', file);

      chmodSync(dataDir, 0o755);
      for (const file of readdirSync(dataDir)) chmodSync(join(dataDir, file), 0o644);
      app = await startTestApp({}, dataDir);
      try {
        assert.equal(modeOf(dataDir).toString(8), '700');
        const files = readdirSync(dataDir);
        assert.ok(files.includes('broker.sqlite-wal'), files.join(', '));
        for (const file of files) assert.equal(modeOf(join(dataDir, file)).toString(8), '600', file);
        const kept = await call(`${app.managementUrl}/api/queues/%2F/kept`, { method: 'GET', headers: basic('guest', 'guest') });
        assert.equal(kept.status, 200, 'the data is still there');
      } finally {
        await app.stop();
      }
    } finally {
      parent.cleanup();
    }
  });
});
