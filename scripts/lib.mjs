// Shared helpers for the project's scripts: running commands, installing
// the pinned toolchain into ignored project folders, building the Worker,
// seeding local KV and starting/stopping `wrangler dev` on 127.0.0.1.
// Only Node built-ins are imported here: this runs before `npm install`.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// Every request a script sends with fetch comes from a client address of
// its own (see the module): the Worker limits rates per client.
import './client-addresses.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS = path.join(ROOT, '.tools');
export const CACHE = path.join(ROOT, '.cache');
const BIN = path.join(ROOT, 'node_modules', '.bin');

export const WORKER_BUILD_VERSION = '0.8.7';

/** Environment for every wrangler/workerd run: offline, no telemetry. */
export function offlineEnv(extra = {}) {
  return {
    ...process.env,
    PATH: `${path.join(TOOLS, 'bin')}${path.delimiter}${BIN}${path.delimiter}${process.env.PATH}`,
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_HIDE_BANNER: 'true',
    NO_UPDATE_NOTIFIER: '1',
    ...extra,
  };
}

export function log(msg) {
  process.stderr.write(`[edgecart] ${msg}\n`);
}

/** npm packages, reinstalled only when package.json or the lockfile changed. */
function installNpmPackages() {
  const lockHash = fileHash([path.join(ROOT, 'package.json'), path.join(ROOT, 'package-lock.json')]);
  const stamp = path.join(CACHE, 'npm-installed');
  const installed = fs.existsSync(path.join(ROOT, 'node_modules', '.package-lock.json'));
  if (!installed || !fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== lockHash) {
    log('installing npm packages');
    run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
    fs.writeFileSync(stamp, lockHash);
  }
}

/** Runs a command to completion, inheriting stdio; throws on failure. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: offlineEnv(), ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  return r;
}

/**
 * Runs a command without blocking this process's event loop (needed while
 * this process hosts a Miniflare worker, whose output it must keep reading).
 * Resolves to the exit code.
 */
export function runAsync(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit', env: offlineEnv(), ...opts });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Runs a command and returns its trimmed stdout, or null if it fails. */
export function output(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: offlineEnv(), ...opts });
  return r.status === 0 ? r.stdout.trim() : null;
}

function fileHash(files) {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(path.relative(ROOT, f));
    h.update('\0');
    h.update(fs.existsSync(f) ? fs.readFileSync(f) : Buffer.alloc(0));
    h.update('\0');
  }
  return h.digest('hex');
}

function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

/** The wasm-bindgen version Cargo.lock pins (the CLI must match exactly). */
export function lockedWasmBindgenVersion() {
  const lock = fs.readFileSync(path.join(ROOT, 'Cargo.lock'), 'utf8');
  const m = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) throw new Error('Cargo.lock does not pin wasm-bindgen');
  return m[1];
}

function cargoInstall(crate, version, binary, versionPattern, locked) {
  const exe = path.join(TOOLS, 'bin', binary);
  const have = fs.existsSync(exe) ? output(exe, ['--version']) : null;
  if (have && versionPattern.test(have)) return;
  log(`installing ${crate} ${version} into .tools (one time, a few minutes)`);
  const args = ['install', '--root', TOOLS, crate, '--version', version];
  if (locked) args.push('--locked');
  run('cargo', args);
}

/**
 * Installs what the project needs and is missing: the wasm32 target, npm
 * packages, worker-build and the wasm-bindgen CLI (into .tools/), and, on
 * request, Debian packages: Chromium for browser tests, wrk for benchmarks. Skips everything already there.
 */
