// `npm start`: install what is missing, build, seed the demo catalog and its
// stock counts on first start, and serve the API and demo shop on 127.0.0.1
// (with the development member sign-in on: DEV_MEMBER_SIGN_IN).
// PORT overrides the port (default 8787).
import fs from 'node:fs';
import path from 'node:path';
import { adminFetch, buildWorker, generateDemoCatalog, log, randomSecret, ROOT, seedDemoCatalog, seedDemoStock, setup, startWorker } from './lib.mjs';

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
// The development sign-in (POST /v1/points/dev-token) is for this local
// worker only: wrangler.toml leaves it off.
const worker = await startWorker({ port, persistTo, vars: { DEV_MEMBER_SIGN_IN: 'on' } });

/**
 * The demo's stock counts and coupon, once per local state: a marker in the
 * state folder records that they were set, so a start interrupted while
 * counting (or a state seeded before demo stock existed) finishes the job
 * on the next start.
 */
async function seedDemoShop(catalogVersion) {
  const marker = path.join(persistTo, 'edgecart-demo-shop.json');
  if (fs.existsSync(marker)) return;
  const counts = JSON.parse(fs.readFileSync(generateDemoCatalog().stock, 'utf8'));
  log(`setting the demo stock of ${counts.length} SKUs through POST /admin/v1/inventory (once; about two minutes)`);
  const stock = await seedDemoStock(worker.url, token, counts, `demo-stock:${catalogVersion}`);
  log(`set the stock of ${stock.skus} SKUs in ${(stock.ms / 1000).toFixed(1)} s`);
  // A coupon to try in the demo shop's cart.
  await adminFetch(
    worker.url,
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
async function seedRewardsStore() {
  await adminFetch(
    worker.url,
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
    const r = await adminFetch(worker.url, token, 'POST', '/admin/v1/store/prices?store=bank', JSON.stringify({ prices: prices.slice(i, i + 1000) }));
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
async function rewardsProgramme() {
  const { schema, ...config } = await adminFetch(worker.url, token, 'GET', `/admin/v1/store?store=${MEMBER_STORE}`);
  const shipping_methods = config.shipping_methods.map((m) => {
    const gbp = GBP_SHIPPING[m.id];
    if (!gbp || m.rates.GBP !== undefined) return m;
    const free_above = gbp.free_above === undefined ? m.free_above : { ...m.free_above, GBP: gbp.free_above };
    return { ...m, rates: { ...m.rates, GBP: gbp.rate }, free_above };
  });
  const next = { ...config, shipping_methods, points: { ...BANK_PROGRAMME, ...config.points } };
  if (JSON.stringify(next) !== JSON.stringify(config)) {
    await adminFetch(worker.url, token, 'PUT', `/admin/v1/store?store=${MEMBER_STORE}`, JSON.stringify(next));
    log(`the rewards store's points programme: ${JSON.stringify(next.points)}`);
    // Other isolates' copies of the store catch up within a second.
    await new Promise((r) => setTimeout(r, 1200));
  }
  const granted = await adminFetch(
    worker.url,
    token,
    'POST',
    `/admin/v1/members/${DEMO_MEMBER}/points/grants?store=${MEMBER_STORE}`,
    JSON.stringify({ points: 50_000, reason: 'demo welcome points' }),
    'application/json',
    { 'Idempotency-Key': 'demo-member-welcome' },
  );
  if (!granted.replayed) log(`granted ${DEMO_MEMBER} 50,000 points at the rewards store`);
}

let report;
try {
  report = await seedDemoCatalog(worker.url, token);
  if (report) log(`seeded ${report.created} products (catalog ${report.catalog_version})`);
} catch (e) {
  await worker.stop();
  throw e;
}
try {
  await seedDemoShop(report?.catalog_version ?? 'existing');
} catch (e) {
  // The shop runs anyway; the next start tries again.
  log(`the demo stock and coupon could not be set: ${e.message.slice(0, 300)}`);
}
try {
  await seedRewardsStore();
} catch (e) {
  log(`the rewards store could not be set: ${e.message.slice(0, 300)}`);
}
try {
  await rewardsProgramme();
} catch (e) {
  log(`the rewards store's points programme or the demo member's points could not be set: ${e.message.slice(0, 300)}`);
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
