/**
 * With DISPATCH_AUTH=true an AMQP publish to amq.dispatch is held to the rule of the HTTP intake:
 * its publisher (the user_id the AMQP door vouches for) must be allowed to write to the
 * destination's host. A refused one is confirmed (stored), never sent, and dead at once with
 * the refusal as its reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { HttpSink } from '../support/http-sink';

let app: TestApp;
let sink: HttpSink;

before(async () => {
  sink = await HttpSink.start();
  app = await startTestApp({ DISPATCH_AUTH: 'true', DISPATCH_ALLOW_LOOPBACK: 'true' });
  const users = app.broker.users;
  // may publish to the delivery exchange and deliver to 127.0.0.1
  users.put('hooks', { password: 'h00ks' }, []);
  users.setPermission({ user: 'hooks', vhost: '/', configure: '', write: '^(amq\\.dispatch|127\\.0\\.0\\.1)$', read: '' });
  // may publish to the delivery exchange, but deliver to hooks.example.com only
  users.put('limited', { password: 'l1m' }, []);
  users.setPermission({ user: 'limited', vhost: '/', configure: '', write: '^(amq\\.dispatch|hooks\\.example\\.com)$', read: '' });
});
after(async () => {
  await app?.close();
  await sink?.close();
});

/** A lookup as guest (the door asks for credentials for lookups too). */
async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const amqpUrl = (user: string, password: string): string => `amqp://${user}:${password}@127.0.0.1:${app.amqpPort}`;

/** Publishes one delivery with confirms as `user`; resolves once confirmed (rejects on a nack or a channel error). */
async function publish(user: string, password: string, messageId: string, path: string, userId?: string): Promise<void> {
  const connection = await amqp.connect(amqpUrl(user, password));
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<never>((_resolve, reject) => channel.on('error', reject));
    const options = { persistent: true, messageId, headers: { 'x-dispatch-url': sink.url(path) }, ...(userId !== undefined ? { userId } : {}) };
    await Promise.race([
      new Promise<void>((resolve, reject) => channel.publish('amq.dispatch', '', Buffer.from('payload'), options, (error) => (error ? reject(error) : resolve()))),
      closed,
    ]);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function finalState(uuid: string): Promise<Record<string, unknown>> {
  for (let tries = 0; tries < 200; tries++) {
    const shown = await getJson(`${app.dispatchUrl}/deliveries/${uuid}`);
    if (shown.status === 200 && (shown.json.state === 'dead' || shown.json.state === 'delivered')) return shown.json;
    await sleep(25);
  }
  return (await getJson(`${app.dispatchUrl}/deliveries/${uuid}`)).json;
}

test('a publisher allowed to write to the destination host is delivered (user_id names it)', async () => {
  await publish('hooks', 'h00ks', 'amqp-allowed', '/amqp-allowed', 'hooks');
  const shown = await finalState('amqp-allowed');
  assert.equal(shown.state, 'delivered', JSON.stringify(shown));
  assert.equal(sink.to('/amqp-allowed').length, 1);
});

test('a publisher whose write permission does not match the destination: confirmed, never sent, dead with the refusal', async () => {
  await publish('limited', 'l1m', 'amqp-refused', '/amqp-refused', 'limited');
  const shown = await finalState('amqp-refused');
  assert.equal(shown.state, 'dead', JSON.stringify(shown));
  assert.deepEqual(shown.attempts, [], 'no attempt was made');
  assert.equal(shown.dead_reason, "refused: write access to destination '127.0.0.1' in vhost '/' refused for user 'limited'");
  await sleep(200);
  assert.equal(sink.to('/amqp-refused').length, 0, 'nothing reached the destination');
});

test('without user_id a publish has no requester and is refused; a forged user_id closes the channel (406)', async () => {
  await publish('hooks', 'h00ks', 'amqp-anonymous', '/amqp-anonymous');
  const shown = await finalState('amqp-anonymous');
  assert.equal(shown.state, 'dead', JSON.stringify(shown));
  assert.match(String(shown.dead_reason), /user_id/);
  await assert.rejects(publish('limited', 'l1m', 'amqp-forged', '/amqp-forged', 'hooks'), /PRECONDITION_FAILED|406/);
  await sleep(200);
  assert.equal(sink.to('/amqp-anonymous').length + sink.to('/amqp-forged').length, 0);
  assert.equal((await getJson(`${app.dispatchUrl}/deliveries/amqp-forged`)).status, 404, 'the forged publish stored nothing');
});

test('a permission taken away stops a pending delivery; a replay by an allowed user sends it on that user\'s behalf', async () => {
  const auth = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json' });
  app.broker.users.setPermission({ user: 'limited', vhost: '/', configure: '', write: '^(amq\\.dispatch|hooks\\.example\\.com|127\\.0\\.0\\.1)$', read: '' });
  sink.behaviour = (request) => (request.url === '/revoked' ? { status: 503 } : { status: 200 });
  try {
    const accepted = await fetch(`${app.dispatchUrl}/`, { method: 'POST', headers: auth('limited', 'l1m'), body: JSON.stringify({ UUID: 'http-revoked', Url: sink.url('/revoked') }) });
    assert.equal(accepted.status, 202);
    await sink.waitFor(() => sink.to('/revoked').length === 1);
    app.broker.users.setPermission({ user: 'limited', vhost: '/', configure: '', write: '^(amq\\.dispatch|hooks\\.example\\.com)$', read: '' });
    const shown = await (async () => {
      for (let tries = 0; tries < 200; tries++) {
        const json = (await getJson(`${app.dispatchUrl}/deliveries/http-revoked`)).json;
        if (json.state === 'dead') return json;
        await sleep(50);
      }
      return (await getJson(`${app.dispatchUrl}/deliveries/http-revoked`)).json;
    })();
    // the retry after 2 s was refused, not sent
    assert.equal(shown.state, 'dead', JSON.stringify(shown));
    assert.match(String(shown.dead_reason), /refused for user 'limited'/);
    assert.equal(sink.to('/revoked').length, 1);
    sink.behaviour = () => ({ status: 200 });
    const replayed = await fetch(`${app.dispatchUrl}/deliveries/http-revoked/replay`, { method: 'POST', headers: auth('hooks', 'h00ks') });
    assert.equal(replayed.status, 200);
    await sink.waitFor(() => sink.to('/revoked').length === 2);
  } finally {
    sink.behaviour = () => ({ status: 200 });
  }
});
