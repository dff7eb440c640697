// `npm start`: install what is missing, build, seed the demo catalog and its
// stock counts on first start, and serve the API and demo shop on 127.0.0.1.
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

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  log(`PORT=${process.env.PORT} is not a port number`);
  process.exit(2);
}
const persistTo = path.join(ROOT, '.wrangler', 'state');

setup();
buildWorker();
const token = localAdminToken();
const worker = await startWorker({ port, persistTo });

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
const bankUrl = worker.url.replace('127.0.0.1', BANK_HOST);
console.log(
  `\nEdgecart is running at ${worker.url}/  (API: ${worker.url}/v1/products, docs: ${worker.url}/openapi.json)\n` +
    `Two stores on one catalog and stock: the demo shop at ${worker.url}/ and Harbour Bank Rewards at ${bankUrl}/\n` +
    `(or any store by its id: ${worker.url}/v1/products?store=bank).\n` +
    `Admin API: ${worker.url}/admin/v1 with the bearer token in .dev.vars (ADMIN_TOKENS).\nPress Ctrl+C to stop.\n`,
);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await worker.stop();
    process.exit(0);
  });
}
worker.child.on('exit', (code) => process.exit(code ?? 0));
