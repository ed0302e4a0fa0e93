/**
 * A data file written before messages had annotations (schema version 1: jobs, deliveries and
 * dead letters kept the broker's state as x- headers) comes back and works: jobs listed, found by
 * number (paged ones too, without reading paged rows back), deleted and received; the first
 * idempotent schedule finds a queued job's key without walking its lane; pending deliveries are
 * retried, dead ones replayed and cancelled by id; a dead letter keeps its x-death. The file is
 * test/fixtures/store-v1/store-v1.sqlite.gz, written by the broker at e9d06a5 (before this
 * change) through make-store-v1.js next to it; store-v1.json says what it holds.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { channel, closeQuietly, connect, getOne } from '../support/amqp-e2e';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { getJson, requestJson } from '../support/http-sink';
import { JobsClient } from '../support/jobs-client';
import { pagedReads } from '../support/paged-reads';
import { tempDir } from '../support/temp-dir';

const FIXTURE = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'store-v1');

interface Manifest {
  jobs: { ready: number; delayed: number; delayedRunAt: number };
  paged: { first: number; count: number };
  deliveries: Record<string, { attempts: unknown[]; state: string; next_attempt_at?: string }>;
}

const manifest = JSON.parse(readFileSync(join(FIXTURE, 'store-v1.json'), 'utf8')) as Manifest;
const dir = tempDir();
writeFileSync(join(dir.path, 'broker.sqlite'), gunzipSync(readFileSync(join(FIXTURE, 'store-v1.sqlite.gz'))));
after(() => dir.cleanup());

/** A 1 MB queue budget: most of the 1000 jobs of 4000 bytes in lane legacy-paged stay in the store. */
const SETTINGS = { QUEUE_MEMORY_BUDGET_MB: '1', DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_RETRY_BASE_MS: '100' };

const pagedJob = (i: number): { jobNum: number; message: string; priority: number; key: string } => ({
  jobNum: manifest.paged.first + i,
  message: `paged-${i}-`.padEnd(4000, '.'),
  priority: [10, 900][i % 2]!,
  key: `paged-key-${i}`,
});

test('the fixture is a version 1 file: no annotations column, the state in headers', () => {
  const db = new Database(join(dir.path, 'broker.sqlite'), { readonly: true });
  try {
    assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(), '1');
    const columns = (db.prepare('PRAGMA table_info(entries)').all() as { name: string }[]).map((c) => c.name);
    assert.ok(!columns.includes('annotations'));
  } finally {
    db.close();
  }
});

