/**
 * STORE_ACK_WAIT_MS end to end (amqplib): a persistent message a consumer acks within the wait is
 * never written, and its publisher is confirmed at the ack; one nobody consumes is written at
 * once; one a consumer holds without acking is written, and confirmed, after the wait. The wait
 * is set long (300 ms) so the timings asserted hold on a slow machine.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, confirmChannel, connect, TrackedConnection, withTimeout } from '../support/amqp-e2e';
import { loadAmqpClient } from '../support/second-client';

const WAIT_MS = 300;
let app: TestApp;
let publisherConn: TrackedConnection;
let consumerConn: TrackedConnection;

before(async () => {
  app = await startTestApp({ STORE_ACK_WAIT_MS: String(WAIT_MS) });
  publisherConn = await connect(app.amqpUrl);
  consumerConn = await connect(app.amqpUrl);
});

after(async () => {
  await closeQuietly(publisherConn);
  await closeQuietly(consumerConn);
  await app.close();
});

/** Store operations committed so far (inserts, deletes, delivered marks), from the broker's metrics. */
async function committedOperations(): Promise<number> {
  const text = await (await fetch(`${app.managementUrl}/metrics`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).text();
  return Number(/^broker_store_committed_operations_total (\S+)/m.exec(text)![1]);
}

/** Publishes `count` persistent messages one after another, each after the previous one's confirm; returns each confirm's latency. */
async function publishConfirmed(queue: string, count: number): Promise<number[]> {
  const ch = await confirmChannel(publisherConn);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await withTimeout(
      new Promise<void>((resolve, reject) => ch.sendToQueue(queue, body(`${queue}-${i}`), { persistent: true }, (err) => (err ? reject(err) : resolve()))),
      10_000,
      `confirm of ${queue}-${i}`,
    );
    latencies.push(performance.now() - start);
  }
  await ch.close();
  return latencies;
}

/** A consumer on a new durable `queue` that acks each delivery at once (`ack`) or holds it; counts what it got. */
async function startConsumer(queue: string, ack: boolean): Promise<{ received: () => number; stop: () => Promise<void> }> {
  const consumer = await channel(consumerConn);
  await consumer.assertQueue(queue, { durable: true });
  let received = 0;
  await consumer.consume(queue, (msg) => {
    if (msg === null) return; // cancelled by the broker
    received++;
    if (ack) consumer.ack(msg);
  });
  return { received: () => received, stop: () => consumer.close() };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

it('messages a consumer acks within the wait are never written and are confirmed at the ack, long before the wait is over', async () => {
  const consumer = await startConsumer('ack-wait-consumed', true);
  const before = await committedOperations();
  const latencies = await publishConfirmed('ack-wait-consumed', 40);
  assert.equal(consumer.received(), 40);
  const written = (await committedOperations()) - before;
  // written and then deleted, each would cost two operations
  assert.ok(written < 20, `${written} store operations for 40 messages acked in time`);
  assert.ok(median(latencies) < WAIT_MS / 2, `median confirm latency ${median(latencies).toFixed(1)} ms`);
  await consumer.stop();
});

it('what else waits for the commit (here tx.commit-ok, with @cloudamqp/amqp-client) waits no longer once every insert was acked', async () => {
  const consumer = await startConsumer('ack-wait-tx', true);
  const { AMQPClient } = loadAmqpClient();
  const client = new AMQPClient(app.amqpUrl);
  await client.connect();
  try {
    const ch = await client.channel();
    await ch.txSelect();
    const latencies: number[] = [];
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3; i++) await ch.basicPublish('', 'ack-wait-tx', `tx-${round}-${i}`, { deliveryMode: 2 });
      const start = performance.now();
      await withTimeout(ch.txCommit(), 10_000, 'tx.commit-ok');
      latencies.push(performance.now() - start);
    }
    assert.ok(median(latencies) < WAIT_MS / 2, `median tx.commit latency ${median(latencies).toFixed(1)} ms`);
  } finally {
    await client.close();
  }
  assert.equal(consumer.received(), 30);
  await consumer.stop();
});

it('messages nobody consumes are written at once: their confirms do not wait', async () => {
  const ch = await channel(consumerConn);
  await ch.assertQueue('ack-wait-idle', { durable: true });
  const before = await committedOperations();
  const latencies = await publishConfirmed('ack-wait-idle', 20);
  assert.ok((await committedOperations()) - before >= 20, 'each was written');
  assert.ok(median(latencies) < WAIT_MS / 2, `median confirm latency ${median(latencies).toFixed(1)} ms`);
  assert.equal((await ch.checkQueue('ack-wait-idle')).messageCount, 20);
  await ch.deleteQueue('ack-wait-idle');
  await ch.close();
});

it('messages a consumer holds without acking are written once the wait is over; when waits spare nothing, they stop', async () => {
  const consumer = await startConsumer('ack-wait-held', false);
  const latencies = await publishConfirmed('ack-wait-held', 10);
  assert.equal(consumer.received(), 10);
  const first = latencies[0]!;
  assert.ok(first >= WAIT_MS * 0.9 && first < WAIT_MS + 2000, `first confirm after ${first.toFixed(0)} ms: it waited`);
  const waited = latencies.filter((latency) => latency >= WAIT_MS * 0.9).length;
  assert.ok(waited < 8, `${waited} of 10 confirms waited for acks that never came`);
  for (const latency of latencies.slice(-2)) assert.ok(latency < WAIT_MS / 2, `a late confirm took ${latency.toFixed(0)} ms`);
  await consumer.stop(); // requeues them: they are on disk, the queue still has them
  const ch = await channel(consumerConn);
  assert.equal((await ch.checkQueue('ack-wait-held')).messageCount, 10);
  await ch.deleteQueue('ack-wait-held');
  await ch.close();
});