export function setup({ bench = false, browser = false, npm = true } = {}) {
  fs.mkdirSync(CACHE, { recursive: true });
  if (!output('rustup', ['--version'])) throw new Error('rustup is required (https://rustup.rs)');
  const targets = output('rustup', ['target', 'list', '--installed']) ?? '';
  if (!targets.split('\n').includes('wasm32-unknown-unknown')) {
    run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
  }
  const components = output('rustup', ['component', 'list', '--installed']) ?? '';
  for (const c of ['rustfmt', 'clippy']) {
    if (!components.split('\n').some((l) => l.startsWith(c))) run('rustup', ['component', 'add', c]);
  }

  if (npm) installNpmPackages();

  cargoInstall('worker-build', WORKER_BUILD_VERSION, 'worker-build', new RegExp(`\\b${WORKER_BUILD_VERSION.replaceAll('.', '\\.')}\\b`), true);
  const wb = lockedWasmBindgenVersion();
  // wasm-bindgen-cli's own lockfile pins crates the registry mirror lacks, so no --locked.
  cargoInstall('wasm-bindgen-cli', wb, 'wasm-bindgen', new RegExp(`wasm-bindgen ${wb.replaceAll('.', '\\.')}\\b`), false);

  // Debian's Chromium for the demo shop's browser tests (and its budget
  // benchmark); wrk for the API benchmarks.
  const packages = [];
  if ((browser || bench) && !fs.existsSync(CHROMIUM)) packages.push('chromium');
  if (bench && !output('which', ['wrk'])) packages.push('wrk');
  if (packages.length) aptInstall(packages);
}

/** Debian's Chromium, as the browser tests launch it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Installs Debian packages (as root, or through sudo). */
function aptInstall(packages) {
  log(`installing ${packages.join(', ')} from Debian packages (one time)`);
  const asRoot = !process.getuid || process.getuid() === 0;
  const env = offlineEnv({ DEBIAN_FRONTEND: 'noninteractive' });
  const apt = (args) => (asRoot ? run('apt-get', args, { env }) : run('sudo', ['apt-get', ...args], { env }));
  apt(['update', '-qq']);
  apt(['install', '-y', '-qq', ...packages]);
}

const BUILD_INPUTS = () => [
  ...['Cargo.toml', 'Cargo.lock', 'rust-toolchain.toml', 'domain/Cargo.toml', 'durable-objects/Cargo.toml'].map((f) =>
    path.join(ROOT, f),
  ),
  ...listFiles(path.join(ROOT, 'src')),
  ...listFiles(path.join(ROOT, 'domain', 'src')),
  ...listFiles(path.join(ROOT, 'durable-objects', 'src')),
];

/** Builds the Worker with worker-build unless its inputs are unchanged. */
export function buildWorker() {
  const hash = fileHash(BUILD_INPUTS());
  const stamp = path.join(ROOT, 'build', '.inputs-hash');
  const shim = path.join(ROOT, 'build', 'worker', 'shim.mjs');
  if (fs.existsSync(shim) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) {
    log('worker build is up to date');
    return;
  }
  log('building the worker (release, wasm32)');
  run(path.join(TOOLS, 'bin', 'worker-build'), ['--release'], {
    env: offlineEnv({
      WASM_BINDGEN_BIN: path.join(TOOLS, 'bin', 'wasm-bindgen'),
      ESBUILD_BIN: path.join(BIN, 'esbuild'),
      WASM_OPT_BIN: path.join(BIN, 'wasm-opt'),
    }),
  });
  fs.writeFileSync(stamp, hash);
}

/**
 * Writes the demo catalog (products NDJSON, categories JSON) and its stock
 * counts (JSON, `[{sku, on_hand}]`) under .cache/; returns the paths.
 */
export function generateDemoCatalog({ size } = {}) {
  const products = path.join(CACHE, `demo-products${size ? `-${size}` : ''}.ndjson`);
  const categories = path.join(CACHE, 'demo-categories.json');
  const stock = path.join(CACHE, `demo-stock${size ? `-${size}` : ''}.json`);
  const args = ['run', '--quiet', '--release', '-p', 'edgecart-tools', '--', 'demo', '--products', products, '--categories', categories, '--stock', stock];
  if (size) args.push('--size', String(size));
  if (output('cargo', args, { stdio: ['ignore', 'pipe', 'inherit'] }) === null) {
    throw new Error('generating the demo catalog failed');
  }
  return { products, categories, stock };
}

