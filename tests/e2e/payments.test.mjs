// End-to-end: payments a merchant can go live with, against the local fake
// of Stripe (tests/fakes/stripe.mjs) that scripts/test.mjs started, which
// answers as Stripe does, asks for 3-D Secure, processes, and sends signed
// webhooks to the Worker's POST /webhooks/stripe. Every promise is checked
// at the fake: no order without a charge, no charge without an order or a
// refund, events replayed and reordered change nothing twice, and a bad
// signature changes nothing. In a store of its own (`pay`), paying with
// Stripe, so other suites' configurations do not matter.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startFakeStripe } from '../fakes/stripe.mjs';
import { api, assertProblem, auditTrail, BASE, sendJson, stripe } from './client.mjs';
import { settled as settledList } from '../settled.mjs';
import { serve, stop as stopWorker } from './workers.mjs';

const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
const WEBHOOK_SECRET = process.env.EDGECART_STRIPE_WEBHOOK_SECRET;
const STRIPE_KEY = process.env.EDGECART_STRIPE_SECRET_KEY;
const STUCK_AFTER_MS = Number(process.env.EDGECART_STUCK_AFTER_MS);
const TTL_MS = Number(process.env.EDGECART_CART_TTL_MS);
const STORE = 'pay';
const inStore = (p) => `${p}${p.includes('?') ? '&' : '?'}store=${STORE}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let sku;
let unit;

const admin = (method, p, body) => sendJson(method, inStore(p), body, { token: OPERATOR });

const config = (payment = { provider: 'stripe' }) => ({
  tax: { prices_include_tax: false, rates: [] },
  shipping_methods: [
    { id: 'standard', name: 'Standard', rates: { USD: 500 } },
    { id: 'pickup', name: 'Pick up in store', rates: { USD: 0 } },
  ],
  payment,
});

before(async () => {
  assert.ok(WEBHOOK_SECRET && stripe, 'scripts/test.mjs starts the fake Stripe and sets the webhook secret');
  const created = await sendJson('PUT', `/admin/v1/stores/${STORE}`, { name: 'Pay', default_currency: 'USD', currencies: ['USD'] }, { token: OPERATOR });
  assert.ok([200, 201].includes(created.status), created.text);
  const r = await admin('PUT', '/admin/v1/store', config());
  assert.equal(r.status, 200, r.text);
  const product = (await api.product('prd_00057')).json;
  sku = product.variants[0].sku;
  unit = product.variants[0].prices.find((p) => p.currency === 'USD').amount;
  const stock = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 10_000, reason: 'payments tests' }, { token: OPERATOR });
  assert.equal(stock.status, 200, stock.text);
});

let keys = 0;
const newKey = () => `pay-${process.pid}-${++keys}-${Date.now()}`;

/** A cart of the store with one unit, and the total to confirm for `method`. */
async function cart(method = 'standard') {
  const c = (await sendJson('POST', inStore('/v1/carts'))).json;
  const r = await sendJson('POST', inStore(`/v1/carts/${c.id}/lines`), { sku, quantity: 1 }, { token: c.token });
  assert.equal(r.status, 200, r.text);
  const view = await sendJson('GET', inStore(`/v1/carts/${c.id}?country=US&shipping_method=${method}`), undefined, { token: c.token });
  assert.equal(view.status, 200, view.text);
  return { ...c, total: view.json.grand_total, method, key: newKey() };
}

const body = (c, token) => ({
  email: 'lin@example.com',
  shipping_address: { name: 'Lin Wu', line1: '9 Pier St', city: 'Boston', postal_code: '02110', country: 'US' },
  shipping_method: c.method,
  payment: { method: 'card', token },
  expected_total: c.total,
});

/** The checkout of `c` with card `token`, under the cart's key (or `key`). */
const checkout = (c, token, key = c.key) => sendJson('POST', inStore(`/v1/carts/${c.id}/checkout`), body(c, token), { token: c.token, key });

/** The PaymentIntents at the fake for the order of a checkout answer (by the cart). */
async function intentsOf(c) {
  return (await stripe.requests())
    .filter((r) => r.path === '/v1/payment_intents' && r.method === 'POST' && r.form?.metadata?.cart === c.id)
    .map((r) => r.form.metadata.order_id)
    .filter((v, i, all) => all.indexOf(v) === i);
}

/** The fake's PaymentIntents for order `order`, as they are now. */
async function piFor(order) {
  const all = await stripe.events();
  const ids = new Set();
  for (const e of all) if (e.type.startsWith('payment_intent.')) ids.add(e.object_id);
  const found = [];
  for (const id of ids) {
    const pi = await stripe.intent(id);
    if (pi.metadata?.order_id === order) found.push(pi);
  }
  return found;
}

/** The store's order list, once its index caught up with the orders' events. */
async function orderList() {
  return settledList(async () => {
    const r = await admin('GET', '/admin/v1/orders?limit=200');
    assert.equal(r.status, 200, r.text);
    return r.json.items;
  });
}

/** The store's orders of cart `c` (the admin list has no cart filter: by email and amount). */
async function ordersOf(c) {
  const out = [];
  for (const o of await orderList()) {
    const full = (await admin('GET', `/admin/v1/orders/${o.id}`)).json;
    if (full.cart_id === c.id) out.push(full);
  }
  return out;
}

/** Waits until `check` is truthy (bounded), polling. */
async function until(check, what, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Whether the cart's lines may change (no checkout holds it). */
async function unlocked(c) {
  const r = await sendJson('PATCH', inStore(`/v1/carts/${c.id}/lines/${sku}`), { quantity: 1 }, { token: c.token });
  return r.status === 200;
}

describe('payments: Stripe host, checks and declines', () => {
  test('a store cannot point Stripe elsewhere: base_url is refused and the configuration is unchanged', async () => {
    const before = (await admin('GET', '/admin/v1/store')).json;
    const r = await admin('PUT', '/admin/v1/store', config({ provider: 'stripe', base_url: 'https://stripe.attacker.example' }));
    assertProblem(r, 422, 'validation_failed');
    assert.deepEqual(r.json.errors.map((e) => [e.field, e.code]), [['payment.base_url', 'not_configurable']]);
    assert.deepEqual((await admin('GET', '/admin/v1/store')).json, before);
    assert.deepEqual(before.payment, { provider: 'stripe' });
  });

  test('every Stripe request pins Stripe-Version and carries the order in its metadata', async () => {
    const c = await cart();
    const r = await checkout(c, 'pm_card_visa');
    assert.equal(r.status, 201, r.text);
    const sent = (await stripe.requests()).filter((q) => q.form?.metadata?.order_id === r.json.order.id);
    assert.ok(sent.length >= 1);
    for (const q of sent) {
      assert.equal(q.headers['stripe-version'], '2024-06-20');
      assert.deepEqual(q.form.metadata, { order_id: r.json.order.id, store: STORE, cart: c.id });
    }
  });

  test('decline codes that help card testers are reported as card_declined; the shopper-actionable ones pass', async () => {
    for (const [token, code] of [
      ['pm_card_chargeDeclinedStolenCard', 'card_declined'],
      ['pm_card_chargeDeclinedLostCard', 'card_declined'],
      ['pm_card_chargeDeclinedFraudulent', 'card_declined'],
      ['pm_card_chargeDeclinedIncorrectCvc', 'card_declined'],
      ['pm_card_chargeDeclined', 'card_declined'],
      ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
    ]) {
      const c = await cart();
      const r = await checkout(c, token);
      assertProblem(r, 402, 'payment_declined');
      assert.equal(r.json.decline_code, code, token);
      assert.doesNotMatch(r.text, /stolen|lost|fraud|security code|cvc/i, token);
      assert.ok(await unlocked(c), 'the cart is free again');
    }
  });

  test('a PaymentIntent for another amount is never paid: 503, no order, and the charge found later is refunded', async () => {
    const c = await cart();
    await stripe.setMode('mismatch');
    let first;
    try {
      first = await checkout(c, 'pm_card_visa');
    } finally {
      await stripe.setMode('normal');
    }
    assertProblem(first, 503, 'payment_unavailable');
    // The same key resumes the verification: Stripe now answers the real
    // intent, which the shopper was told failed, so it is refunded.
    const again = await checkout(c, 'pm_card_visa');
    assertProblem(again, 503, 'payment_unavailable');
    const [order] = await intentsOf(c);
    const [pi] = await piFor(order);
    assert.equal(pi.status, 'succeeded');
    const refunds = (await stripe.refunds()).filter((x) => x.payment_intent === pi.id);
    assert.equal(refunds.length, 1, 'refunded once');
    assert.equal(refunds[0].amount, pi.amount);
    assert.deepEqual(await ordersOf(c), [], 'no order');
  });

  test('a total of 0 takes no charge: provider none, no PaymentIntent', async () => {
    const promo = await admin('PUT', '/admin/v1/promotions/all-free', {
      code: 'ALLFREE', description: 'Everything free', discount: { type: 'percentage', basis_points: 10_000 }, target: { type: 'cart' },
    });
    assert.ok([200, 201].includes(promo.status), promo.text);
    await sleep(1200); // the store's published copy, which carts read
    try {
      const c = await cart('pickup');
      const added = await sendJson('POST', inStore(`/v1/carts/${c.id}/coupons`), { code: 'ALLFREE' }, { token: c.token });
      assert.equal(added.status, 200, added.text);
      const view = await sendJson('GET', inStore(`/v1/carts/${c.id}?country=US&shipping_method=pickup`), undefined, { token: c.token });
      assert.deepEqual(view.json.grand_total, { amount: 0, currency: 'USD' });
      const before = (await stripe.requests()).length;
      const r = await checkout({ ...c, total: view.json.grand_total }, 'pm_card_visa');
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.json.order.payment, { provider: 'none', reference: `free_${r.json.order.id}` });
      assert.equal((await stripe.requests()).length, before, 'Stripe was not asked');
    } finally {
      await admin('DELETE', '/admin/v1/promotions/all-free');
    }
  });
});

describe('payments: 3-D Secure and processing', () => {
  test('3-D Secure: 402 with the client secret, holds and lock kept; the retry with the key after authenticating places the order', async () => {
    const c = await cart();
    const first = await checkout(c, 'pm_card_threeDSecure2Required');
    assertProblem(first, 402, 'payment_action_required');
    const [order] = await intentsOf(c);
    const [pi] = await piFor(order);
    assert.equal(pi.status, 'requires_action');
    assert.equal(first.json.client_secret, pi.client_secret);
    assert.equal(first.json.next_action.type, 'use_stripe_sdk');
    const expires = Date.parse(first.json.expires_at);
    assert.ok(expires > Date.now() && expires <= Date.now() + TTL_MS, first.json.expires_at);
    assert.equal(first.headers.get('idempotent-replayed'), null, 'not a stored answer');
    // Held and locked meanwhile.
    const levels = (await sendJson('GET', `/admin/v1/inventory/${sku}`, undefined, { token: OPERATOR })).json;
    assert.ok(levels.reserved >= 1);
    assert.equal(await unlocked(c), false, 'lines are frozen');
    assertProblem(await checkout(c, 'pm_card_visa', newKey()), 409, 'checkout_in_progress');
    // Asked again before authenticating: the same answer, never a second intent.
    const again = await checkout(c, 'pm_card_threeDSecure2Required');
    assertProblem(again, 402, 'payment_action_required');
    assert.equal(again.json.client_secret, pi.client_secret);
    assert.equal(again.json.expires_at, first.json.expires_at);
    await stripe.authenticate(pi.id, 'succeed');
    const placed = await checkout(c, 'pm_card_threeDSecure2Required');
    assert.equal(placed.status, 201, placed.text);
    assert.equal(placed.json.order.id, order);
    assert.equal(placed.json.order.payment.reference, pi.id);
    const creates = (await stripe.requests()).filter((q) => q.path === '/v1/payment_intents' && q.form?.metadata?.order_id === order);
    assert.equal(creates.length, 1, 'one create; the rest were reads');
    assert.equal((await piFor(order)).length, 1);
  });

  test('3-D Secure completed with the shopper gone: the webhook places the order, and the key replays it', async () => {
    const c = await cart();
    assertProblem(await checkout(c, 'pm_card_threeDSecure2Required'), 402, 'payment_action_required');
    const [order] = await intentsOf(c);
    const [pi] = await piFor(order);
    await stripe.authenticate(pi.id, 'succeed');
    await stripe.waitForDeliveries();
    const orders = await until(async () => {
      const o = await ordersOf(c);
      return o.length ? o : null;
    }, 'the order placed by the webhook');
    assert.equal(orders[0].payment.reference, pi.id);
    const replay = await checkout(c, 'pm_card_threeDSecure2Required');
    assert.equal(replay.status, 201, replay.text);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.json.order.id, order);
    const delivered = (await stripe.events()).filter((e) => e.object_id === pi.id && e.type === 'payment_intent.succeeded');
    assert.equal(delivered.length, 1);
    assert.ok(delivered[0].deliveries.some((d) => d.status === 200 && d.signature_ok));
  });

  test('3-D Secure failed: declined (authentication_required), holds given back, no order', async () => {
    const c = await cart();
    assertProblem(await checkout(c, 'pm_card_threeDSecure2Required'), 402, 'payment_action_required');
    const [order] = await intentsOf(c);
    const [pi] = await piFor(order);
    await stripe.authenticate(pi.id, 'fail');
    await stripe.waitForDeliveries();
    const r = await until(async () => {
      const x = await checkout(c, 'pm_card_threeDSecure2Required');
      return x.status === 402 && x.json.code === 'payment_declined' ? x : null;
    }, 'the declined answer');
    assert.equal(r.json.decline_code, 'authentication_required');
    assert.ok(await unlocked(c));
    assert.deepEqual(await ordersOf(c), []);
  });

  test('3-D Secure never completed: the payment is canceled at the deadline and the holds given back', async () => {
    const c = await cart();
    const first = await checkout(c, 'pm_card_threeDSecure2Required');
    assertProblem(first, 402, 'payment_action_required');
    const [order] = await intentsOf(c);
    const [pi] = await piFor(order);
    // The cart's alarm cancels it at the deadline, with nobody asking.
    await until(async () => (await stripe.intent(pi.id)).status === 'canceled', 'the cancel', TTL_MS + 15_000);
    assert.ok(Date.now() >= Date.parse(first.json.expires_at), 'not before the deadline');
    const r = await until(async () => {
      const x = await checkout(c, 'pm_card_threeDSecure2Required');
      return x.json?.code === 'payment_declined' ? x : null;
    }, 'the final answer');
    assert.equal(r.json.decline_code, 'payment_canceled');
    assert.ok(await unlocked(c));
    assert.deepEqual(await ordersOf(c), []);
    assert.equal((await stripe.charges()).filter((x) => x.id === pi.id).length, 0, 'nothing charged');
  });

  test('processing: 409 payment_processing with Retry-After, then the webhook decides (paid, and declined)', async () => {
    for (const result of ['succeed', 'fail']) {
      const c = await cart();
      const first = await checkout(c, 'pm_card_processing');
      assertProblem(first, 409, 'payment_processing');
      assert.ok(Number(first.headers.get('retry-after')) > 0);
      assertProblem(await checkout(c, 'pm_card_processing'), 409, 'payment_processing');
      const [order] = await intentsOf(c);
      const [pi] = await piFor(order);
      assert.equal(pi.status, 'processing');
      await stripe.settle(pi.id, result);
      await stripe.waitForDeliveries();
      const r = await until(async () => {
        const x = await checkout(c, 'pm_card_processing');
        return x.json?.code === 'payment_processing' ? null : x;
      }, 'the outcome');
      if (result === 'succeed') {
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.order.payment.reference, pi.id);
      } else {
        assertProblem(r, 402, 'payment_declined');
        assert.equal(r.json.decline_code, 'card_declined');
        assert.deepEqual(await ordersOf(c), []);
      }
    }
  });
});

describe('payments: Stripe webhooks', () => {
  const signed = (payload, secret = WEBHOOK_SECRET, t = Math.floor(Date.now() / 1000)) => {
    const raw = JSON.stringify(payload);
    const v1 = createHmac('sha256', secret).update(`${t}.${raw}`).digest('hex');
    return { raw, header: `t=${t},v1=${v1}` };
  };
  const post = (raw, header) =>
    api.request('POST', '/webhooks/stripe', { headers: { 'Content-Type': 'application/json', ...(header ? { 'Stripe-Signature': header } : {}) }, body: raw });

  test('a bad, stale or missing signature answers 400 and changes nothing', async () => {
    const c = await cart();
    assertProblem(await checkout(c, 'pm_card_processing'), 409, 'payment_processing');
    const [order] = await intentsOf(c);
    const [pi] = await piFor(order);
    const event = { id: `evt_forged_${Date.now()}`, object: 'event', type: 'payment_intent.succeeded', data: { object: { ...pi, status: 'succeeded' } } };
    const wrongSecret = signed(event, 'whsec_not_the_one');
    const stale = signed(event, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301);
    const good = signed(event);
    for (const [raw, header] of [[wrongSecret.raw, wrongSecret.header], [stale.raw, stale.header], [good.raw.replace('succeeded', 'succeeded '), good.header], [good.raw, undefined], [good.raw, 'v1=00']]) {
      assertProblem(await post(raw, header), 400, 'invalid_signature');
    }
    assertProblem(await checkout(c, 'pm_card_processing'), 409, 'payment_processing');
    // The fake's own deliveries with a tampered signature are refused too.
    const ours = (await stripe.events()).filter((e) => e.object_id === pi.id).map((e) => e.id);
    const tampered = await stripe.resend({ ids: ours, tamper: true });
    assert.ok(tampered.every((d) => d.status === 400), JSON.stringify(tampered));
    // A correctly signed event is only a hint: the intent is still processing at Stripe.
    const hint = await post(good.raw, good.header);
    assert.equal(hint.status, 200, hint.text);
    assertProblem(await checkout(c, 'pm_card_processing'), 409, 'payment_processing');
    assert.deepEqual(await ordersOf(c), []);
    await stripe.settle(pi.id, 'fail');
    await stripe.waitForDeliveries();
  });

  test('a refund and a dispute made at Stripe are recorded on the order; replayed and reordered events change nothing twice', async () => {
    const c = await cart();
    const placed = await checkout(c, 'pm_card_visa');
    assert.equal(placed.status, 201, placed.text);
    const order = placed.json.order;
    const pi = order.payment.reference;
    const auditBefore = (await auditTrail(inStore('/admin/v1/store/audit'), OPERATOR)).length;
    await stripe.dispute(pi, 'fraudulent');
    await stripe.waitForDeliveries();
    const disputed = await until(async () => {
      const o = (await admin('GET', `/admin/v1/orders/${order.id}`)).json;
      return o.disputes?.length ? o : null;
    }, 'the dispute on the order');
    assert.equal(disputed.disputes[0].reason, 'fraudulent');
    assert.equal(disputed.disputes[0].amount, order.totals.grand_total);
    // A refund made in Stripe's dashboard (not through Edgecart).
    const refund = await fetch(`${process.env.EDGECART_STRIPE_URL}/v1/refunds`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${STRIPE_KEY}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ payment_intent: pi }),
    });
    // A disputed charge cannot be refunded at Stripe: refund another order instead.
    assert.equal(refund.status, 400);
    const c2 = await cart();
    const placed2 = await checkout(c2, 'pm_card_visa');
    assert.equal(placed2.status, 201, placed2.text);
    const order2 = placed2.json.order;
    const stockBefore = (await sendJson('GET', `/admin/v1/inventory/${sku}`, undefined, { token: OPERATOR })).json;
    const r2 = await fetch(`${process.env.EDGECART_STRIPE_URL}/v1/refunds`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${STRIPE_KEY}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ payment_intent: order2.payment.reference }),
    });
    assert.equal(r2.status, 200, await r2.text());
    await stripe.waitForDeliveries();
    const refunded = await until(async () => {
      const o = (await admin('GET', `/admin/v1/orders/${order2.id}`)).json;
      return o.status === 'refunded' ? o : null;
    }, 'the order refunded by the webhook');
    assert.equal(refunded.history.at(-1).status, 'refunded');
    const stockAfter = (await sendJson('GET', `/admin/v1/inventory/${sku}`, undefined, { token: OPERATOR })).json;
    assert.equal(stockAfter.on_hand, stockBefore.on_hand, 'the sold unit went back on sale');
    assert.equal(stockAfter.sold, stockBefore.sold - 1);
    const trail = (await auditTrail(inStore('/admin/v1/store/audit'), OPERATOR)).slice(auditBefore);
    const ours = trail.filter((e) => [`order:${order.id}`, `order:${order2.id}`].includes(e.target));
    assert.deepEqual(ours.map((e) => [e.action, e.actor]).sort(), [['order.dispute', 'stripe'], ['order.refund', 'stripe']]);
    // Every event of both payments again, reversed and three times over.
    const ids = (await stripe.events())
      .filter((e) => [pi, order2.payment.reference].includes(e.object_id) || e.type.startsWith('charge.'))
      .map((e) => e.id);
    const resent = await stripe.resend({ ids, order: 'reverse', times: 3 });
    assert.ok(resent.every((d) => d.status === 200), JSON.stringify(resent.filter((d) => d.status !== 200)));
    const after1 = (await admin('GET', `/admin/v1/orders/${order.id}`)).json;
    const after2 = (await admin('GET', `/admin/v1/orders/${order2.id}`)).json;
    assert.equal(after1.disputes.length, 1, 'one dispute');
    assert.equal(after1.status, 'paid');
    assert.deepEqual(after2.history, refunded.history, 'refunded once');
    const trail2 = (await auditTrail(inStore('/admin/v1/store/audit'), OPERATOR)).slice(auditBefore);
    assert.equal(trail2.filter((e) => [`order:${order.id}`, `order:${order2.id}`].includes(e.target)).length, 2, 'audited once each');
    const stockFinal = (await sendJson('GET', `/admin/v1/inventory/${sku}`, undefined, { token: OPERATOR })).json;
    assert.equal(stockFinal.sold, stockAfter.sold, 'restocked once');
    assert.equal((await stripe.refunds()).filter((x) => x.payment_intent === order2.payment.reference).length, 1);
  });
});

describe('payments: checkouts that cannot settle', () => {
  test('a charge Stripe did not answer is listed as stuck, never deleted, and unlisted once it settles', async () => {
    const c = await cart();
    await stripe.setMode('down');
    let first;
    try {
      first = await checkout(c, 'pm_card_visa');
      assertProblem(first, 503, 'payment_unavailable');
      const listed = await until(async () => {
        const r = await admin('GET', '/admin/v1/checkouts?state=stuck');
        assert.equal(r.status, 200, r.text);
        return r.json.items.find((x) => x.cart === c.id);
      }, 'the stuck listing', STUCK_AFTER_MS + 45_000);
      assert.equal(listed.step, 'verifying');
      assert.equal(listed.card_amount, c.total.amount);
      assert.ok(Date.now() - listed.since_ms >= STUCK_AFTER_MS);
      // And an error line in the worker's log says so.
      const logged = fs.readFileSync(process.env.EDGECART_LOG, 'utf8');
      assert.match(logged, new RegExp(`checkout ${listed.order} of cart ${c.id} is stuck at verifying`));
    } finally {
      await stripe.setMode('normal');
    }
    // The key resumes the verification: nothing was charged, so it settles.
    assertProblem(await checkout(c, 'pm_card_visa'), 503, 'payment_unavailable');
    await until(async () => {
      const r = await admin('GET', '/admin/v1/checkouts?state=stuck');
      return !r.json.items.some((x) => x.cart === c.id);
    }, 'the unlisting');
    assert.deepEqual(await ordersOf(c), []);
    assertProblem(await admin('GET', '/admin/v1/checkouts'), 400, 'invalid_state');
    assertProblem(await sendJson('GET', inStore('/admin/v1/checkouts?state=stuck')), 401, 'unauthorized');
  });
});

describe('payments: the books balance', () => {
  test("every payment of the store at Stripe has its order or its full refund, and every order its payment", async () => {
    // Every PaymentIntent this suite's store made, as the fake has them now.
    const all = await stripe.events();
    const ids = [...new Set(all.filter((e) => e.type.startsWith('payment_intent.')).map((e) => e.object_id))];
    const intents = [];
    for (const id of ids) {
      const pi = await stripe.intent(id);
      if (pi.metadata?.store === STORE) intents.push(pi);
    }
    assert.ok(intents.length >= 15, `${intents.length} payments`);
    const refunded = new Map();
    for (const r of await stripe.refunds()) refunded.set(r.payment_intent, (refunded.get(r.payment_intent) ?? 0) + r.amount);
    const orders = await orderList();
    const byReference = new Map();
    for (const o of orders) {
      const full = (await admin('GET', `/admin/v1/orders/${o.id}`)).json;
      byReference.set(full.payment.reference, full);
    }
    for (const pi of intents) {
      const order = byReference.get(pi.id);
      if (pi.status !== 'succeeded') {
        assert.equal(order, undefined, `${pi.id} (${pi.status}) has no order`);
        continue;
      }
      const back = refunded.get(pi.id) ?? 0;
      if (order) {
        assert.equal(order.totals.grand_total, pi.amount, `${pi.id}: the order's total was charged`);
        assert.ok(back === 0 || order.status === 'refunded', `${pi.id}: refunded only with its order`);
      } else {
        assert.equal(back, pi.amount, `${pi.id}: a payment without an order is refunded in full`);
      }
    }
    for (const [reference, order] of byReference) {
      if (order.payment.provider !== 'stripe') continue;
      const pi = intents.find((x) => x.id === reference);
      assert.ok(pi && pi.status === 'succeeded', `order ${order.id} has its payment ${reference}`);
    }
  });
});

