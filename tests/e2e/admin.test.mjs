// End-to-end: the admin catalog API against the real Worker. Every product
// these tests create lives in their own category and is deleted at the end,
// so the demo catalog the other tests read stays as seeded.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { api, assertProblem } from './client.mjs';

const ADMIN = process.env.EDGECART_ADMIN_TOKEN;
const VIEWER = process.env.EDGECART_VIEWER_TOKEN;
const CATEGORY = 'e2e-gadgets';
const created = new Set();

function admin(method, path, body, { token = ADMIN, type = 'application/json', headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = type;
  return api.request(method, path, { headers: h, body });
}

function product(n, overrides = {}) {
  return {
    id: `prd_e2e${n}`,
    slug: `e2e-zorblax-gadget-${n}`,
    name: `Zorblax Gadget ${n}`,
    description: 'A gadget made for end-to-end tests.',
    category: CATEGORY,
    tags: ['e2e'],
    variants: [{ sku: `E2E-${n}-A`, name: 'Standard', prices: { USD: 1000 + n, EUR: 900 + n } }],
    ...overrides,
  };
}

async function putProduct(p, opts) {
  const res = await admin('PUT', `/admin/v1/products/${p.id}`, JSON.stringify(p), opts);
  if (res.status === 200 || res.status === 201) created.add(p.id);
  return res;
}

after(async () => {
  for (const id of created) await admin('DELETE', `/admin/v1/products/${id}`);
});

describe('admin authentication', () => {
  const routes = [
    ['GET', '/admin/v1/products/prd_00001', undefined],
    ['PUT', '/admin/v1/products/prd_e2e999', JSON.stringify(product(999))],
    ['DELETE', '/admin/v1/products/prd_00001', undefined],
    ['PUT', '/admin/v1/prices/BK-00001-1/USD', '{"amount":1}'],
    ['DELETE', '/admin/v1/prices/BK-00001-1/EUR', undefined],
    ['PUT', '/admin/v1/categories/books', '{"name":"Hacked"}'],
    ['POST', '/admin/v1/catalog/import', '{}\n'],
    ['GET', '/admin/v1/audit', undefined],
    ['GET', '/admin/v1/session', undefined],
  ];

  test('no token or a wrong token is 401 on every admin route, and nothing changes', async () => {
    for (const [method, path, body] of routes) {
      const type = path.endsWith('/import') ? 'application/x-ndjson' : 'application/json';
      // null sends no Authorization header at all.
      for (const token of [null, 'not-the-token-0123456789', `${ADMIN}x`]) {
        const res = await admin(method, path, body, { token, type });
        assertProblem(res, 401, 'unauthorized');
        assert.match(res.headers.get('www-authenticate'), /^Bearer/);
        assert.equal(res.headers.get('cache-control'), 'no-store');
      }
      const basic = await admin(method, path, body, { token: null, type, headers: { Authorization: `Basic ${ADMIN}` } });
      assertProblem(basic, 401, 'unauthorized');
    }
    assertProblem(await api.product('prd_e2e999'), 404, 'product_not_found');
    const book = await api.product('prd_00001');
    assert.equal(book.status, 200);
    assert.equal(book.json.category.name, 'Books');
  });

  test('a viewer token may read the audit trail but not write (403)', async () => {
    for (const [method, path, body] of routes) {
      const type = path.endsWith('/import') ? 'application/x-ndjson' : 'application/json';
      const res = await admin(method, path, body, { token: VIEWER, type });
      if (method === 'GET') assert.equal(res.status, 200);
      else assertProblem(res, 403, 'forbidden');
    }
    assertProblem(await api.product('prd_e2e999'), 404, 'product_not_found');
  });
});

describe('admin session', () => {
  test('GET /admin/v1/session names the token: label, role and store', async () => {
    const cases = [
      [ADMIN, { label: 'e2e', role: 'operator', store: null }],
      [VIEWER, { label: 'e2e-viewer', role: 'viewer', store: 'default' }],
      [process.env.EDGECART_STORE_ADMIN_TOKEN, { label: 'e2e-shop', role: 'admin', store: 'default' }],
      [process.env.EDGECART_BANK_ADMIN_TOKEN, { label: 'e2e-bank', role: 'admin', store: 'bank' }],
    ];
    for (const [token, want] of cases) {
      const res = await admin('GET', '/admin/v1/session', undefined, { token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, want);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    assertProblem(await admin('GET', '/admin/v1/session?store=bank'), 400, 'unknown_parameter');
  });
});

describe('admin writes', () => {
  test('categories are created, renamed, and unchanged when equal', async () => {
    const first = await admin('PUT', `/admin/v1/categories/${CATEGORY}`, '{"name":"E2E Gadgetz"}');
    assert.ok([200, 201].includes(first.status), first.text);
    const renamed = await admin('PUT', `/admin/v1/categories/${CATEGORY}`, '{"name":"E2E Gadgets"}');
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.outcome, 'updated');
    const same = await admin('PUT', `/admin/v1/categories/${CATEGORY}`, '{"name":"E2E Gadgets"}');
    assert.equal(same.json.outcome, 'unchanged');
    const cats = await api.categories();
    assert.equal(cats.json.items.find((c) => c.slug === CATEGORY).name, 'E2E Gadgets');
    assertProblem(await admin('PUT', '/admin/v1/categories/Bad_Slug', '{"name":"x"}'), 422, 'validation_failed');
  });

  test('a created product is readable and searchable on the next request', async () => {
    const before = await api.products({ q: 'zorblax' });
    const res = await putProduct(product(1));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.outcome, 'created');
    assert.ok(res.json.catalog_version);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const detail = await api.product('prd_e2e1');
    assert.equal(detail.status, 200);
    assert.equal(detail.json.name, 'Zorblax Gadget 1');
    assert.equal((await api.product('e2e-zorblax-gadget-1')).json.id, 'prd_e2e1');
    const after = await api.products({ q: 'zorblax' });
    assert.equal(after.json.total, before.json.total + 1);
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    const facet = after.json.facets.categories.find((c) => c.slug === CATEGORY);
    assert.equal(facet.count, after.json.total);
    const again = await putProduct(product(1));
    assert.equal(again.status, 200);
    assert.equal(again.json.outcome, 'unchanged');
  });

  test('a price change is visible on the next read with a new ETag', async () => {
    await putProduct(product(2));
    const before = await api.product('prd_e2e2');
    const res = await admin('PUT', '/admin/v1/prices/E2E-2-A/USD', '{"amount":4321}');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.outcome, 'updated');
    const after = await api.product('prd_e2e2');
    assert.equal(after.json.variants[0].price.amount, 4321);
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    const revalidated = await api.product('prd_e2e2', {}, { 'If-None-Match': before.headers.get('etag') });
    assert.equal(revalidated.status, 200, 'the old ETag no longer matches');
    const listed = await api.products({ q: 'zorblax gadget 2' });
    assert.equal(listed.json.items.find((i) => i.id === 'prd_e2e2').price.amount, 4321);
  });

  test('prices: set a new currency, delete it, never the last one', async () => {
    await putProduct(product(3));
    assert.equal((await admin('DELETE', '/admin/v1/prices/E2E-3-A/EUR')).json.outcome, 'deleted');
    assertProblem(await admin('DELETE', '/admin/v1/prices/E2E-3-A/EUR'), 404, 'price_not_found');
    assertProblem(await admin('DELETE', '/admin/v1/prices/E2E-3-A/USD'), 409, 'last_price');
    assertProblem(await admin('PUT', '/admin/v1/prices/NO-SUCH-SKU/USD', '{"amount":1}'), 404, 'sku_not_found');
    assertProblem(await admin('PUT', '/admin/v1/prices/E2E-3-A/XYZ', '{"amount":1}'), 404, 'unknown_currency');
    const bad = await admin('PUT', '/admin/v1/prices/E2E-3-A/USD', '{"amount":-1}');
    assertProblem(bad, 422, 'validation_failed');
    assertProblem(await admin('PUT', '/admin/v1/prices/E2E-3-A/USD', '{"amount":1,"total":2}'), 400, 'unknown_field');
    const p = await api.product('prd_e2e3');
    assert.deepEqual(p.json.variants[0].prices, [{ amount: 1003, currency: 'USD' }]);
  });

  test('bad product bodies get clear errors and write nothing', async () => {
    await putProduct(product(4));
    const put = (body, opts) => admin('PUT', '/admin/v1/products/prd_e2e4', typeof body === 'string' ? body : JSON.stringify(body), opts);
    const unknown = await put({ ...product(4), price: 5 });
    assertProblem(unknown, 400, 'unknown_field');
    assert.equal(unknown.json.field, 'price');
    const nested = await put({ ...product(4), variants: [{ ...product(4).variants[0], total: 1 }] });
    assertProblem(nested, 400, 'unknown_field');
    assert.equal(nested.json.field, 'variants[0].total');
    const { name: _name, ...noName } = product(4);
    const missing = await put(noName);
    assertProblem(missing, 400, 'missing_field');
    assert.equal(missing.json.field, 'name');
    assertProblem(await put('{"id": "prd_e2e4",'), 400, 'invalid_json');
    const invalid = await put(
      product(4, {
        name: 'Renamed but invalid',
        slug: 'Not A Slug',
        category: 'no-such-category',
        variants: [{ sku: 'E2E-4-A', name: 'Standard', prices: { USD: -5, ABC: 10 } }],
      }),
    );
    assertProblem(invalid, 422, 'validation_failed');
    const fields = invalid.json.errors.map((e) => `${e.field}:${e.code}`).sort();
    assert.deepEqual(fields, [
      'category:unknown_category',
      'slug:invalid_slug',
      'variants[0].prices.ABC:unknown_currency',
      'variants[0].prices.USD:invalid_price',
    ]);
    const dupSlug = await put(product(4, { slug: 'urban-collectors-graphic-novel' }));
    assertProblem(dupSlug, 422, 'validation_failed');
    assert.equal(dupSlug.json.errors[0].code, 'duplicate_slug');
    const dupSku = await put(product(4, { variants: [{ sku: 'BK-00001-1', name: 'x', prices: { USD: 1 } }] }));
    assert.equal(dupSku.json.errors[0].code, 'duplicate_sku');
    const mismatch = await admin('PUT', '/admin/v1/products/prd_e2e4', JSON.stringify(product(5)));
    assertProblem(mismatch, 422, 'validation_failed');
    assert.equal(mismatch.json.errors[0].code, 'id_mismatch');
    assertProblem(await put(product(4), { type: 'text/plain' }), 415, 'unsupported_media_type');
    assertProblem(await put(product(4, { description: 'x'.repeat(70_000) })), 413, 'payload_too_large');
    // The same without Content-Length (a chunked body): refused once it
    // passes the limit, not read whole first.
    // The client sends `bytes` (past the limit) without ending the body,
    // as a client that watches for an early answer would, and reads the
    // answer: the server must refuse before the body ends. (node:http, not
    // fetch, which cannot read an answer while its upload is unfinished.)
    const chunked = (path, method, headers, bytes) =>
      new Promise((resolve, reject) => {
        const chunk = Buffer.from('x'.repeat(8192));
        const req = http.request(`${process.env.EDGECART_URL}${path}`, { method, headers });
        const timer = setTimeout(() => {
          req.destroy();
          reject(new Error(`no answer to ${bytes} bytes of an unfinished body`));
        }, 15_000);
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            clearTimeout(timer);
            req.destroy();
            resolve({ status: res.statusCode, headers: new Headers(res.headers), text, json: text ? JSON.parse(text) : null });
          });
        });
        req.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        req.flushHeaders();
        for (let sent = 0; sent < bytes; sent += chunk.length) req.write(chunk);
      });
    const json = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
    assertProblem(await chunked('/admin/v1/products/prd_e2e4', 'PUT', json, 80_000), 413, 'payload_too_large');
    assertProblem(await chunked('/v1/carts', 'POST', { 'Content-Type': 'application/json' }, 80_000), 413, 'payload_too_large');
    const still = await api.product('prd_e2e4');
    assert.equal(still.json.name, 'Zorblax Gadget 4');
    assert.equal(still.json.variants[0].price.amount, 1004);
    assertProblem(await api.product('prd_e2e5'), 404, 'product_not_found');
  });

  test('a deleted product is gone from detail, search and facets', async () => {
    await putProduct(product(6, { name: 'Zorblax Vanisher' }));
    assert.equal((await api.products({ q: 'vanisher' })).json.total, 1);
    const del = await admin('DELETE', '/admin/v1/products/prd_e2e6');
    assert.equal(del.status, 200);
    assert.equal(del.json.outcome, 'deleted');
    created.delete('prd_e2e6');
    assertProblem(await api.product('prd_e2e6'), 404, 'product_not_found');
    const search = await api.products({ q: 'vanisher' });
    assert.equal(search.json.total, 0);
    assertProblem(await admin('DELETE', '/admin/v1/products/prd_e2e6'), 404, 'product_not_found');
  });

  test('concurrent writes are all applied: none is lost', async () => {
    const n = 12;
    const creates = await Promise.all(Array.from({ length: n }, (_, i) => putProduct(product(100 + i))));
    assert.deepEqual(
      creates.map((r) => r.status),
      Array(n).fill(201),
    );
    const prices = await Promise.all(
      Array.from({ length: n }, (_, i) => admin('PUT', `/admin/v1/prices/E2E-${100 + i}-A/USD`, JSON.stringify({ amount: 7000 + i }))),
    );
    assert.ok(prices.every((r) => r.status === 200));
    for (let i = 0; i < n; i++) {
      const p = await api.product(`prd_e2e${100 + i}`);
      assert.equal(p.json.variants[0].price.amount, 7000 + i);
    }
  });
});