/**
 * Prepares `count` carts for checkout on the worker at `base`: 30 SKUs of
 * the live catalog without a per-order limit get a huge on hand, and each
 * cart gets 3 lines over them (1 unit each), a US address and standard
 * shipping, priced as the shopper would see it. Returns the SKU count and,
 * per cart, its id, token, checkout body and an Idempotency-Key (and the
 * SKUs, `skuList`). With
 * `coupon`, every other cart (the even ones) redeems that code.
 */
export async function prepareCheckoutCarts(base, adminToken, count, keyPrefix = 'bench', { coupon } = {}) {
  const list = await (await fetch(`${base}/v1/products?limit=100&sort=newest`)).json();
  const skus = [];
  for (const item of list.items) {
    const p = await (await fetch(`${base}/v1/products/${item.id}`)).json();
    if (!p.max_per_order) skus.push(p.variants[0].sku);
    if (skus.length === 30) break;
  }
  for (const sku of skus) {
    await adminFetch(base, adminToken, 'PUT', `/admin/v1/inventory/${sku}`, JSON.stringify({ on_hand: 1_000_000_000, reason: keyPrefix }));
  }
  const address = { name: 'Bench Shopper', line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US' };
  const make = async (i) => {
    const c = await (await fetch(`${base}/v1/carts`, { method: 'POST' })).json();
    const auth = { Authorization: `Bearer ${c.token}`, 'Content-Type': 'application/json' };
    for (let l = 0; l < 3; l++) {
      const sku = skus[(i * 3 + l) % skus.length];
      const r = await fetch(`${base}/v1/carts/${c.id}/lines`, { method: 'POST', headers: auth, body: JSON.stringify({ sku, quantity: 1 }) });
      if (r.status !== 200) throw new Error(`adding ${sku}: ${r.status} ${await r.text()}`);
    }
    if (coupon && i % 2 === 0) {
      const r = await fetch(`${base}/v1/carts/${c.id}/coupons`, { method: 'POST', headers: auth, body: JSON.stringify({ code: coupon }) });
      if (r.status !== 200) throw new Error(`applying ${coupon}: ${r.status} ${await r.text()}`);
    }
    const view = await (await fetch(`${base}/v1/carts/${c.id}?country=US&shipping_method=standard`, { headers: auth })).json();
    const body = JSON.stringify({
      email: `${keyPrefix}${i}@example.com`,
      shipping_address: address,
      shipping_method: 'standard',
      payment: { method: 'card', token: 'tok_visa' },
      expected_total: view.grand_total,
    });
    return { id: c.id, token: c.token, body, key: `${keyPrefix}-${i}-${c.id}` };
  };
  const carts = [];
  for (let i = 0; i < count; i += 25) {
    carts.push(...(await Promise.all(Array.from({ length: Math.min(25, count - i) }, (_, j) => make(i + j)))));
  }
  return { skus: skus.length, skuList: skus, carts };
}

/**
 * A JWT signed HS256 with `secret`: how an operator's site signs its
 * members' tokens (`claims`: `sub` the member, `aud` the store, `exp`).
 */
export function hs256(secret, claims, header = { alg: 'HS256', typ: 'JWT' }) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const data = `${b64(header)}.${b64(claims)}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}

/** A random admin token secret. */
export function randomSecret() {
  return randomBytes(24).toString('hex');
}

/**
 * Calls the admin API; throws with the problem's detail on failure. Only
 * for idempotent calls (PUTs, imports, stock writes with an Idempotency-Key
 * in `headers`): a dropped connection is retried. Each call has a
 * connection of its own (`Connection: close`): workerd closes a kept-alive
 * connection after a long request (a stock batch of 200 new objects takes
 * seconds) or after 5 s idle, and a pooled one reused at that moment fails
 * with ECONNRESET or "other side closed".
 */
export async function adminFetch(url, token, method, route, body, contentType = 'application/json', headers = {}) {
  for (let attempt = 1; ; attempt++) {
    let r;
    try {
      r = await fetch(`${url}${route}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType, Connection: 'close', ...headers },
        body,
        signal: AbortSignal.timeout(600_000),
      });
    } catch (e) {
      if (attempt >= 3) throw e;
      log(`${method} ${route}: ${e.cause?.message ?? e.message}; retrying`);
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${route} answered ${r.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text);
  }
}

