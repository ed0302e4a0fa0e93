import { existsSync } from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';

/** Debian's Chromium (playwright-core drives it; it downloads no browser of its own). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A reason to skip browser tests on this machine, or false. */
export const chromiumMissing: string | false = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM}`;

/**
 * Headless Chromium with one page. The flags keep it from reaching out to the network at start,
 * which this machine's closed network refuses many times over.
 */
export async function openHeadlessPage(): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  return { browser, page };
}
