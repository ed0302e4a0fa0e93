/**
 * The admin page when the API refuses what the logged-in user may do: it shows the server's
 * reason (never "Message published" for a publish that was refused) and the user stays logged in
 * (RabbitMQ answers such refusals 401 not_authorised, a failed login 401 not_authorized).
 * Headless Chromium, run by `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

const skip = chromiumMissing;

let app: TestApp;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip) return;
  app = await startTestApp();
  const admin = new ManagementClient(app.managementUrl);
  await admin.put('/api/queues/%2F/ui-refused-q', { durable: true });
  await admin.post('/api/exchanges/%2F/amq.default/publish', { routing_key: 'ui-refused-q', payload: 'there', payload_encoding: 'string', properties: {} });
  // may look at everything in '/', change nothing
  await admin.put('/api/users/viewer', { password: 'viewer-pw', tags: 'management' });
  await admin.put('/api/permissions/%2F/viewer', { configure: '^$', write: '^$', read: '^$' });
  ({ browser, page } = await openHeadlessPage());
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('a refused publish and purge show the reason, and the user stays logged in', { skip }, async () => {
  await page.goto(`${app.managementUrl}/#/queue/%2F/ui-refused-q`);
  await page.getByTestId('login-user').fill('viewer');
  await page.getByTestId('login-password').fill('viewer-pw');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('queue-title').filter({ hasText: 'ui-refused-q' }).waitFor();

  await page.getByTestId('publish-payload').fill('not allowed');
  await page.getByTestId('publish-submit').click();
  const errors = page.getByTestId('error');
  await errors.filter({ hasText: "Failed: 403 ACCESS_REFUSED - write access to exchange 'amq.default' in vhost '/' refused for user 'viewer'" }).waitFor();
  assert.doesNotMatch(await page.locator('#toast').innerText(), /Message published/);

  await page.getByTestId('purge').click();
  await page.getByTestId('confirm-ok').click();
  await errors.filter({ hasText: 'Failed: Access refused.' }).waitFor();
  assert.equal(await page.getByTestId('detail-ready').innerText(), '1', 'nothing was purged');
  assert.equal(await page.getByTestId('login-submit').count(), 0, 'still logged in');
});

/** An address of this machine that is not loopback, to log in from as a remote user would. */
const remoteAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

test('guest logging in from another host is told it may only log in via localhost', { skip: skip || (remoteAddress === undefined ? 'no non-loopback address on this machine' : false) }, async () => {
  const open = await startTestApp({ BIND_HOST: '0.0.0.0' });
  try {
    await page.goto(`http://${remoteAddress}:${new URL(open.managementUrl).port}/#/overview`);
    await page.getByTestId('login-user').fill('guest');
    await page.getByTestId('login-password').fill('guest');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').filter({ hasText: 'User can only log in via localhost' }).waitFor();
  } finally {
    await open.close();
  }
});
