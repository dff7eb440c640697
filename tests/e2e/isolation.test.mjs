// End-to-end: the isolation matrix, generated from the route table (through
// /openapi.json, which the table generates): for every route of a store,
// a request for one store carrying another store's cart token, order token
// or admin token is refused (403 or 404), and changes nothing.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { api, assertProblem, sendJson } from './client.mjs';
import { memberToken } from './points.mjs';

const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
const SHOP_ADMIN = process.env.EDGECART_STORE_ADMIN_TOKEN;
const BANK_ADMIN = process.env.EDGECART_BANK_ADMIN_TOKEN;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const inStore = (store, path) => (store === 'default' ? path : `${path}${path.includes('?') ? '&' : '?'}store=${store}`);

let sku;
let unit;
/** Per store: a cart with one line, a placed order, its admin token. */
const stores = {};

async function setUp(store, adminToken) {
  const c = (await sendJson('POST', inStore(store, '/v1/carts'), { currency: 'EUR' })).json;
  const add = await sendJson('POST', inStore(store, `/v1/carts/${c.id}/lines`), { sku, quantity: 1 }, { token: c.token });
  assert.equal(add.status, 200, add.text);
  const o = (await sendJson('POST', inStore(store, '/v1/carts'), { currency: 'EUR' })).json;
  await sendJson('POST', inStore(store, `/v1/carts/${o.id}/lines`), { sku, quantity: 1 }, { token: o.token });
  const view = await sendJson('GET', inStore(store, `/v1/carts/${o.id}?country=DE&shipping_method=standard`), undefined, { token: o.token });
  const placed = await sendJson(
    'POST',
    inStore(store, `/v1/carts/${o.id}/checkout`),
    {
      email: 'iso@example.com',
      shipping_address: { name: 'Iso Late', line1: '1 Hauptstr.', city: 'Berlin', postal_code: '10115', country: 'DE' },
      shipping_method: 'standard',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: view.json.grand_total,
    },
    { token: o.token, key: `iso-${o.id}` },
  );
  assert.equal(placed.status, 201, placed.text);
  stores[store] = { cart: c, order: placed.json.order, orderToken: placed.json.order_token, adminToken };
}

before(async () => {
  const product = (await api.product('prd_00061')).json;
  sku = product.variants[0].sku;
  unit = product.variants[0].prices.find((p) => p.currency === 'EUR').amount;
  assert.ok(unit > 0);
  assert.equal((await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 100, reason: 'isolation' }, { token: OPERATOR })).status, 200);
  const bank = await sendJson(
    'PUT',
    '/admin/v1/stores/bank',
    { name: 'Harbour Bank Rewards', hosts: ['rewards.bank.localhost'], default_currency: 'EUR', currencies: ['EUR'] },
    { token: OPERATOR },
  );
  assert.ok([200, 201].includes(bank.status), bank.text);
  await setUp('default', SHOP_ADMIN);
  await setUp('bank', BANK_ADMIN);
});

/** Every operation of a store's route, from the document: [method, template, security scheme]. */
async function storeOperations() {
  const doc = (await api.openapi()).json;
  const out = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of METHODS.filter((m) => item[m])) {
      const op = item[method];
      const scoped = (op.parameters ?? []).some((p) => p.$ref === '#/components/parameters/StoreSelector');
      const scheme = Object.keys(op.security?.[0] ?? {})[0] ?? null;
      if (scoped) out.push([method.toUpperCase(), template, scheme]);
    }
  }
  return out;
}

/** A well-formed body for a holder's write (admins are refused before any body is read). */
function bodyFor(method, template) {
  if (method === 'GET' || method === 'DELETE') return undefined;
  if (template.endsWith('/lines')) return { sku, quantity: 1 };
  if (template.endsWith('/lines/{sku}')) return { quantity: 2 };
  if (template.endsWith('/coupons')) return { code: 'WELCOME10' };
  if (template.endsWith('/checkout')) {
    return {
      email: 'iso@example.com',
      shipping_address: { name: 'Iso Late', line1: '1 Hauptstr.', city: 'Berlin', postal_code: '10115', country: 'DE' },
      shipping_method: 'standard',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: { amount: unit, currency: 'EUR' },
    };
  }
  return template.includes('/orders/') && method === 'POST' ? undefined : {};
}

describe('isolation between stores', () => {
  test("every store route refuses another store's cart token, order token and admin token", async () => {
    const ops = await storeOperations();
    assert.ok(ops.length >= 25, `${ops.length} store routes`);
    let checked = 0;
    for (const [target, other] of [
      ['bank', 'default'],
      ['default', 'bank'],
    ]) {
      const theirs = stores[other];
      for (const [method, template, scheme] of ops) {
        if (scheme === null) continue; // public: no credentials to misuse
        if (scheme === 'memberToken') {
          // Another store's member: its token names and is signed for the
          // store `points`, which neither of these can verify.
          const r = await api.request(method, inStore(target, template), { headers: { 'Member-Token': memberToken('points', 'm-iso') } });
          assertProblem(r, 401, 'invalid_member_token');
          checked++;
          continue;
        }
        const path = template
          .replace('{id}', template.includes('/orders/') ? theirs.order.id : template.includes('/promotions/') ? 'welcome10' : theirs.cart.id)
          .replace('{sku}', sku)
          .replace('{code}', 'WELCOME10')
          .replace('{id_or_slug}', 'prd_00061');
        const token = { cartToken: theirs.cart.token, orderToken: theirs.orderToken, bearerAuth: theirs.adminToken }[scheme];
        assert.ok(token, `${method} ${template}: scheme ${scheme}`);
        const body = bodyFor(method, template);
        const r = await sendJson(method, inStore(target, path), body, { token, key: `iso-${checked}` });
        assert.ok(
          [403, 404].includes(r.status),
          `${method} ${inStore(target, path)} with ${other}'s ${scheme}: ${r.status} ${r.text}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 40, `${checked} requests checked`);
    // Nothing changed: each store's cart and order are as they were.
    for (const store of ['default', 'bank']) {
      const { cart, order, orderToken } = stores[store];
      const c = await sendJson('GET', inStore(store, `/v1/carts/${cart.id}`), undefined, { token: cart.token });
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(c.json.lines.map((l) => [l.sku, l.quantity]), [[sku, 1]], `${store}'s cart`);
      const o = await sendJson('GET', inStore(store, `/v1/orders/${order.id}`), undefined, { token: orderToken });
      assert.equal(o.json.status, 'paid', `${store}'s order`);
    }
  });
});
