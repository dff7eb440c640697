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

describe('pending intents', () => {
  test('3D Secure: requires_action, then authenticate succeed joins charges()', async () => {
    const r = await pay('pm_card_threeDSecure2Required', { metadata: { order_id: 'ord_3ds' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'requires_action');
    assert.equal(r.json.amount_received, 0);
    assert.equal(r.json.next_action.type, 'use_stripe_sdk');
    assert.equal(r.json.next_action.use_stripe_sdk.type, 'three_d_secure_redirect');
    assert.match(r.json.next_action.use_stripe_sdk.stripe_js, /^https:\/\/hooks\.stripe\.com\/3d_secure_2\/hosted\?/);
    assert.match(r.json.next_action.use_stripe_sdk.source, /^src_/);
    assert.ok(!stripe.charges().some((c) => c.id === r.json.id));
    const done = stripe.authenticate(r.json.id, 'succeed');
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 1000);
    assert.equal(done.next_action, null);
    assert.equal(stripe.charges().at(-1).id, r.json.id);
    assert.equal((await call('GET', `/v1/payment_intents/${r.json.id}`)).json.status, 'succeeded');
    assert.throws(() => stripe.authenticate(r.json.id, 'succeed'), { status: 400, code: 'payment_intent_unexpected_state' });
  });

  test('3D Secure: authenticate fail (through the control API) wants a new PaymentMethod', async () => {
    const control = fakeStripeControl(stripe.url);
    const r = await pay('pm_card_threeDSecure2Required');
    const failed = await control.authenticate(r.json.id, 'fail');
    assert.equal(failed.status, 'requires_payment_method');
    assert.equal(failed.payment_method, null);
    assert.equal(failed.last_payment_error.type, 'card_error');
    assert.equal(failed.last_payment_error.code, 'payment_intent_authentication_failure');
    assert.match(failed.last_payment_error.message, /^The provided PaymentMethod has failed authentication/);
    assert.equal(failed.last_payment_error.payment_method.id, 'pm_card_threeDSecure2Required');
    assert.deepEqual(await control.intent(r.json.id), failed);
    await assert.rejects(control.authenticate(r.json.id, 'succeed'), { status: 400, code: 'payment_intent_unexpected_state' });
    await assert.rejects(control.authenticate('pi_nope', 'succeed'), { status: 404 });
    const raw = await fetch(`${stripe.url}/__fake/intents/${r.json.id}/authenticate`, { method: 'POST', body: '{"result":"maybe"}' });
    assert.equal(raw.status, 400);
    assert.equal((await raw.json()).error.type, 'invalid_request_error');
  });

  test('processing: settle succeed and fail; cancel works while requires_action or processing', async () => {
    const a = await pay('pm_card_processing');
    assert.equal(a.json.status, 'processing');
    assert.equal(a.json.amount_received, 0);
    assert.equal(stripe.settle(a.json.id, 'succeed').status, 'succeeded');
    assert.equal(stripe.charges().at(-1).id, a.json.id);
    const b = await pay('pm_card_processing');
    const declined = await fakeStripeControl(stripe.url).settle(b.json.id, 'fail');
    assert.equal(declined.status, 'requires_payment_method');
    assert.equal(declined.last_payment_error.code, 'card_declined');
    assert.equal(declined.last_payment_error.decline_code, 'generic_decline');
    assert.equal((await call('GET', `/v1/charges/${b.json.latest_charge}`)).json.status, 'failed');
    for (const pm of ['pm_card_processing', 'pm_card_threeDSecure2Required']) {
      const c = await pay(pm);
      const canceled = await call('POST', `/v1/payment_intents/${c.json.id}/cancel`, { cancellation_reason: 'abandoned' });
      assert.equal(canceled.status, 200, canceled.text);
      assert.equal(canceled.json.status, 'canceled');
      assert.equal(canceled.json.next_action, null);
    }
  });

  test('dispute: a Dispute on the charge of a succeeded intent; the charge is disputed and not refundable', async () => {
    const r = await pay('pm_card_visa');
    const dispute = stripe.dispute(r.json.id, 'fraudulent');
    assert.match(dispute.id, /^dp_/);
    assert.equal(dispute.object, 'dispute');
    assert.equal(dispute.amount, 1000);
    assert.equal(dispute.charge, r.json.latest_charge);
    assert.equal(dispute.payment_intent, r.json.id);
    assert.equal(dispute.status, 'needs_response');
    assert.equal(dispute.reason, 'fraudulent');
    assert.deepEqual((await call('GET', `/v1/disputes/${dispute.id}`)).json, dispute);
    assert.equal((await call('GET', `/v1/charges/${r.json.latest_charge}`)).json.disputed, true);
    const refund = await call('POST', '/v1/refunds', { payment_intent: r.json.id });
    assert.equal(refund.status, 400);
    assert.equal(refund.json.error.code, 'charge_disputed');
    assert.throws(() => stripe.dispute(r.json.id), { status: 400 });
    const declined = await pay('pm_card_chargeDeclined');
    await assert.rejects(fakeStripeControl(stripe.url).dispute(declined.json.error.payment_intent.id), { status: 400 });
  });
});

describe('search', () => {
  test("metadata['KEY']:'VALUE' finds the intents with that metadata, newest first", async () => {
    const tag = `s-${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await pay('pm_card_visa', { metadata: { search_tag: tag, n: String(i) } })).json.id);
    await pay('pm_card_visa', { metadata: { search_tag: `${tag}-other` } });
    for (const query of [`metadata['search_tag']:'${tag}'`, `metadata["search_tag"]:"${tag}"`]) {
      const r = await call('GET', '/v1/payment_intents/search', { query });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.object, 'search_result');
      assert.equal(r.json.url, '/v1/payment_intents/search');
      assert.equal(r.json.has_more, false);
      assert.equal(r.json.next_page, null);
      assert.deepEqual(r.json.data.map((pi) => pi.id), [...ids].reverse());
    }
    const first = await call('GET', '/v1/payment_intents/search', { query: `metadata['search_tag']:'${tag}'`, limit: 2 });
    assert.deepEqual(first.json.data.map((pi) => pi.id), [ids[2], ids[1]]);
    assert.equal(first.json.has_more, true);
    const next = await call('GET', '/v1/payment_intents/search', { query: `metadata['search_tag']:'${tag}'`, limit: 2, page: first.json.next_page });
    assert.deepEqual(next.json.data.map((pi) => pi.id), [ids[0]]);
    assert.equal(next.json.has_more, false);
  });

  test('any other query is 400 invalid_request_error', async () => {
    for (const query of ["status:'succeeded'", "metadata['a']:'b' AND metadata['c']:'d'", 'foo:"x"', "metadata['a']"]) {
      const r = await call('GET', '/v1/payment_intents/search', { query });
      assert.equal(r.status, 400, `${query}: ${r.text}`);
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.equal(r.json.error.param, 'query');
    }
    const none = await call('GET', '/v1/payment_intents/search');
    assert.equal(none.status, 400);
    assert.equal(none.json.error.code, 'parameter_missing');
  });
});

describe('mode mismatch', () => {
  test('alters the amounts of create and retrieve answers only, replays at answer time', async () => {
    const control = fakeStripeControl(stripe.url);
    const normal = await pay('pm_card_visa', { amount: 2000 }, { idempotencyKey: 'mm-normal' });
    assert.equal(normal.json.amount, 2000);
    await control.setMode('mismatch');
    try {
      const created = await pay('pm_card_visa', { amount: 3000 }, { idempotencyKey: 'mm-during' });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.json.amount, 3001);
      assert.equal(created.json.amount_received, 3001);
      const fetched = await call('GET', `/v1/payment_intents/${created.json.id}`);
      assert.equal(fetched.json.amount, 3001);
      const held = await pay('pm_card_visa', { amount: 500, capture_method: 'manual' });
      assert.equal(held.json.amount, 501);
      assert.equal(held.json.amount_received, 0, 'a zero amount_received stays 0');
      const replay = await pay('pm_card_visa', { amount: 2000 }, { idempotencyKey: 'mm-normal' });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.json.amount, 2001, 'a replay in mismatch is altered too');
      const refund = await call('POST', '/v1/refunds', { payment_intent: created.json.id, amount: 1 });
      assert.equal(refund.json.amount, 1, 'other endpoints are not altered');
      assert.equal(stripe.intent(created.json.id).amount, 3000, 'the intent itself is unchanged');
    } finally {
      await control.setMode('normal');
    }
    const replay = await pay('pm_card_visa', { amount: 3000 }, { idempotencyKey: 'mm-during' });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.json.amount, 3000, 'the saved body was never altered');
    assert.equal(stripe.charges().find((c) => c.amount === 3000 && c.id === replay.json.id).amount, 3000);
  });
});
