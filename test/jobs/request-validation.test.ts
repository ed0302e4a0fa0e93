/**
 * Every field of the job API is checked before it reaches the store: a run_at past what a Date
 * holds was accepted and then made every lookup of the job answer 500. Random bodies on every
 * route get dispenserd's JSON answers (200 or 4xx, never 5xx) and leave the accepted jobs intact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { Prng } from '../support/amqp-wire';
import { startTestApp, TestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';

let app: TestApp;
let client: JobsClient;

before(async () => {
  app = await startTestApp();
  client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
});
after(async () => {
  client?.close();
  await app?.close();
});

const DAY = 86_400_000;

test('run_at beyond a year ahead (or past what a Date holds) is refused; a job that is taken can be looked up', async () => {
  for (const runAt of [1e300, 8.64e15, Date.now() + 366 * DAY, '+275760-09-13T00:00:00.000Z', '9999-01-01T00:00:00Z']) {
    const answer = await client.schedule('far', { lane: 'when', run_at: runAt });
    assert.equal(answer.status, 400, `run_at ${runAt}: ${answer.text}`);
    assert.deepEqual([answer.json.status, answer.json.code], ['error', 1]);
    assert.match(String(answer.json.message), /run_at must be at most 365 days ahead/);
  }
  const soon = new Date(Date.now() + 364 * DAY).toISOString();
  for (const runAt of [soon, Date.now() + DAY, 0, '1970-01-01T00:00:00Z']) {
    const answer = await client.schedule('kept', { lane: 'when', run_at: runAt });
    assert.equal(answer.status, 200, `run_at ${runAt}: ${answer.text}`);
    const found = await client.send(`/job?job_num=${String(answer.json.job_num)}`, undefined, { method: 'GET' });
    assert.equal(found.status, 200, `lookup of a job with run_at ${runAt}: ${found.text}`);
  }
});

test('random fields on every route: 200 or 4xx with a JSON answer, never 5xx; accepted jobs are all there', async () => {
  const rng = new Prng(0x10b5f1e1);
  const scalar = (): unknown =>
    rng.pick<unknown>([
      '', 'x', 'main', '\u0000', '\ud800', 'é', 'x'.repeat(300), 0, -1, 1, 1.5, 512, 2 ** 32, 2 ** 53, 1e300, -1e300, true, false, null, [], {}, ['a'], { a: 1 },
      '2030-01-01T00:00:00Z', 'yesterday', String(Date.now() + DAY),
    ]);
  const fields = ['message', 'lane', 'priority', 'delay_ms', 'run_at', 'idempotency_key', 'ack', 'timeout_ms', 'wait_ms', 'id', 'job_num', 'Message', 'LANE'];
  const routes = ['/schedule', '/schedule', '/schedule', '/receive_noblock', '/ack', '/release', '/touch', '/job', '/delete', '/jobs', '/'];
  const scheduled = new Set<number>();
  const statuses = new Map<number, number>();
  for (let i = 0; i < 600; i++) {
    const route = rng.pick(routes);
    const body: Record<string, unknown> = {};
    if (route === '/schedule' && rng.chance(0.8)) body.message = `job-${i}`;
    if (rng.chance(0.5)) body.lane = rng.chance(0.5) ? rng.pick(['fuzz-a', 'fuzz-b']) : scalar();
    for (let k = rng.int(0, 3); k > 0; k--) body[rng.pick(fields)] = scalar();
    const text = rng.chance(0.05) ? rng.pick(['{', '[]', 'null', '"x"', '{"message":1e400}', '{"__proto__":{"x":1}}']) : JSON.stringify(body);
    const answer = await client.send(route === '/job' && rng.chance(0.5) ? `/job?job_num=${String(scalar())}` : route, text, { method: route === '/jobs' || route === '/' ? 'GET' : 'POST' });
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    assert.ok(answer.status === 200 || (answer.status >= 400 && answer.status < 500), `case ${i} ${route}: ${answer.status} ${answer.text.slice(0, 200)} for ${text.slice(0, 200)}`);
    assert.equal(typeof answer.json.status === 'string' || route === '/jobs' || route === '/', true, `case ${i} ${route}: a JSON answer: ${answer.text.slice(0, 200)}`);
    if (route === '/schedule' && answer.status === 200 && typeof answer.json.job_num === 'number') scheduled.add(answer.json.job_num);
  }
  assert.ok((statuses.get(200) ?? 0) > 100 && (statuses.get(400) ?? 0) > 50, `both answers are exercised: ${JSON.stringify([...statuses])}`);
  for (const jobNum of scheduled) {
    const found = await client.send(`/job?job_num=${jobNum}`, undefined, { method: 'GET' });
    assert.ok(found.status === 200 || found.status === 404, `lookup of job ${jobNum}: ${found.status} ${found.text.slice(0, 200)}`);
  }
  const listed = await client.send('/jobs', undefined, { method: 'GET' });
  assert.equal(listed.status, 200, 'the listing still works');
});

test('a job published over AMQP with a not-before time past what a Date holds, or NaN, can be looked up and listed', async () => {
  assert.equal((await client.schedule('makes the lane', { lane: 'amqp-times' })).status, 200);
  await client.send('/receive_noblock', { lane: 'amqp-times' });
  const queue = { name: 'jobs.amqp-times' }; // JOBS_QUEUE_PREFIX jobs., in JOBS_VHOST /
  const connection = await amqp.connect(app.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const double = (value: number): unknown => ({ '!': 'double', value });
    channel.publish('', queue.name, Buffer.from('far'), { deliveryMode: 2, headers: { 'x-job-num': 900_001, 'x-not-before': double(1e300) } });
    channel.publish('', queue.name, Buffer.from('nan'), { deliveryMode: 2, headers: { 'x-job-num': 900_002, 'x-not-before': double(Number.NaN) } });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
  const far = await client.send('/job?job_num=900001', undefined, { method: 'GET' });
  assert.equal(far.status, 200, far.text);
  assert.equal((far.json.job as { state: string; run_at: string }).state, 'delayed');
  assert.equal((far.json.job as { run_at: string }).run_at, '+275760-09-13T00:00:00.000Z', 'the latest time a Date holds');
  const got = await client.send('/receive_noblock', { lane: 'amqp-times' });
  assert.equal(got.json.message, 'nan', 'a NaN not-before is no delay');
  assert.equal((await client.send('/jobs', undefined, { method: 'GET' })).status, 200);
});
