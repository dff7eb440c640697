// End-to-end: loyalty points. Members signed in by the operator's tokens,
// admin grants and adjustments, checkouts paid with points, card or both
// (the card part through the local fake of Stripe, which counts charges),
// earning, refunds that put points back into their lots, debt, expiry by
// alarm, and the exact balance under concurrent checkouts and grants.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { api, assertProblem, auditTrail, sendJson, stripe } from './client.mjs';
import {
  OPERATOR,
  MEMBER_SECRETS,
  adjust,
  assertLedgerSums,
  at,
  cartAt,
  checkout,
  es256,
  grant,
  history,
  hs256,
  lookup,
  memberToken,
  newKey,
  newMember,
  p256,
  points,
  pointsStore,
  refund,
} from './points.mjs';

const SECRET = process.env.EDGECART_STRIPE_SECRET_KEY;
const BANK_ADMIN = process.env.EDGECART_BANK_ADMIN_TOKEN;
const SHOP_ADMIN = process.env.EDGECART_STORE_ADMIN_TOKEN;

/** Spendable at once: an earning is available immediately (no return window). */
const NOW_STORE = 'points';
/** A 14-day return window: earnings stay pending. */
const WINDOW_STORE = 'points-window';
const programme = (extra = {}) => ({
  unit: 'points',
  earn_per_unit: 10,
  category_multipliers: {},
  points_per_minor: { USD: 1 },
  pending_days: 0,
  expiry_days: 365,
  ...extra,
});

let sku;
let unit;
let key;

before(async () => {
  assert.ok(MEMBER_SECRETS[NOW_STORE] && MEMBER_SECRETS[WINDOW_STORE], 'scripts/test.mjs sets the member secrets');
  key = p256();
  const product = (await api.product('prd_00081')).json;
  sku = product.variants[0].sku;
  unit = product.variants[0].prices.find((p) => p.currency === 'USD').amount;
  const r = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 5000, reason: 'points tests' }, { token: OPERATOR });
  assert.equal(r.status, 200, r.text);
  const payment = { provider: 'stripe' };
  await pointsStore(NOW_STORE, programme({ member_key: key.jwk }), payment);
  await pointsStore(WINDOW_STORE, programme({ pending_days: 14 }), payment);
});


/** A member of `store` with `amount` points granted (none for 0), and their token. */
async function member(store, amount = 0, prefix = 'm') {
  const id = newMember(prefix);
  if (amount > 0) {
    const r = await grant(store, id, { points: amount, reason: 'welcome bonus' });
    assert.equal(r.status, 201, r.text);
  }
  return { id, token: memberToken(store, id) };
}

const balanceOf = async (store, m) => {
  const r = await points(store, m.token);
  assert.equal(r.status, 200, r.text);
  return r.json.balance;
};

/** The Stripe charges (amount) made for `orderId`. */
const chargesFor = async (orderId) => (await stripe.charges()).filter((c) => c.metadata?.order_id === orderId);

