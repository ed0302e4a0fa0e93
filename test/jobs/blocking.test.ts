import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually, sleep, startTestApp, TestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';

// both HTTP paths: the fast path (the default) and Fastify alone
for (const fastPath of [true, false]) {
  describe(`blocking receives, JOBS_FAST_PATH=${fastPath}`, () => {
    let app: TestApp;
    let client: JobsClient;

    before(async () => {
      app = await startTestApp({ JOBS_FAST_PATH: String(fastPath) });
      client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
    });
    after(async () => {
      client.close();
      await app.close();
    });

    const idleWorkers = async (lane: string): Promise<number> => {
      const status = await client.send('/');
      return (status.json.payload as Record<string, Record<string, number>>).idle_workers![lane] ?? 0;
    };

    test('receive_block waits for a job and counts as an idle worker meanwhile', async () => {
      const waiting = client.send('/receive_block', { lane: 'b1' });
      await eventually(async () => (await idleWorkers('b1')) === 1, 3000, 'one idle worker');
      await sleep(100);
      let settled = false;
      void waiting.then(() => (settled = true));
      await sleep(50);
      assert.equal(settled, false, 'still blocked');
      await client.schedule('wake', { lane: 'b1' });
      const res = await waiting;
      assert.deepEqual(res.json, { status: 'ok', code: 0, message: 'wake' });
      assert.equal(await idleWorkers('b1'), 0);
    });

    test('an available job is returned at once', async () => {
      await client.schedule('ready', { lane: 'b2' });
      const res = await client.send('/receive_block', { lane: 'b2' });
      assert.equal(res.json.message, 'ready');
    });

    test('50 concurrent blocked receivers and 50 jobs: each gets exactly one distinct job', async () => {
      const receivers = Array.from({ length: 50 }, () => client.send('/receive_block', { lane: 'fan' }));
      await eventually(async () => (await idleWorkers('fan')) === 50, 5000, '50 idle workers');
      await Promise.all(Array.from({ length: 50 }, (_, i) => client.schedule(`job-${i}`, { lane: 'fan' })));
      const results = await Promise.all(receivers);
      const messages = results.map((r) => String(r.json.message));
      assert.equal(new Set(messages).size, 50, 'all distinct');
      assert.deepEqual([...messages].sort(), Array.from({ length: 50 }, (_, i) => `job-${i}`).sort());
      assert.equal(await idleWorkers('fan'), 0);
      assert.equal((await client.send('/receive_noblock', { lane: 'fan' })).json.code, 2);
    });

    test('a blocked receiver whose client disconnects is removed and consumes nothing', async () => {
      const url = new URL('/receive_block', client.base);
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ lane: 'gone' }));
      await eventually(async () => (await idleWorkers('gone')) === 1, 3000, 'the waiter registered');
      req.destroy();
      await eventually(async () => (await idleWorkers('gone')) === 0, 3000, 'the waiter removed');
      await client.schedule('kept', { lane: 'gone' });
      const res = await client.send('/receive_noblock', { lane: 'gone' });
      assert.equal(res.json.message, 'kept', 'the job was not consumed by the vanished client');
    });

    test('the oldest waiter is served first', async () => {
      const first = client.send('/receive_block', { lane: 'order' });
      await eventually(async () => (await idleWorkers('order')) === 1, 3000, 'first waiter');
      const second = client.send('/receive_block', { lane: 'order' });
      await eventually(async () => (await idleWorkers('order')) === 2, 3000, 'second waiter');
      await client.schedule('one', { lane: 'order' });
      assert.equal((await first).json.message, 'one');
      await client.schedule('two', { lane: 'order' });
      assert.equal((await second).json.message, 'two');
    });

    test('extension: a wait limit (wait_ms, or timeout_ms without ack) answers "empty queue"', async () => {
      const started = Date.now();
      const res = await client.send('/receive_block', { lane: 'timed', wait_ms: 300 });
      assert.deepEqual(res.json, { status: 'ok', code: 2, message: 'empty queue' });
      assert.ok(Date.now() - started >= 280);
      const res2 = await client.send('/receive_block', { lane: 'timed', timeout_ms: 100 });
      assert.equal(res2.json.code, 2);
      assert.equal(await idleWorkers('timed'), 0);
      await client.schedule('after-timeout', { lane: 'timed' });
      assert.equal((await client.send('/receive_noblock', { lane: 'timed' })).json.message, 'after-timeout');
    });

    test('a wait longer than Node timers hold (wait_ms past 2^31-1 ms) keeps waiting instead of answering at once', async () => {
      const waiting = client.send('/receive_block', { lane: 'long-wait', wait_ms: 2 ** 31 + 1000 });
      await eventually(async () => (await idleWorkers('long-wait')) === 1, 3000, 'waiter');
      await sleep(200);
      assert.equal(await idleWorkers('long-wait'), 1, 'still waiting');
      await client.schedule('worth the wait', { lane: 'long-wait' });
      assert.equal((await waiting).json.message, 'worth the wait');
    });

    test('jobs published over AMQP wake HTTP waiters too', async () => {
      const amqp = (await import('amqplib')).default;
      const waiting = client.send('/receive_block', { lane: 'amqp-wake' });
      await eventually(async () => (await idleWorkers('amqp-wake')) === 1, 3000, 'waiter');
      const connection = await amqp.connect(app.amqpUrl);
      const channel = await connection.createConfirmChannel();
      channel.publish('', 'jobs.amqp-wake', Buffer.from('from amqp'), { persistent: true });
      await channel.waitForConfirms();
      assert.equal((await waiting).json.message, 'from amqp');
      await connection.close();
    });

    test('a lane held by an exclusive AMQP consumer answers 409 to a blocking receive, and counts no idle worker', async () => {
      const amqp = (await import('amqplib')).default;
      await client.send('/receive_noblock', { lane: 'held' }); // creates the lane
      const connection = await amqp.connect(app.amqpUrl);
      const channel = await connection.createChannel();
      await channel.consume('jobs.held', () => undefined, { exclusive: true });
      const res = await client.send('/receive_block', { lane: 'held' });
      assert.equal(res.status, 409);
      assert.equal(res.json.status, 'error');
      assert.match(String(res.json.message), /exclusive use/);
      assert.equal(await idleWorkers('held'), 0);
      await connection.close();
    });

    test('a lane whose queue AMQP declared otherwise (exclusive, or without rank order) is refused with 409, and nothing else is lost', async () => {
      const amqp = (await import('amqplib')).default;
      await client.schedule('kept', { lane: 'fine' });
      const connection = await amqp.connect(app.amqpUrl);
      try {
        const channel = await connection.createChannel();
        await channel.assertQueue('jobs.taken', { exclusive: true });
        await channel.assertQueue('jobs.plain', { durable: true });

        const locked = await client.schedule('never', { lane: 'taken' });
        assert.equal(locked.status, 409);
        assert.equal(locked.json.status, 'error');
        assert.match(String(locked.json.message), /exclusive access to locked queue 'jobs\.taken'/);

        const inequivalent = await client.schedule('never', { lane: 'plain' });
        assert.equal(inequivalent.status, 409);
        assert.match(String(inequivalent.json.message), /inequivalent arg 'x-queue-order' for queue 'jobs\.plain'/);
        assert.equal((await client.send('/receive_noblock', { lane: 'plain' })).status, 409, 'receive on that lane too');

        // the AMQP queues are untouched, and the other lanes go on
        assert.equal((await channel.checkQueue('jobs.plain')).messageCount, 0);
        const got = await client.send('/receive_noblock', { lane: 'fine' });
        assert.equal(got.json.message, 'kept');
        assert.equal((await client.schedule('after', { lane: 'fine' })).status, 200);
      } finally {
        await connection.close();
      }
      // once the exclusive owner is gone, the lane can be created normally
      assert.equal((await client.schedule('now', { lane: 'taken' })).status, 200);
    });
  });
}
