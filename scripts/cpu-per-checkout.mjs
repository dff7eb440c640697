// Measures workerd's CPU per checkout and per no-op request, read from
// /proc (user + system time of the workerd process) over a fixed number of
// requests and until the process is quiet again (alarms, queued events and
// their deliveries included). Less noisy on a shared machine than
// throughput, for comparing a change before and after: BENCHMARKS.md keeps
// the throughput ratios that count (`npm run bench`).
//   CARTS=1000 CONC=16 NOOPS=5000 node scripts/cpu-per-checkout.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, buildWorker, freePort, log, prepareCheckoutCarts, randomSecret, seedDemoCatalog, setup, startDirectWorker, workerdCpuMs } from './lib.mjs';

setup();
if (!process.env.NO_BUILD) buildWorker();

const CARTS = Number(process.env.CARTS || 1000);
const CONC = Number(process.env.CONC || 16);
const NOOPS = Number(process.env.NOOPS || 5000);
const state = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'edgecart-cpu-'));
const token = randomSecret();
const logFile = path.join(ROOT, '.cache', 'cpu-worker.log');
fs.writeFileSync(logFile, '');
/** Waits until workerd used under 2% of a core for 3 s in a row (at most `maxMs`). */
async function quiet(maxMs = 120_000) {
  const t0 = Date.now();
  let calm = 0;
  let last = workerdCpuMs();
  while (Date.now() - t0 < maxMs && calm < 3) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = workerdCpuMs();
    calm = now - last < 20 ? calm + 1 : 0;
    last = now;
  }
}
async function measure(label, count, requests, { wait = true } = {}) {
  if (wait) await quiet();
  const before = workerdCpuMs();
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  const took = [];
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < requests.length) {
      const r = requests[next++];
      const began = performance.now();
      const res = await fetch(r.url, r.init);
      await res.text();
      took.push([performance.now() - began, began - t0]);
      if (res.ok) ok++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  took.sort((a, b) => a[0] - b[0]);
  const at = (q) => took[Math.min(took.length - 1, Math.floor(q * took.length))][0].toFixed(1);
  const slowest = took.slice(-5).map(([ms, start]) => `${ms.toFixed(0)} ms at ${(start / 1000).toFixed(2)} s`);
  log(`${label}: latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; slowest: ${slowest.join(', ')}`);
  await quiet();
  const used = workerdCpuMs() - before;
  log(`${label}: ${ok}/${count} ok in ${secs.toFixed(2)} s (${(ok / secs).toFixed(1)}/s); workerd CPU ${(used / count).toFixed(2)} ms each`);
  return used / count;
}

const worker = await startDirectWorker({ port: await freePort(), persistTo: state, logFile, assets: false, vars: { ADMIN_TOKENS: `cpu:operator:${token}`, ...JSON.parse(process.env.VARS || '{}') } });
const base = worker.url;
try {
  await seedDemoCatalog(base, token, { size: 120 });
  const prepared = await prepareCheckoutCarts(base, token, CARTS + 200, 'cpu');
  const all = prepared.carts.map((c) => ({
    url: `${base}/v1/carts/${c.id}/checkout`,
    init: { method: 'POST', headers: { Authorization: `Bearer ${c.token}`, 'Content-Type': 'application/json', 'Idempotency-Key': c.key }, body: c.body },
  }));
  await measure('warm-up checkout', 200, all.slice(0, 200));
  const noop = await measure('noop', NOOPS, Array.from({ length: NOOPS }, () => ({ url: `${base}/health`, init: {} })));
  const checkout = await measure('checkout', CARTS, all.slice(200), { wait: !process.env.NO_QUIET });
  log(`CPU ratio noop/checkout: ${(noop / checkout).toFixed(3)}`);
} finally {
  await worker.stop();
  fs.rmSync(state, { recursive: true, force: true });
}
