// End-to-end: the reports API. Real orders placed through the public API
// in a store of their own (card through the test provider, and points),
// fulfilled, refunded and cancelled after payment; points granted, spent,
// earned and taken back. The reports, kept from the store's events, must
// equal exactly, in minor units, the sums this test computes over the
// orders' own records and the members' own ledgers. Then the refusals
// (bad parameters, another store's token) and the shared low-stock list,
// which a SKU enters at the low mark and leaves when replenished.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertProblem, sendJson } from './client.mjs';
import { OPERATOR, at, cartAt, checkout, es256, grant, history, newMember, p256, pointsStore, refund } from './points.mjs';

const STORE = 'reports';
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;
const SHOP_ADMIN = process.env.EDGECART_STORE_ADMIN_TOKEN;
const BANK_ADMIN = process.env.EDGECART_BANK_ADMIN_TOKEN;
const CARD = { method: 'card', token: 'tok_visa' };

let key;
let skus;
/** This run's own products (deleted afterwards), and the run's mark in their ids. */
const products = [];
const RUN = Date.now() % 1_000_000;
/** Every order this test placed, by id. */
const placed = [];
/** Every member this test gave points. */
const members = [];

const get = (path, token = OPERATOR) => sendJson('GET', path, undefined, { token });
const report = (name, query = '', token = OPERATOR) => get(at(STORE, `/admin/v1/reports/${name}${query ? `?${query}` : ''}`), token);
const admin = (method, path, body) => sendJson(method, at(STORE, path), body, { token: OPERATOR });
const today = () => new Date().toISOString().slice(0, 10);
const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const memberTok = (id) => es256(key.privateKey, { sub: id, aud: STORE, exp: Math.floor(Date.now() / 1000) + 600 });

