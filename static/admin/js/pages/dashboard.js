// Dashboard: today and the last 30 days (revenue, orders, average order
// value, points redeemed) and charts of orders and revenue per day, of the
// selected store (and, for an operator of several stores, each store's
// 30 days and orders per day side by side), from the Reports API (GET /admin/v1/reports/sales,
// /best-sellers, /points). An error from the API (404 route_not_found on a
// Worker without reports) is shown with its detail.
import { api, session } from '../api.js';
import { barChart, perDay } from '../charts.js';
import { errorBox, h, money, number, table } from '../ui.js';

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

function tile(label, value, id) {
  return h('div', { class: 'tile', id }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

/** The tiles of one period's totals (one set per currency). */
function tiles(title, totals, id) {
  if (!totals.length) return [h('h2', {}, title), h('p', { class: 'muted', id }, 'No paid orders.')];
  return [
    h('h2', {}, title),
    ...totals.map((t) =>
      h(
        'div',
        { class: 'tiles', id: `${id}-${t.currency}`, 'data-currency': t.currency },
        tile(`Revenue (${t.currency})`, money(t.revenue, t.currency), `${id}-${t.currency}-revenue`),
        tile('Orders', number(t.orders), `${id}-${t.currency}-orders`),
        tile('Average order value', money(t.average_order_value, t.currency), `${id}-${t.currency}-aov`),
        tile('Points redeemed', number(t.points_redeemed), `${id}-${t.currency}-points`),
      ),
    ),
  ];
}

/** The charts of a 30-day sales report: orders per day, revenue per day per currency. */
export function drawCharts(report) {
  const currencies = [...new Set(report.buckets.map((b) => b.currency))].sort();
  const figures = [
    h('figure', {}, h('figcaption', {}, 'Orders per day'), barChart({ name: 'orders', title: 'Orders per day', points: perDay(report, 'orders'), format: (v) => number(Math.round(v)) })),
  ];
  for (const c of currencies) {
    figures.push(
      h(
        'figure',
        {},
        h('figcaption', {}, `Revenue per day (${c})`),
        barChart({ name: `revenue-${c}`, title: `Revenue per day in ${c}`, points: perDay(report, 'revenue', c), format: (v) => money(Math.round(v), c) }),
      ),
    );
  }
  return h('div', { class: 'charts', id: 'charts' }, figures);
}

export async function render(main) {
  const s = session();
  main.append(h('h1', {}, `Dashboard · ${s.store}`));
  const slot = h('div', { id: 'dashboard' }, h('p', { class: 'muted' }, 'Loading the reports…'));
  main.append(slot);
  const from = daysAgo(29);
  const to = today();
  try {
    const [month, day, best, points] = await Promise.all([
      api('GET', '/admin/v1/reports/sales', { store: true, query: { from, to, granularity: 'day' } }),
      api('GET', '/admin/v1/reports/sales', { store: true, query: { from: to, to, granularity: 'hour' } }),
      api('GET', '/admin/v1/reports/best-sellers', { store: true, query: { from, to, limit: 10 } }),
      api('GET', '/admin/v1/reports/points', { store: true, query: { from, to, granularity: 'day' } }),
    ]);
    slot.replaceChildren(
      ...tiles(`Today (${to}, UTC)`, day.totals, 'today'),
      ...tiles(`Last 30 days (${month.from} to ${month.to})`, month.totals, 'month'),
      h('h2', {}, 'Per day'),
      drawCharts(month),
      h('h2', {}, 'Points'),
      h('p', { id: 'points-totals' }, `Issued ${number(points.totals.issued)} · redeemed ${number(points.totals.redeemed)} · expired ${number(points.totals.expired ?? 0)} over the last 30 days.`),
      h('h2', {}, 'Best sellers'),
      table(
        'Best sellers, last 30 days',
        [
          { label: 'SKU', get: (r) => r.sku },
          { label: 'Product', get: (r) => r.title },
          { label: 'Units', num: true, get: (r) => number(r.units) },
          { label: 'Revenue', num: true, get: (r) => money(r.revenue, r.currency) },
        ],
        best.items,
        'No sales yet.',
      ),
    );
  } catch (e) {
    slot.replaceChildren(h('p', {}, 'The reports could not be read.'), errorBox(e));
  }
  if (s.role === 'operator' && s.stores.length > 1) main.append(await everyStore(s.stores, from, to));
}

/** At most this many stores side by side (the store picker reaches the rest). */
const STORES_SHOWN = 12;

/**
 * The operator's comparison: each store's last 30 days (orders, revenue and
 * average order value per currency) and its orders per day, one small chart
 * per store, from each store's own sales report (`store=`). A store whose
 * report fails shows its error; the others still show.
 */
async function everyStore(stores, from, to) {
  const shown = stores.slice(0, STORES_SHOWN);
  const reports = await Promise.all(
    shown.map((id) =>
      api('GET', '/admin/v1/reports/sales', { query: { from, to, granularity: 'day', store: id } }).then(
        (report) => ({ id, report }),
        (error) => ({ id, error }),
      ),
    ),
  );
  const rows = reports.flatMap(({ id, report }) =>
    report ? (report.totals.length ? report.totals : [{ currency: '', orders: 0, revenue: 0, average_order_value: 0 }]).map((t) => ({ id, ...t })) : [],
  );
  return h(
    'section',
    { id: 'every-store', 'aria-labelledby': 'every-store-title' },
    h('h2', { id: 'every-store-title' }, 'Every store, last 30 days'),
    stores.length > shown.length ? h('p', { class: 'muted' }, `The first ${shown.length} of ${stores.length} stores; pick another in the store selector.`) : '',
    table(
      'Every store, last 30 days',
      [
        { label: 'Store', get: (r) => r.id },
        { label: 'Currency', get: (r) => r.currency || '–' },
        { label: 'Orders', num: true, get: (r) => number(r.orders) },
        { label: 'Revenue', num: true, get: (r) => (r.currency ? money(r.revenue, r.currency) : '–') },
        { label: 'Average order value', num: true, get: (r) => (r.currency ? money(r.average_order_value, r.currency) : '–') },
      ],
      rows,
      'No store has a report.',
    ),
    h(
      'div',
      { class: 'charts' },
      reports.map(({ id, report, error }) =>
        h(
          'figure',
          { 'data-store': id },
          h('figcaption', {}, `Orders per day · ${id}`),
          report
            ? barChart({ name: `store-orders-${id}`, title: `Orders per day in the store ${id}`, points: perDay(report, 'orders'), format: (v) => number(Math.round(v)) })
            : errorBox(error),
        ),
      ),
    ),
  );
}
