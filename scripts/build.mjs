// Builds the Worker (release wasm) unless nothing changed. Also run by
// wrangler as the [build] command, so it never touches node_modules.
import { buildWorker, setup } from './lib.mjs';

setup({ npm: false });
buildWorker();