/**
 * A worker of its own, on fresh state, with its own fake Stripe and `vars`,
 * and one product (`TP-1`, 10.00 USD, 50 in stock) in its catalog.
 */
async function ownWorker(vars) {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-payments-'));
  const token = `own-${process.pid}-${Date.now()}-secret-token`;
  const fake = await startFakeStripe({ secretKey: 'sk_test_local' });
  const server = await serve(state, {
    ADMIN_TOKENS: `own:operator:${token}`,
    STRIPE_SECRET_KEY: 'sk_test_local',
    STRIPE_TEST_API_BASE: fake.url,
    ...vars,
  });
  const call = async (method, p, b, bearer, key) => {
    const headers = { 'Content-Type': 'application/json' };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (key) headers['Idempotency-Key'] = key;
    const r = await fetch(server.url + p, { method, headers, body: b === undefined ? undefined : JSON.stringify(b) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null, text };
  };
  const stop = async () => {
    await stopWorker(server.child);
    await fake.stop();
    fs.rmSync(state, { recursive: true, force: true });
  };
  try {
    const category = await call('PUT', '/admin/v1/categories/misc', { name: 'Misc' }, token);
    assert.ok(category.status < 300, category.text);
    const product = { id: 'prd_tp', slug: 'tp', name: 'Payments probe', category: 'misc', variants: [{ sku: 'TP-1', name: 'One', prices: { USD: 1000 } }] };
    const put = await call('PUT', '/admin/v1/products/prd_tp', product, token);
    assert.ok(put.status < 300, put.text);
    assert.equal((await call('PUT', '/admin/v1/inventory/TP-1', { on_hand: 50, reason: 'probe' }, token)).status, 200);
  } catch (e) {
    await stop();
    throw e;
  }
  /** A cart with one TP-1, and its checkout body for card `card`. */
  const cartOf = async () => {
    const c = (await call('POST', '/v1/carts')).json;
    assert.equal((await call('POST', `/v1/carts/${c.id}/lines`, { sku: 'TP-1', quantity: 1 }, c.token)).status, 200);
    const total = (await call('GET', `/v1/carts/${c.id}?country=US&shipping_method=standard`, undefined, c.token)).json.grand_total;
    const body = (card) => ({
      email: 'a@example.com',
      shipping_address: { name: 'A', line1: '1 St', city: 'X', postal_code: '10001', country: 'US' },
      shipping_method: 'standard',
      payment: { method: 'card', token: card },
      expected_total: total,
    });
    return { ...c, body, checkout: (card, key) => call('POST', `/v1/carts/${c.id}/checkout`, body(card), c.token, key) };
  };
  const useProvider = async (payment) => {
    const config = (await call('GET', '/admin/v1/store', undefined, token)).json;
    delete config.schema;
    assert.equal((await call('PUT', '/admin/v1/store', { ...config, payment }, token)).status, 200);
    await sleep(1200);
  };
  return { call, token, fake, stop, cartOf, useProvider };
}

describe('payments: a worker of its own (test provider off, a 3 s lease)', () => {
  let own;
  before(async () => {
    own = await ownWorker({ TEST_PAYMENTS: 'off', CHECKOUT_LEASE_MS: '3000' });
  });
  after(async () => {
    await own?.stop();
  });

  test('the test provider is refused where TEST_PAYMENTS is off: 503, nothing held, nothing stored', async () => {
    const c = await own.cartOf();
    const refused = await c.checkout('tok_visa', 'k1');
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.code, 'test_payments_disabled');
    assert.equal((await own.call('GET', '/v1/inventory/TP-1')).json.available, 49, "only the cart's own hold");
    // Not stored: once the store pays with Stripe, the same key goes through.
    await own.useProvider({ provider: 'stripe' });
    const paid = await c.checkout('pm_card_visa', 'k1');
    assert.equal(paid.status, 201, paid.text);
    assert.equal(paid.json.order.payment.provider, 'stripe');
  });

  test('one attempt acts at a time: a retry that takes over a slow attempt stops it, and its late payment is refunded, never fulfilled', async () => {
    await own.useProvider({ provider: 'stripe' });
    const c = await own.cartOf();
    const levels = async () => (await own.call('GET', '/admin/v1/inventory/TP-1', undefined, own.token)).json;
    const orders = async () => (await settledList(async () => (await own.call('GET', '/admin/v1/orders', undefined, own.token)).json.items)).length;
    const [levelsBefore, ordersBefore] = [await levels(), await orders()];
    // The first attempt's charge is taken at once but answered 10 s later.
    own.fake.setMode('slow');
    const first = c.checkout('pm_card_visa', 'k-slow');
    await until(async () => own.fake.charges().some((pi) => pi.metadata.cart === c.id), 'the slow charge');
    own.fake.setMode('normal');
    await sleep(3500); // past the first attempt's 3 s lease
    // The retry takes over: Stripe says the key is in use, so it verifies.
    const second = await c.checkout('pm_card_visa', 'k-slow');
    assert.equal(second.status, 503, second.text);
    assert.equal(second.json.code, 'payment_unavailable');
    // The first attempt's payment comes back: it is no longer this
    // attempt's to act on.
    const late = await first;
    assert.equal(late.status, 409, late.text);
    assert.equal(late.json.code, 'idempotency_in_progress');
    // The verification finds the payment the shopper was told failed, and refunds it.
    const settled = await c.checkout('pm_card_visa', 'k-slow');
    assert.equal(settled.status, 503, settled.text);
    assert.equal(settled.json.code, 'payment_unavailable');
    const [pi] = own.fake.charges().filter((x) => x.metadata.cart === c.id);
    assert.equal(own.fake.refunds().filter((r) => r.payment_intent === pi.id).length, 1, 'refunded once');
    assert.equal((await levels()).sold, levelsBefore.sold, 'nothing sold');
    assert.equal(await orders(), ordersBefore, 'no order');
  });
});

// The endpoint's base is the worker's own (no store selector).
assert.ok(BASE);
