// Catalog: search through the store's public catalog API (GET
// /v1/products?q=…&store=…, exactly what shoppers see), edit a product as
// stored (GET, then PUT /admin/v1/products/{id}: never from the public view,
// whose prices are the store's), its shared prices per currency (PUT
// /admin/v1/prices/{sku}/{currency}) and the store's own prices (GET/POST
// /admin/v1/store/prices), and import an NDJSON file (POST
// /admin/v1/catalog/import). The import sends the file in chunks of lines
// (the endpoint applies each valid line and reports every rejected one
// with its line number in the body it was sent, so chunks are independent);
// the progress bar advances per chunk and each error's line is mapped back
// to the file's line number.
import { api, can, session } from '../api.js';
import { busy, errorBox, field, h, jsonEditor, money, notice, number, table } from '../ui.js';

/** Lines per import request, unless the form says otherwise. */
export const CHUNK_LINES = 200;

/**
 * The stored product (GET /admin/v1/products/{id}) as a `ProductInput`: the
 * record without its `schema`. Sent back unedited it changes nothing; it
 * keeps the base prices and `position`, which the public view (one store's
 * prices, no `position`) would lose.
 */
function toInput(stored) {
  const { schema, ...input } = stored;
  return input;
}

/**
 * Imports `text` (NDJSON) in chunks of `size` lines; `progress(done, total)`
 * after each. Returns the summed report, with `errors` at file line numbers.
 */
export async function importNdjson(text, progress, size = CHUNK_LINES) {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const sum = { received: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, errors: [], errors_truncated: false };
  progress(0, lines.length);
  for (let start = 0; start < lines.length; start += size) {
    const chunk = lines.slice(start, start + size);
    const r = await api('POST', '/admin/v1/catalog/import', { raw: `${chunk.join('\n')}\n`, type: 'application/x-ndjson' });
    for (const k of ['received', 'created', 'updated', 'unchanged', 'rejected']) sum[k] += r[k] ?? 0;
    sum.errors.push(...r.errors.map((e) => ({ ...e, line: e.line + start })));
    sum.errors_truncated ||= r.errors_truncated;
    sum.catalog_version = r.catalog_version;
    progress(Math.min(start + size, lines.length), lines.length);
  }
  return sum;
}

function importer() {
  const bar = h('progress', { id: 'import-progress', max: 1, value: 0, 'aria-label': 'Import progress' });
  const status = h('p', { id: 'import-status', 'aria-live': 'polite' });
  const out = h('div', { id: 'import-report' });
  const form = h(
    'form',
    { class: 'card', id: 'import' },
    h('h2', {}, 'Import products (NDJSON)'),
    h('p', { class: 'muted' }, 'One product per line, as PUT /admin/v1/products/{id} takes it, sent a chunk of lines at a time; valid lines are applied, rejected lines change nothing.'),
    field('NDJSON file', { type: 'file', name: 'file', id: 'import-file', accept: '.ndjson,.jsonl,application/x-ndjson,application/jsonl', required: true }),
    field('Lines per request', { type: 'number', name: 'chunk', id: 'import-chunk', min: 1, max: 100000, step: 1, value: CHUNK_LINES }, 'The progress bar advances after each request.'),
    h('button', { type: 'submit', class: 'primary' }, 'Import'),
    bar,
    status,
    out,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = form.querySelector('#import-file').files[0];
    if (!file) return;
    busy(form.querySelector('button'), async () => {
      out.replaceChildren();
      try {
        const size = Math.max(1, Math.floor(Number(form.querySelector('#import-chunk').value)) || CHUNK_LINES);
        const r = await importNdjson(await file.text(), (done, total) => {
          bar.max = Math.max(total, 1);
          bar.value = done;
          status.textContent = `${number(done)} of ${number(total)} lines sent`;
        }, size);
        out.replaceChildren(h('div', {},
          h('p', { class: r.rejected ? 'error' : 'ok', id: 'import-summary' },
            `${number(r.received)} lines: ${number(r.created)} created, ${number(r.updated)} updated, ${number(r.unchanged)} unchanged, ${number(r.rejected)} rejected.`),
          r.errors.length
            ? h('ul', { class: 'import-errors', id: 'import-errors' }, r.errors.map((e) =>
                h('li', { 'data-line': e.line }, h('strong', {}, `Line ${e.line}: `), e.errors.map((x) => `${x.field ? `${x.field}: ` : ''}${x.message} (${x.code})`).join('; '))))
            : null,
          r.errors_truncated ? h('p', {}, 'More lines were rejected than listed.') : null,
        ));
      } catch (e) {
        status.textContent += ' — stopped.';
        out.replaceChildren(h('p', {}, 'The import stopped; lines sent before were applied. Re-import the file (applied lines count as unchanged).'), errorBox(e));
      }
    });
  });
  return form;
}

async function search(main) {
  const s = session();
  main.append(h('h1', {}, `Catalog · ${s.store}`));
  const form = h(
    'form',
    { class: 'card row', id: 'catalog-search' },
    field('Search products', { type: 'search', name: 'q', id: 'catalog-q' }),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  const out = h('div', { id: 'catalog-results' });
  const run = async () => {
    try {
      const q = new FormData(form).get('q');
      const r = await api('GET', '/v1/products', { store: true, query: { q, limit: 50 } });
      out.replaceChildren(
        h('p', { class: 'muted' }, `${number(r.total)} products (${r.currency}).`),
        table('Products', [
          { label: 'Product', get: (p) => h('a', { href: `#/catalog/${encodeURIComponent(p.id)}` }, p.name) },
          { label: 'Id', get: (p) => p.id },
          { label: 'Category', get: (p) => p.category?.name ?? p.category ?? '' },
          { label: 'Price', num: true, get: (p) => (p.price ? money(p.price.amount, p.price.currency) : '') },
        ], r.items, 'No products found.'),
      );
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form.querySelector('button'), run);
  });
  main.append(form, out);
  if (can('shared')) main.append(importer());
  if (can('write')) main.append(storePrices());
  await run();
}

