import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';

let app: TestApp;
let client: JobsClient;

before(async () => {
  app = await startTestApp({ JOBS_LEASE_TIMEOUT_MS: '400' });
  client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
});
after(async () => {
  client.close();
  await app.close();
});

const take = async (lane: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
  (await client.send('/receive_noblock', { lane, ...extra })).json;

test('acknowledged receive: a lease id; /ack settles it for good', async () => {
  await client.schedule('leased', { lane: 'l1' });
  const got = await take('l1', { ack: true, timeout_ms: 5000 });
  assert.equal(got.code, 0);
  assert.equal(got.message, 'leased');
  assert.match(String(got.id), /^[0-9a-f-]{36}$/);
  assert.equal(typeof got.job_num, 'number');
  assert.equal(got.lane, 'l1');
  assert.equal((await take('l1')).code, 2, 'a leased job is not handed out again');
  const acked = await client.send('/ack', { id: got.id });
  assert.deepEqual(acked.json, { status: 'ok', code: 0 });
  const again = await client.send('/ack', { id: got.id });
  assert.equal(again.status, 404);
  assert.deepEqual(again.json, { status: 'error', code: 3, message: 'unknown or expired lease' });
  await sleep(500);
  assert.equal((await take('l1')).code, 2, 'an acked job never comes back');
});

test('an unacknowledged job returns to the front of its lane when the timeout passes', async () => {
  await client.schedule('first', { lane: 'l2' });
  await client.schedule('second', { lane: 'l2' });
  const leased = await take('l2', { ack: true, timeout_ms: 200 });
  assert.equal(leased.message, 'first');
  await sleep(350);
  assert.equal((await take('l2')).message, 'first', 'back at the front, before "second"');
  assert.equal((await take('l2')).message, 'second');
  assert.equal((await client.send('/ack', { id: leased.id })).status, 404, 'the expired lease is gone');
});

test('the default visibility timeout applies when none is given; /touch extends it; /release gives it back', async () => {
  await client.schedule('touched', { lane: 'l3' });
  const leased = await take('l3', { ack: true });
  for (let i = 0; i < 4; i++) {
    await sleep(200);
    const touched = await client.send('/touch', { id: leased.id, timeout_ms: 400 });
    assert.equal(touched.json.code, 0);
    assert.match(String(touched.json.expires_at), /^\d{4}-/);
  }
  assert.equal((await take('l3')).code, 2, 'still leased after 800 ms thanks to /touch');
  const released = await client.send('/release', { id: leased.id });
  assert.deepEqual(released.json, { status: 'ok', code: 0 });
  assert.equal((await take('l3')).message, 'touched');
  assert.equal((await client.send('/touch', { id: 'nope' })).status, 404);
  assert.equal((await client.send('/ack', {})).status, 400);
});

test('release with a delay puts the job back later', async () => {
  await client.schedule('retry-me', { lane: 'l4' });
  const leased = await take('l4', { ack: true });
  const released = await client.send('/release', { id: leased.id, delay_ms: 300 });
  assert.equal(released.json.code, 0);
  assert.equal((await take('l4')).code, 2, 'not yet');
  await sleep(400);
  const again = await take('l4');
  assert.equal(again.message, 'retry-me');
});

test('delayed jobs (delay_ms, run_at) wait; they are listed and counted as queued', async () => {
  const scheduled = await client.send('/schedule', { lane: 'd', message: 'in 300ms', delay_ms: 300 });
  assert.equal(scheduled.json.code, 0);
  assert.equal(typeof scheduled.json.job_num, 'number', 'extension requests get the job number back');
  await client.send('/schedule', { lane: 'd', message: 'run_at', run_at: new Date(Date.now() + 200).toISOString() });
  await client.send('/schedule', { lane: 'd', message: 'now' });
  const list = await client.send('/jobs');
  assert.deepEqual((list.json.d as Record<string, unknown>[]).map((j) => j.message), ['now', 'run_at', 'in 300ms']);
  assert.equal(((await client.send('/')).json.payload as Record<string, Record<string, number>>).queued_jobs!.d, 3);
  assert.equal((await take('d')).message, 'now');
  assert.equal((await take('d')).code, 2);
  const blocked = await client.send('/receive_block', { lane: 'd' });
  assert.equal(blocked.json.message, 'run_at');
  await sleep(150);
  assert.equal((await take('d')).message, 'in 300ms');
  assert.equal((await client.send('/schedule', { message: 'x', delay_ms: -5 })).status, 400);
  assert.equal((await client.send('/schedule', { message: 'x', run_at: 'tomorrow-ish' })).status, 400);
  assert.equal((await client.send('/schedule', { message: 'x', run_at: 1, delay_ms: 1 })).status, 400);
});

test('lookup by job_num shows state; delete removes a ready, delayed or leased job', async () => {
  const a = await client.send('/schedule', { lane: 'look', message: 'a', idempotency_key: 'look-a' });
  const b = await client.send('/schedule', { lane: 'look', message: 'b', delay_ms: 60_000 });
  const numA = Number(a.json.job_num);
  const numB = Number(b.json.job_num);
  const found = await client.send(`/job?job_num=${numA}`, undefined, { method: 'GET' });
  assert.equal(found.status, 200);
  const job = found.json.job as Record<string, unknown>;
  assert.equal(job.message, 'a');
  assert.equal(job.state, 'ready');
  assert.equal(job.lane, 'look');
  const delayed = await client.send('/job', { job_num: numB });
  assert.equal((delayed.json.job as Record<string, unknown>).state, 'delayed');
  assert.equal((await client.send('/job', { job_num: 999999 })).status, 404);
  assert.equal((await client.send('/delete', { job_num: numB })).json.code, 0);
  assert.equal((await client.send('/job', { job_num: numB })).status, 404);
  const leased = await take('look', { ack: true, timeout_ms: 10_000 });
  assert.equal(leased.job_num, numA);
  assert.equal(((await client.send('/job', { job_num: numA })).json.job as Record<string, unknown>).state, 'leased');
  assert.equal((await client.send('/delete', { job_num: numA })).json.code, 0);
  assert.equal((await client.send('/ack', { id: leased.id })).status, 404, 'deleting a leased job ends its lease');
  assert.equal((await client.send('/delete', { job_num: numA })).status, 404);
  assert.equal((await client.send('/delete', { job_num: 'x' })).status, 400);
});

test('an idempotency key deduplicates schedules', async () => {
  const first = await client.send('/schedule', { lane: 'idem', message: 'once', idempotency_key: 'order-42' });
  const second = await client.send('/schedule', { lane: 'idem', message: 'once', idempotency_key: 'order-42' });
  assert.equal(first.json.duplicate, false);
  assert.equal(second.json.duplicate, true);
  assert.equal(second.json.job_num, first.json.job_num);
  const list = await client.send('/jobs');
  assert.equal((list.json.idem as unknown[]).length, 1);
  await take('idem');
  const third = await client.send('/schedule', { lane: 'idem', message: 'once', idempotency_key: 'order-42' });
  assert.equal(third.json.duplicate, true, 'remembered after the job was consumed');
  assert.equal((await take('idem')).code, 2);
});

test('a lane declared beforehand over AMQP with queue features (TTL, dead-letter lane, length limit) keeps them for HTTP jobs', async () => {
  const amqp = (await import('amqplib')).default;
  const connection = await amqp.connect(app.amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue('jobs.dead-reports', { durable: true, arguments: { 'x-queue-order': 'rank' } });
    await channel.assertQueue('jobs.reports', {
      durable: true,
      arguments: { 'x-queue-order': 'rank', 'x-message-ttl': 200, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'jobs.dead-reports', 'x-max-length': 2 },
    });
    for (const message of ['r1', 'r2', 'r3']) assert.equal((await client.schedule(message, { lane: 'reports' })).status, 200);
    // x-max-length 2 (drop-head): r1 went to the dead-letter lane at once; r2 and r3 expire there after 200 ms
    await sleep(500);
    assert.equal((await client.send('/receive_noblock', { lane: 'reports' })).json.code, 2, 'the lane is empty: expired');
    const dead: string[] = [];
    for (;;) {
      const got = await client.send('/receive_noblock', { lane: 'dead-reports' });
      if (got.json.code !== 0) break;
      dead.push(String(got.json.message));
    }
    assert.deepEqual(dead, ['r1', 'r2', 'r3'], 'dropped (maxlen) then expired, in that order, as jobs of the dead-letter lane');
  } finally {
    await connection.close();
  }
});

test('a full lane declared with x-overflow reject-publish answers 503 instead of ok, and keeps what it has', async () => {
  const amqp = (await import('amqplib')).default;
  const connection = await amqp.connect(app.amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue('jobs.bounded', { durable: true, arguments: { 'x-queue-order': 'rank', 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    assert.equal((await client.schedule('first', { lane: 'bounded' })).status, 200);
    const refused = await client.schedule('second', { lane: 'bounded' });
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.json, { status: 'error', code: 1, message: "lane 'bounded' is full and refuses new jobs (x-overflow reject-publish)" });
    assert.equal((await client.send('/receive_noblock', { lane: 'bounded' })).json.message, 'first');
    assert.equal((await client.send('/receive_noblock', { lane: 'bounded' })).json.code, 2);
  } finally {
    await connection.close();
  }
});
