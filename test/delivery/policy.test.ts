/**
 * Delivery policies end to end: Dispatcher's backoff in real time, circuit breaking that
 * isolates a dead host, ordering keys under retries, Standard Webhooks signatures, refused
 * destinations, and AMQP publishes that become deliveries.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { freePort, sleep, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { WebhookSigner } from '../../libs/delivery/src/sender/signature';

let sink: HttpSink;
before(async () => {
  sink = await HttpSink.start();
});
after(async () => {
  await sink?.close();
});

/** The sink is on loopback: these apps may call it (egress-guard.test.ts tests the default). */
async function withApp(settings: Record<string, string>, body: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true', ...settings });
  try {
    await body(app);
  } finally {
    await app.close();
  }
}

const post = async (app: TestApp, request: Record<string, unknown>): Promise<string> => {
  const uuid = (request.UUID as string | undefined) ?? randomUUID();
  const answer = await postJson(`${app.dispatchUrl}/`, { UUID: uuid, ...request });
  assert.equal(answer.status, 202, answer.text);
  return uuid;
};

test("Dispatcher's backoff in real time: a sink that drops the first 3 attempts sees gaps of ~2, ~4 and ~8 s", async () => {
  await withApp({}, async (app) => {
    sink.behaviour = (request) => (request.url === '/flaky' && sink.to('/flaky').length <= 3 ? { drop: true } : { status: 200 });
    const uuid = await post(app, { Url: sink.url('/flaky'), Method: 'POST', Body: 'x' });
    await sink.waitFor(() => sink.to('/flaky').length === 4, 20_000, 'the fourth attempt');
    const at = sink.to('/flaky').map((r) => r.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    for (const [i, expected] of [2000, 4000, 8000].entries()) {
      assert.ok(gaps[i]! >= expected - 50 && gaps[i]! <= expected + 700, `gap ${i + 1}: ${gaps[i]} ms, expected about ${expected} ms (all: ${gaps.join(', ')})`);
    }
    await sink.waitFor(() => true);
    const shown = (await getJson(`${app.dispatchUrl}/deliveries/${uuid}`)).json;
    assert.equal(shown.state, 'delivered');
    assert.deepEqual((shown.attempts as { error?: string }[]).map((a) => a.error ?? 'ok'), ['reset', 'reset', 'reset', 'ok']);
  });
});

test('circuit breaking: a dead host pauses after N failures while another host is served at full speed', async () => {
  await withApp({ DISPATCH_RETRY_BASE_MS: '100', DISPATCH_CIRCUIT_THRESHOLD: '3', DISPATCH_CIRCUIT_PROBE_MS: '60000', DISPATCH_WORKERS: '8' }, async (app) => {
    const deadPort = await freePort();
    for (let i = 0; i < 40; i++) await post(app, { Url: `http://127.0.0.1:${deadPort}/dead/${i}` });
    await sleep(500);
    const started = Date.now();
    const healthy = [];
    for (let i = 0; i < 100; i++) healthy.push(await post(app, { Url: sink.url(`/healthy/${i}`) }));
    await sink.waitFor(() => sink.to('/healthy/').length === 100, 5000, 'the healthy host');
    const took = Date.now() - started;
    assert.ok(took < 3000, `100 deliveries to the healthy host took ${took} ms beside a dead one`);
    const metrics = await (await fetch(`${app.managementUrl}/metrics`)).text();
    assert.match(metrics, /broker_delivery_open_circuits 1/);
    const refused = Number(/broker_delivery_attempts_total\{outcome="refused"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(refused < 40, `the open circuit stopped attempts to the dead host (${refused} refused attempts for 40 deliveries)`);
    const pending = (await getJson(`${app.dispatchUrl}/deliveries?state=pending&host=127.0.0.1:${deadPort}&limit=1000`)).json.deliveries as unknown[];
    assert.equal(pending.length, 40, 'the dead host\'s deliveries wait, none is lost');
  });
});

test('an ordering key delivers one at a time in acceptance order, also while the first is retried', async () => {
  await withApp({ DISPATCH_RETRY_BASE_MS: '150', DISPATCH_CIRCUIT_THRESHOLD: '0' }, async (app) => {
    sink.behaviour = (request) => (request.url === '/ordered/1' && sink.to('/ordered/1').length <= 2 ? { status: 503 } : { status: 200, delayMs: 20 });
    for (let i = 1; i <= 5; i++) await post(app, { Url: sink.url(`/ordered/${i}`), OrderingKey: 'account-7', Method: 'POST', Body: String(i) });
    const other = await post(app, { Url: sink.url('/unordered'), Body: 'free' });
    await sink.waitFor(() => sink.to('/ordered/').filter((r) => r.url !== '/ordered/1').length === 4, 10_000, 'the ordered deliveries');
    const sequence = sink.to('/ordered/').map((r) => r.url);
    assert.deepEqual(sequence, ['/ordered/1', '/ordered/1', '/ordered/1', '/ordered/2', '/ordered/3', '/ordered/4', '/ordered/5']);
    const unordered = sink.to('/unordered')[0]!;
    assert.ok(unordered.at < sink.to('/ordered/2')[0]!.at, 'a delivery without the key does not wait for it');
    assert.equal((await getJson(`${app.dispatchUrl}/deliveries/${other}`)).json.state, 'delivered');
  });
});

test('Standard Webhooks signatures: the published test vector, and signed deliveries that verify', async () => {
  const vector = new WebhookSigner('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  assert.equal(vector.sign('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, Buffer.from('{"test": 2432232314}')), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  const secret = `whsec_${Buffer.from('a test secret of 32 bytes length').toString('base64')}`;
  await withApp({ DISPATCH_SIGNING_SECRET: secret }, async (app) => {
    sink.behaviour = () => ({ status: 200 });
    const uuid = await post(app, { Url: sink.url('/signed'), Method: 'POST', Body: '{"event":"paid"}' });
    await sink.waitFor(() => sink.to('/signed').length === 1);
    const got = sink.to('/signed')[0]!;
    assert.equal(got.headers['webhook-id'], uuid);
    const timestamp = Number(got.headers['webhook-timestamp']);
    assert.ok(Math.abs(timestamp - Date.now() / 1000) < 10);
    const verifier = new WebhookSigner(secret);
    assert.equal(got.headers['webhook-signature'], verifier.sign(uuid, timestamp, got.body));
  });
});

test('refused destinations: metadata and link-local always, loopback when asked, deny lists; dead at once', async () => {
  await withApp({ DISPATCH_REFUSE_PRIVATE: 'true', DISPATCH_DENY: 'blocked.example' }, async (app) => {
    const cases = ['http://169.254.169.254/latest/meta-data/', `http://127.0.0.1:${sink.port}/private`, `http://localhost:${sink.port}/private-by-name`, 'http://blocked.example/x', 'http://[::ffff:127.0.0.1]/mapped'];
    const ids = [];
    for (const url of cases) ids.push(await post(app, { Url: url }));
    for (const [i, uuid] of ids.entries()) {
      let shown: Record<string, unknown> = {};
      for (let tries = 0; tries < 100 && shown.state !== 'dead'; tries++) {
        shown = (await getJson(`${app.dispatchUrl}/deliveries/${uuid}`)).json;
        await sleep(30);
      }
      assert.equal(shown.state, 'dead', `${cases[i]}: ${JSON.stringify(shown)}`);
      assert.equal((shown.attempts as { error?: string }[])[0]!.error, 'forbidden-destination');
    }
    assert.equal(sink.to('/private').length + sink.to('/private-by-name').length, 0, 'nothing reached the loopback sink');
  });
  await withApp({}, async (app) => {
    const uuid = await post(app, { Url: 'http://169.254.169.254/latest/meta-data/' });
    await sleep(300);
    assert.equal((await getJson(`${app.dispatchUrl}/deliveries/${uuid}`)).json.state, 'dead', 'metadata addresses are refused by default too');
  });
});

test('an AMQP publish to amq.dispatch becomes a delivery (confirmed once stored)', async () => {
  await withApp({}, async (app) => {
    sink.behaviour = () => ({ status: 200 });
    const connection = await amqp.connect(app.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      await new Promise<void>((resolve, reject) =>
        channel.publish(
          'amq.dispatch',
          '',
          Buffer.from('from amqp'),
          { persistent: true, messageId: 'amqp-delivery-1', headers: { 'x-dispatch-url': sink.url('/from-amqp?x=1'), 'x-dispatch-method': 'PUT', 'x-dispatch-headers': { 'X-Source': 'amqp' } } },
          (error) => (error ? reject(error) : resolve()),
        ),
      );
      await sink.waitFor(() => sink.to('/from-amqp').length === 1);
      const got = sink.to('/from-amqp')[0]!;
      assert.equal(got.method, 'PUT');
      assert.equal(got.url, '/from-amqp?x=1');
      assert.equal(got.body.toString(), 'from amqp');
      assert.equal(got.headers['x-source'], 'amqp');
      await sleep(100);
      assert.equal((await getJson(`${app.dispatchUrl}/deliveries/amqp-delivery-1`)).json.state, 'delivered');
    } finally {
      await connection.close();
    }
  });
});

test('a slow host with a full waiting room: the overflow goes back once, spread at the pace the host answers, not every second; each delivered once', async () => {
  await withApp({ DISPATCH_HOST_CONCURRENCY: '2' }, async (app) => {
    sink.behaviour = (request) => (request.url?.startsWith('/paced/') ? { status: 200, delayMs: 200 } : { status: 200 });
    const total = 60;
    for (let i = 0; i < total; i++) await post(app, { Url: sink.url(`/paced/${i}`), Method: 'POST', Body: String(i) });
    // 2 in flight and 16 waiting in memory: 42 go back to the pending queue at once
    await sink.waitFor(() => new Set(sink.to('/paced/').map((r) => r.url)).size === total, 30_000, 'every paced delivery');
    const urls = sink.to('/paced/').map((r) => r.url);
    assert.equal(urls.length, total, 'each delivered once');
    const metrics = await (await fetch(`${app.managementUrl}/metrics`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).text();
    const deferrals = Number(/^broker_delivery_deferrals_total (\d+)/m.exec(metrics)?.[1]);
    // put back every second until its turn, the overflow went back ~100 times here
    assert.ok(deferrals >= total - 18 && deferrals <= 63, `${deferrals} deferrals for ${total - 18} that found no room`);
  });
});
