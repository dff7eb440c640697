// The listing: results as you type, facet filters, sort and paging by
// cursor, all from GET /v1/products. The edge drew the first page; this
// module takes over from the data it embedded.
import { $, $$, api, card, currency, h, money, pageData, report } from './shop.js';

const form = $('#filters');
const search = $('#q');
const list = $('#products');
const more = $('#more');
const count = $('#result-count');

let page = pageData();
let controller = null;

/** The page's state, read from the search box and the filter form. */
function state() {
  const data = new FormData(form);
  const [min, max] = (data.get('price') || '').split('-');
  return {
    q: search.value.trim(),
    category: data.get('category') || '',
    min_price: min || '',
    max_price: max || '',
    price: data.get('price') || '',
    in_stock: data.get('in_stock') === 'true',
    sort: data.get('sort') || 'relevance',
  };
}

/** The page's own address for a state (what a shared link reopens). */
function href(s) {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  if (s.category) p.set('category', s.category);
  if (s.price) p.set('price', s.price);
  if (s.in_stock) p.set('in_stock', 'true');
  if (s.sort && s.sort !== 'relevance') p.set('sort', s.sort);
  return p.size ? `/products?${p}` : '/products';
}

function apiQuery(s, cursor) {
  const p = new URLSearchParams({ currency: currency(), limit: '24' });
  for (const k of ['q', 'category', 'min_price', 'max_price']) if (s[k]) p.set(k, s[k]);
  if (s.in_stock) p.set('in_stock', 'true');
  if (s.sort !== 'relevance') p.set('sort', s.sort);
  if (cursor) p.set('cursor', cursor);
  return `/v1/products?${p}`;
}

function radio(name, value, checked, label, n) {
  return h(
    'label',
    {},
    h('input', { type: 'radio', name, value, checked }),
    ` ${label}`,
    n == null ? null : [' ', h('span', { class: 'count', text: `(${n})` })],
  );
}

/** Redraws the facet choices from a listing's counts, keeping the choice. */
function drawFacets(s, body) {
  const [cats, prices] = $$('fieldset', form);
  cats.replaceChildren(
    h('legend', { text: 'Category' }),
    radio('category', '', !s.category, 'All'),
    ...body.facets.categories.map((c) => radio('category', c.slug, c.slug === s.category, c.name, c.count)),
  );
  const bandLabel = (b) =>
    b.max_price == null
      ? `${money({ amount: b.min_price, currency: body.currency })} and up`
      : `${money({ amount: b.min_price, currency: body.currency })} – ${money({ amount: b.max_price, currency: body.currency })}`;
  prices.replaceChildren(
    h('legend', { text: 'Price' }),
    radio('price', '', !s.price, 'Any price'),
    ...body.facets.price_bands.map((b) => {
      const value = `${b.min_price}-${b.max_price ?? ''}`;
      return radio('price', value, value === s.price, bandLabel(b), b.count);
    }),
  );
}

function drawCount(total) {
  count.textContent = total === 1 ? '1 product' : `${total} products`;
}

function drawMore(s, cursor) {
  more.hidden = !cursor;
  if (cursor) {
    const p = new URL(href(s), location.origin);
    p.searchParams.set('cursor', cursor);
    more.href = p.pathname + p.search;
  }
}

/** Fetches the first page for the current state and redraws everything. */
async function refresh() {
  const s = state();
  controller?.abort();
  controller = new AbortController();
  list.setAttribute('aria-busy', 'true');
  try {
    const { body } = await api('GET', apiQuery(s), { signal: controller.signal });
    page = body;
    list.replaceChildren(...body.items.map(card));
    drawFacets(s, body);
    drawCount(body.total);
    drawMore(s, body.next_cursor);
    $('.empty')?.remove();
    if (body.total === 0) list.after(h('p', { class: 'empty', text: 'Nothing matches. Try fewer words or clear a filter.' }));
    const category = body.facets.categories.find((c) => c.slug === s.category);
    $('#listing-title').textContent = s.q ? `Results for “${s.q}”` : (category?.name ?? 'All products');
    history.replaceState(null, '', href(s));
  } catch (e) {
    report(e, refresh);
  } finally {
    list.removeAttribute('aria-busy');
  }
}

/** Appends the next page. */
async function loadMore(event) {
  event.preventDefault();
  const s = state();
  more.setAttribute('aria-busy', 'true');
  try {
    const { body } = await api('GET', apiQuery(s, page.next_cursor));
    page = body;
    const cards = body.items.map(card);
    list.append(...cards);
    drawMore(s, body.next_cursor);
    // Keyboard users land on the first new product.
    cards[0]?.querySelector('a')?.focus();
  } catch (e) {
    report(e, () => loadMore(event));
  } finally {
    more.removeAttribute('aria-busy');
  }
}

let timer;
search.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(refresh, 250);
});
search.form.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(timer);
  refresh();
});
form.addEventListener('change', refresh);
form.addEventListener('submit', (e) => {
  e.preventDefault();
  refresh();
});
more.addEventListener('click', loadMore);
