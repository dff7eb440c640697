// End-to-end: stores. An operator creates a store through the API and it
// serves at once; requests reach it by the `store` selector or its host, an
// unknown or disabled store is 404 (never the default store); carts,
// orders, configuration and order lists belong to their store, whatever
// token comes with another store's request; admin tokens cover their store.
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import { api, assertProblem, BASE, sendJson, stripe } from './client.mjs';

const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
const SHOP_ADMIN = process.env.EDGECART_STORE_ADMIN_TOKEN;
const BANK_ADMIN = process.env.EDGECART_BANK_ADMIN_TOKEN;

const as = (token) => ({ headers: { Authorization: `Bearer ${token}` } });
const bank = (path) => `${path}${path.includes('?') ? '&' : '?'}store=bank`;

/** A GET with its own Host header (fetch does not let one be set). */
function getWithHost(path, host) {
  const url = new URL(BASE + path);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'GET', headers: { Host: host } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const profile = (over = {}) => ({
  name: 'Harbour Bank Rewards',
  hosts: ['rewards.bank.localhost'],
  default_currency: 'EUR',
  currencies: ['EUR'],
  skin: { name: 'Harbour Bank Rewards', colours: { accent: '#0b5fff' }, hero: 'Spend your points.' },
  ...over,
});

let sku;
let unitEur;

before(async () => {
  const product = (await api.product('prd_00061')).json;
  sku = product.variants[0].sku;
  unitEur = product.variants[0].prices.find((p) => p.currency === 'EUR').amount;
  const r = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 100, reason: 'stores tests' }, { token: OPERATOR });
  assert.equal(r.status, 200, r.text);
});

async function cartIn(path) {
  const c = (await sendJson('POST', path('/v1/carts'))).json;
  const r = await sendJson('POST', path(`/v1/carts/${c.id}/lines`), { sku, quantity: 1 }, { token: c.token });
  assert.equal(r.status, 200, r.text);
  return c;
}

