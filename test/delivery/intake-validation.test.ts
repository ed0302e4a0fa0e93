/**
 * Every field of the delivery intake is checked before anything is stored: what could not be
 * stored (a header name longer than an AMQP short string) or never sent (header values an HTTP
 * client refuses, headers it manages itself, CONNECT, a Timeout past Node's timers) is a 400
 * naming the field, never a 500 and never a dead broker; what is accepted arrives.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { Prng } from '../support/amqp-wire';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';

let app: TestApp;
let sink: HttpSink;

before(async () => {
  sink = await HttpSink.start();
  app = await startTestApp({ DISPATCH_MAX_BODY_MB: '1', DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_MAX_ATTEMPTS: '1' });
});
after(async () => {
  await app?.close();
  await sink?.close();
});

test('header names, header values, Method and Timeout that could not be stored or sent get a 400 naming the field', async () => {
  const url = sink.url('/refused');
  const refusals: [Record<string, unknown>, string, RegExp][] = [
    [{ Url: url, Header: { ['X-' + 'a'.repeat(300)]: 'v' } }, 'Header', /is longer than 255 bytes/],
    [{ Url: url, Header: { 'X-A': 'a\u0001b' } }, 'Header', /control character/],
    [{ Url: url, Header: { 'X-A': 'tab\tis fine but DEL \u007f is not' } }, 'Header', /control character/],
    [{ Url: url, Header: { 'X-A': 'euro €' } }, 'Header', /above U\+00FF/],
    [{ Url: url, Header: { 'X-A': ['ok', 'bad\n'] } }, 'Header', /line break/],
    [{ Url: url, Header: { 'Transfer-Encoding': 'chunked' } }, 'Header', /managed by the sender/],
    [{ Url: url, Header: { upgrade: 'websocket' } }, 'Header', /managed by the sender/],
    [{ Url: url, Header: { Expect: '100-continue' } }, 'Header', /managed by the sender/],
    [{ Url: url, Header: { 'Keep-Alive': 'timeout=5' } }, 'Header', /managed by the sender/],
    [{ Url: url, Body: 'abc', Method: 'POST', Header: { 'Content-Length': '4' } }, 'Header', /body's length in bytes \(3\)/],
    [{ Url: url, Header: { 'Content-Length': ['0', '0'] } }, 'Header', /one value only/],
    [{ Url: url, Header: { Host: 'a.example', host: 'b.example' } }, 'Header', /one value only/],
    [{ Url: url, Header: { Connection: 'close, not a token' } }, 'Header', /comma-separated list of tokens/],
    [{ Url: url, Method: 'connect' }, 'Method', /CONNECT/],
    [{ Url: url, Method: 'GET\r\nX: y' }, 'Method', /not an HTTP method/],
    [{ Url: url, Timeout: 2 ** 31 }, 'Timeout', /from 0 to 2147483647/],
    [{ Url: url, Timeout: 1.5 }, 'Timeout', /integer/],
    [{ Url: url, MaxAttempts: 1001 }, 'MaxAttempts', /1 to 1000/],
    [{ Url: url, OrderingKey: 'k'.repeat(256) }, 'OrderingKey', /1 to 255 bytes/],
    [{ Url: url, UUID: 'u'.repeat(256) }, 'UUID', /1 to 255 bytes/],
    [{ Url: 'javascript:alert(1)' }, 'Url', /http or https/],
    [{ Url: 'http://' }, 'Url', /not a valid URL/],
  ];
  for (const [body, field, reason] of refusals) {
    const answer = await postJson(`${app.dispatchUrl}/`, body);
    const what = JSON.stringify(body).slice(0, 100);
    assert.equal(answer.status, 400, `${what}: ${answer.text}`);
    assert.equal(answer.json.field, field, `${what}: ${answer.text}`);
    assert.match(String(answer.json.error), reason, what);
  }
  // what HTTP allows is taken as it is
  const fine = await postJson(`${app.dispatchUrl}/`, {
    Url: sink.url('/fine'),
    Method: 'POST',
    Body: 'héllo',
    Header: { 'Content-Length': '6', Connection: 'close', Host: 'example.test', 'X-Latin': 'é\tü', ['X-' + 'n'.repeat(253)]: 'long name' },
    Timeout: 2 ** 31 - 1,
  });
  assert.equal(fine.status, 202, fine.text);
  await sink.waitFor(() => sink.to('/fine').length === 1, 10_000, 'the accepted delivery');
  const arrived = sink.to('/fine')[0]!;
  assert.equal(arrived.body.toString(), 'héllo');
  assert.equal(arrived.headers.host, 'example.test');
  assert.equal(arrived.headers['x-latin'], 'é\tü', 'latin-1 text is sent as it is');
  await sleep(100);
  assert.equal(sink.to('/refused').length, 0, 'nothing refused was sent');
});

test('random intake bodies: every answer is 202 or 4xx, never 5xx, and each accepted delivery arrives', async () => {
  const rng = new Prng(0x7e57da7a);
  const scalar = (): unknown =>
    rng.pick<unknown>([
      '', 'x', 'GET', 'post', 'a b', 'é', '€', '\u0000', '\r\n', 'x'.repeat(300), 0, -1, 1.5, 2 ** 31, 1e300, true, false, null, [], {}, ['a'], [1], { a: 'b' },
    ]);
  const headerName = (): string => rng.pick(['X-A', 'x-b', 'Host', 'Content-Length', 'Connection', 'Transfer-Encoding', 'Expect', 'bad name', 'é', '', 'X-' + 'n'.repeat(rng.pick([10, 253, 254]))]);
  const headerValue = (): unknown => rng.pick<unknown>(['v', '', '0', 'close', 'keep-alive', 'a, b', 'a\u0001', 'é', '€', 'line\nbreak', ['x', 'y'], ['x', 5], 5, null]);
  const accepted: string[] = [];
  const sent = new Map<string, { body: unknown; uuid: string }>();
  const statuses = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const path = `/fuzz/${i}/`;
    const body: Record<string, unknown> = {};
    if (rng.chance(0.95)) body[rng.pick(['Url', 'url', 'URL'])] = rng.chance(0.85) ? sink.url(path) : scalar();
    if (rng.chance(0.5)) body.Method = rng.chance(0.6) ? rng.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PURGE']) : scalar();
    if (rng.chance(0.5)) body.Body = rng.chance(0.7) ? `body-${i}` : scalar();
    if (rng.chance(0.5)) {
      const header: Record<string, unknown> = {};
      for (let k = rng.int(0, 3); k > 0; k--) header[headerName()] = headerValue();
      body.Header = rng.chance(0.9) ? header : scalar();
    }
    if (rng.chance(0.3)) body.Timeout = rng.chance(0.5) ? rng.int(1000, 60_000) : scalar();
    if (rng.chance(0.2)) body.MaxAttempts = rng.chance(0.5) ? 1 : scalar();
    if (rng.chance(0.2)) body.UUID = rng.chance(0.5) ? `fuzz-${i}` : scalar();
    if (rng.chance(0.1)) body.OrderingKey = scalar();
    const answer = await postJson(`${app.dispatchUrl}/`, body);
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    assert.ok(answer.status === 202 || answer.status === 200 || (answer.status >= 400 && answer.status < 500), `case ${i}: ${answer.status} ${answer.text} for ${JSON.stringify(body).slice(0, 300)}`);
    if (answer.status >= 400) assert.equal(typeof answer.json.error, 'string', `case ${i}: a JSON error`);
    if (answer.status === 202 && typeof body.Url === 'string' && body.Url.endsWith(path)) {
      accepted.push(path);
      sent.set(path, { body, uuid: String(answer.json.uuid) });
    }
  }
  assert.ok((statuses.get(202) ?? 0) > 40 && (statuses.get(400) ?? 0) > 40, `both answers are exercised: ${JSON.stringify([...statuses])}`);
  try {
    await sink.waitFor(() => accepted.every((path) => sink.to(path).length > 0), 20_000, 'every accepted delivery arrives');
  } catch (error) {
    const missing = accepted.filter((path) => sink.to(path).length === 0);
    const states = await Promise.all(missing.slice(0, 5).map(async (path) => (await getJson(`${app.dispatchUrl}/deliveries/${encodeURIComponent(sent.get(path)!.uuid)}`)).json));
    assert.fail(`${missing.length} accepted deliveries never arrived: ${missing.slice(0, 5).map((p, k) => `${JSON.stringify(sent.get(p)!.body)} -> ${JSON.stringify(states[k])}`).join('\n')}; ${String(error)}`);
  }
  const health = await getJson(`${app.managementUrl}/readyz`);
  assert.equal(health.status, 200, 'the broker is still ready');
});

test('AMQP publishes to amq.dispatch are held to the intake rules: one the intake would refuse is dropped, the broker lives on', async () => {
  sink.behaviour = (request) => (request.url.startsWith('/amqp-bad') ? { status: 404 } : { status: 200, body: 'ok' });
  const connection = await amqp.connect(app.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const publish = (headers: Record<string, unknown>): void => void channel.publish('amq.dispatch', '', Buffer.from('b'), { deliveryMode: 2, headers });
    // each would fail every attempt, or (the long id, as the message id of its retry or dead letter) could not be stored again
    publish({ 'x-dispatch-url': sink.url('/amqp-bad/id'), 'x-dispatch-id': 'i'.repeat(300) });
    publish({ 'x-dispatch-url': sink.url('/amqp-bad/header'), 'x-dispatch-headers': { 'X-A': 'a\r\nInjected: 1' } });
    publish({ 'x-dispatch-url': sink.url('/amqp-bad/method'), 'x-dispatch-method': 'GET /x HTTP/1.1' });
    publish({ 'x-dispatch-url': sink.url('/amqp-bad/timeout'), 'x-dispatch-timeout': 1e12 });
    publish({ 'x-dispatch-url': 'file:///etc/passwd' });
    const double = (value: number): unknown => ({ '!': 'double', value });
    publish({ 'x-dispatch-url': sink.url('/amqp-bad/due'), 'x-not-before': double(1e300) });
    // times past what a Date holds are not kept: they made every listing of deliveries answer 500
    channel.publish('amq.dispatch', '', Buffer.from('b'), { deliveryMode: 2, timestamp: 2 ** 60, headers: { 'x-dispatch-url': sink.url('/amqp-odd/ts'), 'x-dispatch-id': 'amqp-odd-ts' } });
    publish({ 'x-dispatch-url': sink.url('/amqp-odd/accepted'), 'x-dispatch-id': 'amqp-odd-accepted', 'x-dispatch-accepted-at': double(1e300), 'x-dispatch-attempts': [{ at: double(-1e300), ms: 1 }] });
    publish({ 'x-dispatch-url': sink.url('/amqp-good'), 'x-dispatch-id': 'amqp-good', 'x-dispatch-method': 'POST', 'x-dispatch-headers': { 'X-A': 'fine' } });
    await channel.waitForConfirms();
    await sink.waitFor(() => sink.to('/amqp-good').length === 1 && sink.to('/amqp-odd').length === 2, 10_000, 'the valid AMQP deliveries');
    assert.equal(sink.to('/amqp-good')[0]!.headers['x-a'], 'fine');
    await sleep(300);
    assert.deepEqual(sink.to('/amqp-bad').map((r) => r.url), [], 'nothing refused was sent');
    const listed = await getJson(`${app.dispatchUrl}/deliveries`);
    assert.equal(listed.status, 200, 'the listing answers');
    for (const id of ['amqp-odd-ts', 'amqp-odd-accepted']) assert.equal((await getJson(`${app.dispatchUrl}/deliveries/${id}`)).status, 200, id);
    assert.deepEqual((listed.json.deliveries as { uuid: string }[]).filter((d) => d.uuid.length > 255), [], 'nothing unstorable is held');
  } finally {
    sink.behaviour = () => ({ status: 200, body: 'ok' });
    await connection.close();
  }
  const health = await getJson(`${app.managementUrl}/readyz`);
  assert.equal(health.status, 200, 'the broker is alive and ready');
});
