// A small storefront on the public /v1 API, exactly as a third-party
// frontend would use it.
const $ = (s) => document.querySelector(s);
const state = { q: '', category: '', currency: 'USD', cursor: null };

const money = (m) => (m ? new Intl.NumberFormat(undefined, { style: 'currency', currency: m.currency }).format(m.amount / 100) : '');

async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || body.title || `HTTP ${r.status}`);
  return body;
}

function card(p) {
  const li = document.createElement('li');
  li.innerHTML = `<img alt="" loading="lazy" width="160" height="160"><h3></h3><p class="price"></p>`;
  li.querySelector('img').src = p.image?.url ?? '';
  li.querySelector('img').alt = p.image?.alt ?? p.name;
  li.querySelector('h3').textContent = p.name;
  li.querySelector('.price').textContent = p.price_max && p.price_max.amount !== p.price.amount ? `from ${money(p.price)}` : money(p.price);
  return li;
}

async function load(append = false) {
  const params = new URLSearchParams({ currency: state.currency, limit: '24' });
  if (state.q) params.set('q', state.q);
  if (state.category) params.set('category', state.category);
  if (append && state.cursor) params.set('cursor', state.cursor);
  try {
    const page = await api(`/v1/products?${params}`);
    if (!append) $('#products').replaceChildren();
    $('#products').append(...page.items.map(card));
    state.cursor = page.next_cursor;
    $('#more').hidden = !page.next_cursor;
    $('#status').textContent = `${page.total} products`;
  } catch (e) {
    $('#status').textContent = `Could not load products: ${e.message}`;
  }
}

async function categories() {
  const { items } = await api('/v1/categories');
  const buttons = [{ slug: '', name: 'All' }, ...items].map((c) => {
    const b = document.createElement('button');
    b.textContent = c.name;
    b.setAttribute('aria-pressed', String(c.slug === state.category));
    b.onclick = () => {
      state.category = c.slug;
      document.querySelectorAll('#categories button').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
      load();
    };
    return b;
  });
  $('#categories').replaceChildren(...buttons);
}

let timer;
$('#q').addEventListener('input', (e) => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    state.q = e.target.value;
    load();
  }, 200);
});
$('#search').addEventListener('submit', (e) => e.preventDefault());
$('#currency').addEventListener('change', (e) => {
  state.currency = e.target.value;
  load();
});
$('#more').addEventListener('click', () => load(true));
categories().catch(() => {});
load();
