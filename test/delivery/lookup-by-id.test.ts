/**
 * Deliveries are found by their id on a dead-letter queue paged to the store, before and after a
 * restart, without reading paged rows back: cancel and replay read at most the entry they act on.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startTestApp } from '../support/app-harness';
import { getJson, HttpSink, postJson, requestJson } from '../support/http-sink';
import { pagedReads } from '../support/paged-reads';
import { tempDir } from '../support/temp-dir';

const dir = tempDir();
let sink: HttpSink;
before(async () => {
  sink = await HttpSink.start();
  sink.behaviour = () => ({ status: 500, body: 'no' });
});
after(async () => {
  await sink.close();
  dir.cleanup();
});

const SETTINGS = { QUEUE_MEMORY_BUDGET_MB: '1', DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_CIRCUIT_THRESHOLD: '0' };
const BODY = 4000;
const DEAD = 400;

test('dead deliveries on a paged queue are replayed and cancelled by id, and again after a restart', async () => {
  let app = await startTestApp(SETTINGS, dir.path);
  try {
    const ids: string[] = [];
    for (let i = 0; i < DEAD; i++) {
      const id = `dead-${i}`;
      ids.push(id);
      const answer = await postJson(`${app.dispatchUrl}/`, { UUID: id, Url: sink.url(`/dead/${i}`), Method: 'POST', Body: `body-${i}-`.padEnd(BODY, '.'), MaxAttempts: 1 });
      assert.equal(answer.status, 202, answer.text);
    }
    const dead = app.broker.addVhost('/').getQueue('dispatch.dead');
    await eventually(() => dead.messageCount === DEAD, 20_000, 'all dead');
    await eventually(() => dead.pagedCount > 0, 5000, 'the dead queue is paged');
    const cancelAndReplay = async (cancel: string, replay: string): Promise<void> => {
      const cancelled = await requestJson(`${app.dispatchUrl}/deliveries/${cancel}`, { method: 'DELETE' });
      assert.equal(cancelled.status, 200, cancelled.text);
      assert.equal((await getJson(`${app.dispatchUrl}/deliveries/${cancel}`)).json.state, 'cancelled');
      const replayed = await requestJson(`${app.dispatchUrl}/deliveries/${replay}/replay`, { method: 'POST' });
      assert.equal(replayed.status, 200, replayed.text);
      await eventually(async () => (await getJson(`${app.dispatchUrl}/deliveries/${replay}`)).json.replays === 1, 5000, `${replay} replayed`);
    };
    assert.equal(await pagedReads(() => cancelAndReplay(ids[DEAD - 1]!, ids[DEAD - 2]!)), 0);
    await app.stop();
    app = await startTestApp(SETTINGS, dir.path);
    const again = app.broker.addVhost('/').getQueue('dispatch.dead');
    assert.ok(again.pagedCount > 0, 'paged after the restart');
    assert.equal(await pagedReads(() => cancelAndReplay(ids[DEAD - 3]!, ids[DEAD - 4]!)), 0);
    assert.equal((await getJson(`${app.dispatchUrl}/deliveries/${ids[DEAD - 1]!}`)).json.state, 'cancelled');
  } finally {
    await app.stop();
  }
});
