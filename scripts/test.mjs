// `npm test`: every test. Formatting and lints, the native Rust tests, then
// end-to-end tests against the real Worker under workerd (the API, and the
// demo shop in headless Chromium): the release build
// with the bindings of wrangler.toml, run by Miniflare straight on workerd
// (no wrangler dev proxy in front, which drops requests under a burst of
// 1,000 concurrent ones), on a free 127.0.0.1 port with fresh local state,
// stopped afterwards. Last, the contract run: Schemathesis against the
// Worker's own /openapi.json, on a worker and state of its own
// (scripts/contract.mjs). `npm test -- cart inventory` runs only the e2e
// files whose names contain one of the words, `npm test -- browser` (or
// `e2e`) every file of that folder (every other step still runs; the
// contract run only when a word is `contract`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runContract, setupContract } from './contract.mjs';
import {
  buildWorker,
  freePort,
  log,
  randomSecret,
  ROOT,
  run,
  runAsync,
  seedDemoCatalog,
  setup,
  startDirectWorker,
} from './lib.mjs';
import { startFakeStripe } from '../tests/fakes/stripe.mjs';

setup({ browser: true });
setupContract();
log('cargo fmt --check');
run('cargo', ['fmt', '--all', '--', '--check']);
log('cargo clippy');
run('cargo', ['clippy', '--workspace', '--all-targets', '--quiet', '--', '-D', 'warnings']);
log('cargo test (domain and native worker modules)');
run('cargo', ['test', '--workspace', '--quiet']);
buildWorker();
log('wrangler deploy --dry-run (the bundle and config are deployable)');
run('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', path.join('.cache', 'dry-run')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});

