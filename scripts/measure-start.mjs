// Measures a first `npm start` (README, "Carts and stock"): runs
// scripts/start.mjs on PORT (default 8797) and reports, as JSON, when
// /health first answered and when the start banner came, how many answers
// said "restarted mid-request", and the statuses of 400 `POST /v1/carts`
// (4 a second, each from its own CF-Connecting-IP) sent from the moment the
// demo stock starts being set (or /health answers), then of 400 more after
// the banner, and whether sampled SKUs have their demo counts. Then it stops
// the start script (SIGTERM, which stops its wrangler dev).
//
// It needs fresh state: move `.wrangler/state` and `.dev.vars` aside first
// (it refuses to run otherwise). The start's output goes to
// .cache/measure-start.log. Everything is bounded: 20 minutes in all.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CACHE, ROOT } from './lib.mjs';

const port = Number(process.env.PORT ?? 8797);
if (fs.existsSync(path.join(ROOT, '.wrangler', 'state'))) {
  console.error('.wrangler/state exists: move it aside to measure a first start');
  process.exit(2);
}
const url = `http://127.0.0.1:${port}`;
const HARD_MS = 20 * 60_000;
const t0 = Date.now();
const at = () => Number(((Date.now() - t0) / 1000).toFixed(1));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const logFile = fs.createWriteStream(path.join(CACHE, 'measure-start.log'));
const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs')], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port) },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let text = '';
let bannerAt = null;
for (const stream of [child.stdout, child.stderr]) {
  let rest = '';
  stream.on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      logFile.write(`[${at()}] ${line}\n`);
      text += `${line}\n`;
      if (bannerAt === null && line.includes('Edgecart is running')) bannerAt = at();
    }
  });
}
const running = () => child.exitCode === null && Date.now() - t0 < HARD_MS;
const healthy = async () => {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
};

let healthAt = null;
let stockAt = null;
while (running() && healthAt === null && stockAt === null) {
  if (text.includes('setting the demo stock')) stockAt = at();
  else if (await healthy()) healthAt = at();
  else await sleep(250);
}
const watchHealth = (async () => {
  while (running() && healthAt === null) {
    if (await healthy()) healthAt = at();
    else await sleep(250);
  }
})();

/** `count` cart creations, `perSecond` a second, from addresses 10.{net}.x.y. */
async function carts(count, perSecond, net) {
  const pending = [];
  for (let i = 0; i < count && running(); i++) {
    const sent = at();
    const during = bannerAt === null;
    pending.push(
      fetch(`${url}/v1/carts`, {
        method: 'POST',
        headers: { 'CF-Connecting-IP': `10.${net}.${i >> 8}.${i & 255}` },
        signal: AbortSignal.timeout(30_000),
      }).then(
        async (r) => ({ sent, during, status: r.status, body: r.status >= 500 ? (await r.text()).slice(0, 120) : undefined }),
        () => ({ sent, during, status: 'refused or lost' }),
      ),
    );
    await sleep(1000 / perSecond);
  }
  const results = await Promise.all(pending);
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return { sent: results.length, statuses, during_start: results.filter((r) => r.during).length, first_5xx: results.find((r) => r.status >= 500) };
}

const summary = { port };
summary.carts_while_starting = await carts(400, 4, 77);
while (running() && bannerAt === null) await sleep(500);
await watchHealth;
Object.assign(summary, { health_at_s: healthAt, stock_seeding_at_s: stockAt, ready_at_s: bannerAt });
summary.restarted_mid_request = (text.match(/restarted mid-request/g) ?? []).length;
if (bannerAt !== null) {
  summary.carts_after_ready = await carts(400, 8, 78);
  const stock = JSON.parse(fs.readFileSync(path.join(CACHE, 'demo-stock.json'), 'utf8'));
  let same = 0;
  const differ = [];
  for (let k = 0; k < stock.length && running(); k += 41) {
    const r = await fetch(`${url}/v1/inventory/${stock[k].sku}`, { headers: { 'CF-Connecting-IP': `10.79.${(k >> 8) & 255}.${k & 255}` } });
    const available = r.ok ? (await r.json()).available : r.status;
    if (available === stock[k].on_hand) same++;
    else differ.push({ sku: stock[k].sku, seeded: stock[k].on_hand, available });
  }
  const total = async (q) => (await (await fetch(`${url}/v1/products?limit=1${q}`)).json()).total;
  summary.data = { products: await total(''), in_stock: await total('&in_stock=true'), sampled_skus_with_their_count: same, differ: differ.slice(0, 5) };
}
console.log(JSON.stringify(summary, null, 1));
const exited = new Promise((r) => child.once('exit', r));
if (child.exitCode === null) child.kill('SIGTERM');
const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
await exited;
clearTimeout(timer);
logFile.end();
