/** The AMQP door's session registry, as the management layer will use it: list and close. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { eventually, startTestApp, TestApp } from '../support/app-harness';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app?.close();
});

test('AMQP connections are listed with user, vhost, channels and client properties, and can be closed by id', async () => {
  const conn = await amqp.connect(app.amqpUrl, { clientProperties: { connection_name: 'session-test' } });
  const closed = new Promise<Error | undefined>((resolve) => conn.once('close', resolve));
  conn.on('error', () => undefined);
  const ch = await conn.createConfirmChannel();
  await ch.prefetch(7);
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.consume(queue, () => undefined);

  const session = app.broker.sessions.list().find((s) => s.details.connection_name === 'session-test');
  assert.ok(session, 'the connection is listed');
  assert.equal(session.door, 'amqp');
  assert.equal(session.user, 'guest');
  assert.equal(session.vhost, '/');
  assert.equal(session.state, 'running');
  assert.match(session.peer, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(session.channels, [{ number: 1, consumers: 1, unacknowledged: 0, prefetchCount: 7, confirm: true, transactional: false, publishes: 0 }]);
  const consumers = app.broker.defaultVhost.consumerSnapshots().filter((c) => c.queue === queue);
  assert.equal(consumers[0]?.owner, `${session.id}#1`, 'consumers name the connection and channel holding them');
  assert.equal(consumers[0]?.prefetchCount, 7);

  assert.equal(app.broker.sessions.close('amqp-no-such', 'x'), false);
  assert.equal(app.broker.sessions.close(session.id, 'closed by an operator'), true);
  const error = await closed;
  assert.match(String(error?.message), /320.*CONNECTION_FORCED - closed by an operator/);
  await eventually(() => !app.broker.sessions.list().some((s) => s.id === session.id), 5000, 'the session to leave the list');
});
