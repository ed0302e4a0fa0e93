/**
 * The outcome policy and the retries, against real local sinks: timeouts, refused connections,
 * 429 with Retry-After, dead letters and their replay (one and in bulk), 410, attempt limits,
 * and Dispatcher's compatibility rule. Retries start at 200 ms here (DISPATCH_RETRY_BASE_MS).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { freePort, sleep, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { tempDir } from '../support/temp-dir';

let app: TestApp;
let sink: HttpSink;

before(async () => {
  sink = await HttpSink.start();
  app = await startTestApp({ DISPATCH_RETRY_BASE_MS: '200', DISPATCH_CIRCUIT_THRESHOLD: '0', DISPATCH_ALLOW_LOOPBACK: 'true' });
});
after(async () => {
  await app?.close();
  await sink?.close();
});

const deliver = async (path: string, extra: Record<string, unknown> = {}): Promise<string> => {
  const uuid = randomUUID();
  const answer = await postJson(`${app.dispatchUrl}/`, { UUID: uuid, Url: sink.url(path), Method: 'POST', Body: path, ...extra });
  assert.equal(answer.status, 202, answer.text);
  return uuid;
};

const stateOf = async (uuid: string): Promise<Record<string, unknown>> => (await getJson(`${app.dispatchUrl}/deliveries/${uuid}`)).json;

async function eventuallyState(uuid: string, state: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = await stateOf(uuid);
    if (shown.state === state) return shown;
    if (Date.now() > deadline) throw new Error(`delivery ${uuid} is ${String(shown.state)}, expected ${state}: ${JSON.stringify(shown)}`);
    await sleep(50);
  }
}

test('Timeout is honoured: an answer slower than it is a failed attempt, retried after the backoff', async () => {
  // the first try answers after 3 s, later ones at once
  sink.behaviour = (request) => (request.url === '/slow' && sink.to('/slow').length === 1 ? { status: 200, delayMs: 3000 } : { status: 200 });
  const uuid = await deliver('/slow', { Timeout: 300 });
  await sink.waitFor(() => sink.to('/slow').length === 2, 5000, 'the retry after the timeout');
  const [first, second] = sink.to('/slow');
  const gap = second!.at - first!.at;
  assert.ok(gap >= 450 && gap < 1500, `retried ${gap} ms after the first try (timeout 300 ms + backoff 200 ms)`);
  const shown = await eventuallyState(uuid, 'delivered');
  const attempts = shown.attempts as { error?: string; status?: number }[];
  assert.equal(attempts[0]!.error, 'timeout');
  assert.equal(attempts[1]!.status, 200);
});

test('a refused connection is retried until the destination comes up', async () => {
  const port = await freePort();
  const uuid = randomUUID();
  assert.equal((await postJson(`${app.dispatchUrl}/`, { UUID: uuid, Url: `http://127.0.0.1:${port}/late`, Body: 'late' })).status, 202);
  await sleep(700);
  const pending = await stateOf(uuid);
  const attempts = pending.attempts as { error?: string }[];
  assert.ok(attempts.length >= 2, `retried while refused (${attempts.length} attempts)`);
  assert.equal(attempts[0]!.error, 'refused');
  const late = await HttpSink.start(port);
  try {
    await late.waitFor(() => late.received.length === 1, 10_000, 'the delivery once the port listens');
    assert.equal(late.received[0]!.body.toString(), 'late');
    await eventuallyState(uuid, 'delivered');
  } finally {
    await late.close();
  }
});

test('429 with Retry-After is respected', async () => {
  sink.behaviour = (request) => (request.url === '/busy' && sink.to('/busy').length === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 204 });
  const uuid = await deliver('/busy');
  await sink.waitFor(() => sink.to('/busy').length === 2, 5000, 'the retry after Retry-After');
  const [first, second] = sink.to('/busy');
  const gap = second!.at - first!.at;
  assert.ok(gap >= 950, `waited ${gap} ms (Retry-After: 1), not the 200 ms backoff`);
  await eventuallyState(uuid, 'delivered');
});

test('404 becomes a dead letter at once; replayed one by one and in bulk it is delivered', async () => {
  let gone = true;
  sink.behaviour = (request) => (request.url.startsWith('/missing') && gone ? { status: 404, body: 'no such hook' } : { status: 200 });
  const one = await deliver('/missing/one');
  const two = await deliver('/missing/two');
  const three = await deliver('/missing/three');
  for (const uuid of [one, two, three]) {
    const dead = await eventuallyState(uuid, 'dead');
    const attempts = dead.attempts as { status?: number; response?: string }[];
    assert.equal(attempts.length, 1, 'no retry of a 404');
    assert.equal(attempts[0]!.status, 404);
    assert.equal(attempts[0]!.response, 'no such hook');
    assert.match(String(dead.dead_reason), /404/);
  }
  const listed = await getJson(`${app.dispatchUrl}/deliveries?state=dead&host=127.0.0.1:${sink.port}`);
  const deadIds = (listed.json.deliveries as { uuid: string }[]).map((d) => d.uuid);
  for (const uuid of [one, two, three]) assert.ok(deadIds.includes(uuid), `${uuid} is listed as dead`);

  gone = false;
  const replayed = await postJson(`${app.dispatchUrl}/deliveries/${one}/replay`, {});
  assert.equal(replayed.status, 200, replayed.text);
  await eventuallyState(one, 'delivered');
  assert.equal((await postJson(`${app.dispatchUrl}/deliveries/${one}/replay`, {})).status, 409, 'only dead deliveries are replayed');
  const bulk = await postJson(`${app.dispatchUrl}/deliveries/replay`, { host: `127.0.0.1:${sink.port}` });
  assert.equal(bulk.status, 200, bulk.text);
  assert.equal(bulk.json.replayed, 2);
  await eventuallyState(two, 'delivered');
  const shown = await eventuallyState(three, 'delivered');
  assert.equal(shown.replays, 1);
  assert.equal((shown.attempts as unknown[]).length, 2, 'the history keeps the dead attempt');
  assert.equal(sink.to('/missing/two').length, 2);
});

test('410 is dead at once, 500 is retried until MaxAttempts, then dead', async () => {
  sink.behaviour = (request) => (request.url === '/gone' ? { status: 410 } : request.url === '/broken' ? { status: 500 } : { status: 200 });
  const gone = await deliver('/gone');
  const broken = await deliver('/broken', { MaxAttempts: 3 });
  assert.equal(((await eventuallyState(gone, 'dead')).attempts as unknown[]).length, 1);
  const dead = await eventuallyState(broken, 'dead');
  assert.equal((dead.attempts as unknown[]).length, 3);
  assert.match(String(dead.dead_reason), /gave up after 3 attempts/);
  assert.equal(sink.to('/broken').length, 3);
});

test('cancelling a pending delivery stops it; a delivered one cannot be cancelled', async () => {
  const port = await freePort();
  const uuid = randomUUID();
  await postJson(`${app.dispatchUrl}/`, { UUID: uuid, Url: `http://127.0.0.1:${port}/never-up` });
  await sleep(300);
  const cancelled = await postJson(`${app.dispatchUrl}/deliveries/${uuid}`, {}, 'DELETE');
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(cancelled.json.state, 'cancelled');
  assert.equal((await stateOf(uuid)).state, 'cancelled');
  const delivered = await deliver('/ok-then-cancel');
  await eventuallyState(delivered, 'delivered');
  assert.equal((await postJson(`${app.dispatchUrl}/deliveries/${delivered}`, {}, 'DELETE')).status, 409);
  assert.equal((await postJson(`${app.dispatchUrl}/deliveries/${randomUUID()}`, {}, 'DELETE')).status, 404);
});

test("Dispatcher's compatibility rule: any HTTP answer counts as delivered", async () => {
  const compat = await startTestApp({ DISPATCH_ANY_RESPONSE_DELIVERS: 'true', DISPATCH_RETRY_BASE_MS: '200', DISPATCH_ALLOW_LOOPBACK: 'true' });
  try {
    sink.behaviour = () => ({ status: 500 });
    const uuid = randomUUID();
    assert.equal((await postJson(`${compat.dispatchUrl}/`, { UUID: uuid, Url: sink.url('/compat-500') })).status, 202);
    await sink.waitFor(() => sink.to('/compat-500').length === 1);
    await sleep(600);
    assert.equal(sink.to('/compat-500').length, 1, 'a 500 is not retried');
    assert.equal((await getJson(`${compat.dispatchUrl}/deliveries/${uuid}`)).json.state, 'delivered');
  } finally {
    sink.behaviour = () => ({ status: 200 });
    await compat.close();
  }
});

test('a restart keeps a retried delivery\'s attempts and due time, and it is delivered afterwards', async () => {
  const dir = tempDir();
  let own = await startTestApp({ DISPATCH_RETRY_BASE_MS: '1500', DISPATCH_CIRCUIT_THRESHOLD: '0', DISPATCH_ALLOW_LOOPBACK: 'true' }, dir.path);
  try {
    let failing = true;
    sink.behaviour = (request) => (request.url === '/after-restart' && failing ? { status: 503 } : { status: 200 });
    const uuid = randomUUID();
    assert.equal((await postJson(`${own.dispatchUrl}/`, { UUID: uuid, Url: sink.url('/after-restart'), Body: 'r' })).status, 202);
    await sink.waitFor(() => sink.to('/after-restart').length === 1);
    await sleep(100);
    const before = (await getJson(`${own.dispatchUrl}/deliveries/${uuid}`)).json;
    assert.equal(before.state, 'pending');
    assert.equal((before.attempts as unknown[]).length, 1);
    await own.stop();
    own = await startTestApp({ DISPATCH_RETRY_BASE_MS: '1500', DISPATCH_CIRCUIT_THRESHOLD: '0', DISPATCH_ALLOW_LOOPBACK: 'true' }, dir.path);
    const after = (await getJson(`${own.dispatchUrl}/deliveries/${uuid}`)).json;
    assert.equal(after.state, 'pending');
    assert.deepEqual(after.attempts, before.attempts, 'the attempt history survived');
    assert.equal(after.next_attempt_at, before.next_attempt_at, 'so did the due time');
    failing = false;
    await sink.waitFor(() => sink.to('/after-restart').length === 2, 5000, 'the retry after the restart');
    const gap = sink.to('/after-restart')[1]!.at - sink.to('/after-restart')[0]!.at;
    assert.ok(gap >= 1450, `not retried before its due time (${gap} ms)`);
    let shown: Record<string, unknown> = {};
    for (let i = 0; i < 50 && shown.state !== 'delivered'; i++) {
      shown = (await getJson(`${own.dispatchUrl}/deliveries/${uuid}`)).json;
      await sleep(20);
    }
    assert.equal(shown.state, 'delivered');
    assert.equal((shown.attempts as unknown[]).length, 2);
  } finally {
    sink.behaviour = () => ({ status: 200 });
    await own.close();
    dir.cleanup();
  }
});

test('an answer over DISPATCH_MAX_RESPONSE_BYTES still counts by its status: the start of its body is kept, the rest cut off, and the next delivery goes out', async () => {
  const huge = 'a'.repeat(600) + 'b'.repeat(2 * 1024 * 1024);
  sink.behaviour = (request) => (request.url === '/huge' ? { status: 200, body: huge } : request.url === '/teapot' ? { status: 418, body: 'short and stout' } : { status: 200 });
  const uuid = await deliver('/huge');
  const shown = await eventuallyState(uuid, 'delivered');
  const attempts = shown.attempts as { status?: number; response?: string }[];
  assert.equal(attempts.length, 1);
  assert.equal(attempts[0]!.status, 200);
  assert.equal(attempts[0]!.response, 'a'.repeat(512), 'the first 512 bytes of the answer are kept');
  const next = await deliver('/teapot');
  const dead = await eventuallyState(next, 'dead');
  const [attempt] = dead.attempts as { status?: number; response?: string }[];
  assert.equal(attempt!.status, 418);
  assert.equal(attempt!.response, 'short and stout');
});
