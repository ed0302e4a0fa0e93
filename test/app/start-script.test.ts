/**
 * scripts/start-broker.sh, what `npm start` and the container image run. The broker it starts is
 * the process it was started as (exec: signals and kill -9 of that id reach the broker itself);
 * glibc's malloc is asked for transparent huge pages unless the caller set GLIBC_TUNABLES, which is
 * then kept as given (empty too); and the broker it starts serves real clients: 1 MB persistent
 * messages confirmed over amqplib come back whole after a kill -9 and a restart through the script.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { after, test } from 'node:test';
import { closeQuietly, confirmChannel, connect, freePort, getOne } from '../support/amqp-e2e';
import { BrokerProcess, startAmqpBrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const startThroughScript = (dataDir: string, amqpPort: number, env: Record<string, string> = {}): Promise<BrokerProcess> =>
  startAmqpBrokerProcess(dataDir, amqpPort, cleanups, env, { startScript: true });

/** The environment the process runs with, as the kernel has it. */
function environmentOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((entry) => entry !== '');
  return new Map(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

function commandLineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex');

test('the script execs the broker with malloc on huge pages; confirmed 1 MB messages survive kill -9 of that process', async (t) => {
  const dir = tempDir();
  t.after(() => dir.cleanup());
  const port = await freePort();
  let proc = await startThroughScript(dir.path, port);
  const pid = proc.child.pid!;
  assert.equal(environmentOf(pid).get('GLIBC_TUNABLES'), 'glibc.malloc.hugetlb=1');
  const argv = commandLineOf(pid);
  assert.match(argv[0]!, /node/, `the process is node itself, not a shell around it: ${argv.join(' ')}`);
  assert.ok(argv.some((arg) => arg.endsWith('dist/apps/broker/src/main.js')), argv.join(' '));

  const bodies = Array.from({ length: 12 }, (_, i) => Buffer.alloc(1024 * 1024, i + 1));
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  let conn = await connect(url);
  const ch = await confirmChannel(conn);
  await ch.assertQueue('big', { durable: true });
  for (const [i, body] of bodies.entries()) ch.sendToQueue('big', body, { persistent: true, messageId: String(i) });
  await ch.waitForConfirms();
  await closeQuietly(conn);

  proc.child.kill('SIGKILL');
  assert.equal(await proc.exited, null);
  assert.equal(proc.child.signalCode, 'SIGKILL');
  assert.equal(await accepts(port), false, 'nothing listens once the process the script started is killed');

  proc = await startThroughScript(dir.path, port);
  conn = await connect(url);
  try {
    const got = await conn.createChannel();
    for (const [i, body] of bodies.entries()) {
      const message = await getOne(got, 'big', { noAck: true });
      assert.equal(message.properties.messageId, String(i));
      assert.equal(sha1(message.content), sha1(body), `message ${i} came back whole`);
    }
    assert.equal(await got.get('big'), false);
  } finally {
    await closeQuietly(conn);
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
});

test('a GLIBC_TUNABLES the caller sets is kept as given, empty (glibc defaults) or not', async (t) => {
  for (const given of ['', 'glibc.malloc.arena_max=2']) {
    const dir = tempDir();
    t.after(() => dir.cleanup());
    const port = await freePort();
    const proc = await startThroughScript(dir.path, port, { GLIBC_TUNABLES: given });
    assert.equal(environmentOf(proc.child.pid!).get('GLIBC_TUNABLES'), given);
    assert.equal(await accepts(port), true);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, `a SIGTERM to the process the script started stops the broker cleanly (GLIBC_TUNABLES='${given}')`);
  }
});