test('jobs of a version 1 file: listed, found by number (paged ones without reading paged rows), deleted, received, deduplicated', async () => {
  let app: TestApp | undefined = await startTestApp(SETTINGS, dir.path);
  let client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
  try {
    const lane = app.broker.addVhost('/').getQueue('jobs.legacy-paged');
    await eventually(() => lane.pagedCount > 0, 5000, 'the lane is paged');
    assert.ok(lane.pagedCount > manifest.paged.count / 2, `paged: ${lane.pagedCount}`);

    // the first idempotent schedule after the start: the key of a paged job, found by its key
    const last = pagedJob(manifest.paged.count - 1);
    const scheduleReads = await pagedReads(async () => {
      const duplicate = await client.send('/schedule', { lane: 'legacy-paged', message: 'again', idempotency_key: last.key });
      assert.equal(duplicate.json.duplicate, true, duplicate.text);
      assert.equal(duplicate.json.job_num, last.jobNum);
    });
    assert.equal(scheduleReads, 0, 'no paged row was read back');

    // lookups by number: in memory and paged, every rank
    const lookupReads = await pagedReads(async () => {
      for (const i of [0, 1, 2, 500, 997, 998, 999]) {
        const job = pagedJob(i);
        const found = await client.send('/job', { job_num: job.jobNum });
        assert.equal(found.status, 200, `job ${i}: ${found.text}`);
        const shown = found.json.job as Record<string, unknown>;
        assert.deepEqual([shown.message, shown.lane, shown.state, shown.priority, shown.job_num], [job.message, 'legacy-paged', 'ready', job.priority, job.jobNum]);
      }
    });
    assert.equal(lookupReads, 0, 'lookups read one entry each, never paged rows');

    // delete by number: a paged one and an in-memory one
    for (const i of [998, 0]) {
      assert.equal((await client.send('/delete', { job_num: pagedJob(i).jobNum })).json.code, 0);
      assert.equal((await client.send('/job', { job_num: pagedJob(i).jobNum })).status, 404);
    }
    assert.equal(lane.messageCount, manifest.paged.count - 2);

    // the small lane: listed, found in its state, received in rank order
    const listed = (await client.send('/jobs', undefined, { method: 'GET' })).json as unknown as Record<string, { job_num: number; message: string }[]>;
    assert.deepEqual(
      listed.legacy!.map((job) => [job.job_num, job.message]),
      [
        [manifest.jobs.ready, 'ready-one'],
        [manifest.jobs.delayed, 'delayed-one'],
      ],
    );
    assert.equal(listed['legacy-paged']!.length, manifest.paged.count - 2);
    // as the release that wrote the file shows it: a recovered job lists as ready until it is taken
    const delayed = (await client.send('/job', { job_num: manifest.jobs.delayed })).json.job as Record<string, unknown>;
    assert.equal(delayed.state, 'ready');
    const received = (await client.send('/receive_noblock', { lane: 'legacy', ack: true, timeout_ms: 10_000 })).json;
    assert.deepEqual([received.message, received.job_num], ['ready-one', manifest.jobs.ready]);
    assert.equal((await client.send('/ack', { id: received.id })).json.code, 0);
    // taking the next one finds it early: it waits now, and says until when
    if (manifest.jobs.delayedRunAt > Date.now()) {
      assert.equal((await client.send('/receive_noblock', { lane: 'legacy' })).json.code, 2);
      const waiting = (await client.send('/job', { job_num: manifest.jobs.delayed })).json.job as Record<string, unknown>;
      assert.deepEqual([waiting.state, waiting.run_at], ['delayed', new Date(manifest.jobs.delayedRunAt).toISOString()]);
    }
    // its key is remembered once it is done
    const again = await client.send('/schedule', { lane: 'legacy', message: 'ready-one', idempotency_key: 'legacy-key' });
    assert.deepEqual([again.json.duplicate, again.json.job_num], [true, manifest.jobs.ready]);

    // and once more after a restart of this version: old rows and new ones side by side
    await app.stop();
    app = await startTestApp(SETTINGS, dir.path);
    client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    const restartReads = await pagedReads(async () => {
      const repeat = await client.send('/schedule', { lane: 'legacy-paged', message: 'x', idempotency_key: pagedJob(997).key });
      assert.deepEqual([repeat.json.duplicate, repeat.json.job_num], [true, pagedJob(997).jobNum]);
      const found = await client.send('/job', { job_num: pagedJob(999).jobNum });
      assert.equal((found.json.job as Record<string, unknown>).message, pagedJob(999).message);
      assert.equal((await client.send('/job', { job_num: pagedJob(998).jobNum })).status, 404, 'deleted before the restart');
    });
    assert.equal(restartReads, 0);
  } finally {
    client.close();
    await app?.stop();
  }
});

test('deliveries and dead letters of a version 1 file: retried, replayed and cancelled by id; x-death intact', async () => {
  const app = await startTestApp(SETTINGS, dir.path);
  try {
    // pending ones are tried again when due (their sink is long gone: the attempt fails and is
    // recorded); one due later (a Retry-After of an hour) waits for its time still
    for (const id of ['legacy-retry', 'legacy-later']) {
      const stored = manifest.deliveries[id]!;
      if (Date.parse(stored.next_attempt_at!) <= Date.now()) {
        await eventually(async () => ((await getJson(`${app.dispatchUrl}/deliveries/${id}`)).json.attempts as unknown[]).length > stored.attempts.length, 10_000, `${id} retried`);
      } else {
        const shown = (await getJson(`${app.dispatchUrl}/deliveries/${id}`)).json;
        assert.deepEqual([shown.state, shown.next_attempt_at, (shown.attempts as unknown[]).length], ['pending', stored.next_attempt_at, stored.attempts.length]);
      }
    }
    const cancelled = await requestJson(`${app.dispatchUrl}/deliveries/legacy-dead-cancel`, { method: 'DELETE' });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal((await getJson(`${app.dispatchUrl}/deliveries/legacy-dead-cancel`)).json.state, 'cancelled');
    const replayed = await requestJson(`${app.dispatchUrl}/deliveries/legacy-dead/replay`, { method: 'POST' });
    assert.equal(replayed.status, 200, replayed.text);
    await eventually(async () => ((await getJson(`${app.dispatchUrl}/deliveries/legacy-dead`)).json.replays as number) === 1, 5000, 'replayed');

    const conn = await connect(app.amqpUrl);
    try {
      const ch = await channel(conn);
      const dead = await getOne(ch, 'legacy-dlq');
      assert.equal(dead.content.toString(), 'died once');
      const headers = dead.properties.headers!;
      assert.equal(headers.custom, 'kept');
      const deaths = headers['x-death'] as unknown as Record<string, unknown>[];
      assert.deepEqual(deaths.map((d) => [d.queue, d.reason, d.count, d.exchange, d['routing-keys']]), [['legacy-src', 'rejected', 1, '', ['legacy-src']]]);
      assert.equal(headers['x-first-death-queue'], 'legacy-src');
      ch.ack(dead);
    } finally {
      await closeQuietly(conn);
    }
  } finally {
    await app.stop();
  }
});
