// Installs whatever the project needs and is missing (see lib.mjs setup).
import { setup } from './lib.mjs';

setup({ bench: process.argv.includes('--bench') });
