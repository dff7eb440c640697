// End-to-end: the store's configuration (tax, shipping, payment provider),
// promotions and coupons, and what a cart shows before checkout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, assertProblem, sendJson } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;

const send = (method, path, body, token) => sendJson(method, path, body, { token });

const admin = (method, path, body, token = ADMIN) => send(method, path, body, token);

// The display copy carts read is re-read by each isolate every second.
const settle = () => new Promise((r) => setTimeout(r, 1200));

let original;
let product;
let sku;
let unit;

before(async () => {
  original = (await admin('GET', '/admin/v1/store')).json;
  product = (await api.product('prd_00061')).json;
  sku = product.variants[0].sku;
  unit = product.variants[0].prices.find((p) => p.currency === 'USD').amount;
  const r = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 50, reason: 'store tests' });
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  if (original) {
    const { schema, ...input } = original;
    await admin('PUT', '/admin/v1/store', input);
  }
});

async function cartWith(quantity) {
  const c = (await send('POST', '/v1/carts')).json;
  const r = await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity }, c.token);
  assert.equal(r.status, 200, r.text);
  return c;
}

describe('store configuration', () => {
  test('a new store has defaults; viewers read, only admins write; bad input is 400/422 with every problem', async () => {
    assert.equal(original.payment.provider, 'test');
    assert.ok(original.shipping_methods.some((m) => m.id === 'standard'));
    assert.equal((await admin('GET', '/admin/v1/store', undefined, VIEWER)).status, 200);
    assertProblem(await admin('PUT', '/admin/v1/store', original, VIEWER), 403, 'forbidden');
    assertProblem(await admin('GET', '/admin/v1/store', undefined, null), 401, 'unauthorized');
    assertProblem(await admin('PUT', '/admin/v1/store', { tax: { prices_include_tax: false }, shipping_methods: [], payment: { provider: 'test' }, colour: 1 }), 400, 'unknown_field');
    const bad = await admin('PUT', '/admin/v1/store', {
      tax: { prices_include_tax: false, rates: [{ country: 'usa', basis_points: 20000 }] },
      shipping_methods: [{ id: 'Standard Shipping', name: '', rates: { USD: -1 } }],
      payment: { provider: 'stripe', base_url: 'ftp://example' },
    });
    assertProblem(bad, 422, 'validation_failed');
    const fields = bad.json.errors.map((e) => e.field);
    for (const f of ['payment.base_url']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    assert.ok(fields.some((f) => f.startsWith('tax.')), fields.join());
    assert.ok(fields.some((f) => f.startsWith('shipping_methods[0]')), fields.join());
  });

  test('a store may run a points programme: validated with every problem, kept with its configuration, absent until set', async () => {
    assert.equal(original.points, undefined, 'no programme by default');
    const { schema, ...input } = original;
    const programme = {
      unit: 'miles',
      earn_per_unit: 10,
      category_multipliers: { audio: 20000 },
      points_per_minor: { GBP: 1, EUR: 2 },
      pending_days: 14,
      expiry_days: 365,
    };
    const put = await admin('PUT', '/admin/v1/store', { ...input, points: programme });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json.points, programme);
    assert.deepEqual((await admin('GET', '/admin/v1/store', undefined, VIEWER)).json.points, programme);
    // Defaults: no multipliers, no return window, points that never expire.
    const lean = await admin('PUT', '/admin/v1/store', { ...input, points: { unit: 'points', earn_per_unit: 1, points_per_minor: { USD: 1 } } });
    assert.equal(lean.status, 200, lean.text);
    assert.deepEqual(lean.json.points, { unit: 'points', earn_per_unit: 1, category_multipliers: {}, points_per_minor: { USD: 1 }, pending_days: 0, expiry_days: null });
    const bad = await admin('PUT', '/admin/v1/store', {
      ...input,
      points: { unit: ' 1', earn_per_unit: 100001, category_multipliers: { Audio: 5 }, points_per_minor: {}, pending_days: 4000, expiry_days: 0 },
    });
    assertProblem(bad, 422, 'validation_failed');
    assert.deepEqual(
      bad.json.errors.map((e) => [e.field, e.code]),
      [
        ['points.unit', 'invalid_unit'],
        ['points.earn_per_unit', 'invalid_rate'],
        ['points.category_multipliers.Audio', 'invalid_rate'],
        ['points.points_per_minor', 'missing_rate'],
        ['points.pending_days', 'invalid_days'],
        ['points.expiry_days', 'invalid_days'],
      ],
    );
    assertProblem(await admin('PUT', '/admin/v1/store', { ...input, points: { ...programme, points_per_minor: { ZZZ: 1 } } }), 400, 'invalid_type');
    assert.deepEqual((await admin('GET', '/admin/v1/store')).json.points, lean.json.points, 'a refused write changes nothing');
    // Without `points` the store has no programme again.
    const none = await admin('PUT', '/admin/v1/store', input);
    assert.equal(none.status, 200, none.text);
    assert.equal(none.json.points, undefined);
  });

  test('a cart shows shipping and tax for a destination, from the store configuration', async () => {
    const put = await admin('PUT', '/admin/v1/store', {
      tax: { prices_include_tax: false, rates: [{ country: 'US', region: 'NY', basis_points: 800 }, { country: 'DE', basis_points: 1900 }] },
      shipping_methods: [
        { id: 'standard', name: 'Standard', rates: { USD: 500, EUR: 450 }, free_above: { USD: 1_000_000 } },
        { id: 'eu-only', name: 'EU', countries: ['DE', 'FR'], rates: { USD: 900 } },
      ],
      payment: { provider: 'test' },
    });
    assert.equal(put.status, 200, put.text);
    await settle();
    const c = await cartWith(2);
    const r = await send('GET', `/v1/carts/${c.id}?country=us&region=ny&shipping_method=standard`, undefined, c.token);
    assert.equal(r.status, 200, r.text);
    const subtotal = 2 * unit;
    const tax = Math.round((subtotal * 800) / 10000); // half-even matters only on exact halves
    assert.deepEqual(
      { subtotal: r.json.subtotal.amount, shipping: r.json.shipping.amount, tax: r.json.tax_total.amount, grand: r.json.grand_total.amount },
      { subtotal, shipping: 500, tax: r.json.tax_total.amount, grand: subtotal + 500 + r.json.tax_total.amount },
    );
    assert.ok(Math.abs(r.json.tax_total.amount - tax) <= 1, `tax ${r.json.tax_total.amount} ≈ ${tax}`);
    assert.equal(r.json.lines[0].tax.amount, r.json.tax_total.amount);
    assert.deepEqual(r.json.destination, { country: 'US', region: 'NY' });
    // Without a destination: no tax, no shipping.
    const plain = await send('GET', `/v1/carts/${c.id}`, undefined, c.token);
    assert.deepEqual([plain.json.tax_total.amount, plain.json.shipping.amount, plain.json.grand_total.amount], [0, 0, subtotal]);
    assertProblem(await send('GET', `/v1/carts/${c.id}?country=US&shipping_method=eu-only`, undefined, c.token), 422, 'validation_failed');
    assertProblem(await send('GET', `/v1/carts/${c.id}?shipping_method=standard`, undefined, c.token), 400, 'missing_destination');
    assertProblem(await send('GET', `/v1/carts/${c.id}?country=USA`, undefined, c.token), 400, 'invalid_country');
    assertProblem(await send('GET', `/v1/carts/${c.id}?country=US&shipping_method=drone`, undefined, c.token), 400, 'unknown_shipping_method');
  });

  test("a checkout right after a store write is planned with the write, not with the copy an earlier checkout kept", async () => {
    const shipping = (usd) => ({
      tax: { prices_include_tax: false, rates: [] },
      shipping_methods: [{ id: 'standard', name: 'Standard', rates: { USD: usd } }],
      payment: { provider: 'test' },
    });
    assert.equal((await admin('PUT', '/admin/v1/store', shipping(500))).status, 200);
    await settle();
    const [a, b] = [await cartWith(1), await cartWith(1)];
    const view = await send('GET', `/v1/carts/${a.id}?country=US&shipping_method=standard`, undefined, a.token);
    const total = view.json.grand_total;
    assert.equal(total.amount, unit + 500);
    const body = {
      email: 'ada@example.com',
      shipping_address: { name: 'Ada Lovelace', line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US' },
      shipping_method: 'standard',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: total,
    };
    const checkout = (c) => sendJson('POST', `/v1/carts/${c.id}/checkout`, body, { token: c.token, key: `store-write-${c.id}` });
    // This checkout reads the store and keeps a copy of it for a second.
    const first = await checkout(a);
    assert.equal(first.status, 201, first.text);
    assert.equal((await admin('PUT', '/admin/v1/store', shipping(700))).status, 200);
    // At once, with the total the shopper saw before the write: refused.
    const second = await checkout(b);
    assertProblem(second, 409, 'total_changed');
    assert.equal(second.json.quote.shipping.amount, 700);
    assert.equal(second.json.quote.grand_total.amount, unit + 700);
  });
});

describe('promotions and coupons', () => {
  test('admin CRUD: create (201), replace (200), read, list with redemptions, delete; codes are unique', async () => {
    const body = { code: 'save10', description: '10% off', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' } };
    const created = await admin('PUT', '/admin/v1/promotions/save10', body);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.code, 'SAVE10');
    assert.equal(created.json.redemptions, 0);
    const replaced = await admin('PUT', '/admin/v1/promotions/save10', { ...body, description: 'Ten percent off' });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal((await admin('GET', '/admin/v1/promotions/save10', undefined, VIEWER)).json.description, 'Ten percent off');
    const list = await admin('GET', '/admin/v1/promotions');
    assert.ok(list.json.items.some((p) => p.id === 'save10'));
    assertProblem(await admin('PUT', '/admin/v1/promotions/other', { ...body }), 409, 'code_taken');
    assertProblem(await admin('PUT', '/admin/v1/promotions/save10', { ...body, id: 'different' }), 422, 'validation_failed');
    const invalid = await admin('PUT', '/admin/v1/promotions/bad', { code: 'x', discount: { type: 'percentage', basis_points: 0 }, target: { type: 'cart' }, starts_at: '2026-12-01T00:00:00Z', ends_at: '2026-11-01T00:00:00Z' });
    assertProblem(invalid, 422, 'validation_failed');
    assert.ok(invalid.json.errors.length >= 3, invalid.text);
    assertProblem(await admin('PUT', '/admin/v1/promotions/save10', body, VIEWER), 403, 'forbidden');
    const gone = await admin('PUT', '/admin/v1/promotions/temp', { code: 'TEMP-1', discount: { type: 'percentage', basis_points: 500 }, target: { type: 'cart' } });
    assert.equal(gone.status, 201, gone.text);
    assert.equal((await admin('DELETE', '/admin/v1/promotions/temp')).status, 200);
    assertProblem(await admin('DELETE', '/admin/v1/promotions/temp'), 404, 'promotion_not_found');
    assertProblem(await admin('GET', '/admin/v1/promotions/temp'), 404, 'promotion_not_found');
  });

  test('a coupon on a cart shows its discount; unknown and ineligible coupons are refused; removing restores the total', async () => {
    const fixed = await admin('PUT', '/admin/v1/promotions/fiver', {
      code: 'FIVER', discount: { type: 'amount_off', amounts: { USD: 500 } }, target: { type: 'sku', sku }, min_subtotal: { USD: 1 },
    });
    assert.equal(fixed.status, 201, fixed.text);
    const big = await admin('PUT', '/admin/v1/promotions/bigspender', {
      code: 'BIGSPENDER', discount: { type: 'percentage', basis_points: 5000 }, target: { type: 'cart' }, min_subtotal: { USD: 100_000_000 },
    });
    assert.equal(big.status, 201, big.text);
    await settle();
    const c = await cartWith(1);
    const add = await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'fiver' }, c.token);
    assert.equal(add.status, 200, add.text);
    assert.deepEqual(add.json.coupons, [{ code: 'FIVER', status: 'applied' }]);
    const off = Math.min(500, unit);
    assert.equal(add.json.discount_total.amount, off);
    assert.equal(add.json.grand_total.amount, unit - off);
    assert.equal(add.json.lines[0].discount.amount, off);
    assert.equal(add.json.discounts[0].id, 'fiver');
    // Adding it again changes nothing.
    assert.equal((await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'FIVER' }, c.token)).json.coupons.length, 1);
    // An unknown code and a known one that does not apply get one answer.
    const unknown = await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'NOPE-NOPE' }, c.token);
    const below = await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'BIGSPENDER' }, c.token);
    for (const r of [unknown, below]) {
      assertProblem(r, 422, 'validation_failed');
      assert.deepEqual(r.json.errors, [{ field: 'code', code: 'coupon_not_applicable', message: 'This code cannot be applied to this cart.' }]);
    }
    assert.equal(unknown.json.detail, below.json.detail);
    assertProblem(await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'FIVER', colour: 1 }, c.token), 400, 'unknown_field');
    const priced = await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'FIVER', amount: 1 }, c.token);
    assertProblem(priced, 422, 'validation_failed');
    assert.equal(priced.json.errors[0].code, 'client_price_refused');
    assertProblem(await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'FIVER' }), 404, 'cart_not_found');
    const removed = await send('DELETE', `/v1/carts/${c.id}/coupons/fiver`, undefined, c.token);
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual([removed.json.coupons.length, removed.json.grand_total.amount], [0, unit]);
    assertProblem(await send('DELETE', `/v1/carts/${c.id}/coupons/FIVER`, undefined, c.token), 404, 'coupon_not_found');
    await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'FIVER' }, c.token);
    const cleared = await send('DELETE', `/v1/carts/${c.id}/coupons`, undefined, c.token);
    assert.equal(cleared.json.coupons.length, 0);
    // A promotion deleted after it was added shows as unknown, and takes nothing off.
    await send('POST', `/v1/carts/${c.id}/coupons`, { code: 'FIVER' }, c.token);
    await admin('DELETE', '/admin/v1/promotions/fiver');
    await settle();
    const after = await send('GET', `/v1/carts/${c.id}`, undefined, c.token);
    assert.deepEqual([after.json.coupons[0].status, after.json.discount_total.amount], ['unknown', 0]);
  });
});
