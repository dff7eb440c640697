// The demo shop's points in headless Chromium, against the Worker that
// scripts/test.mjs started (DEV_MEMBER_SIGN_IN on, a member secret for the
// store `loyalty`): a store with a points programme on its own host, the
// demo sign-in, the balance in the header, prices in points, an order paid
// with points and card and one paid with points only (the balance goes
// down by exactly the points, the order pages show them), a payment the
// member's points cannot cover, a deployment whose sign-in is off, and the
// shop without a programme (no sign-in anywhere). Screenshots go to
// artifacts/screenshots/points-*.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { settled } from '../settled.mjs';
import { PHONE, fillAddress, launch, screenshot, settle, shopper } from './browser.mjs';

const BASE = process.env.EDGECART_URL;
const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
if (!BASE) throw new Error('EDGECART_URL is not set: run the browser tests through `npm test`');

const STORE = 'loyalty';
const HOST = 'loyalty.localhost';
const SHOP = BASE.replace('127.0.0.1', HOST);
const MEMBER = 'demo-member';
const STARTED = Date.now();
const PROGRAMME = {
  unit: 'points',
  earn_per_unit: 10,
  category_multipliers: {},
  points_per_minor: { USD: 1 },
  // Earnings wait out a return window: the available balance moves by the points spent only.
  pending_days: 14,
  expiry_days: 365,
};

async function call(method, path, body, headers = {}) {
  const h = { Authorization: `Bearer ${ADMIN}`, ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, text };
}

const at = (path) => `${path}${path.includes('?') ? '&' : '?'}store=${STORE}`;
const usd = (minor) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(minor / 100);
const pts = (n) => `${new Intl.NumberFormat('en-US').format(n)} points`;

/** The member's balance as the admin sees it. */
async function balance(member = MEMBER) {
  const r = await call('GET', at(`/admin/v1/members/${member}/points?limit=1`));
  assert.equal(r.status, 200, r.text);
  return r.json.balance;
}

let product;
let browser;