/** Polls `fn` until it returns a truthy value (which it returns), or fails with `what`. */
async function eventually(fn, what, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last?.ok) return last.value;
    if (Date.now() > end) assert.fail(`${what}: ${JSON.stringify(last?.detail ?? last)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Places one order of `quantity` × `sku`, paid as `payment` says (as `member`, if any). */
async function order(sku, quantity, payment = CARD, member) {
  const c = await cartAt(STORE, sku, quantity);
  const r = await checkout(c, payment, member ? memberTok(member) : undefined);
  assert.equal(r.status, 201, r.text);
  placed.push(r.json.order.id);
  return r.json;
}

before(async () => {
  key = p256();
  await pointsStore(
    STORE,
    { unit: 'points', earn_per_unit: 10, category_multipliers: {}, points_per_minor: { USD: 1 }, pending_days: 0, expiry_days: 365, member_key: key.jwk },
    { provider: 'test' },
  );
  // Products of this run's own (copies of a catalog product as stored, one
  // variant each): the other suites' sales and stock never touch them.
  const { schema, ...base } = (await get('/admin/v1/products/prd_00091')).json;
  assert.equal(schema, 1);
  skus = [];
  for (const n of [1, 2, 3]) {
    const id = `prd_rpt${RUN}${n}`;
    const sku = `RPT-${RUN}-${n}`;
    const variant = { ...base.variants[0], sku, name: `Reports ${n}`, options: {} };
    const r = await sendJson('PUT', `/admin/v1/products/${id}`, { ...base, id, slug: `reports-${RUN}-${n}`, name: `Reports test product ${n}`, variants: [variant] }, { token: OPERATOR });
    assert.equal(r.status, 201, r.text);
    products.push(id);
    skus.push(sku);
  }
  for (const sku of skus.slice(0, 2)) {
    const r = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 1000, reason: 'reports tests' }, { token: OPERATOR });
    assert.equal(r.status, 200, r.text);
  }
});

after(async () => {
  // The shared catalog stays as the other suites expect it.
  for (const id of products) await sendJson('DELETE', `/admin/v1/products/${id}`, undefined, { token: OPERATOR });
});

/** What the orders' own records say the sales report must be (the rule of the contract). */
function expectedSales(orders) {
  const totals = {};
  const best = {};
  for (const o of orders) {
    const paid = o.history.some((h) => h.status === 'paid');
    if (!paid) continue;
    const back = ['refunded', 'cancelled'].includes(o.status);
    const t = (totals[o.currency] ??= { currency: o.currency, orders: 0, revenue: 0, items: 0, refunds: 0, refunded: 0, points_redeemed: 0 });
    t.orders += 1;
    t.revenue += o.totals.grand_total;
    t.items += o.lines.reduce((n, l) => n + l.quantity, 0);
    t.points_redeemed += o.points?.spent ?? 0;
    if (back) {
      t.refunds += 1;
      t.refunded += o.totals.grand_total;
      continue;
    }
    for (const l of o.lines) {
      const b = (best[`${o.currency} ${l.sku}`] ??= { sku: l.sku, currency: o.currency, units: 0, revenue: 0 });
      b.units += l.quantity;
      b.revenue += l.line_total;
    }
  }
  for (const t of Object.values(totals)) t.average_order_value = t.orders ? Math.floor((2 * t.revenue + t.orders) / (2 * t.orders)) : 0;
  const items = Object.values(best).sort((a, b) => b.units - a.units || b.revenue - a.revenue || (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  return { totals: Object.values(totals).sort((a, b) => (a.currency < b.currency ? -1 : 1)), best: items };
}

/** What the members' own ledgers say the points report must be. */
async function expectedPoints() {
  const sum = { issued: 0, redeemed: 0, expired: 0 };
  for (const m of members) {
    for (const row of (await history(STORE, m)).rows) {
      if (['grant', 'earn', 'adjust', 'revoke'].includes(row.kind)) sum.issued += row.points;
      else if (['spend', 'restore'].includes(row.kind)) sum.redeemed -= row.points;
      else if (row.kind === 'expire') sum.expired -= row.points;
    }
  }
  return sum;
}

const sumBuckets = (buckets, fields) =>
  buckets.reduce((acc, b) => {
    for (const f of fields) acc[f] = (acc[f] ?? 0) + b[f];
    return acc;
  }, {});

describe('reports: figures kept from the store\'s events', () => {
  test('sales, best sellers and points equal the sums over the orders placed and the points given, exactly', async () => {
    const [a, b] = skus;
    // A member with points, who pays one order with points and one by card.
    const rich = newMember('rep');
    members.push(rich);
    const granted = await grant(STORE, rich, { points: 100_000, reason: 'reports bonus' });
    assert.equal(granted.status, 201, granted.text);
    const other = newMember('rep');
    members.push(other);
    assert.equal((await grant(STORE, other, { points: 250, reason: 'welcome' })).status, 201);

    const fulfilled = await order(a, 2);
    const refunded = await order(b, 1);
    const cancelled = await order(a, 3);
    const paidOnly = await order(b, 2, CARD, rich);
    const byPoints = await order(a, 1, { method: 'points' }, rich);
    const earnedThenRefunded = await order(b, 1, CARD, other);
    assert.ok(byPoints.order.points?.spent > 0, 'points paid');

    let r = await admin('POST', `/admin/v1/orders/${fulfilled.order.id}/fulfil`);
    assert.equal(r.status, 200, r.text);
    r = await admin('POST', `/admin/v1/orders/${refunded.order.id}/refund`);
    assert.equal(r.status, 200, r.text);
    r = await sendJson('POST', at(STORE, `/v1/orders/${cancelled.order.id}/cancel`), undefined, { token: cancelled.order_token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'cancelled');
    r = await refund(STORE, earnedThenRefunded.order.id);
    assert.equal(r.status, 200, r.text);
    assert.ok(paidOnly.order.status === 'paid');

    const range = `from=${yesterday()}&to=${today()}`;
    // The orders as their own records have them now.
    const records = [];
    for (const id of placed) {
      const o = await get(at(STORE, `/admin/v1/orders/${id}`));
      assert.equal(o.status, 200, o.text);
      records.push(o.json);
    }
    const statuses = records.map((o) => o.status).sort();
    assert.deepEqual(statuses, ['cancelled', 'fulfilled', 'paid', 'paid', 'refunded', 'refunded']);
    const want = expectedSales(records);
    assert.equal(want.totals[0].orders, 6);
    assert.equal(want.totals[0].refunds, 3);
    assert.ok(want.totals[0].points_redeemed > 0);

    const sales = await eventually(async () => {
      const s = await report('sales', range);
      assert.equal(s.status, 200, s.text);
      const ok = JSON.stringify(s.json.totals) === JSON.stringify(want.totals);
      return { ok, value: s.json, detail: { got: s.json.totals, want: want.totals } };
    }, 'the sales totals');
    assert.equal(sales.store, STORE);
    assert.equal(sales.granularity, 'day');
    assert.equal(sales.time_zone, 'UTC');
    assert.equal(sales.from, yesterday());
    assert.equal(sales.to, today());
    const fields = ['orders', 'revenue', 'items', 'refunds', 'refunded', 'points_redeemed'];
    const { average_order_value: _, currency: __, ...wantFigures } = want.totals[0];
    assert.deepEqual(sumBuckets(sales.buckets, fields), wantFigures, 'the days sum to the totals');
    for (const bucket of sales.buckets) assert.match(bucket.start, /^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
    // By hour: the same sums, in hour buckets.
    const hours = await report('sales', `${range}&granularity=hour&currency=usd`);
    assert.equal(hours.status, 200, hours.text);
    assert.deepEqual(sumBuckets(hours.json.buckets, fields), wantFigures, 'the hours sum to the totals');
    for (const bucket of hours.json.buckets) assert.match(bucket.start, /^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
    // Another currency: nothing.
    const eur = await report('sales', `${range}&currency=EUR`);
    assert.deepEqual([eur.json.buckets, eur.json.totals], [[], []]);

    const best = await report('best-sellers', range);
    assert.equal(best.status, 200, best.text);
    assert.deepEqual(
      best.json.items.map(({ title, ...rest }) => rest),
      want.best,
    );
    for (const item of best.json.items) assert.equal(typeof item.title, 'string', 'the catalog names the SKU');
    const one = await report('best-sellers', `${range}&limit=1`);
    assert.equal(one.json.items.length, 1);
    assert.equal(one.json.items[0].sku, want.best[0].sku);

    const wantPoints = await eventually(async () => {
      const p = await report('points', range);
      assert.equal(p.status, 200, p.text);
      const w = await expectedPoints();
      return { ok: JSON.stringify(p.json.totals) === JSON.stringify(w), value: { got: p.json, w }, detail: { got: p.json.totals, want: w } };
    }, 'the points totals');
    assert.ok(wantPoints.w.issued >= 100_250, 'grants and earnings counted');
    assert.equal(wantPoints.w.redeemed, byPoints.order.points.spent, 'what orders spent');
    assert.deepEqual(sumBuckets(wantPoints.got.buckets, ['issued', 'redeemed', 'expired']), wantPoints.w);

    // Every report from the same figures, asked again: the same answer
    // (an event delivered twice would have shown as a difference above).
    const again = await report('sales', range);
    assert.deepEqual(again.json, sales);
  });

  test('bad parameters are 400 with a stable code, never 500', async () => {
    const cases = [
      ['sales', 'granularity=week', 'invalid_granularity'],
      ['sales', 'from=yesterday', 'invalid_date'],
      ['sales', 'to=2026-02-30', 'invalid_date'],
      ['sales', 'from=2026-12-06&to=2026-12-01', 'invalid_date_range'],
      ['sales', 'from=2025-01-01&to=2026-12-01', 'invalid_date_range'],
      ['sales', 'from=2026-10-01&to=2026-12-01&granularity=hour', 'invalid_date_range'],
      ['sales', 'currency=XX', 'unknown_currency'],
      ['sales', 'currency=XXX', 'unknown_currency'],
      ['sales', 'limit=5', 'unknown_parameter'],
      ['best-sellers', 'limit=0', 'invalid_limit'],
      ['best-sellers', 'limit=101', 'invalid_limit'],
      ['best-sellers', 'granularity=day', 'unknown_parameter'],
      ['points', 'granularity=minute', 'invalid_granularity'],
      ['points', 'currency=USD', 'unknown_parameter'],
      ['low-stock', 'limit=501', 'invalid_limit'],
      ['low-stock', 'limit=ten', 'invalid_limit'],
    ];
    for (const [name, query, code] of cases) {
      const path = name === 'low-stock' ? `/admin/v1/reports/low-stock?${query}` : at(STORE, `/admin/v1/reports/${name}?${query}`);
      const r = await get(path);
      assertProblem(r, 400, code);
    }
    // A year by day is allowed; the default is the 30 days ending today.
    const year = await report('sales', 'from=2025-12-07&to=2026-12-06');
    assert.equal(year.status, 200, year.text);
    const def = await report('sales');
    assert.equal(def.json.to, today());
    assert.equal((Date.parse(def.json.to) - Date.parse(def.json.from)) / 86_400_000, 29);
  });

  test('tokens: a store\'s viewer reads its own store\'s reports, another store\'s tokens are 403, no token is 401', async () => {
    for (const name of ['sales', 'best-sellers', 'points']) {
      // The viewer and the admin of the default store: their own store's reports.
      for (const token of [VIEWER, SHOP_ADMIN]) {
        const own = await get(`/admin/v1/reports/${name}`, token);
        assert.equal(own.status, 200, own.text);
        assert.equal(own.json.store, 'default');
        assertProblem(await report(name, '', token), 403, 'forbidden');
      }
      assert.equal((await report(name, '', OPERATOR)).status, 200);
      assertProblem(await report(name, '', BANK_ADMIN), 403, 'forbidden');
      const none = await sendJson('GET', at(STORE, `/admin/v1/reports/${name}`));
      assertProblem(none, 401, 'unauthorized');
    }
    // The shared list: any admin or viewer token.
    for (const token of [VIEWER, SHOP_ADMIN, BANK_ADMIN]) {
      assert.equal((await get('/admin/v1/reports/low-stock', token)).status, 200);
    }
  });
});

describe('reports: low stock', () => {
  test('a SKU set to the low mark or below is listed; replenished, it leaves the list', async () => {
    const sku = skus[2];
    const low = async () => {
      const r = await get('/admin/v1/reports/low-stock?limit=500');
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    let r = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 0, reason: 'reports: low' }, { token: OPERATOR });
    assert.equal(r.status, 200, r.text);
    const listed = await eventually(async () => {
      const l = await low();
      const item = l.items.find((i) => i.sku === sku);
      return { ok: !!item, value: { l, item }, detail: `${sku} not listed among ${l.items.length}` };
    }, 'the SKU enters the list');
    assert.equal(listed.l.low_mark, 5);
    assert.deepEqual(listed.item, { sku, on_hand: 0, sold: 0, unsold: 0 });
    for (const i of listed.l.items) assert.ok(i.unsold <= listed.l.low_mark && i.unsold === i.on_hand - i.sold, JSON.stringify(i));
    const order = listed.l.items.map((i) => [i.unsold, i.sku]);
    const sorted = [...order].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
    assert.deepEqual(order, sorted, 'by unsold, then SKU');
    // Still low, with a unit more: the list follows.
    r = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 4, reason: 'reports: still low' }, { token: OPERATOR });
    assert.equal(r.status, 200, r.text);
    await eventually(async () => {
      const item = (await low()).items.find((i) => i.sku === sku);
      return { ok: item?.unsold === 4, detail: item };
    }, 'the list follows a low SKU');
    // Replenished above the mark: it leaves.
    r = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 50, reason: 'reports: replenished' }, { token: OPERATOR });
    assert.equal(r.status, 200, r.text);
    await eventually(async () => {
      const item = (await low()).items.find((i) => i.sku === sku);
      return { ok: !item, detail: item };
    }, 'the SKU leaves the list');
  });
});
