// `npm start`: install what is missing, build, seed the demo catalog into
// local KV on first start, and serve the API and demo shop on 127.0.0.1.
// PORT overrides the port (default 8787).
import path from 'node:path';
import { buildWorker, log, ROOT, seedDemoCatalog, setup, startWorker } from './lib.mjs';

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  log(`PORT=${process.env.PORT} is not a port number`);
  process.exit(2);
}
const persistTo = path.join(ROOT, '.wrangler', 'state');

setup();
buildWorker();
seedDemoCatalog(persistTo);
const worker = await startWorker({ port, persistTo });
console.log(`\nEdgecart is running at ${worker.url}/  (API: ${worker.url}/v1/products, docs: ${worker.url}/openapi.json)\nPress Ctrl+C to stop.\n`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await worker.stop();
    process.exit(0);
  });
}
worker.child.on('exit', (code) => process.exit(code ?? 0));
