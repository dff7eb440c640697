// Abuse controls, end to end: request rates per client (cart creation,
// coupon attempts, failed admin sign-ins), card testing (declined payments
// block the client, cart and card), and coupon probing (one answer for
// every code that cannot be applied). Each client here names its address
// (`CF-Connecting-IP`, which Cloudflare's edge sets); the limits are
// wrangler.toml's.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { api, assertProblem, sendJson } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const admin = (method, path, body) => sendJson(method, path, body, { token: ADMIN });
const key = () => `k-${Math.random().toString(36).slice(2)}-${Date.now()}`;
const settle = () => new Promise((r) => setTimeout(r, 1200));
const ADDRESS = { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' };

/** A client at its own address: every request it sends names it. */
function client(address) {
  const as = (extra = {}) => ({ ...extra, headers: { ...(extra.headers ?? {}), 'CF-Connecting-IP': address } });
  return {
    address,
    send: (method, path, body, options) => sendJson(method, path, body, as(options)),
  };
}

/** A unique address of a documentation range, per run. */
let seq = Math.floor(Math.random() * 200);
const address = () => `198.51.100.${(seq++ % 250) + 1}`;

let sku;

before(async () => {
  sku = (await api.product('prd_00059')).json.variants[0].sku;
  const r = await admin('PUT', `/admin/v1/inventory/${sku}`, { on_hand: 1000, reason: 'abuse tests' });
  assert.equal(r.status, 200, r.text);
});

/** A cart of `who` holding one unit, and its total for US standard shipping. */
async function cartOf(who) {
  const created = await who.send('POST', '/v1/carts');
  assert.equal(created.status, 201, created.text);
  const c = created.json;
  const line = await who.send('POST', `/v1/carts/${c.id}/lines`, { sku, quantity: 1 }, { token: c.token });
  assert.equal(line.status, 200, line.text);
  const view = await who.send('GET', `/v1/carts/${c.id}?country=US&region=NY&shipping_method=standard`, undefined, { token: c.token });
  return { ...c, total: view.json.grand_total };
}

function checkout(who, c, card) {
  return who.send('POST', `/v1/carts/${c.id}/checkout`, {
    email: 'tester@example.com',
    shipping_address: ADDRESS,
    shipping_method: 'standard',
    payment: { method: 'card', token: card },
    expected_total: c.total,
  }, { token: c.token, key: key() });
}

/** A 429 with a whole number of seconds in Retry-After, at most `most`. */
function assertTooMany(r, code, most) {
  assertProblem(r, 429, code);
  const after = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(after) && after >= 1 && after <= most, `Retry-After ${r.headers.get('retry-after')}`);
  assert.equal(r.headers.get('cache-control'), 'no-store');
}

/** Problem bodies compared without what names the request. */
const bare = (r) => {
  const { request_id: _id, ...rest } = r.json;
  return { status: r.status, ...rest };
};

