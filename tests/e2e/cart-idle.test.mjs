// End-to-end: idle carts expire. A worker of its own (scripts/serve-direct.mjs
// on fresh state, with its own fake Stripe) whose idle period
// (`CART_IDLE_MS`) is a few seconds, so the suites that share the e2e
// worker keep the default period. Its holds last 10 minutes, so a cart that
// expires still holds its units and must give them back. Proves: an idle
// cart is deleted by its alarm with no traffic (its holds given back, then
// every operation on it 404 `cart_not_found`); a cart with activity (reads)
// lives on past the period, and expires a period after its last read; a
// cart whose checkout waits for a `processing` payment (listed as stuck) is
// kept however long it is idle, its checkout completes from the provider's
// webhook, and its answer is replayed with the same Idempotency-Key after
// more idle periods than the cart was allowed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFakeStripe } from '../fakes/stripe.mjs';
import { serve, stop as stopWorker } from './workers.mjs';

/** The idle period of this suite's worker. */
const IDLE_MS = 6_000;
/** How long a deletion may take past its deadline (the alarm, a busy machine). */
const SLACK_MS = 30_000;
const HOLD_TTL_MS = 600_000;
const STUCK_AFTER_MS = 2_000;
const WEBHOOK_SECRET = 'whsec_cart_idle_test_secret_0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let worker;
let fake;
let state;
const token = `idle-${process.pid}-${Date.now()}-secret-token`;

async function call(method, p, body, bearer, key) {
  const headers = { 'Content-Type': 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (key) headers['Idempotency-Key'] = key;
  const r = await fetch(worker.url + p, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), replayed: r.headers.get('idempotent-replayed'), json: text ? JSON.parse(text) : null, text };
}

