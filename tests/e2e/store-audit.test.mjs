// End-to-end: the audit trails. Every admin write that changes something is
// recorded with the actor's label and its store: a store's configuration,
// promotions, order actions (and a shopper's own cancel) and profile in
// that store's trail (`GET /admin/v1/store/audit`), the shared catalog's
// changes in the shared trail (`GET /admin/v1/audit`, `store: null`). A
// write that changes nothing records nothing, and a store's trail shows
// no other store's entries.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { api, assertProblem, auditTrail, sendJson } from './client.mjs';

const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;
const SHOP_ADMIN = process.env.EDGECART_STORE_ADMIN_TOKEN;
const BANK_ADMIN = process.env.EDGECART_BANK_ADMIN_TOKEN;

const as = (token) => ({ headers: { Authorization: `Bearer ${token}` } });
const bank = (path) => `${path}${path.includes('?') ? '&' : '?'}store=bank`;
const tag = randomBytes(4).toString('hex');

const profile = (over = {}) => ({
  name: 'Harbour Bank Rewards',
  hosts: ['rewards.bank.localhost'],
  default_currency: 'EUR',
  currencies: ['EUR'],
  ...over,
});

/** The last seq of a trail (0 when empty). */
async function lastSeq(path, token) {
  const items = await auditTrail(path, token);
  return items.length ? items[items.length - 1].seq : 0;
}

let sku;
let unitEur;
/** Where the bank's and the default store's trails ended before these tests. */
let bankStart;
let defaultStart;
/** The bank's shipping method, as configured here. */
const courier = { id: 'courier', name: `Courier ${tag}`, rates: { EUR: 700 } };

before(async () => {
  const product = (await api.product('prd_00061')).json;
  sku = product.variants[0].sku;
  unitEur = product.variants[0].prices.find((p) => p.currency === 'EUR').amount;
  const stock = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 100, reason: 'audit tests' }, { token: OPERATOR });
  assert.equal(stock.status, 200, stock.text);
  const created = await sendJson('PUT', '/admin/v1/stores/bank', profile(), { token: OPERATOR });
  assert.ok([200, 201].includes(created.status), created.text);
  bankStart = await lastSeq(bank('/admin/v1/store/audit'), BANK_ADMIN);
  defaultStart = await lastSeq('/admin/v1/store/audit', SHOP_ADMIN);
});

/** A paid order in the bank store, with its token. */
async function bankOrder() {
  const c = (await sendJson('POST', bank('/v1/carts'))).json;
  const add = await sendJson('POST', bank(`/v1/carts/${c.id}/lines`), { sku, quantity: 1 }, { token: c.token });
  assert.equal(add.status, 200, add.text);
  const placed = await sendJson(
    'POST',
    bank(`/v1/carts/${c.id}/checkout`),
    {
      email: 'audit@example.com',
      shipping_address: { name: 'Ada Lovelace', line1: '1 Rue de Rivoli', city: 'Paris', postal_code: '75001', country: 'FR' },
      shipping_method: 'courier',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: { amount: unitEur + 700, currency: 'EUR' },
    },
    { token: c.token, key: `audit-${c.id}` },
  );
  assert.equal(placed.status, 201, placed.text);
  return { id: placed.json.order.id, token: placed.json.order_token };
}