describe('points: members and tokens', () => {
  test('a member reads their balance and history with the operator token; every bad token is 401', async () => {
    const m = await member(NOW_STORE, 1000);
    const ok = await points(NOW_STORE, m.token);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.equal(ok.json.member, m.id);
    assert.equal(ok.json.unit, 'points');
    assert.equal(ok.json.balance.available, 1000);
    assert.equal(ok.json.history[0].kind, 'grant');
    assert.equal(ok.json.history[0].reason, 'welcome bonus');
    assert.equal(ok.json.history[0].actor, undefined, 'members do not see admin labels');
    // ES256 with the programme's public key.
    const es = await points(NOW_STORE, es256(key.privateKey, { sub: m.id, aud: NOW_STORE, exp: Math.floor(Date.now() / 1000) + 60 }));
    assert.equal(es.status, 200, es.text);
    assert.equal(es.json.balance.available, 1000);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const bad = {
      missing: [undefined, 'member_token_required'],
      'another store': [memberToken(WINDOW_STORE, m.id), 'invalid_member_token'],
      'audience of another store': [hs256(MEMBER_SECRETS[NOW_STORE], { sub: m.id, aud: WINDOW_STORE, exp }), 'invalid_member_token'],
      expired: [memberToken(NOW_STORE, m.id, { exp: Math.floor(Date.now() / 1000) - 120 }), 'invalid_member_token'],
      'not yet valid': [memberToken(NOW_STORE, m.id, { nbf: Math.floor(Date.now() / 1000) + 3600 }), 'invalid_member_token'],
      'bad signature': [`${memberToken(NOW_STORE, m.id).slice(0, -4)}AAAA`, 'invalid_member_token'],
      'alg none': [`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: m.id, aud: NOW_STORE, exp })).toString('base64url')}.`, 'invalid_member_token'],
      'another ES256 key': [es256(p256().privateKey, { sub: m.id, aud: NOW_STORE, exp }), 'invalid_member_token'],
      'no subject': [hs256(MEMBER_SECRETS[NOW_STORE], { aud: NOW_STORE, exp }), 'invalid_member_token'],
      'not a JWT': ['hello', 'invalid_member_token'],
    };
    const c = await cartAt(NOW_STORE, sku);
    for (const [what, [token, code]] of Object.entries(bad)) {
      const r = await points(NOW_STORE, token);
      assertProblem(r, 401, code);
      assert.ok(r.headers.get('www-authenticate'), what);
      // The same at checkout: nothing held, nothing charged.
      const paid = await checkout(c, { method: 'points' }, token);
      assertProblem(paid, 401, code);
    }
    assert.equal((await balanceOf(NOW_STORE, m)).held, 0);
    // A store that cannot verify the token (no secret, no key) does not
    // say whether it runs a programme.
    const none = await sendJson('GET', '/v1/points', undefined, { headers: { 'Member-Token': m.token } });
    assertProblem(none, 401, 'invalid_member_token');
  });

  test('the development sign-in signs a member in (on here, as npm start has it)', async () => {
    const r = await sendJson('POST', at(NOW_STORE, '/v1/points/dev-token'), { member: 'demo-member' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.member, 'demo-member');
    const read = await points(NOW_STORE, r.json.token);
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json.member, 'demo-member');
    assertProblem(await sendJson('POST', at(NOW_STORE, '/v1/points/dev-token'), { member: 'no spaces' }), 422, 'validation_failed');
  });
});

