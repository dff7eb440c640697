// `npm run profile:checkout`: samples the Worker's CPU through the V8
// inspector while checkouts run (CARTS carts, CONC at a time; the same
// 3-line carts as the checkout benchmark) and prints the functions with the
// most self time; the whole profile goes to .cache/checkout.cpuprofile (open
// it in Chromium's DevTools). For finding where a checkout's time goes:
// BENCHMARKS.md holds the measurements that count.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, buildWorker, freePort, log, prepareCheckoutCarts, randomSecret, seedDemoCatalog, setup, startDirectWorker } from './lib.mjs';

setup();
buildWorker();

const CARTS = Number(process.env.CARTS || 400);
const CONC = Number(process.env.CONC || 8);
const state = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'edgecart-prof-'));
const token = randomSecret();
const inspectorPort = await freePort();
const logFile = path.join(ROOT, '.cache', 'prof-worker.log');
fs.writeFileSync(logFile, '');
const worker = await startDirectWorker({
  port: await freePort(),
  persistTo: state,
  logFile,
  assets: false,
  vars: { ADMIN_TOKENS: `prof:operator:${token}` },
  inspectorPort,
});
const base = worker.url;
try {
  await seedDemoCatalog(base, token, { size: 120 });
  const prepared = await prepareCheckoutCarts(base, token, CARTS, 'prof');
  const carts = prepared.carts.map((c) => ({
    url: `${base}/v1/carts/${c.id}/checkout`,
    headers: { Authorization: `Bearer ${c.token}`, 'Content-Type': 'application/json', 'Idempotency-Key': c.key },
    body: c.body,
  }));
  log(`${carts.length} carts ready`);

  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  log(`targets: ${targets.map((t) => t.title || t.id).join(', ')}`);
  const target = targets.find((t) => /edgecart|core:user/.test(t.title ?? t.id)) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r) => ws.once('open', r));
  let id = 0;
  const pending = new Map();
  ws.on('message', (m) => {
    const msg = JSON.parse(m);
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  const t0 = performance.now();
  let next = 0;
  let ok = 0;
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next < carts.length) {
      const c = carts[next++];
      const r = await fetch(c.url, { method: 'POST', headers: c.headers, body: c.body });
      await r.text();
      if (r.status === 201) ok++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  // TAIL_MS: keep sampling after the last checkout (the queued events, acknowledgements and alarms it left).
  await new Promise((r) => setTimeout(r, Number(process.env.TAIL_MS || 0)));
  const { result } = await send('Profiler.stop');
  log(`${ok}/${carts.length} checkouts in ${secs.toFixed(2)} s: ${(ok / secs).toFixed(1)}/s`);
  const profile = result.profile;
  fs.writeFileSync(path.join(ROOT, '.cache', 'checkout.cpuprofile'), JSON.stringify(profile));
  const dt = new Map();
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const n = nodes.get(profile.samples[i]);
    dt.set(n.id, (dt.get(n.id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const self = new Map();
  let total = 0;
  for (const [nid, t] of dt) {
    const f = nodes.get(nid).callFrame;
    const k = `${f.functionName || '(anon)'} ${path.basename(f.url || '')}`;
    self.set(k, (self.get(k) ?? 0) + t);
    total += t;
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP || 45));
  for (const [k, t] of top) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  ws.close();
} finally {
  await worker.stop();
  fs.rmSync(state, { recursive: true, force: true });
}
