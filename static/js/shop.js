// What every page of the demo shop shares: calling the public /v1 API
// (exactly as a third-party frontend would), money formatting, the
// shopper's currency and cart, the header badge and notices, and in a store
// with a points programme the signed-in member and their points.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** An element with attributes and children (strings become text, never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}

const formats = new Map();
/** `{amount, currency}` as `$18.99` (the same text the edge renders). */
export function money(m) {
  if (!m) return '';
  let f = formats.get(m.currency);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { style: 'currency', currency: m.currency });
    formats.set(m.currency, f);
  }
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(m.amount / 10 ** digits);
}

const capitalise = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** The API answered with a problem (RFC 9457): `code` says which. */
export class ApiError extends Error {
  constructor(status, problem) {
    const first = problem?.errors?.[0];
    super(first?.message ? capitalise(first.message) : problem?.detail || problem?.title || `The shop answered ${status}.`);
    this.status = status;
    this.code = problem?.code ?? 'http_error';
    this.problem = problem ?? {};
  }
}

/** The request did not reach the shop, or its answer did not come back. */
export class NetworkError extends Error {
  constructor(cause) {
    super('We could not reach the shop. Check your connection and try again.');
    this.cause = cause;
  }
}

/**
 * Calls the API. Resolves to `{status, body, headers}` for 2xx; throws
 * ApiError (a problem) or NetworkError (no answer). `member`: a member
 * token, sent as `Member-Token`.
 */
export async function api(method, path, { body, token, key, member, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  if (member) headers['Member-Token'] = member;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new NetworkError(e);
  }
  let json = null;
  try {
    json = await r.json();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    if (r.ok) throw new NetworkError(e);
  }
  if (!r.ok) throw new ApiError(r.status, json);
  return { status: r.status, body: json, headers: r.headers };
}

// ---- notices -----------------------------------------------------------

/** Shows a message at the top of the page; `retry` adds a Retry button. */
export function notify(message, { kind = 'error', retry } = {}) {
  const box = $('#notice');
  if (!box) return;
  box.className = `notice ${kind}`;
  box.replaceChildren(h('span', { text: message }));
  if (retry) {
    box.append(
      h('button', {
        type: 'button',
        text: 'Retry',
        onclick: () => {
          clearNotice();
          retry();
        },
      }),
    );
  }
  box.hidden = false;
}

export function clearNotice() {
  const box = $('#notice');
  if (box) box.hidden = true;
}

/** Reports a failed action: network failures offer to run `retry`. */
export function report(e, retry) {
  if (e.name === 'AbortError') return;
  if (e instanceof NetworkError) notify(e.message, { retry });
  else if (e instanceof ApiError && e.status >= 500) notify(`${e.message} Please try again.`, { retry });
  else notify(e.message);
}

// ---- currency ----------------------------------------------------------

/** The currency this page shows (the edge read it from the cookie). */
export const currency = () => document.body.dataset.currency || 'USD';

function setCurrencyCookie(code) {
  document.cookie = `currency=${code}; path=/; max-age=31536000; samesite=lax`;
}

// ---- the cart ----------------------------------------------------------

const CART_KEY = 'edgecart.cart';

/** The shopper's cart `{id, token, currency, count}`, or null. */
export function savedCart() {
  try {
    return JSON.parse(localStorage.getItem(CART_KEY));
  } catch {
    return null;
  }
}

export function saveCart(cart) {
  localStorage.setItem(CART_KEY, JSON.stringify(cart));
  showCount(cart.count ?? 0);
}

export function forgetCart() {
  localStorage.removeItem(CART_KEY);
  showCount(0);
}

/** Records what a cart answer says (for the header badge). */
export function remember(view) {
  const saved = savedCart();
  if (saved && saved.id === view.id) saveCart({ ...saved, count: view.item_count });
}

function showCount(n) {
  const badge = $('#cart-count');
  if (badge) {
    badge.textContent = n > 0 ? String(n) : '';
    badge.setAttribute('aria-label', `${n} ${n === 1 ? 'item' : 'items'}`);
  }
}

/** The saved cart if it is in `code`, else a new cart in `code`. */
export async function ensureCart(code = currency()) {
  const saved = savedCart();
  if (saved && saved.currency === code) return saved;
  const { body } = await api('POST', '/v1/carts', { body: { currency: code } });
  const cart = { id: body.id, token: body.token, currency: code, count: 0 };
  saveCart(cart);
  return cart;
}

/**
 * Reads the saved cart (with `params`: country, region, shipping_method).
 * A cart the shop no longer knows (expired, or already checked out) is
 * forgotten: null.
 */
export async function loadCart(params = {}) {
  const saved = savedCart();
  if (!saved) return null;
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  try {
    const { body } = await api('GET', `/v1/carts/${saved.id}${qs.size ? `?${qs}` : ''}`, { token: saved.token });
    remember(body);
    return body;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      forgetCart();
      return null;
    }
    throw e;
  }
}

/** Cart calls with the saved cart's token. */
export function cartCall(method, suffix, body) {
  const saved = savedCart();
  return api(method, `/v1/carts/${saved.id}${suffix}`, { body, token: saved.token }).then((r) => {
    remember(r.body);
    return r.body;
  });
}