/** Items per `POST /admin/v1/inventory` request (the route's maximum), and requests in flight. */
const STOCK_BATCH = 200;
const STOCK_BATCHES_IN_FLIGHT = 2;
/**
 * At most STOCK_OPEN_BUDGET SKUs are sent within any STOCK_OPEN_WINDOW_MS:
 * each opens its SQLite-backed stock object, which local workerd keeps open
 * until it has been idle about 10 s, and past about 2,400 open objects (its
 * process-wide SQLite memory limit) it refuses new ones with SQLITE_NOMEM,
 * whoever asks (a shopper's cart too). Half of that, counted over the idle
 * time plus a batch's own time, leaves the rest to everything else.
 */
const STOCK_OPEN_BUDGET = 1200;
const STOCK_OPEN_WINDOW_MS = 15_000;
/** Attempts per batch while items fail with `storage_unavailable` (or it is lost), and the first pause between them. */
const STOCK_ATTEMPTS = 12;
const STOCK_RETRY_MS = 1000;

/**
 * Sets the demo stock counts (`[{sku, on_hand}]`) through the admin API's
 * batch route: batches of 200, a few in flight at once, each with its own
 * Idempotency-Key (`{keyPrefix}:{batch number}`), so a retried batch
 * applies nothing twice, and paced so that the stock objects it opens stay
 * well under local workerd's limit (`openBudget` SKUs per `openWindowMs`).
 * Items that fail with `storage_unavailable` are sent
 * again under the same key after a pause (local workerd refuses new SQLite
 * objects while too many are open, until idle ones are evicted), and so is
 * a whole batch answered 5xx or lost; an item refused otherwise, or a 4xx,
 * throws. Returns { skus, ms, retries } (`retries`: batches sent again).
 */
export async function seedDemoStock(
  url,
  token,
  counts,
  keyPrefix,
  { inFlight = STOCK_BATCHES_IN_FLIGHT, openBudget = STOCK_OPEN_BUDGET, openWindowMs = STOCK_OPEN_WINDOW_MS } = {},
) {
  const started = Date.now();
  const batches = [];
  for (let i = 0; i < counts.length; i += STOCK_BATCH) batches.push(counts.slice(i, i + STOCK_BATCH));
  let next = 0;
  let retries = 0;
  let pausedUntil = 0;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // When each request was sent and how many SKUs it named (the window's).
  const opened = [];
  const admit = async (n) => {
    for (;;) {
      const now = Date.now();
      while (opened.length > 0 && opened[0].at <= now - openWindowMs) opened.shift();
      const open = opened.reduce((sum, o) => sum + o.n, 0);
      if (open + n <= openBudget || opened.length === 0) {
        opened.push({ at: now, n });
        return;
      }
      await sleep(opened[0].at + openWindowMs - now);
    }
  };
  const send = async (n) => {
    let items = batches[n].map(({ sku, on_hand }) => ({ sku, on_hand, reason: 'demo stock' }));
    for (let attempt = 1; ; attempt++) {
      await sleep(Math.max(0, pausedUntil - Date.now()));
      await admit(items.length);
      const pause = () => {
        retries++;
        // Every batch in flight waits, so that idle stock objects can be evicted.
        pausedUntil = Math.max(pausedUntil, Date.now() + Math.min(STOCK_RETRY_MS * attempt, 8000));
      };
      let report;
      try {
        report = await adminFetch(url, token, 'POST', '/admin/v1/inventory', JSON.stringify({ items }), 'application/json', {
          'Idempotency-Key': `${keyPrefix}:${n}`,
        });
      } catch (e) {
        // A refusal (4xx) is final; a lost or unavailable worker is retried under the same key.
        if (/answered 4\d\d/.test(e.message) || attempt >= STOCK_ATTEMPTS) throw e;
        log(`stock batch ${n}: ${e.message.slice(0, 120)}; retrying`);
        pause();
        continue;
      }
      const failed = report.items.filter((i) => i.status !== 'ok');
      // Units already held or sold (an earlier start's shoppers) keep their
      // count: below_committed is reported and skipped; anything else is final.
      const held = failed.filter((i) => i.code === 'below_committed');
      if (held.length > 0) log(`stock batch ${n}: ${held.length} SKUs keep their count (units held or sold)`);
      const fatal = failed.filter((i) => i.code !== 'storage_unavailable' && i.code !== 'below_committed');
      if (fatal.length > 0) throw new Error(`setting the demo stock failed for ${fatal.length} SKUs: ${JSON.stringify(fatal.slice(0, 3))}`);
      failed.splice(0, failed.length, ...failed.filter((i) => i.code === 'storage_unavailable'));
      if (failed.length === 0) return;
      if (attempt >= STOCK_ATTEMPTS) throw new Error(`stock objects stayed unavailable for ${failed.length} SKUs, e.g. ${failed[0].sku}`);
      pause();
      const retry = new Set(failed.map((i) => i.sku));
      items = items.filter((i) => retry.has(i.sku));
    }
  };
  const worker = async () => {
    while (next < batches.length) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, batches.length) }, worker));
  return { skus: counts.length, ms: Date.now() - started, retries };
}