before(async () => {
  const created = await call('PUT', `/admin/v1/stores/${STORE}`, { name: 'Loyalty Rewards', hosts: [HOST], default_currency: 'USD', currencies: ['USD'] });
  assert.ok([200, 201].includes(created.status), created.text);
  const { schema, ...config } = (await call('GET', at('/admin/v1/store'))).json;
  const put = await call('PUT', at('/admin/v1/store'), { ...config, payment: { provider: 'test' }, points: PROGRAMME });
  assert.equal(put.status, 200, put.text);
  // The store's copies (which pages, products and carts read) catch up within a second.
  await new Promise((r) => setTimeout(r, 1200));
  // One product of one variant, no per-order limit, with plenty of stock.
  const list = (await call('GET', at('/v1/products?q=kettle&limit=50'))).json;
  for (const item of list.items) {
    if (item.variant_count !== 1) continue;
    const p = (await call('GET', at(`/v1/products/${item.slug}`))).json;
    if (!p.max_per_order) {
      product = p;
      break;
    }
  }
  assert.ok(product, 'a product to buy');
  const stock = await call('PUT', `/admin/v1/inventory/${product.variants[0].sku}`, { on_hand: 500, reason: 'browser points tests' });
  assert.equal(stock.status, 200, stock.text);
  const grant = await call('POST', at(`/admin/v1/members/${MEMBER}/points/grants`), { points: 50_000, reason: 'browser tests' }, { 'Idempotency-Key': `browser-points-${STARTED}` });
  assert.equal(grant.status, 201, grant.text);
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Adds `quantity` of the product to the cart on its page at `base`. */
async function addToCart(page, base, quantity = 1) {
  await page.goto(`${base}/products/${product.slug}`);
  await page.fill('#qty', String(quantity));
  await page.click('#add');
  await page.locator('#add-status', { hasText: 'Added to your cart' }).waitFor();
}

/** Fills the checkout form at `base` (US, New York); the summary settled. */
async function fillCheckout(page, base, email) {
  await fillAddress(page, base, email);
  await page.locator('#postal_code').blur();
  await settle(page);
  await page.waitForFunction(() => !document.querySelector('#pay').disabled);
}

/** The order the page shows, as the admin API has it. */
async function shownOrder(page) {
  await page.waitForURL(/\/orders\/ord_/);
  await page.locator('#order-status', { hasText: 'Paid' }).waitFor();
  const id = (await page.textContent('#order-id')).trim();
  const r = await call('GET', at(`/admin/v1/orders/${id}`));
  assert.equal(r.status, 200, r.text);
  return r.json;
}

describe('points in Chromium', () => {
  test('a store with points: the demo sign-in, the balance, prices in points, points and card, then points only', async () => {
    const { context, page } = await shopper(browser);
    const start = await balance();
    assert.ok(start.available >= 50_000, JSON.stringify(start));

    // Signed out: the sign-in control, no balance.
    await page.goto(`${SHOP}/`);
    await page.locator('#member-sign-in').waitFor();
    assert.equal(await page.textContent('#member-sign-in'), 'Sign in as the demo member');
    await screenshot(page, 'points-signed-out');
    await page.click('#member-sign-in');
    await page.locator('#member-name', { hasText: MEMBER }).waitFor();
    await page.locator('#member-balance', { hasText: pts(start.available) }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'member-sign-out', 'focus moves to the sign-out');
    const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('edgecart.member')));
    assert.equal(session.member, MEMBER);
    assert.equal(await page.evaluate(() => localStorage.getItem('edgecart.member')), null, 'the token stays in the tab');
    await screenshot(page, 'points-signed-in');

    // The product page: the price and the price in points (1 point a cent).
    const variant = product.variants[0];
    assert.equal(variant.price_points, variant.price.amount, 'the API prices the variant in points');
    await page.goto(`${SHOP}/products/${product.slug}`);
    assert.equal((await page.textContent('#price-points')).trim(), `or ${pts(variant.price_points)}`);
    await page.locator('#member-balance', { hasText: pts(start.available) }).waitFor();
    await screenshot(page, 'points-product');

    // Points and card: two units, half the total in points.
    await addToCart(page, SHOP, 2);
    await page.goto(`${SHOP}/cart`);
    await page.locator('.totals dd.in-points').waitFor();
    await screenshot(page, 'points-cart');
    await fillCheckout(page, SHOP, `points-card-${STARTED}@example.com`);
    const cart = await page.evaluate(() => JSON.parse(localStorage.getItem('edgecart.cart')));
    const view = (await call('GET', at(`/v1/carts/${cart.id}?country=US&region=NY&shipping_method=standard`), undefined, { Authorization: `Bearer ${cart.token}` })).json;
    const total = view.grand_total.amount;
    assert.equal(view.points.grand_total, total);
    assert.equal(await page.textContent('#pay'), `Pay ${usd(total)}`);
    await page.check('input[name=pay_with][value=points_and_card]');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'points', 'focus moves to the amount');
    // Checked before it is sent: all of it would leave the card nothing.
    await page.fill('#points', String(total));
    await page.click('#pay');
    await page.locator('#points-error', { hasText: 'Enter a multiple of 1' }).waitFor();
    assert.equal(await page.getAttribute('#points', 'aria-invalid'), 'true');
    const spent = Math.floor(total / 2);
    await page.fill('#points', String(spent));
    assert.equal(await page.textContent('#pay'), `Pay ${pts(spent)} + ${usd(total - spent)}`);
    await screenshot(page, 'points-checkout');
    await page.click('#pay');
    const mixed = await shownOrder(page);
    assert.equal(mixed.points.member, MEMBER);
    assert.equal(mixed.points.spent, spent);
    assert.equal(mixed.points.value, spent);
    assert.ok(mixed.points.earned > 0, 'the card part earns');
    assert.equal(mixed.payment.provider, 'test');
    assert.equal(mixed.totals.grand_total, total);
    assert.equal((await page.textContent('#order-points-spent')).trim(), `${pts(spent)} (${usd(spent)})`);
    assert.equal((await page.textContent('#order-card-paid')).trim(), usd(total - spent));
    assert.equal((await page.textContent('#order-points-earned')).trim(), pts(mixed.points.earned));
    const afterMixed = await balance();
    assert.equal(afterMixed.available, start.available - spent, 'the balance went down by exactly the points spent');
    assert.equal(afterMixed.pending, start.pending + mixed.points.earned, 'what the card part earned waits out the return window');
    await page.locator('#member-balance', { hasText: pts(afterMixed.available) }).waitFor();
    await screenshot(page, 'points-order');

    // Points only: the whole total, no card.
    await addToCart(page, SHOP, 1);
    await fillCheckout(page, SHOP, `points-only-${STARTED}@example.com`);
    const onlyCart = await page.evaluate(() => JSON.parse(localStorage.getItem('edgecart.cart')));
    const onlyView = (await call('GET', at(`/v1/carts/${onlyCart.id}?country=US&region=NY&shipping_method=standard`), undefined, { Authorization: `Bearer ${onlyCart.token}` })).json;
    await page.check('input[name=pay_with][value=points]');
    assert.equal(await page.isVisible('#card'), false, 'no card to enter');
    assert.equal(await page.textContent('#pay'), `Pay ${pts(onlyView.points.grand_total)}`);
    await screenshot(page, 'points-only-checkout');
    await page.click('#pay');
    const only = await shownOrder(page);
    assert.equal(only.payment.provider, 'points');
    assert.equal(only.points.spent, onlyView.points.grand_total);
    assert.equal(only.points.earned, 0, 'points earn nothing');
    assert.equal((await page.textContent('#order-points-spent')).trim(), `${pts(only.points.spent)} (${usd(only.points.value)})`);
    assert.equal(await page.locator('#order-card-paid').count(), 0);
    assert.equal(await page.locator('#order-points-earned').count(), 0);
    const afterOnly = await balance();
    assert.equal(afterOnly.available, afterMixed.available - only.points.spent, 'the balance went down by exactly the points spent');
    await page.locator('#member-balance', { hasText: pts(afterOnly.available) }).waitFor();
    await screenshot(page, 'points-only-order');

    // Signed out: card only again.
    await page.click('#member-sign-out');
    await page.locator('#member-sign-in').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'member-sign-in');
    await addToCart(page, SHOP, 1);
    await fillCheckout(page, SHOP, `points-out-${STARTED}@example.com`);
    assert.equal(await page.locator('#pay-with-choices').count(), 0);
    assert.match(await page.textContent('#points-hint'), /sign in/);
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test("a member whose points do not cover the total is told the API's detail, and nothing is charged", async () => {
    const { context, page } = await shopper(browser);
    const member = `poor-${STARTED}`;
    const signed = await call('POST', at('/v1/points/dev-token'), { member });
    assert.equal(signed.status, 200, signed.text);
    await page.goto(`${SHOP}/`);
    await page.evaluate((s) => sessionStorage.setItem('edgecart.member', JSON.stringify(s)), signed.json);
    await addToCart(page, SHOP, 1);
    await page.locator('#member-balance', { hasText: pts(0) }).waitFor();
    await fillCheckout(page, SHOP, `points-poor-${STARTED}@example.com`);
    await page.check('input[name=pay_with][value=points]');
    await page.click('#pay');
    await page.locator('#pay-status', { hasText: 'Only 0 points can be spent now' }).waitFor();
    assert.match(await page.getAttribute('#pay-status', 'class'), /error/);
    await screenshot(page, 'points-insufficient');
    const listed = await settled(async () => (await call('GET', at(`/admin/v1/orders?limit=100`))).json.items);
    assert.equal(listed.filter((o) => o.email === `points-poor-${STARTED}@example.com`).length, 0);
    // The shopper can still pay by card.
    await page.check('input[name=pay_with][value=card]');
    await page.click('#pay');
    const order = await shownOrder(page);
    assert.equal(order.points.spent, 0);
    assert.equal(order.points.member, member);
    assert.deepEqual(page.errors.filter((e) => !e.includes('409')), []);
    await context.close();
  });

  test('a deployment whose development sign-in is off: the control says so, then stays out of the way', async () => {
    const { context, page } = await shopper(browser);
    // As a deployment without DEV_MEMBER_SIGN_IN answers.
    await page.route(
      (url) => url.pathname === '/v1/points/dev-token',
      (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/problem+json',
          body: JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404, code: 'dev_sign_in_off', detail: 'The development sign-in is off on this deployment (DEV_MEMBER_SIGN_IN).' }),
        }),
    );
    await page.goto(`${SHOP}/products/${product.slug}`);
    await page.click('#member-sign-in');
    await page.locator('#member-sign-in:disabled', { hasText: 'Demo sign-in is off' }).waitFor();
    assert.equal(await page.isHidden('#notice'), true, 'no error notice');
    await page.reload();
    await page.locator('#price-points').waitFor();
    assert.equal(await page.isHidden('#member'), true);
    // The rest of the shop works.
    await page.click('#add');
    await page.locator('#add-status', { hasText: 'Added to your cart' }).waitFor();
    assert.deepEqual(page.errors.filter((e) => !e.includes('404')), []);
    await context.close();
  });

  test('phone width: the signed-in header fits', async () => {
    const { context, page } = await shopper(browser, { viewport: PHONE });
    await page.goto(`${SHOP}/`);
    await page.click('#member-sign-in');
    await page.locator('#member-balance', { hasText: 'points' }).waitFor();
    const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    assert.ok(scroll <= client, `${scroll}px wide in a ${client}px viewport`);
    await screenshot(page, 'points-phone');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('a store without a programme: no sign-in, no points, card checkout as before', async () => {
    const { context, page } = await shopper(browser);
    const scripts = [];
    page.on('request', (r) => scripts.push(new URL(r.url()).pathname));
    const plain = (await call('GET', `/v1/products/${product.slug}`)).json;
    assert.equal(plain.variants[0].price_points, undefined, 'the default store has no prices in points');
    await page.goto(`${BASE}/products/${product.slug}`);
    assert.equal(await page.locator('#member, #member-sign-in').count(), 0);
    assert.equal(await page.locator('#price-points').count(), 0);
    assert.equal(await page.evaluate(() => document.body.dataset.pointsUnit), undefined);
    await page.click('#add');
    await page.locator('#add-status', { hasText: 'Added to your cart' }).waitFor();
    await page.goto(`${BASE}/cart`);
    await page.locator('.totals dd.grand').waitFor();
    assert.equal(await page.locator('.totals .in-points').count(), 0);
    await fillCheckout(page, BASE, `no-points-${STARTED}@example.com`);
    assert.equal(await page.locator('#pay-with-choices, #points-hint').count(), 0);
    assert.match(await page.textContent('#pay'), /^Pay \$/);
    await screenshot(page, 'no-points-checkout');
    await page.click('#pay');
    await page.waitForURL(/\/orders\/ord_/);
    await page.locator('#order-status', { hasText: 'Paid' }).waitFor();
    assert.equal(await page.locator('#order-points-spent, #order-points-earned').count(), 0);
    assert.ok(!scripts.includes('/js/member.js'), 'member.js is not loaded');
    assert.deepEqual(page.errors, []);
    await context.close();
  });
});
