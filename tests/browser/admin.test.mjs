// The back office (/admin) in headless Chromium, against the Worker that
// scripts/test.mjs started (EDGECART_URL): sign in with the operator's
// token, the dashboard's charts drawn from orders this test places through
// the public API, fulfil and refund an order through the UI, CSV export,
// an NDJSON import with one bad line (its error at its file line number),
// the product editor (the product as stored, not a store's view of it),
// set and adjust stock, grant points, a viewer sees no write buttons, the
// phone width, a screenshot of every page, no console errors.
// The dashboard's figures are the Reports API's (/admin/v1/reports/...),
// and today's grew by exactly the orders placed here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, PHONE, launch, screenshot, shopper } from './browser.mjs';

const BASE = process.env.EDGECART_URL;
const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;
if (!BASE) throw new Error('EDGECART_URL is not set: run the browser tests through `npm test`');

const STARTED = Date.now();
/** The store with a points programme this test creates. */
const STORE = `backoffice${STARTED % 100000}`;
const MEMBER = 'm-backoffice-1';
const ADDRESS = { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' };

async function call(method, path, body, { token = ADMIN, headers = {} } = {}) {
  const h = { Authorization: `Bearer ${token}`, ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: r.status, json, text };
}

/** Places an order of `quantity` units of `sku` through the public API; returns it. */
async function placeOrder(sku, quantity, email) {
  const created = await call('POST', '/v1/carts');
  assert.equal(created.status, 201, created.text);
  const { id, token } = created.json;
  const line = await call('POST', `/v1/carts/${id}/lines`, { sku, quantity }, { token });
  assert.equal(line.status, 200, line.text);
  const view = await call('GET', `/v1/carts/${id}?country=US&region=NY&shipping_method=standard`, undefined, { token });
  const paid = await call('POST', `/v1/carts/${id}/checkout`, {
    email,
    shipping_address: ADDRESS,
    shipping_method: 'standard',
    payment: { method: 'card', token: 'tok_visa' },
    expected_total: view.json.grand_total,
  }, { token, headers: { 'Idempotency-Key': `admin-browser-${id}` } });
  assert.equal(paid.status, 201, paid.text);
  return paid.json.order;
}

/** The 30-day daily sales report. */
async function salesReport() {
  const r = await call('GET', '/admin/v1/reports/sales?granularity=day');
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const today = () => new Date().toISOString().slice(0, 10);
/** Orders and USD revenue of today's buckets in a daily report. */
function todayOf(report) {
  const b = report.buckets.filter((x) => x.start.startsWith(today()));
  return { orders: b.reduce((a, x) => a + x.orders, 0), revenue: b.filter((x) => x.currency === 'USD').reduce((a, x) => a + x.revenue, 0) };
}

let browser;
let product;
let orders = [];
let reportBefore;
/** Products the import test created (deleted at the end). */
const imported = [];

before(async () => {
  const list = (await call('GET', '/v1/products?q=kettle&limit=50')).json;
  for (const item of list.items) {
    if (item.variant_count !== 1) continue;
    const p = (await call('GET', `/v1/products/${item.slug}`)).json;
    if (!p.max_per_order) {
      product = p;
      break;
    }
  }
  assert.ok(product, 'a product to buy');
  const sku = product.variants[0].sku;
  const stock = await call('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 500, reason: 'admin browser tests' });
  assert.equal(stock.status, 200, stock.text);
  reportBefore = await salesReport();
  for (const q of [1, 2, 3]) orders.push(await placeOrder(sku, q, `backoffice-${STARTED}-${q}@example.com`));
  // The order list follows the orders' events: the pages below read it once it has them.
  for (let i = 0; i < 60; i++) {
    const listed = (await call('GET', '/admin/v1/orders?limit=200')).json.items;
    if (orders.every((mine) => listed.some((o) => o.id === mine.id))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // A store with a points programme, and a member with a balance.
  const created = await call('PUT', `/admin/v1/stores/${STORE}`, { name: 'Back Office Rewards', default_currency: 'USD', currencies: ['USD'], skin: { name: 'Back Office Rewards', colours: { accent: '#6b21a8' }, hero: 'Spend your points.', footer: '' } });
  assert.ok([200, 201].includes(created.status), created.text);
  const { schema, ...config } = (await call('GET', `/admin/v1/store?store=${STORE}`)).json;
  const put = await call('PUT', `/admin/v1/store?store=${STORE}`, {
    ...config,
    payment: { provider: 'test' },
    points: { unit: 'points', earn_per_unit: 10, category_multipliers: {}, points_per_minor: { USD: 1 }, pending_days: 14, expiry_days: 365 },
  });
  assert.equal(put.status, 200, put.text);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  // The shared catalog stays as the other suites expect it.
  for (const id of imported) await call('DELETE', `/admin/v1/products/${id}`);
});

/** Signs in at /admin with `token`, opening the page `start` (an operator then picks `store`); returns the page. */
async function signedIn(token, { viewport = DESKTOP, store = '', start = '#/orders' } = {}) {
  const { context, page } = await shopper(browser, { viewport });
  await page.goto(`${BASE}/admin/${start}`);
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  await page.locator('#role').waitFor();
  if (store) {
    await loaded(page);
    await page.selectOption('#store-select', store);
  }
  return { context, page };
}

/** Waits until the page shows no "Loading…" placeholder. */
async function loaded(page) {
  await page.waitForFunction(() => ![...document.querySelectorAll('main p')].some((p) => /^Loading/.test(p.textContent)));
}

async function go(page, hash) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await loaded(page);
}

/** Console errors other than the HTTP statuses a step expects (Chromium logs every failed request). */
const unexpected = (errors, statuses = []) => errors.filter((e) => !statuses.some((s) => e.includes(`status of ${s}`)));

describe('back office', () => {
  test('/admin is served under a strict CSP; sign-in refuses a wrong token with the API detail', async () => {
    const r = await fetch(`${BASE}/admin/`);
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const { context, page } = await shopper(browser);
    await page.goto(`${BASE}/admin`);
    assert.equal(new URL(page.url()).pathname, '/admin/');
    await page.fill('#token', 'not-a-token-of-this-deployment');
    await page.click('#signin button[type=submit]');
    const error = page.locator('#signin-result .error');
    await error.waitFor();
    assert.match(await error.textContent(), /401/);
    await screenshot(page, 'admin-signin');
    assert.deepEqual(unexpected(page.errors, [401]), []);
    await context.close();
  });

  test('dashboard: tiles and charts of the orders placed through the public API', async () => {
    const { context, page } = await signedIn(ADMIN, { start: '#/dashboard' });
    assert.equal(await page.textContent('#role'), 'Operator');
    await loaded(page);
    const report = await salesReport();
    assert.ok(report, 'GET /admin/v1/reports/sales answers');
    const chart = page.locator('svg[data-chart="orders"]');
    await chart.waitFor();
    // Today's bars: the report's own figures, and they grew by exactly the orders placed here.
    const bar = (name) => page.locator(`svg[data-chart="${name}"] rect[data-label="${today()}"]`).getAttribute('data-value');
    const mine = orders.reduce((a, o) => a + o.totals.grand_total, 0);
    const now = todayOf(report);
    const was = todayOf(reportBefore);
    assert.equal(Number(await bar('orders')), now.orders);
    assert.equal(Number(await bar('revenue-USD')), now.revenue);
    assert.equal(now.orders - was.orders, orders.length);
    assert.equal(now.revenue - was.revenue, mine);
    assert.equal(await page.locator('svg[data-chart="orders"] rect.bar').count(), 30);
    assert.ok(await page.locator('#today-USD-orders').isVisible());
    // The operator's stores side by side: each store's own report; the
    // default store's bar of today is its report's figure.
    await page.locator('#every-store').waitFor();
    const figure = page.locator('#every-store figure[data-store="default"]');
    if (await figure.count()) {
      assert.equal(Number(await page.locator(`svg[data-chart="store-orders-default"] rect[data-label="${today()}"]`).getAttribute('data-value')), now.orders);
    }
    assert.ok((await page.locator('#every-store figure').count()) >= 2, 'several stores are compared');
    await screenshot(page, 'admin-dashboard');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('orders: filter, export CSV, fulfil and refund through the UI with confirmation', async () => {
    const { context, page } = await signedIn(ADMIN);
    await go(page, '#/orders');
    await page.selectOption('#filter-status', 'paid');
    await page.fill('#filter-from', today());
    await page.click('#order-filters button[type=submit]');
    for (const o of orders) await page.locator(`#orders a[href="#/orders/${o.id}"]`).waitFor();
    await screenshot(page, 'admin-orders');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    const text = fs.readFileSync(await download.path(), 'utf8');
    assert.match(text.split('\r\n')[0], /^id,created_at,email,status,currency,grand_total_minor$/);
    for (const o of orders) assert.ok(text.includes(`${o.id},`), `${o.id} in the CSV`);
    assert.ok(text.split('\r\n').slice(1).every((l) => l === '' || l.includes(',paid,')), 'only paid orders');

    const order = orders[0];
    await page.click(`#orders a[href="#/orders/${order.id}"]`);
    await page.locator('#order-fulfil').waitFor();
    // Cancelling the dialog changes nothing.
    await page.click('#order-fulfil');
    await page.click('#confirm-cancel');
    assert.equal(await page.textContent('#order-status'), 'paid');
    await page.click('#order-fulfil');
    await page.click('#confirm-ok');
    await page.locator('#order-status', { hasText: 'fulfilled' }).waitFor();
    await screenshot(page, 'admin-order-fulfilled');
    await page.click('#order-refund');
    await page.click('#confirm-ok');
    await page.locator('#order-status', { hasText: 'refunded' }).waitFor();
    assert.equal(await page.locator('#order-actions button').count(), 0);
    await screenshot(page, 'admin-order');
    const r = await call('GET', `/admin/v1/orders/${order.id}`);
    assert.equal(r.json.status, 'refunded');
    assert.deepEqual(r.json.history.map((h) => h.status).slice(-2), ['fulfilled', 'refunded']);
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('catalog: search, and an NDJSON import with one bad line shows that line\'s error and fills the progress bar', async () => {
    const { context, page } = await signedIn(ADMIN);
    await go(page, '#/catalog');
    await page.fill('#catalog-q', 'kettle');
    await page.click('#catalog-search button[type=submit]');
    await page.locator('#catalog-results table').waitFor();
    // 7 lines sent 3 at a time: the bad one is line 5 of the file (line 2 of the second chunk).
    const lines = [];
    for (let i = 1; i <= 7; i++) {
      const id = `bo${STARTED % 100000}n${i}`;
      if (i !== 5) imported.push(`prd_${id}`);
      lines.push(i === 5
        ? '{"id": "prd_broken", "name": '
        : JSON.stringify({ id: `prd_${id}`, slug: `back-office-${id}`, name: `Back office ${i}`, category: 'kitchen', variants: [{ sku: `BO-${id}`.toUpperCase(), name: 'One', prices: { USD: 1000 + i } }] }));
    }
    await page.setInputFiles('#import-file', { name: 'products.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(`${lines.join('\n')}\n`) });
    await page.fill('#import-chunk', '3');
    const sent = [];
    page.on('request', (r) => r.url().includes('/admin/v1/catalog/import') && sent.push(r.postData()));
    await page.click('#import button[type=submit]');
    await page.locator('#import-summary').waitFor({ timeout: 60_000 });
    assert.equal(sent.length, 3, 'three requests of at most 3 lines');
    assert.match(await page.textContent('#import-summary'), /^7 lines: 6 created, 0 updated, 0 unchanged, 1 rejected\.$/);
    const errs = page.locator('#import-errors li');
    assert.equal(await errs.count(), 1);
    assert.equal(await errs.first().getAttribute('data-line'), '5');
    assert.match(await errs.first().textContent(), /^Line 5: .*invalid_json/);
    assert.doesNotMatch(await page.textContent('#import-report'), /\bnull\b/);
    assert.equal(await page.getAttribute('#import-progress', 'value'), '7');
    assert.equal(await page.getAttribute('#import-progress', 'max'), '7');
    await screenshot(page, 'admin-catalog');
    // A product's page and editor.
    await go(page, `#/catalog/${product.id}`);
    await page.locator('#product-json').waitFor();
    await screenshot(page, 'admin-product');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('catalog: the product editor holds the product as stored (base prices, position), not the store\'s view, and saving it unedited changes nothing', async () => {
    const n = STARTED % 100000;
    const id = `prd_bo${n}edit`;
    const sku = `BO-${n}-EDIT`;
    const put = await call('PUT', `/admin/v1/products/${id}`, { id, slug: `back-office-edit-${n}`, name: 'Back office editor', category: 'kitchen', position: 41, variants: [{ sku, name: 'One', prices: { USD: 2500, EUR: 2300 } }] });
    assert.equal(put.status, 201, put.text);
    imported.push(id);
    // The store sells it at a price of its own.
    const own = await call('POST', `/admin/v1/store/prices?store=${STORE}`, { prices: [{ sku, currency: 'USD', amount: 1999 }] });
    assert.equal(own.status, 200, own.text);
    const { context, page } = await signedIn(ADMIN, { store: STORE });
    await go(page, `#/catalog/${id}`);
    await page.locator('#product-json').waitFor();
    // The variants table shows what the store's shoppers see; the editor the
    // product as stored: base prices, position.
    assert.match(await page.textContent('main table'), /\$19\.99/);
    const stored = (await call('GET', `/admin/v1/products/${id}`)).json;
    const { schema, ...input } = stored;
    const editing = JSON.parse(await page.inputValue('#product-json'));
    assert.deepEqual(editing, input);
    assert.equal(editing.position, 41);
    assert.deepEqual(editing.variants[0].prices, { EUR: 2300, USD: 2500 });
    await page.click('#save-product');
    const saved = page.locator('#product-result [data-outcome]');
    await saved.waitFor();
    assert.equal(await saved.getAttribute('data-outcome'), 'unchanged');
    assert.deepEqual((await call('GET', `/admin/v1/products/${id}`)).json, stored);
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('inventory: set and adjust stock, the movements and the low-stock list', async () => {
    const sku = product.variants[0].sku;
    const { context, page } = await signedIn(ADMIN);
    // The low-stock list as the API has it: its rows, or that none is low.
    const low = await call('GET', '/admin/v1/reports/low-stock?limit=100');
    assert.equal(low.status, 200, low.text);
    await go(page, '#/inventory');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#low-stock')?.textContent ?? 'Loading'));
    assert.equal(await page.locator('#low-stock .error').count(), 0);
    if (low.json.items.length) assert.equal(await page.locator('#low-stock tbody tr').count(), low.json.items.length);
    else await page.locator('#low-stock p', { hasText: 'No SKU is low.' }).waitFor();
    await screenshot(page, 'admin-inventory');
    await page.fill('#sku', sku);
    await page.click('#sku-lookup button[type=submit]');
    await page.locator('#level-on_hand').waitFor();
    await page.fill('#set-on-hand', '742');
    await page.fill('#set-reason', 'stocktake in the back office');
    await page.click('#set-stock button[type=submit]');
    await page.locator('#level-on_hand .value', { hasText: /^742$/ }).waitFor();
    await page.fill('#adjust-delta', '-2');
    await page.fill('#adjust-reason', `damaged ${STARTED}`);
    await page.click('#adjust-stock button[type=submit]');
    await page.locator('#level-on_hand .value', { hasText: /^740$/ }).waitFor();
    await page.locator('#movements td', { hasText: `damaged ${STARTED}` }).waitFor();
    const r = await call('GET', `/admin/v1/inventory/${sku}`);
    assert.equal(r.json.on_hand, 740);
    await screenshot(page, 'admin-stock');
    assert.deepEqual(unexpected(page.errors, [404]), []);
    await context.close();
  });

  test('points: look a member up, grant and adjust with a reason', async () => {
    const { context, page } = await signedIn(ADMIN, { store: STORE });
    assert.equal(await page.inputValue('#store-select'), STORE);
    await go(page, '#/points');
    await page.fill('#member', MEMBER);
    await page.click('#member-lookup button[type=submit]');
    await page.locator('#grant-points').waitFor();
    await loaded(page);
    await page.fill('#grant-points-n', '1500');
    await page.fill('#grant-reason', 'welcome gift');
    await page.click('#grant-points button[type=submit]');
    await page.locator('#points-available .value', { hasText: /^1,500$/ }).waitFor();
    await page.fill('#adjust-points-n', '-200');
    await page.fill('#adjust-points-reason', 'granted twice');
    await page.click('#adjust-points button[type=submit]');
    await page.locator('#points-available .value', { hasText: /^1,300$/ }).waitFor();
    await page.locator('#points-history td', { hasText: 'welcome gift' }).waitFor();
    const r = await call('GET', `/admin/v1/members/${MEMBER}/points?store=${STORE}`);
    assert.equal(r.json.balance.available, 1300);
    await screenshot(page, 'admin-points');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('every page renders (screenshots), errors shown with their detail', async () => {
    const { context, page } = await signedIn(ADMIN, { store: STORE });
    for (const name of ['promotions', 'stores', 'webhooks', 'audit/store', 'audit/shared']) {
      await go(page, `#/${name}`);
      await page.waitForTimeout(100);
      assert.equal(await page.locator('main .error').count(), 0, `${name}: ${await page.locator('main .error').allTextContents()}`);
      await screenshot(page, `admin-${name.replace('/', '-')}`);
    }
    await page.locator(`[data-store="${STORE}"] .skin-preview`).count();
    // An API error is shown with its detail: an unknown order.
    await go(page, '#/orders/ord_000000000000000000000000');
    assert.match(await page.textContent('#order .error'), /404/);
    assert.deepEqual(unexpected(page.errors, [404]), []);
    await context.close();
  });

  test('a viewer gets a read-only back office: no write buttons', async () => {
    assert.ok(VIEWER, 'EDGECART_VIEWER_TOKEN');
    // The viewer's store (the default one) has a points programme only when
    // another suite gave it one; without, its points page answers 404.
    const programme = (await call('GET', '/admin/v1/store')).json?.points;
    const { context, page } = await signedIn(VIEWER, { start: '#/dashboard' });
    assert.equal(await page.textContent('#role'), 'Viewer (read only)');
    const paid = orders[1];
    await go(page, `#/orders/${paid.id}`);
    await page.locator('#order-status').waitFor();
    assert.equal(await page.textContent('#order-status'), 'paid');
    assert.equal(await page.locator('#order-actions button').count(), 0);
    await go(page, `#/inventory/${product.variants[0].sku}`);
    await page.locator('#level-on_hand').waitFor();
    assert.equal(await page.locator('#set-stock, #adjust-stock').count(), 0);
    await go(page, `#/points/${MEMBER}`);
    assert.equal(await page.locator('#grant-points, #adjust-points').count(), 0);
    await go(page, '#/promotions');
    assert.equal(await page.locator('#save-promotion').count(), 0);
    await go(page, '#/catalog');
    assert.equal(await page.locator('#import, #store-price-form').count(), 0);
    await go(page, '#/stores');
    assert.equal(await page.locator('#save-config').count(), 0);
    await go(page, '#/webhooks');
    assert.equal(await page.locator('#webhook-form').count(), 0);
    // No button that writes anywhere on these pages.
    assert.equal(await page.locator('main button.primary, main button.danger').count(), 0);
    await screenshot(page, 'admin-viewer');
    assert.deepEqual(programme ? page.errors : unexpected(page.errors, [404]), []);
    await context.close();
  });

  test('a store admin: its store, order actions, but no shared catalog or stock writes', async () => {
    const token = process.env.EDGECART_STORE_ADMIN_TOKEN;
    assert.ok(token, 'EDGECART_STORE_ADMIN_TOKEN');
    const { context, page } = await signedIn(token);
    assert.equal(await page.textContent('#role'), 'Store admin');
    assert.equal(await page.textContent('#store-name'), 'Store: default');
    await go(page, `#/orders/${orders[1].id}`);
    await page.locator('#order-fulfil').waitFor();
    await go(page, `#/inventory/${product.variants[0].sku}`);
    await page.locator('#level-on_hand').waitFor();
    assert.equal(await page.locator('#set-stock, #adjust-stock').count(), 0);
    await go(page, '#/catalog');
    assert.equal(await page.locator('#import').count(), 0);
    assert.equal(await page.locator('#store-price-form').count(), 1);
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('phone width (375 px): no sideways scrolling, tables as cards', async () => {
    const { context, page } = await signedIn(ADMIN, { viewport: PHONE });
    for (const name of ['dashboard', 'orders', `orders/${orders[2].id}`, 'catalog', `inventory/${product.variants[0].sku}`, 'points']) {
      await go(page, `#/${name}`);
      await page.waitForTimeout(100);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `${name}: the page is ${width} px wide`);
    }
    await go(page, '#/orders');
    await page.locator('#orders table').waitFor();
    await screenshot(page, 'admin-phone-orders');
    await go(page, '#/dashboard');
    await screenshot(page, 'admin-phone-dashboard');
    assert.deepEqual(page.errors, []);
    await context.close();
  });
});
