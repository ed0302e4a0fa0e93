/**
 * The admin page end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core): log in, see a queue created over AMQP appear with its depth, publish from the
 * page and see the depth change, get and purge, close a connection, delete a job, replay a dead
 * letter. Run by `npm run test:browser` (and by .ci/run when Chromium is installed).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { startTestApp, TestApp } from '../support/app-harness';
import { HttpSink, postJson } from '../support/http-sink';

const skip = chromiumMissing;

let app: TestApp;
let browser: Browser;
let page: Page;
let sink: HttpSink;

before(async () => {
  if (skip) return;
  app = await startTestApp({ DISPATCH_RETRY_BASE_MS: '200', DISPATCH_ALLOW_LOOPBACK: 'true' });
  sink = await HttpSink.start();
  ({ browser, page } = await openHeadlessPage());
});

after(async () => {
  await browser?.close();
  await sink?.close();
  await app?.close();
});

async function logIn(user: string, password: string): Promise<void> {
  await page.goto(`${app.managementUrl}/#/overview`);
  await page.getByTestId('login-user').fill(user);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

test('log in: a wrong password is refused, guest sees the overview with its charts', { skip }, async () => {
  await logIn('guest', 'wrong');
  await page.getByTestId('login-error').filter({ hasText: 'Login failed' }).waitFor();
  await page.getByTestId('login-password').fill('guest');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('total-queues').waitFor();
  assert.match(await page.getByTestId('total-queues').innerText(), /^\d+$/);
  await page.locator('[data-testid=rates-chart] .uplot').waitFor();
  await page.locator('[data-testid=depth-chart] .uplot').waitFor();
});

test('a queue created over AMQP appears with its depth; publish, get and purge from the page', { skip }, async () => {
  const conn = await amqp.connect(app.amqpUrl);
  try {
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('ui-q', { durable: true });
    for (let i = 0; i < 3; i++) ch.sendToQueue('ui-q', Buffer.from(`amqp ${i}`), { persistent: true });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
  await page.goto(`${app.managementUrl}/#/queues`);
  await page.getByTestId('queue-filter').fill('ui-');
  const row = page.getByTestId('queue-row-/-ui-q');
  await row.getByTestId('queue-ready').filter({ hasText: /^3$/ }).waitFor();
  await row.getByTestId('queue-link').click();
  await page.getByTestId('queue-title').filter({ hasText: 'ui-q' }).waitFor();
  assert.equal(await page.getByTestId('detail-ready').innerText(), '3');

  await page.getByTestId('publish-payload').fill('from the page');
  await page.getByTestId('publish-submit').click();
  await page.getByTestId('detail-ready').filter({ hasText: /^4$/ }).waitFor();

  await page.getByTestId('get-count').fill('4');
  await page.getByTestId('get-submit').click();
  await page.getByTestId('got-payload').nth(3).waitFor();
  assert.deepEqual(await page.getByTestId('got-payload').allInnerTexts(), ['amqp 0', 'amqp 1', 'amqp 2', 'from the page']);

  await page.getByTestId('purge').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('detail-ready').filter({ hasText: /^0$/ }).waitFor();
  const api = await fetch(`${app.managementUrl}/api/queues/%2F/ui-q`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  assert.equal(((await api.json()) as { messages: number }).messages, 0);
});

test('close a connection from the page: the client hears 320 with the reason', { skip }, async () => {
  const conn = await amqp.connect(app.amqpUrl, { clientProperties: { connection_name: 'ui-conn' } });
  const closed = new Promise<Error | undefined>((resolve) => conn.once('close', resolve));
  conn.on('error', () => undefined);
  await page.goto(`${app.managementUrl}/#/connections`);
  const row = page.getByTestId('connection-ui-conn');
  await row.getByTestId('close-connection').click();
  await page.getByTestId('confirm-input').fill('closed from the admin page');
  await page.getByTestId('confirm-ok').click();
  const error = await closed;
  assert.match(String(error?.message), /320.*CONNECTION_FORCED - closed from the admin page/);
  await row.waitFor({ state: 'detached' });
});

test('job lanes: depths, peek and delete a job', { skip }, async () => {
  const jobs = `http://127.0.0.1:${app.running.ports.jobs}`;
  await fetch(`${jobs}/schedule`, { method: 'POST', body: JSON.stringify({ message: 'ui job', lane: 'ui-lane' }) });
  await page.goto(`${app.managementUrl}/#/lanes`);
  await page.getByTestId('lane-ui-lane').getByTestId('lane-queued').filter({ hasText: /^1$/ }).waitFor();
  await page.getByTestId('lane-ui-lane').getByRole('link').click();
  await page.getByTestId('jobs-table').getByText('ui job').waitFor();
  assert.equal(await page.getByTestId('lane-page-of').innerText(), 'page 1 / 1');
  await page.getByTestId('delete-job').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('jobs-table').getByText('No jobs queued.').waitFor();
});

test('deliveries: a dead one is shown with its attempts on its own page, found by state, and replayed from the page', { skip }, async () => {
  let gone = true;
  sink.behaviour = () => (gone ? { status: 404, body: 'no such hook' } : { status: 200 });
  const answer = await postJson(`${app.dispatchUrl}/`, { UUID: 'ui-dead-1', Url: sink.url('/ui-hook'), Method: 'POST', Body: 'x' });
  assert.equal(answer.status, 202);
  await sink.waitFor(() => sink.to('/ui-hook').length === 1);
  await page.goto(`${app.managementUrl}/#/deliveries`);
  await page.getByTestId('delivery-state').selectOption('dead');
  const row = page.getByTestId('delivery-ui-dead-1');
  await row.waitFor();
  assert.match(await row.innerText(), /dead[\s\S]*404/);
  await row.getByTestId('delivery-link').click();
  await page.getByTestId('delivery-title').filter({ hasText: 'ui-dead-1' }).waitFor();
  assert.match(await page.getByTestId('attempts-table').innerText(), /404[\s\S]*no such hook/);
  await page.goBack();
  gone = false;
  await page.getByTestId('delivery-ui-dead-1').getByTestId('replay').click();
  await sink.waitFor(() => sink.to('/ui-hook').length === 2, 5000, 'the replayed delivery');
  await page.getByTestId('deliveries-table').getByText('No deliveries here.').waitFor();
  await page.getByTestId('delivery-state').selectOption('');
  await page.getByTestId('delivery-ui-dead-1').getByTestId('delivery-state-cell').filter({ hasText: 'delivered' }).waitFor();
});
