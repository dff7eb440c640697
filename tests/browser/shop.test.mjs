// The demo shop in a real headless Chromium, against the Worker that
// scripts/test.mjs started (EDGECART_URL): search and filter, add two
// products, change a quantity, apply a coupon, pay with the test provider,
// a declined card, a double click on Pay, the phone layout, pages without
// JavaScript, no console errors. Screenshots go to artifacts/screenshots/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { settled } from '../settled.mjs';
import { DESKTOP, PHONE, fillAddress, launch, screenshot, settle, shopper } from './browser.mjs';

const BASE = process.env.EDGECART_URL;
const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
if (!BASE) throw new Error('EDGECART_URL is not set: run the browser tests through `npm test`');

async function call(method, path, body, token = ADMIN) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, text };
}

const STARTED = Date.now();
const COUPON = `SHOP${STARTED % 100000}`;
/** Two products the scenarios buy, found through the public API. */
let first;
let second;
let browser;

/** Orders placed since the tests started with `email` (through the admin API, once its index caught up). */
async function ordersFor(email) {
  return settled(() => listedFor(email));
}

async function listedFor(email) {
  const found = [];
  let cursor = '';
  for (let i = 0; i < 20; i++) {
    const r = await call('GET', `/admin/v1/orders?limit=100&created_after=${new Date(STARTED - 60_000).toISOString()}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    found.push(...r.json.items.filter((o) => o.email === email));
    if (!r.json.next_cursor) break;
    cursor = encodeURIComponent(r.json.next_cursor);
  }
  return found;
}

before(async () => {
  // Two in-stock products with one variant each, from different categories.
  const list = await (await fetch(`${BASE}/v1/products?q=kettle&limit=50`)).json();
  const pick = async (items, not) => {
    for (const item of items) {
      if (item.variant_count !== 1 || item.category?.slug === not?.category?.slug) continue;
      const p = await (await fetch(`${BASE}/v1/products/${item.slug}`)).json();
      if (p.max_per_order) continue;
      return p;
    }
    throw new Error('no suitable product');
  };
  first = await pick(list.items);
  const others = await (await fetch(`${BASE}/v1/products?q=notebook&limit=50`)).json();
  second = await pick(others.items, first);
  for (const p of [first, second]) {
    const r = await call('PUT', `/admin/v1/inventory/${p.variants[0].sku}`, { on_hand: 500, reason: 'browser tests' });
    assert.equal(r.status, 200, r.text);
  }
  const promo = await call('PUT', `/admin/v1/promotions/${COUPON.toLowerCase()}`, {
    code: COUPON,
    discount: { type: 'percentage', basis_points: 1000 },
    target: { type: 'cart' },
  });
  assert.equal(promo.status, 201, promo.text);
  browser = await launch();
  // The store's published copy (which carts read) catches up within a second.
  await new Promise((r) => setTimeout(r, 1200));
});

after(async () => {
  await browser?.close();
  await call('DELETE', `/admin/v1/promotions/${COUPON.toLowerCase()}`);
});

/** Opens a product page and adds `quantity` of its first variant. */
async function addToCart(page, product, quantity = 1) {
  await page.goto(`${BASE}/products/${product.slug}`);
  await page.fill('#qty', String(quantity));
  await page.click('#add');
  await page.locator('#add-status', { hasText: 'Added to your cart' }).waitFor();
}

/** Fills the checkout form (US, New York) with `card`. */
async function fillCheckout(page, email, card = '4242 4242 4242 4242') {
  await fillAddress(page, BASE, email);
  await page.fill('#card', card);
  // The summary is re-read for the region and country (debounced): wait
  // until those reads are done and the button shows their total.
  await page.locator('#card').blur();
  await settle(page);
  await page.waitForFunction(() => document.querySelector('#pay')?.textContent.startsWith('Pay $') && !document.querySelector('#pay').disabled);
}

const email = (what) => `${what}-${STARTED}@example.com`;

describe('a second store in Chromium', () => {
  test("a rewards store on its own host: its name, colours, headline, categories, own price list and currency; screenshots of both stores", async () => {
    const host = 'rewards.bank.localhost';
    const put = await call('PUT', '/admin/v1/stores/bank', {
      name: 'Harbour Bank Rewards',
      hosts: [host],
      default_currency: 'GBP',
      currencies: ['GBP'],
      skin: {
        name: 'Harbour Bank Rewards',
        colours: { brand: '#0b3d91', 'brand-ink': '#ffffff' },
        hero: 'Your points, spent on things you love',
        footer: 'Harbour Bank Rewards: a demo rewards store.',
      },
      selection: { type: 'categories', categories: [first.category.slug] },
    });
    assert.ok([200, 201].includes(put.status), put.text);
    // Its own price list, in a currency the base catalog has none in: 12
    // products of its category, each variant at £10.99, £11.99, ...
    const slug = first.category.slug;
    const picked = (await (await fetch(`${BASE}/v1/products?category=${slug}&limit=12`)).json()).items;
    const own = [];
    for (const item of picked) {
      const p = await (await fetch(`${BASE}/v1/products/${item.id}`)).json();
      for (const v of p.variants) own.push({ sku: v.sku, currency: 'GBP', amount: 1099 + own.length * 100 });
    }
    const priced = await call('POST', '/admin/v1/store/prices?store=bank', { prices: own });
    assert.equal(priced.status, 200, priced.text);
    const bank = BASE.replace('127.0.0.1', host);
    const { context, page } = await shopper(browser);
    await page.goto(`${bank}/`);
    assert.equal((await page.locator('header.site .brand').textContent()).trim(), 'Harbour Bank Rewards');
    assert.equal(await page.locator('.hero h1').textContent(), 'Your points, spent on things you love');
    const background = await page.locator('header.site').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(background, 'rgb(11, 61, 145)');
    const categories = await page.locator('.categories a').allTextContents();
    assert.equal(categories.length, 1, categories.join(', '));
    assert.match(await page.locator('footer.site').textContent(), /Harbour Bank Rewards: a demo rewards store/);
    await screenshot(page, 'bank-home');
    await page.goto(`${bank}/products`);
    await page.waitForSelector('.card');
    const prices = await page.locator('.card .price').allTextContents();
    assert.equal(prices.length, picked.length, prices.join(' '));
    assert.ok(prices.every((p) => p.includes('£')), prices.join(' '));
    assert.ok(prices.some((p) => p.includes('£10.99')), prices.join(' '));
    await screenshot(page, 'bank-listing');
    // The product page and the cart charge the store's own price.
    await page.goto(`${bank}/products/${picked[0].slug}`);
    await page.locator('#price', { hasText: '£' }).waitFor();
    const firstOwn = own.slice(0, picked[0].variant_count).map((o) => `£${(o.amount / 100).toFixed(2)}`);
    const shown = (await page.textContent('#price')).trim();
    assert.ok(firstOwn.some((t) => shown.includes(t)), `${shown} is one of ${firstOwn.join(', ')}`);
    await screenshot(page, 'bank-product');
    // The default store, on its own host, is unchanged.
    await page.goto(`${BASE}/`);
    assert.equal((await page.locator('header.site .brand').textContent()).trim(), 'Edgecart');
    await screenshot(page, 'default-home');
    assert.deepEqual(page.errors, []);
    await context.close();
  });
});

describe('the demo shop in Chromium', () => {
  test('search and filter to a product, add two products, change a quantity, apply a coupon, pay', async () => {
    const { context, page } = await shopper(browser);
    await page.goto(BASE);
    await screenshot(page, 'home');
    // Results as you type, then a category filter.
    await page.goto(`${BASE}/products`);
    await screenshot(page, 'listing');
    const word = first.name.split(' ').at(-1);
    await page.fill('#q', `${first.name}`);
    await page.waitForFunction((q) => new URL(location.href).searchParams.get('q') === q, first.name);
    await page.check(`#filters input[name=category][value="${first.category.slug}"]`);
    await page.waitForFunction((c) => new URL(location.href).searchParams.get('category') === c, first.category.slug);
    await page.locator('#products .card', { hasText: first.name }).first().waitFor();
    const names = await page.locator('#products .card .name').allTextContents();
    assert.ok(names.length > 0 && names.includes(first.name), `${word}: ${names.join(', ')}`);
    await page.locator('#products .card a', { hasText: first.name }).first().click();
    await page.waitForURL(`${BASE}/products/${first.slug}`);
    await page.locator('#availability', { hasText: /In stock|left/ }).waitFor();
    await screenshot(page, 'product');

    await page.click('#add');
    await page.locator('#add-status', { hasText: 'Added to your cart' }).waitFor();
    await addToCart(page, second);
    assert.equal(await page.textContent('#cart-count'), '2');

    await page.goto(`${BASE}/cart`);
    await page.locator(`.line[data-sku="${first.variants[0].sku}"]`).waitFor();
    const qty = page.locator(`#qty-${first.variants[0].sku}`);
    await qty.fill('3');
    await qty.press('Enter');
    await qty.blur();
    await page.locator('.totals dt', { hasText: 'Subtotal (4 items)' }).waitFor();
    await page.fill('#coupon', COUPON.toLowerCase());
    await page.click('.coupon-form button');
    await page.locator('.totals dt', { hasText: `Discount ${COUPON}` }).waitFor();
    assert.match(await page.textContent('.hold'), /reserved for \d+:\d\d/);
    await screenshot(page, 'cart');

    await fillCheckout(page, email('paid'));
    await screenshot(page, 'checkout');
    const shown = (await page.textContent('#pay')).replace('Pay ', '');
    await page.click('#pay');
    await page.waitForURL(/\/orders\/ord_/);
    await page.locator('#order-status', { hasText: 'Paid' }).waitFor();
    assert.equal(await page.textContent('main h1'), 'Thank you! Your order is placed.');
    assert.equal(await page.textContent('.totals dd.grand'), shown);
    await screenshot(page, 'order');
    const orders = await ordersFor(email('paid'));
    assert.equal(orders.length, 1);
    const charged = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(orders[0].grand_total / 100);
    assert.equal(charged, shown, 'the order charged the total the shopper saw');
    assert.equal(await page.textContent('#cart-count'), '', 'the cart is spent');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('a declined card shows the error and leaves the cart intact', async () => {
    const { context, page } = await shopper(browser);
    await addToCart(page, first, 2);
    const cart = await page.evaluate(() => JSON.parse(localStorage.getItem('edgecart.cart')));
    await fillCheckout(page, email('declined'), '4000 0000 0000 0002');
    await page.click('#pay');
    await page.locator('#pay-status', { hasText: 'declined' }).waitFor();
    await screenshot(page, 'checkout-declined');
    const after = await call('GET', `/v1/carts/${cart.id}`, undefined, cart.token);
    assert.equal(after.status, 200, after.text);
    assert.deepEqual(after.json.lines.map((l) => [l.sku, l.quantity]), [[first.variants[0].sku, 2]]);
    assert.equal((await ordersFor(email('declined'))).length, 0);
    // The shopper can pay with another card right away.
    await page.fill('#card', '4242 4242 4242 4242');
    await page.click('#pay');
    await page.waitForURL(/\/orders\/ord_/);
    assert.equal((await ordersFor(email('declined'))).length, 1);
    assert.deepEqual(page.errors.filter((e) => !e.includes('402')), []);
    await context.close();
  });

  test('double-clicking Pay creates exactly one order', async () => {
    const { context, page } = await shopper(browser);
    await addToCart(page, second);
    await fillCheckout(page, email('double'));
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/checkout')) posts++;
    });
    await page.dblclick('#pay');
    await page.waitForURL(/\/orders\/ord_/);
    await page.locator('#order-status', { hasText: 'Paid' }).waitFor();
    assert.equal(posts, 1, 'one checkout request');
    assert.equal((await ordersFor(email('double'))).length, 1);
    assert.deepEqual(page.errors, []);
    // The status link opens the order in another browser (the token is in
    // its fragment), which can cancel it.
    const link = await page.getAttribute('#order-link', 'href');
    const elsewhere = await shopper(browser);
    await elsewhere.page.goto(link);
    await elsewhere.page.locator('#order-status', { hasText: 'Paid' }).waitFor();
    assert.ok(!elsewhere.page.url().includes('token'), 'the token leaves the address bar');
    elsewhere.page.once('dialog', (d) => d.accept());
    await elsewhere.page.click('#cancel-order');
    await elsewhere.page.locator('#order-status', { hasText: 'Cancelled' }).waitFor();
    assert.equal((await ordersFor(email('double')))[0].status, 'cancelled');
    assert.deepEqual(elsewhere.page.errors, []);
    await elsewhere.context.close();
    await context.close();
  });

  test('a reload in the middle of paying resends the same attempt: still one order', async () => {
    const { context, page } = await shopper(browser);
    await addToCart(page, first);
    await fillCheckout(page, email('reload'));
    const keys = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/checkout')) keys.push(r.headers()['idempotency-key']);
    });
    // The first answer never reaches the page (as if the tab reloaded
    // mid-flight): the request reaches the shop, its answer is dropped.
    let dropped = null;
    await page.route(
      (url) => url.pathname.endsWith('/checkout') && url.pathname.startsWith('/v1/'),
      async (route) => {
        if (dropped || route.request().method() !== 'POST') return route.continue();
        try {
          dropped = (await route.fetch()).status();
        } catch (e) {
          dropped = e.message;
        }
        await route.abort('connectionreset');
      },
    );
    await page.click('#pay');
    const outcome = await Promise.race([
      page.locator('#notice', { hasText: 'could not confirm your payment' }).waitFor().then(() => 'notice'),
      page.waitForURL(/\/orders\//).then(() => 'order page'),
    ]).catch((e) => e.message);
    assert.equal(outcome, 'notice', `dropped answer: ${dropped}; page errors: ${page.errors.join('; ')}`);
    assert.equal(dropped, 201, 'the dropped attempt was paid');
    await page.reload();
    await page.waitForURL(/\/orders\/ord_/);
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], 'the same Idempotency-Key');
    assert.equal((await ordersFor(email('reload'))).length, 1);
    await context.close();
  });

  test('a price changed by the merchant after the shopper saw the total: told, not charged, then pays the new total', async () => {
    const { context, page } = await shopper(browser);
    await addToCart(page, second);
    await fillCheckout(page, email('changed'));
    const seen = (await page.textContent('#pay')).replace('Pay ', '');
    const sku = second.variants[0].sku;
    const old = second.variants[0].price.amount;
    const r = await call('PUT', `/admin/v1/prices/${sku}/USD`, { amount: old + 500 });
    assert.ok([200, 201].includes(r.status), r.text);
    try {
      // The isolate trusts its catalog pointer for CATALOG_POINTER_TTL_MS.
      await new Promise((res) => setTimeout(res, 1500));
      await page.click('#pay');
      await page.locator('#pay-status', { hasText: 'The total changed' }).waitFor();
      const told = await page.textContent('#pay-status');
      assert.ok(told.includes(`from ${seen} to `), told);
      assert.equal((await ordersFor(email('changed'))).length, 0, 'nothing was charged');
      const now = (await page.textContent('#pay')).replace('Pay ', '');
      assert.notEqual(now, seen, 'the button shows the new total');
      await page.click('#pay');
      await page.waitForURL(/\/orders\/ord_/);
      const [order] = await ordersFor(email('changed'));
      assert.equal(new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(order.grand_total / 100), now);
    } finally {
      await call('PUT', `/admin/v1/prices/${sku}/USD`, { amount: old });
    }
    assert.deepEqual(page.errors.filter((e) => !e.includes('409')), []);
    await context.close();
  });

  test('out of stock is told; switching to EUR moves the cart and prices everything in euros', async () => {
    const { context, page } = await shopper(browser);
    await addToCart(page, first, 2);
    const usdCart = await page.evaluate(() => JSON.parse(localStorage.getItem('edgecart.cart')));
    // Exactly one unit left for anyone: on hand = what is held or sold + 1.
    const sku = second.variants[0].sku;
    const levels = (await call('GET', `/admin/v1/inventory/${sku}`)).json;
    const r = await call('PUT', `/admin/v1/inventory/${sku}`, { on_hand: levels.on_hand - levels.available + 1, reason: 'browser tests' });
    assert.equal(r.status, 200, r.text);
    await page.goto(`${BASE}/products/${second.slug}`);
    await page.locator('#availability', { hasText: 'Only 1 left' }).waitFor();
    await page.fill('#qty', '2');
    await page.click('#add');
    await page.locator('#add-status', { hasText: /Only 1 available|sold out/ }).waitFor();
    await Promise.all([page.waitForEvent('load'), page.selectOption('#currency', 'EUR')]);
    await page.locator('#price', { hasText: '€' }).waitFor();
    await call('PUT', `/admin/v1/inventory/${sku}`, { on_hand: levels.on_hand - levels.available + 500, reason: 'browser tests' });
    // The cart moved: a new cart in EUR holds the same line; the old one let its hold go.
    const eurCart = await page.evaluate(() => JSON.parse(localStorage.getItem('edgecart.cart')));
    assert.equal(eurCart.currency, 'EUR');
    assert.notEqual(eurCart.id, usdCart.id);
    const old = await call('GET', `/v1/carts/${usdCart.id}`, undefined, usdCart.token);
    assert.deepEqual(old.json.lines, []);
    await page.goto(`${BASE}/cart`);
    await page.locator(`.line[data-sku="${first.variants[0].sku}"]`).waitFor();
    assert.equal(await page.inputValue(`#qty-${first.variants[0].sku}`), '2');
    assert.match(await page.textContent('.totals dd.grand'), /^€/);
    await page.goto(`${BASE}/products`);
    assert.match(await page.textContent('#products .card .price'), /€/);
    assert.deepEqual(page.errors.filter((e) => !e.includes('409')), []);
    await context.close();
  });

  test('a shipping method that does not ship to the chosen country gives way to one that does', async () => {
    // The store's configuration as PUT takes it (without its record's schema number).
    const config = (await call('GET', '/admin/v1/store')).json;
    delete config.schema;
    const onlyDE = {
      ...config,
      shipping_methods: config.shipping_methods.map((m) => (m.id === 'express' ? { ...m, countries: ['DE'] } : m)),
    };
    const put = await call('PUT', '/admin/v1/store', onlyDE);
    assert.equal(put.status, 200, put.text);
    const { context, page } = await shopper(browser);
    try {
      await new Promise((r) => setTimeout(r, 1500)); // the store's published copy
      await addToCart(page, first);
      await page.evaluate(() => localStorage.setItem('edgecart.destination', JSON.stringify({ country: 'US', shipping_method: 'express' })));
      await page.goto(`${BASE}/cart`);
      await page.locator('input[name=shipping_method][value=standard]:checked').waitFor();
      assert.equal(await page.locator('input[name=shipping_method][value=express]').count(), 0);
      assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('edgecart.destination')).shipping_method), 'standard');
      assert.deepEqual(page.errors.filter((e) => !/\b(400|422)\b/.test(e)), []);
    } finally {
      await call('PUT', '/admin/v1/store', config);
      await context.close();
    }
  });

  test('a network failure says so and its Retry button finishes the action', async () => {
    const { context, page } = await shopper(browser);
    await page.goto(`${BASE}/products/${first.slug}`);
    await page.locator('#availability', { hasText: /In stock|left/ }).waitFor();
    await context.setOffline(true);
    await page.click('#add');
    await page.locator('#notice', { hasText: 'could not reach the shop' }).waitFor();
    await context.setOffline(false);
    await page.click('#notice button');
    await page.locator('#add-status', { hasText: 'Added to your cart' }).waitFor();
    assert.equal(await page.textContent('#cart-count'), '1');
    await context.close();
  });

  test('phone width: no horizontal scroll on any main page', async () => {
    const { context, page } = await shopper(browser, { viewport: PHONE });
    await addToCart(page, first);
    for (const [name, path] of [
      ['home', '/'],
      ['listing', '/products'],
      ['product', `/products/${first.slug}`],
      ['cart', '/cart'],
      ['checkout', '/checkout'],
    ]) {
      await page.goto(BASE + path);
      await page.waitForLoadState('networkidle');
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `${path}: ${scroll}px wide in a ${client}px viewport`);
      await screenshot(page, `phone-${name}`);
    }
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('keyboard: skip link, search and cards are reachable with Tab; images have alt text', async () => {
    const { context, page } = await shopper(browser, { viewport: DESKTOP });
    await page.goto(`${BASE}/products`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    const focusable = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      focusable.push(await page.evaluate(() => document.activeElement.id || document.activeElement.closest('.card')?.className || document.activeElement.tagName));
    }
    assert.ok(focusable.includes('q'), 'the search box');
    assert.ok(focusable.includes('card'), 'a product card');
    const missing = await page.evaluate(() => [...document.images].filter((i) => !i.hasAttribute('alt')).length);
    assert.equal(missing, 0);
    await context.close();
  });

  test('without JavaScript the listing and product pages are meaningful HTML', async () => {
    const { context, page } = await shopper(browser, { javaScript: false });
    await page.goto(`${BASE}/products?category=${first.category.slug}`);
    assert.equal(await page.textContent('h1'), first.category.name);
    assert.ok((await page.locator('#products .card').count()) > 0);
    await page.goto(`${BASE}/products/${first.slug}`);
    assert.equal(await page.textContent('h1'), first.name);
    assert.match(await page.textContent('#price'), /^\$\d/);
    assert.equal(await page.getAttribute('link[rel=canonical]', 'href'), `/products/${first.slug}`);
    const missing = await page.goto(`${BASE}/products/no-such-product`);
    assert.equal(missing.status(), 404);
    assert.equal(await page.textContent('h1'), 'We could not find that page');
    // A dead link outside the API is the shop's page too, not problem+json.
    const dead = await page.goto(`${BASE}/prodcts`);
    assert.equal(dead.status(), 404);
    assert.match(dead.headers()['content-type'], /^text\/html/);
    assert.equal(await page.textContent('h1'), 'We could not find that page');
    await context.close();
  });
});
