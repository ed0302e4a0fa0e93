/**
 * Jobs are found by their keys (job number, idempotency key) on a lane paged to the store, before
 * and after a restart, without reading paged rows back: each lookup reads at most its own entry.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startTestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';
import { pagedReads } from '../support/paged-reads';
import { tempDir } from '../support/temp-dir';

const dir = tempDir();
after(() => dir.cleanup());

const SETTINGS = { QUEUE_MEMORY_BUDGET_MB: '1' };
const BODY = 4000;
const JOBS = 800;
const DELAYED = 200;

const jobs: { num: number; key: string; message: string; delayed: boolean }[] = [];

/** Each sampled job found by number and by idempotency key; `recovered`: read back from the store at a restart. */
async function checkLookups(client: JobsClient, deleted: Set<number>, recovered: boolean): Promise<void> {
  for (const job of [jobs[0]!, jobs[1]!, jobs[JOBS / 2]!, jobs[JOBS - 1]!, jobs[JOBS]!, jobs[JOBS + DELAYED - 1]!]) {
    const found = await client.send('/job', { job_num: job.num });
    if (deleted.has(job.num)) {
      assert.equal(found.status, 404);
      continue;
    }
    assert.equal(found.status, 200, found.text);
    const shown = found.json.job as Record<string, unknown>;
    assert.deepEqual([shown.message, shown.job_num], [job.message, job.num]);
    // a delayed job recovered at a restart lists as ready until it is taken, as before
    if (!recovered) assert.equal(shown.state, job.delayed ? 'delayed' : 'ready');
    const again = await client.send('/schedule', { lane: 'keyed', message: 'again', idempotency_key: job.key });
    assert.deepEqual([again.json.duplicate, again.json.job_num], [true, job.num], again.text);
  }
}

test('jobs are found, deduplicated and deleted by key on a paged lane, and again after a restart', async () => {
  const first = await startTestApp(SETTINGS, dir.path);
  let client = new JobsClient(`http://127.0.0.1:${first.running.ports.jobs}`);
  const deleted = new Set<number>();
  try {
    for (let i = 0; i < JOBS + DELAYED; i++) {
      const delayed = i >= JOBS;
      const message = `job-${i}-`.padEnd(BODY, '.');
      const key = `key-${i}`;
      const answer = await client.send('/schedule', { lane: 'keyed', message, priority: i % 2 === 0 ? 100 : 600, idempotency_key: key, ...(delayed ? { delay_ms: 3_600_000 } : {}) });
      jobs.push({ num: Number(answer.json.job_num), key, message, delayed });
    }
    const lane = first.broker.addVhost('/').getQueue('jobs.keyed');
    assert.ok(lane.pagedCount > JOBS / 2, `paged: ${lane.pagedCount}`);
    assert.equal(lane.delayedCount, DELAYED);
    assert.equal(await pagedReads(() => checkLookups(client, deleted, false)), 0, 'no paged row read back');
    // delete by number: paged ready, paged delayed, in memory
    for (const job of [jobs[JOBS - 2]!, jobs[JOBS + DELAYED - 2]!, jobs[2]!]) {
      assert.equal((await client.send('/delete', { job_num: job.num })).json.code, 0);
      deleted.add(job.num);
      assert.equal((await client.send('/job', { job_num: job.num })).status, 404);
    }
    assert.equal(lane.messageCount + lane.delayedCount, JOBS + DELAYED - 3);
    await first.stop();
    const second = await startTestApp(SETTINGS, dir.path);
    client = new JobsClient(`http://127.0.0.1:${second.running.ports.jobs}`);
    try {
      assert.equal(await pagedReads(() => checkLookups(client, deleted, true)), 0, 'after the restart: no paged row read back');
      for (const job of [jobs[JOBS - 2]!, jobs[JOBS + DELAYED - 2]!, jobs[2]!]) assert.equal((await client.send('/job', { job_num: job.num })).status, 404);
    } finally {
      client.close();
      await second.stop();
    }
  } finally {
    client.close();
    await first.stop();
  }
});

test('a lane is indexed at its first lookup: a job out under a lease by then is still found by its number and its key', async () => {
  const data = tempDir();
  try {
    const first = await startTestApp({}, data.path);
    let client = new JobsClient(`http://127.0.0.1:${first.running.ports.jobs}`);
    const scheduled: number[] = [];
    for (const key of ['late-1', 'late-2', 'late-3']) {
      scheduled.push(Number((await client.send('/schedule', { lane: 'late', message: `job ${key}`, idempotency_key: key })).json.job_num));
    }
    client.close();
    await first.stop();
    // after a restart nothing remembers the keys in memory: the lane's index is all there is
    const second = await startTestApp({}, data.path);
    client = new JobsClient(`http://127.0.0.1:${second.running.ports.jobs}`);
    try {
      const leased = await client.send('/receive_noblock', { lane: 'late', ack: true, timeout_ms: 60_000 });
      assert.equal(leased.json.job_num, scheduled[0]);
      // the first lookups: the lane is indexed now, while job 1 is out
      const again = await client.send('/schedule', { lane: 'late', message: 'again', idempotency_key: 'late-1' });
      assert.deepEqual([again.json.duplicate, again.json.job_num], [true, scheduled[0]], again.text);
      const queued = await client.send('/schedule', { lane: 'late', message: 'again', idempotency_key: 'late-3' });
      assert.deepEqual([queued.json.duplicate, queued.json.job_num], [true, scheduled[2]], queued.text);
      const found = await client.send('/job', { job_num: scheduled[0] });
      assert.equal((found.json.job as { state: string }).state, 'leased', found.text);
      // released, it is in the lane again and found there
      assert.equal((await client.send('/release', { id: leased.json.id })).json.code, 0);
      const back = await client.send('/job', { job_num: scheduled[0] });
      assert.equal((back.json.job as { state: string }).state, 'ready', back.text);
      assert.equal(((await client.send('/receive_noblock', { lane: 'late', count: 10 })).json.jobs as unknown[]).length, 3, 'no duplicate was scheduled');
    } finally {
      client.close();
      await second.stop();
    }
  } finally {
    data.cleanup();
  }
});
