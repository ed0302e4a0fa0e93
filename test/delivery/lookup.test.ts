/**
 * Lookups by UUID read finished deliveries from the store asynchronously: requests that overlap
 * while the store answers must still see one delivery per UUID.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson } from '../support/http-sink';
import { tempDir } from '../support/temp-dir';

let app: TestApp;
let sink: HttpSink;

before(async () => {
  sink = await HttpSink.start();
  app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' });
});
after(async () => {
  await app?.close();
  await sink?.close();
});

test('the same UUID posted many times at once is accepted once (one 202, the rest 200) and delivered once', async () => {
  const uuid = randomUUID();
  const request = { UUID: uuid, Url: sink.url('/overlapping'), Method: 'POST', Body: 'once' };
  const answers = await Promise.all(Array.from({ length: 20 }, () => postJson(`${app.dispatchUrl}/`, request)));
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [200, ...Array<number>(18).fill(200), 202].sort(),
    answers.map((a) => a.text).join('\n'),
  );
  await sink.waitFor(() => sink.to('/overlapping').length === 1);
  await sleep(300);
  assert.equal(sink.to('/overlapping').length, 1, 'delivered exactly once');
});

test('after a restart, a finished delivery is shown from the store by its UUID; an unknown one is 404', async () => {
  const dir = tempDir();
  let own = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' }, dir.path);
  try {
    const uuid = randomUUID();
    assert.equal((await postJson(`${own.dispatchUrl}/`, { UUID: uuid, Url: sink.url('/finished'), Body: 'x' })).status, 202);
    await sink.waitFor(() => sink.to('/finished').length === 1);
    await sleep(100); // the finished record commits with the ack
    await own.stop();
    own = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true' }, dir.path);
    const shown = await getJson(`${own.dispatchUrl}/deliveries/${uuid}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.state, 'delivered');
    assert.equal((await getJson(`${own.dispatchUrl}/deliveries/${randomUUID()}`)).status, 404);
  } finally {
    await own.close();
    dir.cleanup();
  }
});
