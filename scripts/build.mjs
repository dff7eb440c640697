// `npm run build`: builds the Worker (release wasm) unless nothing changed.
import { buildWorker, setup } from './lib.mjs';

setup({ npm: false });
buildWorker();
