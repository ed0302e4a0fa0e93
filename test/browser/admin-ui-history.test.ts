/**
 * Charts over the server's history in headless Chromium: full at login and after a reload (the
 * samples come from the server, not from what the page saw), the x axis is the range picked
 * ending now (seconds since the epoch: no years away), the range selector switches it, and
 * where the server has no samples the line has a gap. Run by `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { eventually, startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

const skip = chromiumMissing;

let app: TestApp;
let browser: Browser;
let page: Page;

interface Overview {
  message_stats: { publish_details: { samples: unknown[] } };
}

before(async () => {
  if (skip) return;
  app = await startTestApp();
  const api = new ManagementClient(app.managementUrl);
  await api.put('/api/queues/%2F/hist-ui-q', { durable: true });
  // traffic while the server takes its 5 s samples, until it holds three
  await eventually(
    async () => {
      await api.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'hist-ui-q', payload: 'x', payload_encoding: 'string', properties: {} });
      return (await api.get<Overview>('/api/overview?msg_rates_age=600&msg_rates_incr=5')).message_stats.publish_details.samples.length >= 3;
    },
    20_000,
    'three samples on the server',
  );
  ({ browser, page } = await openHeadlessPage());
});

after(async () => {
  await browser?.close();
  await app?.close();
});

async function chart(testid: string): Promise<{ points: number; from: number; to: number }> {
  const data = await page.getByTestId(testid).evaluate((el: { dataset: Record<string, string> }) => ({ ...el.dataset }));
  return { points: Number(data.points), from: Number(data.from), to: Number(data.to) };
}

test('the overview charts are full at login and after a reload, on a time axis ending now', { skip }, async () => {
  await page.goto(`${app.managementUrl}/#/overview`);
  await page.getByTestId('login-user').fill('guest');
  await page.getByTestId('login-password').fill('guest');
  await page.getByTestId('login-submit').click();
  await page.locator('[data-testid=depth-chart] .uplot').waitFor();
  // the first refresh after login: every point came from the server
  assert.ok((await chart('depth-chart')).points >= 3, 'depths at login');
  assert.ok((await chart('rates-chart')).points >= 2, 'rates at login (one fewer: a rate needs two samples)');
  const { from, to } = await chart('depth-chart');
  assert.ok(Math.abs(to - Date.now() / 1000) < 30, `the axis ends now, not at ${new Date(to * 1000).toISOString()}`);
  assert.equal(to - from, 600, 'ten minutes by default');

  await page.reload();
  await page.locator('[data-testid=depth-chart] .uplot').waitFor();
  assert.ok((await chart('depth-chart')).points >= 3, 'still full after a reload');
});

test('the range selector switches the charts between 1 min, 10 min and 1 h', { skip }, async () => {
  await page.getByTestId('chart-range').getByRole('button', { name: '1 h' }).click();
  await eventually(async () => {
    const { from, to } = await chart('rates-chart');
    return to - from === 3600;
  }, 5000, 'an hour');
  assert.equal(await page.getByTestId('chart-range').getByRole('button', { name: '1 h' }).getAttribute('aria-pressed'), 'true');
  await page.getByTestId('chart-range').getByRole('button', { name: '1 min' }).click();
  await eventually(async () => {
    const { from, to } = await chart('rates-chart');
    return to - from === 60;
  }, 5000, 'a minute');
});

test('a queue’s page charts its own history once opened', { skip }, async () => {
  await page.goto(`${app.managementUrl}/#/queue/%2F/hist-ui-q`);
  await page.locator('[data-testid=queue-depth-chart] .uplot').waitFor();
  // its history starts when first asked for: the next server sample is its first
  await eventually(async () => (await chart('queue-depth-chart')).points >= 1, 12_000, 'a sample of the queue');
});

test('a lane’s page charts the history of its queue (scheduled and received, ready and leased)', { skip }, async () => {
  const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
  for (let i = 0; i < 3; i++) {
    const scheduled = await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: `job ${i}`, lane: 'hist-lane' }) });
    assert.equal(scheduled.status, 200);
  }
  await page.goto(`${app.managementUrl}/#/lane/hist-lane`);
  await page.locator('[data-testid=lane-depth-chart] .uplot').waitFor();
  await page.locator('[data-testid=lane-rates-chart] .uplot').waitFor();
  // the lane's queue is sampled from the first time its history is asked for: the next server sample is its first
  await eventually(async () => (await chart('lane-depth-chart')).points >= 1, 12_000, 'a sample of the lane');
  const { from, to } = await chart('lane-depth-chart');
  assert.ok(Math.abs(to - Date.now() / 1000) < 30, 'the axis ends now');
  assert.ok(to - from > 0);
});

test('where the server has no samples the line has a gap; counts become per-second rates', { skip }, async () => {
  const columns = await page.evaluate(async (url) => {
    const charts = (await import(url)) as { columnsOf: (series: unknown[], rates: boolean) => (number | null)[][] };
    const at = (s: number) => 1_800_000_000_000 + s * 1000;
    // newest first, as the server sends them; 60 s without samples between 10 s and 70 s
    const counts = [70, 10, 5, 0].map((s) => ({ sample: s * 2, timestamp: at(s) }));
    return { rates: charts.columnsOf([counts], true), depths: charts.columnsOf([counts], false) };
  }, '/ui/charts.js');
  // the range is 1 min (5 s steps) from the previous test
  assert.deepEqual(columns.depths, [
    [1_800_000_000, 1_800_000_005, 1_800_000_010, 1_800_000_040, 1_800_000_070],
    [0, 10, 20, null, 140],
  ]);
  assert.deepEqual(columns.rates, [
    [1_800_000_005, 1_800_000_010, 1_800_000_040],
    [2, 2, null],
  ]);
});
