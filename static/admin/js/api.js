// The back office's only way to the Worker: the public admin API
// (/admin/v1) and, for catalog search, the public /v1 API, exactly as a
// third-party back office would call them. The token lives in this tab's
// sessionStorage only; every error is a `Problem` carrying the API's
// problem+json `detail`, never swallowed.

const KEY = 'edgecart.admin.session';

/** The signed-in session: { token, role, store, stores } or null. */
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export function saveSession(s) {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** What the signed-in token may do. */
export function can(what) {
  const s = session();
  if (!s) return false;
  if (what === 'write') return s.role !== 'viewer';
  if (what === 'shared') return s.role === 'operator';
  return false;
}

/** An API answer that is not 2xx: its problem document, or what came instead. */
export class Problem extends Error {
  constructor(status, body, method, path) {
    const detail = body?.detail || body?.title || (typeof body === 'string' && body) || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.code = body?.code ?? null;
    this.detail = detail;
    this.body = body;
    this.where = `${method} ${path}`;
    // Field problems (422), listed by the API under `errors`.
    this.fields = Array.isArray(body?.errors) ? body.errors : [];
  }
}

/** A fresh Idempotency-Key (the API takes 1 to 128 visible ASCII characters). */
export function idempotencyKey() {
  return `bo-${crypto.randomUUID()}`;
}

/**
 * Calls the API. `store`: true adds the signed-in store selector (`store=`)
 * for a store's route; `body` is sent as JSON unless `raw` (a string, with
 * `type`). Resolves to the parsed JSON body; rejects with a `Problem`.
 */
export async function api(method, path, { body, raw, type, store = false, query = {}, key, token } = {}) {
  const s = session();
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, v);
  if (store && s?.store) params.set('store', s.store);
  const qs = params.toString();
  const url = qs ? `${path}?${qs}` : path;
  const headers = { Accept: 'application/json, application/problem+json' };
  const bearer = token ?? s?.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (key) headers['Idempotency-Key'] = key;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers['Content-Type'] = type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, cache: 'no-store' });
  } catch (e) {
    throw new Problem(0, { detail: `The Worker could not be reached (${e.message}).` }, method, path);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  if (!res.ok) throw new Problem(res.status, json, method, path);
  return json;
}

/**
 * Signs in with `token`: `GET /admin/v1/session` names its role and store
 * (401 for a token the Worker does not know); an operator also reads the
 * store list (`GET /admin/v1/stores`) for the store selector.
 */
export async function signIn(token) {
  const who = await api('GET', '/admin/v1/session', { token });
  if (who.role !== 'operator') return { token, label: who.label, role: who.role, store: who.store, stores: [who.store] };
  const stores = (await api('GET', '/admin/v1/stores', { token })).items.map((st) => st.id);
  const store = stores.includes('default') ? 'default' : stores[0];
  return { token, label: who.label, role: 'operator', store, stores };
}

/** Every page of a cursor-paged listing (`items`, `next_cursor`), up to `max` items. */
export async function allPages(path, opts, onPage, max = 100_000) {
  const items = [];
  let cursor;
  do {
    const page = await api('GET', path, { ...opts, query: { ...opts.query, cursor } });
    items.push(...page.items);
    onPage?.(items.length);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}
