// Measures workerd's CPU per checkout and per no-op request, read from
// /proc (user + system time of the workerd process) over a fixed number of
// requests and until the process is quiet again (alarms, queued events and
// their deliveries included). Less noisy on a shared machine than
// throughput, for comparing a change before and after: BENCHMARKS.md keeps
// the throughput ratios that count (`npm run bench`).
//   CARTS=1000 CONC=16 NOOPS=5000 node scripts/cpu-per-checkout.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, buildWorker, freePort, log, prepareCheckoutCarts, randomSecret, seedDemoCatalog, setup, startDirectWorker } from './lib.mjs';

setup();
if (!process.env.NO_BUILD) buildWorker();

const CARTS = Number(process.env.CARTS || 1000);
const CONC = Number(process.env.CONC || 16);
const NOOPS = Number(process.env.NOOPS || 5000);
const state = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'edgecart-cpu-'));
const token = randomSecret();
const logFile = path.join(ROOT, '.cache', 'cpu-worker.log');
fs.writeFileSync(logFile, '');
const TICK = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** The workerd processes this script started (descendants of this one). */
function workerdPids() {
  const kids = (pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const out = [];
  const walk = (pid) => {
    for (const k of kids(pid)) {
      try {
        if (fs.readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'workerd') out.push(k);
      } catch {}
      walk(k);
    }
  };
  walk(process.pid);
  return out;
}
/** CPU milliseconds (user + system) of `pids` so far. */
function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * TICK;
}
/** Waits until `pids` used under 2% of a core for 3 s in a row (at most `maxMs`). */
async function quiet(pids, maxMs = 120_000) {
  const t0 = Date.now();
  let calm = 0;
  let last = cpuMs(pids);
  while (Date.now() - t0 < maxMs && calm < 3) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuMs(pids);
    calm = now - last < 20 ? calm + 1 : 0;
    last = now;
  }
}
async function measure(pids, label, count, requests, { wait = true } = {}) {
  if (wait) await quiet(pids);
  const before = cpuMs(pids);
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
  await quiet(pids);
  const used = cpuMs(pids) - before;
  log(`${label}: ${ok}/${count} ok in ${secs.toFixed(2)} s (${(ok / secs).toFixed(1)}/s); workerd CPU ${(used / count).toFixed(2)} ms each`);
  return used / count;
}

const worker = await startDirectWorker({ port: await freePort(), persistTo: state, logFile, assets: false, vars: { ADMIN_TOKENS: `cpu:operator:${token}`, ...JSON.parse(process.env.VARS || '{}') } });
const base = worker.url;
try {
  const pids = workerdPids();
  log(`workerd: ${pids.join(', ')}`);
  await seedDemoCatalog(base, token, { size: 120 });
  const prepared = await prepareCheckoutCarts(base, token, CARTS + 200, 'cpu');
  const all = prepared.carts.map((c) => ({
    url: `${base}/v1/carts/${c.id}/checkout`,
    init: { method: 'POST', headers: { Authorization: `Bearer ${c.token}`, 'Content-Type': 'application/json', 'Idempotency-Key': c.key }, body: c.body },
  }));
  await measure(pids, 'warm-up checkout', 200, all.slice(0, 200));
  const noop = await measure(pids, 'noop', NOOPS, Array.from({ length: NOOPS }, () => ({ url: `${base}/health`, init: {} })));
  const checkout = await measure(pids, 'checkout', CARTS, all.slice(200), { wait: !process.env.NO_QUIET });
  log(`CPU ratio noop/checkout: ${(noop / checkout).toFixed(3)}`);
} finally {
  await worker.stop();
  fs.rmSync(state, { recursive: true, force: true });
}