describe('stores', () => {
  test('an operator creates a store through the API and it serves at once, by selector and by host', async () => {
    const created = await sendJson('PUT', '/admin/v1/stores/bank', profile(), { token: OPERATOR });
    assert.ok([200, 201].includes(created.status), created.text);
    assert.equal(created.json.id, 'bank');
    assert.deepEqual(created.json.currencies, ['EUR']);
    assert.deepEqual(created.json.selection, { type: 'all' });
    const again = await sendJson('PUT', '/admin/v1/stores/bank', profile(), { token: OPERATOR });
    assert.equal(again.status, 200, again.text);
    const list = await api.request('GET', '/admin/v1/stores', as(OPERATOR));
    assert.deepEqual(list.json.items.map((s) => s.id).filter((id) => ['bank', 'default'].includes(id)), ['bank', 'default']);
    assert.equal((await api.request('GET', '/admin/v1/stores/bank', as(OPERATOR))).json.name, 'Harbour Bank Rewards');
    // Served at once, priced in the store's own default currency.
    const listing = await api.get(bank('/v1/products?limit=1'));
    assert.equal(listing.status, 200, listing.text);
    assert.equal(listing.json.items[0].price.currency, 'EUR');
    const byHost = await getWithHost('/v1/products?limit=1', 'rewards.bank.localhost:8787');
    assert.equal(byHost.status, 200, byHost.text);
    assert.equal(byHost.json.items[0].price.currency, 'EUR');
    // The default store answers on its own hosts, in its own currency.
    assert.equal((await api.get('/v1/products?limit=1')).json.items[0].price.currency, 'USD');
  });

  test('an unknown store or host is 404 store_not_found, never the default store', async () => {
    assertProblem(await api.get('/v1/products?store=nope'), 404, 'store_not_found');
    assertProblem(await api.get('/v1/carts/crt_000000000000000000000000?store=nope'), 404, 'store_not_found');
    assertProblem(await api.request('GET', '/admin/v1/orders?store=nope', as(OPERATOR)), 404, 'store_not_found');
    // Without a token an admin route is 401 first: it tells nothing of stores.
    assertProblem(await api.request('GET', '/admin/v1/orders?store=nope'), 401, 'unauthorized');
    const elsewhere = await getWithHost('/v1/products', 'shop.unknown.example');
    assert.equal(elsewhere.status, 404, elsewhere.text);
    assert.equal(elsewhere.json.code, 'store_not_found');
    assertProblem(await api.get('/v1/products?store=bank&store=bank'), 400, 'duplicate_parameter');
    // The selector is a store's-route parameter only.
    assertProblem(await api.get('/health?store=bank'), 400, 'unknown_parameter');
  });

  test('profiles are validated with every problem; hosts are unique; only operators write stores', async () => {
    const bad = await sendJson('PUT', '/admin/v1/stores/Bad_Id', { name: '', hosts: ['127.0.0.1', 'a b'], default_currency: 'XYZ' }, { token: OPERATOR });
    assertProblem(bad, 422, 'validation_failed');
    const codes = bad.json.errors.map((e) => `${e.field}:${e.code}`);
    for (const want of ['id:invalid_store_id', 'name:required', 'hosts[1]:invalid_host', 'default_currency:unknown_currency']) {
      assert.ok(codes.includes(want), `${want} in ${codes}`);
    }
    // Hosts as requests are matched: lowercase, no port.
    const upper = await sendJson('PUT', '/admin/v1/stores/other', profile({ hosts: ['Shop.Example:8443'] }), { token: OPERATOR });
    assertProblem(upper, 422, 'validation_failed');
    assert.deepEqual(upper.json.errors.map((e) => [e.field, e.code]), [['hosts[0]', 'invalid_host']]);
    // No two stores answer on one host (the default store's count too).
    assertProblem(await sendJson('PUT', '/admin/v1/stores/other', profile({ hosts: ['127.0.0.1'] }), { token: OPERATOR }), 409, 'host_taken');
    assertProblem(await sendJson('PUT', '/admin/v1/stores/other', profile(), { token: OPERATOR }), 409, 'host_taken');
    assertProblem(await api.request('GET', '/admin/v1/stores/other', as(OPERATOR)), 404, 'store_not_found');
    for (const token of [SHOP_ADMIN, BANK_ADMIN]) {
      assertProblem(await api.request('GET', '/admin/v1/stores', as(token)), 403, 'forbidden');
      assertProblem(await sendJson('PUT', '/admin/v1/stores/bank', profile(), { token }), 403, 'forbidden');
    }
    assertProblem(await api.request('GET', '/admin/v1/stores/nope', as(OPERATOR)), 404, 'store_not_found');
  });

  test("a cart belongs to its store: another store's request does not find it, whatever the token", async () => {
    const inBank = await cartIn(bank);
    const inDefault = await cartIn((p) => p);
    assert.equal((await sendJson('GET', bank(`/v1/carts/${inBank.id}`), undefined, { token: inBank.token })).status, 200);
    assertProblem(await sendJson('GET', `/v1/carts/${inBank.id}`, undefined, { token: inBank.token }), 404, 'cart_not_found');
    assertProblem(await sendJson('GET', bank(`/v1/carts/${inDefault.id}`), undefined, { token: inDefault.token }), 404, 'cart_not_found');
    assertProblem(
      await sendJson('POST', `/v1/carts/${inBank.id}/lines`, { sku, quantity: 1 }, { token: inBank.token }),
      404,
      'cart_not_found',
    );
    const view = await sendJson('GET', bank(`/v1/carts/${inBank.id}`), undefined, { token: inBank.token });
    assert.equal(view.json.currency, 'EUR');
    assert.equal(view.json.lines[0].quantity, 1, 'the refused add changed nothing');
  });

  test('orders, order lists and configuration belong to their store; admin tokens cover theirs', async () => {
    // The bank's own shipping, set by the bank's admin.
    const config = {
      tax: { prices_include_tax: false, rates: [] },
      shipping_methods: [{ id: 'courier', name: 'Courier', rates: { EUR: 700 } }],
      payment: { provider: 'test' },
    };
    const put = await sendJson('PUT', bank('/admin/v1/store'), config, { token: BANK_ADMIN });
    assert.equal(put.status, 200, put.text);
    assertProblem(await sendJson('PUT', '/admin/v1/store', config, { token: BANK_ADMIN }), 403, 'forbidden');
    assertProblem(await sendJson('PUT', bank('/admin/v1/store'), config, { token: SHOP_ADMIN }), 403, 'forbidden');
    const defaultMethods = (await api.request('GET', '/admin/v1/store', as(OPERATOR))).json.shipping_methods.map((m) => m.id);
    assert.ok(!defaultMethods.includes('courier'), 'the default store keeps its configuration');

    const c = await cartIn(bank);
    const body = {
      email: 'ada@example.com',
      shipping_address: { name: 'Ada Lovelace', line1: '1 Rue de Rivoli', city: 'Paris', postal_code: '75001', country: 'FR' },
      shipping_method: 'courier',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: { amount: unitEur + 700, currency: 'EUR' },
    };
    const placed = await sendJson('POST', bank(`/v1/carts/${c.id}/checkout`), body, { token: c.token, key: `stores-${c.id}` });
    assert.equal(placed.status, 201, placed.text);
    const { order, order_token: orderToken } = placed.json;
    assert.equal(order.store, 'bank');
    assert.equal(order.totals.grand_total, unitEur + 700);

    // The shopper reads it in its store only.
    assert.equal((await sendJson('GET', bank(`/v1/orders/${order.id}`), undefined, { token: orderToken })).status, 200);
    assertProblem(await sendJson('GET', `/v1/orders/${order.id}`, undefined, { token: orderToken }), 404, 'order_not_found');
    assertProblem(await sendJson('POST', `/v1/orders/${order.id}/cancel`, undefined, { token: orderToken }), 404, 'order_not_found');

    // Admins: the bank's admin and the operator see it; the default
    // store's admin gets 403 on the bank's routes, and 404 in its own.
    assert.equal((await api.request('GET', bank(`/admin/v1/orders/${order.id}`), as(BANK_ADMIN))).status, 200);
    assert.equal((await api.request('GET', bank(`/admin/v1/orders/${order.id}`), as(OPERATOR))).status, 200);
    assertProblem(await api.request('GET', bank(`/admin/v1/orders/${order.id}`), as(SHOP_ADMIN)), 403, 'forbidden');
    assertProblem(await api.request('GET', `/admin/v1/orders/${order.id}`, as(SHOP_ADMIN)), 404, 'order_not_found');
    assertProblem(await api.request('GET', '/admin/v1/orders', as(BANK_ADMIN)), 403, 'forbidden');
    assertProblem(await api.request('POST', bank(`/admin/v1/orders/${order.id}/fulfil`), as(SHOP_ADMIN)), 403, 'forbidden');

    // The store's order list has it; the default store's has not.
    const listed = async (path, token) => {
      for (let i = 0; i < 50; i++) {
        const r = await api.request('GET', path, as(token));
        assert.equal(r.status, 200, r.text);
        if (r.json.items.some((o) => o.id === order.id)) return true;
        await new Promise((res) => setTimeout(res, 100));
      }
      return false;
    };
    assert.ok(await listed(bank('/admin/v1/orders'), BANK_ADMIN), 'in the bank store index');
    const defaultList = await api.request('GET', '/admin/v1/orders?limit=200', as(OPERATOR));
    assert.ok(!defaultList.json.items.some((o) => o.id === order.id), 'not in the default store index');

    // Refunded by the bank's admin, in the bank's store.
    const refunded = await api.request('POST', bank(`/admin/v1/orders/${order.id}/refund`), as(BANK_ADMIN));
    assert.equal(refunded.status, 200, refunded.text);
    assert.equal(refunded.json.status, 'refunded');
  });

  test("a store sells its selection only: listings, search, facets, reads, carts and currencies", async () => {
    const product = (await api.product('prd_00061')).json;
    const category = product.category.slug;
    const all = (await api.products({ limit: 100 })).json.items;
    const outside = all.find((p) => p.category.slug !== category);
    const outsideSku = (await api.product(outside.id)).json.variants[0].sku;
    const put = await sendJson('PUT', '/admin/v1/stores/bank', profile({ selection: { type: 'categories', categories: [category] } }), {
      token: OPERATOR,
    });
    assert.equal(put.status, 200, put.text);
    const listing = (await api.get(bank('/v1/products?limit=100'))).json;
    assert.ok(listing.items.length > 0);
    assert.ok(listing.items.every((p) => p.category.slug === category), 'only the selected category');
    assert.deepEqual(
      listing.facets.categories.filter((c) => c.count > 0).map((c) => c.slug),
      [category],
      'facets count the selection',
    );
    const categories = (await api.get(bank('/v1/categories'))).json.items;
    assert.deepEqual(categories.map((c) => c.slug), [category]);
    assert.equal(categories[0].product_count, listing.total);
    const search = (await api.get(bank(`/v1/products?q=${encodeURIComponent(outside.name.split(' ')[0])}`))).json;
    assert.ok(search.items.every((p) => p.category.slug === category));
    // Outside the selection: 404 in this store, as if it did not exist.
    assertProblem(await api.get(bank(`/v1/products/${outside.id}`)), 404, 'product_not_found');
    assertProblem(await api.get(bank(`/v1/inventory/${outsideSku}`)), 404, 'sku_not_found');
    assert.equal((await api.get(bank('/v1/products/prd_00061'))).status, 200);
    assert.equal((await api.get(`/v1/products/${outside.id}`)).status, 200, 'the default store still sells it');
    const c = (await sendJson('POST', bank('/v1/carts'))).json;
    const refused = await sendJson('POST', bank(`/v1/carts/${c.id}/lines`), { sku: outsideSku, quantity: 1 }, { token: c.token });
    assert.equal(refused.status, 404, refused.text);
    assert.equal(refused.json.code, 'sku_not_found');
    assert.equal((await sendJson('POST', bank(`/v1/carts/${c.id}/lines`), { sku, quantity: 1 }, { token: c.token })).status, 200);
    // The store's currencies only.
    assertProblem(await api.get(bank('/v1/products?currency=USD')), 400, 'unknown_currency');
    assertProblem(await sendJson('POST', bank('/v1/carts'), { currency: 'USD' }), 400, 'unknown_currency');
    assert.equal((await api.get('/v1/products?currency=EUR')).status, 200, 'the default store sells in EUR');
    // Back to every product.
    assert.equal((await sendJson('PUT', '/admin/v1/stores/bank', profile(), { token: OPERATOR })).status, 200);
    assert.equal((await api.get(bank(`/v1/products/${outside.id}`))).status, 200);
  });

  test("switching a store's provider while 20 checkouts are in flight: each order keeps the provider that charged it, and refunds go there", async () => {
    const sw = (path) => `${path}${path.includes('?') ? '&' : '?'}store=switch`;
    try {
      const created = await sendJson('PUT', '/admin/v1/stores/switch', { name: 'Switch', default_currency: 'EUR' }, { token: OPERATOR });
      assert.ok([200, 201].includes(created.status), created.text);
      const config = (payment) => ({
        tax: { prices_include_tax: false, rates: [] },
        shipping_methods: [{ id: 'standard', name: 'Standard', rates: { EUR: 500 } }],
        payment,
      });
      const useProvider = async (payment) => {
        const r = await sendJson('PUT', sw('/admin/v1/store'), config(payment), { token: OPERATOR });
        assert.equal(r.status, 200, r.text);
      };
      await useProvider({ provider: 'stripe' });
      const carts = [];
      for (let i = 0; i < 25; i++) carts.push(await cartIn(sw));
      const checkout = (c, token) =>
        sendJson(
          'POST',
          sw(`/v1/carts/${c.id}/checkout`),
          {
            email: `switch${c.id}@example.com`,
            shipping_address: { name: 'Ada', line1: '1 Rue de Rivoli', city: 'Paris', postal_code: '75001', country: 'FR' },
            shipping_method: 'standard',
            payment: { method: 'card', token },
            expected_total: { amount: unitEur + 500, currency: 'EUR' },
          },
          { token: c.token, key: `switch-${c.id}` },
        );
      // Twenty checkouts reach Stripe, which holds its answers back.
      const before = (await stripe.charges()).length;
      await stripe.setMode('lagging');
      const inFlight = carts.slice(0, 20).map((c) => checkout(c, 'pm_card_visa'));
      for (let i = 0; i < 200 && (await stripe.charges()).length < before + 20; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal((await stripe.charges()).length, before + 20, 'twenty charges in flight');
      // The switch applies to the next checkouts; those in flight finish with Stripe.
      await useProvider({ provider: 'test' });
      await stripe.setMode('normal');
      const after = await Promise.all(carts.slice(20).map((c) => checkout(c, 'tok_visa')));
      const first = await Promise.all(inFlight);
      for (const r of first) {
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.order.payment.provider, 'stripe');
        assert.equal(r.json.order.store, 'switch');
      }
      for (const r of after) {
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.order.payment.provider, 'test');
      }
      const charged = new Map((await stripe.charges()).slice(before).map((ch) => [ch.metadata.order_id, ch]));
      assert.deepEqual([...charged.keys()].sort(), first.map((r) => r.json.order.id).sort());
      // Refunds go to the provider that took each payment.
      const refundsBefore = (await stripe.refunds()).length;
      for (const r of [...first, ...after]) {
        const refunded = await api.request('POST', sw(`/admin/v1/orders/${r.json.order.id}/refund`), { headers: { Authorization: `Bearer ${OPERATOR}` } });
        assert.equal(refunded.status, 200, refunded.text);
        assert.equal(refunded.json.status, 'refunded');
      }
      const refunds = (await stripe.refunds()).slice(refundsBefore);
      assert.equal(refunds.length, 20, 'the Stripe payments were refunded at Stripe, the others were not sent there');
      assert.deepEqual(
        refunds.map((x) => x.payment_intent).sort(),
        first.map((r) => r.json.order.payment.reference).sort(),
      );
    } finally {
      await stripe.setMode('normal');
    }
  });

  test('a disabled store answers 404 everywhere, with nothing leaked; enabled again, it serves', async () => {
    const c = await cartIn(bank);
    const off = await sendJson('PUT', '/admin/v1/stores/bank', profile({ enabled: false }), { token: OPERATOR });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.enabled, false);
    assertProblem(await api.get(bank('/v1/products')), 404, 'store_not_found');
    assertProblem(await sendJson('GET', bank(`/v1/carts/${c.id}`), undefined, { token: c.token }), 404, 'store_not_found');
    assertProblem(await api.request('GET', bank('/admin/v1/orders'), as(OPERATOR)), 404, 'store_not_found');
    assertProblem(await api.request('GET', bank('/admin/v1/orders'), as(BANK_ADMIN)), 404, 'store_not_found');
    const byHost = await getWithHost('/v1/products', 'rewards.bank.localhost');
    assert.equal(byHost.status, 404);
    assert.equal(byHost.json.code, 'store_not_found');
    // The operator still sees it, and enables it again: its cart is intact.
    assert.equal((await api.request('GET', '/admin/v1/stores/bank', as(OPERATOR))).json.enabled, false);
    assert.equal((await sendJson('PUT', '/admin/v1/stores/bank', profile(), { token: OPERATOR })).status, 200);
    const back = await sendJson('GET', bank(`/v1/carts/${c.id}`), undefined, { token: c.token });
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.lines.length, 1);
  });
});
