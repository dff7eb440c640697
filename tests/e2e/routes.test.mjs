// End-to-end: what the route table (src/routes.rs) derives, seen from
// outside: 405 with `Allow` for every method a path does not serve
// (including ones workers-rs does not know), CORS preflights, the role check
// before any handler runs, and the query-parameter allow-list, for every
// operation /openapi.json documents.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { api, assertProblem, BASE } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;
// An admin of the default store (not an operator).
const STORE_ADMIN = process.env.EDGECART_STORE_ADMIN_TOKEN;
/** The order `Allow` lists methods in. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * A request sent with node:http, which (unlike fetch) sends any method
 * token, TRACE included.
 */
function raw(method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(BASE + path, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        const type = res.headers['content-type'] ?? '';
        resolve({
          status: res.statusCode,
          headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
          text,
          json: type.includes('json') && text ? JSON.parse(text) : null,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A request written byte for byte on a socket, so that the method token
 * arrives exactly as given (node:http uppercases it).
 */
function onSocket(method, path) {
  const url = new URL(BASE);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.end(`${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (c) => (data += c));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, ...body] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = new Headers(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: body.join('\r\n\r\n') });
    });
  });
}

/** A concrete path for a documented path template. */
function concrete(template) {
  return template
    .replace('{id_or_slug}', 'prd_00001')
    .replace('{sku}', 'BK-00001-1')
    .replace('{currency}', 'USD')
    .replace('{slug}', 'kitchen')
    .replace('{code}', 'SAVE10')
    .replace('{store_id}', 'default')
    .replace('{id}', template.includes('/orders/') ? 'ord_000000000000000000000000' : 'crt_000000000000000000000000');
}

/** Every documented operation: [method, template, its query parameters]. */
let operations;
/** Every documented path: template → its Allow value. */
let allow;

before(async () => {
  const doc = (await api.openapi()).json;
  const deref = (v) => (v.$ref ? deref(v.$ref.slice(2).split('/').reduce((o, k) => o[k], doc)) : v);
  operations = [];
  allow = new Map();
  for (const [template, item] of Object.entries(doc.paths)) {
    const methods = new Set(['OPTIONS']);
    for (const method of METHODS.filter((m) => item[m])) {
      const query = [...(item.parameters ?? []), ...(item[method].parameters ?? [])]
        .map(deref)
        .filter((p) => p.in === 'query')
        .map((p) => p.name);
      operations.push([method.toUpperCase(), template, query]);
      methods.add(method.toUpperCase());
      if (method === 'get') methods.add('HEAD');
    }
    allow.set(template, ORDER.filter((m) => methods.has(m)).join(', '));
  }
});

function assertNotAllowed(res, allowed, what) {
  assertProblem(res, 405, 'method_not_allowed');
  assert.equal(res.headers.get('allow'), allowed, what);
}

describe('methods', () => {
  test('QUERY, TRACE and other methods a path does not serve answer 405 with Allow', async () => {
    for (const [method, path, allowed] of [
      ['QUERY', '/v1/products', 'GET, HEAD, OPTIONS'],
      ['TRACE', '/health', 'GET, HEAD, OPTIONS'],
      ['TRACE', '/v1/carts', 'POST, OPTIONS'],
      ['QUERY', '/v1/carts', 'POST, OPTIONS'],
      ['PURGE', '/v1/products/prd_00001', 'GET, HEAD, OPTIONS'],
      ['MKCOL', '/admin/v1/store', 'GET, HEAD, PUT, OPTIONS'],
      ['UNLOCK', '/admin/v1/promotions/save10', 'GET, HEAD, PUT, DELETE, OPTIONS'],
      ['PURGE', '/admin/v1/products/prd_00001', 'GET, HEAD, PUT, DELETE, OPTIONS'],
      ['REPORT', '/v1/carts/crt_000000000000000000000000/lines/BK-00001-1', 'PATCH, DELETE, OPTIONS'],
    ]) {
      assertNotAllowed(await raw(method, path), allowed, `${method} ${path}`);
    }
  });

  test('a made-up method is never served', async () => {
    // workerd's HTTP server refuses a method token it does not know (FOO,
    // or any lowercase one) with 501 before the Worker runs; were it to
    // pass one on, the Worker answers 405 (the native tests in routes.rs
    // cover FOO). Either way nothing is served, least of all as GET.
    for (const [method, path, allowed] of [
      ['FOO', '/v1/carts', 'POST, OPTIONS'],
      ['FOO', '/v1/products', 'GET, HEAD, OPTIONS'],
      ['get', '/health', 'GET, HEAD, OPTIONS'],
    ]) {
      const res = await onSocket(method, path);
      if (res.status === 501) {
        assert.doesNotMatch(res.headers.get('content-type') ?? '', /json/, `${method} ${path}`);
      } else {
        // Chunked or not, the problem's JSON is in the body.
        assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
        assert.equal(res.headers.get('allow'), allowed, `${method} ${path}`);
        assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
      }
    }
  });

  test('every documented path answers a preflight with its methods, and 405 for the others', async () => {
    assert.ok(allow.size >= 30, 'the document lists the routes');
    for (const [template, allowed] of allow) {
      const path = concrete(template);
      const pre = await api.request('OPTIONS', path, {
        headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'GET' },
      });
      assert.equal(pre.status, 204, `OPTIONS ${path}`);
      assert.equal(pre.headers.get('allow'), allowed, `OPTIONS ${path}`);
      assert.equal(pre.headers.get('access-control-allow-methods'), allowed, `OPTIONS ${path}`);
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (allowed.split(', ').includes(method)) continue;
        const res = await api.request(method, path, { headers: { Authorization: `Bearer ${ADMIN}` } });
        assert.equal(res.status, 405, `${method} ${path}: ${res.text}`);
        assert.equal(res.headers.get('allow'), allowed, `${method} ${path}`);
        if (method !== 'HEAD') assertNotAllowed(res, allowed, `${method} ${path}`);
      }
    }
  });

  test('Allow names exactly the methods of representative paths', async () => {
    for (const [template, allowed] of [
      ['/health', 'GET, HEAD, OPTIONS'],
      ['/v1/products/{id_or_slug}', 'GET, HEAD, OPTIONS'],
      ['/v1/carts', 'POST, OPTIONS'],
      ['/v1/carts/{id}/lines/{sku}', 'PATCH, DELETE, OPTIONS'],
      ['/v1/carts/{id}/coupons', 'POST, DELETE, OPTIONS'],
      ['/v1/carts/{id}/coupons/{code}', 'DELETE, OPTIONS'],
      ['/v1/orders/{id}/cancel', 'POST, OPTIONS'],
      ['/admin/v1/products/{id}', 'GET, HEAD, PUT, DELETE, OPTIONS'],
      ['/admin/v1/inventory', 'POST, OPTIONS'],
      ['/admin/v1/inventory/{sku}', 'GET, HEAD, PUT, OPTIONS'],
      ['/admin/v1/promotions/{id}', 'GET, HEAD, PUT, DELETE, OPTIONS'],
    ]) {
      const pre = await api.request('OPTIONS', concrete(template));
      assert.equal(pre.status, 204, template);
      assert.equal(pre.headers.get('allow'), allowed, template);
      assert.equal(allow.get(template), allowed, `as documented: ${template}`);
    }
    // Paths are exact: no preflight, no 405 for what is not a route.
    assertProblem(await api.request('OPTIONS', '/v1/carts/'), 404, 'route_not_found');
    assertProblem(await raw('TRACE', '/v1/nothing'), 404, 'route_not_found');
  });
});

describe('access and query parameters, from the table', () => {
  test('admin writes need an admin token and admin reads a viewer one, before anything runs', async () => {
    const admin = operations.filter(([, template]) => template.startsWith('/admin/'));
    assert.ok(admin.length >= 20);
    // The stores themselves, and writes to the catalog and stock every store
    // shares, are the operator's; a store's admin writes its own store.
    const operatorsOnly = (method, template) =>
      template.startsWith('/admin/v1/stores') ||
      (method !== 'GET' && /^\/admin\/v1\/(products|prices|categories|catalog|inventory)/.test(template));
    for (const [method, template] of admin) {
      const path = concrete(template);
      const what = `${method} ${path}`;
      assertProblem(await api.request(method, path), 401, 'unauthorized');
      // The token is checked before the query parameters.
      assertProblem(await api.request(method, `${path}?not_a_parameter=1`), 401, 'unauthorized');
      const asViewer = await api.request(method, path, { headers: { Authorization: `Bearer ${VIEWER}` } });
      if (method === 'GET' && !operatorsOnly(method, template)) {
        assert.ok(![401, 403].includes(asViewer.status), `${what}: ${asViewer.text}`);
      } else {
        assertProblem(asViewer, 403, 'forbidden');
      }
      const asStoreAdmin = { headers: { Authorization: `Bearer ${STORE_ADMIN}` } };
      if (operatorsOnly(method, template)) {
        assertProblem(await api.request(method, path, asStoreAdmin), 403, 'forbidden');
      } else if (method === 'GET') {
        const r = await api.request(method, path, asStoreAdmin);
        assert.ok(![401, 403].includes(r.status), `${what}: ${r.text}`);
      }
    }
  });

  test('every operation refuses an unknown query parameter, and a known one given twice', async () => {
    // Refused before the handler runs: nothing is created or changed. (A
    // member's route checks that a member token is there before the query,
    // and the token itself after it.)
    const headers = { Authorization: `Bearer ${ADMIN}`, 'Member-Token': 'checked-after-the-query' };
    assert.ok(operations.length >= 39 && operations.some(([, , query]) => query.length > 1));
    for (const [method, template, query] of operations) {
      const path = concrete(template);
      const unknown = await api.request(method, `${path}?not_a_parameter=1`, { headers });
      assertProblem(unknown, 400, 'unknown_parameter');
      assert.equal(unknown.json.param, 'not_a_parameter', `${method} ${path}`);
      for (const name of query) {
        const twice = await api.request(method, `${path}?${name}=1&${name}=2`, { headers });
        assertProblem(twice, 400, 'duplicate_parameter');
        assert.equal(twice.json.param, name, `${method} ${path}`);
      }
    }
    // A documented parameter is accepted where it is documented only.
    assertProblem(await api.get('/v1/categories?currency=USD'), 400, 'unknown_parameter');
    assert.equal((await api.get('/v1/products/prd_00001?currency=USD')).status, 200);
  });
});