/**
 * Seeds the demo catalog through the admin API (categories, then one NDJSON
 * import), unless the shop already has products. Demo SKUs start uncounted
 * (what the e2e tests expect); `npm start` then sets their counts with
 * seedDemoStock. Returns the import report, or null when nothing was done.
 */
export async function seedDemoCatalog(url, token, opts = {}) {
  const head = await (await fetch(`${url}/v1/products?limit=1`)).json();
  if (head.total > 0 && !opts.force) return null;
  const files = generateDemoCatalog(opts);
  for (const c of JSON.parse(fs.readFileSync(files.categories, 'utf8'))) {
    await adminFetch(url, token, 'PUT', `/admin/v1/categories/${c.slug}`, JSON.stringify({ name: c.name }));
  }
  log('importing the demo catalog through POST /admin/v1/catalog/import');
  const report = await adminFetch(url, token, 'POST', '/admin/v1/catalog/import', fs.readFileSync(files.products), 'application/x-ndjson');
  if (report.rejected > 0) throw new Error(`the demo import rejected ${report.rejected} lines: ${JSON.stringify(report.errors.slice(0, 3))}`);
  return report;
}

/**
 * The URL a scripts/serve-direct.mjs `child` prints once it answers
 * (`READY <url>` on its stdout); rejects when it exits first or `timeoutMs`
 * pass (`what` names it in the error).
 */
export function readyUrl(child, what, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/READY (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}`));
    });
  });
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, child, deadlineMs) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early with ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the worker did not answer ${url}/health within ${deadlineMs / 1000}s`);
}

/**
 * What every local worker runs with, unless `vars` say otherwise: the test
 * payment provider pays (`TEST_PAYMENTS`; wrangler.toml leaves it off, so a
 * deployment refuses it).
 */
const LOCAL_VARS = { TEST_PAYMENTS: 'on' };

/**
 * Starts `wrangler dev` on 127.0.0.1:`port` with local state in `persistTo`
 * (and {@link LOCAL_VARS}). Returns { url, pid, stop }. `stop` ends only the
 * process group we started.
 */
