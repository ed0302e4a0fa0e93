/**
 * With JOBS_AUTH=true job bodies go only to users who may receive them: `GET /jobs` lists the
 * lanes the caller may read, `GET /job` needs read on the job's lane, as receiving does.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { JsonAnswer, requestJson } from '../support/http-sink';

let app: TestApp;
let jobs: string;

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const GUEST = basic('guest', 'guest');
const READER = basic('reader', 'r3ad');

function call(path: string, authorization: string | null, body?: unknown): Promise<JsonAnswer> {
  return requestJson(`${jobs}${path}`, { body, headers: authorization !== null ? { authorization } : {} });
}

/** Schedules as guest; returns the job number. */
async function schedule(lane: string, message: string): Promise<number> {
  const answer = await call('/schedule', GUEST, { message, lane, idempotency_key: `${lane}-${message}` });
  assert.equal(answer.status, 200, answer.text);
  return Number(answer.json.job_num);
}

before(async () => {
  app = await startTestApp({ JOBS_AUTH: 'true' });
  jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
  app.broker.users.put('reader', { password: 'r3ad' }, []);
  // may receive from "mail" only, and schedule on both lanes
  app.broker.users.setPermission({ user: 'reader', vhost: '/', configure: '', write: '^jobs\\.(mail|payroll)$', read: '^jobs\\.mail$' });
});
after(async () => {
  await app?.close();
});

test('GET /jobs shows a user only the lanes it may read; an administrator sees all', async () => {
  await schedule('mail', 'hello reader');
  await schedule('payroll', 'salary of the CEO');
  const reader = await call('/jobs', READER);
  assert.equal(reader.status, 200, reader.text);
  assert.deepEqual(Object.keys(reader.json).sort(), ['mail']);
  assert.match(reader.text, /hello reader/);
  assert.doesNotMatch(reader.text, /salary/, 'no body of a lane the user may not read');
  const guest = await call('/jobs', GUEST);
  assert.match(guest.text, /hello reader/);
  assert.match(guest.text, /salary of the CEO/);
  assert.equal((await call('/jobs', null)).status, 401);
});

test('GET /job needs read on the job\'s lane (403 with RabbitMQ\'s text), as receiving it does', async () => {
  const secret = await schedule('payroll', 'bonus');
  const open = await schedule('mail', 'newsletter');
  const refused = await call(`/job?job_num=${secret}`, READER);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.message, "read access to queue 'jobs.payroll' in vhost '/' refused for user 'reader'");
  assert.doesNotMatch(refused.text, /bonus/);
  const allowed = await call(`/job?job_num=${open}`, READER);
  assert.equal(allowed.status, 200, allowed.text);
  assert.equal((allowed.json.job as { message: string }).message, 'newsletter');
  assert.equal((await call(`/job?job_num=${secret}`, GUEST)).status, 200, 'an administrator with read on every lane sees it');
  assert.equal((await call('/job?job_num=999999', READER)).status, 404, 'an unknown job is still 404');
});
