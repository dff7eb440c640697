// End-to-end: checkout with the built-in test provider. One idempotent key
// from holds to payment to order; exactly the total the shopper saw.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { settled } from '../settled.mjs';
import { api, assertProblem, sendJson as send } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;


const admin = (method, path, body) => send(method, path, body, { token: ADMIN });
const levels = async (sku) => (await admin('GET', `/admin/v1/inventory/${sku}`)).json;
const key = () => `k-${Math.random().toString(36).slice(2)}-${Date.now()}`;

const ADDRESS = { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' };

let skus;

before(async () => {
  skus = [];
  for (const id of ['prd_00041', 'prd_00042', 'prd_00043']) {
    const sku = (await api.product(id)).json.variants[0].sku;
    const r = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 1000, reason: 'checkout tests' });
    assert.equal(r.status, 200, r.text);
    skus.push(sku);
  }
});

/** A cart holding `lines` ([sku, quantity]), and the total it shows for US standard shipping. */
async function cart(lines = [[0, 1], [1, 2]], coupon) {
  const c = (await send('POST', '/v1/carts')).json;
  for (const [i, quantity] of lines) {
    const r = await send('POST', `/v1/carts/${c.id}/lines`, { sku: skus[i], quantity }, { token: c.token });
    assert.equal(r.status, 200, r.text);
  }
  if (coupon) {
    const r = await send('POST', `/v1/carts/${c.id}/coupons`, { code: coupon }, { token: c.token });
    assert.equal(r.status, 200, r.text);
  }
  const view = await send('GET', `/v1/carts/${c.id}?country=US&region=NY&shipping_method=standard`, undefined, { token: c.token });
  assert.equal(view.status, 200, view.text);
  return { ...c, total: view.json.grand_total, view: view.json };
}

function body(c, overrides = {}) {
  return {
    email: 'ada@example.com',
    shipping_address: ADDRESS,
    shipping_method: 'standard',
    payment: { method: 'card', token: 'tok_visa' },
    expected_total: c.total,
    ...overrides,
  };
}

const checkout = (c, b, k) => send('POST', `/v1/carts/${c.id}/checkout`, b, { token: c.token, key: k });

