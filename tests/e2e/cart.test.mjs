// End-to-end: carts with live reservations. The test worker runs with
// CART_HOLD_TTL_MS = 20000, so holds expire within the run.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { api, assertProblem, sendJson as send } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const TTL_MS = Number(process.env.EDGECART_CART_TTL_MS ?? 5000);


async function stock(sku, onHand) {
  const r = await send('PUT', `/admin/v1/inventory/${sku}`, { on_hand: onHand, reason: 'cart tests' }, { token: ADMIN });
  assert.equal(r.status, 200, r.text);
}

const available = async (sku) => (await api.get(`/v1/inventory/${sku}`)).json.available;

async function newCart(body) {
  const r = await send('POST', '/v1/carts', body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

let sku;
let product;
let limited;

before(async () => {
  product = (await api.product('prd_00010')).json;
  sku = product.variants[0].sku;
  limited = (await api.product('prd_00025')).json;
  await stock(sku, 5);
});

describe('carts', () => {
  test('a new cart has an id and a secret token; a wrong token is a 404', async () => {
    const created = await newCart();
    assert.match(created.id, /^crt_[0-9a-f]{24}$/);
    assert.match(created.token, /^[0-9a-f]{48}$/);
    assert.equal(created.cart.currency, 'USD');
    assert.deepEqual(created.cart.lines, []);
    assert.deepEqual(created.cart.subtotal, { amount: 0, currency: 'USD' });
    const mine = await send('GET', `/v1/carts/${created.id}`, undefined, { token: created.token });
    assert.equal(mine.status, 200);
    assert.equal(mine.headers.get('cache-control'), 'no-store');
    assertProblem(await send('GET', `/v1/carts/${created.id}`), 404, 'cart_not_found');
    assertProblem(await send('GET', `/v1/carts/${created.id}`, undefined, { token: 'f'.repeat(48) }), 404, 'cart_not_found');
    assertProblem(await send('GET', '/v1/carts/crt_000000000000000000000000', undefined, { token: created.token }), 404, 'cart_not_found');
    assertProblem(await send('GET', '/v1/carts/not-a-cart', undefined, { token: created.token }), 404, 'cart_not_found');
    const eur = await newCart({ currency: 'eur' });
    assert.equal(eur.cart.currency, 'EUR');
    assertProblem(await send('POST', '/v1/carts', { currency: 'GBP' }), 400, 'unknown_currency');
  });

  test('adding holds stock at once; the cart shows server prices and totals', async () => {
    const c = await newCart();
    const r = await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 2 }, { token: c.token });
    assert.equal(r.status, 200, r.text);
    const line = r.json.lines[0];
    const unit = product.variants[0].prices.find((p) => p.currency === 'USD').amount;
    assert.deepEqual(
      { sku: line.sku, quantity: line.quantity, unit: line.unit_price.amount, total: line.line_total.amount, product: line.product.id },
      { sku, quantity: 2, unit, total: 2 * unit, product: 'prd_00010' },
    );
    assert.equal(r.json.subtotal.amount, 2 * unit);
    assert.equal(r.json.item_count, 2);
    assert.ok(Date.parse(r.json.holds_expire_at) > Date.now());
    assert.equal(line.available, 3);
    assert.equal(await available(sku), 3);

    // Short stock: 409 with what this cart could hold, and the cart is unchanged.
    const short = await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 4 }, { token: c.token });
    assertProblem(short, 409, 'out_of_stock');
    assert.equal(short.json.available, 5);
    assert.equal(short.json.sku, sku);
    const after = await send('GET', `/v1/carts/${c.id}`, undefined, { token: c.token });
    assert.equal(after.json.lines[0].quantity, 2);

    // Raise to everything, lower, remove: holds follow.
    assert.equal((await send('PATCH', `/v1/carts/${c.id}/lines/${sku}`, { quantity: 5 }, { token: c.token })).status, 200);
    assert.equal(await available(sku), 0);
    const other = await newCart();
    assertProblem(await send('POST', `/v1/carts/${other.id}/lines`, { sku, quantity: 1 }, { token: other.token }), 409, 'out_of_stock');
    assert.equal((await send('PATCH', `/v1/carts/${c.id}/lines/${sku}`, { quantity: 1 }, { token: c.token })).status, 200);
    assert.equal(await available(sku), 4);
    const removed = await send('DELETE', `/v1/carts/${c.id}/lines/${sku}`, undefined, { token: c.token });
    assert.equal(removed.status, 200);
    assert.deepEqual(removed.json.lines, []);
    assert.equal(await available(sku), 5);
    assertProblem(await send('DELETE', `/v1/carts/${c.id}/lines/${sku}`, undefined, { token: c.token }), 404, 'line_not_found');
  });

  test('bad line requests get stable codes and change nothing', async () => {
    const c = await newCart();
    const post = (body, opts = {}) => send('POST', `/v1/carts/${c.id}/lines`, body, { token: c.token, ...opts });
    const priced = await post({ sku, quantity: 1, unit_price: { amount: 1, currency: 'USD' } });
    assertProblem(priced, 422, 'validation_failed');
    assert.equal(priced.json.errors[0].code, 'client_price_refused');
    assert.equal(priced.json.errors[0].field, 'unit_price');
    const total = await post({ sku, quantity: 1, total: 1 });
    assert.equal(total.json.errors[0].code, 'client_price_refused');
    assert.equal((await post({ sku, quantity: 0 })).json.errors[0].code, 'invalid_quantity');
    assert.equal((await post({ sku, quantity: 100 })).json.errors[0].code, 'quantity_limit');
    assertProblem(await post({ sku: 'NO-SUCH-SKU', quantity: 1 }), 404, 'sku_not_found');
    assertProblem(await post({ sku, quantity: 1, colour: 'red' }), 400, 'unknown_field');
    assertProblem(await post({ sku }), 400, 'missing_field');
    assertProblem(await post({ sku, quantity: 1 }, { type: 'text/plain' }), 415, 'unsupported_media_type');
    assertProblem(await post({ sku, quantity: 1 }, { token: 'x'.repeat(48) }), 404, 'cart_not_found');
    assert.equal(limited.max_per_order, 3);
    const limitedSku = limited.variants[0].sku;
    await stock(limitedSku, 10);
    const tooMany = await post({ sku: limitedSku, quantity: 4 });
    assert.equal(tooMany.json.errors[0].code, 'quantity_limit');
    assert.equal((await post({ sku: limitedSku, quantity: 3 })).status, 200);
    assertProblem(await send('PATCH', `/v1/carts/${c.id}/lines/${sku}`, { quantity: 1 }, { token: c.token }), 404, 'line_not_found');
    const cart = await send('GET', `/v1/carts/${c.id}`, undefined, { token: c.token });
    assert.deepEqual(
      cart.json.lines.map((l) => [l.sku, l.quantity]),
      [[limitedSku, 3]],
    );
  });

  test('a retried add (same Idempotency-Key) holds and counts once', async () => {
    const c = await newCart();
    for (let i = 0; i < 3; i++) {
      const r = await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 2 }, { token: c.token, key: 'add-once' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.lines[0].quantity, 2);
    }
    assert.equal(await available(sku), 3);
    await send('DELETE', `/v1/carts/${c.id}/lines/${sku}`, undefined, { token: c.token });
  });

  test('an abandoned cart releases its holds by itself within the TTL', async () => {
    const c = await newCart();
    const added = Date.now();
    await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 4 }, { token: c.token });
    assert.equal(await available(sku), 1);
    // Nothing touches the cart or the SKU's ledger now: only the object's
    // alarm can write the expiry into the movement history.
    const expired = async () => {
      const m = await send('GET', `/admin/v1/inventory/${sku}/movements?limit=200`, undefined, { token: ADMIN });
      return m.json.items.find((e) => e.kind === 'expire' && e.cart === c.id);
    };
    let entry;
    while (!entry && Date.now() < added + TTL_MS + 2000) {
      await new Promise((r) => setTimeout(r, 250));
      entry = await expired();
    }
    assert.ok(entry, `the hold was not released within TTL + 2 s`);
    assert.equal(entry.reserved_delta, -4);
    assert.equal(entry.op_id, 'alarm');
    assert.equal(await available(sku), 5);
  });

  test('cart activity refreshes holds that have used half their TTL, and only those', async () => {
    const [a, b, c2] = await Promise.all(['prd_00011', 'prd_00012', 'prd_00013'].map(async (id) => (await api.product(id)).json.variants[0].sku));
    for (const s of [a, b, c2]) await stock(s, 10);
    const c = await newCart();
    const first = await send('POST', `/v1/carts/${c.id}/lines`, { sku: a, quantity: 1 }, { token: c.token });
    assert.equal(first.status, 200, first.text);
    const aExpiry = Date.parse(first.json.holds_expire_at);
    // Soon after: A's hold has most of its TTL left and is not touched.
    const early = await send('POST', `/v1/carts/${c.id}/lines`, { sku: b, quantity: 1 }, { token: c.token });
    assert.equal(Date.parse(early.json.holds_expire_at), aExpiry, 'the earliest hold is still A, unchanged');
    const extends_ = async (s) => {
      const m = await send('GET', `/admin/v1/inventory/${s}/movements?limit=200`, undefined, { token: ADMIN });
      return m.json.items.filter((e) => e.kind === 'extend' && e.cart === c.id).length;
    };
    assert.equal(await extends_(a), 0);
    // Past half the TTL: the next change refreshes A and B to a full TTL.
    await new Promise((r) => setTimeout(r, TTL_MS / 2 + 500));
    const before = Date.now();
    const late = await send('POST', `/v1/carts/${c.id}/lines`, { sku: c2, quantity: 1 }, { token: c.token });
    assert.equal(late.status, 200, late.text);
    assert.ok(Date.parse(late.json.holds_expire_at) >= before + TTL_MS - 1000, `holds run to ${late.json.holds_expire_at}`);
    assert.deepEqual([await extends_(a), await extends_(b)], [1, 1]);
    assert.deepEqual(late.json.lines.map((l) => [l.sku, l.quantity, l.available]), [[a, 1, 9], [b, 1, 9], [c2, 1, 9]]);
  });
});
