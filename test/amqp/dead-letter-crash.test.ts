/**
 * kill -9 of the broker process while messages are being dead-lettered: every message is, after
 * the restart, either still in its source queue or in the dead-letter queue, exactly once, because
 * a dead-lettered copy is written in the store transaction that deletes the original.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { startBrokerProcess, BrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';
import { body, channel, closeQuietly, confirmChannel, connect, drain, freePort, withTimeout } from '../support/amqp-e2e';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startProcess(dataDir: string): Promise<{ proc: BrokerProcess; url: string }> {
  const port = await freePort();
  const proc = await startBrokerProcess({ DATA_DIR: dataDir, AMQP_PORT: String(port), JOBS_PORT: '0', DISPATCH_PORT: '0', MANAGEMENT_PORT: '0', BIND_HOST: '127.0.0.1', STORE_SYNC: 'full' });
  cleanups.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  });
  return { proc, url: `amqp://guest:guest@127.0.0.1:${port}` };
}

it('kill -9 while rejected messages are dead-lettered: none lost, none twice', async () => {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  const total = 3000;
  const first = await startProcess(dir.path);
  const conn = await connect(first.url);
  const setup = await confirmChannel(conn);
  await setup.assertQueue('crash-dlq', { durable: true });
  await setup.assertQueue('crash-src', { durable: true, deadLetterExchange: '', deadLetterRoutingKey: 'crash-dlq' });
  for (let i = 0; i < total; i++) setup.sendToQueue('crash-src', body(`m${i}`), { persistent: true });
  await setup.waitForConfirms();

  // a consumer rejects everything; the broker dies in the middle of it
  const rejecter = await channel(conn);
  await rejecter.prefetch(200);
  let rejected = 0;
  const killed = new Promise<void>((resolve) => {
    void rejecter.consume('crash-src', (m) => {
      if (m === null) return;
      rejecter.nack(m, false, false);
      if (++rejected === Math.floor(total / 2)) {
        first.proc.child.kill('SIGKILL');
        resolve();
      }
    });
  });
  await withTimeout(killed, 60_000, 'half rejected before the kill');
  await first.proc.exited;
  await closeQuietly(conn, 2000);

  const second = await startProcess(dir.path);
  const conn2 = await connect(second.url);
  try {
    const ch = await channel(conn2);
    const left = await drain(ch, 'crash-src');
    const dead = await drain(ch, 'crash-dlq');
    const all = [...left, ...dead];
    assert.equal(new Set(all).size, all.length, `no message twice (${left.length} left, ${dead.length} dead-lettered)`);
    assert.deepEqual([...all].sort(), Array.from({ length: total }, (_, i) => `m${i}`).sort(), 'every message is somewhere');
    assert.ok(dead.length > 0 && left.length > 0, `the kill happened mid-way (${dead.length} dead-lettered)`);
  } finally {
    await closeQuietly(conn2);
  }
});
