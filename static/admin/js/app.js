// The back office's shell: sign-in, the header (role, store selector, sign
// out), the navigation and the hash router that loads each page's module
// on first use. Pages export `render(main, ...params)`.
import { saveSession, session, signIn, signOut } from './api.js';
import { $, busy, errorBox, field, h } from './ui.js';

const PAGES = {
  dashboard: () => import('./pages/dashboard.js'),
  orders: () => import('./pages/orders.js'),
  catalog: () => import('./pages/catalog.js'),
  inventory: () => import('./pages/inventory.js'),
  promotions: () => import('./pages/promotions.js'),
  stores: () => import('./pages/stores.js'),
  points: () => import('./pages/points.js'),
  webhooks: () => import('./pages/webhooks.js'),
  audit: () => import('./pages/audit.js'),
};

function signInPage(main) {
  const out = h('div', { id: 'signin-result', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card signin', id: 'signin' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use an admin token of this deployment (ADMIN_TOKENS): an operator\'s, or a store admin\'s or viewer\'s. It is kept for this tab only.'),
    field('Admin token', { name: 'token', type: 'password', required: true, autocomplete: 'off', id: 'token' }),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    out,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    busy(form.querySelector('button'), async () => {
      try {
        saveSession(await signIn(String(data.get('token')).trim()));
        // The page asked for before signing in, else the dashboard.
        if (!location.hash || location.hash === '#/') location.hash = '#/dashboard';
        route();
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    });
  });
  main.replaceChildren(form);
  $('#token').focus();
}

function header() {
  const s = session();
  const who = $('#who');
  $('#nav').hidden = !s;
  if (!s) return who.replaceChildren();
  const role = h('span', { class: `role role-${s.role}`, id: 'role' }, s.role === 'operator' ? 'Operator' : s.role === 'admin' ? 'Store admin' : 'Viewer (read only)');
  let store;
  if (s.stores.length > 1) {
    store = field('Store', { tag: 'select', id: 'store-select', options: s.stores, value: s.store });
    store.classList.add('inline');
    store.querySelector('select').addEventListener('change', (e) => {
      saveSession({ ...session(), store: e.target.value });
      route();
    });
  } else {
    store = h('span', { class: 'store', id: 'store-name' }, `Store: ${s.store}`);
  }
  const out = h('button', { type: 'button', class: 'link', id: 'sign-out' }, 'Sign out');
  out.addEventListener('click', () => {
    signOut();
    location.hash = '';
    route();
  });
  who.replaceChildren(role, store, out);
}

let current = 0;
async function route() {
  const main = $('#main');
  header();
  const s = session();
  if (!s) return signInPage(main);
  const [name = 'dashboard', ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const load = PAGES[name] ?? PAGES.dashboard;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const mine = ++current;
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const page = await load();
    if (mine !== current) return;
    main.replaceChildren();
    document.title = `${name.charAt(0).toUpperCase() + name.slice(1)} · Edgecart back office`;
    await page.render(main, ...params);
  } catch (e) {
    if (mine === current) main.replaceChildren(errorBox(e));
  }
}

window.addEventListener('hashchange', () => {
  route().then(() => $('#main').focus({ preventScroll: true }));
});
route();
