// `npm start`: install what is missing, build, seed the demo catalog and its
// stock counts on first start, and serve the API and demo shop on 127.0.0.1
// (with the development member sign-in on: DEV_MEMBER_SIGN_IN).
// PORT overrides the port (default 8787).
//
// The first start seeds on a private worker (workerd straight through
// Miniflare, on a free port of 127.0.0.1 that nothing else is told about),
// then serves the seeded state with `wrangler dev`: the shop's port opens,
// and /health answers there, only once the shop is usable, and the 63
// batch requests of the stock seeding never cross wrangler dev's proxy,
// which drops POSTs whose connection to the Worker breaks and answers them
// 503 "Your worker restarted mid-request" (it never restarted).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  adminFetch,
  buildWorker,
  CACHE,
  freePort,
  generateDemoCatalog,
  log,
  randomSecret,
  readyUrl,
  ROOT,
  seedDemoCatalog,
  seedDemoStock,
  setup,
  startWorker,
} from './lib.mjs';

/**
 * The local operator token: ADMIN_TOKENS in .dev.vars (ignored by git),
 * created with a random secret on first start (a first entry of role
 * `admin`, from before there were operators, becomes an operator). Returns
 * the secret of its first entry.
 */
function localAdminToken() {
  const file = path.join(ROOT, '.dev.vars');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  let line = text.split('\n').find((l) => l.startsWith('ADMIN_TOKENS='));
  if (!line) {
    line = `ADMIN_TOKENS="local:operator:${randomSecret()}"`;
    fs.writeFileSync(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`, { mode: 0o600 });
    log('created .dev.vars with a local operator token');
  } else if (/^ADMIN_TOKENS="?[a-z0-9_-]+:admin:/.test(line)) {
    const upgraded = line.replace(/^(ADMIN_TOKENS="?[a-z0-9_-]+):admin:/, '$1:operator:');
    fs.writeFileSync(file, text.replace(line, upgraded), { mode: 0o600 });
    line = upgraded;
    log('.dev.vars: the local admin token is now an operator token (it writes the shared catalog)');
  }
  const first = line.slice('ADMIN_TOKENS='.length).replace(/^"|"$/g, '').split(',')[0];
  return first.split(':').slice(2).join(':');
}

/** The store whose members sign in locally: the rewards store (below). */
const MEMBER_STORE = 'bank';

/**
 * The rewards store's HS256 member secret: MEMBER_TOKEN_SECRETS in
 * .dev.vars (comma-separated `store:secret`), created with a random secret
 * on first start and kept (an entry is added to a line that lacks one).
 * The development sign-in signs its tokens with it.
 */
function localMemberSecret() {
  const file = path.join(ROOT, '.dev.vars');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const line = text.split('\n').find((l) => l.startsWith('MEMBER_TOKEN_SECRETS='));
  const entries = line ? line.slice('MEMBER_TOKEN_SECRETS='.length).replace(/^"|"$/g, '').split(',').filter(Boolean) : [];
  if (entries.some((e) => e.startsWith(`${MEMBER_STORE}:`))) return;
  const next = `MEMBER_TOKEN_SECRETS="${[...entries, `${MEMBER_STORE}:${randomSecret()}`].join(',')}"`;
  const written = line ? text.replace(line, next) : `${text}${text && !text.endsWith('\n') ? '\n' : ''}${next}\n`;
  fs.writeFileSync(file, written, { mode: 0o600 });
  log(`.dev.vars: a member token secret for the store ${MEMBER_STORE} (MEMBER_TOKEN_SECRETS)`);
}

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  log(`PORT=${process.env.PORT} is not a port number`);
  process.exit(2);
}
const persistTo = path.join(ROOT, '.wrangler', 'state');

setup();
buildWorker();
const token = localAdminToken();
localMemberSecret();
/** Written into the state folder once the demo stock and coupon are set. */
const marker = path.join(persistTo, 'edgecart-demo-shop.json');

/**
 * The demo's stock counts and coupon, once per local state: a marker in the
 * state folder records that they were set, so a start interrupted while
 * counting (or a state seeded before demo stock existed) finishes the job
 * on the next start.
 */
async function seedDemoShop(url, catalogVersion) {
  if (fs.existsSync(marker)) return;
  const files = generateDemoCatalog();
  const counts = JSON.parse(fs.readFileSync(files.stock, 'utf8'));
  log(`setting the demo stock of ${counts.length} SKUs through POST /admin/v1/inventory (once; about three minutes)`);
  const stock = await seedDemoStock(url, token, counts, `demo-stock:${catalogVersion}`);
  log(`set the stock of ${stock.skus} SKUs in ${(stock.ms / 1000).toFixed(1)} s (${stock.retries} batches sent again)`);
  await stockSnapshotPublished(url, files, counts);
  // A coupon to try in the demo shop's cart.
  await adminFetch(
    url,
    token,
    'PUT',
    '/admin/v1/promotions/welcome10',
    JSON.stringify({ code: 'WELCOME10', description: '10% off the demo shop', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' } }),
  );
  log('created the coupon WELCOME10 (10% off)');
  fs.writeFileSync(marker, JSON.stringify({ catalog_version: catalogVersion, seeded_at: new Date().toISOString() }));
}

/**
 * The second demo store, beside the demo shop on the same catalog and
 * stock: a bank's rewards shop with its own name, colours, categories,
 * currency (GBP, which the base catalog has no prices in) and price list
 * (every SKU it sells, at its euro price converted and ending in .99), at
 * bank.localhost (browsers send *.localhost to this machine). Written on
 * every start (both writes are idempotent: a price already so changes
 * nothing).
 */
const BANK_HOST = 'bank.localhost';
const BANK_CATEGORIES = ['coffee-tea', 'kitchen', 'audio'];
async function seedRewardsStore(url) {
  await adminFetch(
    url,
    token,
    'PUT',
    '/admin/v1/stores/bank',
    JSON.stringify({
      name: 'Harbour Bank Rewards',
      hosts: [BANK_HOST],
      default_currency: 'GBP',
      currencies: ['GBP'],
      skin: {
        name: 'Harbour Bank Rewards',
        colours: { brand: '#0b3d91', 'brand-ink': '#ffffff', accent: '#d4a017', bg: '#f3f6fb' },
        hero: 'Your points, spent on things you love',
        footer: 'Harbour Bank Rewards: a demo rewards store on Edgecart. No money moves.',
      },
      selection: { type: 'categories', categories: BANK_CATEGORIES },
    }),
  );
  const prices = [];
  for (const line of fs.readFileSync(generateDemoCatalog().products, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const product = JSON.parse(line);
    if (!BANK_CATEGORIES.includes(product.category)) continue;
    for (const v of product.variants) {
      const eur = v.prices.EUR ?? v.prices.USD;
      prices.push({ sku: v.sku, currency: 'GBP', amount: Math.max(99, Math.round((eur * 0.86) / 100) * 100 - 1) });
    }
  }
  let changed = 0;
  for (let i = 0; i < prices.length; i += 1000) {
    const r = await adminFetch(url, token, 'POST', '/admin/v1/store/prices?store=bank', JSON.stringify({ prices: prices.slice(i, i + 1000) }));
    changed += r.changed;
  }
  if (changed > 0) log(`set ${changed} prices of the rewards store's own (GBP)`);
}

/**
 * The rewards store's points programme (1 point a penny, 10 points earned
 * per pound paid by card, 14 days' return window, a year's life), in its
 * configuration beside what is there (shipping methods without a GBP rate
 * get one, so its carts can check out), and the demo member's 50,000
 * points, granted once (a fixed Idempotency-Key: a restart changes
 * nothing).
 */
const BANK_PROGRAMME = {
  unit: 'points',
  earn_per_unit: 10,
  category_multipliers: {},
  points_per_minor: { GBP: 1 },
  pending_days: 14,
  expiry_days: 365,
};
const GBP_SHIPPING = { standard: { rate: 399, free_above: 4000 }, express: { rate: 1199 } };
const DEMO_MEMBER = 'demo-member';
async function rewardsProgramme(url) {
  const { schema, ...config } = await adminFetch(url, token, 'GET', `/admin/v1/store?store=${MEMBER_STORE}`);
  const shipping_methods = config.shipping_methods.map((m) => {
    const gbp = GBP_SHIPPING[m.id];
    if (!gbp || m.rates.GBP !== undefined) return m;
    const free_above = gbp.free_above === undefined ? m.free_above : { ...m.free_above, GBP: gbp.free_above };
    return { ...m, rates: { ...m.rates, GBP: gbp.rate }, free_above };
  });
  const next = { ...config, shipping_methods, points: { ...BANK_PROGRAMME, ...config.points } };
  if (JSON.stringify(next) !== JSON.stringify(config)) {
    await adminFetch(url, token, 'PUT', `/admin/v1/store?store=${MEMBER_STORE}`, JSON.stringify(next));
    log(`the rewards store's points programme: ${JSON.stringify(next.points)}`);
    // Other isolates' copies of the store catch up within a second.
    await new Promise((r) => setTimeout(r, 1200));
  }
  const granted = await adminFetch(
    url,
    token,
    'POST',
    `/admin/v1/members/${DEMO_MEMBER}/points/grants?store=${MEMBER_STORE}`,
    JSON.stringify({ points: 50_000, reason: 'demo welcome points' }),
    'application/json',
    { 'Idempotency-Key': 'demo-member-welcome' },
  );
  if (!granted.replayed) log(`granted ${DEMO_MEMBER} 50,000 points at the rewards store`);
}

/**
 * Waits (at most a minute) until the listing's in_stock filter counts every
 * demo product that has units: the availability publisher re-reads each
 * SKU whose stock was set, a few hundred at a time, and the shop opens
 * after it has finished rather than while it still opens stock objects.
 */
async function stockSnapshotPublished(url, files, counts) {
  const onHand = new Map(counts.map((c) => [c.sku, c.on_hand]));
  let expected = 0;
  for (const line of fs.readFileSync(files.products, 'utf8').split('\n')) {
    if (line.trim() && JSON.parse(line).variants.some((v) => (onHand.get(v.sku) ?? 0) > 0)) expected++;
  }
  const until = Date.now() + 60_000;
  let total = null;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${url}/v1/products?in_stock=true&limit=1`, { signal: AbortSignal.timeout(10_000) });
      if (r.ok) total = (await r.json()).total;
    } catch {
      // asked again below
    }
    if (total === expected) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(`the listing's stock snapshot counts ${total} products in stock, not yet ${expected}; it catches up while the shop runs`);
}

/** Seeds everything the demo needs on the worker at `url` (each step is skipped when done). */
async function seed(url, { stock }) {
  const report = await seedDemoCatalog(url, token);
  if (report) log(`seeded ${report.created} products (catalog ${report.catalog_version})`);
  if (stock) {
    try {
      await seedDemoShop(url, report?.catalog_version ?? 'existing');
    } catch (e) {
      // The shop runs anyway; the next start tries again.
      log(`the demo stock and coupon could not be set: ${e.message.slice(0, 300)}`);
    }
  }
  try {
    await seedRewardsStore(url);
  } catch (e) {
    log(`the rewards store could not be set: ${e.message.slice(0, 300)}`);
  }
  try {
    await rewardsProgramme(url);
  } catch (e) {
    log(`the rewards store's points programme or the demo member's points could not be set: ${e.message.slice(0, 300)}`);
  }
}

/**
 * The private worker the first start seeds through: scripts/serve-direct.mjs
 * (workerd through Miniflare) on a free port, in a process of its own (the
 * wrangler module it loads installs SIGINT and SIGTERM handlers that exit at
 * once, which here would leave `wrangler dev` running). Returns { url, stop }.
 */
async function startSeeder() {
  const args = [path.join(ROOT, 'scripts', 'serve-direct.mjs'), '--port', String(await freePort()), '--persist-to', persistTo];
  args.push('--log-file', path.join(CACHE, 'seed-worker.log'), '--var', 'DEV_MEMBER_SIGN_IN=on');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', kill);
  };
  try {
    const url = await readyUrl(child, 'the seeding worker', 120_000);
    return { url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Checks that wrangler dev serves the stock the private worker set (both
 * must store the Durable Objects under the same names): the first demo SKU
 * with units has its count.
 */
async function servesSeededStock(url) {
  if (!fs.existsSync(marker)) return;
  const counts = JSON.parse(fs.readFileSync(generateDemoCatalog().stock, 'utf8'));
  const { sku, on_hand } = counts.find((c) => c.on_hand > 0);
  const r = await fetch(`${url}/v1/inventory/${sku}`, { signal: AbortSignal.timeout(30_000) });
  const available = r.ok ? (await r.json()).available : `HTTP ${r.status}`;
  if (available !== on_hand) {
    throw new Error(`wrangler dev does not serve the seeded stock: ${sku} has ${available} available, seeded ${on_hand}`);
  }
}

const firstStart = !fs.existsSync(marker);
if (firstStart) {
  const started = Date.now();
  log(`seeding the demo shop on a private worker first; http://127.0.0.1:${port} opens when it is done (worker log: .cache/seed-worker.log)`);
  const seeder = await startSeeder();
  try {
    await seed(seeder.url, { stock: true });
  } finally {
    await seeder.stop();
  }
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
// The development sign-in (POST /v1/points/dev-token) is for this local
// worker only: wrangler.toml leaves it off.
const worker = await startWorker({ port, persistTo, vars: { DEV_MEMBER_SIGN_IN: 'on' } });
try {
  if (firstStart) await servesSeededStock(worker.url);
  else await seed(worker.url, { stock: false });
} catch (e) {
  await worker.stop();
  throw e;
}
const bankUrl = worker.url.replace('127.0.0.1', BANK_HOST);
console.log(
  `\nEdgecart is running at ${worker.url}/  (API: ${worker.url}/v1/products, docs: ${worker.url}/openapi.json)\n` +
    `Two stores on one catalog and stock: the demo shop at ${worker.url}/ and Harbour Bank Rewards at ${bankUrl}/\n` +
    `(or any store by its id: ${worker.url}/v1/products?store=bank).\n` +
    `Admin API: ${worker.url}/admin/v1 with the bearer token in .dev.vars (ADMIN_TOKENS).\n` +
    `Points: at ${bankUrl}/ press "Sign in as the demo member" (${DEMO_MEMBER}, granted 50,000 points on first start; POST /v1/points/dev-token?store=${MEMBER_STORE}).\n` +
    `Press Ctrl+C to stop.\n`,
);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await worker.stop();
    process.exit(0);
  });
}
worker.child.on('exit', (code) => process.exit(code ?? 0));