/**
 * Switches the shop to `code`. A cart in the old currency moves: a new cart
 * in `code` takes its lines and coupons, and the old one lets its holds go.
 * Returns what could not move.
 */
export async function switchCurrency(code) {
  setCurrencyCookie(code);
  const saved = savedCart();
  if (!saved || saved.currency === code) return [];
  const old = await loadCart();
  if (!old || old.lines.length === 0) {
    forgetCart();
    return [];
  }
  const { body } = await api('POST', '/v1/carts', { body: { currency: code } });
  const next = { id: body.id, token: body.token, currency: code, count: 0 };
  const left = [];
  for (const line of old.lines) {
    // Let go of the old hold first, so the new cart can take the same units.
    await api('DELETE', `/v1/carts/${old.id}/lines/${encodeURIComponent(line.sku)}`, { token: saved.token }).catch(() => {});
    try {
      const r = await api('POST', `/v1/carts/${next.id}/lines`, { body: { sku: line.sku, quantity: line.quantity }, token: next.token });
      next.count = r.body.item_count;
    } catch (e) {
      left.push(`${line.product?.name ?? line.sku}: ${e.message}`);
    }
  }
  for (const c of old.coupons) {
    await api('POST', `/v1/carts/${next.id}/coupons`, { body: { code: c.code }, token: next.token }).catch(() => {});
  }
  saveCart(next);
  return left;
}

// ---- points --------------------------------------------------------------

/** What the store calls its points when it runs a programme (the edge says so), else null. */
export const pointsUnit = () => document.body.dataset.pointsUnit || null;

const counts = new Intl.NumberFormat('en-US');
/** `2000` as `2,000`. */
export const count = (n) => counts.format(n);
/** `2000` as `2,000 points` (the same text the edge renders). */
export const points = (n, unit = pointsUnit()) => `${count(n)} ${unit}`;

const MEMBER_KEY = 'edgecart.member';

/**
 * The member signed in in this tab, `{member, token, expires_at}` (the
 * dev-token answer), or null. Kept in sessionStorage: the tab only.
 */
export function memberSession() {
  let session = null;
  try {
    session = JSON.parse(sessionStorage.getItem(MEMBER_KEY));
  } catch {
    // ignored: signed out
  }
  if (session?.token && Date.parse(session.expires_at) > Date.now()) return session;
  if (session) sessionStorage.removeItem(MEMBER_KEY);
  return null;
}

let account = null; // this page's read of GET /v1/points (a promise)

/** Signs the member in for this tab; pages redraw on `edgecart:member`. */
export function saveMember(session) {
  sessionStorage.setItem(MEMBER_KEY, JSON.stringify(session));
  account = null;
  document.dispatchEvent(new CustomEvent('edgecart:member'));
}

export function forgetMember() {
  sessionStorage.removeItem(MEMBER_KEY);
  account = null;
  document.dispatchEvent(new CustomEvent('edgecart:member'));
}

/**
 * The signed-in member's points (`GET /v1/points`: balance and the latest
 * history row), read once per page unless `fresh`; null when nobody is
 * signed in. A token the store refuses (expired, or signed for another
 * store) signs the member out.
 */
export function memberPoints({ fresh = false } = {}) {
  const session = memberSession();
  if (!session) return Promise.resolve(null);
  if (!account || fresh) {
    const read = api('GET', '/v1/points?limit=1', { member: session.token })
      .then((r) => r.body)
      .catch((e) => {
        if (account === read) account = null;
        if (e instanceof ApiError && e.status === 401) {
          forgetMember();
          return null;
        }
        throw e;
      });
    account = read;
  }
  return account;
}

// ---- product cards -----------------------------------------------------

/** A product card: the same markup the edge renders (src/shop_html.rs). */
export function card(item) {
  const img = item.image ?? { url: '/img/placeholder.svg', alt: item.name };
  const from = item.price && item.price_max && item.price_max.amount !== item.price.amount;
  return h(
    'li',
    { class: 'card' },
    h(
      'a',
      { href: `/products/${encodeURIComponent(item.slug)}` },
      h('img', { src: img.url, alt: img.alt, width: 240, height: 240, loading: 'lazy' }),
      h('span', { class: 'name', text: item.name }),
    ),
    h('p', { class: 'price', text: `${from ? 'from ' : ''}${money(item.price)}` }),
    item.in_stock === false ? h('p', { class: 'stock out', text: 'Sold out' }) : null,
  );
}

/** The data the edge embedded in the page (an API body), or null. */
export function pageData() {
  const el = $('#page-data');
  return el ? JSON.parse(el.textContent) : null;
}

/** Runs once per page: the badge and the currency switcher. */
function start() {
  document.documentElement.classList.add('js');
  showCount(savedCart()?.count ?? 0);
  const select = $('#currency');
  select?.addEventListener('change', async () => {
    const code = select.value;
    select.disabled = true;
    try {
      const left = await switchCurrency(code);
      if (left.length) sessionStorage.setItem('edgecart.notice', `Some items could not move to ${code}: ${left.join('; ')}`);
      location.reload();
    } catch (e) {
      select.disabled = false;
      report(e, () => select.dispatchEvent(new Event('change')));
    }
  });
  const pending = sessionStorage.getItem('edgecart.notice');
  if (pending) {
    sessionStorage.removeItem('edgecart.notice');
    notify(pending, { kind: 'error' });
  }
}

start();
