// End-to-end: no event is lost across a SIGKILL of workerd. 300 checkouts
// run against a worker of its own whose store has a webhook endpoint (a
// receiver on 127.0.0.1 that fails 30% of requests); workerd is killed
// while they run (local Miniflare keeps the events queue in memory, so the
// kill loses whatever it held), started again on the same state, and every
// checkout retried with its own key until it answers. Then every order
// that exists has its order.created and order.paid delivered at least
// once, each under its stable webhook-id, verified by the standardwebhooks
// package, and the store's order index (fed by the same events) lists
// every order as paid. Needs a built Worker (`node scripts/build.mjs`).
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { call, must, pool, serve, stop, workerdOf } from './workers.mjs';

const TOKEN = 'events-crash-admin-token-0123456789';
const CHECKOUTS = 300;
const CONCURRENCY = 20;
const SKU = 'EVCRASH-1';
/** How long deliveries may take after the restart (unacknowledged events are sent again after 30 s). */
const DELIVERY_DEADLINE_MS = 120_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('events survive a crash', () => {
  test(`SIGKILL workerd during ${CHECKOUTS} checkouts: every order's events are delivered after the restart`, async (t) => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-events-crash-'));
    const requests = [];
    const seen = new Map();
    const sink = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const id = req.headers['webhook-id'] ?? '';
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        let h = 2166136261;
        for (const ch of `${id}#${n}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
        const status = h % 100 < 30 ? 500 : 204;
        requests.push({ headers: { ...req.headers }, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status).end();
      });
    });
    await new Promise((r) => sink.listen(0, '127.0.0.1', r));
    const vars = { ADMIN_TOKENS: `crash:operator:${TOKEN}`, WEBHOOK_RETRY_PERCENT: '1' };
    let server = await serve(state, vars);
    try {
      await must(201, server.url, 'PUT', '/admin/v1/categories/events-crash', { name: 'Events crash' }, { token: TOKEN });
      await must(201, server.url, 'PUT', '/admin/v1/products/prd_evcrash', {
        id: 'prd_evcrash', slug: 'events-crash', name: 'Events Crash', category: 'events-crash',
        variants: [{ sku: SKU, name: 'One', prices: { USD: 1000 } }],
      }, { token: TOKEN });
      await must(200, server.url, 'PUT', `/admin/v1/inventory/${SKU}`, { on_hand: 10_000 }, { token: TOKEN });
      const hook = await must(201, server.url, 'POST', '/admin/v1/webhooks', { url: `http://127.0.0.1:${sink.address().port}/h`, events: ['order.created', 'order.paid'] }, { token: TOKEN });
      const verifier = new Webhook(hook.secret);
      // Carts first, then the burst of checkouts with the kill in it.
      const carts = [];
      await pool([...Array(CHECKOUTS).keys()], CONCURRENCY, async (i) => {
        const c = await must(201, server.url, 'POST', '/v1/carts');
        await must(200, server.url, 'POST', `/v1/carts/${c.id}/lines`, { sku: SKU, quantity: 1 }, { token: c.token });
        const total = (await must(200, server.url, 'GET', `/v1/carts/${c.id}?country=US&shipping_method=standard`, undefined, { token: c.token })).grand_total;
        carts[i] = { ...c, total, key: `evcrash-${i}` };
      });
      const body = (c) => ({
        email: 'crash@example.com',
        shipping_address: { name: 'A', line1: '1 St', city: 'X', postal_code: '10001', country: 'US' },
        shipping_method: 'standard',
        payment: { method: 'card', token: 'tok_visa' },
        expected_total: c.total,
      });
      const killAt = randomInt(Math.floor(CHECKOUTS * 0.3), Math.floor(CHECKOUTS * 0.7));
      let sent = 0;
      let killed = false;
      const answers = new Map();
      await pool(carts, CONCURRENCY, async (c) => {
        sent++;
        if (sent === killAt && !killed) {
          killed = true;
          for (const pid of workerdOf(server.child.pid)) process.kill(pid, 'SIGKILL');
        }
        try {
          const r = await call(server.url, 'POST', `/v1/carts/${c.id}/checkout`, body(c), { token: c.token, key: c.key });
          if (r.status === 201) answers.set(c.key, r.json.order.id);
        } catch {
          // cut off by the kill
        }
      });
      await stop(server.child);
      server = await serve(state, vars);
      // Every checkout again with its own key until it answers.
      const deadline = Date.now() + 90_000;
      for (const c of carts) {
        while (!answers.has(c.key) && Date.now() < deadline) {
          const r = await call(server.url, 'POST', `/v1/carts/${c.id}/checkout`, body(c), { token: c.token, key: c.key });
          if (r.status === 201) answers.set(c.key, r.json.order.id);
          else if (r.status === 409 || r.status === 503) await sleep(1000);
          else break;
        }
      }
      const orders = new Set(answers.values());
      t.diagnostic(`kill after ${killAt} checkouts sent; ${orders.size} orders in all`);
      assert.equal(orders.size, CHECKOUTS, 'every checkout placed its order (test provider, ample stock)');
      const want = [...orders].flatMap((o) => [`evt_${o}_created_0`, `evt_${o}_paid_1`]);
      const ok = () => new Set(requests.filter((r) => r.status === 204).map((r) => r.headers['webhook-id']));
      const until = Date.now() + DELIVERY_DEADLINE_MS;
      while (want.some((id) => !ok().has(id)) && Date.now() < until) await sleep(500);
      const missing = want.filter((id) => !ok().has(id));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${want.length} events not delivered`);
      for (const r of requests) {
        const payload = verifier.verify(r.body, r.headers);
        assert.equal(payload.id, r.headers['webhook-id']);
      }
      t.diagnostic(`${requests.length} requests for ${want.length} events`);
      // The store's order index is fed by the same events: it lists every
      // order, paid, however the kill fell.
      const indexed = async () => {
        const listed = new Map();
        let cursor;
        for (let i = 0; i < 20; i++) {
          const page = await must(200, server.url, 'GET', `/admin/v1/orders?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, { token: TOKEN });
          for (const o of page.items) listed.set(o.id, o.status);
          cursor = page.next_cursor;
          if (!cursor) break;
        }
        return listed;
      };
      let listed = await indexed();
      while ([...orders].some((o) => listed.get(o) !== 'paid') && Date.now() < until) {
        await sleep(500);
        listed = await indexed();
      }
      const unlisted = [...orders].filter((o) => listed.get(o) !== 'paid');
      assert.deepEqual(unlisted.slice(0, 5), [], `${unlisted.length} of ${orders.size} orders not in the index as paid`);
    } finally {
      await stop(server.child);
      await new Promise((r) => sink.close(r));
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
