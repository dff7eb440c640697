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
