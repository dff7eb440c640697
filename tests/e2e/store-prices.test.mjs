// End-to-end: a store's own prices. A store sells the shared catalog at
// prices of its own, in a currency the base catalog has none in: its
// listing, search order, product pages, carts and checkout charge them,
// while the base catalog and every other store keep the base prices.
// Only the store's admins (and operators) change them; every change is
// audited; a SKU that leaves the catalog takes them along.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { allPages, api, assertProblem, auditTrail, sendJson } from './client.mjs';

const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;
const BANK_ADMIN = process.env.EDGECART_BANK_ADMIN_TOKEN;

const outlet = (path) => `${path}${path.includes('?') ? '&' : '?'}store=outlet`;
const as = (token) => ({ headers: { Authorization: `Bearer ${token}` } });
const setPrices = (prices, token = OPERATOR, store = outlet) =>
  sendJson('POST', store('/admin/v1/store/prices'), { prices }, { token });
const listPrices = async (token = OPERATOR) => {
  const r = await api.request('GET', outlet('/admin/v1/store/prices'), as(token));
  assert.equal(r.status, 200, r.text);
  return r.json.items;
};

let product;
let category;
let sku;
let baseEur;

before(async () => {
  product = (await api.product('prd_00077')).json;
  category = product.category.slug;
  sku = product.variants[0].sku;
  baseEur = product.variants[0].prices.find((p) => p.currency === 'EUR').amount;
  const created = await sendJson(
    'PUT',
    '/admin/v1/stores/outlet',
    {
      name: 'Outlet',
      default_currency: 'GBP',
      currencies: ['GBP', 'EUR'],
      selection: { type: 'categories', categories: [category] },
    },
    { token: OPERATOR },
  );
  assert.ok([200, 201].includes(created.status), created.text);
  const config = await sendJson(
    'PUT',
    outlet('/admin/v1/store'),
    {
      tax: { prices_include_tax: true, rates: [] },
      shipping_methods: [{ id: 'standard', name: 'Standard', rates: { GBP: 300, EUR: 400 } }],
      payment: { provider: 'test' },
    },
    { token: OPERATOR },
  );
  assert.equal(config.status, 200, config.text);
  // The store `bank` (its admin's token is the suite's), unless it exists.
  if ((await api.request('GET', '/admin/v1/stores/bank', as(OPERATOR))).status === 404) {
    const bank = await sendJson('PUT', '/admin/v1/stores/bank', { name: 'Harbour Bank Rewards', default_currency: 'EUR' }, { token: OPERATOR });
    assert.ok([200, 201].includes(bank.status), bank.text);
  }
  const stock = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 50, reason: 'store prices tests' }, { token: OPERATOR });
  assert.equal(stock.status, 200, stock.text);
});

