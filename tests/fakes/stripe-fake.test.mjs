// Self-test of the fake Stripe (tests/fakes/stripe.mjs): its additions to
// the PaymentIntents fake, through its HTTP API as the Worker would call it
// and through its control API, with a webhook receiver of its own.
//
//   node --test tests/fakes/stripe-fake.test.mjs (also a step of `npm test`)
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fakeStripeControl, startFakeStripe } from './stripe.mjs';

const SECRET_KEY = 'sk_test_selftest';
const WEBHOOK_SECRET = 'whsec_selftest';

let stripe;
let receiver;

/**
 * A webhook endpoint on 127.0.0.1: records every delivery {path, headers,
 * body, event} and answers what `respond(delivery)` says (200 unless set).
 */
async function startReceiver() {
  const deliveries = [];
  const r = { deliveries, respond: () => 200 };
  r.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery = { path: req.url, headers: req.headers, body, event: JSON.parse(body) };
      deliveries.push(delivery);
      const status = r.respond(delivery);
      if (status === 'hang') return;
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${r.server.address().port}`;
  r.of = (eventId) => deliveries.filter((d) => d.event.id === eventId);
  r.close = () => {
    r.server.closeAllConnections();
    return new Promise((resolve) => r.server.close(resolve));
  };
  return r;
}

/** Verifies a Stripe-Signature header as Stripe's libraries do: HMAC-SHA256 of "<t>.<body>". */
function signatureVerifies(header, body, secret) {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=')));
  if (!/^\d+$/.test(parts.t ?? '') || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(parts.v1, 'hex'));
}

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
  receiver = await startReceiver();
  stripe = await startFakeStripe({ secretKey: SECRET_KEY, webhook: { url: `${receiver.url}/hooks`, secret: WEBHOOK_SECRET } });
});

after(async () => {
  await stripe?.stop();
  await receiver?.close();
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

/** The events about an intent and its charge, in creation order. */
const eventsOf = (pi) => stripe.events().filter((e) => e.object_id === pi.id || e.object_id === pi.latest_charge);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('events and webhooks', () => {
  test('a payment sends its events to the webhook, signed like Stripe', async () => {
    const r = await pay('pm_card_visa', { metadata: { order_id: 'ord_events' } }, { idempotencyKey: 'evt-pay' });
    assert.equal(r.status, 200, r.text);
    await stripe.waitForDeliveries();
    const events = eventsOf(r.json);
    assert.deepEqual(events.map((e) => e.type), ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded']);
    for (const e of events) {
      const got = receiver.of(e.id);
      assert.equal(got.length, 1, e.type);
      const [d] = got;
      assert.equal(d.path, '/hooks');
      assert.equal(d.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(d.headers['user-agent'], 'Stripe/1.0 (+https://stripe.com/docs/webhooks)');
      assert.ok(signatureVerifies(d.headers['stripe-signature'], d.body, WEBHOOK_SECRET), 'the signature verifies');
      assert.ok(!signatureVerifies(d.headers['stripe-signature'], d.body, 'whsec_other'), 'and only with the secret');
      const t = Number(/t=(\d+)/.exec(d.headers['stripe-signature'])[1]);
      assert.ok(Math.abs(t - Date.now() / 1000) < 60, 't is now');
      assert.equal(d.event.id, e.id);
      assert.equal(d.event.object, 'event');
      assert.equal(d.event.api_version, '2024-06-20');
      assert.equal(d.event.livemode, false);
      assert.equal(d.event.pending_webhooks, 1);
      assert.deepEqual(d.event.request, { id: r.headers.get('request-id'), idempotency_key: 'evt-pay' });
      assert.equal(d.event.type, e.type);
      assert.equal(e.deliveries.length, 1);
      assert.equal(e.deliveries[0].status, 200);
      assert.equal(e.deliveries[0].signature_ok, true);
    }
    const [created, charged, paid] = events.map((e) => receiver.of(e.id)[0].event.data.object);
    assert.equal(created.status, 'requires_payment_method', 'a snapshot as it was then');
    assert.equal(charged.object, 'charge');
    assert.equal(charged.status, 'succeeded');
    assert.equal(paid.status, 'succeeded');
    assert.equal(paid.amount_received, 1000);
    assert.deepEqual(paid.metadata, { order_id: 'ord_events' });
    // The remote control sees the same.
    assert.deepEqual((await fakeStripeControl(stripe.url).events()).filter((e) => events.some((x) => x.id === e.id)), events);
  });

  test('every state change has its event', async () => {
    const declinedAnswer = await pay('pm_card_chargeDeclinedLostCard');
    const declined = declinedAnswer.json.error.payment_intent;
    const secure = (await pay('pm_card_threeDSecure2Required')).json;
    const processing = (await pay('pm_card_processing')).json;
    const canceled = (await pay('pm_card_processing')).json;
    await call('POST', `/v1/payment_intents/${canceled.id}/cancel`);
    const held = (await pay('pm_card_visa', { capture_method: 'manual' })).json;
    await call('POST', `/v1/payment_intents/${held.id}/capture`);
    await fakeStripeControl(stripe.url).authenticate(secure.id, 'succeed');
    stripe.settle(processing.id, 'fail');
    await stripe.waitForDeliveries();
    const types = (pi) => eventsOf(pi).map((e) => e.type);
    assert.deepEqual(types(declined), ['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed']);
    assert.deepEqual(types(secure), ['payment_intent.created', 'payment_intent.requires_action', 'charge.succeeded', 'payment_intent.succeeded']);
    assert.deepEqual(types(processing), ['payment_intent.created', 'charge.pending', 'payment_intent.processing', 'charge.failed', 'payment_intent.payment_failed']);
    assert.deepEqual(types(canceled), ['payment_intent.created', 'charge.pending', 'payment_intent.processing', 'payment_intent.canceled']);
    assert.deepEqual(types(held), ['payment_intent.created', 'charge.succeeded', 'payment_intent.amount_capturable_updated', 'charge.captured', 'payment_intent.succeeded']);
    const failedEvent = eventsOf(declined).at(-1);
    assert.deepEqual(receiver.of(failedEvent.id)[0].event.request, { id: declinedAnswer.headers.get('request-id'), idempotency_key: null });
    assert.equal(receiver.of(failedEvent.id)[0].event.data.object.last_payment_error.decline_code, 'lost_card');
    const authenticated = eventsOf(secure).at(-1);
    assert.deepEqual(receiver.of(authenticated.id)[0].event.request, { id: null, idempotency_key: null }, 'not made by a Stripe request');
    for (const pi of [declined, secure, processing, canceled, held]) {
      for (const e of eventsOf(pi)) assert.equal(receiver.of(e.id).length, 1, `${e.type} delivered once`);
    }
  });

  test('charge.refunded carries the charge after the refund; charge.dispute.created the dispute', async () => {
    const refunded = (await pay('pm_card_visa')).json;
    await call('POST', '/v1/refunds', { payment_intent: refunded.id, amount: 300 }, { idempotencyKey: 'evt-refund' });
    await call('POST', '/v1/refunds', { payment_intent: refunded.id });
    const disputed = (await pay('pm_card_visa')).json;
    const dispute = await fakeStripeControl(stripe.url).dispute(disputed.id, 'product_not_received');
    await stripe.waitForDeliveries();
    const refunds = eventsOf(refunded).filter((e) => e.type === 'charge.refunded').map((e) => receiver.of(e.id)[0].event);
    assert.equal(refunds.length, 2);
    assert.equal(refunds[0].data.object.object, 'charge');
    assert.equal(refunds[0].data.object.id, refunded.latest_charge);
    assert.equal(refunds[0].data.object.amount_refunded, 300);
    assert.equal(refunds[0].data.object.refunded, false);
    assert.equal(refunds[0].request.idempotency_key, 'evt-refund');
    assert.equal(refunds[1].data.object.amount_refunded, 1000);
    assert.equal(refunds[1].data.object.refunded, true);
    const disputeEvent = stripe.events().find((e) => e.type === 'charge.dispute.created' && e.object_id === dispute.id);
    const sent = receiver.of(disputeEvent.id)[0].event;
    assert.deepEqual(sent.data.object, dispute);
    assert.equal(sent.data.object.reason, 'product_not_received');
    assert.equal(sent.data.object.charge, disputed.latest_charge);
    assert.deepEqual(sent.request, { id: null, idempotency_key: null });
  });

  test('a receiver answering 500 twice gets 3 attempts; one always failing gets 5, backing off', async () => {
    receiver.respond = (d) => {
      const order = d.event.data.object.metadata?.order_id;
      if (order === 'ord_dead') return 500;
      if (order === 'ord_flaky' && receiver.of(d.event.id).length <= 2) return 500;
      return 200;
    };
    try {
      const flaky = (await pay('pm_card_visa', { metadata: { order_id: 'ord_flaky' } })).json;
      const dead = (await pay('pm_card_visa', { metadata: { order_id: 'ord_dead' } })).json;
      await stripe.waitForDeliveries();
      for (const e of eventsOf(flaky)) {
        assert.equal(receiver.of(e.id).length, 3, e.type);
        assert.deepEqual(e.deliveries.map((d) => d.status), [500, 500, 200]);
      }
      for (const e of eventsOf(dead)) {
        assert.equal(receiver.of(e.id).length, 5, e.type);
        assert.deepEqual(e.deliveries.map((d) => d.status), [500, 500, 500, 500, 500]);
        const at = e.deliveries.map((d) => Date.parse(d.at));
        const gaps = at.slice(1).map((t, i) => t - at[i]);
        [500, 1000, 2000, 4000].forEach((ms, i) => assert.ok(gaps[i] >= ms - 50 && gaps[i] < ms + 1000, `gap ${i}: ${gaps[i]} ms`));
      }
    } finally {
      receiver.respond = () => 200;
    }
  });

  test('resend: same events and bodies, in reverse, shuffled, and tampered', async () => {
    const r = (await pay('pm_card_visa', { metadata: { order_id: 'ord_resend' } })).json;
    await stripe.waitForDeliveries();
    const ids = eventsOf(r).map((e) => e.id);
    const firstBody = Object.fromEntries(ids.map((id) => [id, receiver.of(id)[0].body]));
    let mark = receiver.deliveries.length;
    const reversed = await stripe.resend({ ids, order: 'reverse' });
    assert.deepEqual(reversed, [...ids].reverse().map((id) => ({ id, status: 200 })));
    let sent = receiver.deliveries.slice(mark);
    assert.deepEqual(sent.map((d) => d.event.id), [...ids].reverse(), 'received in the order sent');
    for (const d of sent) {
      assert.equal(d.body, firstBody[d.event.id], 'the same bytes');
      assert.ok(signatureVerifies(d.headers['stripe-signature'], d.body, WEBHOOK_SECRET));
    }

    const control = fakeStripeControl(stripe.url);
    const shuffled = await control.resend({ ids, order: 'shuffle', times: 3 });
    assert.equal(shuffled.length, 9);
    for (const id of ids) assert.equal(shuffled.filter((x) => x.id === id).length, 3);

    mark = receiver.deliveries.length;
    const tampered = await control.resend({ ids: [ids[0]], tamper: true, times: 2 });
    assert.deepEqual(tampered, [{ id: ids[0], status: 200 }, { id: ids[0], status: 200 }]);
    sent = receiver.deliveries.slice(mark);
    assert.equal(sent.length, 2);
    for (const d of sent) assert.ok(!signatureVerifies(d.headers['stripe-signature'], d.body, WEBHOOK_SECRET), 'a tampered signature does not verify');
    const recorded = stripe.events().find((e) => e.id === ids[0]).deliveries;
    assert.deepEqual(recorded.slice(-2).map((d) => [d.signature_ok, d.resend]), [[false, true], [false, true]]);
    assert.equal(recorded[0].signature_ok, true);

    await assert.rejects(control.resend({ times: 6 }), { status: 400 });
    await assert.rejects(control.resend({ order: 'sideways' }), { status: 400 });
    await assert.rejects(control.resend({ ids: ['evt_nope'] }), { status: 404 });
  });

  test('setWebhook through the control API moves deliveries; {url: null} turns them off', async () => {
    const control = fakeStripeControl(stripe.url);
    const other = await startReceiver();
    try {
      await control.setWebhook({ url: `${other.url}/other`, secret: 'whsec_other' });
      const moved = (await pay('pm_card_visa')).json;
      await control.waitForDeliveries();
      for (const e of eventsOf(moved)) {
        assert.equal(receiver.of(e.id).length, 0);
        const [d] = other.of(e.id);
        assert.equal(d.path, '/other');
        assert.ok(signatureVerifies(d.headers['stripe-signature'], d.body, 'whsec_other'));
      }
      await control.setWebhook({ url: null });
      const quiet = (await pay('pm_card_visa')).json;
      await control.waitForDeliveries();
      for (const e of eventsOf(quiet)) assert.deepEqual(e.deliveries, []);
      await assert.rejects(control.resend(), { status: 400 });
      await assert.rejects(control.setWebhook({ url: `${other.url}/x` }), { status: 400 });
    } finally {
      await control.setWebhook({ url: `${receiver.url}/hooks`, secret: WEBHOOK_SECRET });
      await other.close();
    }
  });

  test('a hanging receiver never delays an answer; stop() cancels deliveries and retries', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const hanging = await startReceiver();
    hanging.respond = () => 'hang';
    const failing = await startReceiver();
    failing.respond = () => 503;
    const a = await startFakeStripe({ secretKey: SECRET_KEY, webhook: { url: `${hanging.url}/h`, secret: 'whsec_a' } });
    const b = await startFakeStripe({ secretKey: SECRET_KEY, webhook: { url: `${failing.url}/f`, secret: 'whsec_b' } });
    try {
      const t0 = Date.now();
      const r = await fetch(`${a.url}/v1/payment_intents`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${SECRET_KEY}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'amount=100&currency=usd&payment_method=pm_card_visa&confirm=true',
      });
      assert.equal(r.status, 200);
      await r.text();
      assert.ok(Date.now() - t0 < 1000, 'answered at once');
      await fetch(`${b.url}/v1/payment_intents`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${SECRET_KEY}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'amount=100&currency=usd&payment_method=pm_card_visa&confirm=true',
      }).then((x) => x.text());
      // Every event has had its first attempt: b's now wait for a retry.
      while (hanging.deliveries.length < 3 || b.events().some((e) => e.deliveries[0]?.status == null)) await sleep(20);
    } finally {
      await a.stop();
      await b.stop();
    }
    await a.waitForDeliveries();
    await b.waitForDeliveries();
    const attempts = failing.deliveries.length;
    assert.equal(attempts, 3);
    await sleep(1200);
    assert.equal(failing.deliveries.length, attempts, 'no retry after stop()');
    assert.ok(b.events().every((e) => e.deliveries.length === 1));
    assert.ok(a.events().every((e) => e.deliveries.length === 1 && e.deliveries[0].status === null), 'the hung attempt was cut');
    await hanging.close();
    await failing.close();
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(timersAfter, timersBefore, 'no timer left running');
  });
});
