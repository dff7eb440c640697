// Helpers of the points suites: stores with a points programme, member
// tokens signed the way an operator's site signs them (HS256 with the
// store's secret, ES256 with a key of its own), and the points routes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { hs256 } from '../../scripts/lib.mjs';
import { sendJson } from './client.mjs';

export const OPERATOR = process.env.EDGECART_ADMIN_TOKEN;
/** Store id → its HS256 member secret (MEMBER_TOKEN_SECRETS of the worker). */
export const MEMBER_SECRETS = JSON.parse(process.env.EDGECART_MEMBER_SECRETS ?? '{}');

export { hs256 };

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A JWT signed ES256 with a P-256 private key. */
export function es256(privateKey, claims) {
  const data = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${data}.${sig.toString('base64url')}`;
}

/** A P-256 key pair and its public JWK, as a programme's `member_key`. */
export function p256() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  return { privateKey, jwk: { kty, crv, x, y } };
}

const nowS = () => Math.floor(Date.now() / 1000);

/** The HS256 member token of `member` at `store` (claims overridable). */
export function memberToken(store, member, claims = {}) {
  return hs256(MEMBER_SECRETS[store], { sub: member, aud: store, exp: nowS() + 600, ...claims });
}

/** A fresh member id. */
export const newMember = (prefix = 'm') => `${prefix}-${crypto.randomBytes(6).toString('hex')}`;

/** A fresh idempotency key. */
export const newKey = (prefix = 'k') => `${prefix}-${crypto.randomBytes(8).toString('hex')}`;

/** `path` of store `store` (the selector added). */
export const at = (store, path) => `${path}${path.includes('?') ? '&' : '?'}store=${store}`;

/**
 * Creates (or rewrites) store `store` selling in USD, with `programme` and
 * `payment` in its configuration, and waits out the copies edges keep for
 * a second.
 */
export async function pointsStore(store, programme, payment = { provider: 'test' }) {
  const created = await sendJson('PUT', `/admin/v1/stores/${store}`, { name: `Points ${store}`, default_currency: 'USD', currencies: ['USD'] }, { token: OPERATOR });
  assert.ok([200, 201].includes(created.status), created.text);
  const current = (await sendJson('GET', at(store, '/admin/v1/store'), undefined, { token: OPERATOR })).json;
  const { schema, ...config } = current;
  const put = await sendJson('PUT', at(store, '/admin/v1/store'), { ...config, payment, points: programme }, { token: OPERATOR });
  assert.equal(put.status, 200, put.text);
  await new Promise((r) => setTimeout(r, 1200));
}

/** `GET /v1/points` of the member `token` signs in, at `store`. */
export const points = (store, token, query = '') =>
  sendJson('GET', at(store, `/v1/points${query}`), undefined, { headers: token === undefined ? {} : { 'Member-Token': token } });

/** An admin's grant to `member` at `store`. */
export const grant = (store, member, body, key = newKey('g'), token = OPERATOR) =>
  sendJson('POST', at(store, `/admin/v1/members/${member}/points/grants`), body, { token, key });

/** An admin's adjustment of `member`'s points at `store`. */
export const adjust = (store, member, body, key = newKey('a'), token = OPERATOR) =>
  sendJson('POST', at(store, `/admin/v1/members/${member}/points/adjustments`), body, { token, key });

/** The admin's view of `member` at `store` (one page). */
export const lookup = (store, member, query = '', token = OPERATOR) =>
  sendJson('GET', at(store, `/admin/v1/members/${member}/points${query}`), undefined, { token });

/** Every history row of `member` at `store`, newest first, through the admin lookup. */
export async function history(store, member) {
  const rows = [];
  let cursor = '';
  for (let i = 0; i < 1000; i++) {
    const r = await lookup(store, member, `?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    rows.push(...r.json.history);
    if (!r.json.next_cursor) return { rows, balance: r.json.balance };
    cursor = r.json.next_cursor;
  }
  throw new Error('history did not end');
}

/** Whether the rows sum to the balance (the ledger's invariant, as the API shows it). */
export function assertLedgerSums({ rows, balance }, context = '') {
  const sum = rows.reduce((n, r) => n + r.points, 0);
  assert.equal(sum, balance.available + balance.pending + balance.held, `${context}: rows sum to the balance ${JSON.stringify(balance)}`);
}

/** A cart at `store` holding `quantity` of `sku`, with its total for US standard shipping. */
export async function cartAt(store, sku, quantity = 1) {
  const c = (await sendJson('POST', at(store, '/v1/carts'))).json;
  const r = await sendJson('POST', at(store, `/v1/carts/${c.id}/lines`), { sku, quantity }, { token: c.token });
  assert.equal(r.status, 200, r.text);
  const view = await sendJson('GET', at(store, `/v1/carts/${c.id}?country=US&shipping_method=standard`), undefined, { token: c.token });
  assert.equal(view.status, 200, view.text);
  return { ...c, store, total: view.json.grand_total, view: view.json };
}

/** The checkout body of cart `c`, paying as `payment` says. */
export const checkoutBody = (c, payment) => ({
  email: 'ada@example.com',
  shipping_address: { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', region: 'NY', postal_code: '10001', country: 'US' },
  shipping_method: 'standard',
  payment,
  expected_total: c.total,
});

/** Checks cart `c` out, paying as `payment` says, as the member `memberTok` signs in (if any). */
export function checkout(c, payment, memberTok, key = newKey('c')) {
  const headers = memberTok ? { 'Member-Token': memberTok } : {};
  return sendJson('POST', at(c.store, `/v1/carts/${c.id}/checkout`), checkoutBody(c, payment), { token: c.token, key, headers });
}

/** The admin's refund of order `id` at `store`. */
export const refund = (store, id) => sendJson('POST', at(store, `/admin/v1/orders/${id}/refund`), undefined, { token: OPERATOR });