function storePrices() {
  const list = h('div', { id: 'store-prices' });
  const out = h('div');
  const form = h(
    'form',
    { class: 'row', id: 'store-price-form' },
    field('SKU', { name: 'sku', id: 'sp-sku', required: true }),
    field('Currency', { name: 'currency', id: 'sp-currency', required: true, pattern: '[A-Z]{3}', placeholder: 'USD' }),
    field('Amount (minor units; empty removes)', { type: 'number', name: 'amount', id: 'sp-amount', min: 0, step: 1 }),
    h('button', { type: 'submit', class: 'primary' }, 'Set store price'),
  );
  const load = async () => {
    try {
      const r = await api('GET', '/admin/v1/store/prices', { store: true, query: { limit: 50 } });
      list.replaceChildren(table('Store prices', [
        { label: 'SKU', get: (x) => x.sku },
        { label: 'Prices', get: (x) => x.prices.map((p) => money(p.amount, p.currency)).join(', ') },
      ], r.items, 'This store uses the shared prices.'));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    busy(form.querySelector('button'), async () => {
      try {
        const amount = d.get('amount') === '' ? null : Number(d.get('amount'));
        await api('POST', '/admin/v1/store/prices', { store: true, body: { prices: [{ sku: d.get('sku'), currency: d.get('currency'), amount }] } });
        out.replaceChildren();
        notice('Store price saved.');
        await load();
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    });
  });
  load();
  return h('section', { class: 'card' }, h('h2', {}, `Prices of the store ${session().store}`), form, out, list);
}

async function product(main, id) {
  main.append(h('p', {}, h('a', { href: '#/catalog' }, '← Catalog')));
  let p;
  try {
    p = await api('GET', `/v1/products/${encodeURIComponent(id)}`, { store: true });
  } catch (e) {
    main.append(errorBox(e));
    return;
  }
  main.append(h('h1', {}, p.name), h('p', { class: 'muted' }, `${p.id} · ${p.slug}`));
  main.append(
    h('h2', {}, 'Variants and prices'),
    table('Variants', [
      { label: 'SKU', get: (v) => h('a', { href: `#/inventory/${encodeURIComponent(v.sku)}` }, v.sku) },
      { label: 'Name', get: (v) => v.name },
      { label: 'Prices', get: (v) => (v.prices ?? []).map((x) => money(x.amount, x.currency)).join(', ') },
      { label: 'Available', num: true, get: (v) => v.available ?? '' },
    ], p.variants),
  );
  if (!can('shared')) {
    main.append(h('p', { class: 'muted' }, 'The catalog is shared by every store: only an operator edits it.'));
    return;
  }
  const priceOut = h('div');
  const priceForm = h(
    'form',
    { class: 'card row', id: 'price-form' },
    field('SKU', { tag: 'select', name: 'sku', id: 'price-sku', options: p.variants.map((v) => v.sku) }),
    field('Currency', { name: 'currency', id: 'price-currency', required: true, pattern: '[A-Z]{3}', value: p.currency }),
    field('Amount (minor units)', { type: 'number', name: 'amount', id: 'price-amount', min: 0, step: 1, required: true }),
    h('button', { type: 'submit', class: 'primary' }, 'Set shared price'),
    priceOut,
  );
  priceForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(priceForm);
    busy(priceForm.querySelector('button'), async () => {
      try {
        await api('PUT', `/admin/v1/prices/${encodeURIComponent(d.get('sku'))}/${encodeURIComponent(d.get('currency'))}`, { body: { amount: Number(d.get('amount')) } });
        priceOut.replaceChildren();
        notice('Price saved.');
      } catch (e) {
        priceOut.replaceChildren(errorBox(e));
      }
    });
  });
  // The editor starts from the product as stored (base prices, position),
  // not from the public view above, which shows this store's prices.
  let stored;
  try {
    stored = await api('GET', `/admin/v1/products/${encodeURIComponent(p.id)}`);
  } catch (e) {
    main.append(h('h2', {}, 'Shared price'), priceForm, h('h2', {}, 'Edit'), errorBox(e));
    return;
  }
  const editor = jsonEditor('Product as stored (ProductInput JSON: base prices, not this store\'s)', toInput(stored), 20);
  editor.querySelector('textarea').id = 'product-json';
  const out = h('div', { id: 'product-result' });
  const save = h('button', { type: 'button', class: 'primary', id: 'save-product' }, 'Save product');
  save.addEventListener('click', () =>
    busy(save, async () => {
      try {
        const body = editor.read();
        const r = await api('PUT', `/admin/v1/products/${encodeURIComponent(p.id)}`, { body });
        out.replaceChildren(h('p', { class: 'ok', 'data-outcome': r.outcome }, r.outcome === 'unchanged'
          ? 'Saved: nothing changed.'
          : `Saved (${r.outcome}). Other edges see it within about a minute.`));
      } catch (e) {
        out.replaceChildren(errorBox(e instanceof SyntaxError ? { detail: `Not valid JSON: ${e.message}` } : e));
      }
    }),
  );
  main.append(h('h2', {}, 'Shared price'), priceForm, h('h2', {}, 'Edit'), h('div', { class: 'card' }, editor, save, out));
}

export function render(main, id) {
  return id ? product(main, id) : search(main);
}
