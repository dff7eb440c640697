// End-to-end: SIGKILL the workerd process in the middle of a burst of
// reservations, start it again on the same local state, and check that
// every acknowledged reservation survived, the stock invariant holds and
// nothing was counted twice. Five rounds, each on its own worker instance
// (started by scripts/serve-direct.mjs) and its own fresh state.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { serve, stop, workerdOf } from './workers.mjs';

const TOKEN = 'crash-test-admin-token-0123456789';
const ROUNDS = 5;
const CARTS = 150;
const STOCK = 100;
const SKU = 'CRASH-1';

async function call(url, method, route, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(url + route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

async function seed(url) {
  assert.equal((await call(url, 'PUT', '/admin/v1/categories/crash', { name: 'Crash' }, TOKEN)).status, 201);
  const product = {
    id: 'prd_crash1',
    slug: 'crash-test-item',
    name: 'Crash Test Item',
    category: 'crash',
    variants: [{ sku: SKU, name: 'One', prices: { USD: 500 } }],
  };
  assert.equal((await call(url, 'PUT', '/admin/v1/products/prd_crash1', product, TOKEN)).status, 201);
  assert.equal((await call(url, 'PUT', `/admin/v1/inventory/${SKU}`, { on_hand: STOCK }, TOKEN)).status, 200);
}

describe('crash safety of reservations', () => {
  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: SIGKILL workerd mid-burst, restart, nothing lost or doubled`, async (t) => {
      const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-crash-'));
      let server = await serve(state, { ADMIN_TOKENS: `crash:operator:${TOKEN}`, CART_HOLD_TTL_MS: '600000' });
      try {
        await seed(server.url);
        const carts = [];
        for (let i = 0; i < CARTS; i++) carts.push((await call(server.url, 'POST', '/v1/carts')).json);

        // The burst: every cart adds one unit; the kill lands while it runs.
        const acknowledged = [];
        const burst = carts.map(async (c) => {
          try {
            const r = await call(server.url, 'POST', `/v1/carts/${c.id}/lines`, { sku: SKU, quantity: 1 }, c.token);
            if (r.status === 200) acknowledged.push(c);
          } catch {
            // the connection died with workerd: not acknowledged
          }
        });
        // Kill once a share of the burst has been acknowledged (bounded wait).
        const target = 10 * round;
        for (let waited = 0; acknowledged.length < target && waited < 10_000; waited += 2) {
          await new Promise((r) => setTimeout(r, 2));
        }
        const victims = workerdOf(server.child.pid);
        assert.ok(victims.length > 0, 'found the workerd process');
        for (const pid of victims) process.kill(pid, 'SIGKILL');
        await Promise.all(burst);
        await stop(server.child);

        server = await serve(state, { ADMIN_TOKENS: `crash:operator:${TOKEN}`, CART_HOLD_TTL_MS: '600000' });
        const moves = await call(server.url, 'GET', `/admin/v1/inventory/${SKU}/movements?limit=200`, undefined, TOKEN);
        assert.equal(moves.status, 200);
        const { levels, items } = moves.json;
        t.diagnostic(`${acknowledged.length} of ${CARTS} adds acknowledged before the kill; ${levels.reserved} units reserved after restart`);
        // The invariant, and no unit sold by a reservation.
        assert.equal(levels.on_hand, STOCK);
        assert.equal(levels.sold, 0);
        assert.ok(levels.available >= 0);
        assert.equal(levels.available, STOCK - levels.reserved);
        // Every acknowledged reservation survived, in the ledger and in its cart.
        assert.ok(levels.reserved >= acknowledged.length, `${levels.reserved} reserved < ${acknowledged.length} acknowledged`);
        for (const c of acknowledged) {
          const cart = await call(server.url, 'GET', `/v1/carts/${c.id}`, undefined, c.token);
          assert.equal(cart.status, 200);
          assert.equal(cart.json.item_count, 1, `acknowledged cart ${c.id} lost its line`);
        }
        // Nothing counted twice: one hold movement per cart at most, and the
        // holds add up to what is reserved.
        const holds = items.filter((m) => m.kind === 'hold');
        assert.equal(new Set(holds.map((m) => m.cart)).size, holds.length, 'a cart was held twice');
        assert.equal(holds.reduce((n, m) => n + m.reserved_delta, 0), levels.reserved);
        // A retry of every request (same cart, same line) never adds a unit.
        const before = levels.reserved;
        await Promise.all(
          acknowledged.map((c) => call(server.url, 'PATCH', `/v1/carts/${c.id}/lines/${SKU}`, { quantity: 1 }, c.token)),
        );
        const after = await call(server.url, 'GET', `/admin/v1/inventory/${SKU}/movements?limit=1`, undefined, TOKEN);
        assert.equal(after.json.levels.reserved, before);
      } finally {
        await stop(server.child);
        fs.rmSync(state, { recursive: true, force: true });
      }
    });
  }
});