describe('abuse controls', () => {
  test('card testing: 30 declined checkouts from one client end in 429; another client still buys', async () => {
    const tester = client(address());
    // Six carts (the tester's cart creations stay under their own limit);
    // each attempt a different card, so only the client's count can stop it.
    const carts = [];
    for (let i = 0; i < 6; i++) carts.push(await cartOf(tester));
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await checkout(tester, carts[i % carts.length], `tok_stolen_${i}`));
    const declined = answers.filter((r) => r.status === 402);
    assert.equal(declined.length, 5, 'DECLINE_LIMIT declines, then no more attempts reach the provider');
    for (const r of declined) assert.equal(r.json.code, 'payment_declined');
    assert.deepEqual(answers.slice(0, 5).map((r) => r.status), [402, 402, 402, 402, 402]);
    assertTooMany(answers[5], 'too_many_declines', 3600);
    for (const r of answers.slice(5)) {
      assert.equal(r.status, 429, r.text);
      assert.ok(['too_many_declines', 'rate_limited'].includes(r.json.code), r.text);
    }
    // The blocked client's carts still hold their units: nothing was sold.
    // Another client, with its own cart and a good card, is unaffected.
    const shopper = client(address());
    const c = await cartOf(shopper);
    const bought = await checkout(shopper, c, 'tok_visa');
    assert.equal(bought.status, 201, bought.text);
  });

  test('card testing: one card declined on five carts of five clients is refused on a sixth', async () => {
    const card = `tok_declined_card_${Date.now()}`;
    for (let i = 0; i < 5; i++) {
      const who = client(address());
      const r = await checkout(who, await cartOf(who), card);
      assert.equal(r.status, 402, r.text);
    }
    const sixth = client(address());
    assertTooMany(await checkout(sixth, await cartOf(sixth), card), 'too_many_declines', 3600);
    // The same client with another card buys.
    const c = await cartOf(sixth);
    assert.equal((await checkout(sixth, c, 'tok_visa')).status, 201);
  });

  test('coupons: unknown and inactive codes get one answer, and probing 200 codes is rate-limited', async () => {
    const inactive = await admin('PUT', '/admin/v1/promotions/abuse-sleeper', {
      code: 'SLEEPER', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' }, active: false,
    });
    assert.equal(inactive.status, 201, inactive.text);
    const later = await admin('PUT', '/admin/v1/promotions/abuse-later', {
      code: 'LATER', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' }, starts_at: '2099-01-01T00:00:00Z',
    });
    assert.equal(later.status, 201, later.text);
    await settle();
    const prober = client(address());
    const c = await cartOf(prober);
    const codes = ['NOPE-1', 'SLEEPER', 'NOPE-2', 'LATER'];
    for (let i = codes.length; i < 200; i++) codes.push(`GUESS-${i}`);
    const answers = [];
    for (const code of codes) answers.push(await prober.send('POST', `/v1/carts/${c.id}/coupons`, { code }, { token: c.token }));
    const [unknown1, sleeper, unknown2, notStarted] = answers;
    for (const r of [unknown1, sleeper, unknown2, notStarted]) assertProblem(r, 422, 'validation_failed');
    assert.deepEqual(bare(sleeper), bare(unknown1), 'an inactive code answers as an unknown one');
    assert.deepEqual(bare(notStarted), bare(unknown2), 'a code not started answers as an unknown one');
    assert.equal(sleeper.text.length, unknown1.text.length);
    const limited = answers.filter((r) => r.status === 429);
    // LIMIT_COUPONS is 10 a minute; its window is fixed, so a burst that
    // straddles a window's end gets at most twice that through.
    assert.ok(answers.length - limited.length <= 20, `${answers.length - limited.length} attempts answered`);
    assert.ok(limited.length >= 180);
    assertTooMany(limited[0], 'rate_limited', 60);
    for (const r of answers.filter((x) => x.status !== 429)) {
      assert.deepEqual(bare(r), bare(unknown1), `${r.status} ${r.text}`);
    }
    // Another client's coupon attempts are unaffected.
    const other = client(address());
    const c2 = await cartOf(other);
    assertProblem(await other.send('POST', `/v1/carts/${c2.id}/coupons`, { code: 'NOPE-3' }, { token: c2.token }), 422, 'validation_failed');
  });

  test('hoarding: 50 carts of one client hold at most its budget of a SKU; another client still buys', async () => {
    // A store of its own, whose hold policy allows 10 units per client.
    const store = `hoard${Date.now().toString(36)}`;
    const made = await admin('PUT', `/admin/v1/stores/${store}`, { name: 'Hoard test', default_currency: 'USD', currencies: ['USD'] });
    assert.ok([200, 201].includes(made.status), made.text);
    const { schema: _schema, ...config } = (await admin('GET', `/admin/v1/store?store=${store}`)).json;
    assert.deepEqual(config.holds, { per_client: 99, lifetime_minutes: 60 }, 'the default policy');
    const put = await admin('PUT', `/admin/v1/store?store=${store}`, { ...config, holds: { per_client: 10, lifetime_minutes: 60 } });
    assert.equal(put.status, 200, put.text);
    await settle();
    const limited = (await api.product('prd_00060')).json.variants[0].sku;
    const set = await admin('PUT', `/admin/v1/inventory/${limited}`, { on_hand: 100, reason: 'limited release' });
    assert.equal(set.status, 200, set.text);
    const at = (path) => `${path}${path.includes('?') ? '&' : '?'}store=${store}`;
    // The bot's 50 carts (made wherever), each asked to hold 2 units from the bot's address.
    const carts = [];
    for (let i = 0; i < 50; i++) {
      const c = await sendJson('POST', at('/v1/carts'));
      assert.equal(c.status, 201, c.text);
      carts.push(c.json);
    }
    const bot = client(address());
    const answers = [];
    for (const c of carts) answers.push(await bot.send('POST', at(`/v1/carts/${c.id}/lines`), { sku: limited, quantity: 2 }, { token: c.token }));
    const held = answers.filter((r) => r.status === 200).length * 2;
    assert.equal(held, 10, 'the bot holds exactly its budget');
    for (const r of answers.filter((x) => x.status !== 200)) {
      assertProblem(r, 409, 'hold_limit');
      assert.deepEqual([r.json.sku, r.json.available], [limited, 0]);
    }
    const levels = (await admin('GET', `/admin/v1/inventory/${limited}`)).json;
    assert.equal(levels.reserved, 10);
    assert.equal(levels.available, 90);
    // A shopper at another address holds and buys.
    const shopper = client(address());
    const c = (await shopper.send('POST', at('/v1/carts'))).json;
    assert.equal((await shopper.send('POST', at(`/v1/carts/${c.id}/lines`), { sku: limited, quantity: 3 }, { token: c.token })).status, 200);
    const view = await shopper.send('GET', at(`/v1/carts/${c.id}?country=US&region=NY&shipping_method=standard`), undefined, { token: c.token });
    const bought = await shopper.send('POST', at(`/v1/carts/${c.id}/checkout`), {
      email: 'shopper@example.com', shipping_address: ADDRESS, shipping_method: 'standard',
      payment: { method: 'card', token: 'tok_visa' }, expected_total: view.json.grand_total,
    }, { token: c.token, key: key() });
    assert.equal(bought.status, 201, bought.text);
  });

  test('cart creation is limited per client; other clients are not', async () => {
    const bot = client(address());
    const answers = [];
    // LIMIT_CARTS is 20 a minute; 41 requests cross at most one window end.
    for (let i = 0; i < 41; i++) answers.push(await bot.send('POST', '/v1/carts'));
    const created = answers.filter((r) => r.status === 201).length;
    assert.ok(created >= 20 && created <= 40, `${created} carts created`);
    const refused = answers.find((r) => r.status === 429);
    assertTooMany(refused, 'rate_limited', 60);
    assert.equal((await client(address()).send('POST', '/v1/carts')).status, 201);
  });

  test('failed admin sign-ins are limited per client; a valid token still signs in', async () => {
    const guesser = client(address());
    const answers = [];
    for (let i = 0; i < 21; i++) {
      answers.push(await guesser.send('GET', '/admin/v1/orders', undefined, { token: `guess-${i}-${'x'.repeat(24)}` }));
    }
    assertProblem(answers[0], 401, 'unauthorized');
    const refused = answers.find((r) => r.status === 429);
    assertTooMany(refused, 'rate_limited', 60);
    assert.ok(answers.every((r) => [401, 429].includes(r.status)));
    // The operator behind the same address is not locked out.
    const ok = await guesser.send('GET', '/admin/v1/orders', undefined, { token: ADMIN });
    assert.equal(ok.status, 200, ok.text);
  });
});