describe('a product as stored', () => {
  // The back office edits a product from this read: the public view shows a
  // store's own prices in place of the base ones and has no `position`, so a
  // body built from it would overwrite both.
  test('GET /admin/v1/products/{id} answers the stored record (base prices, position), and sent back without schema it changes nothing', async () => {
    const p = product(7, {
      position: 42,
      max_per_order: 4,
      variants: [
        { sku: 'E2E-7-A', name: 'Standard', options: { size: 'M' }, prices: { USD: 1007, EUR: 907 } },
        { sku: 'E2E-7-B', name: 'Large', prices: { USD: 1507, EUR: 1407 } },
      ],
    });
    const put = await putProduct(p);
    assert.equal(put.status, 201, put.text);
    // The store sells E2E-7-A at a price of its own.
    const own = await admin('POST', '/admin/v1/store/prices', JSON.stringify({ prices: [{ sku: 'E2E-7-A', currency: 'USD', amount: 555 }] }));
    assert.equal(own.status, 200, own.text);
    const shown = await api.product('prd_e2e7', { currency: 'USD' });
    assert.equal(shown.status, 200, shown.text);
    assert.equal(shown.json.variants[0].price.amount, 555, 'the public view shows the store\'s price');
    assert.equal(shown.json.position, undefined);

    const res = await admin('GET', '/admin/v1/products/prd_e2e7');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('etag'), null);
    assert.deepEqual(res.json, put.json.product, 'the product a write answers with');
    assert.equal(res.json.schema, 1);
    assert.equal(res.json.position, 42);
    assert.equal(res.json.max_per_order, 4);
    assert.deepEqual(res.json.variants.map((v) => [v.sku, v.prices]), [
      ['E2E-7-A', { EUR: 907, USD: 1007 }],
      ['E2E-7-B', { EUR: 1407, USD: 1507 }],
    ]);

    // The round trip is lossless: GET, drop `schema`, PUT answers `unchanged`.
    const { schema, ...body } = res.json;
    const back = await admin('PUT', '/admin/v1/products/prd_e2e7', JSON.stringify(body));
    assert.equal(back.status, 200, back.text);
    assert.equal(back.json.outcome, 'unchanged');
    assert.deepEqual((await admin('GET', '/admin/v1/products/prd_e2e7')).json, res.json);
    assert.equal((await api.product('prd_e2e7', { currency: 'USD' })).json.variants[0].price.amount, 555);
    // `schema` itself is not an input field.
    assertProblem(await admin('PUT', '/admin/v1/products/prd_e2e7', JSON.stringify(res.json)), 400, 'unknown_field');

    const head = await admin('HEAD', '/admin/v1/products/prd_e2e7');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    // Every admin or viewer token reads the shared catalog; none but a valid one.
    for (const token of [VIEWER, process.env.EDGECART_STORE_ADMIN_TOKEN, process.env.EDGECART_BANK_ADMIN_TOKEN]) {
      const r = await admin('GET', '/admin/v1/products/prd_e2e7', undefined, { token });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, res.json);
    }
    for (const token of [null, `${ADMIN}x`]) {
      assertProblem(await admin('GET', '/admin/v1/products/prd_e2e7', undefined, { token }), 401, 'unauthorized');
    }
    // An id, exactly: no product, or a slug, is 404; the route takes no store.
    assertProblem(await admin('GET', '/admin/v1/products/prd_e2e999'), 404, 'product_not_found');
    assertProblem(await admin('GET', `/admin/v1/products/${p.slug}`), 404, 'product_not_found');
    assertProblem(await admin('GET', '/admin/v1/products/prd_e2e7?store=default'), 400, 'unknown_parameter');
    // Deleted, it is gone at once (read from the writer, not from KV).
    assert.equal((await admin('DELETE', '/admin/v1/products/prd_e2e7')).json.outcome, 'deleted');
    created.delete('prd_e2e7');
    assertProblem(await admin('GET', '/admin/v1/products/prd_e2e7'), 404, 'product_not_found');
  });
});