describe('checkout', () => {
  test('pays exactly the total shown, sells the units, records the order and empties the cart', async () => {
    const before0 = await levels(skus[0]);
    const c = await cart();
    const r = await checkout(c, body(c), key());
    assert.equal(r.status, 201, r.text);
    const { order, order_token: orderToken } = r.json;
    assert.match(order.id, /^ord_[0-9a-f]{24}$/);
    assert.equal(order.status, 'paid');
    assert.equal(order.totals.grand_total, c.total.amount);
    assert.equal(order.payment.provider, 'test');
    assert.deepEqual(order.lines.map((l) => [l.sku, l.quantity]), [[skus[0], 1], [skus[1], 2]]);
    assert.deepEqual(order.history.map((h) => h.status), ['pending_payment', 'paid']);
    const after0 = await levels(skus[0]);
    assert.equal(after0.sold, before0.sold + 1);
    assert.equal(after0.reserved, before0.reserved, 'the hold became a sale');
    const read = await send('GET', `/v1/orders/${order.id}`, undefined, { token: orderToken });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json.id, order.id);
    assert.equal(read.headers.get('cache-control'), 'no-store');
    assertProblem(await send('GET', `/v1/orders/${order.id}`, undefined, { token: 'f'.repeat(48) }), 404, 'order_not_found');
    assertProblem(await send('GET', `/v1/orders/${order.id}`), 404, 'order_not_found');
    const emptied = await send('GET', `/v1/carts/${c.id}`, undefined, { token: c.token });
    assert.deepEqual(emptied.json.lines, []);
  });

  test('a cart read with a country lists the shipping options, priced as checkout would charge them', async () => {
    // The store has its default configuration here: standard (4.99, free
    // from 50.00 after discounts) and express (14.99) to every country.
    const unit = (await api.product('prd_00043')).json.variants[0].prices.find((p) => p.currency === 'USD').amount;
    assert.ok(unit < 5000, 'one unit is below the free-shipping threshold');
    const c = await cart([[2, 1]]);
    const read = async (query) => {
      const r = await send('GET', `/v1/carts/${c.id}${query}`, undefined, { token: c.token });
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    const options = (view) => view.shipping_options.map((o) => [o.id, o.amount.amount, o.amount.currency]);
    assert.deepEqual((await read('')).shipping_options, [], 'no country, no options');
    const us = await read('?country=us');
    assert.deepEqual(options(us), [['standard', 499, 'USD'], ['express', 1499, 'USD']]);
    assert.ok(us.shipping_options.every((o) => typeof o.name === 'string' && o.name.length > 0));
    assert.equal(us.shipping.amount, 0, 'no method chosen: no shipping charged yet');
    // The option's amount is what choosing it charges.
    assert.equal(c.view.shipping.amount, 499);
    assert.deepEqual(options(c.view), options(us), 'the options do not depend on the chosen method');
    // From 50.00 standard is free; express never is.
    const units = Math.ceil(5000 / unit);
    const r = await send('PATCH', `/v1/carts/${c.id}/lines/${skus[2]}`, { quantity: units }, { token: c.token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.shipping_options, [], 'a line change names no destination');
    const free = await read('?country=US&shipping_method=standard');
    assert.ok(free.subtotal.amount >= 5000);
    assert.deepEqual(options(free), [['standard', 0, 'USD'], ['express', 1499, 'USD']]);
    assert.equal(free.shipping.amount, 0);
    // A EUR cart is offered the EUR rates.
    const eur = (await send('POST', '/v1/carts', { currency: 'EUR' })).json;
    const added = await send('POST', `/v1/carts/${eur.id}/lines`, { sku: skus[2], quantity: 1 }, { token: eur.token });
    assert.equal(added.status, 200, added.text);
    const de = await send('GET', `/v1/carts/${eur.id}?country=DE`, undefined, { token: eur.token });
    assert.deepEqual(options(de.json), [['standard', 449, 'EUR'], ['express', 1299, 'EUR']]);
    // Checkout with an option charges its amount: the expected total built from it is accepted.
    const express = us.shipping_options.find((o) => o.id === 'express');
    const view = await read('?country=US&region=NY&shipping_method=express');
    assert.equal(view.shipping.amount, express.amount.amount);
    const paid = await checkout(c, body(c, { shipping_method: 'express', expected_total: view.grand_total }), key());
    assert.equal(paid.status, 201, paid.text);
    assert.equal(paid.json.order.totals.shipping, express.amount.amount);
    await send('DELETE', `/v1/carts/${eur.id}/lines/${skus[2]}`, undefined, { token: eur.token });
  });

  test('the Idempotency-Key is required; bodies with prices, totals or statuses are refused', async () => {
    const c = await cart([[0, 1]]);
    assertProblem(await checkout(c, body(c)), 400, 'idempotency_key_required');
    for (const extra of [{ total: 1 }, { status: 'paid' }, { grand_total: 5 }]) {
      const r = await checkout(c, { ...body(c), ...extra }, key());
      assertProblem(r, 422, 'validation_failed');
      assert.equal(r.json.errors[0].code, 'client_price_refused');
    }
    assertProblem(await checkout(c, { ...body(c), coupon: 'X' }, key()), 400, 'unknown_field');
    const invalid = await checkout(c, body(c, { email: 'nope', shipping_address: { ...ADDRESS, country: 'USA', city: '' } }), key());
    assertProblem(invalid, 422, 'validation_failed');
    const fields = invalid.json.errors.map((e) => e.field);
    for (const f of ['email', 'shipping_address.country', 'shipping_address.city']) assert.ok(fields.includes(f), fields.join());
    assertProblem(await send('POST', `/v1/carts/${c.id}/checkout`, body(c), { key: key() }), 404, 'cart_not_found');
  });

  test('the same key 10× in a row: one order, identical replays; another body with it is 422', async () => {
    const c = await cart();
    const k = key();
    const first = await checkout(c, body(c), k);
    assert.equal(first.status, 201, first.text);
    for (let i = 0; i < 9; i++) {
      const again = await checkout(c, body(c), k);
      assert.equal(again.status, 201);
      assert.equal(again.text, first.text, 'byte-identical replay');
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
    }
    const other = await checkout(c, body(c, { email: 'someone@example.com' }), k);
    assertProblem(other, 422, 'validation_failed');
    assert.equal(other.json.errors[0].code, 'idempotency_mismatch');
  });

  test('the same key 10× at once: exactly one order; the others are replays or 409 in progress', async () => {
    const c = await cart();
    const k = key();
    const before1 = await levels(skus[1]);
    const all = await Promise.all(Array.from({ length: 10 }, () => checkout(c, body(c), k)));
    const created = all.filter((r) => r.status === 201);
    const busy = all.filter((r) => r.status === 409);
    assert.equal(created.length + busy.length, 10, all.map((r) => r.status).join());
    assert.ok(created.length >= 1);
    for (const r of busy) assert.equal(r.json.code, 'idempotency_in_progress');
    assert.equal(new Set(created.map((r) => r.json.order.id)).size, 1, 'one order');
    assert.equal((await levels(skus[1])).sold, before1.sold + 2, 'sold once');
  });

  test('a changed total is 409 total_changed with the new breakdown, and nothing is charged or sold', async () => {
    const c = await cart([[2, 1]]);
    const before2 = await levels(skus[2]);
    const r = await checkout(c, body(c, { expected_total: { amount: c.total.amount - 1, currency: 'USD' } }), key());
    assertProblem(r, 409, 'total_changed');
    assert.equal(r.json.quote.grand_total.amount, c.total.amount);
    assert.equal((await levels(skus[2])).sold, before2.sold);
    // The cart is intact and can be checked out with the right total.
    const ok = await checkout(c, body(c), key());
    assert.equal(ok.status, 201, ok.text);
  });

  test('a price changed by the merchant after the cart was shown: 409 total_changed, nothing charged', async () => {
    const product = (await api.product('prd_00043')).json;
    const usd = product.variants[0].prices.find((p) => p.currency === 'USD').amount;
    const c = await cart([[2, 1]]);
    const before2 = await levels(skus[2]);
    const raised = await admin('PUT', `/admin/v1/prices/${skus[2]}/USD`, { amount: usd + 100 });
    assert.equal(raised.status, 200, raised.text);
    try {
      const r = await checkout(c, body(c), key());
      assertProblem(r, 409, 'total_changed');
      assert.equal(r.json.quote.subtotal.amount, usd + 100);
      assert.equal((await levels(skus[2])).sold, before2.sold, 'nothing sold');
    } finally {
      await admin('PUT', `/admin/v1/prices/${skus[2]}/USD`, { amount: usd });
    }
  });

  test('a declined card: 402, no order, holds released, cart intact; a timeout: 503', async () => {
    const c = await cart([[2, 3]]);
    const held = await levels(skus[2]);
    const declined = await checkout(c, body(c, { payment: { method: 'card', token: 'tok_decline' } }), key());
    assertProblem(declined, 402, 'payment_declined');
    const after = await levels(skus[2]);
    assert.equal(after.sold, held.sold);
    assert.equal(after.reserved, held.reserved - 3, 'the checkout released the holds');
    const view = await send('GET', `/v1/carts/${c.id}`, undefined, { token: c.token });
    assert.deepEqual(view.json.lines.map((l) => [l.sku, l.quantity]), [[skus[2], 3]]);
    const timeout = await checkout(c, body(c, { payment: { method: 'card', token: 'tok_timeout' } }), key());
    assertProblem(timeout, 503, 'payment_unavailable');
    // Paying again works: the lines are held again at checkout.
    const paid = await checkout(c, body(c), key());
    assert.equal(paid.status, 201, paid.text);
    assert.equal((await levels(skus[2])).sold, held.sold + 3);
  });

  test('a coupon limited to 5 redemptions, 50 concurrent checkouts: exactly 5 orders carry it', async () => {
    const put = await admin('PUT', '/admin/v1/promotions/five-only', {
      code: 'FIVE-ONLY', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' }, usage_limit: 5,
    });
    assert.equal(put.status, 201, put.text);
    await new Promise((r) => setTimeout(r, 1200));
    const carts = [];
    for (let i = 0; i < 50; i += 10) carts.push(...(await Promise.all(Array.from({ length: 10 }, () => cart([[0, 1]], 'FIVE-ONLY')))));
    assert.ok(carts[0].view.discount_total.amount > 0, 'the coupon shows in the cart');
    const results = await Promise.all(carts.map((c) => checkout(c, body(c, { email: `shopper${Math.random()}@example.com` }), key())));
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    assert.equal(ok.length + refused.length, 50, results.map((r) => `${r.status} ${r.json?.code}`).join());
    const withCoupon = ok.filter((r) => r.json.order.promotions.some((p) => p.id === 'five-only'));
    assert.equal(withCoupon.length, 5);
    for (const r of refused) assert.ok(['coupon_unavailable', 'total_changed'].includes(r.json.code), r.text);
    const promo = await admin('GET', '/admin/v1/promotions/five-only');
    assert.equal(promo.json.redemptions, 5);
    await admin('DELETE', '/admin/v1/promotions/five-only');
  });

  test('a coupon once per customer: Bob@ and bob+2@ are one customer, another email is not', async () => {
    const put = await admin('PUT', '/admin/v1/promotions/once-each', {
      code: 'ONCE-EACH', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' }, per_customer_limit: 1,
    });
    assert.equal(put.status, 201, put.text);
    await new Promise((r) => setTimeout(r, 1200));
    const tag = Math.random().toString(36).slice(2, 8);
    const first = await cart([[0, 1]], 'ONCE-EACH');
    const placed = await checkout(first, body(first, { email: `Bob.${tag}@Example.com` }), key());
    assert.equal(placed.status, 201, placed.text);
    const again = await cart([[0, 1]], 'ONCE-EACH');
    const refused = await checkout(again, body(again, { email: `bob.${tag}+2@example.com` }), key());
    // Refused at redemption, or already when the checkout is priced with
    // this customer's count (the total the shopper saw had the discount).
    assert.equal(refused.status, 409, refused.text);
    assert.ok(['coupon_unavailable', 'total_changed'].includes(refused.json.code), refused.text);
    if (refused.json.code === 'coupon_unavailable') assert.equal(refused.json.reason.reason, 'customer_limit_reached');
    const other = await cart([[0, 1]], 'ONCE-EACH');
    const ok = await checkout(other, body(other, { email: `alice.${tag}@example.com` }), key());
    assert.equal(ok.status, 201, ok.text);
    assert.ok(ok.json.order.promotions.some((p) => p.id === 'once-each'));
    assert.equal((await admin('GET', '/admin/v1/promotions/once-each')).json.redemptions, 2);
    await admin('DELETE', '/admin/v1/promotions/once-each');
  });

  test('while a checkout runs its cart is frozen; lines cannot change', async () => {
    const c = await cart([[0, 1]]);
    const k = key();
    const [paid, change] = await Promise.all([
      checkout(c, body(c), k),
      new Promise((r) => setTimeout(r, 5)).then(() => send('POST', `/v1/carts/${c.id}/lines`, { sku: skus[1], quantity: 1 }, { token: c.token })),
    ]);
    assert.equal(paid.status, 201, paid.text);
    assert.ok([200, 409].includes(change.status), change.text);
    if (change.status === 409) assert.equal(change.json.code, 'checkout_in_progress');
  });

  test('orders: the shopper cancels (restock + refund); admins list, fulfil and refund; illegal moves are 409', async () => {
    const before0 = await levels(skus[0]);
    const c = await cart([[0, 2]]);
    const placed = await checkout(c, body(c), key());
    assert.equal(placed.status, 201, placed.text);
    const { order, order_token: orderToken } = placed.json;
    assert.equal((await levels(skus[0])).sold, before0.sold + 2);
    assertProblem(await send('POST', `/v1/orders/${order.id}/cancel`, undefined, { token: 'f'.repeat(48) }), 404, 'order_not_found');
    const cancelled = await send('POST', `/v1/orders/${order.id}/cancel`, undefined, { token: orderToken });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.json.status, 'cancelled');
    assert.equal((await levels(skus[0])).sold, before0.sold, 'the sold units came back');
    assertProblem(await send('POST', `/v1/orders/${order.id}/cancel`, undefined, { token: orderToken }), 409, 'illegal_transition');

    const c2 = await cart([[1, 1]]);
    const second = (await checkout(c2, body(c2), key())).json.order;
    assertProblem(await send('POST', `/admin/v1/orders/${second.id}/fulfil`), 401, 'unauthorized');
    const fulfilled = await admin('POST', `/admin/v1/orders/${second.id}/fulfil`);
    assert.equal(fulfilled.json.status, 'fulfilled');
    assertProblem(await admin('POST', `/admin/v1/orders/${second.id}/cancel`), 409, 'illegal_transition');
    const refunded = await admin('POST', `/admin/v1/orders/${second.id}/refund`);
    assert.equal(refunded.json.status, 'refunded');
    assert.deepEqual(refunded.json.history.map((h) => h.status), ['pending_payment', 'paid', 'fulfilled', 'refunded']);

    // The index follows the orders' events: read once it caught up.
    const list = await settled(async () => {
      const r = await admin('GET', '/admin/v1/orders?limit=200');
      assert.equal(r.status, 200, r.text);
      return { json: r.json };
    });
    const byId = new Map(list.json.items.map((o) => [o.id, o]));
    assert.equal(byId.get(order.id)?.status, 'cancelled');
    assert.equal(byId.get(second.id)?.status, 'refunded');
    const times = list.json.items.map((o) => o.created_at_ms);
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    const refundedOnly = await admin('GET', '/admin/v1/orders?status=refunded');
    assert.ok(refundedOnly.json.items.every((o) => o.status === 'refunded'));
    // Paging: one at a time visits every order once.
    const seen = [];
    let cursor;
    for (let i = 0; i < 500; i++) {
      const page = await admin('GET', `/admin/v1/orders?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.json.items.map((o) => o.id));
      cursor = page.json.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, list.json.items.map((o) => o.id));
    const adminRead = await admin('GET', `/admin/v1/orders/${order.id}`);
    assert.equal(adminRead.json.id, order.id);
    assertProblem(await admin('GET', '/admin/v1/orders?status=lost'), 400, 'invalid_status');
  });

  test('fulfilment ships the units: 100 on hand, 60 fulfilled, a count of 25 leaves exactly 25 available', async () => {
    const sku = (await api.product('prd_00058')).json.variants[0].sku;
    const set = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 100, reason: 'fulfilment test' });
    assert.equal(set.status, 200, set.text);
    const orders = [];
    for (const quantity of [25, 20, 15]) {
      const c = (await send('POST', '/v1/carts')).json;
      const line = await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity }, { token: c.token });
      assert.equal(line.status, 200, line.text);
      const view = await send('GET', `/v1/carts/${c.id}?country=US&region=NY&shipping_method=standard`, undefined, { token: c.token });
      const placed = await checkout(c, body({ total: view.json.grand_total }), key());
      assert.equal(placed.status, 201, placed.text);
      orders.push(placed.json.order.id);
    }
    const sold = await levels(sku);
    assert.deepEqual([sold.on_hand, sold.sold, sold.available], [100, 60, 40]);
    for (const id of orders) {
      const r = await admin('POST', `/admin/v1/orders/${id}/fulfil`);
      assert.equal(r.status, 200, r.text);
    }
    const shipped = await levels(sku);
    assert.equal(shipped.on_hand, 40, 'the 60 shipped units left the shop');
    assert.equal(shipped.sold, 0, 'nothing sold waits to ship');
    assert.equal(shipped.available, 40);
    const count = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 25, reason: 'stocktake' });
    assert.equal(count.status, 200, count.text);
    const after = await levels(sku);
    assert.deepEqual([after.on_hand, after.sold, after.available], [25, 0, 25]);
    // A refund after shipping takes nothing back into stock.
    assert.equal((await admin('POST', `/admin/v1/orders/${orders[0]}/refund`)).status, 200);
    const refunded = await levels(sku);
    assert.deepEqual([refunded.on_hand, refunded.available], [25, 25]);
    const history = await admin('GET', `/admin/v1/inventory/${sku}/movements?limit=100`);
    assert.equal(history.status, 200, history.text);
    // This test's shipments (the SKU's stock is shared by every store the suite runs in).
    const ships = history.json.items.filter((m) => m.kind === 'ship' && orders.some((id) => m.reason === `order ${id}: fulfil`));
    assert.equal(ships.length, 3);
    assert.ok(ships.every((m) => m.on_hand_delta === m.sold_delta));
    assert.equal(ships.reduce((n, m) => n - m.on_hand_delta, 0), 60);
  });
});
