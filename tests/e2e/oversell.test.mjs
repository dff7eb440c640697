// End-to-end proof that stock never oversells: many carts racing for the
// same units at once, against the real Worker and its Durable Objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { api } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;

let keys = 0;

/**
 * A request; line changes and stock writes carry an `Idempotency-Key`, as a
 * real client that retries sends them (the client retries a reset one).
 */
function send(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (/\/lines|\/inventory\//.test(path) && method !== 'GET') headers['Idempotency-Key'] = `oversell-${process.pid}-${++keys}`;
  return api.request(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function setStock(sku, onHand) {
  const r = await send('PUT', `/admin/v1/inventory/${sku}`, { on_hand: onHand, reason: 'oversell proof' }, ADMIN);
  assert.equal(r.status, 200, r.text);
}

/** Creates `n` carts, `width` at a time. */
async function carts(n, width = 50) {
  const out = [];
  for (let i = 0; i < n; i += width) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(width, n - i) }, () => send('POST', '/v1/carts')),
    );
    for (const r of batch) {
      assert.equal(r.status, 201, r.text);
      out.push(r.json);
    }
  }
  return out;
}

async function levels(sku) {
  const r = await send('GET', `/admin/v1/inventory/${sku}/movements?limit=1`, undefined, ADMIN);
  assert.equal(r.status, 200, r.text);
  return r.json.levels;
}

// Stock is shared by every store: the run in another store races for
// other SKUs, so the first run's holds (alive for the hold TTL) count in
// neither.
const [FIRST, SECOND] = process.env.EDGECART_STORE ? ['prd_00032', 'prd_00033'] : ['prd_00030', 'prd_00031'];

describe('no overselling under concurrency', () => {
  test('1,000 concurrent "add 1" from 1,000 carts on stock 100: exactly 100 succeed', async () => {
    const sku = (await api.product(FIRST)).json.variants[0].sku;
    await setStock(sku, 100);
    const all = await carts(1000);
    const results = await Promise.all(all.map((c) => send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 1 }, c.token)));
    const statuses = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const odd = results.filter((r) => r.status !== 200 && r.status !== 409).map((r) => r.text.slice(0, 400));
    assert.deepEqual(statuses, { 200: 100, 409: 900 }, JSON.stringify({ statuses, odd: odd.slice(0, 3) }));
    for (const r of results.filter((r) => r.status === 409)) {
      assert.equal(r.json.code, 'out_of_stock');
      assert.equal(r.json.available, 0);
    }
    const l = await levels(sku);
    assert.deepEqual(l, { on_hand: 100, reserved: 100, sold: 0, available: 0 });
    assert.equal((await api.get(`/v1/inventory/${sku}`)).json.available, 0);
    // Every winning cart holds exactly one unit, every losing cart none.
    const held = await Promise.all(all.map((c) => send('GET', `/v1/carts/${c.id}`, undefined, c.token)));
    const units = held.map((r) => r.json.item_count);
    assert.equal(units.filter((u) => u === 1).length, 100);
    assert.equal(units.filter((u) => u === 0).length, 900);
  });

  test('mixed quantities 1–5 from 300 carts on stock 100: no partial grants, no oversell', async () => {
    const sku = (await api.product(SECOND)).json.variants[0].sku;
    await setStock(sku, 100);
    const all = await carts(300);
    const wants = all.map((_, i) => 1 + ((i * 7) % 5));
    const results = await Promise.all(
      all.map((c, i) => send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: wants[i] }, c.token)),
    );
    let granted = 0;
    results.forEach((r, i) => {
      assert.ok(r.status === 200 || r.status === 409, `${r.status} ${r.text}`);
      if (r.status === 200) {
        assert.equal(r.json.lines[0].quantity, wants[i], 'all or nothing');
        granted += wants[i];
      } else {
        assert.equal(r.json.code, 'out_of_stock');
      }
    });
    const l = await levels(sku);
    assert.ok(granted <= 100, `granted ${granted}`);
    assert.equal(granted, 100 - l.available);
    assert.equal(l.reserved, granted);
  });
});