describe('bulk import', () => {
  const line = (n, overrides) => JSON.stringify(product(200 + n, overrides));
  const file = [
    line(0),
    '{"id": "prd_e2e201", "broken json',
    line(2),
    line(3),
    line(4, { variants: [{ sku: 'E2E-204-A', name: 'x', prices: { USD: -1 } }] }),
    '',
    line(6),
    line(7),
    JSON.stringify({ ...product(208), colour: 'red' }),
    line(9),
  ].join('\n');

  test('a file with exactly 3 bad lines reports exactly those lines and applies the rest', async () => {
    const res = await admin('POST', '/admin/v1/catalog/import', file, { type: 'application/x-ndjson' });
    assert.equal(res.status, 200, res.text);
    const r = res.json;
    for (const i of [0, 2, 3, 6, 7, 9]) created.add(`prd_e2e${200 + i}`);
    assert.equal(r.received, 9);
    assert.equal(r.created, 6);
    assert.equal(r.rejected, 3);
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [2, 5, 9],
    );
    assert.equal(r.errors[0].errors[0].code, 'invalid_json');
    assert.equal(r.errors[1].errors[0].code, 'invalid_price');
    assert.equal(r.errors[1].errors[0].field, 'variants[0].prices.USD');
    assert.equal(r.errors[2].errors[0].code, 'unknown_field');
    assert.equal((await api.product('prd_e2e209')).status, 200);
    assertProblem(await api.product('prd_e2e204'), 404, 'product_not_found');

    const again = await admin('POST', '/admin/v1/catalog/import', file, { type: 'application/x-ndjson' });
    assert.equal(again.json.created, 0);
    assert.equal(again.json.updated, 0);
    assert.equal(again.json.unchanged, 6);
    assert.equal(again.json.rejected, 3);
    assert.equal(again.json.catalog_version, r.catalog_version, 're-import publishes nothing new');
  });

  test('import refuses other media types and reports over-long lines', async () => {
    assertProblem(await admin('POST', '/admin/v1/catalog/import', file, { type: 'application/json' }), 415, 'unsupported_media_type');
    const long = `${line(50)}\n${JSON.stringify(product(251, { description: 'y'.repeat(70_000) }))}\n`;
    created.add('prd_e2e250');
    const res = await admin('POST', '/admin/v1/catalog/import', long, { type: 'application/x-ndjson' });
    assert.equal(res.json.created, 1);
    assert.deepEqual(res.json.errors, [{ line: 2, errors: [{ field: null, code: 'line_too_long', message: res.json.errors[0].errors[0].message }] }]);
  });
});

