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

describe('batch counts (POST /admin/v1/inventory)', () => {
  const batchUrl = '/admin/v1/inventory';
  const level = async (s) => {
    const r = await admin('GET', `/admin/v1/inventory/${s}`);
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  let skus;

  before(async () => {
    skus = [];
    for (const id of ['prd_00201', 'prd_00202', 'prd_00203']) {
      skus.push(...(await api.product(id)).json.variants.map((v) => v.sku));
    }
    assert.ok(skus.length >= 4, skus.join());
  });

  test('sets every level, reports an unknown SKU on its item, answers in request order', async () => {
    const items = skus.map((s, i) => ({ sku: s, on_hand: 10 + i, reason: 'batch stocktake' }));
    items.splice(1, 0, { sku: 'NO-SUCH-SKU', on_hand: 4 });
    const r = await admin('POST', batchUrl, { items }, { key: 'batch-1' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(
      r.json.items.map((i) => [i.sku, i.status]),
      items.map((i) => [i.sku, i.sku === 'NO-SUCH-SKU' ? 'error' : 'ok']),
    );
    assert.deepEqual([r.json.updated, r.json.failed], [skus.length, 1]);
    const unknown = r.json.items[1];
    assert.equal(unknown.code, 'sku_not_found');
    assert.ok(unknown.detail);
    for (const [i, s] of skus.entries()) {
      const item = r.json.items.find((x) => x.sku === s);
      assert.equal(item.applied, true);
      assert.deepEqual(item.levels, { on_hand: 10 + i, reserved: 0, sold: 0, available: 10 + i });
      assert.deepEqual(await level(s), { sku: s, on_hand: 10 + i, reserved: 0, sold: 0, available: 10 + i });
    }
    assert.deepEqual(await api.get(`/v1/inventory/${skus[0]}`).then((x) => x.json), { sku: skus[0], available: 10, in_stock: true });
  });

  test('a retried batch (same Idempotency-Key) applies nothing twice', async () => {
    // A change after the batch must survive its retry.
    const adj = await admin('POST', `/admin/v1/inventory/${skus[0]}/adjustments`, { delta: -2, reason: 'broken jar' });
    assert.equal(adj.status, 200, adj.text);
    const items = skus.map((s, i) => ({ sku: s, on_hand: 10 + i, reason: 'batch stocktake' }));
    items.splice(1, 0, { sku: 'NO-SUCH-SKU', on_hand: 4 });
    const again = await admin('POST', batchUrl, { items }, { key: 'batch-1' });
    assert.equal(again.status, 200, again.text);
    assert.deepEqual([again.json.updated, again.json.failed], [skus.length, 1]);
    const first = again.json.items.find((x) => x.sku === skus[0]);
    assert.equal(first.applied, false);
    assert.equal(first.levels.on_hand, 8, 'the adjustment after the batch is kept');
    assert.ok(again.json.items.filter((x) => x.status === 'ok').every((x) => !x.applied));
    assert.equal((await level(skus[1])).on_hand, 11);
    const moves = await admin('GET', `/admin/v1/inventory/${skus[0]}/movements`);
    const sets = moves.json.items.filter((m) => m.kind === 'set');
    assert.equal(sets.length, 1, 'one set movement');
    assert.equal(sets[0].reason, 'batch stocktake');
    assert.equal(sets[0].op_id, `e2e:batch-1:${skus[0]}`);
    // Another key is another batch.
    const next = await admin('POST', batchUrl, { items: [{ sku: skus[0], on_hand: 20 }] }, { key: 'batch-2' });
    assert.equal(next.json.items[0].applied, true);
    assert.equal(next.json.items[0].levels.on_hand, 20);
  });

  test('each item is refused on its own: quantity, reason, below committed', async () => {
    const cart = await api.request('POST', '/v1/carts');
    const held = await api.request('POST', `/v1/carts/${cart.json.id}/lines`, {
      headers: { Authorization: `Bearer ${cart.json.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sku: skus[3], quantity: 2 }),
    });
    assert.equal(held.status, 200, held.text);
    const r = await admin('POST', batchUrl, {
      items: [
        { sku: skus[0], on_hand: -1 },
        { sku: skus[1], on_hand: 3, reason: ' ' },
        { sku: skus[2], on_hand: 7 },
        { sku: skus[3], on_hand: 1 },
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.items.map((i) => [i.sku, i.status, i.code]),
      [
        [skus[0], 'error', 'invalid_quantity'],
        [skus[1], 'error', 'invalid_length'],
        [skus[2], 'ok', undefined],
        [skus[3], 'error', 'below_committed'],
      ],
    );
    assert.match(r.json.items[0].detail, /^on_hand /);
    assert.deepEqual([r.json.updated, r.json.failed], [1, 3]);
    assert.deepEqual([(await level(skus[0])).on_hand, (await level(skus[1])).on_hand, (await level(skus[2])).on_hand], [20, 11, 7]);
    assert.deepEqual(await level(skus[3]), { sku: skus[3], on_hand: 10 + 3, reserved: 2, sold: 0, available: 11 });
  });

  test('200 items at once are all applied', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `prd_${String(300 + i).padStart(5, '0')}`);
    const products = await Promise.all(ids.map((id) => api.product(id)));
    const many = products.flatMap((p) => p.json.variants.map((v) => v.sku)).slice(0, 200);
    assert.equal(many.length, 200);
    const r = await admin('POST', batchUrl, { items: many.map((s, i) => ({ sku: s, on_hand: i % 7 })) });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.json.updated, r.json.failed], [200, 0]);
    assert.deepEqual(r.json.items.map((i) => i.sku), many);
    assert.ok(r.json.items.every((x, i) => x.levels.on_hand === i % 7));
    for (const i of [0, 99, 199]) assert.equal((await level(many[i])).on_hand, i % 7);
  });

  test('whole-batch refusals are 400s with stable codes, and apply nothing', async () => {
    const before0 = (await level(skus[0])).on_hand;
    const tooMany = await admin('POST', batchUrl, { items: Array.from({ length: 201 }, (_, i) => ({ sku: `X-${i}`, on_hand: 1 })) });
    assertProblem(tooMany, 400, 'too_many_items');
    assert.equal(tooMany.json.field, 'items');
    const dup = await admin('POST', batchUrl, { items: [{ sku: skus[0], on_hand: 1 }, { sku: skus[1], on_hand: 1 }, { sku: skus[0], on_hand: 2 }] });
    assertProblem(dup, 400, 'duplicate_sku');
    assert.equal(dup.json.field, 'items[2].sku');
    const empty = await admin('POST', batchUrl, { items: [] });
    assertProblem(empty, 400, 'empty_batch');
    const unknownField = await admin('POST', batchUrl, { items: [{ sku: skus[0], on_hand: 1, available: 1 }] });
    assertProblem(unknownField, 400, 'unknown_field');
    assert.equal(unknownField.json.field, 'items[0].available');
    const float = await admin('POST', batchUrl, { items: [{ sku: skus[0], on_hand: 1.5 }] });
    assertProblem(float, 400, 'invalid_type');
    assert.equal(float.json.field, 'items[0].on_hand');
    assertProblem(await admin('POST', batchUrl, { skus: [] }), 400, 'unknown_field');
    assertProblem(await admin('POST', `${batchUrl}?dry_run=1`, { items: [{ sku: skus[0], on_hand: 1 }] }), 400, 'unknown_parameter');
    const plain = await api.request('POST', batchUrl, {
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'text/plain' },
      body: JSON.stringify({ items: [{ sku: skus[0], on_hand: 1 }] }),
    });
    assertProblem(plain, 415, 'unsupported_media_type');
    assertProblem(await admin('PUT', batchUrl, { items: [] }), 405, 'method_not_allowed');
    assert.equal((await level(skus[0])).on_hand, before0, 'nothing changed');
  });

  test('tokens: a viewer is 403, none is 401', async () => {
    const items = [{ sku: skus[0], on_hand: 99 }];
    assertProblem(await admin('POST', batchUrl, { items }, { token: VIEWER }), 403, 'forbidden');
    assertProblem(await admin('POST', batchUrl, { items }, { token: null }), 401, 'unauthorized');
    assert.notEqual((await level(skus[0])).on_hand, 99);
  });
});
