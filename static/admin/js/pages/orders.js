// Orders: the store's orders filtered by status and creation date (GET
// /admin/v1/orders, paged by `next_cursor`), an order's detail (GET
// /admin/v1/orders/{id}) and its actions (POST …/fulfil, …/refund,
// …/cancel; these take no Idempotency-Key: repeating one that was applied
// answers 409 illegal_transition), each after a confirmation. CSV export
// pages through the whole filtered list.
import { allPages, api, can, session } from '../api.js';
import { busy, confirmDialog, csv, download, errorBox, field, h, money, notice, number, table, when } from '../ui.js';

const STATUSES = ['', 'pending_payment', 'paid', 'fulfilled', 'cancelled', 'refunded'];
const ACTIONS = {
  fulfil: { from: ['paid'], label: 'Fulfil', text: 'Mark this order as shipped?' },
  refund: { from: ['paid', 'fulfilled'], label: 'Refund', text: 'Pay the whole order back to the shopper? This is final.' },
  cancel: { from: ['pending_payment', 'paid'], label: 'Cancel', text: 'Cancel this order? Its units go back to stock; a paid order is refunded. This is final.' },
};

const status = (s) => h('span', { class: `status status-${s}` }, s);

/** The list's query from the filter form (dates are UTC days, `to` inclusive). */
function filters(form) {
  const d = new FormData(form);
  const q = { status: d.get('status') || undefined };
  if (d.get('from')) q.created_after = `${d.get('from')}T00:00:00Z`;
  if (d.get('to')) q.created_before = new Date(Date.parse(`${d.get('to')}T00:00:00Z`) + 86_400_000).toISOString();
  return q;
}

const COLUMNS = [
  { label: 'Order', get: (o) => h('a', { href: `#/orders/${encodeURIComponent(o.id)}` }, o.id) },
  { label: 'Placed', get: (o) => when(o.created_at ?? o.created_at_ms) },
  { label: 'Email', get: (o) => o.email },
  { label: 'Status', get: (o) => status(o.status) },
  { label: 'Total', num: true, get: (o) => money(o.grand_total, o.currency) },
];

async function list(main) {
  main.append(h('h1', {}, `Orders · ${session().store}`));
  const form = h(
    'form',
    { class: 'card row', id: 'order-filters' },
    field('Status', { tag: 'select', name: 'status', id: 'filter-status', options: STATUSES }),
    field('Placed from (UTC)', { type: 'date', name: 'from', id: 'filter-from' }),
    field('Placed to (UTC, inclusive)', { type: 'date', name: 'to', id: 'filter-to' }),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
    h('button', { type: 'button', id: 'export-csv' }, 'Export CSV'),
  );
  const out = h('div', { id: 'orders' });
  const more = h('button', { type: 'button', id: 'more-orders', hidden: true }, 'More orders');
  const progress = h('p', { id: 'export-progress', 'aria-live': 'polite', class: 'muted' });
  main.append(form, progress, out, more);
  let rows = [];
  let cursor = null;
  const load = async (reset) => {
    try {
      const page = await api('GET', '/admin/v1/orders', { store: true, query: { ...filters(form), limit: 50, cursor: reset ? undefined : cursor } });
      rows = reset ? page.items : rows.concat(page.items);
      cursor = page.next_cursor;
      out.replaceChildren(table('Orders', COLUMNS, rows, 'No orders match.'));
      more.hidden = !cursor;
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(form.querySelector('[type=submit]'), () => load(true));
  });
  more.addEventListener('click', () => busy(more, () => load(false)));
  form.querySelector('#export-csv').addEventListener('click', (e) =>
    busy(e.currentTarget, async () => {
      try {
        const items = await allPages('/admin/v1/orders', { store: true, query: { ...filters(form), limit: 200 } }, (n) => {
          progress.textContent = `Exporting… ${number(n)} orders read`;
        });
        const text = csv(
          ['id', 'created_at', 'email', 'status', 'currency', 'grand_total_minor'],
          items.map((o) => [o.id, o.created_at ?? new Date(o.created_at_ms).toISOString(), o.email, o.status, o.currency, o.grand_total]),
        );
        download(`orders-${session().store}-${new Date().toISOString().slice(0, 10)}.csv`, 'text/csv', text);
        progress.textContent = `Exported ${number(items.length)} orders.`;
      } catch (err) {
        progress.replaceChildren(errorBox(err));
      }
    }),
  );
  await load(true);
}

