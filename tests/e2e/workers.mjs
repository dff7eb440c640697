// Worker processes for the crash tests: start the built Worker straight on
// workerd (scripts/serve-direct.mjs) on a free 127.0.0.1 port and a given
// state folder, find its workerd to SIGKILL, and stop it. Only processes
// started here are ever signalled, by their PID. Also the crash tests'
// request helpers (`call`, `must`, `pool`) for such a worker.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readyUrl } from '../../scripts/lib.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts serve-direct on `state` with `vars` (name → value); resolves
 * { url, child } when it answers.
 */
export async function serve(state, vars) {
  const port = await freePort();
  const args = [
    path.join(ROOT, 'scripts', 'serve-direct.mjs'),
    '--port', String(port),
    '--persist-to', state,
    '--log-file', path.join(state, 'worker.log'),
  ];
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}=${value}`);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await readyUrl(child, 'serve-direct', 60_000);
  return { url, child };
}

/** The workerd processes that `pid` started (its children). */
export function workerdOf(pid) {
  const r = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([p, comm]) => p && comm && comm.includes('workerd'))
    .map(([p]) => Number(p));
}

/** Stops serve-direct: SIGTERM (it disposes its workerd), then SIGKILL for both. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const children = workerdOf(child.pid);
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One request; `body` is sent as is when it is a string. */
export async function call(url, method, route, body, { token, key, member: memberTok } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  if (memberTok) headers['Member-Token'] = memberTok;
  const r = await fetch(url + route, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: kept as text
  }
  return { status: r.status, text, json };
}

/** Like `call`, but a setup step: retried on a dropped connection, must answer `status`. */
export async function must(status, url, method, route, body, opts) {
  for (let attempt = 1; ; attempt++) {
    let r;
    try {
      r = await call(url, method, route, body, opts);
    } catch (e) {
      if (attempt >= 3) throw e;
      await sleep(200);
      continue;
    }
    assert.equal(r.status, status, `${method} ${route}: ${r.text}`);
    return r.json;
  }
}

/** Runs `fn` over `items`, at most `n` at a time. */
export async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}
