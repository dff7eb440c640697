// End-to-end: the catalog API against the real Worker under workerd, with
// the 5,000-product demo catalog seeded into fresh local KV.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allPages, api, assertProblem, fold } from './client.mjs';

const CATALOG_SIZE = 5000;

describe('operations', () => {
  test('GET /health answers ok with a request id', async () => {
    const res = await api.health();
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
    assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{24}$/);
    assert.match(res.headers.get('server-timing'), /app;dur=\d+/);
  });

  test('a sane client X-Request-Id is kept, a malicious one replaced', async () => {
    const kept = await api.get('/health', { 'X-Request-Id': 'e2e-keep-1' });
    assert.equal(kept.headers.get('x-request-id'), 'e2e-keep-1');
    const replaced = await api.get('/health', { 'X-Request-Id': 'bad id\twith "quotes"' });
    assert.match(replaced.headers.get('x-request-id'), /^[0-9a-f]{24}$/);
  });

  test('every request writes one JSON log line', async () => {
    const { logLine } = await import('./client.mjs');
    const id = `e2e-log-${Date.now()}`;
    await api.products({ q: 'kettle', limit: '1' }, { 'X-Request-Id': id });
    const entry = await logLine(id);
    assert.equal(entry.method, 'GET');
    assert.equal(entry.path, '/v1/products');
    assert.equal(entry.status, 200);
    assert.equal(entry.level, 'info');
    assert.match(entry.ts, /^\d{4}-\d\d-\d\dT/);
    assert.ok(entry.catalog_version);
    const errId = `e2e-log-err-${Date.now()}`;
    await api.products({ limit: '0' }, { 'X-Request-Id': errId });
    const err = await logLine(errId);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_limit');
  });

  test('the demo shop is served as static assets', async () => {
    const res = await api.get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(res.text, /Edgecart/);
    const img = await api.get('/img/kitchen.svg');
    assert.equal(img.status, 200);
  });

  test('unknown routes and methods are problems, and CORS preflights succeed', async () => {
    assertProblem(await api.get('/v2/nothing'), 404, 'route_not_found');
    const post = await api.request('POST', '/v1/products', { body: '{}', headers: { 'Content-Type': 'application/json' } });
    assertProblem(post, 405, 'method_not_allowed');
    assert.match(post.headers.get('allow'), /GET/);
    // Methods workers-rs does not know are not served as GET. (A method
    // workerd's HTTP parser does not know at all, e.g. FOO, is answered
    // 501 by workerd before the Worker runs.)
    for (const [method, path, allow] of [
      ['QUERY', '/v1/products', 'GET, HEAD, OPTIONS'],
      ['SEARCH', '/health', 'GET, HEAD, OPTIONS'],
      ['QUERY', '/v1/carts', 'POST, OPTIONS'],
      ['PROPFIND', '/admin/v1/store', 'GET, HEAD, PUT, OPTIONS'],
    ]) {
      const r = await api.request(method, path);
      assertProblem(r, 405, 'method_not_allowed');
      assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
    }
    const pre = await api.request('OPTIONS', '/v1/products', {
      headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods'), /GET/);
    const get = await api.products({ limit: '1' }, { Origin: 'https://shop.example' });
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
    assert.match(get.headers.get('access-control-expose-headers'), /ETag/);
  });

  test('HEAD is answered like GET, without a body', async () => {
    const res = await api.request('HEAD', '/v1/products');
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.ok(res.headers.get('etag'));
  });
});

describe('OpenAPI', () => {
  // Every route this Worker serves. A served route missing from the document fails here
  // (and natively in src/routes.rs, which checks the router's own table).
  const PUBLIC = [
    ['get', '/health', '/health'],
    ['get', '/openapi.json', '/openapi.json'],
    ['get', '/v1/products', '/v1/products'],
    ['get', '/v1/products/{id_or_slug}', '/v1/products/prd_00001'],
    ['get', '/v1/categories', '/v1/categories'],
    ['get', '/v1/inventory/{sku}', '/v1/inventory/BK-00001-1'],
  ];
  // Admin routes answer 401 without a token: served, and guarded.
  const ADMIN = [
    ['get', '/admin/v1/products/{id}', '/admin/v1/products/prd_1'],
    ['put', '/admin/v1/products/{id}', '/admin/v1/products/prd_1'],
    ['delete', '/admin/v1/products/{id}', '/admin/v1/products/prd_1'],
    ['put', '/admin/v1/prices/{sku}/{currency}', '/admin/v1/prices/SKU-1/USD'],
    ['delete', '/admin/v1/prices/{sku}/{currency}', '/admin/v1/prices/SKU-1/USD'],
    ['put', '/admin/v1/categories/{slug}', '/admin/v1/categories/kitchen'],
    ['post', '/admin/v1/catalog/import', '/admin/v1/catalog/import'],
    ['get', '/admin/v1/audit', '/admin/v1/audit'],
    ['get', '/admin/v1/session', '/admin/v1/session'],
    ['post', '/admin/v1/inventory', '/admin/v1/inventory'],
    ['get', '/admin/v1/inventory/{sku}', '/admin/v1/inventory/BK-00001-1'],
    ['put', '/admin/v1/inventory/{sku}', '/admin/v1/inventory/BK-00001-1'],
    ['get', '/admin/v1/store', '/admin/v1/store'],
    ['put', '/admin/v1/store', '/admin/v1/store'],
    ['get', '/admin/v1/promotions', '/admin/v1/promotions'],
    ['get', '/admin/v1/promotions/{id}', '/admin/v1/promotions/save10'],
    ['put', '/admin/v1/promotions/{id}', '/admin/v1/promotions/save10'],
    ['delete', '/admin/v1/promotions/{id}', '/admin/v1/promotions/save10'],
    ['get', '/admin/v1/store/audit', '/admin/v1/store/audit'],
    ['get', '/admin/v1/store/prices', '/admin/v1/store/prices'],
    ['post', '/admin/v1/store/prices', '/admin/v1/store/prices'],
    ['get', '/admin/v1/stores', '/admin/v1/stores'],
    ['get', '/admin/v1/stores/{store_id}', '/admin/v1/stores/default'],
    ['put', '/admin/v1/stores/{store_id}', '/admin/v1/stores/default'],
    ['get', '/admin/v1/orders', '/admin/v1/orders'],
    ['get', '/admin/v1/orders/{id}', '/admin/v1/orders/ord_000000000000000000000000'],
    ['post', '/admin/v1/orders/{id}/fulfil', '/admin/v1/orders/ord_000000000000000000000000/fulfil'],
    ['post', '/admin/v1/orders/{id}/refund', '/admin/v1/orders/ord_000000000000000000000000/refund'],
    ['post', '/admin/v1/orders/{id}/cancel', '/admin/v1/orders/ord_000000000000000000000000/cancel'],
    ['get', '/admin/v1/checkouts', '/admin/v1/checkouts?state=stuck'],
    ['get', '/admin/v1/webhooks', '/admin/v1/webhooks'],
    ['post', '/admin/v1/webhooks', '/admin/v1/webhooks'],
    ['get', '/admin/v1/webhooks/{id}', '/admin/v1/webhooks/we_000000000000000000000000'],
    ['patch', '/admin/v1/webhooks/{id}', '/admin/v1/webhooks/we_000000000000000000000000'],
    ['delete', '/admin/v1/webhooks/{id}', '/admin/v1/webhooks/we_000000000000000000000000'],
    ['post', '/admin/v1/webhooks/{id}/rotate', '/admin/v1/webhooks/we_000000000000000000000000/rotate'],
    ['get', '/admin/v1/webhooks/{id}/deliveries', '/admin/v1/webhooks/we_000000000000000000000000/deliveries'],
    ['post', '/admin/v1/webhooks/{id}/replay', '/admin/v1/webhooks/we_000000000000000000000000/replay'],
    ['post', '/admin/v1/inventory/{sku}/adjustments', '/admin/v1/inventory/BK-00001-1/adjustments'],
    ['get', '/admin/v1/inventory/{sku}/movements', '/admin/v1/inventory/BK-00001-1/movements'],
    ['get', '/admin/v1/members/{member}/points', '/admin/v1/members/m-1001/points'],
    ['post', '/admin/v1/members/{member}/points/grants', '/admin/v1/members/m-1001/points/grants'],
    ['post', '/admin/v1/members/{member}/points/adjustments', '/admin/v1/members/m-1001/points/adjustments'],
    ['get', '/admin/v1/reports/sales', '/admin/v1/reports/sales'],
    ['get', '/admin/v1/reports/best-sellers', '/admin/v1/reports/best-sellers'],
    ['get', '/admin/v1/reports/points', '/admin/v1/reports/points'],
    ['get', '/admin/v1/reports/low-stock', '/admin/v1/reports/low-stock'],
  ];
  // Cart routes: creation answers 201; the others 404 without the cart's token.
  const CART = [
    ['post', '/v1/carts', '/v1/carts', 201],
    ['get', '/v1/carts/{id}', '/v1/carts/crt_000000000000000000000000', 404],
    ['post', '/v1/carts/{id}/lines', '/v1/carts/crt_000000000000000000000000/lines', 404],
    ['patch', '/v1/carts/{id}/lines/{sku}', '/v1/carts/crt_000000000000000000000000/lines/BK-00001-1', 404],
    ['delete', '/v1/carts/{id}/lines/{sku}', '/v1/carts/crt_000000000000000000000000/lines/BK-00001-1', 404],
    ['post', '/v1/carts/{id}/coupons', '/v1/carts/crt_000000000000000000000000/coupons', 404],
    ['delete', '/v1/carts/{id}/coupons', '/v1/carts/crt_000000000000000000000000/coupons', 404],
    ['delete', '/v1/carts/{id}/coupons/{code}', '/v1/carts/crt_000000000000000000000000/coupons/SAVE10', 404],
    ['post', '/v1/carts/{id}/checkout', '/v1/carts/crt_000000000000000000000000/checkout', 404],
    ['get', '/v1/orders/{id}', '/v1/orders/ord_000000000000000000000000', 404],
    ['post', '/v1/orders/{id}/cancel', '/v1/orders/ord_000000000000000000000000/cancel', 404],
  ];
  // Points routes: a member's read answers 401 without a member token; the
  // development sign-in 404 `dev_sign_in_off` unless DEV_MEMBER_SIGN_IN=on.
  const POINTS = [
    ['get', '/v1/points', '/v1/points', 401],
    ['post', '/v1/points/dev-token', '/v1/points/dev-token', 404],
  ];
  // The payment provider's webhooks: 400 `invalid_signature` without Stripe's signature.
  const WEBHOOKS = [['post', '/webhooks/stripe', '/webhooks/stripe', 400]];
  const SERVED = [...PUBLIC.map((r) => [...r, 200]), ...ADMIN.map((r) => [...r, 401]), ...CART, ...POINTS, ...WEBHOOKS];

  test('GET /openapi.json is an OpenAPI 3.1 document of every served route', async () => {
    const res = await api.openapi();
    assert.equal(res.status, 200);
    assert.match(res.json.openapi, /^3\.1\./);
    for (const [method, template, concrete, want] of SERVED) {
      assert.ok(res.json.paths[template]?.[method], `${method.toUpperCase()} ${template} is not documented`);
      const body = method === 'get' || method === 'delete' ? undefined : '{}';
      const headers = body ? { 'Content-Type': 'application/json' } : {};
      const served = await api.request(method.toUpperCase(), concrete, { body, headers });
      assert.equal(served.status, want, `${method.toUpperCase()} ${concrete} is documented and must be served`);
    }
    // And nothing documented is a route the Worker does not serve.
    for (const [template, ops] of Object.entries(res.json.paths)) {
      for (const method of Object.keys(ops).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
        assert.ok(
          SERVED.some(([m, t]) => m === method && t === template),
          `${method} ${template} is documented but not in this test's list of served routes`,
        );
      }
    }
  });
});

describe('GET /v1/products', () => {
  test('first page: items, total, facets over the whole set, next cursor', async () => {
    const res = await api.products();
    assert.equal(res.status, 200);
    const body = res.json;
    assert.equal(body.items.length, 20);
    assert.equal(body.total, CATALOG_SIZE);
    assert.equal(body.currency, 'USD');
    assert.equal(typeof body.next_cursor, 'string');
    const catSum = body.facets.categories.reduce((s, c) => s + c.count, 0);
    const bandSum = body.facets.price_bands.reduce((s, b) => s + b.count, 0);
    assert.equal(catSum, CATALOG_SIZE);
    assert.equal(bandSum, CATALOG_SIZE);
    assert.ok(body.facets.categories.length >= 8);
    const item = body.items[0];
    for (const key of ['id', 'slug', 'name', 'category', 'image', 'price', 'price_max', 'variant_count', 'url', 'created_at']) {
      assert.ok(key in item, `item has ${key}`);
    }
    assert.equal(item.price.currency, 'USD');
    assert.ok(Number.isInteger(item.price.amount));
    assert.equal(res.headers.get('cache-control'), 'public, no-cache');
    assert.match(res.headers.get('etag'), /^"[^"]+"$/);
  });

  test('limit bounds the page', async () => {
    assert.equal((await api.products({ limit: '1' })).json.items.length, 1);
    assert.equal((await api.products({ limit: '100' })).json.items.length, 100);
  });

  test('paging through a filtered query returns every match exactly once, in order', async () => {
    const params = { category: 'books', sort: 'price_asc', limit: '37', min_price: '1000' };
    const { items, first } = await allPages(params);
    assert.equal(items.length, first.total);
    assert.ok(first.total > 37, 'needs several pages');
    assert.equal(new Set(items.map((i) => i.id)).size, items.length, 'no duplicates');
    for (let i = 1; i < items.length; i++) {
      const [a, b] = [items[i - 1], items[i]];
      assert.ok(a.price.amount < b.price.amount || (a.price.amount === b.price.amount && a.id < b.id), 'price order');
    }
    assert.ok(items.every((i) => i.category.slug === 'books' && i.price.amount >= 1000));
  });

  test('a search matches case- and accent-insensitively', async () => {
    const a = await api.products({ q: 'crème brûlée', limit: '100' });
    const b = await api.products({ q: 'CREME BRULEE', limit: '100' });
    assert.equal(a.status, 200);
    assert.ok(a.json.total > 0);
    assert.deepEqual(
      a.json.items.map((i) => i.id),
      b.json.items.map((i) => i.id),
    );
    assert.ok(a.json.items.every((i) => fold(i.name).includes('creme brulee')));
    const cafe = await api.products({ q: 'cafe' });
    assert.ok(cafe.json.total > 0);
    assert.ok(fold(cafe.json.items[0].name).includes('cafe'), cafe.json.items[0].name);
  });

  test('the last word matches as a prefix, ranked by relevance', async () => {
    const res = await api.products({ q: 'espres' });
    assert.ok(res.json.total > 0);
    assert.ok(fold(res.json.items[0].name).includes('espresso'), res.json.items[0].name);
    const exact = await api.products({ q: 'espresso' });
    assert.equal(exact.json.total, res.json.total);
  });

  test('all words must match, name matches first', async () => {
    const res = await api.products({ q: 'wireless headphones', limit: '100' });
    assert.ok(res.json.total > 0);
    for (const item of res.json.items.slice(0, 5)) {
      assert.ok(fold(item.name).includes('wireless') && fold(item.name).includes('headphones'), item.name);
    }
    const none = await api.products({ q: 'wireless cookbook' });
    assert.equal(none.json.total, 0);
    assert.deepEqual(none.json.items, []);
    assert.equal(none.json.next_cursor, null);
  });

  test('category filter and the categories endpoint agree', async () => {
    const cats = await api.categories();
    assert.equal(cats.status, 200);
    assert.ok(cats.json.items.length >= 8);
    const total = cats.json.items.reduce((s, c) => s + c.product_count, 0);
    assert.equal(total, CATALOG_SIZE);
    const kitchen = cats.json.items.find((c) => c.slug === 'kitchen');
    const res = await api.products({ category: 'kitchen', limit: '100' });
    assert.equal(res.json.total, kitchen.product_count);
    assert.ok(res.json.items.every((i) => i.category.slug === 'kitchen'));
  });

  test('price filters are inclusive, in minor units of the chosen currency', async () => {
    const res = await api.products({ min_price: '2000', max_price: '2999', currency: 'EUR', limit: '100' });
    assert.equal(res.status, 200);
    assert.ok(res.json.total > 0);
    for (const i of res.json.items) {
      assert.equal(i.price.currency, 'EUR');
      assert.ok(i.price.amount >= 2000 && i.price.amount <= 2999, String(i.price.amount));
    }
    const band = res.json.facets.price_bands.find((b) => b.min_price === 2500);
    assert.equal(band.max_price, 4999);
  });

  test('sort orders', async () => {
    const check = async (sort, ok) => {
      const res = await api.products({ sort, limit: '100' });
      assert.equal(res.status, 200);
      const items = res.json.items;
      for (let i = 1; i < items.length; i++) assert.ok(ok(items[i - 1], items[i]), `${sort} at ${i}`);
    };
    await check('price_asc', (a, b) => a.price.amount <= b.price.amount);
    await check('price_desc', (a, b) => a.price.amount >= b.price.amount);
    await check('name', (a, b) => fold(a.name) <= fold(b.name));
    await check('newest', (a, b) => a.created_at >= b.created_at);
    const rel = await api.products({ sort: 'relevance', limit: '5' });
    const dflt = await api.products({ limit: '5' });
    assert.deepEqual(rel.json.items, dflt.json.items);
  });

  test('currency switches price lists and is case-insensitive', async () => {
    const eur = await api.products({ currency: 'eur', limit: '3' });
    assert.equal(eur.status, 200);
    assert.equal(eur.json.currency, 'EUR');
    assert.ok(eur.json.items.every((i) => i.price.currency === 'EUR'));
  });

  test('ETag revalidation answers 304 without a body', async () => {
    const first = await api.products({ q: 'tea' });
    const etag = first.headers.get('etag');
    const again = await api.products({ q: 'tea' }, { 'If-None-Match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal(again.headers.get('etag'), etag);
    const weak = await api.products({ q: 'tea' }, { 'If-None-Match': `W/${etag}` });
    assert.equal(weak.status, 304);
    const other = await api.products({ q: 'tea' }, { 'If-None-Match': '"something-else"' });
    assert.equal(other.status, 200);
    // A matching ETag never hides a bad request.
    assertProblem(await api.products({ category: 'nope' }, { 'If-None-Match': etag }), 400, 'unknown_category');
  });

  test('bad input gets 400 problem+json with a stable code', async () => {
    const cases = [
      [{ sort: 'cheapest' }, 'invalid_sort', 'sort'],
      [{ limit: '0' }, 'invalid_limit', 'limit'],
      [{ limit: '1000' }, 'invalid_limit', 'limit'],
      [{ limit: '-3' }, 'invalid_limit', 'limit'],
      [{ limit: '2.5' }, 'invalid_limit', 'limit'],
      [{ min_price: '-1' }, 'invalid_price', 'min_price'],
      [{ max_price: '12e3' }, 'invalid_price', 'max_price'],
      [{ max_price: '99999999999999999999' }, 'invalid_price', 'max_price'],
      [{ min_price: '500', max_price: '100' }, 'invalid_price_range', 'min_price'],
      [{ cursor: 'not-a-cursor' }, 'invalid_cursor', 'cursor'],
      [{ cursor: '%%%' }, 'invalid_cursor', 'cursor'],
      [{ currency: 'XYZ' }, 'unknown_currency', 'currency'],
      [{ currency: 'GBP' }, 'unknown_currency', 'currency'],
      [{ currency: 'euros' }, 'unknown_currency', 'currency'],
      [{ q: 'x'.repeat(201) }, 'query_too_long', 'q'],
      [{ q: 'a b c d e f g h i j k l m n o' }, 'query_too_long', 'q'],
      [{ category: 'garden' }, 'unknown_category', 'category'],
      [{ colour: 'red' }, 'unknown_parameter', 'colour'],
      [{ in_stock: 'yes' }, 'invalid_in_stock', 'in_stock'],
    ];
    for (const [params, code, param] of cases) {
      const res = await api.products(params);
      assertProblem(res, 400, code);
      assert.equal(res.json.param, param, JSON.stringify(params));
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    assertProblem(await api.get('/v1/products?limit=5&limit=6'), 400, 'duplicate_parameter');
  });

  test("a cursor from another query is refused", async () => {
    const page = await api.products({ sort: 'name', limit: '2' });
    const res = await api.products({ sort: 'newest', limit: '2', cursor: page.json.next_cursor });
    assertProblem(res, 400, 'invalid_cursor');
  });

  test('junk never produces a 500', async () => {
    const junk = [
      '/v1/products?q=%00%ff%fe',
      '/v1/products?q=%F0%9F%98%80%F0%9F%98%80',
      '/v1/products?%=%',
      '/v1/products?q=' + '%E2%80%8B'.repeat(100),
      '/v1/products?cursor=' + 'A'.repeat(5000),
      '/v1/products?min_price=&max_price=&sort=&limit=',
      '/v1/products/' + 'x'.repeat(3000),
      '/v1/products/%2e%2e%2f%2e%2e',
      '/v1/products/prd_00001?currency=%00',
      '/v1/categories?x=1',
    ];
    for (const path of junk) {
      const res = await api.get(path);
      assert.ok(res.status < 500, `${path} -> ${res.status} ${res.text.slice(0, 200)}`);
      if (res.status >= 400) assert.match(res.headers.get('content-type'), /problem\+json/);
    }
  });
});

describe('GET /v1/products/{id_or_slug}', () => {
  test('by id and by slug, with variants and prices', async () => {
    const list = await api.products({ limit: '1', sort: 'price_desc' });
    const { id, slug } = list.json.items[0];
    const byId = await api.product(id);
    const bySlug = await api.product(slug);
    assert.equal(byId.status, 200);
    assert.deepEqual(byId.json, bySlug.json);
    const p = byId.json;
    assert.equal(p.id, id);
    assert.ok(p.description.length > 0);
    assert.ok(p.variants.length >= 1 && p.variants.length <= 4);
    for (const v of p.variants) {
      assert.match(v.sku, /^[A-Z0-9-]+$/);
      assert.equal(v.price.currency, 'USD');
      assert.deepEqual(v.prices.map((m) => m.currency).sort(), ['EUR', 'USD']);
    }
    assert.equal(p.price.amount, Math.min(...p.variants.map((v) => v.price.amount)));
    assert.equal(p.price.amount, list.json.items[0].price.amount);
    assert.ok(byId.headers.get('etag'));
  });

  test('in another currency', async () => {
    const p = await api.product('prd_00001', { currency: 'EUR' });
    assert.equal(p.status, 200);
    assert.equal(p.json.currency, 'EUR');
    assert.ok(p.json.variants.every((v) => v.price.currency === 'EUR'));
    assertProblem(await api.product('prd_00001', { currency: 'JPY' }), 400, 'unknown_currency');
    assertProblem(await api.product('prd_00001', { sort: 'name' }), 400, 'unknown_parameter');
  });

  test('revalidates with 304', async () => {
    const p = await api.product('prd_00002');
    const again = await api.product('prd_00002', {}, { 'If-None-Match': p.headers.get('etag') });
    assert.equal(again.status, 304);
  });

  test('unknown product is 404 problem+json', async () => {
    assertProblem(await api.product('prd_99999'), 404, 'product_not_found');
    assertProblem(await api.product('no-such-product'), 404, 'product_not_found');
  });
});
