// The contract run of `npm test`: Schemathesis, an outside fuzzer, against
// the real Worker's own /openapi.json. It gets a worker of its own, on
// fresh local state seeded with a small demo catalog and its stock, so its
// writes (products, prices, stock, promotions, store settings) cannot
// disturb the other tests. Every operation, every check (`--checks all`),
// bounded by `--max-time`; any failure fails `npm test`. Settings and the
// reasons for each of them: tests/contract/schemathesis.toml.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CACHE,
  freePort,
  log,
  output,
  randomSecret,
  ROOT,
  run,
  runAsync,
  seedDemoCatalog,
  seedDemoStock,
  startDirectWorker,
  TOOLS,
} from './lib.mjs';

const VENV = path.join(TOOLS, 'contract-venv');
const REQUIREMENTS = path.join(ROOT, 'tests', 'contract', 'requirements.txt');
const SCHEMATHESIS = path.join(VENV, 'bin', 'schemathesis');
/** Products in the contract run's catalog (and their variants' stock). */
const CATALOG_SIZE = 120;
/**
 * The generation seed: fixed, so that `npm test` (and CI) replays the same
 * cases and its verdict does not depend on luck. `EDGECART_CONTRACT_SEED=N`
 * explores other cases; `EDGECART_CONTRACT_SEED=random` lets Schemathesis
 * pick one (it prints it, for a replay).
 */
const SEED = process.env.EDGECART_CONTRACT_SEED ?? '20261206';

/** Installs Schemathesis into .tools/contract-venv unless the pinned version is there. */
export function setupContract() {
  const want = fs.readFileSync(REQUIREMENTS, 'utf8').match(/^schemathesis==(\S+)/m)[1];
  const have = fs.existsSync(SCHEMATHESIS) ? output(SCHEMATHESIS, ['--version']) : null;
  if (have && have.includes(`version ${want}`)) return;
  log(`installing schemathesis ${want} into .tools/contract-venv (one time)`);
  if (!fs.existsSync(path.join(VENV, 'bin', 'python'))) run('python3', ['-m', 'venv', VENV]);
  run(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]);
}

/**
 * Starts a worker on fresh state, seeds it and runs Schemathesis for at
 * most `maxTime` seconds. Resolves to true when it found no failure.
 */
export async function runContract({ maxTime = 240 } = {}) {
  setupContract();
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'edgecart-contract-'));
  const logFile = path.join(CACHE, 'contract-worker.log');
  const reportDir = path.join(CACHE, 'contract-report');
  fs.writeFileSync(logFile, '');
  fs.rmSync(reportDir, { recursive: true, force: true });
  const adminToken = randomSecret();
  let worker;
  try {
    worker = await startDirectWorker({
      port: await freePort(),
      persistTo: state,
      logFile,
      // The fuzzer is one client sending thousands of requests a minute:
      // with the request-rate limits on, most operations would answer 429
      // (documented, so not a failure) and go untested. The limits' answers
      // are proven by tests/e2e/abuse.test.mjs instead.
      vars: { ADMIN_TOKENS: `contract:operator:${adminToken}`, STRIPE_WEBHOOK_SECRET: `whsec_${randomSecret()}`, RATE_LIMITS: 'off' },
    });
    await seedDemoCatalog(worker.url, adminToken, { size: CATALOG_SIZE });
    const counts = JSON.parse(fs.readFileSync(path.join(CACHE, `demo-stock-${CATALOG_SIZE}.json`), 'utf8'));
    await seedDemoStock(worker.url, adminToken, counts, 'contract-stock');
    log(`schemathesis against ${worker.url}/openapi.json (at most ${maxTime} s; worker log: .cache/contract-worker.log)`);
    const code = await runAsync(
      SCHEMATHESIS,
      [
        '--no-color',
        '--config-file', path.join(ROOT, 'tests', 'contract', 'schemathesis.toml'),
        'run', `${worker.url}/openapi.json`,
        '--checks', 'all',
        '--max-time', String(maxTime),
        ...(SEED === 'random' ? [] : ['--seed', SEED]),
        '--report', 'junit',
        '--report-dir', reportDir,
      ],
      {
        // Schemathesis keeps its cache (and replays the failures it found
        // before) in `.schemathesis/` of its working folder.
        cwd: CACHE,
        env: {
          ...process.env,
          EDGECART_ADMIN_TOKEN: adminToken,
          SCHEMATHESIS_HOOKS: 'hooks',
          PYTHONPATH: path.join(ROOT, 'tests', 'contract'),
        },
      },
    );
    return code === 0;
  } finally {
    if (worker) await worker.stop();
    fs.rmSync(state, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `node scripts/contract.mjs [seconds]`: the contract run alone (after a build).
  const ok = await runContract({ maxTime: Number(process.argv[2] ?? 240) });
  process.exit(ok ? 0 : 1);
}
