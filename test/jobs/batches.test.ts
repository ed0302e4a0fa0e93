/**
 * Batch verbs of the job API (an extension): `/receive_noblock` and `/receive_block` with `count`
 * hand out up to that many jobs in one answer, `/ack` with `ids` settles many leases in one
 * request. Run on both HTTP paths (the fast path and Fastify alone), over real sockets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';
import { JsonAnswer, requestJson } from '../support/http-sink';

interface BatchJob {
  message: string;
  id?: string;
  job_num?: number;
  lane?: string;
  expires_at?: string;
}

for (const fastPath of [true, false]) {
  describe(`batch verbs, JOBS_FAST_PATH=${fastPath}`, () => {
    let app: TestApp;
    let client: JobsClient;

    before(async () => {
      app = await startTestApp({ JOBS_FAST_PATH: String(fastPath), JOBS_LEASE_TIMEOUT_MS: '60000' });
      client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    });
    after(async () => {
      client.close();
      await app.close();
    });

    const batch = async (path: string, body: Record<string, unknown>): Promise<{ code: unknown; jobs: BatchJob[] }> => {
      const answer = await client.send(path, body);
      assert.equal(answer.status, 200, answer.text);
      assert.ok(Array.isArray(answer.json.jobs), answer.text);
      return { code: answer.json.code, jobs: answer.json.jobs as BatchJob[] };
    };

    it('count hands out up to that many jobs in priority-then-FIFO order; an empty lane answers code 2 with no jobs', async () => {
      const lane = `b-order-${fastPath}`;
      for (const [message, priority] of [['p5-a', 5], ['p1', 1], ['p5-b', 5], ['p9', 9], ['p5-c', 5]] as const) {
        assert.equal((await client.schedule(message, { lane, priority })).status, 200);
      }
      const first = await batch('/receive_noblock', { lane, count: 3 });
      assert.equal(first.code, 0);
      assert.deepEqual(first.jobs, [{ message: 'p1' }, { message: 'p5-a' }, { message: 'p5-b' }]);
      const rest = await batch('/receive_noblock', { lane, count: 10 });
      assert.deepEqual(rest.jobs.map((job) => job.message), ['p5-c', 'p9']);
      const empty = await client.send('/receive_noblock', { lane, count: 10 });
      assert.deepEqual(empty.json, { status: 'ok', code: 2, message: 'empty queue', jobs: [] });
      // without count the answer is dispenserd's, unchanged
      assert.deepEqual((await client.send('/receive_noblock', { lane })).json, { status: 'ok', code: 2, message: 'empty queue' });
    });

    it('a leased batch: every job has its own lease; /ack with ids settles them and lists the unknown ones', async () => {
      const lane = `b-lease-${fastPath}`;
      for (let i = 0; i < 6; i++) await client.schedule(`job ${i}`, { lane });
      const leased = await batch('/receive_noblock', { lane, count: 4, ack: true, timeout_ms: 60_000 });
      assert.equal(leased.jobs.length, 4);
      assert.deepEqual(leased.jobs.map((job) => job.message), ['job 0', 'job 1', 'job 2', 'job 3']);
      for (const job of leased.jobs) {
        assert.equal(job.lane, lane);
        assert.equal(typeof job.job_num, 'number');
        assert.match(String(job.expires_at), /^\d{4}-\d\d-\d\dT/);
      }
      const ids = leased.jobs.map((job) => job.id!);
      assert.equal(new Set(ids).size, 4, 'one lease per job');
      // a lease id listed twice is one lease
      const acked = await client.send('/ack', { ids: [ids[0], ids[1], ids[0], 'no-such-lease'] });
      assert.equal(acked.status, 200, acked.text);
      assert.deepEqual(acked.json, { status: 'ok', code: 0, acked: 2, unknown: ['no-such-lease'] });
      const again = await client.send('/ack', { ids });
      assert.deepEqual(again.json, { status: 'ok', code: 0, acked: 2, unknown: [ids[0], ids[1]] });
      const rest = await batch('/receive_noblock', { lane, count: 10 });
      assert.deepEqual(rest.jobs.map((job) => job.message), ['job 4', 'job 5'], 'acked jobs never come back; the others were not touched');
    });

    it('leases of a batch run out one by one: an unacknowledged job returns to the front of its lane', async () => {
      const lane = `b-expiry-${fastPath}`;
      for (let i = 0; i < 3; i++) await client.schedule(`job ${i}`, { lane });
      const leased = await batch('/receive_noblock', { lane, count: 3, ack: true, timeout_ms: 300 });
      assert.equal(leased.jobs.length, 3);
      assert.equal((await client.send('/ack', { ids: [leased.jobs[1]!.id] })).json.acked, 1);
      await sleep(600);
      const back = await batch('/receive_noblock', { lane, count: 10 });
      assert.deepEqual(back.jobs.map((job) => job.message), ['job 0', 'job 2']);
    });

    it('receive_block with count waits for the first job, then takes along what else is ready', async () => {
      const lane = `b-block-${fastPath}`;
      const waiting = client.send('/receive_block', { lane, count: 5, wait_ms: 10_000 });
      await sleep(150);
      await client.schedule('wake', { lane });
      const woken = await waiting;
      assert.equal(woken.status, 200, woken.text);
      assert.deepEqual(woken.json.jobs, [{ message: 'wake' }]);
      for (let i = 0; i < 3; i++) await client.schedule(`ready ${i}`, { lane });
      const ready = await batch('/receive_block', { lane, count: 5, wait_ms: 1000 });
      assert.deepEqual(ready.jobs.map((job) => job.message), ['ready 0', 'ready 1', 'ready 2']);
      const timedOut = await client.send('/receive_block', { lane, count: 5, wait_ms: 100 });
      assert.deepEqual(timedOut.json, { status: 'ok', code: 2, message: 'empty queue', jobs: [] });
    });

    it('bad count or ids get a 400 with the reason, and nothing queued or leased is touched', async () => {
      const lane = `b-bad-${fastPath}`;
      await client.schedule('kept', { lane });
      const leased = await client.send('/receive_noblock', { lane, ack: true });
      await client.schedule('still here', { lane });
      const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
        ['/receive_noblock', { lane, count: 0 }, /count must be an integer from 1 to 1000/],
        ['/receive_noblock', { lane, count: 1001 }, /count must be an integer from 1 to 1000/],
        ['/receive_noblock', { lane, count: '3' }, /count must be an integer/],
        ['/receive_block', { lane, count: 2.5, wait_ms: 10 }, /count must be an integer/],
        ['/ack', { ids: 'abc' }, /ids must be an array of 1 to 1000 strings/],
        ['/ack', { ids: [] }, /ids must be an array of 1 to 1000 strings/],
        ['/ack', { ids: Array.from({ length: 1001 }, (_v, i) => `id-${i}`) }, /ids must be an array of 1 to 1000 strings/],
        ['/ack', { ids: [leased.json.id, 7] }, /ids must hold non-empty strings/],
        ['/ack', { ids: [''] }, /ids must hold non-empty strings/],
        ['/ack', { ids: [leased.json.id], id: leased.json.id }, /give id or ids, not both/],
      ];
      for (const [path, body, reason] of refusals) {
        const answer = await client.send(path, body);
        assert.equal(answer.status, 400, `${path} ${JSON.stringify(body).slice(0, 80)}: ${answer.text}`);
        assert.equal(answer.json.status, 'error');
        assert.equal(answer.json.code, 1);
        assert.match(String(answer.json.message), reason);
      }
      assert.deepEqual((await client.send('/ack', { ids: [leased.json.id] })).json, { status: 'ok', code: 0, acked: 1, unknown: [] }, 'the lease survived every refusal');
      assert.deepEqual((await batch('/receive_noblock', { lane, count: 5 })).jobs, [{ message: 'still here' }]);
    });

    it('a batch schedule adds every job in its order and answers with each one\'s number once all are committed', async () => {
      const lane = `b-sched-${fastPath}`;
      const other = `b-sched-other-${fastPath}`;
      const answer = await client.send('/schedule', {
        jobs: [
          { message: 'p5-a', lane, priority: 5 },
          { message: 'p1', lane, priority: 1 },
          { message: 'elsewhere', lane: other },
          { message: 'p5-b', lane, priority: 5 },
          { Message: 'p5-c', LANE: lane, priority: 5 },
        ],
      });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.status, 'ok');
      assert.equal(answer.json.code, 0);
      const jobs = answer.json.jobs as Array<{ job_num: number; hash: string; lane: string; duplicate: boolean; run_at?: number }>;
      assert.deepEqual(jobs.map((job) => job.lane), [lane, lane, other, lane, lane]);
      for (let i = 1; i < jobs.length; i++) assert.ok(jobs[i]!.job_num > jobs[i - 1]!.job_num, 'job numbers in the batch\'s order');
      assert.ok(jobs.every((job) => job.duplicate === false && typeof job.hash === 'string' && job.run_at === undefined));
      assert.deepEqual((await batch('/receive_noblock', { lane, count: 10 })).jobs.map((job) => job.message), ['p1', 'p5-a', 'p5-b', 'p5-c']);
      assert.deepEqual((await batch('/receive_noblock', { lane: other, count: 10 })).jobs, [{ message: 'elsewhere' }]);
      const looked = await client.send(`/job?job_num=${jobs[0]!.job_num}`);
      assert.equal(looked.status, 404, 'received and gone, found by its number until then');
    });

    it('a batch schedule with idempotency keys and delays: a key seen before or earlier in the batch is a duplicate of that job', async () => {
      const lane = `b-keys-${fastPath}`;
      const first = await client.schedule('original', { lane, idempotency_key: `k1-${fastPath}` });
      assert.equal(first.status, 200, first.text);
      const answer = await client.send('/schedule', {
        jobs: [
          { message: 'again', lane, idempotency_key: `k1-${fastPath}` },
          { message: 'new', lane, idempotency_key: `k2-${fastPath}` },
          { message: 'new twice', lane, idempotency_key: `k2-${fastPath}` },
          { message: 'later', lane, delay_ms: 60_000 },
        ],
      });
      assert.equal(answer.status, 200, answer.text);
      const jobs = answer.json.jobs as Array<{ job_num: number; duplicate: boolean; run_at?: number }>;
      assert.deepEqual(jobs.map((job) => job.duplicate), [true, false, true, false]);
      assert.equal(jobs[0]!.job_num, first.json.job_num);
      assert.equal(jobs[2]!.job_num, jobs[1]!.job_num);
      assert.ok(typeof jobs[3]!.run_at === 'number' && jobs[3]!.run_at > Date.now() + 50_000, 'a delayed job\'s answer says when it runs');
      assert.deepEqual((await batch('/receive_noblock', { lane, count: 10 })).jobs.map((job) => job.message), ['original', 'new'], 'the delayed one waits');
      const delayed = await client.send(`/job?job_num=${jobs[3]!.job_num}`);
      assert.equal((delayed.json.job as { state: string }).state, 'delayed');
    });

    it('a bad batch schedule gets a 400 naming the job, and schedules none of it', async () => {
      const lane = `b-sched-bad-${fastPath}`;
      const refusals: Array<[Record<string, unknown>, RegExp]> = [
        [{ jobs: [] }, /jobs must be an array of 1 to 1000 jobs/],
        [{ jobs: 'x' }, /jobs must be an array of 1 to 1000 jobs/],
        [{ jobs: Array.from({ length: 1001 }, () => ({ message: 'm', lane })) }, /jobs must be an array of 1 to 1000 jobs/],
        [{ jobs: [{ message: 'ok', lane }, 'not an object'] }, /^jobs\[1\] must be an object with a message$/],
        [{ jobs: [{ message: 'ok', lane }, null] }, /^jobs\[1\] must be an object/],
        [{ jobs: [{ message: 'ok', lane }, { lane }] }, /^jobs\[1\]: missing message$/],
        [{ jobs: [{ message: 'ok', lane }, { message: 'ok', lane }, { message: 'bad', lane, priority: -1 }] }, /^jobs\[2\]: priority must be an integer/],
        [{ jobs: [{ message: 'ok', lane, delay_ms: 5, run_at: Date.now() }] }, /^jobs\[0\]: give delay_ms or run_at, not both$/],
        [{ jobs: [{ message: 7, lane }] }, /^jobs\[0\]: message must be a string$/],
        [{ jobs: [{ message: 'ok', lane: 5 }] }, /^jobs\[0\]: lane must be a string$/],
        [{ jobs: [{ message: 'ok', lane, idempotency_key: '' }] }, /^jobs\[0\]: idempotency_key must be a non-empty string/],
        [{ message: 'one', jobs: [{ message: 'two', lane }] }, /give message or jobs, not both/],
      ];
      for (const [body, reason] of refusals) {
        const answer = await client.send('/schedule', body);
        assert.equal(answer.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${answer.text}`);
        assert.equal(answer.json.status, 'error');
        assert.equal(answer.json.code, 1);
        assert.match(String(answer.json.message), reason);
      }
      assert.deepEqual((await client.send('/receive_noblock', { lane, count: 10 })).json.jobs, [], 'nothing of a refused batch was scheduled');
    });

    it('a batch that fills a lane declared with reject-publish stops at the refused job: the ones before it are committed and counted in the answer', async () => {
      const amqp = (await import('amqplib')).default;
      const connection = await amqp.connect(app.amqpUrl);
      const lane = `b-full-${fastPath}`;
      try {
        const channel = await connection.createChannel();
        await channel.assertQueue(`jobs.${lane}`, { durable: true, arguments: { 'x-queue-order': 'rank', 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
        const answer = await client.send('/schedule', { jobs: ['a', 'b', 'c', 'd'].map((message) => ({ message, lane })) });
        assert.equal(answer.status, 503, answer.text);
        assert.deepEqual(answer.json, {
          status: 'error',
          code: 1,
          message: `jobs[2]: lane '${lane}' is full and refuses new jobs (x-overflow reject-publish)`,
          scheduled: 2,
        });
        assert.deepEqual((await batch('/receive_noblock', { lane, count: 10 })).jobs.map((job) => job.message), ['a', 'b']);
      } finally {
        await connection.close();
      }
    });

    it('a batch of 1,000 jobs in one answer, acked in one request', async () => {
      const lane = `b-large-${fastPath}`;
      await Promise.all(Array.from({ length: 1000 }, (_v, i) => client.schedule(`job ${i}`, { lane })));
      const leased = await batch('/receive_noblock', { lane, count: 1000, ack: true });
      assert.equal(leased.jobs.length, 1000);
      assert.equal(new Set(leased.jobs.map((job) => job.message)).size, 1000);
      const acked = await client.send('/ack', { ids: leased.jobs.map((job) => job.id) });
      assert.deepEqual(acked.json, { status: 'ok', code: 0, acked: 1000, unknown: [] });
      assert.equal((await client.send('/receive_noblock', { lane })).json.code, 2);
    });
  });
}

describe('batch verbs with JOBS_AUTH=true', () => {
  let app: TestApp;
  let jobs: string;
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const GUEST = basic('guest', 'guest');
  const READER = basic('reader', 'r3ad');
  const call = (path: string, authorization: string, body: unknown): Promise<JsonAnswer> => requestJson(`${jobs}${path}`, { body, headers: { authorization } });

  before(async () => {
    app = await startTestApp({ JOBS_AUTH: 'true' });
    jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
    app.broker.users.put('reader', { password: 'r3ad' }, []);
    app.broker.users.setPermission({ user: 'reader', vhost: '/', configure: '', write: '', read: '^jobs\\.mail$' });
  });
  after(async () => {
    await app?.close();
  });

  it('a batch schedule naming one lane the user may not write is refused whole: nothing scheduled', async () => {
    app.broker.users.put('writer', { password: 'wr1te' }, []);
    app.broker.users.setPermission({ user: 'writer', vhost: '/', configure: '', write: '^jobs\\.outbox$', read: '^jobs\\.outbox$' });
    const WRITER = basic('writer', 'wr1te');
    const refused = await call('/schedule', WRITER, { jobs: [{ message: 'fine', lane: 'outbox' }, { message: 'not here', lane: 'ledger' }] });
    assert.equal(refused.status, 403, refused.text);
    assert.match(String(refused.json.message), /^jobs\[1\]: write access to queue 'jobs\.ledger'/);
    assert.equal((await call('/receive_noblock', WRITER, { lane: 'outbox', count: 5 })).json.code, 2, 'the allowed job was not scheduled either');
    const allowed = await call('/schedule', WRITER, { jobs: [{ message: 'one', lane: 'outbox' }, { message: 'two', lane: 'outbox' }] });
    assert.equal(allowed.status, 200, allowed.text);
    assert.deepEqual(((await call('/receive_noblock', WRITER, { lane: 'outbox', count: 5 })).json.jobs as BatchJob[]).map((job) => job.message), ['one', 'two']);
    assert.equal((await requestJson(`${jobs}/schedule`, { body: { jobs: [{ message: 'x', lane: 'outbox' }] } })).status, 401, 'no credentials, no batch');
  });

  it('a batch ack naming one lease of a lane the user may not read is refused whole: nothing acked', async () => {
    for (const lane of ['mail', 'payroll']) assert.equal((await call('/schedule', GUEST, { lane, message: `${lane} job` })).status, 200);
    const mail = await call('/receive_noblock', GUEST, { lane: 'mail', count: 5, ack: true });
    const payroll = await call('/receive_noblock', GUEST, { lane: 'payroll', count: 5, ack: true });
    const ids = [...(mail.json.jobs as BatchJob[]), ...(payroll.json.jobs as BatchJob[])].map((job) => job.id);
    assert.equal(ids.length, 2);
    const refused = await call('/ack', READER, { ids });
    assert.equal(refused.status, 403, refused.text);
    assert.match(String(refused.json.message), /read access to queue 'jobs\.payroll'/);
    assert.equal((await call('/receive_noblock', READER, { lane: 'payroll', count: 5 })).status, 403, 'a batch receive checks read access too');
    const acked = await call('/ack', GUEST, { ids });
    assert.deepEqual(acked.json, { status: 'ok', code: 0, acked: 2, unknown: [] }, 'the refused request acked nothing');
  });
});
