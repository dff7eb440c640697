// Stores: the selected store's configuration (GET/PUT /admin/v1/store:
// payment provider, tax, shipping), and for an operator every store's
// profile with a preview of its skin (GET /admin/v1/stores, PUT
// /admin/v1/stores/{id}).
import { api, can, session } from '../api.js';
import { busy, errorBox, field, h, jsonEditor, money, notice, table } from '../ui.js';

/** A small mock of the shop's header and hero in the skin's colours. */
export function skinPreview(profile) {
  const skin = profile.skin ?? {};
  const colours = skin.colours ?? {};
  const head = h('div', { class: 'skin-head' }, skin.name || profile.name);
  head.style.background = colours.accent ?? colours.brand ?? '#0f5132';
  head.style.color = '#fff';
  const body = h('div', { class: 'skin-body' }, skin.hero || 'No hero text.', h('p', { class: 'muted' }, skin.footer || ''));
  if (colours.background) body.style.background = colours.background;
  const swatches = Object.entries(colours).map(([k, v]) => {
    const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.background = v;
    return h('span', {}, sw, `${k} ${v} `);
  });
  return h('div', { class: 'skin-preview', 'aria-label': `Skin preview of ${profile.id}`, role: 'img' }, head, body, swatches.length ? h('div', { class: 'skin-body' }, swatches) : null);
}

async function config(main) {
  const s = session();
  const slot = h('section', { id: 'store-config' });
  main.append(h('h2', {}, `Configuration of ${s.store}`), slot);
  let c;
  try {
    c = await api('GET', '/admin/v1/store', { store: true });
  } catch (e) {
    slot.replaceChildren(errorBox(e));
    return;
  }
  slot.append(
    h('p', {}, 'Payment provider: ', h('strong', { id: 'payment-provider' }, c.payment?.provider ?? '')),
    h('h3', {}, 'Tax'),
    h('p', { class: 'muted' }, c.tax.prices_include_tax ? 'Prices include tax.' : 'Tax is added to prices.'),
    table('Tax rates', [
      { label: 'Country', get: (r) => r.country },
      { label: 'Region', get: (r) => r.region ?? '' },
      { label: 'Rate', num: true, get: (r) => `${r.basis_points / 100} %` },
    ], c.tax.rates ?? [], 'No tax rates.'),
    h('h3', {}, 'Shipping'),
    table('Shipping methods', [
      { label: 'Id', get: (m) => m.id },
      { label: 'Name', get: (m) => m.name },
      { label: 'Rates', get: (m) => Object.entries(m.rates ?? {}).map(([cur, a]) => money(a, cur)).join(', ') },
      { label: 'Free from', get: (m) => Object.entries(m.free_above ?? {}).map(([cur, a]) => money(a, cur)).join(', ') },
      { label: 'Countries', get: (m) => (m.countries?.length ? m.countries.join(', ') : 'all') },
    ], c.shipping_methods ?? []),
  );
  if (!can('write')) return;
  const { schema, ...input } = c;
  const provider = field('Payment provider', { tag: 'select', id: 'provider', options: ['test', 'stripe'], value: c.payment?.provider });
  const editor = jsonEditor('Configuration (StoreConfigInput JSON: tax, shipping, payment, holds, points)', input, 16);
  editor.querySelector('textarea').id = 'config-json';
  provider.querySelector('select').addEventListener('change', (e) => {
    try {
      const v = editor.read();
      v.payment = { provider: e.target.value };
      editor.querySelector('textarea').value = JSON.stringify(v, null, 2);
    } catch {
      /* the editor's text is being edited: the provider is set on save */
    }
  });
  const out = h('div');
  const save = h('button', { type: 'button', class: 'primary', id: 'save-config' }, 'Save configuration');
  save.addEventListener('click', () =>
    busy(save, async () => {
      try {
        const body = editor.read();
        body.payment = { ...(body.payment ?? {}), provider: provider.querySelector('select').value };
        await api('PUT', '/admin/v1/store', { store: true, body });
        out.replaceChildren();
        notice('Configuration saved.');
      } catch (e) {
        out.replaceChildren(errorBox(e instanceof SyntaxError ? { detail: `Not valid JSON: ${e.message}` } : e));
      }
    }),
  );
  slot.append(h('div', { class: 'card' }, provider, editor, save, out));
}

async function profiles(main) {
  const slot = h('section', { id: 'store-profiles' });
  main.append(h('h2', {}, 'Stores'), slot);
  try {
    const r = await api('GET', '/admin/v1/stores');
    for (const p of r.items) {
      const { schema, id, ...input } = p;
      const editor = jsonEditor(`Profile of ${id} (StoreProfileInput JSON)`, input, 10);
      const out = h('div');
      const save = h('button', { type: 'button', class: 'primary' }, `Save ${id}`);
      save.addEventListener('click', () =>
        busy(save, async () => {
          try {
            await api('PUT', `/admin/v1/stores/${encodeURIComponent(id)}`, { body: editor.read() });
            out.replaceChildren();
            notice(`Saved ${id}.`);
          } catch (e) {
            out.replaceChildren(errorBox(e instanceof SyntaxError ? { detail: `Not valid JSON: ${e.message}` } : e));
          }
        }),
      );
      slot.append(
        h('article', { class: 'card', 'data-store': id },
          h('h3', {}, `${p.name} (${id})${p.enabled === false ? ' · disabled' : ''}`),
          h('p', { class: 'muted' }, `Hosts: ${(p.hosts ?? []).join(', ') || 'none'} · currencies: ${(p.currencies ?? []).join(', ')} (default ${p.default_currency})`),
          skinPreview(p),
          h('details', {}, h('summary', {}, 'Edit profile'), editor, save, out)),
      );
    }
  } catch (e) {
    slot.replaceChildren(errorBox(e));
  }
}

export async function render(main) {
  main.append(h('h1', {}, 'Stores'));
  await config(main);
  if (can('shared')) await profiles(main);
}
