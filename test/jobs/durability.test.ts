import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { freePort, startTestApp } from '../support/app-harness';
import { startBrokerProcess } from '../support/broker-process';
import { JobsClient } from '../support/jobs-client';
import { tempDir } from '../support/temp-dir';

test('jobs, lanes and the job counter survive a restart', async () => {
  const dir = tempDir();
  try {
    let app = await startTestApp({}, dir.path);
    let client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    await client.schedule('p5', { priority: 5 });
    await client.schedule('p1', { priority: 1 });
    await client.schedule('other', { lane: 'other' });
    await client.send('/receive_noblock', { lane: 'empty-lane' });
    const leased = await client.send('/receive_noblock', { lane: 'other', ack: true, timeout_ms: 60_000 });
    assert.equal(leased.json.message, 'other');
    client.close();
    await app.stop();

    app = await startTestApp({}, dir.path);
    client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    const list = await client.send('/jobs');
    assert.deepEqual(Object.keys(list.json), ['empty-lane', 'main', 'other']);
    assert.deepEqual((list.json.main as Record<string, unknown>[]).map((j) => [j.message, j.job_num]), [['p1', 2], ['p5', 1]]);
    assert.deepEqual((list.json.other as Record<string, unknown>[]).map((j) => j.message), ['other'], 'a leased job is back after a restart');
    await client.schedule('next');
    const after = await client.send('/jobs');
    const numbers = (after.json.main as Record<string, unknown>[]).map((j) => j.job_num);
    assert.ok(numbers.includes(4), `the counter continued: ${numbers.join(',')}`);
    client.close();
    await app.stop();
  } finally {
    dir.cleanup();
  }
});

test('kill -9 after N "ok" answers (single and batch schedules): all N jobs are there after the restart', async () => {
  const dir = tempDir();
  try {
    const jobsPort = await freePort();
    const env = {
      DATA_DIR: dir.path,
      JOBS_PORT: String(jobsPort),
      AMQP_PORT: String(await freePort()),
      MANAGEMENT_PORT: String(await freePort()),
      DISPATCH_PORT: String(await freePort()),
      BIND_HOST: '127.0.0.1',
      STORE_SYNC: 'full',
    };
    let proc = await startBrokerProcess(env);
    let client = new JobsClient(`http://127.0.0.1:${jobsPort}`);
    const acknowledged: string[] = [];
    let stop = false;
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const message = `w${w}-${i}`;
        // every other worker schedules batches of five
        const messages = w % 2 === 0 ? [message] : Array.from({ length: 5 }, (_v, k) => `${message}-${k}`);
        const body = w % 2 === 0 ? { message, lane: `lane-${w % 3}`, priority: w } : { jobs: messages.map((one) => ({ message: one, lane: `lane-${w % 3}`, priority: w })) };
        try {
          const res = await client.send('/schedule', body);
          if (res.status === 200 && res.json.code === 0) acknowledged.push(...messages);
        } catch {
          return; // the server died under us
        }
      }
    });
    while (acknowledged.length < 400) await new Promise((r) => setTimeout(r, 5));
    const exited = proc.exited;
    proc.child.kill('SIGKILL');
    stop = true;
    await exited;
    await Promise.all(workers);
    client.close();
    const n = acknowledged.length;

    proc = await startBrokerProcess(env);
    client = new JobsClient(`http://127.0.0.1:${jobsPort}`);
    const list = await client.send('/jobs');
    const present = new Set<string>();
    for (const lane of Object.values(list.json) as Record<string, unknown>[][]) for (const job of lane) present.add(String(job.message));
    const lost = acknowledged.filter((m) => !present.has(m));
    assert.deepEqual(lost, [], `${lost.length} of ${n} acknowledged jobs lost`);
    client.close();
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  } finally {
    dir.cleanup();
  }
});

test('cross-protocol: HTTP jobs are consumed over AMQP with their priority; AMQP publishes are received over HTTP in rank order', async () => {
  const app = await startTestApp();
  const client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
  const connection = await amqp.connect(app.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    await client.schedule('http-low', { lane: 'x', priority: 900 });
    await client.schedule('http-high', { lane: 'x', priority: 2 });
    await client.schedule('http-default', { lane: 'x' });
    const got: amqp.GetMessage[] = [];
    for (let m = await channel.get('jobs.x'); m; m = await channel.get('jobs.x')) {
      got.push(m);
      channel.ack(m);
    }
    assert.deepEqual(got.map((m) => m.content.toString()), ['http-high', 'http-default', 'http-low']);
    const high = got[0]!;
    assert.equal(high.properties.headers?.['x-rank'], 2);
    assert.equal(typeof high.properties.headers?.['x-job-num'], 'number');
    assert.match(String(high.properties.headers?.['x-job-hash']), /^[0-9a-f]{40}$/);
    assert.equal(high.properties.deliveryMode, 2);
    assert.equal(got[1]!.properties.priority, 0, 'default priority 512 is AMQP priority 0');
    assert.equal(high.properties.priority, 255, 'priority 2 is above AMQP range: 255');

    // AMQP -> HTTP: x-rank header, AMQP priority (rank 512 - p), or nothing (512). An AMQP client
    // declares the lane queue exactly as the job API does (durable, x-queue-order rank).
    await channel.assertQueue('jobs.y', { durable: true, arguments: { 'x-queue-order': 'rank' } });
    channel.publish('', 'jobs.y', Buffer.from('amqp-p9'), { persistent: true, priority: 9 });
    channel.publish('', 'jobs.y', Buffer.from('amqp-plain'), { persistent: true });
    channel.publish('', 'jobs.y', Buffer.from('amqp-rank-0'), { persistent: true, headers: { 'x-rank': 0 } });
    await channel.waitForConfirms().catch(() => undefined);
    await client.schedule('http-510', { lane: 'y', priority: 510 });
    const list = await client.send('/jobs');
    const y = list.json.y as Record<string, unknown>[];
    assert.deepEqual(y.map((j) => [j.message, j.priority]), [
      ['amqp-rank-0', 0],
      ['amqp-p9', 503],
      ['http-510', 510],
      ['amqp-plain', 512],
    ]);
    assert.equal(y[0]!.job_num, 0, 'AMQP-published jobs have no job number');
    assert.match(String(y[0]!.hash), /^[0-9a-f]{40}$/);
    const received: string[] = [];
    for (let res = await client.send('/receive_noblock', { lane: 'y' }); res.json.code === 0; res = await client.send('/receive_noblock', { lane: 'y' })) {
      received.push(String(res.json.message));
    }
    assert.deepEqual(received, ['amqp-rank-0', 'amqp-p9', 'http-510', 'amqp-plain']);
  } finally {
    await connection.close();
    client.close();
    await app.close();
  }
});
