// A flood of refused adds on one sold-out SKU, on a worker of its own
// (fresh state, its own workerd, so its memory is this test's alone): the
// SKU object's memory stays bounded. The object keeps its ledger in memory
// (totals and one entry per live hold) and nothing else: operation ids are
// looked up in storage, and a refused hold is neither remembered nor
// written. So 20,000 refused adds leave the SKU's storage as it was (no
// movement, no operation row) and its ledger as it was (the same levels,
// the one live hold): the object's memory after the flood is what it was
// before. The workerd process's resident memory is measured too and must
// stay within FLOOD_RSS_BOUND of what it was after a warm-up: it counts
// the whole process (V8 grows its heaps under load, 50 carts, the Worker's
// caches), so it catches a leak per request, not a few bytes.
// The rate limits are off here: the flood stands for what gets past them
// (many addresses, many carts); abuse.test.mjs proves the limits.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { call, serve, stop, workerdOf } from './workers.mjs';

const TOKEN = 'flood-test-admin-token-0123456789';
const SKU = 'FLOOD-1';
const FLOOD = 20_000;
const WARM_UP = 10_000;
const CARTS = 50;
const IN_FLIGHT = 16;
/**
 * How much the workerd process may grow over the flood, after the warm-up:
 * measured here at 35 to 160 MiB (V8's heaps growing to their working
 * size); a leak of more than 13 KiB per request fails it.
 */
const FLOOD_RSS_BOUND = 256 * 1024 * 1024;

/** Resident memory of `pids`, in bytes (from /proc). */
function rssOf(pids) {
  let kib = 0;
  for (const pid of pids) {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    kib += m ? Number(m[1]) : 0;
  }
  return kib * 1024;
}

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * `count` adds of one unit of SKU, spread over `carts`, IN_FLIGHT at a
 * time; resolves the answers' statuses and problem codes, counted.
 */
async function flood(url, carts, count) {
  const seen = new Map();
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < count) {
      const c = carts[next++ % carts.length];
      const r = await call(url, 'POST', `/v1/carts/${c.id}/lines`, { sku: SKU, quantity: 1 }, { token: c.token });
      const what = `${r.status} ${r.json?.code ?? ''}`.trim();
      seen.set(what, (seen.get(what) ?? 0) + 1);
    }
  }));
  return Object.fromEntries(seen);
}

describe('a flood of refused adds', () => {
  test(`${FLOOD.toLocaleString('en-US')} refused adds on one SKU leave its object's storage as it was and memory bounded`, async (t) => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-flood-'));
    const server = await serve(state, { ADMIN_TOKENS: `flood:operator:${TOKEN}`, RATE_LIMITS: 'off', CART_HOLD_TTL_MS: '3600000' });
    try {
      const url = server.url;
      assert.equal((await call(url, 'PUT', '/admin/v1/categories/flood', { name: 'Flood' }, { token: TOKEN })).status, 201);
      const product = { id: 'prd_flood1', slug: 'flood-item', name: 'Flood Item', category: 'flood', variants: [{ sku: SKU, name: 'One', prices: { USD: 500 } }] };
      assert.equal((await call(url, 'PUT', '/admin/v1/products/prd_flood1', product, { token: TOKEN })).status, 201);
      assert.equal((await call(url, 'PUT', `/admin/v1/inventory/${SKU}`, { on_hand: 1 }, { token: TOKEN })).status, 200);
      // The one unit is held: every add after it is refused.
      const holder = (await call(url, 'POST', '/v1/carts')).json;
      assert.equal((await call(url, 'POST', `/v1/carts/${holder.id}/lines`, { sku: SKU, quantity: 1 }, { token: holder.token })).status, 200);
      const carts = [];
      for (let i = 0; i < CARTS; i++) carts.push((await call(url, 'POST', '/v1/carts')).json);
      const pids = workerdOf(server.child.pid);
      assert.ok(pids.length > 0, 'found the workerd process');
      const history = async () => (await call(url, 'GET', `/admin/v1/inventory/${SKU}/movements?limit=200`, undefined, { token: TOKEN })).json;
      const before = await history();

      const warm = await flood(url, carts, WARM_UP);
      assert.deepEqual(warm, { '409 out_of_stock': WARM_UP });
      const rss0 = rssOf(pids);
      const t0 = Date.now();
      const answers = await flood(url, carts, FLOOD);
      const seconds = (Date.now() - t0) / 1000;
      const rss1 = rssOf(pids);
      assert.deepEqual(answers, { '409 out_of_stock': FLOOD }, 'every add refused, none failed');
      t.diagnostic(`${FLOOD} refused adds in ${seconds.toFixed(1)} s; workerd resident memory ${mib(rss0)} after the warm-up, ${mib(rss1)} after the flood (${mib(rss1 - rss0)} more; bound ${mib(FLOOD_RSS_BOUND)})`);
      assert.ok(rss1 - rss0 < FLOOD_RSS_BOUND, `workerd grew ${mib(rss1 - rss0)} over the flood`);

      // Nothing written: the same movements, the same levels.
      const after = await history();
      assert.deepEqual(after.items, before.items, 'the flood wrote no movement');
      assert.deepEqual(after.levels, before.levels);
      assert.deepEqual([after.levels.reserved, after.levels.available], [1, 0]);
      // The object still serves shoppers: the unit released, another cart holds it.
      assert.equal((await call(url, 'DELETE', `/v1/carts/${holder.id}/lines/${SKU}`, undefined, { token: holder.token })).status, 200);
      const buyer = (await call(url, 'POST', '/v1/carts')).json;
      assert.equal((await call(url, 'POST', `/v1/carts/${buyer.id}/lines`, { sku: SKU, quantity: 1 }, { token: buyer.token })).status, 200);
    } finally {
      await stop(server.child);
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
