// A small typed client for the end-to-end tests: one method per endpoint,
// against the Worker that scripts/test.mjs started (EDGECART_URL).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fakeStripeControl } from '../fakes/stripe.mjs';

export const BASE = process.env.EDGECART_URL;
if (!BASE) throw new Error('EDGECART_URL is not set: run the e2e tests through `npm test`');

/**
 * fetch, sent again (at most twice) only when that cannot apply anything
 * twice: the server closed a reused keep-alive connection before any
 * response (the request was lost before the Worker saw it), or a
 * connection was reset (local workerd resets some of a few hundred
 * simultaneous connections) under a read or a request carrying an
 * `Idempotency-Key`, which the API applies at most once, as a real client
 * would retry it.
 */
async function fetchOnce(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      const closed = e.cause?.code === 'UND_ERR_SOCKET' && /other side closed/.test(e.cause?.message ?? '');
      // A reset connection may have carried the request; only a read
      // (GET/HEAD: safe and idempotent) or a keyed request is sent again then.
      const keyed = Object.keys(init.headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key');
      const safe = (['GET', 'HEAD'].includes(init.method) || keyed) && e.cause?.code === 'ECONNRESET';
      if (!(closed || safe) || attempt >= 3) {
        // Name the socket-level cause (fetch's own message is only "fetch failed").
        if (e.cause) e.message = `${e.message}: ${e.cause.code ?? ''} ${e.cause.message ?? ''}`.trim();
        throw e;
      }
    }
  }
}

/**
 * The store the tests run in (`EDGECART_STORE`; the default store without
 * it): its id is added as the `store` selector to every store route, so a
 * suite proves the same in another store. Shared routes (the Worker's own,
 * the shared catalog and stock, the stores) take no selector.
 */
export const STORE = process.env.EDGECART_STORE;
const SHARED = /^\/(health|openapi\.json)(\?|$)|^\/admin\/v1\/(products|prices|categories|catalog|inventory|audit|stores|reports\/low-stock)(\/|\?|$)/;

/** `path` in the store the tests run in. */
export function inStore(path) {
  if (!STORE || SHARED.test(path) || /[?&]store=/.test(path)) return path;
  return `${path}${path.includes('?') ? '&' : '?'}store=${STORE}`;
}

/** A response with its decoded body. */
async function send(method, path, { headers = {}, body } = {}) {
  const r = await fetchOnce(BASE + inStore(path), { method, headers, body });
  const text = await r.text();
  let json = null;
  const type = r.headers.get('content-type') ?? '';
  if (type.includes('json') && text) json = JSON.parse(text);
  return { status: r.status, headers: r.headers, text, json };
}

export const api = {
  get: (path, headers) => send('GET', path, { headers }),
  request: send,
  health: () => send('GET', '/health'),
  openapi: () => send('GET', '/openapi.json'),
  products: (params = {}, headers) => send('GET', `/v1/products${qs(params)}`, { headers }),
  product: (idOrSlug, params = {}, headers) =>
    send('GET', `/v1/products/${encodeURIComponent(idOrSlug)}${qs(params)}`, { headers }),
  categories: () => send('GET', '/v1/categories'),
};

/**
 * A request with a JSON body (`type` overrides its media type), the bearer
 * `token` and an `Idempotency-Key` when given, and any other `headers`.
 */
export function sendJson(method, path, body, { token, key, type = 'application/json', headers: extra = {} } = {}) {
  const headers = { ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = type;
  return send(method, path, { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export function qs(params) {
  const s = new URLSearchParams(params).toString();
  return s ? `?${s}` : '';
}

/** Asserts an RFC 9457 problem with a stable code. */
export function assertProblem(res, status, code) {
  assert.equal(res.status, status, `${code}: ${res.text}`);
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(res.json.code, code);
  assert.equal(res.json.status, status);
  assert.ok(res.json.title, 'problem has a title');
  assert.ok(res.json.detail, 'problem has a detail');
  assert.ok(res.json.type, 'problem has a type');
  assert.ok(res.headers.get('x-request-id'), 'problem has a request id');
}

/** Folds case and accents the way the server's search does (for assertions). */
export function fold(s) {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/ß/g, 'ss')
    .toLowerCase();
}

/** Every page of a listing, following next_cursor (bounded). */
export async function allPages(params) {
  const items = [];
  let cursor;
  let first;
  for (let i = 0; i < 1000; i++) {
    const res = await api.products(cursor ? { ...params, cursor } : params);
    assert.equal(res.status, 200, res.text);
    first ??= res.json;
    items.push(...res.json.items);
    cursor = res.json.next_cursor;
    if (!cursor) return { items, first };
  }
  throw new Error('more than 1000 pages');
}

/**
 * Every entry of an audit trail (`path`: `/admin/v1/audit` or a store's
 * `/admin/v1/store/audit`, read with admin `token`) after sequence number
 * `after`, following next_cursor (bounded).
 */
export async function auditTrail(path, token, after = 0) {
  const items = [];
  let cursor = after ? `a${after}` : undefined;
  for (let i = 0; i < 100; i++) {
    const page = `${path}${path.includes('?') ? '&' : '?'}limit=200${cursor ? `&cursor=${cursor}` : ''}`;
    const r = await send('GET', page, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    items.push(...r.json.items);
    cursor = r.json.next_cursor;
    if (!cursor) return items;
  }
  throw new Error('more than 100 pages');
}

/** Waits for the worker's log line of a request id (logs are flushed asynchronously). */
export async function logLine(requestId, timeoutMs = 10_000) {
  const file = process.env.EDGECART_LOG;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const line of lines) {
      const at = line.indexOf('{"ts"');
      if (at < 0 || !line.includes(requestId)) continue;
      const entry = JSON.parse(line.slice(at));
      if (entry.request_id === requestId) return entry;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no log line for request ${requestId}`);
}

/**
 * The local fake of Stripe's API that scripts/test.mjs started (the Worker
 * reaches it as the operator's test host, `STRIPE_TEST_API_BASE`), read and
 * driven through its control API: every method is async.
 */
export const stripe = process.env.EDGECART_STRIPE_URL ? fakeStripeControl(process.env.EDGECART_STRIPE_URL) : null;
