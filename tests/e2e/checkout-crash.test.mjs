// End-to-end: SIGKILL the workerd process at a random point while 200
// card checkouts and 200 points+card checkouts by members of the store's
// points programme (the card part paid through a local fake of Stripe's
// API) run, start it again on the same local state, and retry every
// checkout with its own Idempotency-Key and body until it has a final
// answer. Then: every order with a charge exists exactly once (each key's
// answers are the same bytes, one order per key), every charge without an
// order was refunded, no order lacks a charge for its card part, the stock
// invariant holds with `sold` equal to the units of the orders, every
// order's points were spent exactly once (and no points without an order),
// no points hold outlives its TTL, and each member's ledger sums to their
// balance. Five rounds, each with its own fresh state, fake Stripe and
// worker (scripts/serve-direct.mjs). Needs a built Worker (`node
// scripts/build.mjs`), not EDGECART_URL.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { hs256 } from '../../scripts/lib.mjs';
import { call, must, pool, serve, stop, workerdOf } from './workers.mjs';
import { startFakeStripe } from '../fakes/stripe.mjs';

const TOKEN = 'checkout-crash-admin-token-0123456789';
const SECRET = `sk_test_${randomBytes(16).toString('hex')}`;
const ROUNDS = 5;
/** Card checkouts, and as many points+card checkouts by members. */
const CHECKOUTS = 200;
const MEMBER_SECRET = randomBytes(24).toString('hex');
const MEMBERS = 20;
/** Each member's points: more than some of their checkouts spend together. */
const GRANT = 3_000;
/**
 * Holds (stock and points) last this long: the holds of attempts the kill
 * cut short, which no retry gives back, must be gone by the time a round
 * checks (an interrupted attempt's lease is 60 s).
 */
const HOLD_TTL_MS = 30_000;
const CONCURRENCY = 20;
const STOCK = 10_000;
const SKUS = [
  { sku: 'CHKCRASH-1', price: 500 },
  { sku: 'CHKCRASH-2', price: 1250 },
  { sku: 'CHKCRASH-3', price: 2999 },
];
/** How long the retries of one round may take (an interrupted attempt's lease is 60 s). */
const RETRY_DEADLINE_MS = 90_000;
/** How long to wait for refunds made by the worker's alarm. */
const REFUND_WAIT_MS = 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


async function seed(url) {
  await must(201, url, 'PUT', '/admin/v1/categories/checkout-crash', { name: 'Checkout crash' }, { token: TOKEN });
  const product = {
    id: 'prd_chkcrash',
    slug: 'checkout-crash-item',
    name: 'Checkout Crash Item',
    category: 'checkout-crash',
    variants: SKUS.map((s, i) => ({ sku: s.sku, name: `Variant ${i + 1}`, prices: { USD: s.price } })),
  };
  await must(201, url, 'PUT', '/admin/v1/products/prd_chkcrash', product, { token: TOKEN });
  for (const { sku } of SKUS) {
    await must(200, url, 'PUT', `/admin/v1/inventory/${sku}`, { on_hand: STOCK }, { token: TOKEN });
  }
  const { schema, ...config } = await must(200, url, 'GET', '/admin/v1/store', undefined, { token: TOKEN });
  // Points pay at 1 per cent; the card part earns 10 per dollar, pending
  // for 14 days (so `available` moves only by what is spent).
  const points = { unit: 'points', earn_per_unit: 10, points_per_minor: { USD: 1 }, pending_days: 14, expiry_days: 365 };
  await must(200, url, 'PUT', '/admin/v1/store', { ...config, payment: { provider: 'stripe' }, points }, { token: TOKEN });
  for (let m = 0; m < MEMBERS; m++) {
    await must(201, url, 'POST', `/admin/v1/members/${member(m)}/points/grants`, { points: GRANT, reason: 'crash test' }, { token: TOKEN, key: `grant-${m}` });
  }
  // Checkouts plan from the store object, carts read its published copy.
  await sleep(1200);
}

const member = (m) => `crash-member-${m}`;

/** An HS256 member token of `member` at the default store, as an operator's site signs it. */
function memberToken(id) {
  return hs256(MEMBER_SECRET, { sub: id, aud: 'default', exp: Math.floor(Date.now() / 1000) + 3600 });
}