/** Polls `check` every 250 ms until it is truthy, for at most `ms`. */
async function until(check, what, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

const available = async (sku) => (await call('GET', `/v1/inventory/${sku}`)).json.available;

function assertGone(r, what) {
  assert.equal(r.status, 404, `${what}: ${r.text}`);
  assert.match(r.type, /^application\/problem\+json/);
  assert.equal(r.json.code, 'cart_not_found', what);
}

/** A new cart holding `quantity` of `sku`. */
async function cartWith(sku, quantity) {
  const c = await call('POST', '/v1/carts');
  assert.equal(c.status, 201, c.text);
  const line = await call('POST', `/v1/carts/${c.json.id}/lines`, { sku, quantity }, c.json.token);
  assert.equal(line.status, 200, line.text);
  return { id: c.json.id, token: c.json.token, touched: Date.now() };
}

before(async () => {
  state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-cart-idle-'));
  fake = await startFakeStripe({ secretKey: 'sk_test_idle' });
  worker = await serve(state, {
    ADMIN_TOKENS: `idle:operator:${token}`,
    CART_IDLE_MS: String(IDLE_MS),
    CART_HOLD_TTL_MS: String(HOLD_TTL_MS),
    CHECKOUT_STUCK_AFTER_MS: String(STUCK_AFTER_MS),
    STRIPE_SECRET_KEY: 'sk_test_idle',
    STRIPE_TEST_API_BASE: fake.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RATE_LIMITS: 'off',
  });
  fake.setWebhook({ url: `${worker.url}/webhooks/stripe`, secret: WEBHOOK_SECRET });
  const category = await call('PUT', '/admin/v1/categories/misc', { name: 'Misc' }, token);
  assert.ok(category.status < 300, category.text);
  const variants = ['IDLE-1', 'IDLE-2', 'IDLE-3'].map((sku, i) => ({ sku, name: `V${i}`, prices: { USD: 1000 } }));
  const put = await call('PUT', '/admin/v1/products/prd_idle', { id: 'prd_idle', slug: 'idle', name: 'Idle probe', category: 'misc', variants }, token);
  assert.ok(put.status < 300, put.text);
  for (const { sku } of variants) {
    assert.equal((await call('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 50, reason: 'idle tests' }, token)).status, 200);
  }
  const config = (await call('GET', '/admin/v1/store', undefined, token)).json;
  delete config.schema;
  const shipping_methods = [{ id: 'standard', name: 'Standard', rates: { USD: 500 } }];
  const stored = await call('PUT', '/admin/v1/store', { ...config, shipping_methods, payment: { provider: 'stripe' } }, token);
  assert.equal(stored.status, 200, stored.text);
  await sleep(1200);
});

after(async () => {
  if (worker) await stopWorker(worker.child);
  await fake?.stop();
  if (state) fs.rmSync(state, { recursive: true, force: true });
});

describe('idle carts', () => {
  test('an idle cart is deleted by its alarm with no traffic: its holds given back, its storage gone (404 cart_not_found)', async () => {
    const c = await cartWith('IDLE-1', 2);
    assert.equal(await available('IDLE-1'), 48, 'the cart holds 2 (for 10 minutes)');
    const read = await call('GET', `/v1/carts/${c.id}`, undefined, c.token);
    assert.equal(read.status, 200, read.text);
    const lastActivity = Date.now();
    // No request reaches the cart from here on: the stock object is asked
    // only. Its holds come back long before their 10 minutes, when the
    // cart's alarm deletes it.
    await until(async () => (await available('IDLE-1')) === 50, 'the holds given back', IDLE_MS + SLACK_MS);
    const gone = Date.now();
    assert.ok(gone - lastActivity >= IDLE_MS - 500, `not before the period (${gone - lastActivity} ms)`);
    const log = fs.readFileSync(path.join(state, 'worker.log'), 'utf8');
    assert.match(log, new RegExp(`cart ${c.id} idle since [^:]+:[^:]+:[^:]+: deleted`), 'the object logs the deletion');
    // Every operation on it is now that of an unknown cart.
    assertGone(await call('GET', `/v1/carts/${c.id}`, undefined, c.token), 'read');
    assertGone(await call('POST', `/v1/carts/${c.id}/lines`, { sku: 'IDLE-1', quantity: 1 }, c.token), 'line change');
    assertGone(await call('POST', `/v1/carts/${c.id}/coupons`, { code: 'NOPE' }, c.token), 'coupon');
    const body = {
      email: 'a@example.com',
      shipping_address: { name: 'A', line1: '1 St', city: 'X', postal_code: '10001', country: 'US' },
      shipping_method: 'standard',
      payment: { method: 'card', token: 'pm_card_visa' },
      expected_total: { amount: 2500, currency: 'USD' },
    };
    assertGone(await call('POST', `/v1/carts/${c.id}/checkout`, body, c.token, 'idle-k1'), 'checkout');
    // Nothing it was asked created storage again, and nothing was held.
    assertGone(await call('GET', `/v1/carts/${c.id}`, undefined, c.token), 'read again');
    assert.equal(await available('IDLE-1'), 50);
  });

  test('activity keeps a cart: read for over two periods it lives on, and expires a period after its last read', async () => {
    const c = await cartWith('IDLE-2', 1);
    const created = Date.now();
    let last = created;
    while (Date.now() - created < 2.5 * IDLE_MS) {
      await sleep(IDLE_MS / 4);
      const r = await call('GET', `/v1/carts/${c.id}`, undefined, c.token);
      assert.equal(r.status, 200, `alive ${Date.now() - created} ms after its creation: ${r.text}`);
      assert.equal(r.json.lines[0].quantity, 1);
      last = Date.now();
    }
    assert.equal(await available('IDLE-2'), 49, 'still held');
    // Then left alone: deleted a period after the last read, not before.
    await until(async () => (await available('IDLE-2')) === 50, 'the deletion', IDLE_MS + SLACK_MS);
    const idle = Date.now() - last;
    assert.ok(idle >= IDLE_MS - IDLE_MS / 30 - 500, `not before a period after the last read (${idle} ms)`);
    assertGone(await call('GET', `/v1/carts/${c.id}`, undefined, c.token), 'after the period');
  });

  test('a cart whose checkout is open (payment processing, listed as stuck) is never deleted; its answer outlives the period too', async () => {
    const c = await cartWith('IDLE-3', 1);
    const view = await call('GET', `/v1/carts/${c.id}?country=US&shipping_method=standard`, undefined, c.token);
    assert.equal(view.status, 200, view.text);
    const body = {
      email: 'b@example.com',
      shipping_address: { name: 'B', line1: '2 St', city: 'Y', postal_code: '10001', country: 'US' },
      shipping_method: 'standard',
      payment: { method: 'card', token: 'pm_card_processing' },
      expected_total: view.json.grand_total,
    };
    const key = `idle-processing-${Date.now()}`;
    const first = await call('POST', `/v1/carts/${c.id}/checkout`, body, c.token, key);
    assert.equal(first.status, 409, first.text);
    assert.equal(first.json.code, 'payment_processing');
    // Left alone for several periods: no request reaches the cart. Its
    // checkout is listed as stuck meanwhile (the store's list, not the cart).
    const quiet = Date.now();
    await until(async () => {
      const stuck = await call('GET', '/admin/v1/checkouts?state=stuck', undefined, token);
      return stuck.json?.items?.some((x) => x.cart === c.id);
    }, 'the stuck listing', 60_000);
    await sleep(Math.max(0, quiet + 3 * IDLE_MS - Date.now()));
    assert.equal(await available('IDLE-3'), 49, 'the checkout still holds its unit');
    // Stripe decides: its webhook reaches the cart, which is still there
    // with its recovery points, and places the order.
    const intent = fake.events().find((e) => e.type === 'payment_intent.processing' && fake.intent(e.object_id).metadata.cart === c.id);
    assert.ok(intent, 'the processing payment');
    fake.settle(intent.object_id, 'succeed');
    await fake.waitForDeliveries();
    const order = await until(async () => {
      const r = await call('POST', `/v1/carts/${c.id}/checkout`, body, c.token, key);
      return r.json?.code === 'payment_processing' ? null : r;
    }, 'the order', SLACK_MS);
    assert.equal(order.status, 201, order.text);
    assert.equal(order.json.order.payment.reference, intent.object_id);
    // Finished, the cart outlives more idle periods with no traffic: the
    // checkout's answer is kept 25 h, and a retry with the key replays it.
    await sleep(3 * IDLE_MS);
    const replay = await call('POST', `/v1/carts/${c.id}/checkout`, body, c.token, key);
    assert.equal(replay.status, 201, replay.text);
    assert.equal(replay.replayed, 'true');
    assert.equal(replay.json.order.id, order.json.order.id);
    const read = await call('GET', `/v1/orders/${order.json.order.id}`, undefined, order.json.order_token);
    assert.equal(read.status, 200, read.text);
  });
});
