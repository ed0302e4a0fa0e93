/**
 * The delivery door's intake, Dispatcher-compatible: what a caller posts arrives exactly at the
 * destination; bad input is refused with a 400 naming the field and stores nothing; a UUID is
 * delivered once, also across a restart.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { tempDir } from '../support/temp-dir';

let app: TestApp;
let sink: HttpSink;

before(async () => {
  sink = await HttpSink.start();
  app = await startTestApp({ DISPATCH_MAX_BODY_MB: '1', DISPATCH_ALLOW_LOOPBACK: 'true' });
});
after(async () => {
  await app?.close();
  await sink?.close();
});

test('POST / with Dispatcher\'s body: 202 with the UUID, and the exact method, path, query, body and headers arrive', async () => {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const uuid = randomUUID();
    const body = JSON.stringify({ method, n: 1, text: 'grüße' });
    const answer = await postJson(`${app.dispatchUrl}/`, {
      UUID: uuid,
      Url: sink.url(`/hooks/${method.toLowerCase()}?a=1&b=two%20words`),
      Method: method,
      Body: body,
      Header: { 'Content-Type': 'application/json', 'X-Trace': ['t1', 't2'] },
      Timeout: 1000,
    });
    assert.equal(answer.status, 202, answer.text);
    assert.deepEqual(answer.json, { uuid, state: 'pending' });
    await sink.waitFor(() => sink.to(`/hooks/${method.toLowerCase()}`).length === 1, 5000, `${method} delivery`);
    const got = sink.to(`/hooks/${method.toLowerCase()}`)[0]!;
    assert.equal(got.method, method);
    assert.equal(got.url, `/hooks/${method.toLowerCase()}?a=1&b=two%20words`);
    assert.equal(got.body.toString('utf8'), body);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['x-trace'], 't1, t2');
  }
});

test('keys are case-insensitive, Method defaults to GET, the UUID is generated when absent, /deliveries is intake too', async () => {
  const answer = await postJson(`${app.dispatchUrl}/deliveries`, { url: sink.url('/lower-case-keys'), body: '' });
  assert.equal(answer.status, 202, answer.text);
  assert.match(String(answer.json.uuid), /^[0-9a-f-]{36}$/);
  await sink.waitFor(() => sink.to('/lower-case-keys').length === 1);
  assert.equal(sink.to('/lower-case-keys')[0]!.method, 'GET');
  const shown = await getJson(`${app.dispatchUrl}/deliveries/${answer.json.uuid}`);
  assert.equal(shown.status, 200);
  assert.equal(shown.json.state, 'delivered');
  const attempts = shown.json.attempts as { status: number; duration_ms: number }[];
  assert.equal(attempts.length, 1);
  assert.equal(attempts[0]!.status, 200);
  // Dispatcher takes a POST to any path as intake
  const elsewhere = await postJson(`${app.dispatchUrl}/anything/at/all`, { Url: sink.url('/any-path-intake') });
  assert.equal(elsewhere.status, 202);
  await sink.waitFor(() => sink.to('/any-path-intake').length === 1);
});

test('bad input gets 400 naming the field (or 405 / 413), and nothing is stored or sent', async () => {
  const before = sink.received.length;
  const refusals: [unknown, number, string | undefined][] = [
    ['{not json', 400, 'body'],
    ['[1, 2]', 400, 'body'],
    [{ Method: 'POST' }, 400, 'Url'],
    [{ Url: 'ftp://example.com/x' }, 400, 'Url'],
    [{ Url: 'not a url' }, 400, 'Url'],
    [{ Url: sink.url('/never'), Timeout: 'soon' }, 400, 'Timeout'],
    [{ Url: sink.url('/never'), Timeout: -5 }, 400, 'Timeout'],
    [{ Url: sink.url('/never'), Body: { an: 'object' } }, 400, 'Body'],
    [{ Url: sink.url('/never'), Header: 'Content-Type: x' }, 400, 'Header'],
    [{ Url: sink.url('/never'), Header: { 'X-A': 5 } }, 400, 'Header'],
    [{ Url: sink.url('/never'), Header: { 'X-A': 'line\r\nX-Injected: 1' } }, 400, 'Header'],
    [{ Url: sink.url('/never'), Method: 'GE T' }, 400, 'Method'],
    [{ Url: sink.url('/never'), MaxAttempts: 0 }, 400, 'MaxAttempts'],
    [{ Url: sink.url('/never'), UUID: 42 }, 400, 'UUID'],
    [{ Url: sink.url('/never'), Body: 'x'.repeat(1024 * 1024 + 10) }, 413, 'body'],
  ];
  for (const [body, status, field] of refusals) {
    const answer = await postJson(`${app.dispatchUrl}/`, body);
    assert.equal(answer.status, status, `${JSON.stringify(body).slice(0, 80)}: ${answer.text}`);
    assert.equal(answer.json.field, field, `${JSON.stringify(body).slice(0, 80)} names ${field}: ${answer.text}`);
    assert.equal(typeof answer.json.error, 'string');
  }
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const answer = await postJson(`${app.dispatchUrl}/`, { Url: sink.url('/never') }, method);
    assert.equal(answer.status, 405, `${method} /`);
  }
  await sleep(300);
  assert.equal(sink.received.length, before, 'nothing refused was delivered');
  assert.equal(sink.to('/never').length, 0);
  const listed = await getJson(`${app.dispatchUrl}/deliveries?state=pending`);
  assert.deepEqual(listed.json.deliveries, [], 'nothing refused was stored');
});

test('a UUID is delivered once: the same content again is 200 with its state, other content is 409', async () => {
  const uuid = randomUUID();
  const request = { UUID: uuid, Url: sink.url('/idempotent'), Method: 'POST', Body: 'once' };
  assert.equal((await postJson(`${app.dispatchUrl}/`, request)).status, 202);
  const again = await postJson(`${app.dispatchUrl}/`, request);
  assert.equal(again.status, 200);
  assert.equal(again.json.duplicate, true);
  await sink.waitFor(() => sink.to('/idempotent').length === 1);
  const afterDelivery = await postJson(`${app.dispatchUrl}/`, request);
  assert.equal(afterDelivery.status, 200);
  assert.equal(afterDelivery.json.state, 'delivered');
  const conflicting = await postJson(`${app.dispatchUrl}/`, { ...request, Body: 'other' });
  assert.equal(conflicting.status, 409, conflicting.text);
  await sleep(300);
  assert.equal(sink.to('/idempotent').length, 1, 'delivered exactly once');
});

test('idempotency survives a restart: an accepted UUID is not delivered again', async () => {
  const dir = tempDir();
  let own = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' }, dir.path);
  try {
    const uuid = randomUUID();
    const request = { UUID: uuid, Url: sink.url('/restart-idempotent'), Body: 'x' };
    assert.equal((await postJson(`${own.dispatchUrl}/`, request)).status, 202);
    await sink.waitFor(() => sink.to('/restart-idempotent').length === 1);
    await sleep(100); // the finished record commits with the ack
    await own.stop();
    own = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' }, dir.path);
    const again = await postJson(`${own.dispatchUrl}/`, request);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.state, 'delivered');
    assert.equal((await postJson(`${own.dispatchUrl}/`, { ...request, Body: 'y' })).status, 409);
    const shown = await getJson(`${own.dispatchUrl}/deliveries/${uuid}`);
    assert.equal(shown.json.state, 'delivered');
    await sleep(300);
    assert.equal(sink.to('/restart-idempotent').length, 1);
  } finally {
    await own.close();
    dir.cleanup();
  }
});
