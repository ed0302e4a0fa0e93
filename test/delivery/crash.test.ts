/** kill -9 while deliveries are in flight: after a restart every accepted UUID arrives. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { freePort } from '../support/app-harness';
import { startBrokerProcess } from '../support/broker-process';
import { HttpSink, postJson } from '../support/http-sink';
import { tempDir } from '../support/temp-dir';

test('kill -9 with 300 deliveries accepted and in flight to a slow sink: after the restart every accepted UUID arrives', async (t) => {
  const dir = tempDir();
  const sink = await HttpSink.start();
  sink.behaviour = () => ({ status: 200, delayMs: 300 });
  try {
    const dispatchPort = await freePort();
    const env = {
      DATA_DIR: dir.path,
      DISPATCH_PORT: String(dispatchPort),
      AMQP_PORT: String(await freePort()),
      JOBS_PORT: String(await freePort()),
      MANAGEMENT_PORT: String(await freePort()),
      BIND_HOST: '127.0.0.1',
      STORE_SYNC: 'full',
      DISPATCH_HOST_CONCURRENCY: '32',
      // the sink is on loopback
      DISPATCH_ALLOW_LOOPBACK: 'true',
    };
    let proc = await startBrokerProcess(env);
    const accepted: string[] = [];
    const ids = Array.from({ length: 300 }, () => randomUUID());
    for (let from = 0; from < ids.length; from += 50) {
      const answers = await Promise.all(
        ids.slice(from, from + 50).map((uuid) => postJson(`http://127.0.0.1:${dispatchPort}/`, { UUID: uuid, Url: sink.url(`/crash/${uuid}`), Method: 'POST', Body: uuid })),
      );
      answers.forEach((answer, i) => {
        if (answer.status === 202) accepted.push(ids[from + i]!);
      });
    }
    assert.equal(accepted.length, 300, 'all accepted');
    await sink.waitFor(() => sink.to('/crash/').length >= 40, 10_000, 'deliveries under way');
    const exited = proc.exited;
    proc.child.kill('SIGKILL');
    await exited;
    const beforeRestart = new Set(sink.to('/crash/').map((r) => r.body.toString()));
    assert.ok(beforeRestart.size < 300, `the kill came while deliveries were in flight (${beforeRestart.size} arrived)`);

    proc = await startBrokerProcess(env);
    try {
      await sink.waitFor(() => new Set(sink.to('/crash/').map((r) => r.body.toString())).size >= 300, 30_000, 'every accepted UUID after the restart');
      const arrived = new Set(sink.to('/crash/').map((r) => r.body.toString()));
      const lost = accepted.filter((uuid) => !arrived.has(uuid));
      assert.deepEqual(lost, [], `${lost.length} accepted deliveries never arrived`);
      const duplicates = sink.to('/crash/').length - arrived.size;
      t.diagnostic(`${beforeRestart.size} arrived before the kill; ${duplicates} duplicates (at least once: in flight at the kill)`);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  } finally {
    await sink.close();
    dir.cleanup();
  }
});
