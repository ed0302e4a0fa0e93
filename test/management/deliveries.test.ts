/**
 * The deliveries in the management API under real traffic: a sink that answers, one that fails
 * (503 with a body), one that is slow. Every state shows (pending, retrying with its next attempt,
 * in-flight, delivered, dead, cancelled), filtered by state and host and paged; a delivery with its
 * attempts; cancel, replay one, replay selected; the failing host's circuit; bad filters are 400s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { HttpSink, postJson } from '../support/http-sink';
import { ManagementClient } from '../support/management-client';

type Json = Record<string, unknown>;
interface Delivery {
  uuid: string;
  state: string;
  host: string;
  next_attempt_at?: string;
  attempts: { at: string; duration_ms: number; status?: number; error?: string; response?: string }[];
}
interface Overview {
  counts: Record<string, number>;
  deliveries: Delivery[];
  page: number;
  page_count: number;
  page_size: number;
  filtered_count: number;
  circuits: { host: string; failures: number; open: boolean; next_probe_at?: string }[];
}

let app: TestApp;
let api: ManagementClient;
let good: HttpSink;
let bad: HttpSink;
let slow: HttpSink;
const hostOf = (sink: HttpSink): string => new URL(sink.url()).host;
const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function send(sink: HttpSink, id: number, maxAttempts?: number): Promise<void> {
  const answer = await postJson(`${app.dispatchUrl}/`, { UUID: uuid(id), Url: sink.url(`/d${id}`), Method: 'POST', Body: `body ${id}`, ...(maxAttempts === undefined ? {} : { MaxAttempts: maxAttempts }) });
  assert.equal(answer.status, 202, JSON.stringify(answer.json));
}

const overview = (query = ''): Promise<Overview> => api.get<Overview>(`/api/deliveries${query}`);

before(async () => {
  // retries a minute apart, the circuit opening after three failures and probing a minute later
  app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_RETRY_BASE_MS: '60000', DISPATCH_CIRCUIT_THRESHOLD: '3', DISPATCH_CIRCUIT_PROBE_MS: '60000' });
  api = new ManagementClient(app.managementUrl);
  good = await HttpSink.start();
  bad = await HttpSink.start();
  bad.behaviour = () => ({ status: 503, body: 'down for maintenance' });
  slow = await HttpSink.start();
  slow.behaviour = () => ({ status: 200, body: 'late', delayMs: 20_000 });
  for (const n of [1, 2, 3]) await send(good, n);
  await send(bad, 11, 1);
  await send(bad, 12, 1);
  await send(bad, 13, 5);
  await eventually(async () => {
    const { counts } = await overview();
    return counts.delivered === 3 && counts.dead === 2 && counts.retrying === 1;
  }, 10_000, 'three delivered, two dead, one retrying');
  // the circuit is open now: this one waits for the probe without an attempt
  await send(bad, 14, 5);
  await send(slow, 21);
  await eventually(async () => (await overview()).counts['in-flight'] === 1, 10_000, 'the slow one in flight');
});

after(async () => {
  await app?.close();
  await Promise.all([good?.close(), bad?.close(), slow?.close()]);
});

describe('GET /api/deliveries', () => {
  it('counts every state, pending split from retrying', async () => {
    const { counts } = await overview();
    assert.deepEqual(counts, { pending: 1, retrying: 1, 'in-flight': 1, delivered: 3, dead: 2, cancelled: 0 });
  });

  it('filters by state: the retrying one with its next attempt and its failed attempt', async () => {
    const page = await overview('?state=retrying');
    assert.deepEqual(page.deliveries.map((d) => d.uuid), [uuid(13)]);
    const [retrying] = page.deliveries;
    assert.ok(Date.parse(retrying!.next_attempt_at!) > Date.now() + 30_000, 'its next attempt is about a minute away');
    assert.deepEqual([retrying!.attempts.length, retrying!.attempts[0]!.status, retrying!.attempts[0]!.response], [1, 503, 'down for maintenance']);
    assert.deepEqual((await overview('?state=pending')).deliveries.map((d) => [d.uuid, d.attempts.length]), [[uuid(14), 0]]);
    assert.deepEqual((await overview('?state=dead')).deliveries.map((d) => d.uuid), [uuid(11), uuid(12)]);
    assert.deepEqual((await overview('?state=in-flight')).deliveries.map((d) => d.host), [hostOf(slow)]);
  });

  it('filters by destination host (with the state) and pages in acceptance order', async () => {
    const ofBad = await overview(`?host=${hostOf(bad)}`);
    assert.deepEqual([ofBad.filtered_count, ofBad.deliveries.map((d) => d.uuid)], [4, [11, 12, 13, 14].map(uuid)]);
    assert.deepEqual(ofBad.counts, { pending: 1, retrying: 1, 'in-flight': 0, delivered: 0, dead: 2, cancelled: 0 }, 'counts of that host');
    assert.equal((await overview(`?host=${hostOf(good)}&state=delivered`)).filtered_count, 3);
    assert.equal((await overview(`?host=${hostOf(good)}&state=dead`)).filtered_count, 0);
    const second = await overview(`?host=${hostOf(bad)}&page_size=3&page=2`);
    assert.deepEqual([second.page, second.page_count, second.page_size, second.deliveries.map((d) => d.uuid)], [2, 2, 3, [uuid(14)]]);
    const beyond = await overview(`?host=${hostOf(bad)}&page_size=3&page=9`);
    assert.equal(beyond.page, 2, 'a page beyond the last shows the last');
  });

  it('shows the failing host\'s circuit open, with its next probe', async () => {
    const { circuits } = await overview();
    assert.equal(circuits.length, 1);
    const [circuit] = circuits;
    assert.deepEqual([circuit!.host, circuit!.failures, circuit!.open], [hostOf(bad), 3, true]);
    assert.ok(Date.parse(circuit!.next_probe_at!) > Date.now());
    assert.deepEqual(await api.get('/api/delivery-circuits'), circuits);
  });

  it('answers bad filters with a 400 naming what is wrong', async () => {
    for (const [query, reason] of [
      ['?state=lost', /state must be one of pending, retrying, in-flight, delivered, dead, cancelled/],
      ['?page=0', /page must be a positive integer/],
      ['?page=x', /page must be a positive integer/],
      ['?page_size=501', /page_size must be 1 to 500/],
      ['?limit=-1', /page_size must be 1 to 500/],
      [`?host=${encodeURIComponent('a b/c')}`, /host must be/],
    ] as const) {
      const answer = await api.request('GET', `/api/deliveries${query}`);
      assert.equal(answer.status, 400, query);
      assert.match(String((answer.json as Json).reason), reason, query);
    }
  });
});

describe('one delivery', () => {
  it('shows every attempt: time, duration, status, response', async () => {
    const dead = await api.get<Delivery>(`/api/deliveries/${uuid(11)}`);
    assert.equal(dead.state, 'dead');
    assert.equal(dead.attempts.length, 1);
    const [attempt] = dead.attempts;
    assert.ok(Math.abs(Date.parse(attempt!.at) - Date.now()) < 60_000);
    assert.ok(attempt!.duration_ms >= 0);
    assert.deepEqual([attempt!.status, attempt!.response], [503, 'down for maintenance']);
    assert.equal((await api.request('GET', `/api/deliveries/${uuid(99)}`)).status, 404);
  });

  it('cancels a retrying delivery once; a delivered one and an unknown one cannot be', async () => {
    const cancelled = await api.delete(`/api/deliveries/${uuid(13)}`);
    assert.deepEqual([cancelled.status, (cancelled.json as Json).state], [200, 'cancelled']);
    const again = await api.delete(`/api/deliveries/${uuid(13)}`);
    assert.deepEqual([again.status, (again.json as Json).reason], [409, `delivery '${uuid(13)}' is already cancelled`]);
    assert.equal((await api.delete(`/api/deliveries/${uuid(1)}`)).status, 409);
    assert.equal((await api.delete(`/api/deliveries/${uuid(99)}`)).status, 404);
    assert.equal((await overview()).counts.cancelled, 1);
  });

  it('replays one dead delivery; it is not dead any more', async () => {
    const answer = await api.post(`/api/deliveries/${uuid(12)}/replay`, {});
    assert.deepEqual([answer.status, answer.json], [200, { replayed: 1 }]);
    assert.notEqual((await api.get<Delivery>(`/api/deliveries/${uuid(12)}`)).state, 'dead');
    assert.equal((await api.post(`/api/deliveries/${uuid(12)}/replay`, {})).status, 409);
  });
});

describe('POST /api/deliveries-replay with uuids', () => {
  it('replays the dead ones named and says why the others were not', async () => {
    const answer = await api.post('/api/deliveries-replay', { uuids: [uuid(11), uuid(1), uuid(98)] });
    assert.equal(answer.status, 200);
    const result = answer.json as { replayed: number; not_replayed: { uuid: string; reason: string }[] };
    assert.equal(result.replayed, 1);
    assert.deepEqual(result.not_replayed, [
      { uuid: uuid(1), reason: `delivery '${uuid(1)}' is delivered, only dead deliveries are replayed` },
      { uuid: uuid(98), reason: `no delivery '${uuid(98)}'` },
    ]);
    assert.equal((await overview()).counts.dead, 0);
  });

  it('refuses a malformed selection with a 400', async () => {
    for (const body of [{ uuids: 'x' }, { uuids: [] }, { uuids: [1] }, { host: 'a', uuids: ['b'] }, { hosts: 'a' }, { host: 'a b' }, [1]]) {
      const answer = await api.post('/api/deliveries-replay', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
    }
  });
});
