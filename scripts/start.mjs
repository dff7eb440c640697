// `npm start`: install what is missing, build, seed the demo catalog and its
// stock counts on first start, and serve the API and demo shop on 127.0.0.1.
// PORT overrides the port (default 8787).
import fs from 'node:fs';
import path from 'node:path';
import { adminFetch, buildWorker, log, randomSecret, ROOT, seedDemoCatalog, setup, startWorker } from './lib.mjs';

/**
 * The local admin token: ADMIN_TOKENS in .dev.vars (ignored by git), created
 * with a random secret on first start. Returns the secret of its first entry.
 */
function localAdminToken() {
  const file = path.join(ROOT, '.dev.vars');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  let line = text.split('\n').find((l) => l.startsWith('ADMIN_TOKENS='));
  if (!line) {
    line = `ADMIN_TOKENS="local:admin:${randomSecret()}"`;
    fs.writeFileSync(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`, { mode: 0o600 });
    log('created .dev.vars with a local admin token');
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
try {
  const report = await seedDemoCatalog(worker.url, token, { stock: true });
  if (report) {
    log(`seeded ${report.created} products (catalog ${report.catalog_version})`);
    log(`set the stock of ${report.stock.skus} SKUs in ${(report.stock.ms / 1000).toFixed(1)} s`);
    // A coupon to try in the demo shop's cart.
    await adminFetch(
      worker.url,
      token,
      'PUT',
      '/admin/v1/promotions/welcome10',
      JSON.stringify({ code: 'WELCOME10', description: '10% off the demo shop', discount: { type: 'percentage', basis_points: 1000 }, target: { type: 'cart' } }),
    );
    log('created the coupon WELCOME10 (10% off)');
  }
} catch (e) {
  await worker.stop();
  throw e;
}
console.log(
  `\nEdgecart is running at ${worker.url}/  (API: ${worker.url}/v1/products, docs: ${worker.url}/openapi.json)\n` +
    `Admin API: ${worker.url}/admin/v1 with the bearer token in .dev.vars (ADMIN_TOKENS).\nPress Ctrl+C to stop.\n`,
);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await worker.stop();
    process.exit(0);
  });
}
worker.child.on('exit', (code) => process.exit(code ?? 0));
