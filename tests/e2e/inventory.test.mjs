// End-to-end: per-SKU stock objects through the public availability route
// and the admin inventory routes.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { api, assertProblem } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;

function admin(method, path, body, { token = ADMIN, key } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  return api.request(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

let sku;
let other;

before(async () => {
  const p = await api.product('prd_00003');
  sku = p.json.variants[0].sku;
  other = (await api.product('prd_00004')).json.variants[0].sku;
});

describe('inventory', () => {
  test('a SKU without counted stock is not in stock; an unknown SKU is 404', async () => {
    const res = await api.get(`/v1/inventory/${other}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { sku: other, available: 0, in_stock: false });
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assertProblem(await api.get('/v1/inventory/NO-SUCH-SKU'), 404, 'sku_not_found');
    assertProblem(await admin('PUT', '/admin/v1/inventory/NO-SUCH-SKU', { on_hand: 1 }), 404, 'sku_not_found');
  });

  test('set on hand, adjust, and read it back exactly', async () => {
    const set = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 10, reason: 'stocktake' });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(
      { on_hand: set.json.on_hand, reserved: set.json.reserved, sold: set.json.sold, available: set.json.available },
      { on_hand: 10, reserved: 0, sold: 0, available: 10 },
    );
    assert.equal(set.headers.get('cache-control'), 'no-store');
    const adj = await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: -3, reason: 'damaged in transit' });
    assert.equal(adj.json.available, 7);
    const pub = await api.get(`/v1/inventory/${sku}`);
    assert.deepEqual(pub.json, { sku, available: 7, in_stock: true });
    // Product detail shows the same exact availability per variant, and a
    // stock change changes its validator.
    const detail = await api.product('prd_00003');
    const variant = detail.json.variants.find((v) => v.sku === sku);
    assert.equal(variant.available, 7);
    assert.equal(variant.in_stock, true);
    await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 0, reason: 'recount, no change' });
    const same = await api.product('prd_00003', {}, { 'If-None-Match': detail.headers.get('etag') });
    assert.equal(same.status, 304, 'unchanged stock keeps the ETag');
  });

  test('a retried Idempotency-Key is applied once', async () => {
    const first = await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 5, reason: 'delivery 42' }, { key: 'delivery-42' });
    assert.equal(first.json.applied, true);
    const again = await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 5, reason: 'delivery 42' }, { key: 'delivery-42' });
    assert.equal(again.status, 200);
    assert.equal(again.json.applied, false);
    assert.equal(again.json.available, first.json.available);
    assert.equal((await api.get(`/v1/inventory/${sku}`)).json.available, 12);
  });

  test('refusals: below committed, invalid quantities, bad bodies', async () => {
    assertProblem(await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: -100, reason: 'oops' }), 409, 'below_committed');
    const negative = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: -1 });
    assertProblem(negative, 422, 'validation_failed');
    assert.equal(negative.json.errors[0].field, 'on_hand');
    assertProblem(await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 1 }), 400, 'missing_field');
    assertProblem(await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 1, reason: ' ' }), 422, 'validation_failed');
    assertProblem(await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 1, available: 5 }), 400, 'unknown_field');
    assertProblem(await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 1.5 }), 400, 'invalid_type');
    assert.equal((await api.get(`/v1/inventory/${sku}`)).json.available, 12, 'nothing changed');
  });

  test('tokens: none is 401, a viewer may read movements but not write', async () => {
    assertProblem(await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 99 }, { token: null }), 401, 'unauthorized');
    assertProblem(await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 99 }, { token: VIEWER }), 403, 'forbidden');
    assertProblem(await admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 1, reason: 'x' }, { token: VIEWER }), 403, 'forbidden');
    assert.equal((await admin('GET', `/admin/v1/inventory/${sku}/movements`, undefined, { token: VIEWER })).status, 200);
    assertProblem(await admin('GET', `/admin/v1/inventory/${sku}/movements`, undefined, { token: null }), 401, 'unauthorized');
  });

  test('concurrent adjustments are all applied exactly once', async () => {
    const before = (await api.get(`/v1/inventory/${sku}`)).json.available;
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 1, reason: `unit ${i}` }, { key: `unit-${i}` }),
      ),
    );
    assert.ok(results.every((r) => r.status === 200 && r.json.applied));
    // Retrying all of them changes nothing.
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        admin('POST', `/admin/v1/inventory/${sku}/adjustments`, { delta: 1, reason: `unit ${i}` }, { key: `unit-${i}` }),
      ),
    );
    assert.equal((await api.get(`/v1/inventory/${sku}`)).json.available, before + n);
  });

  test('the movement history lists every change in order', async () => {
    const items = [];
    let cursor;
    for (let i = 0; i < 100; i++) {
      const res = await admin('GET', `/admin/v1/inventory/${sku}/movements?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, res.text);
      items.push(...res.json.items);
      cursor = res.json.next_cursor;
      if (!cursor) {
        assert.equal(res.json.levels.available, 52);
        break;
      }
    }
    assert.deepEqual(
      items.slice(0, 4).map((m) => [m.kind, m.on_hand_delta, m.reason]),
      [
        ['set', 10, 'stocktake'],
        ['adjust', -3, 'damaged in transit'],
        ['adjust', 0, 'recount, no change'],
        ['adjust', 5, 'delivery 42'],
      ],
    );
    assert.equal(items.length, 4 + 40);
    assert.ok(items.every((m, i) => i === 0 || m.seq > items[i - 1].seq));
    assert.ok(items[3].op_id.endsWith(':delivery-42'));
    assert.ok(items[3].op_id.startsWith('e2e:'));
    assertProblem(await admin('GET', `/admin/v1/inventory/${sku}/movements?cursor=a1`), 400, 'invalid_cursor');
  });

  test('the listing in_stock filter follows the ledgers through the stock snapshot', async () => {
    const product = (await api.product('prd_00057')).json;
    const variant = product.variants[0].sku;
    const listed = async (inStock) => {
      const q = encodeURIComponent(product.name);
      const r = await api.get(`/v1/products?q=${q}&in_stock=${inStock}&limit=100`);
      assert.equal(r.status, 200, r.text);
      return r.json.items.find((i) => i.id === product.id);
    };
    // The snapshot lags the ledgers (a publication gathers reports for 2 s,
    // isolates re-read its pointer every second): poll, bounded.
    const eventually = async (what, check) => {
      const deadline = Date.now() + 15_000;
      while (!(await check())) {
        assert.ok(Date.now() < deadline, `${what} within 15 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const none = await listed(false);
    assert.ok(none, 'a product without counted stock is listed as out of stock');
    assert.equal(none.in_stock, false);
    assert.equal(await listed(true), undefined);

    const set = await admin('PUT', `/admin/v1/inventory/${variant}`, { on_hand: 2, reason: 'in_stock filter' });
    assert.equal(set.status, 200, set.text);
    await eventually('stocked product listed in stock', async () => (await listed(true))?.in_stock === true);
    assert.equal(await listed(false), undefined);

    // A cart holding every unit takes it out of stock again.
    const cart = await api.request('POST', '/v1/carts');
    const add = await api.request('POST', `/v1/carts/${cart.json.id}/lines`, {
      headers: { Authorization: `Bearer ${cart.json.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sku: variant, quantity: 2 }),
    });
    assert.equal(add.status, 200, add.text);
    await eventually('held product listed out of stock', async () => (await listed(false))?.in_stock === false);
    assert.equal(await listed(true), undefined);
    assertProblem(await api.get('/v1/products?in_stock=yes'), 400, 'invalid_in_stock');
  });
});
