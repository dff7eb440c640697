// Self-test of the fake Stripe (tests/fakes/stripe.mjs): its additions to
// the PaymentIntents fake, through its HTTP API as the Worker would call it
// and through its control API, with a webhook receiver of its own.
//
//   node --test tests/fakes/stripe.selftest.mjs
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fakeStripeControl, startFakeStripe } from './stripe.mjs';

const SECRET_KEY = 'sk_test_selftest';

let stripe;

/** A Stripe API call with a form body (POST) or query (GET); {status, json, headers}. */
async function call(method, path, params = {}, { key = SECRET_KEY, idempotencyKey, headers = {} } = {}) {
  const form = new URLSearchParams(flatten(params));
  const init = {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Stripe-Version': '2024-06-20', ...headers },
  };
  if (idempotencyKey) init.headers['Idempotency-Key'] = idempotencyKey;
  let url = `${stripe.url}${path}`;
  if (method === 'GET') {
    if (form.size) url += `?${form}`;
  } else {
    init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
    init.body = form.toString();
  }
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, text, json: JSON.parse(text), headers: r.headers };
}

/** {metadata: {a: 'b'}} → [['metadata[a]', 'b']]. */
function flatten(obj, prefix = '') {
  const out = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}[${k}]` : k;
    if (v && typeof v === 'object') out.push(...flatten(v, key));
    else out.push([key, String(v)]);
  }
  return out;
}

const pay = (paymentMethod, extra = {}, opts = {}) =>
  call('POST', '/v1/payment_intents', { amount: 1000, currency: 'usd', payment_method: paymentMethod, confirm: true, ...extra }, opts);

before(async () => {
  stripe = await startFakeStripe({ secretKey: SECRET_KEY });
});

after(async () => {
  await stripe?.stop();
});

describe('requests', () => {
  test('each request is recorded with its lower-cased headers', async () => {
    const r = await pay('pm_card_visa', {}, { idempotencyKey: 'hdr-1', headers: { 'X-Custom': 'yes' } });
    assert.equal(r.status, 200, r.text);
    const seen = stripe.requests().at(-1);
    assert.equal(seen.headers['stripe-version'], '2024-06-20');
    assert.equal(seen.headers['idempotency-key'], 'hdr-1');
    assert.equal(seen.headers.authorization, `Bearer ${SECRET_KEY}`);
    assert.equal(seen.headers['x-custom'], 'yes');
    const remote = (await fakeStripeControl(stripe.url).requests()).at(-1);
    assert.deepEqual(remote.headers, seen.headers);
  });
});

describe('PaymentMethods and charges', () => {
  test('a stolen card is declined 402 card_error/stolen_card, and its charge failed', async () => {
    const r = await pay('pm_card_chargeDeclinedStolenCard', { metadata: { order_id: 'ord_stolen' } });
    assert.equal(r.status, 402, r.text);
    assert.equal(r.json.error.type, 'card_error');
    assert.equal(r.json.error.code, 'card_declined');
    assert.equal(r.json.error.decline_code, 'stolen_card');
    assert.equal(r.json.error.message, 'Your card was declined.');
    const pi = r.json.error.payment_intent;
    assert.equal(pi.status, 'requires_payment_method');
    assert.equal(pi.payment_method, null);
    assert.equal(pi.last_payment_error.decline_code, 'stolen_card');
    const charge = await call('GET', `/v1/charges/${pi.latest_charge}`);
    assert.equal(charge.status, 200, charge.text);
    assert.equal(charge.json.status, 'failed');
    assert.equal(charge.json.paid, false);
    assert.deepEqual(charge.json.metadata, { order_id: 'ord_stolen' });
    assert.ok(!stripe.charges().some((c) => c.id === pi.id), 'a decline is not a charge');
  });

  test('an incorrect CVC is 402 incorrect_cvc', async () => {
    const r = await pay('pm_card_chargeDeclinedIncorrectCvc');
    assert.equal(r.status, 402, r.text);
    assert.equal(r.json.error.code, 'incorrect_cvc');
    assert.equal(r.json.error.decline_code, 'incorrect_cvc');
    assert.equal(r.json.error.message, "Your card's security code is incorrect.");
  });

  test('a paid intent has a succeeded charge that follows refunds; unknown charges are 404', async () => {
    const r = await pay('pm_card_visa', { metadata: { order_id: 'ord_paid' } });
    assert.equal(r.status, 200, r.text);
    const charge = (await call('GET', `/v1/charges/${r.json.latest_charge}`, { 'expand[]': 'balance_transaction' })).json;
    assert.equal(charge.object, 'charge');
    assert.equal(charge.status, 'succeeded');
    assert.equal(charge.paid, true);
    assert.equal(charge.amount_captured, 1000);
    assert.equal(charge.payment_intent, r.json.id);
    assert.equal(charge.refunded, false);
    assert.equal(charge.disputed, false);
    assert.equal((await call('POST', '/v1/refunds', { payment_intent: r.json.id, amount: 400 })).status, 200);
    let after = (await call('GET', `/v1/charges/${charge.id}`)).json;
    assert.equal(after.amount_refunded, 400);
    assert.equal(after.refunded, false);
    assert.equal((await call('POST', '/v1/refunds', { payment_intent: r.json.id })).status, 200);
    after = (await call('GET', `/v1/charges/${charge.id}`)).json;
    assert.equal(after.amount_refunded, 1000);
    assert.equal(after.refunded, true);
    const missing = await call('GET', '/v1/charges/ch_nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.message, "No such charge: 'ch_nope'");
  });
});