describe('points: admin grants and adjustments', () => {
  test('once per Idempotency-Key, with a reason, audited in the store trail; lookups page the history', async () => {
    const m = newMember('adm');
    const k = newKey('welcome');
    const first = await grant(NOW_STORE, m, { points: 500, reason: 'welcome' }, k);
    assert.equal(first.status, 201, first.text);
    assert.deepEqual([first.json.balance.available, first.json.replayed], [500, false]);
    const again = await grant(NOW_STORE, m, { points: 500, reason: 'welcome' }, k);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual([again.json.balance.available, again.json.replayed], [500, true]);
    assertProblem(await grant(NOW_STORE, m, { points: 501, reason: 'welcome' }, k), 409, 'idempotency_key_reused');
    assertProblem(await adjust(NOW_STORE, m, { points: 500, reason: 'welcome' }, k), 409, 'idempotency_key_reused');
    // A reason and a key are required; amounts are checked.
    assertProblem(await grant(NOW_STORE, m, { points: 5, reason: '   ' }), 422, 'validation_failed');
    assertProblem(await grant(NOW_STORE, m, { points: 0, reason: 'x' }), 422, 'validation_failed');
    assertProblem(await grant(NOW_STORE, m, { points: 5 }), 400, 'missing_field');
    assertProblem(await grant(NOW_STORE, m, { points: 5, reason: 'x', expires_at: '2001-01-01T00:00:00Z' }), 422, 'validation_failed');
    assertProblem(await grant(NOW_STORE, m, { points: 5, reason: 'x', expires_at: 'soon' }), 400, 'invalid_time');
    const keyless = await sendJson('POST', at(NOW_STORE, `/admin/v1/members/${m}/points/grants`), { points: 5, reason: 'x' }, { token: OPERATOR });
    assertProblem(keyless, 400, 'idempotency_key_required');
    // Adjustments go both ways, never below zero.
    const down = await adjust(NOW_STORE, m, { points: -200, reason: 'granted twice' });
    assert.equal(down.status, 201, down.text);
    assert.equal(down.json.balance.available, 300);
    const tooFar = await adjust(NOW_STORE, m, { points: -301, reason: 'too far' });
    assertProblem(tooFar, 409, 'insufficient_points');
    assert.equal(tooFar.json.available, 300);
    assertProblem(await adjust(NOW_STORE, m, { points: 0, reason: 'nothing' }), 422, 'validation_failed');
    // Tokens of other stores may not; a malformed member id is 404.
    assertProblem(await grant(NOW_STORE, m, { points: 5, reason: 'x' }, newKey(), BANK_ADMIN), 403, 'forbidden');
    assertProblem(await grant(NOW_STORE, m, { points: 5, reason: 'x' }, newKey(), SHOP_ADMIN), 403, 'forbidden');
    assertProblem(await grant(NOW_STORE, 'bad%20id', { points: 5, reason: 'x' }), 404, 'member_not_found');
    assertProblem(await sendJson('POST', at(NOW_STORE, `/admin/v1/members/${m}/points/grants`), { points: 5, reason: 'x' }, { key: 'x' }), 401, 'unauthorized');
    // The admin's lookup shows who and which key; the store's trail has both changes.
    const look = await lookup(NOW_STORE, m);
    assert.equal(look.status, 200, look.text);
    assert.deepEqual(look.json.history.map((r) => [r.kind, r.points, r.actor]), [['adjust', -200, 'e2e'], ['grant', 500, 'e2e']]);
    assert.equal(look.json.history[1].key, k);
    const trail = await auditTrail(at(NOW_STORE, '/admin/v1/store/audit'), OPERATOR);
    const mine = trail.filter((e) => e.target === `member:${m}`);
    assert.deepEqual(mine.map((e) => e.action), ['points.grant', 'points.adjust']);
    const after = typeof mine[0].after === 'string' ? JSON.parse(mine[0].after) : mine[0].after;
    assert.deepEqual(after, { available: 500, points: 500, reason: 'welcome' });
    assert.equal(mine[0].store, NOW_STORE);
    // Paging: newest first, 2 at a time, every row once.
    for (let i = 0; i < 5; i++) {
      const r = await grant(NOW_STORE, m, { points: 1 + i, reason: `page ${i}` });
      assert.equal(r.status, 201, r.text);
    }
    const seen = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const page = await lookup(NOW_STORE, m, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, page.text);
      seen.push(...page.json.history.map((r) => r.seq));
      cursor = page.json.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, [7, 6, 5, 4, 3, 2, 1]);
    assertProblem(await lookup(NOW_STORE, m, '?cursor=x1'), 400, 'invalid_cursor');
  });
});

