import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { eventually, startTestApp } from '../support/app-harness';
import { JobsClient } from '../support/jobs-client';

test('a memory alarm blocks AMQP publishers (connection.blocked) and refuses job schedules with 503, then clears', async () => {
  const app = await startTestApp({ MEMORY_HIGH_WATERMARK_MB: '1' });
  const client = new JobsClient(`http://127.0.0.1:${app.running.ports.jobs}`);
  const connection = await amqp.connect(app.amqpUrl);
  try {
    await eventually(() => app.broker.alarms.active !== null, 5000, 'the memory alarm');
    assert.match(String(app.broker.alarms.active), /^memory: \d+ MB in use, above the high watermark of 1 MB$/);
    const blocked = new Promise<string>((resolve) => connection.once('blocked', (reason: string) => resolve(reason)));
    const channel = await connection.createChannel();
    const queue = await channel.assertQueue('', { exclusive: true });
    channel.sendToQueue(queue.queue, Buffer.from('during the alarm'));
    assert.match(await blocked, /^memory:/);
    const refused = await client.schedule('no room');
    assert.equal(refused.status, 503);
    assert.equal(refused.json.status, 'error');
    assert.match(String(refused.json.message), /resource alarm/);

    const unblocked = new Promise<void>((resolve) => connection.once('unblocked', () => resolve()));
    app.broker.alarms.stop();
    app.broker.alarms.set(null);
    await unblocked;
    assert.equal((await client.schedule('room again')).status, 200);
    const got = await channel.get(queue.queue);
    assert.equal(got && got.content.toString(), 'during the alarm', 'the publish read before blocking was kept');
  } finally {
    await connection.close();
    client.close();
    await app.close();
  }
});
