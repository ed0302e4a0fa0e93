/**
 * consumer_timeout as RabbitMQ: a delivery left unacknowledged longer than the timeout (the
 * broker's CONSUMER_TIMEOUT_MS, or the queue's x-consumer-timeout) closes its channel with 406
 * and RabbitMQ's text; the deliveries go back to the queue; acking in time keeps the channel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, sleep, startTestApp, TestApp } from '../support/app-harness';
import { body, channel, closeQuietly, connect, getOne, TrackedConnection } from '../support/amqp-e2e';

let app: TestApp;
let conn: TrackedConnection;
before(async () => {
  app = await startTestApp({ CONSUMER_TIMEOUT_MS: '700' });
  conn = await connect(app.amqpUrl);
});
after(async () => {
  await closeQuietly(conn);
  await app?.close();
});

describe('consumer timeout', () => {
  it('closes a channel holding a delivery too long with 406 and requeues it; a channel that acks in time stays open', async () => {
    const setup = await channel(conn);
    await setup.assertQueue('ct-q', { durable: false });
    setup.sendToQueue('ct-q', body('forgotten'));
    const slow = await channel(conn);
    const closed = new Promise<Error>((resolve) => slow.once('error', resolve));
    await slow.consume('ct-q', () => undefined, { noAck: false });
    const error = await closed;
    assert.match(error.message, /406.*delivery acknowledgement on channel \d+ timed out\. Timeout value used: 700 ms/);
    const back = await getOne(setup, 'ct-q');
    assert.equal(back.content.toString(), 'forgotten');
    assert.equal(back.fields.redelivered, true);
    setup.ack(back);

    const prompt = await channel(conn);
    let acked = 0;
    await prompt.consume('ct-q', (m) => {
      if (m) setTimeout(() => (prompt.ack(m), acked++), 100);
    });
    for (let i = 0; i < 10; i++) {
      prompt.sendToQueue('ct-q', body(`ok ${i}`));
      await sleep(150);
    }
    await eventually(() => acked === 10, 3000, 'all acked');
    assert.equal((await prompt.checkQueue('ct-q')).consumerCount, 1, 'the prompt channel is still open after 1.5 s');
  });

  it("x-consumer-timeout overrides the broker's; basic.get deliveries count too", async () => {
    const setup = await channel(conn);
    await setup.assertQueue('ct-quick', { durable: false, arguments: { 'x-consumer-timeout': 200 } });
    await setup.assertQueue('ct-slow', { durable: false, arguments: { 'x-consumer-timeout': 60_000 } });
    setup.sendToQueue('ct-quick', body('q'));
    setup.sendToQueue('ct-slow', body('s'));
    const quick = await channel(conn);
    const closed = new Promise<Error>((resolve) => quick.once('error', resolve));
    await getOne(quick, 'ct-quick');
    assert.match((await closed).message, /406.*Timeout value used: 200 ms/);
    const patient = await channel(conn);
    const held = await getOne(patient, 'ct-slow');
    await sleep(1000);
    assert.equal((await patient.checkQueue('ct-slow')).messageCount, 0, 'still held after the broker default, on an open channel');
    patient.ack(held);
    const bad = await channel(conn);
    await assert.rejects(bad.assertQueue('ct-bad', { arguments: { 'x-consumer-timeout': -1 } }), /406.*x-consumer-timeout/);
  });
});
