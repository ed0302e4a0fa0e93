/**
 * Declaring from the admin page: an exchange from the exchanges page and a binding from an
 * exchange's page, each with arguments typed as JSON — arguments that are not a JSON object are
 * refused on the page with the reason and nothing is sent; good ones reach the broker as typed.
 * Headless Chromium, run by `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, TestApp } from '../support/app-harness';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { ManagementClient } from '../support/management-client';

const skip = chromiumMissing;

let app: TestApp;
let admin: ManagementClient;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip) return;
  app = await startTestApp();
  admin = new ManagementClient(app.managementUrl);
  await admin.put('/api/queues/%2F/ui-declare-q', { durable: true });
  ({ browser, page } = await openHeadlessPage());
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('an exchange and a binding declared from the page, bad arguments refused on the page', { skip }, async () => {
  await page.goto(`${app.managementUrl}/#/exchanges`);
  await page.getByTestId('login-user').fill('guest');
  await page.getByTestId('login-password').fill('guest');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('new-exchange-name').waitFor();

  const errors = page.getByTestId('error');
  await page.getByTestId('new-exchange-name').fill('ui-declare-x');
  await page.getByTestId('new-exchange-type').selectOption('topic');
  const exchangeArguments = page.locator('#add-exchange textarea[name="arguments"]');
  await exchangeArguments.fill('{not json');
  await page.getByTestId('new-exchange-submit').click();
  await errors.filter({ hasText: 'Arguments is not valid JSON' }).waitFor();
  assert.equal((await admin.request('GET', '/api/exchanges/%2F/ui-declare-x')).status, 404, 'nothing sent');

  await exchangeArguments.fill('{"x-note": "from the page"}');
  await page.getByTestId('new-exchange-submit').click();
  await page.locator('#toast').filter({ hasText: 'Exchange ui-declare-x added' }).waitFor();
  const exchange = await admin.get<{ type: string; arguments: Record<string, unknown> }>('/api/exchanges/%2F/ui-declare-x');
  assert.equal(exchange.type, 'topic');
  assert.deepEqual(exchange.arguments, { 'x-note': 'from the page' });

  await page.goto(`${app.managementUrl}/#/exchange/%2F/ui-declare-x`);
  await page.getByTestId('binding-destination').fill('ui-declare-q');
  await page.getByTestId('binding-key').fill('orders.#');
  const bindingArguments = page.locator('#add-binding textarea[name="arguments"]');
  await bindingArguments.fill('[1, 2]');
  await page.getByTestId('binding-submit').click();
  await errors.filter({ hasText: 'Arguments must be a JSON object' }).waitFor();
  assert.deepEqual(await admin.get('/api/bindings/%2F/e/ui-declare-x/q/ui-declare-q'), [], 'nothing sent');

  await bindingArguments.fill('{"k": "v"}');
  await page.getByTestId('binding-submit').click();
  await page.locator('#toast').filter({ hasText: 'Binding added' }).waitFor();
  const bindings = await admin.get<{ routing_key: string; arguments: Record<string, unknown> }[]>('/api/bindings/%2F/e/ui-declare-x/q/ui-declare-q');
  assert.deepEqual(
    bindings.map((b) => [b.routing_key, b.arguments]),
    [['orders.#', { k: 'v' }]],
  );
});
