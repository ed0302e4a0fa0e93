/**
 * The admin page under live traffic on all three doors, in headless Chromium: AMQP publishes and
 * consumes, jobs are scheduled and received, deliveries go to a sink that answers and to one that
 * fails (503), so every delivery state is on screen (retrying with its next attempt, dead, the
 * failing host's circuit open). From the page: find the retrying one by state, cancel it from its
 * own page, replay a selected dead one. Every page is drawn at 1440 and 390 px without growing
 * wider than the viewport; screenshots go to test-results/traffic-*.png (not committed).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { sleep, startTestApp, TestApp } from '../support/app-harness';
import { HttpSink, postJson } from '../support/http-sink';

const skip = chromiumMissing;
const SCREENSHOTS = join(__dirname, '..', '..', '..', 'test-results');
const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

let app: TestApp;
let browser: Browser;
let page: Page;
let good: HttpSink;
let bad: HttpSink;
let conn: amqp.ChannelModel;
let running = true;
let traffic: Promise<void> = Promise.resolve();

before(async () => {
  if (skip) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startTestApp({ DISPATCH_ALLOW_LOOPBACK: 'true', DISPATCH_RETRY_BASE_MS: '60000', DISPATCH_CIRCUIT_THRESHOLD: '3', DISPATCH_CIRCUIT_PROBE_MS: '60000' });
  good = await HttpSink.start();
  bad = await HttpSink.start();
  bad.behaviour = () => ({ status: 503, body: 'down for maintenance' });
  // two dead (one attempt allowed), one retrying (a minute until its next attempt)
  for (const [n, attempts] of [[1, 1], [2, 1], [3, 5]] as const) {
    assert.equal((await postJson(`${app.dispatchUrl}/`, { UUID: uuid(n), Url: bad.url(`/d${n}`), Method: 'POST', Body: 'x', MaxAttempts: attempts })).status, 202);
  }
  await bad.waitFor(() => bad.received.length === 3, 10_000, 'three failed attempts');
  conn = await amqp.connect(app.amqpUrl, { clientProperties: { connection_name: 'traffic' } });
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('traffic-q', { durable: true });
  await ch.consume('traffic-q', (m) => m && ch.ack(m));
  const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
  let n = 100;
  // the traffic that keeps going while the pages are looked at
  traffic = (async () => {
    while (running) {
      for (let i = 0; i < 10; i++) ch.sendToQueue('traffic-q', Buffer.alloc(200 + i * 50, 1), { persistent: true });
      await ch.waitForConfirms();
      await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: `job ${n}`, lane: 'traffic-lane' }) });
      if (n % 2 === 0) await (await fetch(`${jobs}/receive_noblock`, { method: 'POST', body: JSON.stringify({ lane: 'traffic-lane' }) })).text();
      await postJson(`${app.dispatchUrl}/`, { Url: good.url(`/ok${n++}`), Method: 'POST', Body: 'x' });
      await sleep(200);
    }
  })();
  ({ browser, page } = await openHeadlessPage());
  await page.goto(`${app.managementUrl}/#/overview`);
  await page.getByTestId('login-user').fill('guest');
  await page.getByTestId('login-password').fill('guest');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('who').filter({ hasText: 'guest' }).waitFor();
});

after(async () => {
  running = false;
  await traffic.catch(() => undefined);
  await conn?.close();
  await browser?.close();
  await app?.close();
  await Promise.all([good?.close(), bad?.close()]);
});

test('deliveries under traffic: states, the retrying one cancelled from its page, a selected dead one replayed', { skip }, async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${app.managementUrl}/#/deliveries`);
  await page.getByTestId('deliveries-retrying').filter({ hasText: /^1$/ }).waitFor();
  await page.getByTestId('deliveries-dead').filter({ hasText: /^2$/ }).waitFor();
  await page.getByTestId(`circuit-${new URL(bad.url()).host}`).getByTestId('circuit-state').filter({ hasText: 'open' }).waitFor();
  await page.getByTestId('delivery-state').selectOption('retrying');
  const retrying = page.getByTestId(`delivery-${uuid(3)}`);
  await retrying.waitFor();
  assert.match(await retrying.innerText(), /retrying[\s\S]*503/);
  await retrying.getByTestId('delivery-link').click();
  await page.getByTestId('delivery-detail-state').filter({ hasText: 'retrying' }).waitFor();
  assert.match(await page.getByTestId('attempts-table').innerText(), /503[\s\S]*down for maintenance/);
  await page.getByTestId('cancel-one').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('delivery-detail-state').filter({ hasText: 'cancelled' }).waitFor();

  await page.goto(`${app.managementUrl}/#/deliveries`);
  await page.getByTestId('delivery-state').selectOption('dead');
  await page.getByTestId(`delivery-${uuid(1)}`).getByTestId('select-delivery').check();
  // the selection survives the 5 s refresh
  await sleep(5500);
  assert.equal(await page.getByTestId(`delivery-${uuid(1)}`).getByTestId('select-delivery').isChecked(), true);
  await page.getByTestId('replay-selected').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('deliveries-dead').filter({ hasText: /^1$/ }).waitFor();
  await page.getByTestId(`delivery-${uuid(2)}`).waitFor();
  assert.equal(await page.getByTestId(`delivery-${uuid(1)}`).count(), 0, 'the replayed one is not dead any more');
});

test('every page under traffic at 1440 and 390 px: no page wider than the viewport; screenshots', { skip }, async () => {
  const pages: [string, string, string][] = [
    ['overview', '#/overview', 'rate-deliver'],
    ['queues', '#/queues', 'queues-table'],
    ['queue', '#/queue/%2F/traffic-q', 'queue-title'],
    ['connections', '#/connections', 'who'],
    ['lanes', '#/lanes', 'lanes-table'],
    ['lane', '#/lane/traffic-lane', 'jobs-table'],
    ['deliveries', '#/deliveries', 'deliveries-table'],
    ['delivery', `#/delivery/${uuid(2)}`, 'attempts-table'],
  ];
  for (const [width, height] of [[1440, 900], [390, 844]] as const) {
    await page.setViewportSize({ width, height });
    for (const [name, hash, ready] of pages) {
      await page.goto(`${app.managementUrl}/${hash}`);
      await page.getByTestId(ready).first().waitFor();
      await sleep(300);
      const wide = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
      assert.ok(wide <= 0, `${name} at ${width} px is ${wide} px wider than the viewport`);
      await page.screenshot({ path: join(SCREENSHOTS, `traffic-${name}-${width}.png`), fullPage: true });
    }
  }
});