describe('store prices', () => {
  test('a store sells at its own prices, in a currency of its own; the base catalog and other stores do not change', async () => {
    // The base catalog has no GBP: before the outlet prices anything in
    // it, GBP is refused and the listing falls back to the outlet's EUR.
    assertProblem(await api.get(outlet('/v1/products?currency=GBP')), 400, 'unknown_currency');
    const fallback = (await api.get(outlet('/v1/products?limit=1'))).json;
    assert.equal(fallback.items[0].price.currency, 'EUR');
    const set = await setPrices([
      { sku, currency: 'GBP', amount: 1234 },
      { sku, currency: 'EUR', amount: baseEur + 777 },
    ]);
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.changed, 2);
    assert.ok(set.json.catalog_version);
    // The GBP listing: the one product with a GBP price, at the outlet's price.
    const gbp = (await api.get(outlet('/v1/products'))).json;
    assert.deepEqual(gbp.items.map((p) => [p.id, p.price]), [[product.id, { amount: 1234, currency: 'GBP' }]]);
    assert.equal(gbp.total, 1);
    assert.equal(gbp.facets.price_bands.reduce((n, b) => n + b.count, 0), 1);
    // The product page: the repriced variant at the outlet's prices, the others unpriced in GBP.
    const detail = (await api.get(outlet(`/v1/products/${product.id}`))).json;
    assert.deepEqual(detail.price, { amount: 1234, currency: 'GBP' });
    assert.deepEqual(detail.variants[0].price, { amount: 1234, currency: 'GBP' });
    assert.ok(detail.variants.slice(1).every((v) => v.price === null));
    const inEur = (await api.get(outlet(`/v1/products/${product.id}?currency=EUR`))).json;
    assert.deepEqual(inEur.variants[0].price, { amount: baseEur + 777, currency: 'EUR' });
    const otherEur = product.variants.slice(1).map((v) => v.prices.find((p) => p.currency === 'EUR').amount);
    assert.deepEqual(inEur.price.amount, Math.min(baseEur + 777, ...otherEur));
    // The EUR listing sorted by price: the outlet's own price decides the product's place.
    const byPrice = (await allPages({ store: 'outlet', currency: 'EUR', sort: 'price_asc', limit: 100 })).items;
    const amounts = byPrice.map((p) => p.price.amount);
    assert.deepEqual(amounts, [...amounts].sort((a, b) => a - b));
    assert.equal(byPrice.find((p) => p.id === product.id).price.amount, inEur.price.amount);
    // The default store, and the base catalog, still charge the base price.
    const base = (await api.get(`/v1/products/${product.id}?currency=EUR`)).json;
    assert.deepEqual(base.variants[0].price, { amount: baseEur, currency: 'EUR' });
    assertProblem(await api.get('/v1/products?currency=GBP'), 400, 'unknown_currency');
    // A cart and a checkout in the outlet charge the outlet's price.
    const cart = (await sendJson('POST', outlet('/v1/carts'))).json;
    const line = await sendJson('POST', outlet(`/v1/carts/${cart.id}/lines`), { sku, quantity: 2 }, { token: cart.token });
    assert.equal(line.status, 200, line.text);
    assert.deepEqual(line.json.lines[0].unit_price, { amount: 1234, currency: 'GBP' });
    assert.deepEqual(line.json.subtotal, { amount: 2468, currency: 'GBP' });
    const order = await sendJson(
      'POST',
      outlet(`/v1/carts/${cart.id}/checkout`),
      {
        email: 'outlet@example.com',
        shipping_address: { name: 'Ada', line1: '1 High Street', city: 'London', postal_code: 'SW1A 1AA', country: 'GB' },
        shipping_method: 'standard',
        payment: { method: 'card', token: 'tok_visa' },
        expected_total: { amount: 2468 + 300, currency: 'GBP' },
      },
      { token: cart.token, key: `outlet-${cart.id}` },
    );
    assert.equal(order.status, 201, order.text);
    assert.equal(order.json.order.currency, 'GBP');
    assert.equal(order.json.order.totals.grand_total, 2768);
    assert.equal(order.json.order.lines[0].unit_price, 1234);
    // The list of the outlet's own prices.
    assert.deepEqual(await listPrices(), [
      { sku, prices: [{ amount: baseEur + 777, currency: 'EUR' }, { amount: 1234, currency: 'GBP' }] },
    ]);
    // Removing a price: the base price applies again; removing it twice changes nothing.
    const removed = await setPrices([{ sku, currency: 'GBP', amount: null }]);
    assert.equal(removed.json.changed, 1, removed.text);
    assert.equal((await setPrices([{ sku, currency: 'GBP', amount: null }])).json.changed, 0);
    assertProblem(await api.get(outlet('/v1/products?currency=GBP')), 400, 'unknown_currency');
    // Every change is in the audit trail with its actor.
    const audit = await auditTrail('/admin/v1/audit', OPERATOR);
    const mine = audit.filter((e) => e.target === `store-price:outlet:${sku}:GBP`);
    assert.deepEqual(mine.slice(-2).map((e) => [e.action, e.actor, e.store, e.before?.amount ?? null, e.after?.amount ?? null]), [
      ['store_price.set', 'e2e', 'outlet', null, 1234],
      ['store_price.delete', 'e2e', 'outlet', 1234, null],
    ]);
  });

  test('store prices are refused with clear problems, all or nothing, and only the store may change them', async () => {
    const before = await listPrices();
    assertProblem(await setPrices([{ sku, currency: 'GBP', amount: 5 }, { sku: 'NO-SUCH-SKU', currency: 'GBP', amount: 5 }]), 404, 'sku_not_found');
    assertProblem(await setPrices([{ sku, currency: 'ZZZ', amount: 5 }]), 404, 'unknown_currency');
    const negative = await setPrices([{ sku, currency: 'GBP', amount: -1 }]);
    assertProblem(negative, 422, 'validation_failed');
    assert.equal(negative.json.errors[0].field, 'prices[0].amount');
    assertProblem(await setPrices([]), 422, 'validation_failed');
    assertProblem(await setPrices([{ sku, currency: 'GBP', amount: 1.5 }]), 422, 'validation_failed');
    assertProblem(await sendJson('POST', outlet('/admin/v1/store/prices'), { prices: [{ sku, currency: 'GBP', amount: 5, note: 1 }] }, { token: OPERATOR }), 400, 'unknown_field');
    assert.deepEqual(await listPrices(), before, 'nothing changed');
    // Another store's admin and a viewer may not; the store's own admin may.
    assertProblem(await setPrices([{ sku, currency: 'GBP', amount: 5 }], BANK_ADMIN), 403, 'forbidden');
    assertProblem(await setPrices([{ sku, currency: 'GBP', amount: 5 }], VIEWER), 403, 'forbidden');
    assertProblem(await api.request('GET', outlet('/admin/v1/store/prices'), as(BANK_ADMIN)), 403, 'forbidden');
    const bank = (path) => `${path}${path.includes('?') ? '&' : '?'}store=bank`;
    const own = await setPrices([{ sku, currency: 'JPY', amount: 900 }], BANK_ADMIN, bank);
    assert.equal(own.status, 200, own.text);
    const bankList = await api.request('GET', bank('/admin/v1/store/prices'), as(BANK_ADMIN));
    assert.ok(bankList.json.items.some((i) => i.sku === sku && i.prices.some((p) => p.currency === 'JPY')));
    assert.equal((await setPrices([{ sku, currency: 'JPY', amount: null }], BANK_ADMIN, bank)).json.changed, 1);
    assertProblem(await api.request('GET', outlet('/admin/v1/store/prices?cursor=nope'), as(OPERATOR)), 400, 'invalid_cursor');
  });

  test("a SKU that leaves the catalog takes every store's prices of it along", async () => {
    const id = 'prd_storeprices1';
    const input = (variants) => ({
      id,
      slug: 'store-prices-lamp',
      name: 'Store Prices Lamp',
      category,
      variants: variants.map((s, i) => ({ sku: s, name: `V${i}`, prices: { USD: 1000 + i, EUR: 900 + i } })),
    });
    const put = (variants) => sendJson('PUT', `/admin/v1/products/${id}`, input(variants), { token: OPERATOR });
    assert.ok([200, 201].includes((await put(['SPL-1', 'SPL-2'])).status));
    assert.equal((await setPrices([{ sku: 'SPL-2', currency: 'GBP', amount: 4321 }])).status, 200);
    const listed = (await api.get(outlet('/v1/products?q=store%20prices%20lamp'))).json.items;
    assert.deepEqual(listed.map((p) => [p.id, p.price]), [[id, { amount: 4321, currency: 'GBP' }]]);
    // SPL-2 leaves the product: the outlet's price of it goes with it, for good.
    assert.equal((await put(['SPL-1'])).status, 200);
    assert.ok(!(await listPrices()).some((i) => i.sku === 'SPL-2'));
    assert.equal((await put(['SPL-1', 'SPL-2'])).status, 200);
    const back = (await api.get(outlet(`/v1/products/${id}?currency=EUR`))).json;
    assert.deepEqual(back.variants.map((v) => v.prices), [[{ amount: 900, currency: 'EUR' }, { amount: 1000, currency: 'USD' }], [{ amount: 901, currency: 'EUR' }, { amount: 1001, currency: 'USD' }]], 'no GBP price came back');
    assert.equal((await sendJson('DELETE', `/admin/v1/products/${id}`, undefined, { token: OPERATOR })).status, 200);
  });
});
