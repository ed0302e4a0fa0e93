/**
 * The admin page on a phone and from the keyboard, in headless Chromium: at 390 px no element
 * makes any page wider than the viewport (wide tables scroll inside their box), the nav collapses
 * behind a Menu button, every input has a label; dark mode follows prefers-color-scheme; the login
 * page's hidden nav takes no focus; keyboard only: log in, open a queue, sort, purge with the
 * confirmation. The JS stays under the budget and is served compressed. Screenshots of
 * every page at 1440 and 390 px go to test-results/ (not committed) for a person to look at.
 * Run by `npm run test:browser`.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, openHeadlessPage } from '../support/headless-chromium';
import { startTestApp, TestApp } from '../support/app-harness';
import { ManagementClient } from '../support/management-client';

const skip = chromiumMissing;
const SCREENSHOTS = join(__dirname, '..', '..', '..', 'test-results');
/** The budget for the page's JavaScript, uPlot included, uncompressed. */
const JS_BUDGET_BYTES = 150 * 1024;

let app: TestApp;
let browser: Browser;
let page: Page;
let conn: amqp.ChannelModel;

const PAGES = [
  ['overview', '#/overview'],
  ['connections', '#/connections'],
  ['channels', '#/channels'],
  ['exchanges', '#/exchanges'],
  ['exchange', '#/exchange/%2F/amq.topic'],
  ['queues', '#/queues'],
  ['queue', '#/queue/%2F/a-queue-with-a-rather-long-name-to-see-how-it-wraps-on-a-phone'],
  ['lanes', '#/lanes'],
  ['deliveries', '#/deliveries'],
  ['users', '#/users'],
  ['vhosts', '#/vhosts'],
  ['permissions', '#/permissions'],
  ['policies', '#/policies'],
] as const;

before(async () => {
  if (skip) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  app = await startTestApp();
  const api = new ManagementClient(app.managementUrl);
  await api.put('/api/queues/%2F/a-queue-with-a-rather-long-name-to-see-how-it-wraps-on-a-phone', { durable: true });
  await api.put('/api/policies/%2F/cap', { pattern: '^a-', definition: { 'max-length': 1000, 'dead-letter-exchange': 'a-rather-long-dead-letter-exchange-name' } });
  conn = await amqp.connect(app.amqpUrl, { clientProperties: { connection_name: 'a client with a long connection name' } });
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('kb-q', { durable: true });
  for (let i = 0; i < 3; i++) ch.sendToQueue('kb-q', Buffer.from(`m${i}`), { persistent: true });
  await ch.waitForConfirms();
  ({ browser, page } = await openHeadlessPage());
});

after(async () => {
  await conn?.close();
  await browser?.close();
  await app?.close();
});

async function logIn(): Promise<void> {
  await page.goto(`${app.managementUrl}/#/overview`);
  await page.getByTestId('login-user').fill('guest');
  await page.getByTestId('login-password').fill('guest');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('who').filter({ hasText: 'guest' }).waitFor();
}

/** What sticks out of the viewport without a scrolling box around it, and controls without a label. */
async function layoutProblems(): Promise<{ pageWidth: number; viewport: number; overflowing: string[]; unlabelled: string[] }> {
  return page.evaluate(LAYOUT_PROBLEMS);
}

/** Run in the page (as a string: the tests compile without the DOM's types). */
const LAYOUT_PROBLEMS = `(() => {
  const viewport = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
    return false;
  };
  const describe = (el) => el.localName + (el.id ? '#' + el.id : '') + (el.getAttribute('data-testid') ? '[' + el.getAttribute('data-testid') + ']' : '') + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  const overflowing = [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > viewport + 1 && !clipped(el) && el.offsetParent !== null).map(describe);
  const unlabelled = [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
    .filter((el) => (el.labels ? el.labels.length : 0) === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map(describe);
  return { pageWidth: document.documentElement.scrollWidth, viewport, overflowing, unlabelled };
})()`;

test('at 390 px no page is wider than the viewport and every input has a label; screenshots at 1440 and 390 px', { skip }, async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await logIn();
  for (const [width, height] of [
    [1440, 900],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width, height });
    for (const [name, hash] of PAGES) {
      await page.goto(`${app.managementUrl}/${hash}`);
      await page.locator('main h1').waitFor();
      await page.locator('main table').first().waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, `admin-${name}-${width}.png`), fullPage: true });
      const problems = await layoutProblems();
      assert.deepEqual(problems.unlabelled, [], `${name} at ${width} px: inputs without a label`);
      if (width === 390) {
        assert.deepEqual(problems.overflowing, [], `${name} at 390 px: elements wider than the viewport`);
        assert.ok(problems.pageWidth <= problems.viewport, `${name} at 390 px: the page is ${problems.pageWidth} px wide`);
      }
    }
  }
});

