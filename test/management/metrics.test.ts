/**
 * Prometheus metrics in rabbitmq_prometheus's families after a known AMQP workload: aggregated on
 * /metrics, per queue on /metrics/per-object; our own families pass `promtool check metrics` when
 * promtool is installed (Debian package prometheus).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { eventually, startTestApp, TestApp } from '../support/app-harness';

let app: TestApp;
let conn: amqp.ChannelModel;

before(async () => {
  app = await startTestApp();
  conn = await amqp.connect(app.amqpUrl);
  const ch = await conn.createConfirmChannel();
  await ch.prefetch(5);
  await ch.assertQueue('metrics-mq', { durable: true });
  for (let i = 0; i < 5; i++) ch.sendToQueue('metrics-mq', Buffer.alloc(100, 1), { persistent: true });
  ch.publish('amq.direct', 'nowhere', Buffer.from('x'), { mandatory: true });
  await ch.waitForConfirms();
  await ch.consume('metrics-mq', () => undefined);
  const get = await conn.createChannel();
  await get.get('metrics-mq');
  await eventually(async () => (await scrape('/metrics')).includes('rabbitmq_global_messages_delivered_consume_manual_ack_total{protocol="amqp091",queue_type="rabbit_classic_queue"} 5'), 5000, 'five deliveries');
});

after(async () => {
  await conn?.close();
  await app?.close();
});

async function scrape(path: string): Promise<string> {
  return (await fetch(`${app.managementUrl}${path}`)).text();
}

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('/metrics: rabbitmq_prometheus families, aggregated, with the workload\'s counts', async () => {
  const text = await scrape('/metrics');
  const expect: [string, number][] = [
    ['rabbitmq_connections', 1],
    ['rabbitmq_channels', 2],
    ['rabbitmq_consumers', 2], // ours and the delivery door's worker
    ['rabbitmq_global_messages_received_total{protocol="amqp091"}', 6],
    ['rabbitmq_global_messages_received_confirm_total{protocol="amqp091"}', 6],
    ['rabbitmq_global_messages_confirmed_total{protocol="amqp091"}', 6],
    ['rabbitmq_global_messages_routed_total{protocol="amqp091"}', 5],
    ['rabbitmq_global_messages_unroutable_returned_total{protocol="amqp091"}', 1],
    ['rabbitmq_global_messages_unroutable_dropped_total{protocol="amqp091"}', 0],
    ['rabbitmq_global_messages_delivered_total{protocol="amqp091",queue_type="rabbit_classic_queue"}', 5],
    ['rabbitmq_global_messages_delivered_consume_manual_ack_total{protocol="amqp091",queue_type="rabbit_classic_queue"}', 5],
    ['rabbitmq_global_messages_get_empty_total{protocol="amqp091",queue_type="rabbit_classic_queue"}', 1],
    ['rabbitmq_global_messages_acknowledged_total{protocol="amqp091",queue_type="rabbit_classic_queue"}', 0],
    ['rabbitmq_global_publishers{protocol="amqp091"}', 1],
    ['rabbitmq_queue_messages_unacked', 5],
    ['rabbitmq_queue_messages_ready', 0],
    ['rabbitmq_connections_opened_total', 1],
    ['rabbitmq_channels_opened_total', 2],
    ['rabbitmq_message_size_bytes_count{protocol="amqp091"}', 6],
  ];
  for (const [series, expected] of expect) assert.equal(value(text, series), expected, series);
  // RabbitMQ's bounds (the Overview dashboard asks for le="100", "1000", … "+Inf")
  assert.equal(value(text, 'rabbitmq_message_size_bytes_bucket{protocol="amqp091",le="100"}'), 6, 'the 1-byte return and the 100-byte ones, at most 100');
  assert.equal(value(text, 'rabbitmq_message_size_bytes_bucket{protocol="amqp091",le="1000"}'), 6);
  assert.equal(value(text, 'rabbitmq_message_size_bytes_bucket{protocol="amqp091",le="+Inf"}'), 6);
  assert.ok((value(text, 'rabbitmq_erlang_uptime_seconds') ?? -1) >= 0, 'the uptime the dashboard\'s Nodes table shows');
  assert.match(text, /^rabbitmq_identity_info\{rabbitmq_node="[^"]+",rabbitmq_cluster="[^"]+",rabbitmq_cluster_permanent_id="[^"]+"\} 1$/m);
  assert.match(text, /^rabbitmq_build_info\{rabbitmq_version="[^"]+",.*\} 1$/m);
  for (const family of ['rabbitmq_process_resident_memory_bytes', 'rabbitmq_resident_memory_limit_bytes', 'rabbitmq_disk_space_available_limit_bytes', 'rabbitmq_process_open_fds', 'rabbitmq_process_max_fds']) {
    assert.ok((value(text, family) ?? 0) > 0, family);
  }
  assert.ok(value(text, 'rabbitmq_queues')! >= 3, 'our queue and the delivery door\'s two');
  assert.doesNotMatch(text, /^rabbitmq_queue_messages_unacked\{/m, 'aggregated: no per-queue samples on /metrics');
  assert.equal(value(text, 'broker_queue_messages_unacked{vhost="/",queue="metrics-mq"}'), 5, 'our own per-queue family');
  assert.match(text, /^broker_store_commit_seconds_count \d+/m);
  assert.match(text, /^broker_job_lane_queued\{lane="main"\} 0$/m);
});

test('/metrics/per-object and /metrics/detailed: one sample per queue', async () => {
  const text = await scrape('/metrics/per-object');
  assert.equal(value(text, 'rabbitmq_queue_messages_unacked{vhost="/",queue="metrics-mq"}'), 5);
  assert.equal(value(text, 'rabbitmq_queue_consumers{vhost="/",queue="metrics-mq"}'), 1);
  assert.equal(value(text, 'rabbitmq_queue_messages_published_total{vhost="/",queue="metrics-mq"}'), 5);
  const detailed = await scrape('/metrics/detailed?vhost=%2F');
  assert.equal(value(detailed, 'rabbitmq_queue_messages{vhost="/",queue="metrics-mq"}'), 5);
  const elsewhere = await scrape('/metrics/detailed?vhost=nope');
  assert.doesNotMatch(elsewhere, /metrics-mq/);
});

test('promtool check metrics accepts our own families', { skip: existsSync('/usr/bin/promtool') ? false : 'promtool is not installed (Debian package prometheus)' }, async () => {
  const text = await scrape('/metrics');
  const own = text
    .split('\n')
    .filter((line) => /^(# (HELP|TYPE) )?broker_/.test(line))
    .join('\n');
  const child = execFile('/usr/bin/promtool', ['check', 'metrics']);
  const done = promisify((cb: (error: Error | null, out: string) => void) => {
    let out = '';
    child.stdout!.on('data', (c) => (out += c));
    child.stderr!.on('data', (c) => (out += c));
    child.once('exit', (code) => cb(code === 0 ? null : new Error(`promtool exited ${String(code)}: ${out}`), out));
  })();
  child.stdin!.end(`${own}\n`);
  const report = await done;
  assert.equal(report.trim(), '', `promtool found problems: ${report}`);
});

test('/metrics: jobs scheduled and received per lane (duplicates by idempotency key, empty receives and unread answers not counted)', async () => {
  const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${jobs}${path}`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(response.status, 200, path);
    return (await response.json()) as Record<string, unknown>;
  };
  await post('/schedule', { message: 'a', lane: 'counted' });
  await post('/schedule', { message: 'b', lane: 'counted', idempotency_key: 'k1' });
  assert.equal((await post('/schedule', { message: 'b', lane: 'counted', idempotency_key: 'k1' })).duplicate, true);
  await post('/schedule', { message: 'c', lane: 'other-lane' });
  assert.equal((await post('/receive_noblock', { lane: 'counted' })).message, 'a');
  const leased = await post('/receive_block', { lane: 'counted', ack: true, timeout_ms: 60_000, wait_ms: 1000 });
  assert.equal(leased.message, 'b', JSON.stringify(leased));
  await post('/receive_noblock', { lane: 'counted' }); // empty now
  let text = '';
  await eventually(async () => {
    text = await scrape('/metrics');
    return value(text, 'broker_job_lane_received_total{lane="counted"}') === 2;
  }, 5000, 'two jobs received from lane counted');
  assert.equal(value(text, 'broker_job_lane_scheduled_total{lane="counted"}'), 2);
  assert.equal(value(text, 'broker_job_lane_scheduled_total{lane="other-lane"}'), 1);
  assert.equal(value(text, 'broker_job_lane_received_total{lane="other-lane"}'), undefined, 'nothing received there');
});
