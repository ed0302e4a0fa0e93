/**
 * In-process core benchmark: publish -> route through an exchange -> deliver -> ack, no network.
 * Prints msg/s and commit latency percentiles. Not a test: figures, not assertions.
 *
 *   node dist/bench/core/core-bench.js [--messages N] [--size BYTES] [--scenario NAME]
 * Scenarios: transient, persistent (acked in time: nothing written), persistent-backlog (write all,
 * then consume all), backlog-memory (2M persistent 200-byte backlog, RSS), recovery (1M restart).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker, Consumer, Message, QueueEntry, SqliteStore } from '#core';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
};

const SIZE = Number(flag('size', '200'));
const scenario = flag('scenario', 'all');
const sync = flag('sync', 'full') as 'full' | 'normal';

class AckingConsumer implements Consumer {
  readonly tag = 'bench';
  readonly priority = 0;
  readonly exclusive = false;
  readonly autoAck = false;
  count = 0;
  hasCredit(): boolean {
    return true;
  }
  deliver(entry: QueueEntry): void {
    this.count++;
    entry.queue.ack(entry);
  }
  cancelledByQueue(): void {}
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function withBroker<T>(fn: (broker: Broker, dir: string) => Promise<T>, dir?: string): Promise<T> {
  const path = dir ?? mkdtempSync(join(tmpdir(), 'core-bench-'));
  const broker = await Broker.open(await SqliteStore.open({ dataDir: path, sync }), { dataDir: path, queueMemoryBudget: 64 * 1024 * 1024 });
  try {
    return await fn(broker, path);
  } finally {
    await broker.close();
    if (!dir) rmSync(path, { recursive: true, force: true });
  }
}

function setup(broker: Broker, durable: boolean): void {
  const vhost = broker.defaultVhost;
  vhost.declareExchange({ name: 'bench', type: 'direct', durable });
  vhost.declareQueue({ name: 'bench-q', durable });
  vhost.bind('queue', 'bench-q', 'bench', 'k');
}

async function flowing(persistent: boolean, total: number): Promise<void> {
  await withBroker(async (broker) => {
    setup(broker, true);
    const vhost = broker.defaultVhost;
    const consumer = new AckingConsumer();
    vhost.getQueue('bench-q').addConsumer(consumer);
    const body = Buffer.alloc(SIZE, 1);
    const properties = { deliveryMode: persistent ? 2 : 1 };
    const latencies: number[] = [];
    const started = process.hrtime.bigint();
    const chunk = 10_000;
    for (let sent = 0; sent < total; sent += chunk) {
      for (let i = 0; i < chunk; i++) vhost.publish('bench', new Message('bench', 'k', properties, null, body));
      if (persistent) {
        const t0 = process.hrtime.bigint();
        await new Promise<void>((resolve) =>
          broker.onDurable(broker.durabilityToken(), () => {
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            resolve();
          }),
        );
      } else if (sent % 200_000 === 0) await new Promise((r) => setImmediate(r));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    console.log(
      `${persistent ? 'persistent (acked before commit)' : 'transient'}: ${Math.round(total / seconds).toLocaleString()} msg/s` +
        ` (${total.toLocaleString()} x ${SIZE} B through a direct exchange, delivered and acked ${consumer.count.toLocaleString()})` +
        (persistent ? `, commit wait p50 ${percentile(latencies, 50).toFixed(2)} ms p99 ${percentile(latencies, 99).toFixed(2)} ms` : ''),
    );
  });
}

async function persistentBacklog(total: number): Promise<void> {
  await withBroker(async (broker) => {
    setup(broker, true);
    const vhost = broker.defaultVhost;
    const body = Buffer.alloc(SIZE, 2);
    const properties = { deliveryMode: 2 };
    const commitLatencies: number[] = [];
    broker.metrics.onCommit((s) => commitLatencies.push(s * 1000));
    const started = process.hrtime.bigint();
    for (let sent = 0; sent < total; sent += 5_000) {
      for (let i = 0; i < 5_000; i++) vhost.publish('bench', new Message('bench', 'k', properties, null, body));
      // let the writer keep up: yield while it is backlogged
      while (broker.storeBacklogged) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setImmediate(r));
    }
    await broker.whenDurable();
    const written = Number(process.hrtime.bigint() - started) / 1e9;
    const consumer = new AckingConsumer();
    const t1 = process.hrtime.bigint();
    vhost.getQueue('bench-q').addConsumer(consumer);
    while (consumer.count < total) await new Promise((r) => setImmediate(r));
    await broker.whenDurable();
    const consumed = Number(process.hrtime.bigint() - t1) / 1e9;
    commitLatencies.sort((a, b) => a - b);
    console.log(
      `persistent backlog: publish+commit ${Math.round(total / written).toLocaleString()} msg/s, ` +
        `consume+ack+commit ${Math.round(total / consumed).toLocaleString()} msg/s, ` +
        `end to end ${Math.round(total / (written + consumed)).toLocaleString()} msg/s; ` +
        `commit latency p50 ${percentile(commitLatencies, 50).toFixed(2)} ms p99 ${percentile(commitLatencies, 99).toFixed(2)} ms ` +
        `over ${commitLatencies.length} commits (sync=${sync})`,
    );
  });
}

async function backlogMemory(total: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'core-bench-'));
  try {
    await withBroker(async (broker) => {
      setup(broker, true);
      const vhost = broker.defaultVhost;
      const properties = { deliveryMode: 2 };
      let peakRss = 0;
      const started = process.hrtime.bigint();
      for (let sent = 0; sent < total; sent += 5_000) {
        for (let i = 0; i < 5_000; i++) {
          vhost.publish('bench', new Message('bench', 'k', properties, null, Buffer.alloc(SIZE, (sent + i) & 0xff)));
        }
        while (broker.storeBacklogged) await new Promise((r) => setTimeout(r, 1));
        await new Promise((r) => setImmediate(r));
        if (sent % 100_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
      await broker.whenDurable();
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const queue = vhost.getQueue('bench-q');
      console.log(
        `backlog: ${total.toLocaleString()} persistent x ${SIZE} B in ${seconds.toFixed(1)} s ` +
          `(${Math.round(total / seconds).toLocaleString()} msg/s); ready ${queue.messageCount.toLocaleString()}, ` +
          `paged ${queue.pagedCount.toLocaleString()}; peak RSS ${(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1048576).toFixed(0)} MB`,
      );
    }, dir);
    // recovery in a fresh process, so its RSS is its own
    const child = spawnSync(process.execPath, [__filename, '--scenario', 'recovery', '--dir', dir, '--messages', String(total), '--sync', sync], {
      stdio: 'inherit',
    });
    if (child.status !== 0) throw new Error(`recovery run failed with ${child.status}`);
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log('kept', dir);
  }
}

async function recovery(dir: string, total: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  await withBroker(async (broker) => {
    const opened = Number(process.hrtime.bigint() - t0) / 1e9;
    const queue = broker.defaultVhost.getQueue('bench-q');
    console.log(
      `recovery: ${broker.recoveredMessages.toLocaleString()} messages back in ${opened.toFixed(2)} s ` +
        `(recovery itself ${broker.recoverySeconds.toFixed(2)} s); ready ${queue.messageCount.toLocaleString()}, ` +
        `RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`,
    );
    let expected = 0;
    let outOfOrder = 0;
    const consumer = new AckingConsumer();
    consumer.deliver = (entry: QueueEntry): void => {
      if (entry.message.body[0] !== (expected++ & 0xff)) outOfOrder++;
      if (process.env.BENCH_TRACE && expected % 200000 === 0) console.log(expected, process.memoryUsage());
      consumer.count++;
      entry.queue.ack(entry);
    };
    const t1 = process.hrtime.bigint();
    queue.addConsumer(consumer);
    while (consumer.count < total) await new Promise((r) => setImmediate(r));
    await broker.whenDurable();
    const drained = Number(process.hrtime.bigint() - t1) / 1e9;
    console.log(
      `drain after recovery: ${Math.round(total / drained).toLocaleString()} msg/s, ${outOfOrder} out of order, ` +
        `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
  }, dir);
}

async function main(): Promise<void> {
  const run = (name: string): boolean => scenario === 'all' || scenario === name;
  if (run('transient')) await flowing(false, Number(flag('messages', '3000000')));
  if (run('persistent')) await flowing(true, Number(flag('messages', '2000000')));
  if (run('persistent-backlog')) await persistentBacklog(Number(flag('messages', '1000000')));
  if (run('backlog-memory')) await backlogMemory(Number(flag('messages', '2000000')));
  if (scenario === 'recovery') await recovery(flag('dir', ''), Number(flag('messages', '0')));
}

void main();