/** A cart with 1–3 lines of distinct SKUs, its total and its fixed checkout request. */
async function prepare(url, round, i) {
  const cart = await must(201, url, 'POST', '/v1/carts');
  const picked = [...SKUS].sort(() => Math.random() - 0.5).slice(0, randomInt(1, 4));
  const lines = picked.map((s) => ({ sku: s.sku, quantity: randomInt(1, 4) }));
  for (const line of lines) {
    await must(200, url, 'POST', `/v1/carts/${cart.id}/lines`, line, { token: cart.token });
  }
  const view = await must(200, url, 'GET', `/v1/carts/${cart.id}?country=US&shipping_method=standard`, undefined, {
    token: cart.token,
  });
  // The second half: a member pays 100–600 points, the card the rest.
  const m = i >= CHECKOUTS ? (i - CHECKOUTS) % MEMBERS : null;
  const points = m === null ? null : randomInt(100, 601);
  const payment = m === null ? { method: 'card', token: 'pm_card_visa' } : { method: 'points_and_card', points, token: 'pm_card_visa' };
  const body = JSON.stringify({
    email: `shopper${i}@example.com`,
    shipping_address: { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' },
    shipping_method: 'standard',
    payment,
    expected_total: view.grand_total,
  });
  return {
    i,
    cart,
    lines,
    member: m === null ? null : member(m),
    memberToken: m === null ? null : memberToken(member(m)),
    points,
    total: view.grand_total,
    key: `chk-crash-${round}-${i}-${randomBytes(6).toString('hex')}`,
    body,
    /** Every final answer seen for the key: {status, text, json}. */
    answers: [],
  };
}

/** Sends checkout `c` once; records a final answer; returns whether it was final. */
async function attempt(url, c) {
  let r;
  try {
    r = await call(url, 'POST', `/v1/carts/${c.cart.id}/checkout`, c.body, { token: c.cart.token, key: c.key, member: c.memberToken });
  } catch (e) {
    c.errors = (c.errors ?? 0) + 1;
    return false;
  }
  if (r.status === 409 && r.json?.code === 'idempotency_in_progress') {
    c.busy = (c.busy ?? 0) + 1;
    return false;
  }
  c.answers.push(r);
  return true;
}

const tally = (xs) => Object.entries(xs.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {}))
  .map(([k, v]) => `${k}×${v}`)
  .join(', ');

/** Every history row of `id` (admin lookup, newest first) and the balance. */
async function ledger(url, id) {
  const rows = [];
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    const r = await must(200, url, 'GET', `/admin/v1/members/${id}/points?limit=200${cursor ? `&cursor=${cursor}` : ''}`, undefined, { token: TOKEN });
    rows.push(...r.history);
    if (!r.next_cursor) return { rows, balance: r.balance };
    cursor = r.next_cursor;
  }
  throw new Error(`${id}: history did not end`);
}

