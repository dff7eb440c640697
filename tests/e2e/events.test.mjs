// End-to-end: events other systems can trust. A merchant's endpoint on
// 127.0.0.1 that fails 30% of requests receives the events of 1,000
// orders: every event at least once under a stable webhook-id, every
// signature verified by an independent Standard Webhooks implementation
// (the `standardwebhooks` package, not our code), the p95 from the state
// change to the first delivery attempt recorded. Then the endpoint's
// delivery log, replays, secret rotation (both signatures for a day), a
// 410 disabling the endpoint, and stock events. In a store of its own
// (`events`). The worker's retry schedule is shortened for the test
// (WEBHOOK_RETRY_PERCENT).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { api, assertProblem, sendJson } from './client.mjs';

const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
const STORE = 'events';
const ORDERS = 1_000;
const CONCURRENCY = 25;
const inStore = (p) => `${p}${p.includes('?') ? '&' : '?'}store=${STORE}`;
const admin = (method, p, body) => sendJson(method, inStore(p), body, { token: OPERATOR });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A merchant's endpoint: records every request (headers, raw body, when)
 * and answers 500 to a deterministic 30% of them (by a hash of the
 * webhook-id and how often it was seen), or whatever `answer` says.
 */
async function receiver() {
  const requests = [];
  const seen = new Map();
  let answer = null;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = req.headers['webhook-id'] ?? '';
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      let h = 2166136261;
      for (const ch of `${id}#${n}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
      const status = answer ?? (h % 100 < 30 ? 500 : 204);
      requests.push({ at: Date.now(), headers: { ...req.headers }, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    requests,
    answerWith(status) {
      answer = status;
    },
    stop: () => new Promise((r) => server.close(r)),
  };
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

let sink;
let endpoint;
let sku;

before(async () => {
  const created = await sendJson('PUT', `/admin/v1/stores/${STORE}`, { name: 'Events', default_currency: 'USD', currencies: ['USD'] }, { token: OPERATOR });
  assert.ok([200, 201].includes(created.status), created.text);
  const config = await admin('PUT', '/admin/v1/store', {
    tax: { prices_include_tax: false, rates: [] },
    shipping_methods: [{ id: 'standard', name: 'Standard', rates: { USD: 500 } }],
    payment: { provider: 'test' },
  });
  assert.equal(config.status, 200, config.text);
  sku = (await api.product('prd_00092')).json.variants[0].sku;
  const stock = await sendJson('PUT', `/admin/v1/inventory/${sku}`, { on_hand: ORDERS + 100, reason: 'events tests' }, { token: OPERATOR });
  assert.equal(stock.status, 200, stock.text);
  sink = await receiver();
  const r = await admin('POST', '/admin/v1/webhooks', { url: sink.url, events: ['order.created', 'order.paid', 'order.refunded'], description: 'e2e' });
  assert.equal(r.status, 201, r.text);
  endpoint = r.json;
  assert.match(endpoint.secret, /^whsec_/);
  assert.match(endpoint.id, /^we_[0-9a-f]{24}$/);
});

after(async () => {
  await sink?.stop();
});

/** Places one order in the store; its id. */
async function order(i) {
  const c = (await sendJson('POST', inStore('/v1/carts'))).json;
  const line = await sendJson('POST', inStore(`/v1/carts/${c.id}/lines`), { sku, quantity: 1 }, { token: c.token });
  assert.equal(line.status, 200, line.text);
  const total = (await sendJson('GET', inStore(`/v1/carts/${c.id}?country=US&shipping_method=standard`), undefined, { token: c.token })).json.grand_total;
  const r = await sendJson(
    'POST',
    inStore(`/v1/carts/${c.id}/checkout`),
    {
      email: `buyer${i}@example.com`,
      shipping_address: { name: 'Ana', line1: '1 Pier', city: 'Porto', postal_code: '10001', country: 'US' },
      shipping_method: 'standard',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: total,
    },
    { token: c.token, key: `events-${process.pid}-${i}` },
  );
  assert.equal(r.status, 201, r.text);
  return r.json.order;
}

/** The first request of each webhook-id the sink saw, verified. */
function delivered(verifier) {
  const byId = new Map();
  for (const r of sink.requests) {
    const id = r.headers['webhook-id'];
    const payload = verifier.verify(r.body, r.headers);
    assert.equal(payload.id, id, 'the body names its webhook-id');
    const first = byId.get(id);
    if (first) assert.equal(r.body, first.body, `every delivery of ${id} is the same body`);
    else byId.set(id, { ...r, payload });
  }
  return byId;
}

describe('events: webhooks a merchant can trust', () => {
  test(`${ORDERS} orders against an endpoint that fails 30% of requests: every event delivered, signed, under a stable id`, async (t) => {
    const verifier = new Webhook(endpoint.secret);
    const placed = new Array(ORDERS);
    const started = Date.now();
    await pool([...Array(ORDERS).keys()], CONCURRENCY, async (i) => {
      placed[i] = await order(i);
    });
    t.diagnostic(`${ORDERS} orders in ${Date.now() - started} ms`);
    const want = new Set(placed.flatMap((o) => [`evt_${o.id}_created_0`, `evt_${o.id}_paid_1`]));
    let got;
    for (let i = 0; i < 600; i++) {
      got = delivered(verifier);
      const ok = [...want].filter((id) => got.get(id)?.status === 204 || sink.requests.some((r) => r.headers['webhook-id'] === id && r.status === 204));
      if (ok.length === want.size) break;
      await sleep(250);
    }
    const missing = [...want].filter((id) => !sink.requests.some((r) => r.headers['webhook-id'] === id && r.status === 204));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} events never acknowledged`);
    // Payloads: the order as recorded, and the type its id names.
    for (const o of placed.slice(0, 20)) {
      const paid = got.get(`evt_${o.id}_paid_1`).payload;
      assert.equal(paid.type, 'order.paid');
      assert.equal(paid.store, STORE);
      assert.equal(paid.data.id, o.id);
      assert.equal(paid.data.totals.grand_total, o.totals.grand_total);
    }
    const failures = sink.requests.filter((r) => r.status !== 204).length;
    assert.ok(failures > sink.requests.length * 0.2, `${failures} of ${sink.requests.length} requests failed`);
    // A signature another secret made does not verify.
    assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 9).toString('base64')}`).verify(sink.requests[0].body, sink.requests[0].headers));
    // From the change to the first attempt.
    const lags = [...got.values()].filter((d) => want.has(d.payload.id)).map((d) => d.at - d.payload.occurred_at_ms).sort((a, b) => a - b);
    const p = (q) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))];
    // Recorded, not asserted against a number: locally one workerd thread
    // runs the checkouts and the whole delivery pipeline, and the machine
    // is shared, so the figure is the benchmark's to report
    // (`BENCH_ONLY=webhooks npm run bench`). That every event arrived
    // within the wait above is asserted.
    t.diagnostic(`state change to first delivery attempt: p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${lags.at(-1)} ms (${lags.length} events, ${sink.requests.length} requests, ${failures} failed)`);
    assert.equal(lags.length, want.size, 'every event has a first attempt');
  });

  test('the delivery log shows every attempt, failures included, newest first; pages with a cursor', async () => {
    const page = await admin('GET', `/admin/v1/webhooks/${endpoint.id}/deliveries?limit=50`);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.json.items.length, 50);
    const seqs = page.json.items.map((a) => a.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
    assert.ok(page.json.next_cursor);
    const next = await admin('GET', `/admin/v1/webhooks/${endpoint.id}/deliveries?limit=50&cursor=${page.json.next_cursor}`);
    assert.ok(next.json.items[0].seq < seqs.at(-1));
    const outcomes = new Set([...page.json.items, ...next.json.items].map((a) => a.outcome));
    assert.ok(outcomes.has('delivered'));
    assertProblem(await admin('GET', `/admin/v1/webhooks/${endpoint.id}/deliveries?cursor=nope`), 400, 'invalid_cursor');
    assertProblem(await admin('GET', '/admin/v1/webhooks/we_000000000000000000000000/deliveries'), 404, 'webhook_not_found');
  });

  test('a replay delivers an event again under its id; a rotation signs with both secrets for a day', async () => {
    const any = sink.requests.find((r) => r.status === 204);
    const id = any.headers['webhook-id'];
    const before = sink.requests.length;
    const replay = await admin('POST', `/admin/v1/webhooks/${endpoint.id}/replay`, { event: id });
    assert.equal(replay.status, 202, replay.text);
    assert.equal(replay.json.deliveries, 1);
    for (let i = 0; i < 80 && !sink.requests.slice(before).some((r) => r.headers['webhook-id'] === id); i++) await sleep(250);
    const again = sink.requests.slice(before).find((r) => r.headers['webhook-id'] === id);
    assert.ok(again, 'replayed');
    assert.equal(again.body, any.body);
    assertProblem(await admin('POST', `/admin/v1/webhooks/${endpoint.id}/replay`, { event: 'evt_never' }), 404, 'event_not_found');
    assertProblem(await admin('POST', `/admin/v1/webhooks/${endpoint.id}/replay`, {}), 422, 'validation_failed');
    // Rotation.
    const old = endpoint.secret;
    const rotated = await admin('POST', `/admin/v1/webhooks/${endpoint.id}/rotate`);
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.json.secret, old);
    assert.ok(rotated.json.previous_secret_until_ms > Date.now() + 23 * 3600_000);
    const mark = sink.requests.length;
    sink.answerWith(204);
    const o = await order(ORDERS + 1);
    for (let i = 0; i < 80 && !sink.requests.slice(mark).some((r) => r.headers['webhook-id'] === `evt_${o.id}_paid_1`); i++) await sleep(250);
    const fresh = sink.requests.slice(mark).find((r) => r.headers['webhook-id'] === `evt_${o.id}_paid_1`);
    assert.ok(fresh);
    assert.equal(fresh.headers['webhook-signature'].split(' ').length, 2, 'two signatures');
    new Webhook(rotated.json.secret).verify(fresh.body, fresh.headers);
    new Webhook(old).verify(fresh.body, fresh.headers);
    endpoint = { ...endpoint, secret: rotated.json.secret };
  });

  test('a 410 disables the endpoint; enabling it again resumes deliveries', async () => {
    sink.answerWith(410);
    await order(ORDERS + 2);
    let view;
    for (let i = 0; i < 80; i++) {
      view = (await admin('GET', `/admin/v1/webhooks/${endpoint.id}`)).json;
      if (!view.enabled) break;
      await sleep(250);
    }
    assert.equal(view.enabled, false);
    assert.equal(view.disabled_reason, 'gone');
    assert.equal(view.secret, undefined, 'the secret is not shown again');
    const mark = sink.requests.length;
    await order(ORDERS + 3);
    await sleep(2000);
    assert.equal(sink.requests.length, mark, 'nothing sent to a disabled endpoint');
    sink.answerWith(204);
    const enabled = await admin('PATCH', `/admin/v1/webhooks/${endpoint.id}`, { enabled: true });
    assert.equal(enabled.status, 200, enabled.text);
    assert.equal(enabled.json.enabled, true);
    const o = await order(ORDERS + 4);
    for (let i = 0; i < 80 && !sink.requests.some((r) => r.headers['webhook-id'] === `evt_${o.id}_paid_1`); i++) await sleep(250);
    assert.ok(sink.requests.some((r) => r.headers['webhook-id'] === `evt_${o.id}_paid_1`));
  });

  test('endpoints are checked and managed through the admin API', async () => {
    assertProblem(await admin('POST', '/admin/v1/webhooks', { url: 'http://merchant.example/h' }), 422, 'validation_failed');
    assertProblem(await admin('POST', '/admin/v1/webhooks', { url: 'https://merchant.example/h', events: ['order.lost'] }), 422, 'validation_failed');
    assertProblem(await admin('POST', '/admin/v1/webhooks', { url: 'https://merchant.example/h', secret: 'mine' }), 400, 'unknown_field');
    const list = await admin('GET', '/admin/v1/webhooks');
    assert.equal(list.status, 200);
    assert.ok(list.json.items.some((e) => e.id === endpoint.id && e.secret === undefined));
    const extra = await admin('POST', '/admin/v1/webhooks', { url: 'https://merchant.example/other' });
    assert.equal(extra.status, 201, extra.text);
    const gone = await admin('DELETE', `/admin/v1/webhooks/${extra.json.id}`);
    assert.equal(gone.status, 200, gone.text);
    assertProblem(await admin('GET', `/admin/v1/webhooks/${extra.json.id}`), 404, 'webhook_not_found');
    // Another store's admin sees none of them.
    const other = await sendJson('GET', '/admin/v1/webhooks', undefined, { token: OPERATOR });
    assert.ok(!other.json.items.some((e) => e.id === endpoint.id));
  });

  test('stock events: a SKU falling to the low mark and to 0 reaches the endpoints of every store that takes them', async () => {
    const hook = await admin('POST', '/admin/v1/webhooks', { url: sink.url, events: ['stock.low', 'stock.out_of_stock'] });
    assert.equal(hook.status, 201, hook.text);
    const verifier = new Webhook(hook.json.secret);
    const low = (await api.product('prd_00091')).json.variants.at(-1).sku;
    const set = (n) => sendJson('PUT', `/admin/v1/inventory/${low}`, { on_hand: n, reason: 'events stock' }, { token: OPERATOR });
    assert.equal((await set(20)).status, 200);
    const mark = sink.requests.length;
    assert.equal((await set(4)).status, 200);
    assert.equal((await set(0)).status, 200);
    let kinds = [];
    for (let i = 0; i < 80; i++) {
      kinds = sink.requests
        .slice(mark)
        .filter((r) => {
          try {
            verifier.verify(r.body, r.headers);
            return true;
          } catch {
            return false;
          }
        })
        .map((r) => JSON.parse(r.body))
        .filter((e) => e.data.sku === low)
        .map((e) => e.type);
      if (kinds.includes('stock.out_of_stock') && kinds.includes('stock.low')) break;
      await sleep(250);
    }
    assert.ok(kinds.includes('stock.low') && kinds.includes('stock.out_of_stock'), JSON.stringify(kinds));
  });
});
