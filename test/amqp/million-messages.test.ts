/**
 * Memory bounds of the broker process with a million messages waiting on a timer: a million
 * delayed messages (on an x-delayed-message exchange) and a million expiring ones (x-message-ttl).
 * The broker's RSS is read from /proc and printed; the bound asserted is generous (what an
 * unbounded design, a whole message in memory each, would break), the figure is the point.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import type { Channel } from 'amqplib';
import { eventually } from '../support/app-harness';
import { collectGarbage, startBrokerProcess, BrokerProcess } from '../support/broker-process';
import { tempDir } from '../support/temp-dir';
import { channel, closeQuietly, Collector, connect, freePort } from '../support/amqp-e2e';

const MILLION = 1_000_000;
/** What a million messages may add to the broker's RSS at most (an unbounded store would need well over 1 GiB; RSS also holds GC slack, so it varies). */
const RSS_BOUND_MB = 900;
/** What a million delayed messages may add to the live V8 heap, after a full collection, at most (whole messages in memory would need about 600 MB). */
const HEAP_BOUND_MB = 300;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startProcess(): Promise<{ proc: BrokerProcess; url: string; managementUrl: string }> {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  const [port, management] = [await freePort(), await freePort()];
  const proc = await startBrokerProcess({ DATA_DIR: dir.path, AMQP_PORT: String(port), JOBS_PORT: '0', DISPATCH_PORT: '0', MANAGEMENT_PORT: String(management), BIND_HOST: '127.0.0.1' }, { gcOnSignal: true });
  cleanups.push(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  });
  return { proc, url: `amqp://guest:guest@127.0.0.1:${port}`, managementUrl: `http://127.0.0.1:${management}` };
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { rss: Math.round(field('VmRSS')), peak: Math.round(field('VmHWM')) };
}

/** Publishes `count` small messages as fast as the socket takes them. */
async function publishMany(ch: Channel, count: number, publish: (i: number) => boolean): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (!publish(i)) await new Promise((resolve) => ch.once('drain', resolve));
  }
}

/** The broker's live V8 heap, from its Prometheus metrics. */
async function heapUsedMb(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).text();
  return Math.round(Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)![1]) / 1048576);
}

const managementJson = async (base: string, path: string): Promise<Record<string, unknown>> =>
  (await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).json() as Promise<Record<string, unknown>>;

it('a million delayed messages keep the broker within its memory bound, and paged ones are released in due order', async () => {
  const { proc, url, managementUrl } = await startProcess();
  const before = rssMb(proc.child.pid!);
  const conn = await connect(url);
  try {
    const ch = await channel(conn);
    await ch.assertExchange('million-delayed', 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'direct' } });
    await ch.assertQueue('million-out', { durable: false });
    await ch.bindQueue('million-out', 'million-delayed', 'k');
    const content = Buffer.from('delayed message!');
    await publishMany(ch, MILLION, (i) => ch.publish('million-delayed', 'k', content, { headers: { 'x-delay': 3_600_000 + i } }));
    await eventually(async () => (await managementJson(managementUrl, '/api/exchanges/%2F/million-delayed')).messages_delayed === MILLION, 120_000, 'all held');
    const held = rssMb(proc.child.pid!);
    // heap used counts garbage the collector has not reached yet, which varies run to run
    await collectGarbage(proc);
    const heap = await heapUsedMb(managementUrl);
    console.log(`# RSS with ${MILLION} delayed messages: ${held.rss} MB (peak ${held.peak} MB; ${before.rss} MB at start); V8 heap used ${heap} MB`);
    assert.ok(held.rss - before.rss < RSS_BOUND_MB, `RSS grew by ${held.rss - before.rss} MB`);
    assert.ok(heap < HEAP_BOUND_MB, `V8 heap used ${heap} MB`);

    // far beyond the resident limit, so most are read back from the store when due
    const soon = 50_000;
    await ch.assertExchange('soon-delayed', 'x-delayed-message', { durable: false, arguments: { 'x-delayed-type': 'fanout' } });
    await ch.assertQueue('soon-out', { durable: false });
    await ch.bindQueue('soon-out', 'soon-delayed', '');
    const collector = await Collector.start(ch, 'soon-out', { noAck: true });
    // three delays interleaved in publish order; the gaps between them exceed the publishing time
    const delays = [9000, 6000, 3000];
    const start = Date.now();
    await publishMany(ch, soon, (i) => ch.publish('soon-delayed', '', Buffer.from(String(i)), { headers: { 'x-delay': delays[i % 3]! } }));
    assert.ok(Date.now() - start < 2900, `published within the gap (${Date.now() - start} ms)`);
    await collector.waitFor(soon, 60_000);
    const released = collector.bodies().map(Number);
    const byDelay = [2, 1, 0].flatMap((group) => Array.from({ length: soon }, (_, i) => i).filter((i) => i % 3 === group));
    assert.deepEqual(released, byDelay, 'shortest delay first; within one delay, in publish order');
  } finally {
    await closeQuietly(conn);
  }
});

it('a million expiring messages stay within the memory bound and all expire', async () => {
  const { proc, url } = await startProcess();
  const before = rssMb(proc.child.pid!);
  const conn = await connect(url);
  try {
    const ch = await channel(conn);
    await ch.assertQueue('million-ttl', { durable: false, messageTtl: 20_000 });
    const content = Buffer.from('expiring message');
    await publishMany(ch, MILLION, () => ch.sendToQueue('million-ttl', content));
    await eventually(async () => (await ch.checkQueue('million-ttl')).messageCount >= MILLION * 0.5, 60_000, 'most are in');
    const held = rssMb(proc.child.pid!);
    console.log(`# RSS with up to ${MILLION} expiring messages: ${held.rss} MB (peak ${held.peak} MB; ${before.rss} MB at start)`);
    assert.ok(held.peak - before.rss < RSS_BOUND_MB, `RSS peaked ${held.peak - before.rss} MB above the start`);
    await eventually(async () => (await ch.checkQueue('million-ttl')).messageCount === 0, 120_000, 'all expired');
  } finally {
    await closeQuietly(conn);
  }
});