describe('points: checkout', () => {
  test('products and the cart show prices in points', async () => {
    const p = await api.get(at(NOW_STORE, '/v1/products/prd_00081'));
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.variants[0].price_points, p.json.variants[0].price.amount);
    const c = await cartAt(NOW_STORE, sku);
    assert.deepEqual(c.view.points, { unit: 'points', per_minor: 1, grand_total: c.total.amount });
    const plain = await api.product('prd_00081');
    assert.equal(plain.json.variants[0].price_points, undefined, 'a store without a programme shows none');
  });

  test('points, card or both: exact amounts, the card charged only for its part, earnings on the card part', async () => {
    const m = await member(NOW_STORE, 100_000);
    const before = (await stripe.charges()).length;
    // Both: 1000 points pay 10.00, the card the rest.
    const c1 = await cartAt(NOW_STORE, sku);
    const both = await checkout(c1, { method: 'points_and_card', points: 1000, token: 'pm_card_visa' }, m.token);
    assert.equal(both.status, 201, both.text);
    const o1 = both.json.order;
    assert.equal(o1.points.spent, 1000);
    assert.equal(o1.points.value, 1000);
    assert.equal(o1.payment.provider, 'stripe');
    const charges = (await stripe.charges()).slice(before);
    assert.equal(charges.length, 1);
    assert.equal(charges[0].amount, c1.total.amount - 1000, 'the card pays the rest only');
    // Earned on the card's share of the goods: floor(goods × card / total) × 10 per dollar.
    const goods = unit;
    const card = c1.total.amount - 1000;
    assert.equal(o1.points.earned, Math.floor((Math.floor((goods * card) / c1.total.amount) * 10) / 100));
    // All points: no provider call at all.
    const c2 = await cartAt(NOW_STORE, sku);
    const all = await checkout(c2, { method: 'points' }, m.token);
    assert.equal(all.status, 201, all.text);
    assert.equal(all.json.order.points.spent, c2.total.amount);
    assert.equal(all.json.order.points.earned, 0);
    assert.equal(all.json.order.payment.provider, 'points');
    assert.equal((await stripe.charges()).length, before + 1, 'no charge for an order paid with points');
    const b = await balanceOf(NOW_STORE, m);
    assert.equal(b.available, 100_000 - 1000 - c2.total.amount + o1.points.earned);
    // Card only, signed in: earns on the whole goods.
    const c3 = await cartAt(NOW_STORE, sku);
    const k3 = newKey('card');
    const byCard = await checkout(c3, { method: 'card', token: 'pm_card_visa' }, m.token, k3);
    assert.equal(byCard.status, 201, byCard.text);
    assert.equal(byCard.json.order.points.earned, Math.floor((goods * 10) / 100));
    // The member is part of the request: the same key and body without the
    // member, or with another, is not a replay of it.
    for (const other of [undefined, memberToken(NOW_STORE, 'someone-else')]) {
      const r = await checkout(c3, { method: 'card', token: 'pm_card_visa' }, other, k3);
      assertProblem(r, 422, 'validation_failed');
      assert.equal(r.json.errors[0].code, 'idempotency_mismatch');
    }
    const replay = await checkout(c3, { method: 'card', token: 'pm_card_visa' }, m.token, k3);
    assert.equal(replay.status, 201);
    assert.equal(replay.text, byCard.text);
    // Not enough points: 409 with the balance, nothing held or charged.
    const poor = await member(NOW_STORE, 50);
    const c4 = await cartAt(NOW_STORE, sku);
    const charged = (await stripe.charges()).length;
    const short = await checkout(c4, { method: 'points_and_card', points: 100, token: 'pm_card_visa' }, poor.token);
    assertProblem(short, 409, 'insufficient_points');
    assert.equal(short.json.available, 50);
    assert.equal((await stripe.charges()).length, charged);
    const untouched = await balanceOf(NOW_STORE, poor);
    assert.deepEqual([untouched.available, untouched.held], [50, 0]);
    // Invalid amounts are the body's problem.
    assertProblem(await checkout(c4, { method: 'points_and_card', points: c4.total.amount, token: 'pm_card_visa' }, m.token), 422, 'validation_failed');
    assertProblem(await checkout(c4, { method: 'points', points: 1 }, m.token), 422, 'validation_failed');
    // A declined card gives the points hold back.
    const declined = await checkout(c4, { method: 'points_and_card', points: 10, token: 'pm_card_chargeDeclined' }, m.token);
    assertProblem(declined, 402, 'payment_declined');
    assert.equal((await balanceOf(NOW_STORE, m)).held, 0);
    assertLedgerSums(await history(NOW_STORE, m.id), 'after the checkouts');
  });

  test('200 concurrent checkouts of 100 points each from one balance of 10,000: exactly 100 orders, balance 0', async () => {
    const m = await member(WINDOW_STORE, 10_000, 'conc');
    const carts = [];
    for (let i = 0; i < 200; i++) carts.push(await cartAt(WINDOW_STORE, sku));
    const results = await Promise.all(carts.map((c) => checkout(c, { method: 'points_and_card', points: 100, token: 'pm_card_visa' }, m.token)));
    const placed = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409 && r.json?.code === 'insufficient_points');
    assert.equal(placed.length, 100, results.filter((r) => r.status !== 201).map((r) => r.text).slice(0, 3).join('\n'));
    assert.equal(refused.length, 100);
    const b = await balanceOf(WINDOW_STORE, m);
    assert.equal(b.available, 0);
    assert.equal(b.held, 0);
    // Earned points wait out the return window.
    assert.equal(b.pending, placed.reduce((n, r) => n + r.json.order.points.earned, 0));
    const h = await history(WINDOW_STORE, m.id);
    assertLedgerSums(h, 'concurrent checkouts');
    assert.equal(h.rows.filter((r) => r.kind === 'spend').reduce((n, r) => n + r.points, 0), -10_000);
    // Each order's points were spent once, and each card charged once.
    for (const r of placed) assert.equal((await chargesFor(r.json.order.id)).length, 1, r.json.order.id);
  });

  test('the same with 100 concurrent grants interleaved: the balance is the grants minus the orders, exactly', async () => {
    const m = await member(WINDOW_STORE, 10_000, 'mix');
    const carts = [];
    for (let i = 0; i < 200; i++) carts.push(await cartAt(WINDOW_STORE, sku));
    const work = [];
    for (let i = 0; i < 200; i++) {
      work.push(checkout(carts[i], { method: 'points_and_card', points: 100, token: 'pm_card_visa' }, m.token));
      if (i % 2 === 0) work.push(grant(WINDOW_STORE, m.id, { points: 37, reason: `bonus ${i}` }));
    }
    const results = await Promise.all(work);
    const grants = results.filter((r) => r.json?.member === m.id);
    assert.equal(grants.length, 100);
    assert.ok(grants.every((r) => r.status === 201), grants.find((r) => r.status !== 201)?.text);
    const orders = results.filter((r) => r.json?.order);
    const refused = results.filter((r) => r.json?.code === 'insufficient_points');
    assert.equal(orders.length + refused.length, 200, results.filter((r) => r.status >= 500).map((r) => r.text).join('\n'));
    const b = await balanceOf(WINDOW_STORE, m);
    assert.equal(b.available, 10_000 + 100 * 37 - 100 * orders.length);
    // Each refusal found too few at its moment (grants may have come after).
    for (const r of refused) assert.ok(r.json.available < 100, r.text);
    assertLedgerSums(await history(WINDOW_STORE, m.id), 'grants interleaved');
  });
});