export async function startWorker({ port, persistTo, vars: own = {}, logFile, stdio } = {}) {
  const vars = { ...LOCAL_VARS, ...own };
  const inspectorPort = await freePort();
  const args = [
    'dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspectorPort),
    '--persist-to', persistTo,
    '--show-interactive-dev-session=false',
    '--live-reload=false',
  ];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  let out = stdio ?? 'inherit';
  if (logFile) out = fs.openSync(logFile, 'a');
  const child = spawn(path.join(BIN, 'wrangler'), args, {
    cwd: ROOT,
    env: offlineEnv({ CI: 'true' }),
    stdio: ['ignore', out, out],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopGroup(child);
  try {
    await waitForHealth(url, child, 120_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, pid: child.pid, child, stop };
}

/** Ends the process group of a child we spawned detached: TERM, then KILL. */
export async function stopGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts the built Worker straight on workerd through Miniflare, with the
 * bindings wrangler.toml declares and local state in `persistTo` (the same
 * layout `wrangler dev --persist-to` uses). Unlike `wrangler dev` there is no
 * proxy in front and no rebuild on source changes: benchmarks measure the
 * Worker itself; `assets: false` also leaves out the static-assets router in
 * front of it. The state is wrangler dev's too: `npm start` seeds
 * through this, then serves the same state with wrangler dev.
 * `inspectorPort`: also serve the V8 inspector there (the
 * checkout profiler). With {@link LOCAL_VARS} unless `vars` say otherwise.
 * Returns { url, stop }.
 */
export async function startDirectWorker({ port, persistTo, logFile, assets = true, vars: own = {}, inspectorPort }) {
  const vars = { ...LOCAL_VARS, ...own };
  const { Miniflare } = await import('miniflare');
  const { unstable_getMiniflareWorkerOptions } = await import('wrangler');
  const config = path.join(ROOT, 'wrangler.toml');
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  if (!assets) delete workerOptions.assets;
  // The Worker's name, as wrangler dev gives it: Durable Objects are stored
  // under `{name}-{class}`, so a state seeded here is the one `npm start`
  // then serves with wrangler dev (without it, `-{class}`: other objects).
  const name = fs.readFileSync(config, 'utf8').match(/^name\s*=\s*"([^"]+)"/m)?.[1];
  const out = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : process.stderr;
  const mf = new Miniflare({
    ...workerOptions,
    name,
    modules: true,
    scriptPath: path.join(ROOT, 'build', 'index.js'),
    modulesRoot: path.join(ROOT, 'build'),
    bindings: { ...workerOptions.bindings, ...vars },
    kvPersist: path.join(persistTo, 'v3', 'kv'),
    durableObjectsPersist: path.join(persistTo, 'v3', 'do'),
    host: '127.0.0.1',
    port,
    ...(inspectorPort ? { inspectorPort } : {}),
    handleRuntimeStdio(stdout, stderr) {
      stdout.pipe(out);
      stderr.pipe(out);
    },
  });
  const url = (await mf.ready).href.replace(/\/$/, '');
  return {
    url,
    stop: () => mf.dispose(),
    /** The object `name` of Durable Object binding `binding`: its stub (for benchmarks that fill an object as its callers would). */
    object: async (binding, name) => {
      const ns = await mf.getDurableObjectNamespace(binding);
      return ns.get(ns.idFromName(name));
    },
  };
}

/**
 * CPU time (milliseconds of user and system time) the workerd processes this
 * process started (its children, as `startDirectWorker` starts them) have
 * used so far, read from /proc.
 */
export function workerdCpuMs() {
  const hz = 100; // clock ticks per second (Linux's USER_HZ)
  const ps = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  let ticks = 0;
  for (const [pid, comm] of ps.stdout.split('\n').map((l) => l.trim().split(/\s+/))) {
    if (!pid || !comm?.includes('workerd')) continue;
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return (ticks * 1000) / hz;
}

/**
 * Replaces the section of BENCHMARKS.md headed `title` with `section` (or
 * appends it), keeping every other section.
 */
export function writeBenchmarkSection(section, title) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const head = [
    '# Edgecart benchmarks',
    '',
    'Throughput and latency of the Worker run locally under workerd,',
    'measured with wrk. Each section is written by a script and records how to',
    'reproduce it; absolute numbers depend on the machine, so compare ratios.',
    '',
  ].join('\n');
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : head;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  if (start === -1) {
    text = `${text.replace(/\n*$/, '\n\n')}${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end === -1) end = lines.length;
    const before = lines.slice(0, start).join('\n').replace(/\n*$/, '\n\n');
    const after = lines.slice(end).join('\n');
    text = `${before}${section}${after ? `\n${after}` : ''}`;
  }
  fs.writeFileSync(file, text.replace(/\n*$/, '\n'));
}
