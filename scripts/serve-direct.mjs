// Serves the built Worker straight on workerd (Miniflare) until SIGTERM:
// `node scripts/serve-direct.mjs --port N --persist-to DIR [--var KEY=VALUE]...`
// Prints `READY <url>` once it answers. Used by the crash tests, which
// SIGKILL its workerd and start it again on the same state.
import { log, startDirectWorker } from './lib.mjs';

const args = process.argv.slice(2);
const opts = { vars: {} };
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]];
  if (flag === '--port') opts.port = Number(value);
  else if (flag === '--persist-to') opts.persistTo = value;
  else if (flag === '--log-file') opts.logFile = value;
  else if (flag === '--var') {
    const at = value.indexOf('=');
    opts.vars[value.slice(0, at)] = value.slice(at + 1);
  } else {
    log(`unknown argument ${flag}`);
    process.exit(2);
  }
}
if (!opts.port || !opts.persistTo) {
  log('usage: serve-direct.mjs --port N --persist-to DIR [--log-file F] [--var KEY=VALUE]...');
  process.exit(2);
}
const worker = await startDirectWorker({ ...opts, assets: false });
console.log(`READY ${worker.url}`);
process.on('SIGTERM', async () => {
  await worker.stop();
  process.exit(0);
});
