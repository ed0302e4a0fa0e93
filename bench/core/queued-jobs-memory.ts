/**
 * Memory of a million queued jobs, and what the first lookups after a restart cost: schedules N
 * jobs through the job door's domain (JobService, no HTTP) into one lane on SQLite, restarts, and
 * prints RSS and heap after the restart with the lane recovered (and, where lanes are indexed by
 * key, the index rebuilt), then times a lookup by job number and the first idempotent schedule.
 * Uses only what every release has (Broker, SqliteStore, JobService), so the same compiled file
 * runs against an older build for a before/after figure. Not a test: figures, not assertions.
 *
 *   node --expose-gc dist/bench/core/queued-jobs-memory.js [--jobs N] [--size BYTES] [--keys false]
 * (--keys false: no idempotency keys, so only the job-number index is kept)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, SqliteStore } from '#core';
import { JobService, JobsOptions } from '#jobs';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
};
const JOBS = Number(flag('jobs', '1000000'));
const SIZE = Number(flag('size', '100'));
const KEYS = flag('keys', 'true') !== 'false';

const options = { vhost: '/', queuePrefix: 'jobs.', throttleReceive: false, throttleSchedule: false } as JobsOptions;

async function open(dir: string): Promise<{ broker: Broker; jobs: JobService }> {
  const broker = await Broker.open(await SqliteStore.open({ dataDir: dir, sync: 'normal' }), { dataDir: dir, queueMemoryBudget: 64 * 1024 * 1024 });
  return { broker, jobs: new JobService(broker, options) };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

function memory(): string {
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return `RSS ${mb(rss)}, heap ${mb(heapUsed)}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'queued-jobs-'));
  try {
    let { broker, jobs } = await open(dir);
    const message = 'j'.repeat(SIZE);
    const started = Date.now();
    for (let sent = 0; sent < JOBS; ) {
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < 10_000 && sent < JOBS; i++, sent++) batch.push(jobs.schedule({ lane: 'bench', message, priority: 512, ...(KEYS ? { idempotencyKey: `key-${sent}` } : {}) }));
      await Promise.all(batch);
    }
    console.log(`scheduled ${JOBS.toLocaleString()} jobs of ${SIZE} B in ${((Date.now() - started) / 1000).toFixed(1)} s; ${memory()}`);
    await broker.close();

    const restarted = Date.now();
    ({ broker, jobs } = await open(dir));
    const t0 = process.hrtime.bigint();
    const found = await jobs.findJob(JOBS);
    const lookupMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const recovered = Date.now() - restarted;
    const t1 = process.hrtime.bigint();
    const duplicate = await jobs.schedule({ lane: 'bench', message, priority: 512, idempotencyKey: `key-${JOBS - 1}` });
    const scheduleMs = Number(process.hrtime.bigint() - t1) / 1e6;
    const t2 = process.hrtime.bigint();
    await jobs.findJob(JOBS / 2);
    const secondMs = Number(process.hrtime.bigint() - t2) / 1e6;
    console.log(
      `after a restart (${recovered} ms to the first lookup answered): ${memory()}; first findJob ${lookupMs.toFixed(1)} ms (found: ${found !== undefined}), ` +
        `first idempotent schedule ${scheduleMs.toFixed(1)} ms (duplicate: ${duplicate.duplicate}), next findJob ${secondMs.toFixed(1)} ms; ` +
        `peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}`,
    );
    await broker.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