const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-e2e-'));
const logFile = path.join(ROOT, '.cache', 'e2e-worker.log');
fs.writeFileSync(logFile, '');
let worker;
let failed = false;
const CART_TTL_MS = 20_000;
/** The contract run's time budget (Schemathesis `--max-time`). */
const CONTRACT_SECONDS = 240;
const adminToken = randomSecret();
const viewerToken = randomSecret();
// A store admin of the default store, and one of the store `bank` (which the
// stores tests create).
const storeAdminToken = randomSecret();
const bankAdminToken = randomSecret();
// The viewer of the store `mirror`, where suites run a second time.
const mirrorViewerToken = randomSecret();
const STRIPE_KEY = `sk_test_${randomSecret()}`;
// The signing secret of the Worker's Stripe webhook endpoint, which the
// local fake of Stripe signs its events with.
const STRIPE_WEBHOOK_SECRET = `whsec_${randomSecret()}`;
/** How long a checkout may wait for Stripe before it is listed as stuck. */
const STUCK_AFTER_MS = 10_000;
// Member tokens: the HS256 secret of each store the points tests create
// (the operator's site would hold it; the tests sign their own tokens), and
// of the browser tests' points store (`loyalty`, signed in by the dev sign-in).
const MEMBER_SECRETS = Object.fromEntries(['points', 'points-window', 'loyalty'].map((s) => [s, randomSecret()]));
// The local fake of Stripe's API every suite shares (each reads it through
// its control API): the Worker reaches it as the operator's test host.
const stripe = await startFakeStripe({ secretKey: STRIPE_KEY });
try {
  worker = await startDirectWorker({
    port: await freePort(),
    persistTo: state,
    logFile,
    vars: {
      ADMIN_TOKENS: [
        `e2e:operator:${adminToken}`,
        `e2e-viewer:viewer:${viewerToken}`,
        `e2e-shop:admin:${storeAdminToken}`,
        `e2e-bank:admin@bank:${bankAdminToken}`,
        `e2e-mirror-viewer:viewer@mirror:${mirrorViewerToken}`,
      ].join(','),
      // Short holds, so expiry by alarm is observable within a test.
      CART_HOLD_TTL_MS: String(CART_TTL_MS),
      // The Stripe adapter's key and host, for the local fake of Stripe's
      // API, and the webhook endpoint's secret.
      STRIPE_SECRET_KEY: STRIPE_KEY,
      STRIPE_TEST_API_BASE: stripe.url,
      STRIPE_WEBHOOK_SECRET,
      CHECKOUT_STUCK_AFTER_MS: String(STUCK_AFTER_MS),
      // Webhook retries after a hundredth of the schedule (50 ms, 300 ms,
      // 1.2 s, …), so a flaky endpoint's deliveries settle within a test.
      WEBHOOK_RETRY_PERCENT: '1',
      MEMBER_TOKEN_SECRETS: Object.entries(MEMBER_SECRETS).map(([s, k]) => `${s}:${k}`).join(','),
      // The development sign-in, as `npm start` has it (wrangler.toml leaves it off).
      DEV_MEMBER_SIGN_IN: 'on',
    },
  });
  stripe.setWebhook({ url: `${worker.url}/webhooks/stripe`, secret: STRIPE_WEBHOOK_SECRET });
  await seedDemoCatalog(worker.url, adminToken);
  log(`end-to-end tests against ${worker.url} (worker log: .cache/e2e-worker.log)`);
  // The fakes' own proofs (the fake Stripe against Stripe's documented
  // behaviour), the API's end-to-end tests, then the demo shop's in Chromium.
  const files = ['fakes', 'e2e', 'browser'].flatMap((dir) =>
    fs
      .readdirSync(path.join(ROOT, 'tests', dir))
      .filter((f) => f.endsWith('.test.mjs'))
      .filter((f) => process.argv.length <= 2 || process.argv.slice(2).some((w) => f.includes(w) || w === dir))
      .sort()
      .map((f) => path.join('tests', dir, f)),
  );
  const testEnv = {
    // Each request the suites send comes from a client address of its own
    // unless it names one (the Worker limits rates per client address).
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(path.join(ROOT, 'scripts', 'client-addresses.mjs')).href}`.trim(),
    EDGECART_URL: worker.url,
    EDGECART_LOG: logFile,
    EDGECART_ADMIN_TOKEN: adminToken,
    EDGECART_VIEWER_TOKEN: viewerToken,
    EDGECART_STORE_ADMIN_TOKEN: storeAdminToken,
    EDGECART_BANK_ADMIN_TOKEN: bankAdminToken,
    EDGECART_CART_TTL_MS: String(CART_TTL_MS),
    EDGECART_STRIPE_SECRET_KEY: STRIPE_KEY,
    EDGECART_STRIPE_URL: stripe.url,
    EDGECART_STRIPE_WEBHOOK_SECRET: STRIPE_WEBHOOK_SECRET,
    EDGECART_STUCK_AFTER_MS: String(STUCK_AFTER_MS),
    EDGECART_MEMBER_SECRETS: JSON.stringify(MEMBER_SECRETS),
  };
  const code = files.length === 0 ? 0 : await runAsync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    env: { ...process.env, ...testEnv },
  });
  failed = code !== 0;
  // The checkout (idempotency, usage limits), oversell and coupon proofs
  // again, in a store other than the default one.
  const again = ['checkout.test.mjs', 'oversell.test.mjs', 'store.test.mjs'].filter(
    (f) => process.argv.length <= 2 || process.argv.slice(2).some((w) => f.includes(w) || w === 'stores'),
  );
  if (again.length) {
    const mirror = await fetch(`${worker.url}/admin/v1/stores/mirror`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Mirror', default_currency: 'USD', currencies: ['USD', 'EUR'] }),
    });
    if (![200, 201].includes(mirror.status)) throw new Error(`creating the store mirror: ${mirror.status} ${await mirror.text()}`);
    log(`again in the store mirror: ${again.join(', ')}`);
    const code2 = await runAsync(process.execPath, ['--test', '--test-concurrency=1', ...again.map((f) => path.join(ROOT, 'tests', 'e2e', f))], {
      env: { ...process.env, ...testEnv, EDGECART_STORE: 'mirror', EDGECART_VIEWER_TOKEN: mirrorViewerToken },
    });
    failed ||= code2 !== 0;
  }
} finally {
  if (worker) await worker.stop();
  await stripe.stop();
  fs.rmSync(state, { recursive: true, force: true });
}
const words = process.argv.slice(2);
if (words.length === 0 || words.includes('contract')) {
  const ok = await runContract({ maxTime: CONTRACT_SECONDS });
  log(`contract run (schemathesis, every operation, --checks all): ${ok ? 'no failures' : 'FAILED'}`);
  failed ||= !ok;
}
process.exit(failed ? 1 : 0);
