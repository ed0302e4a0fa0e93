/**
 * Grafana dashboards' queries against a real Prometheus (Debian's prometheus) scraping a running
 * broker: after a known workload (AMQP publishes and acks, jobs scheduled and received, a
 * delivery) every panel's every query returns data, for our shipped dashboard and for RabbitMQ's
 * own Overview dashboard (all of its targets, the message size distribution and the Nodes
 * table's uptime included). Skipped when /usr/bin/prometheus is not installed.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import amqp from 'amqplib';
import { freePort, sleep, startTestApp } from '../support/app-harness';
import { HttpSink, postJson } from '../support/http-sink';
import { RABBITMQ_OVERVIEW_QUERIES } from '../support/rabbitmq-overview-queries';
import { tempDir } from '../support/temp-dir';

const PROMETHEUS = '/usr/bin/prometheus';
const DASHBOARD = join(__dirname, '..', '..', '..', 'deploy', 'grafana', 'dashboards', 'unified-broker.json');

interface Panel {
  title: string;
  targets: { expr: string }[];
}

test('every panel of deploy/grafana/dashboards/unified-broker.json and of RabbitMQ\'s Overview dashboard returns data from a real Prometheus', { skip: existsSync(PROMETHEUS) ? false : 'prometheus is not installed' }, async () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const app = await startTestApp({ DISPATCH_RETRY_BASE_MS: '200', DISPATCH_ALLOW_LOOPBACK: 'true' });
  const sink = await HttpSink.start();
  const dir = tempDir();
  let prometheus: ChildProcess | undefined;
  try {
    const promPort = await freePort();
    writeFileSync(
      join(dir.path, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: broker\n    static_configs:\n      - targets: ["127.0.0.1:${new URL(app.managementUrl).port}"]\n`,
    );
    prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir.path, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir.path, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });

    // the known workload, kept going while Prometheus scrapes
    const conn = await amqp.connect(app.amqpUrl);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('dash-q', { durable: true });
    await ch.consume('dash-q', (m) => m && ch.ack(m));
    const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
    const workloadStart = Date.now();
    const deadline = workloadStart + 8000;
    let n = 0;
    while (Date.now() < deadline) {
      for (let i = 0; i < 20; i++) ch.sendToQueue('dash-q', Buffer.from(`m${n++}`), { persistent: true });
      await ch.waitForConfirms();
      await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: 'dash job', lane: 'dash-lane' }) });
      await (await fetch(`${jobs}/receive_noblock`, { method: 'POST', body: JSON.stringify({ lane: 'dash-lane' }) })).text();
      await postJson(`${app.dispatchUrl}/`, { Url: sink.url('/dash'), Method: 'POST', Body: 'x' });
      await sleep(200);
    }
    await conn.close();
    // Every query is evaluated at the workload's end, not at whatever later moment it is sent: on
    // a loaded machine the last panels were queried more than a rate window after the workload.
    const evaluatedAt = (Date.now() / 1000).toFixed(3);
    await sleep(1500); // the scrape covering that moment has landed

    /** The series of an instant query that carry a real number (NaN from an empty histogram is no data). */
    const range = `${Math.ceil((Date.now() - workloadStart) / 1000)}s`;
    const query = async (expr: string, at = evaluatedAt): Promise<unknown[]> => {
      const filled = expr.replace(/\$__rate_interval/g, '5s').replace(/\$__range/g, range);
      const url = `http://127.0.0.1:${promPort}/api/v1/query?time=${at}&query=${encodeURIComponent(filled)}`;
      const response = await fetch(url);
      const body = (await response.json()) as { status: string; data?: { result: { value: [number, string] }[] }; error?: string };
      assert.equal(body.status, 'success', `${expr}: ${body.error ?? ''}`);
      return body.data!.result.filter((series) => Number.isFinite(Number(series.value[1])));
    };
    for (let tries = 0; tries < 40 && (await query('up', (Date.now() / 1000).toFixed(3))).length === 0; tries++) await sleep(250);
    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) if ((await query(target.expr)).length === 0) empty.push(`${panel.title}: ${target.expr}`);
    }
    assert.deepEqual(empty, [], 'queries without data');

    // RabbitMQ's Overview dashboard, its variables filled in as Grafana fills them: the cluster
    // from rabbitmq_identity_info's label values, no namespace label (so namespace="")
    const clusters = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/label/rabbitmq_cluster/values?match[]=${encodeURIComponent('rabbitmq_identity_info{namespace=""}')}`)).json()) as { data: string[] };
    assert.equal(clusters.data.length, 1, 'one cluster to choose from');
    const answered: string[] = [];
    const unanswered: string[] = [];
    for (const { panel, expr } of RABBITMQ_OVERVIEW_QUERIES) {
      const filled = expr.replace(/\$rabbitmq_cluster/g, clusters.data[0]!).replace(/\$namespace/g, '');
      ((await query(filled)).length > 0 ? answered : unanswered).push(panel);
    }
    assert.deepEqual(unanswered, [], `RabbitMQ-Overview: ${answered.length}/${RABBITMQ_OVERVIEW_QUERIES.length} targets with data`);
    assert.equal(answered.length, 49, 'every target of the dashboard was asked');
  } finally {
    prometheus?.kill('SIGTERM');
    await sink.close();
    await app.close();
    dir.cleanup();
  }
});