test('at 390 px the nav collapses behind a Menu button', { skip }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${app.managementUrl}/#/overview`);
  await page.getByTestId('total-queues').waitFor();
  const queuesLink = page.locator('#nav a[data-page=queues]');
  assert.equal(await queuesLink.isVisible(), false, 'collapsed');
  const menu = page.getByRole('button', { name: 'Menu' });
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await queuesLink.click();
  await page.getByTestId('queues-table').waitFor();
  assert.equal(await queuesLink.isVisible(), false, 'closed again after choosing');
  assert.equal(await queuesLink.getAttribute('aria-current'), 'page');
});

test('dark mode follows prefers-color-scheme; a favicon; the JS is within budget and compressed', { skip }, async () => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${app.managementUrl}/#/queues`);
  await page.getByTestId('queues-table').waitFor();
  const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
  const [r, g, b] = (background.match(/\d+/g) ?? []).map(Number);
  assert.ok(r! + g! + b! < 150, `a dark background, not ${background}`);
  await page.screenshot({ path: join(SCREENSHOTS, 'admin-queues-1440-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });

  const favicon = await fetch(`${app.managementUrl}/favicon.ico`);
  assert.equal(favicon.status, 200);
  assert.equal(favicon.headers.get('content-type'), 'image/svg+xml');

  const scripts = await page.evaluate<{ name: string; decoded: number; encoded: number }[]>(
    "performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js')).map((e) => ({ name: e.name, decoded: e.decodedBodySize, encoded: e.encodedBodySize }))",
  );
  const decoded = scripts.reduce((n, s) => n + s.decoded, 0);
  const encoded = scripts.reduce((n, s) => n + s.encoded, 0);
  assert.ok(scripts.length > 5 && decoded > 50_000, 'the page’s scripts were counted');
  assert.ok(decoded < JS_BUDGET_BYTES, `${decoded} bytes of JS, over the ${JS_BUDGET_BYTES} budget`);
  assert.ok(encoded < decoded / 2, `served compressed: ${encoded} of ${decoded} bytes`);
  console.log(`admin page JS: ${scripts.length} files, ${decoded} bytes, ${encoded} bytes as sent`);
});

test('the login page’s hidden nav takes no focus', { skip }, async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByTestId('login-user').waitFor();
  assert.equal(await page.locator('#nav').isVisible(), false);
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate("document.activeElement.closest('#nav') !== null"), false, 'focus went into the hidden nav');
  }
});

/** The focused element's attribute. */
const focused = (attribute: string): Promise<string | null> => page.evaluate<string | null, string>((name) => (globalThis as unknown as FocusedDocument).document.activeElement?.getAttribute(name) ?? null, attribute);

interface FocusedDocument {
  document: { activeElement: { getAttribute(name: string): string | null } | null };
}

/** Presses Tab until the focused element has the attribute with that value, as a keyboard user would. */
async function tabTo(attribute: string, value: string, limit = 80): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if ((await focused(attribute)) === value) return;
  }
  throw new Error(`Tab never reached [${attribute}=${value}]`);
}

test('keyboard only: log in, open a queue, sort by a header, purge with the confirmation', { skip }, async () => {
  await page.goto(`${app.managementUrl}/#/queues`);
  await page.getByTestId('login-user').waitFor();
  assert.equal(await focused('data-testid'), 'login-user', 'the login starts in the user field');
  await page.keyboard.type('guest');
  await page.keyboard.press('Tab');
  await page.keyboard.type('guest');
  await page.keyboard.press('Enter');
  await page.getByTestId('queues-table').waitFor();

  await tabTo('data-sort', 'messages_ready');
  await page.keyboard.press('Enter');
  await page.locator('th[aria-sort=ascending]').filter({ hasText: 'Ready' }).waitFor();
  assert.equal(await focused('data-sort'), 'messages_ready', 'the focus stays on the header after the refresh');

  await tabTo('href', '#/queue/%2F/kb-q');
  await page.keyboard.press('Enter');
  await page.getByTestId('queue-title').filter({ hasText: 'kb-q' }).waitFor();
  await page.getByTestId('detail-ready').filter({ hasText: /^3$/ }).waitFor();

  await tabTo('data-testid', 'purge');
  await page.keyboard.press('Enter');
  await page.getByTestId('confirm-dialog').waitFor();
  assert.equal(await focused('data-testid'), 'confirm-cancel', 'Cancel has the focus');
  await page.keyboard.press('Tab');
  assert.equal(await focused('data-testid'), 'confirm-ok');
  await page.keyboard.press('Enter');
  await page.getByTestId('detail-ready').filter({ hasText: /^0$/ }).waitFor();
});