describe('points: refunds, debt and expiry', () => {
  for (const store of [NOW_STORE, WINDOW_STORE]) {
    test(`buy, earn, refund 20 times nets 0 points (${store === NOW_STORE ? 'after' : 'within'} the return window)`, async () => {
      const m = await member(store, 5_000, 'cycle');
      const start = await balanceOf(store, m);
      for (let i = 0; i < 20; i++) {
        const c = await cartAt(store, sku);
        const r = await checkout(c, { method: 'points_and_card', points: 150, token: 'pm_card_visa' }, m.token);
        assert.equal(r.status, 201, r.text);
        assert.ok(r.json.order.points.earned > 0);
        const back = await refund(store, r.json.order.id);
        assert.equal(back.status, 200, back.text);
        assert.equal(back.json.status, 'refunded');
        // The card's part was refunded at the provider.
        const pi = r.json.order.payment.reference;
        assert.equal((await stripe.refunds()).filter((x) => x.payment_intent === pi).length, 1, pi);
      }
      const end = await balanceOf(store, m);
      assert.deepEqual([end.available, end.pending, end.held, end.debt], [start.available, 0, 0, 0]);
      const h = await history(store, m.id);
      assertLedgerSums(h, store);
      assert.equal(h.rows.filter((r) => r.kind === 'restore').length, 20);
      assert.equal(h.rows.filter((r) => r.kind === 'revoke').length, 20);
    });
  }

  test('earned points taken back after they were spent become debt, repaid by the next points', async () => {
    const m = await member(NOW_STORE, 0, 'debt');
    // Earn by card.
    const c1 = await cartAt(NOW_STORE, sku);
    const first = await checkout(c1, { method: 'card', token: 'pm_card_visa' }, m.token);
    assert.equal(first.status, 201, first.text);
    const earned = first.json.order.points.earned;
    assert.equal((await balanceOf(NOW_STORE, m)).available, earned);
    // Spend them on a second order.
    const c2 = await cartAt(NOW_STORE, sku);
    const second = await checkout(c2, { method: 'points_and_card', points: earned, token: 'pm_card_visa' }, m.token);
    assert.equal(second.status, 201, second.text);
    const earned2 = second.json.order.points.earned;
    // Refund the first: its earning is gone, spent; the balance owes it.
    assert.equal((await refund(NOW_STORE, first.json.order.id)).status, 200);
    const owing = await balanceOf(NOW_STORE, m);
    assert.equal(owing.debt, earned);
    assert.equal(owing.available, earned2 - earned);
    // Refund the second: its points return to their lot, its earning is taken back.
    assert.equal((await refund(NOW_STORE, second.json.order.id)).status, 200);
    const settled = await balanceOf(NOW_STORE, m);
    assert.equal(settled.available + settled.pending, 0, JSON.stringify(settled));
    // New points pay the debt first.
    const g = await grant(NOW_STORE, m.id, { points: 1000, reason: 'goodwill' });
    assert.equal(g.status, 201, g.text);
    const after = await balanceOf(NOW_STORE, m);
    assert.equal(after.debt, 0);
    assert.equal(after.available, 1000);
    assertLedgerSums(await history(NOW_STORE, m.id), 'debt');
  });

  test('lots expire by alarm with no traffic; spending takes the soonest-expiring lot first', async () => {
    const m = await member(NOW_STORE, 300, 'exp');
    const soon = new Date(Date.now() + 20_000).toISOString();
    const g = await grant(NOW_STORE, m.id, { points: 100, reason: 'flash bonus', expires_at: soon });
    assert.equal(g.status, 201, g.text);
    assert.deepEqual(g.json.balance.next_expiry, { points: 100, at: soon });
    const c = await cartAt(NOW_STORE, sku);
    const r = await checkout(c, { method: 'points_and_card', points: 60, token: 'pm_card_visa' }, m.token);
    assert.equal(r.status, 201, r.text);
    const spend = (await history(NOW_STORE, m.id)).rows.filter((x) => x.kind === 'spend');
    assert.deepEqual(spend.map((x) => [x.lot, x.points]), [[2, -60]], 'the lot that expires first');
    // A lot with a 2-second life: gone within 60 s, with no request but reads.
    const brief = await grant(NOW_STORE, m.id, { points: 25, reason: 'two seconds', expires_at: new Date(Date.now() + 2_000).toISOString() });
    assert.equal(brief.status, 201, brief.text);
    const deadline = Date.now() + 60_000;
    let expired = [];
    while (Date.now() < deadline) {
      const page = await points(NOW_STORE, m.token);
      expired = page.json.history.filter((x) => x.kind === 'expire');
      if (expired.length) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    assert.deepEqual(expired.map((x) => [x.lot, x.points]), [[4, -25]]);
    const b = await balanceOf(NOW_STORE, m);
    assert.equal(b.available, 300 + 100 - 60 + r.json.order.points.earned);
    assertLedgerSums(await history(NOW_STORE, m.id), 'expiry');
  });
});
