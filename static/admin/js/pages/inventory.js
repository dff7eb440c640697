// Inventory (shared stock): a SKU's levels (GET /admin/v1/inventory/{sku}),
// set on hand (PUT, operators) and adjust (POST …/adjustments, operators),
// both with an Idempotency-Key that is kept across a retry after a network
// failure and renewed after any answer; its movements (GET …/movements,
// paged); and the low-stock list (GET /admin/v1/reports/low-stock).
import { api, can } from '../api.js';
import { busy, errorBox, field, h, notice, number, table, when, writeForm } from '../ui.js';

function levels(l) {
  return h(
    'div',
    { class: 'tiles', id: 'levels' },
    ...['on_hand', 'reserved', 'sold', 'available'].map((k) =>
      h('div', { class: 'tile', id: `level-${k}` }, h('div', { class: 'label' }, k.replace('_', ' ')), h('div', { class: 'value' }, number(l[k]))),
    ),
  );
}

async function sku(main, code) {
  main.append(h('p', {}, h('a', { href: '#/inventory' }, '← Inventory')), h('h1', {}, `Stock of ${code}`));
  const top = h('div', { id: 'stock' });
  const moves = h('div', { id: 'movements' });
  const more = h('button', { type: 'button', hidden: true, id: 'more-movements' }, 'More movements');
  main.append(top);
  const path = `/admin/v1/inventory/${encodeURIComponent(code)}`;
  let rows = [];
  let cursor;
  const loadMoves = async (reset) => {
    try {
      const page = await api('GET', `${path}/movements`, { query: { limit: 50, cursor: reset ? undefined : cursor } });
      rows = reset ? page.items : rows.concat(page.items);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      moves.replaceChildren(
        table('Stock movements', [
          { label: '#', num: true, get: (m) => m.seq },
          { label: 'When', get: (m) => when(m.at) },
          { label: 'Kind', get: (m) => m.kind },
          { label: 'On hand Δ', num: true, get: (m) => m.on_hand_delta },
          { label: 'Reserved Δ', num: true, get: (m) => m.reserved_delta },
          { label: 'Sold Δ', num: true, get: (m) => m.sold_delta },
          { label: 'Reason', get: (m) => m.reason ?? '' },
          { label: 'Operation', get: (m) => m.op_id ?? m.cart ?? '' },
        ], rows, 'No movements.'),
      );
    } catch (e) {
      moves.replaceChildren(errorBox(e));
    }
  };
  more.addEventListener('click', () => busy(more, () => loadMoves(false)));
  let shown;
  const refresh = async () => {
    try {
      const l = await api('GET', path);
      const next = levels(l);
      shown ? shown.replaceWith(next) : top.append(next);
      shown = next;
    } catch (e) {
      top.replaceChildren(errorBox(e));
      throw e;
    }
  };
  try {
    await refresh();
  } catch {
    return;
  }
  if (can('shared')) {
    main.append(
      writeForm('set-stock', 'Set on hand', [
        field('On hand (units counted)', { type: 'number', name: 'on_hand', id: 'set-on-hand', min: 0, step: 1, required: true }),
        field('Reason', { name: 'reason', id: 'set-reason', placeholder: 'stocktake' }),
      ], async (d, key) => {
        const r = await api('PUT', path, { key, body: { on_hand: Number(d.get('on_hand')), reason: d.get('reason') || null } });
        notice(r.applied ? `On hand set to ${r.on_hand}.` : 'Already applied: nothing changed.');
        await Promise.all([refresh(), loadMoves(true)]);
      }),
      writeForm('adjust-stock', 'Adjust', [
        field('Change (units, − to remove)', { type: 'number', name: 'delta', id: 'adjust-delta', step: 1, required: true }),
        field('Reason', { name: 'reason', id: 'adjust-reason', required: true, placeholder: 'delivery 42' }),
      ], async (d, key) => {
        const r = await api('POST', `${path}/adjustments`, { key, body: { delta: Number(d.get('delta')), reason: d.get('reason') } });
        notice(r.applied ? `On hand now ${r.on_hand}.` : 'Already applied: nothing changed.');
        await Promise.all([refresh(), loadMoves(true)]);
      }),
    );
  } else {
    main.append(h('p', { class: 'muted' }, 'Stock is shared by every store: only an operator changes it.'));
  }
  main.append(h('h2', {}, 'Movements'), moves, more);
  await loadMoves(true);
}

async function overview(main) {
  main.append(h('h1', {}, 'Inventory'));
  const form = h(
    'form',
    { class: 'card row', id: 'sku-lookup' },
    field('SKU', { name: 'sku', id: 'sku', required: true, autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'primary' }, 'Open'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/inventory/${encodeURIComponent(new FormData(form).get('sku').trim())}`;
  });
  const low = h('div', { id: 'low-stock' }, h('p', { class: 'muted' }, 'Loading…'));
  main.append(form, h('h2', {}, 'Low stock'), low);
  try {
    const r = await api('GET', '/admin/v1/reports/low-stock', { query: { limit: 100 } });
    low.replaceChildren(
      h('p', { class: 'muted' }, `SKUs with ${r.low_mark} unsold units or fewer.`),
      table('Low stock', [
        { label: 'SKU', get: (x) => h('a', { href: `#/inventory/${encodeURIComponent(x.sku)}` }, x.sku) },
        { label: 'On hand', num: true, get: (x) => number(x.on_hand) },
        { label: 'Sold', num: true, get: (x) => number(x.sold) },
        { label: 'Unsold', num: true, get: (x) => number(x.unsold) },
      ], r.items, 'No SKU is low.'),
    );
  } catch (e) {
    low.replaceChildren(errorBox(e));
  }
}

export function render(main, code) {
  return code ? sku(main, code) : overview(main);
}