async function detail(main, id) {
  main.append(h('p', {}, h('a', { href: '#/orders' }, '← All orders')));
  const slot = h('div', { id: 'order' });
  main.append(slot);
  const show = (o) => {
    const buttons = can('write')
      ? Object.entries(ACTIONS)
          .filter(([, a]) => a.from.includes(o.status))
          .map(([name, a]) =>
            h('button', {
              type: 'button',
              id: `order-${name}`,
              class: name === 'fulfil' ? 'primary' : 'danger',
              onclick: (ev) => act(ev.currentTarget, name, a),
            }, a.label),
          )
      : [];
    const c = o.currency;
    slot.replaceChildren(
      h('h1', {}, 'Order ', h('span', { class: 'mono' }, o.id)),
      h('p', {}, 'Status: ', h('span', { id: 'order-status' }, status(o.status))),
      h('div', { class: 'actions', id: 'order-actions' }, buttons),
      h('div', { id: 'action-result' }),
      h(
        'dl',
        { class: 'facts card' },
        h('dt', {}, 'Email'), h('dd', {}, o.email),
        h('dt', {}, 'Placed'), h('dd', {}, when(o.created_at_ms)),
        h('dt', {}, 'Payment'), h('dd', {}, `${o.payment?.provider ?? ''} ${o.payment?.reference ?? ''}`),
        h('dt', {}, 'Ship to'), h('dd', {}, [o.shipping_address?.name, o.shipping_address?.line1, o.shipping_address?.city, o.shipping_address?.country].filter(Boolean).join(', ')),
        h('dt', {}, 'Shipping'), h('dd', {}, o.shipping_method ?? ''),
      ),
      h('h2', {}, 'Lines'),
      table('Order lines', [
        { label: 'SKU', get: (l) => l.sku },
        { label: 'Quantity', num: true, get: (l) => l.quantity },
        { label: 'Unit price', num: true, get: (l) => money(l.unit_price, c) },
        { label: 'Discount', num: true, get: (l) => money(l.discount, c) },
        { label: 'Tax', num: true, get: (l) => money(l.tax, c) },
        { label: 'Line total', num: true, get: (l) => money(l.line_total, c) },
      ], o.lines),
      h('h2', {}, 'Totals'),
      h(
        'dl',
        { class: 'facts card' },
        ...Object.entries(o.totals ?? {}).flatMap(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', { class: 'num' }, money(v, c))]),
        o.points_paid != null ? [h('dt', {}, 'points paid'), h('dd', {}, number(o.points_paid))] : null,
      ),
      h('h2', {}, 'History'),
      table('Status history', [
        { label: 'When', get: (x) => when(x.at_ms) },
        { label: 'Status', get: (x) => status(x.status) },
      ], o.history ?? []),
    );
  };
  const act = async (button, name, a) => {
    if (!(await confirmDialog(`${a.label} order`, `${a.text} (${id})`, a.label))) return;
    await busy(button, async () => {
      try {
        const o = await api('POST', `/admin/v1/orders/${encodeURIComponent(id)}/${name}`, { store: true });
        show(o);
        notice(`Order ${o.status}.`);
      } catch (e) {
        slot.querySelector('#action-result').replaceChildren(errorBox(e));
      }
    });
  };
  try {
    show(await api('GET', `/admin/v1/orders/${encodeURIComponent(id)}`, { store: true }));
  } catch (e) {
    slot.replaceChildren(errorBox(e));
  }
}

export function render(main, id) {
  return id ? detail(main, id) : list(main);
}
