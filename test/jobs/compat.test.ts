import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { JobsClient } from '../support/jobs-client';
import { startTestApp, TestApp } from '../support/app-harness';

let app: TestApp;
let client: JobsClient;

before(async () => {
  app = await startTestApp({ JOBS_MAX_BODY_MB: '32' });
  client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
});
after(async () => {
  client.close();
  await app.close();
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;

test('a fresh server lists {"main": []} and answers the status document on / and on any unknown path, any method', async () => {
  const jobs = await client.send('/jobs', undefined, { method: 'GET' });
  assert.equal(jobs.status, 200);
  assert.deepEqual(jobs.json, { main: [] });
  for (const [path, method] of [['/', 'GET'], ['/', 'POST'], ['/nope', 'DELETE'], ['/a/b/c', 'PUT'], ['/status?x=1', 'GET']] as const) {
    const res = await client.send(path, undefined, { method });
    assert.equal(res.status, 200, `${method} ${path}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(Object.keys(res.json), ['name', 'version', 'timestamp', 'status', 'payload']);
    assert.equal(res.json.name, 'dispenserd');
    assert.equal(res.json.status, 'ok');
    assert.match(String(res.json.timestamp), RFC3339);
    const payload = res.json.payload as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(payload), ['system', 'queued_jobs', 'idle_workers']);
    assert.equal(payload.system!.pid, process.pid);
    assert.equal(typeof payload.system!.cpu_count, 'number');
    assert.deepEqual(payload.queued_jobs, { main: 0 });
    assert.deepEqual(payload.idle_workers, { main: 0 });
  }
  // pretty-printed with two spaces, like dispenserd
  assert.match(jobs.text, /^\{\n {2}"main": \[\]\n\}$/);
});

test('schedule: defaults, ok answer, job_num across lanes, 40-hex hashes, listing in dispatch order', async () => {
  const ok = await client.schedule('first');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { status: 'ok', code: 0 });
  assert.equal(ok.text, '{\n  "status": "ok",\n  "code": 0\n}');
  await client.send('/schedule', { lane: 'video', message: 'v1', priority: 3 });
  await client.send('/schedule', { priority: 0, message: 'urgent' });
  const list = await client.send('/jobs');
  const main = list.json.main as Record<string, unknown>[];
  const video = list.json.video as Record<string, unknown>[];
  assert.deepEqual(main.map((j) => j.message), ['urgent', 'first']);
  assert.deepEqual(video.map((j) => j.message), ['v1']);
  assert.deepEqual(Object.keys(main[0]!), ['job_num', 'hash', 'timestamp', 'lane', 'priority', 'message']);
  assert.deepEqual(main.map((j) => j.job_num), [3, 1]);
  assert.equal(video[0]!.job_num, 2);
  assert.deepEqual(main.map((j) => j.priority), [0, 512]);
  assert.equal(video[0]!.lane, 'video');
  const hashes = [...main, ...video].map((j) => String(j.hash));
  for (const hash of hashes) assert.match(hash, /^[0-9a-f]{40}$/);
  assert.equal(new Set(hashes).size, hashes.length);
  assert.match(String(main[0]!.timestamp), RFC3339);
  const status = await client.send('/');
  assert.deepEqual((status.json.payload as Record<string, unknown>).queued_jobs, { main: 2, video: 1 });
  // drain for the next tests
  await client.send('/receive_noblock');
  await client.send('/receive_noblock');
  await client.send('/receive_noblock', { lane: 'video' });
});

test('bad schedules get dispenserd\'s 400 body and take no job number', async () => {
  const missing = { status: 'error', code: 1, message: 'missing message' };
  for (const body of ['', '{not json', '[1,2]', '"text"', '42', 'null', '{}', '{"message":null}', '{"lane":"x"}']) {
    const res = await client.send('/schedule', body);
    assert.equal(res.status, 400, `body ${JSON.stringify(body)}`);
    assert.deepEqual(res.json, missing, `body ${JSON.stringify(body)}`);
  }
  // our documented choices where dispenserd silently coerces
  const cases: [unknown, RegExp][] = [
    [{ message: 5 }, /message must be a string/],
    [{ message: 'x', priority: -1 }, /priority must be an integer from 0 to 4294967295/],
    [{ message: 'x', priority: 1.5 }, /priority/],
    [{ message: 'x', priority: 4294967296 }, /priority/],
    [{ message: 'x', priority: '5' }, /priority/],
    [{ message: 'x', lane: 7 }, /lane must be a string/],
    [{ message: 'x', lane: 'x'.repeat(300) }, /lane must be at most 200 bytes/],
  ];
  for (const [body, pattern] of cases) {
    const res = await client.send('/schedule', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.json.status, 'error');
    assert.equal(res.json.code, 1);
    assert.match(String(res.json.message), pattern);
  }
  const ok = await client.schedule('after-errors');
  assert.equal(ok.status, 200);
  const list = await client.send('/jobs');
  assert.equal((list.json.main as Record<string, unknown>[])[0]!.job_num, 4, 'rejected requests took no number');
  await client.send('/receive_noblock');
});

test('JSON is read whatever the Content-Type, keys case-insensitively, on any method', async () => {
  for (const contentType of ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
    const res = await client.send('/schedule', { message: `ct ${contentType}` }, { contentType });
    assert.equal(res.status, 200, contentType);
  }
  assert.equal((await client.send('/schedule', '{"MESSAGE":"upper","Lane":"ci","PRIORITY":1}')).status, 200);
  assert.equal((await client.send('/schedule', '{"message":"via get"}', { method: 'GET' })).status, 200);
  const list = await client.send('/jobs');
  assert.deepEqual((list.json.ci as Record<string, unknown>[]).map((j) => [j.message, j.priority]), [['upper', 1]]);
  assert.equal((list.json.main as unknown[]).length, 5);
  const got = await client.send('/receive_noblock', '{"LANE":"ci"}', { method: 'GET' });
  assert.deepEqual(got.json, { status: 'ok', code: 0, message: 'upper' });
  for (let i = 0; i < 5; i++) await client.send('/receive_noblock');
});

test('receive_noblock: a job, or code 2 "empty queue"; an unknown lane is created empty and stays listed', async () => {
  const empty = await client.send('/receive_noblock', { lane: 'never-used' });
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json, { status: 'ok', code: 2, message: 'empty queue' });
  const list = await client.send('/jobs');
  assert.deepEqual(list.json['never-used'], []);
  const status = await client.send('/');
  assert.equal((status.json.payload as Record<string, Record<string, number>>).queued_jobs!['never-used'], 0);
  assert.equal((await client.send('/receive_noblock', '{bad')).status, 400);
});

test('priorities: lower first, FIFO within a priority, over thousands of random jobs across lanes', async () => {
  const lanes = ['p-a', 'p-b', 'p-c'];
  const expected = new Map<string, { priority: number; i: number }[]>(lanes.map((l) => [l, []]));
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 3000; i++) {
    const lane = lanes[i % 3]!;
    const priority = Math.floor(Math.random() * 12) * (i % 7 === 0 ? 100000 : 1);
    expected.get(lane)!.push({ priority, i });
    pending.push(client.send('/schedule', { lane, priority, message: `job-${i}` }));
    if (pending.length >= 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  // order of arrival is the order of answers only per connection; compare with what was accepted
  const list = await client.send('/jobs');
  for (const lane of lanes) {
    const listed = (list.json[lane] as Record<string, unknown>[]).map((j) => ({ priority: Number(j.priority), i: Number(String(j.message).slice(4)) }));
    const sorted = [...listed].sort((a, b) => a.priority - b.priority);
    assert.deepEqual(listed.map((j) => j.priority), sorted.map((j) => j.priority), `${lane} listed by priority`);
    assert.equal(listed.length, 1000);
    const received: string[] = [];
    for (;;) {
      const res = await client.send('/receive_noblock', { lane });
      if (res.json.code === 2) break;
      received.push(String(res.json.message));
    }
    assert.deepEqual(received, listed.map((j) => `job-${j.i}`), `${lane}: received in listed order`);
  }
});

test('FIFO within equal priority is exact when schedules are sequential', async () => {
  const order: string[] = [];
  for (let i = 0; i < 300; i++) {
    const priority = [7, 3, 7, 1, 3][i % 5]!;
    await client.send('/schedule', { lane: 'seq', priority, message: `${priority}:${i}` });
    order.push(`${priority}:${i}`);
  }
  const expected = [...order].sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0]) || Number(a.split(':')[1]) - Number(b.split(':')[1]));
  const received: string[] = [];
  for (let res = await client.send('/receive_noblock', { lane: 'seq' }); res.json.code === 0; res = await client.send('/receive_noblock', { lane: 'seq' })) {
    received.push(String(res.json.message));
  }
  assert.deepEqual(received, expected);
});

test('a 16 MiB message is accepted and returned intact; over the limit is a JSON 413 and nothing else is lost', async () => {
  const big = 'x'.repeat(16 * 1024 * 1024);
  await client.schedule('before-big', { lane: 'big' });
  const res = await client.send('/schedule', { lane: 'big', message: big });
  assert.equal(res.status, 200);
  const tooBig = await client.send('/schedule', { lane: 'big', message: 'y'.repeat(33 * 1024 * 1024) });
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.json.status, 'error');
  assert.match(String(tooBig.json.message), /larger than the limit/);
  const first = await client.send('/receive_noblock', { lane: 'big' });
  assert.equal(first.json.message, 'before-big');
  const second = await client.send('/receive_noblock', { lane: 'big' });
  assert.equal(String(second.json.message).length, big.length);
  assert.equal(second.json.message, big);
  assert.equal((await client.send('/receive_noblock', { lane: 'big' })).json.code, 2);
});

test('keep-alive: thousands of requests over a handful of sockets', async () => {
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const keepAlive = new JobsClient(client.base);
  Object.assign(keepAlive, { agent });
  const sockets = new Set<unknown>();
  agent.on('free', (socket) => sockets.add(socket));
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < 2000; i++) all.push(keepAlive.schedule(`ka-${i}`, { lane: 'ka' }));
  await Promise.all(all);
  assert.ok(sockets.size <= 4, `used ${sockets.size} sockets`);
  const list = await client.send('/jobs');
  assert.equal((list.json.ka as unknown[]).length, 2000);
  agent.destroy();
});