describe('audit trail', () => {
  test('lists every change in order, with actor and before/after', async () => {
    const items = [];
    let cursor;
    for (let i = 0; i < 500; i++) {
      const res = await admin('GET', `/admin/v1/audit?limit=37${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      items.push(...res.json.items);
      cursor = res.json.next_cursor;
      if (!cursor) break;
    }
    const seqs = items.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in commit order');
    assert.equal(new Set(seqs).size, seqs.length, 'no duplicates across pages');
    const mine = items.filter((e) => e.target.toLowerCase().includes('e2e'));
    const rename = mine.find((e) => e.action === 'category.rename');
    assert.equal(rename.actor, 'e2e');
    assert.equal(rename.before.name, 'E2E Gadgetz');
    assert.equal(rename.after.name, 'E2E Gadgets');
    const priceSet = mine.find((e) => e.action === 'price.set' && e.target === 'price:E2E-2-A:USD');
    assert.equal(priceSet.before.amount, 1002);
    assert.equal(priceSet.after.amount, 4321);
    const order = (action, target) => mine.findIndex((e) => e.action === action && e.target === target);
    assert.ok(order('product.create', 'product:prd_e2e6') < order('product.delete', 'product:prd_e2e6'));
    assert.ok(order('product.create', 'product:prd_e2e2') < order('price.set', 'price:E2E-2-A:USD'));
    assert.ok(mine.every((e) => /^\d{4}-\d\d-\d\dT/.test(e.at)));
    // Refused and unchanged writes leave no entry.
    assert.equal(mine.filter((e) => e.target === 'product:prd_e2e4').length, 1);
  });

  test('bad paging parameters are 400', async () => {
    assertProblem(await admin('GET', '/admin/v1/audit?limit=0'), 400, 'invalid_limit');
    assertProblem(await admin('GET', '/admin/v1/audit?cursor=zzz'), 400, 'invalid_cursor');
    assertProblem(await admin('GET', '/admin/v1/audit?sort=asc'), 400, 'unknown_parameter');
  });
});