/** The bank's entries since these tests began that match `pick`, waiting a little for deliveries. */
async function bankEntries(pick, count) {
  let found = [];
  for (let i = 0; i < 50; i++) {
    found = (await auditTrail(bank('/admin/v1/store/audit'), BANK_ADMIN, bankStart)).filter(pick);
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

describe("a store's audit trail", () => {
  test("a bank admin's configuration change is recorded with the actor and the store; the same write again is not", async () => {
    const config = {
      tax: { prices_include_tax: false, rates: [] },
      shipping_methods: [courier],
      payment: { provider: 'test' },
    };
    for (let i = 0; i < 2; i++) {
      const put = await sendJson('PUT', bank('/admin/v1/store'), config, { token: BANK_ADMIN });
      assert.equal(put.status, 200, put.text);
    }
    const entries = await bankEntries((e) => e.action === 'store.config.set', 1);
    assert.equal(entries.length, 1, `one entry for two identical writes: ${JSON.stringify(entries)}`);
    const [e] = entries;
    assert.equal(e.actor, 'e2e-bank');
    assert.equal(e.store, 'bank');
    assert.equal(e.target, 'store:bank');
    assert.deepEqual(e.fields, ['shipping_methods']);
    assert.ok(!e.before.shipping_methods.some((m) => m.name === courier.name), 'before: the methods until then');
    assert.deepEqual(e.after.shipping_methods.map((m) => m.name), [courier.name]);
    assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('promotion set, changed and deleted: one entry each, none for a repeated write', async () => {
    const id = `audit-${tag}`;
    const body = { code: `AUD${tag}`.toUpperCase(), description: 'audit', discount: { type: 'percentage', basis_points: 500 }, target: { type: 'cart' }, active: true };
    const put = (b) => sendJson('PUT', bank(`/admin/v1/promotions/${id}`), b, { token: BANK_ADMIN });
    assert.equal((await put(body)).status, 201);
    assert.equal((await put(body)).status, 200);
    assert.equal((await put({ ...body, active: false })).status, 200);
    const deleted = await sendJson('DELETE', bank(`/admin/v1/promotions/${id}`), undefined, { token: BANK_ADMIN });
    assert.equal(deleted.status, 200, deleted.text);
    // A refused write records nothing either.
    assertProblem(await sendJson('DELETE', bank(`/admin/v1/promotions/${id}`), undefined, { token: BANK_ADMIN }), 404, 'promotion_not_found');

    const entries = await bankEntries((e) => e.target === `promotion:${id}`, 3);
    assert.deepEqual(
      entries.map((e) => [e.action, e.actor, e.store, e.fields]),
      [
        ['promotion.set', 'e2e-bank', 'bank', []],
        ['promotion.set', 'e2e-bank', 'bank', ['active']],
        ['promotion.delete', 'e2e-bank', 'bank', []],
      ],
    );
    const [created, changed, gone] = entries;
    assert.equal(created.before, null);
    assert.equal(created.after.code, body.code);
    assert.equal(changed.before.active, true);
    assert.equal(changed.after.active, false);
    assert.equal(gone.before.id, id);
    assert.equal(gone.after, null);
  });

  test("order actions are recorded with the admin's label, a shopper's cancel with `shopper`", async () => {
    const fulfilled = await bankOrder();
    const cancelled = await bankOrder();
    const byShopper = await bankOrder();
    const post = (path, token) => api.request('POST', bank(path), as(token));
    assert.equal((await post(`/admin/v1/orders/${fulfilled.id}/fulfil`, BANK_ADMIN)).status, 200);
    assert.equal((await post(`/admin/v1/orders/${fulfilled.id}/refund`, OPERATOR)).status, 200);
    assert.equal((await post(`/admin/v1/orders/${cancelled.id}/cancel`, BANK_ADMIN)).status, 200);
    // A refused transition records nothing.
    assertProblem(await post(`/admin/v1/orders/${cancelled.id}/fulfil`, BANK_ADMIN), 409, 'illegal_transition');
    const shopper = await sendJson('POST', bank(`/v1/orders/${byShopper.id}/cancel`), undefined, { token: byShopper.token });
    assert.equal(shopper.status, 200, shopper.text);

    const ids = [fulfilled.id, cancelled.id, byShopper.id];
    const entries = await bankEntries((e) => ids.some((id) => e.target === `order:${id}`), 4);
    assert.deepEqual(
      entries.map((e) => [e.target, e.action, e.actor, e.store, e.fields, e.before, e.after]),
      [
        [`order:${fulfilled.id}`, 'order.fulfil', 'e2e-bank', 'bank', ['status'], { status: 'paid' }, { status: 'fulfilled' }],
        [`order:${fulfilled.id}`, 'order.refund', 'e2e', 'bank', ['status'], { status: 'fulfilled' }, { status: 'refunded' }],
        [`order:${cancelled.id}`, 'order.cancel', 'e2e-bank', 'bank', ['status'], { status: 'paid' }, { status: 'cancelled' }],
        [`order:${byShopper.id}`, 'order.cancel', 'shopper', 'bank', ['status'], { status: 'paid' }, { status: 'cancelled' }],
      ],
    );
  });

  test("an operator's profile change is recorded in that store's trail; a new store's trail starts with its creation", async () => {
    const hero = `Spend your points (${tag}).`;
    const skin = { name: 'Harbour Bank Rewards', hero };
    for (let i = 0; i < 2; i++) {
      const r = await sendJson('PUT', '/admin/v1/stores/bank', profile({ skin }), { token: OPERATOR });
      assert.equal(r.status, 200, r.text);
    }
    const entries = await bankEntries((e) => e.action === 'store.update' && e.after?.skin?.hero === hero, 1);
    assert.equal(entries.length, 1, `one entry for two identical writes: ${JSON.stringify(entries)}`);
    const [e] = entries;
    assert.equal(e.actor, 'e2e');
    assert.equal(e.store, 'bank');
    assert.equal(e.target, 'store:bank');
    assert.deepEqual(e.fields, ['skin']);
    assert.notEqual(e.before.skin.hero, hero);

    const id = `audit-${tag}`;
    const created = await sendJson('PUT', `/admin/v1/stores/${id}`, { name: 'Audit', default_currency: 'USD' }, { token: OPERATOR });
    assert.equal(created.status, 201, created.text);
    const theirs = await auditTrail(`/admin/v1/store/audit?store=${id}`, OPERATOR);
    assert.deepEqual(
      theirs.map((x) => [x.seq, x.action, x.actor, x.store, x.target, x.fields, x.before]),
      [[1, 'store.create', 'e2e', id, `store:${id}`, [], null]],
    );
    assert.equal(theirs[0].after.name, 'Audit');
  });

  test("the default store's trail shows none of the bank's entries, and a store's token reads its own trail only", async () => {
    const bankTargets = new Set((await auditTrail(bank('/admin/v1/store/audit'), BANK_ADMIN, bankStart)).map((e) => e.target));
    assert.ok(bankTargets.size >= 5, [...bankTargets].join(', '));
    // A change in the default store lands in its own trail.
    const promo = `default-${tag}`;
    const put = await sendJson(
      'PUT',
      `/admin/v1/promotions/${promo}`,
      { discount: { type: 'percentage', basis_points: 100 }, target: { type: 'cart' }, active: false },
      { token: SHOP_ADMIN },
    );
    assert.equal(put.status, 201, put.text);
    const mine = await auditTrail('/admin/v1/store/audit', SHOP_ADMIN, defaultStart);
    assert.ok(mine.some((e) => e.target === `promotion:${promo}` && e.actor === 'e2e-shop' && e.store === 'default'));
    assert.ok(mine.every((e) => e.store === 'default'), 'every entry is the default store\'s');
    assert.ok(!mine.some((e) => bankTargets.has(e.target)), 'no entry of the bank');
    const bankSide = await auditTrail(bank('/admin/v1/store/audit'), BANK_ADMIN, bankStart);
    assert.ok(!bankSide.some((e) => e.target === `promotion:${promo}`), "the bank's trail has not the default's entry");
    assert.ok(bankSide.every((e) => e.store === 'bank'));
    const removed = await sendJson('DELETE', `/admin/v1/promotions/${promo}`, undefined, { token: SHOP_ADMIN });
    assert.equal(removed.status, 200, removed.text);
    // Tokens: a store's admin and viewer read their store's trail, not another's.
    assert.equal((await api.request('GET', '/admin/v1/store/audit', as(VIEWER))).status, 200);
    assertProblem(await api.request('GET', '/admin/v1/store/audit', as(BANK_ADMIN)), 403, 'forbidden');
    assertProblem(await api.request('GET', bank('/admin/v1/store/audit'), as(SHOP_ADMIN)), 403, 'forbidden');
    assertProblem(await api.request('GET', bank('/admin/v1/store/audit'), as(VIEWER)), 403, 'forbidden');
    assertProblem(await api.request('GET', '/admin/v1/store/audit'), 401, 'unauthorized');
    assertProblem(await api.request('GET', '/admin/v1/store/audit?store=nope', as(OPERATOR)), 404, 'store_not_found');
  });

  test('pages like the shared trail', async () => {
    const all = await auditTrail(bank('/admin/v1/store/audit'), BANK_ADMIN);
    assert.ok(all.length >= 3);
    const seqs = all.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'oldest first');
    assert.equal(new Set(seqs).size, seqs.length);
    const first = await api.request('GET', bank('/admin/v1/store/audit?limit=1'), as(BANK_ADMIN));
    assert.deepEqual(first.json.items.map((e) => e.seq), [seqs[0]]);
    assert.equal(first.json.next_cursor, `a${seqs[0]}`);
    const second = await api.request('GET', bank(`/admin/v1/store/audit?limit=2&cursor=${first.json.next_cursor}`), as(BANK_ADMIN));
    assert.deepEqual(second.json.items.map((e) => e.seq), seqs.slice(1, 3));
    assertProblem(await api.request('GET', bank('/admin/v1/store/audit?limit=0'), as(BANK_ADMIN)), 400, 'invalid_limit');
    assertProblem(await api.request('GET', bank('/admin/v1/store/audit?limit=201'), as(BANK_ADMIN)), 400, 'invalid_limit');
    assertProblem(await api.request('GET', bank('/admin/v1/store/audit?cursor=zzz'), as(BANK_ADMIN)), 400, 'invalid_cursor');
    assertProblem(await api.request('GET', bank('/admin/v1/store/audit?sort=asc'), as(BANK_ADMIN)), 400, 'unknown_parameter');
  });
});

describe('the shared audit trail', () => {
  test('catalog changes carry store null, with the actor; store writes are not in it', async () => {
    const start = await lastSeq('/admin/v1/audit', OPERATOR);
    const was = (await api.product('prd_00061')).json.variants[0].prices.find((p) => p.currency === 'USD').amount;
    const amount = was + 1;
    const price = await sendJson('PUT', `/admin/v1/prices/${sku}/USD`, { amount }, { token: OPERATOR });
    assert.equal(price.status, 200, price.text);
    const back = await sendJson('PUT', `/admin/v1/prices/${sku}/USD`, { amount: was }, { token: OPERATOR });
    assert.equal(back.status, 200, back.text);
    const entries = await auditTrail('/admin/v1/audit', VIEWER, start);
    const set = entries.find((e) => e.action === 'price.set' && e.target === `price:${sku}:USD`);
    assert.ok(set, JSON.stringify(entries));
    assert.equal(set.actor, 'e2e');
    assert.ok('store' in set, 'every entry names its store');
    assert.equal(set.store, null);
    assert.equal(set.before.amount, was);
    assert.equal(set.after.amount, amount);
    const everything = await auditTrail('/admin/v1/audit', OPERATOR);
    // The shared catalog's changes, with store null; a store's own prices
    // are part of the catalog too, each change with its store.
    assert.ok(
      everything.every((e) => (e.action.startsWith('store_price.') ? typeof e.store === 'string' : e.store === null)),
      'only the shared catalog here',
    );
    assert.ok(!everything.some((e) => /^(store|promotion|order)[.]/.test(e.action)), 'no store write in the shared trail');
  });
});
