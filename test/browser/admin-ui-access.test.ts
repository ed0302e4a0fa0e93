/**
 * The admin section in headless Chromium: an administrator creates a vhost and a user, grants
 * permissions and sets the user's password from the page, adds a policy (the editor refuses an
 * unknown setting before anything is sent), exports and imports definitions and sets and clears vhost
 * limits; then the new user
 * logs in and sees only what it may do (its vhost, no admin pages, the server's reason when
 * refused); a `monitoring` user gets no write buttons. Run by `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { POLICY_KEYS } from '#core';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { startTestApp, TestApp } from '../support/app-harness';
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
  await admin.put('/api/queues/%2F/admins-only-q', { durable: true });
  await admin.put('/api/users/watcher', { password: 'watcher-pw', tags: 'monitoring' });
  await admin.put('/api/permissions/%2F/watcher', { configure: '.*', write: '.*', read: '.*' });
  ({ browser, page } = await openHeadlessPage());
});

after(async () => {
  await browser?.close();
  await app?.close();
});

async function logIn(user: string, password: string, hash = '#/overview'): Promise<void> {
  await page.goto(`${app.managementUrl}/${hash}`);
  if ((await page.getByTestId('login-user').count()) === 0) {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.goto(`${app.managementUrl}/${hash}`);
  }
  await page.getByTestId('login-user').fill(user);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('who').filter({ hasText: user }).waitFor();
}

test('an administrator creates a vhost and a user, grants permissions and sets a password from the page', { skip }, async () => {
  await logIn('guest', 'guest', '#/vhosts');
  await page.getByTestId('new-vhost-name').fill('team');
  await page.getByTestId('new-vhost-submit').click();
  await page.getByTestId('vhost-team').waitFor();

  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByTestId('new-user-name').fill('ops');
  await page.getByTestId('new-user-password').fill('first-pw');
  await page.getByLabel('management', { exact: true }).check();
  await page.getByTestId('new-user-submit').click();
  await page.getByTestId('user-ops').getByTestId('user-tags').filter({ hasText: /^management$/ }).waitFor();

  await page.getByTestId('user-ops').getByTestId('user-password').click();
  await page.getByTestId('confirm-input').fill('ops-pw');
  await page.getByTestId('confirm-ok').click();
  await page.locator('#toast').filter({ hasText: 'Password of ops set' }).waitFor();
  assert.equal((await admin.as('ops', 'ops-pw').request('GET', '/api/whoami')).status, 200, 'the new password works');
  assert.deepEqual((await admin.get<{ tags: string[] }>('/api/users/ops')).tags, ['management'], 'the tags were kept');

  await page.getByRole('link', { name: 'Permissions' }).click();
  await page.getByTestId('permission-user').selectOption('ops');
  await page.getByTestId('permission-vhost').selectOption('team');
  await page.getByTestId('permission-configure').fill('^ops-');
  await page.getByTestId('permission-submit').click();
  await page.getByTestId('permission-team-ops').waitFor();
  assert.deepEqual(await admin.get('/api/permissions/team/ops'), { user: 'ops', vhost: 'team', configure: '^ops-', write: '.*', read: '.*' });
});

test('the policy editor refuses a bad definition before sending; a good one is saved and deleted with confirmation', { skip }, async () => {
  await page.getByRole('link', { name: 'Policies' }).click();
  await page.getByTestId('policy-name').fill('cap');
  await page.getByTestId('policy-definition').fill('{"max-len": 10, "message-ttl": -1}');
  await page.getByTestId('policy-submit').click();
  await page.getByTestId('policy-check').filter({ hasText: "'max-len' is not a known setting" }).waitFor();
  assert.match(await page.getByTestId('policy-check').innerText(), /'message-ttl' must be a non-negative integer, not -1/);
  await page.getByTestId('policy-definition').fill('{"max-length": 10');
  await page.getByTestId('policy-check').filter({ hasText: 'not valid JSON' }).waitFor();
  assert.deepEqual(await admin.get('/api/policies'), [], 'nothing was sent');

  await page.getByTestId('policy-definition').fill('{"max-length": 10, "overflow": "reject-publish"}');
  await page.getByTestId('policy-submit').click();
  await page.getByTestId('policy-/-cap').waitFor();
  assert.deepEqual((await admin.get<{ definition: unknown }[]>('/api/policies'))[0]?.definition, { 'max-length': 10, overflow: 'reject-publish' });

  await page.getByTestId('policy-/-cap').getByTestId('delete-policy').click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('policies-table').getByText('No policies.').waitFor();
});

test('the page checks policies with the settings the broker knows', { skip }, async () => {
  const keys = await page.evaluate(async (url) => Object.keys(((await import(url)) as { POLICY_SETTINGS: object }).POLICY_SETTINGS), '/ui/policy-settings.js');
  assert.deepEqual(keys.sort(), Object.keys(POLICY_KEYS).sort());
});

test('definitions export to a file and import from one', { skip }, async () => {
  await page.getByRole('link', { name: 'Virtual hosts' }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-definitions').click()]);
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as { users: { name: string }[]; vhosts: { name: string }[] };
  assert.ok(exported.users.some((u) => u.name === 'ops'));
  assert.ok(exported.vhosts.some((v) => v.name === 'team'));

  const definitions = { queues: [{ name: 'imported-q', vhost: 'team', durable: true, auto_delete: false, arguments: {} }] };
  await page.getByTestId('import-file').setInputFiles({ name: 'defs.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(definitions)) });
  await page.getByTestId('import-submit').click();
  await page.getByTestId('confirm-ok').click();
  await page.locator('#toast').filter({ hasText: 'Definitions imported' }).waitFor();
  assert.equal((await admin.get<{ name: string }>('/api/queues/team/imported-q')).name, 'imported-q');
});

test('vhost limits are shown, set and cleared (with confirmation) on the virtual hosts page, and enforced', { skip }, async () => {
  await page.getByRole('link', { name: 'Virtual hosts' }).click();
  await page.getByTestId('limits-table').getByText('No limits set.').waitFor();
  await page.getByTestId('limit-vhost').selectOption('team');
  await page.getByTestId('limit-name').selectOption('max-queues');
  await page.getByTestId('limit-value').fill('1');
  await page.getByTestId('limit-submit').click();
  await page.getByTestId('limit-team-max-queues').getByTestId('limit-shown').filter({ hasText: /^1$/ }).waitFor();
  assert.deepEqual(await admin.get('/api/vhost-limits/team'), [{ vhost: 'team', value: { 'max-queues': 1 } }]);
  // the limit is the broker's: team holds imported-q, so a second queue is refused with RabbitMQ's reason
  const refused = await admin.put('/api/queues/team/one-too-many', { durable: true });
  assert.equal(refused.status, 400);
  assert.match((refused.json as { reason: string }).reason, /queue limit in vhost 'team' \(1\) is reached/);

  await page.getByTestId('limit-vhost').selectOption('team');
  await page.getByTestId('limit-name').selectOption('max-connections');
  await page.getByTestId('limit-value').fill('-1');
  await page.getByTestId('limit-submit').click();
  await page.getByTestId('limit-team-max-connections').getByTestId('limit-shown').filter({ hasText: 'no limit' }).waitFor();

  // clearing asks first: cancelled, the limit stays
  await page.getByTestId('limit-team-max-queues').getByTestId('limit-clear').click();
  await page.getByTestId('confirm-cancel').click();
  assert.deepEqual(await admin.get('/api/vhost-limits/team'), [{ vhost: 'team', value: { 'max-queues': 1, 'max-connections': -1 } }]);
  for (const name of ['max-queues', 'max-connections']) {
    await page.getByTestId(`limit-team-${name}`).getByTestId('limit-clear').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId(`limit-team-${name}`).waitFor({ state: 'detached' });
  }
  await page.getByTestId('limits-table').getByText('No limits set.').waitFor();
  assert.deepEqual(await admin.get('/api/vhost-limits/team'), []);
});

test('the new user sees only what it may do, and a refused action shows the server’s reason', { skip }, async () => {
  await logIn('ops', 'ops-pw', '#/queues');
  assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0, 'no admin pages in the nav');
  assert.equal(await page.getByRole('link', { name: 'Permissions' }).count(), 0);
  await page.getByTestId('queue-row-team-imported-q').waitFor();
  assert.equal(await page.getByTestId('queue-row-/-admins-only-q').count(), 0, 'no queues of vhosts it has no permissions in');
  assert.deepEqual(await page.getByTestId('new-queue-vhost').locator('option').allInnerTexts(), ['team'], 'only its vhosts to add a queue in');

  await page.getByTestId('new-queue-name').fill('not-ops-q');
  await page.getByTestId('new-queue-submit').click();
  await page.getByTestId('error').filter({ hasText: 'Failed: Access refused.' }).waitFor();
  await page.getByTestId('new-queue-name').fill('ops-q');
  await page.getByTestId('new-queue-submit').click();
  await page.getByTestId('queue-row-team-ops-q').waitFor();

  await page.goto(`${app.managementUrl}/#/users`);
  await page.getByTestId('page-error').filter({ hasText: 'Not administrator user' }).waitFor();
});

test('a monitoring user gets no write buttons', { skip }, async () => {
  await logIn('watcher', 'watcher-pw', '#/queue/%2F/admins-only-q');
  await page.getByTestId('detail-ready').waitFor();
  for (const id of ['purge', 'delete-queue', 'publish-submit', 'get-submit']) assert.equal(await page.getByTestId(id).count(), 0, id);
  await page.goto(`${app.managementUrl}/#/queues`);
  await page.getByTestId('queue-row-/-admins-only-q').waitFor();
  assert.equal(await page.getByTestId('new-queue-submit').count(), 0);
  await page.goto(`${app.managementUrl}/#/policies`);
  await page.getByTestId('policies-table').waitFor();
  assert.equal(await page.getByTestId('policy-submit').count(), 0);
});