describe('crash safety of checkout with Stripe and points', () => {
  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: SIGKILL workerd during ${CHECKOUTS} card and ${CHECKOUTS} points+card checkouts, restart, retry each with its key`, async (t) => {
      const started = Date.now();
      const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-checkout-crash-'));
      const stripe = await startFakeStripe({ secretKey: SECRET });
      const vars = {
        ADMIN_TOKENS: `crash:operator:${TOKEN}`,
        CART_HOLD_TTL_MS: String(HOLD_TTL_MS),
        STRIPE_SECRET_KEY: SECRET,
        // Stripe's host is fixed; only the operator names a test host.
        STRIPE_TEST_API_BASE: stripe.url,
        MEMBER_TOKEN_SECRETS: `default:${MEMBER_SECRET}`,
      };
      let server = await serve(state, vars);
      let passed = false;
      try {
        await seed(server.url);
        const checkouts = new Array(2 * CHECKOUTS);
        await pool([...Array(2 * CHECKOUTS).keys()], CONCURRENCY, async (i) => {
          checkouts[i] = await prepare(server.url, round, i);
        });
        // Card and points checkouts interleaved in the burst.
        checkouts.sort(() => Math.random() - 0.5);
        const prepared = Date.now();

        // The burst: every checkout once, the kill landing while they run,
        // once a random 20–80% of them were sent (plus a few milliseconds).
        const killAt = randomInt(Math.floor(checkouts.length * 0.2), Math.floor(checkouts.length * 0.8) + 1);
        let sent = 0;
        let killed = false;
        let killing = null;
        const kill = () =>
          (killing ??= (async () => {
            await sleep(randomInt(0, 40));
            const victims = workerdOf(server.child.pid);
            for (const pid of victims) process.kill(pid, 'SIGKILL');
            killed = true;
            return victims;
          })());
        await pool(checkouts, CONCURRENCY, async (c) => {
          if (killed) return;
          sent++;
          if (sent === killAt) kill();
          await attempt(server.url, c);
        });
        // Everything was answered before the kill landed: kill anyway.
        const victims = await kill();
        const killedAt = Date.now();
        assert.ok(victims.length > 0, 'found the workerd process');
        const before = checkouts.filter((c) => c.answers.length > 0).length;
        const chargedBefore = stripe.charges().length;
        await stop(server.child);

        server = await serve(state, vars);
        const restarted = Date.now();
        // Retry every checkout with its key and body until it has a final
        // answer from the restarted worker (for one answered before the
        // kill, that answer must be a replay of the first).
        let pending = checkouts;
        const deadline = restarted + RETRY_DEADLINE_MS;
        while (pending.length > 0 && Date.now() < deadline) {
          const next = [];
          await pool(pending, CONCURRENCY, async (c) => {
            if (!(await attempt(server.url, c))) next.push(c);
          });
          pending = next;
          if (pending.length > 0) await sleep(250);
        }
        const retried = Date.now();
        const unanswered = pending;
        t.diagnostic(
          `killed after ${sent} of ${checkouts.length} sent (target ${killAt}); ${before} answered before the kill, ` +
            `${chargedBefore} charges at the fake by then; retries took ${((retried - restarted) / 1000).toFixed(1)} s ` +
            `(${checkouts.reduce((n, c) => n + (c.busy ?? 0), 0)} answers 409 in progress, ` +
            `${checkouts.reduce((n, c) => n + (c.errors ?? 0), 0)} network errors, most of them requests in flight at the kill)`,
        );
        const last = (c) => c.answers.at(-1);
        t.diagnostic(`final answers: ${tally(checkouts.filter((c) => c.answers.length).map((c) => `${last(c).status} ${last(c).json?.code ?? ''}`.trim()))}`);
        assert.deepEqual(
          unanswered.map((c) => c.key),
          [],
          `checkouts without a final answer after ${RETRY_DEADLINE_MS / 1000} s`,
        );

        // (a) One answer per key, byte for byte; one order per key, no order twice.
        for (const c of checkouts) {
          for (const a of c.answers) {
            assert.equal(a.text, c.answers[0].text, `key ${c.key}: answers differ: ${c.answers.map((x) => `${x.status} ${x.text.slice(0, 200)}`).join(' | ')}`);
          }
        }
        const created = checkouts.filter((c) => c.answers[0].status === 201);
        const orders = new Map(); // order id → {order, token, checkout}
        for (const c of created) {
          const { order, order_token: token } = c.answers[0].json;
          assert.ok(!orders.has(order.id), `order ${order.id} answered for two keys`);
          orders.set(order.id, { order, token, checkout: c });
          assert.deepEqual(
            order.lines.map((l) => [l.sku, l.quantity]).sort(),
            c.lines.map((l) => [l.sku, l.quantity]).sort(),
            `order ${order.id} has the cart's lines`,
          );
          assert.equal(order.totals.grand_total, c.total.amount, `order ${order.id} charged the total shown`);
          assert.equal(order.payment.provider, 'stripe');
          if (c.member) {
            assert.equal(order.points?.member, c.member, `order ${order.id}: its member`);
            assert.equal(order.points.spent, c.points, `order ${order.id}: the points named`);
          } else {
            assert.equal(order.points, undefined, `order ${order.id}: no member`);
          }
        }

        // (c) No order without a charge: each order's reference is a succeeded
        // PaymentIntent at the fake, for that order and its total, not refunded.
        const charges = new Map(stripe.charges().map((pi) => [pi.id, pi]));
        for (const [id, { order }] of orders) {
          const pi = charges.get(order.payment.reference);
          assert.ok(pi, `order ${id}: its payment ${order.payment.reference} is no succeeded charge at Stripe`);
          assert.equal(pi.metadata.order_id, id, `order ${id}: its charge is for another order`);
          assert.equal(pi.amount, order.totals.grand_total - (order.points?.value ?? 0), `order ${id}: the card charged its part`);
          assert.equal(pi.amount_refunded, 0, `order ${id}: its charge ${pi.id} was refunded`);
        }

        // (b) Every charge: its order exists exactly once (read with its token,
        // paid by this very charge), or it was refunded in full (the alarm may
        // still be refunding: bounded wait).
        const byOrder = new Map();
        for (const pi of stripe.charges()) {
          const id = pi.metadata.order_id;
          assert.ok(id, `charge ${pi.id} names its order`);
          byOrder.set(id, [...(byOrder.get(id) ?? []), pi.id]);
        }
        for (const [id, ids] of byOrder) assert.equal(ids.length, 1, `order id ${id} was charged ${ids.length} times: ${ids}`);
        for (const [id, { order, token }] of orders) {
          const read = await call(server.url, 'GET', `/v1/orders/${id}`, undefined, { token });
          assert.equal(read.status, 200, `order ${id}: ${read.text}`);
          assert.equal(read.json.payment.reference, order.payment.reference, `order ${id}: stored payment reference`);
          assert.equal(read.json.totals.grand_total, order.totals.grand_total);
        }
        const refundsSettled = Date.now() + REFUND_WAIT_MS;
        let orphans;
        for (;;) {
          const refunded = new Map();
          for (const re of stripe.refunds()) refunded.set(re.payment_intent, (refunded.get(re.payment_intent) ?? 0) + re.amount);
          orphans = stripe
            .charges()
            .filter((pi) => !orders.has(pi.metadata.order_id))
            .filter((pi) => !(pi.amount_refunded >= pi.amount || (refunded.get(pi.id) ?? 0) >= pi.amount));
          if (orphans.length === 0 || Date.now() > refundsSettled) break;
          await sleep(1000);
        }
        const unpaid = stripe.charges().filter((pi) => !orders.has(pi.metadata.order_id));
        t.diagnostic(`${orders.size} orders, ${stripe.charges().length} charges, ${unpaid.length} charges without an order, ${stripe.refunds().length} refunds`);
        assert.deepEqual(
          orphans.map((pi) => `${pi.id} (order ${pi.metadata.order_id}, ${pi.amount_refunded}/${pi.amount} refunded)`),
          [],
          'charges with neither an order nor a full refund',
        );

        // (d) Stock: sold is the units of the orders; the invariant holds.
        const levels = [];
        for (const { sku } of SKUS) {
          const ordered = [...orders.values()]
            .flatMap(({ order }) => order.lines)
            .filter((l) => l.sku === sku)
            .reduce((n, l) => n + l.quantity, 0);
          const lv = await must(200, server.url, 'GET', `/admin/v1/inventory/${sku}`, undefined, { token: TOKEN });
          assert.equal(lv.on_hand, STOCK, `${sku}: on_hand`);
          assert.equal(lv.sold, ordered, `${sku}: sold ${lv.sold} ≠ ${ordered} units ordered`);
          assert.equal(lv.on_hand - lv.reserved - lv.sold, lv.available, `${sku}: on_hand − reserved − sold = available (${JSON.stringify(lv)})`);
          assert.ok(lv.available >= 0, `${sku}: available ≥ 0`);
          levels.push(`${sku} ${JSON.stringify(lv)}`);
        }
        t.diagnostic(`levels: ${levels.join('; ')}`);

        // (e) Points: each order's points spent exactly once, none without
        // an order; no hold outlives its TTL; each ledger sums to its
        // balance, and `available` is the grant less what the orders spent.
        const refusedPoints = checkouts.filter((c) => c.answers[0].json?.code === 'insufficient_points').length;
        await sleep(Math.max(0, killedAt + HOLD_TTL_MS + 1000 - Date.now()));
        for (let m = 0; m < MEMBERS; m++) {
          const id = member(m);
          const mine = [...orders.values()].filter(({ order }) => order.points?.member === id);
          const spentByOrder = new Map();
          const { rows, balance } = await ledger(server.url, id);
          for (const r of rows.filter((x) => x.kind === 'spend' || x.kind === 'restore')) {
            spentByOrder.set(r.order, (spentByOrder.get(r.order) ?? 0) - r.points);
          }
          for (const [order, n] of spentByOrder) {
            const placed = orders.get(order);
            assert.ok(placed, `${id}: ${n} points spent for ${order}, which is no order`);
            assert.equal(n, placed.order.points.spent, `${id}: order ${order} spent ${n}, not ${placed.order.points.spent}`);
          }
          for (const { order } of mine) assert.ok(spentByOrder.has(order.id), `${id}: order ${order.id} spent no points`);
          assert.equal(balance.held, 0, `${id}: a points hold outlived its TTL: ${JSON.stringify(balance)}`);
          const spent = mine.reduce((n, { order }) => n + order.points.spent, 0);
          assert.equal(balance.available, GRANT - spent, `${id}: available ${balance.available}, granted ${GRANT}, spent ${spent}`);
          const sum = rows.reduce((n, r) => n + r.points, 0);
          assert.equal(sum, balance.available + balance.pending + balance.held, `${id}: rows sum to ${sum}, balance ${JSON.stringify(balance)}`);
          assert.equal(balance.debt, 0);
          // What the card parts earned waits out the return window (the
          // order's object may still be delivering an earning: bounded wait).
          const earned = mine.reduce((n, { order }) => n + order.points.earned, 0);
          let pending = balance.pending;
          for (const until = Date.now() + 40_000; pending !== earned && Date.now() < until; ) {
            await sleep(1000);
            pending = (await ledger(server.url, id)).balance.pending;
          }
          assert.equal(pending, earned, `${id}: pending ${pending}, earned by its orders ${earned}`);
        }
        t.diagnostic(`points: ${[...orders.values()].filter(({ order }) => order.points).length} orders paid partly with points, ${refusedPoints} refused insufficient_points`);
        t.diagnostic(
          `round took ${((Date.now() - started) / 1000).toFixed(1)} s (preparing ${((prepared - started) / 1000).toFixed(1)} s)`,
        );
        passed = true;
      } finally {
        await stop(server.child);
        await stripe.stop();
        if (passed) fs.rmSync(state, { recursive: true, force: true });
        else t.diagnostic(`state and worker log kept in ${state}`);
      }
    });
  }
});
