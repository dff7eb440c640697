// End-to-end: the Stripe adapter against a local fake of Stripe's
// PaymentIntents API (tests/fakes/stripe.mjs, on 127.0.0.1), and switching
// the store's provider live through the admin API.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, assertProblem, sendJson as send, stripe } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const SECRET = process.env.EDGECART_STRIPE_SECRET_KEY;

const admin = (method, path, body) => send(method, path, body, { token: ADMIN });
const key = () => `s-${Math.random().toString(36).slice(2)}-${Date.now()}`;
const settle = () => new Promise((r) => setTimeout(r, 1200));

let original;
let sku;

async function useProvider(payment) {
  const { schema, ...config } = original;
  const r = await admin('PUT', '/admin/v1/store', { ...config, payment });
  assert.equal(r.status, 200, r.text);
  await settle();
}

async function cart() {
  const c = (await send('POST', '/v1/carts')).json;
  const r = await send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 1 }, { token: c.token });
  assert.equal(r.status, 200, r.text);
  const view = await send('GET', `/v1/carts/${c.id}?country=US&shipping_method=standard`, undefined, { token: c.token });
  return { ...c, total: view.json.grand_total };
}

const body = (c, token = 'pm_card_visa') => ({
  email: 'grace@example.com',
  shipping_address: { name: 'Grace Hopper', line1: '2 Navy Way', city: 'Arlington', postal_code: '22201', country: 'US' },
  shipping_method: 'standard',
  payment: { method: 'card', token },
  expected_total: c.total,
});
const checkout = (c, b, k) => send('POST', `/v1/carts/${c.id}/checkout`, b, { token: c.token, key: k });

before(async () => {
  assert.ok(SECRET, 'EDGECART_STRIPE_SECRET_KEY is set by scripts/test.mjs');
  original = (await admin('GET', '/admin/v1/store')).json;
  sku = (await api.product('prd_00044')).json.variants[0].sku;
  const r = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 1000, reason: 'stripe tests' });
  assert.equal(r.status, 200, r.text);
  await useProvider({ provider: 'stripe' });
});

after(async () => {
  if (original) {
    const { schema, ...config } = original;
    await admin('PUT', '/admin/v1/store', config);
  }
});

describe('Stripe adapter', () => {
  test('one key sent 10× at once and 10× in a row: one PaymentIntent, one order, identical replays', async () => {
    const c = await cart();
    const k = key();
    const before = (await stripe.charges()).length;
    const burst = await Promise.all(Array.from({ length: 10 }, () => checkout(c, body(c), k)));
    for (const r of burst) assert.ok([201, 409].includes(r.status), r.text);
    const sequential = [];
    for (let i = 0; i < 10; i++) sequential.push(await checkout(c, body(c), k));
    const created = [...burst, ...sequential].filter((r) => r.status === 201);
    assert.equal(new Set(created.map((r) => r.text)).size, 1, 'every success is the same bytes');
    const order = created[0].json.order;
    assert.equal(order.payment.provider, 'stripe');
    const charges = (await stripe.charges()).slice(before);
    assert.equal(charges.length, 1, 'one charge at the provider');
    assert.equal(charges[0].id, order.payment.reference);
    assert.equal(charges[0].amount, c.total.amount);
    assert.equal(charges[0].currency, 'usd');
    assert.equal(charges[0].metadata.order_id, order.id);
    const sent = (await stripe.requests()).filter((r) => r.path === '/v1/payment_intents');
    assert.ok(sent.every((r) => r.idempotencyKey), 'every charge request carries an Idempotency-Key');
  });

  test('a declined card is 402 with nothing charged; Stripe down is 503 with nothing charged', async () => {
    const c = await cart();
    const before = (await stripe.charges()).length;
    const declined = await checkout(c, body(c, 'pm_card_chargeDeclined'), key());
    assertProblem(declined, 402, 'payment_declined');
    // Stripe's generic_decline is reported as the generic card_declined.
    assert.equal(declined.json.decline_code, 'card_declined');
    await stripe.setMode('down');
    try {
      assertProblem(await checkout(c, body(c), key()), 503, 'payment_unavailable');
    } finally {
      await stripe.setMode('normal');
    }
    assert.equal((await stripe.charges()).length, before);
    // The cart is intact and pays on the next attempt.
    const paid = await checkout(c, body(c), key());
    assert.equal(paid.status, 201, paid.text);
  });

  test('switching the provider through the admin API applies to the next checkout', async () => {
    await useProvider({ provider: 'test' });
    const c = await cart();
    const before = (await stripe.charges()).length;
    const r = await checkout(c, body(c, 'tok_visa'), key());
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.order.payment.provider, 'test');
    assert.equal((await stripe.charges()).length, before);
    await useProvider({ provider: 'stripe' });
  });
});
