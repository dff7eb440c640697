// Headless Chromium (Debian's `chromium`, installed by the project's setup)
// driven by playwright-core, for the demo shop's tests and its budget
// benchmark. Every page records console errors and uncaught exceptions, so
// a test can assert there were none.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { clientAddress } from '../../scripts/client-addresses.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOTS = path.join(ROOT, 'artifacts', 'screenshots');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium; close it when done. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-dev-shm-usage',
      // Stores answer on their own hosts: *.localhost is this machine.
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
  });
}

export const PHONE = { width: 375, height: 740 };
export const DESKTOP = { width: 1280, height: 900 };

/**
 * A fresh browser context (own storage and address, like a new shopper) and page. The
 * page's `errors` lists console errors and uncaught exceptions.
 */
export async function shopper(browser, { viewport = DESKTOP, javaScript = true } = {}) {
  // A shopper of their own: their own storage and their own address (the
  // Worker limits rates per client address).
  const context = await browser.newContext({
    viewport,
    javaScriptEnabled: javaScript,
    locale: 'en-US',
    extraHTTPHeaders: { 'CF-Connecting-IP': clientAddress() },
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.errors.push(`exception: ${e.message}`));
  return { context, page };
}

/** Saves a full-page screenshot under artifacts/screenshots/. */
export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Waits until the page has had no API request in flight for 400 ms (longer
 * than the checkout form's 150 ms debounce), bounded by 10 s.
 */
export async function settle(page) {
  const open = new Set();
  const track = (r) => r.url().includes('/v1/') && open.add(r);
  const done = (r) => open.delete(r);
  page.on('request', track);
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  try {
    let quietSince = Date.now();
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      await page.waitForTimeout(50);
      if (open.size > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= 400) return;
    }
    throw new Error('the page kept calling the API for 10 s');
  } finally {
    page.off('request', track);
    page.off('requestfinished', done);
    page.off('requestfailed', done);
  }
}

/**
 * Opens the checkout page at `base` and fills the shopper's email and a US
 * (New York) shipping address; the payment fields are the caller's.
 */
export async function fillAddress(page, base, email) {
  await page.goto(`${base}/checkout`);
  await page.locator('#pay', { hasText: /^Pay / }).waitFor();
  await page.fill('#email', email);
  await page.fill('#name', 'Ada Lovelace');
  await page.fill('#line1', '1 Main St');
  await page.fill('#city', 'New York');
  await page.fill('#region', 'NY');
  await page.fill('#postal_code', '10001');
  await page.selectOption('#country', 'US');
}
