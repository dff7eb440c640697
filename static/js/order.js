// The order confirmation and status page: GET /v1/orders/{id} with the
// order's token (from this browser's storage, or the status link's
// #token=…), and cancelling while the order allows it.
import { $, ApiError, api, h, money, points, report } from './shop.js';

const root = $('#order');
const id = decodeURIComponent(location.pathname.split('/').pop());
const orders = JSON.parse(localStorage.getItem('edgecart.orders') ?? '{}');

function tokenFromLink() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return null;
  const token = decodeURIComponent(m[1]);
  orders[id] = { ...orders[id], token };
  localStorage.setItem('edgecart.orders', JSON.stringify(orders));
  // The token opens the order: keep it out of the address bar.
  history.replaceState(null, '', location.pathname);
  return token;
}

const token = tokenFromLink() ?? orders[id]?.token;
const names = orders[id]?.names ?? {};
const STATUS = {
  pending_payment: 'Waiting for payment',
  paid: 'Paid',
  fulfilled: 'Shipped',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
};

function askForToken() {
  const input = h('input', { id: 'order-token', autocomplete: 'off', required: true });
  root.replaceChildren(
    h('p', { text: 'Enter the order token from your confirmation to see this order.' }),
    h(
      'form',
      {
        class: 'inline-form',
        onsubmit: (e) => {
          e.preventDefault();
          orders[id] = { ...orders[id], token: input.value.trim() };
          localStorage.setItem('edgecart.orders', JSON.stringify(orders));
          location.reload();
        },
      },
      h('label', { for: 'order-token', text: 'Order token' }),
      input,
      h('button', { type: 'submit', text: 'Show order' }),
    ),
  );
}

function draw(order) {
  const m = (amount) => money({ amount, currency: order.currency });
  const placed = sessionStorage.getItem('edgecart.placed') === order.id;
  const heading = $('main h1');
  if (placed) heading.textContent = 'Thank you! Your order is placed.';
  const row = (label, value, cls) => [h('dt', { class: cls, text: label }), h('dd', { class: cls, text: value })];
  const a = order.shipping_address;
  const link = `${location.origin}/orders/${encodeURIComponent(order.id)}#token=${encodeURIComponent(token)}`;
  const cancellable = order.status === 'paid' || order.status === 'pending_payment';
  root.replaceChildren(
    h(
      'div',
      { class: 'cart-layout' },
      h(
        'section',
        { class: 'panel', 'aria-label': 'Order' },
        h('p', {}, 'Order ', h('strong', { id: 'order-id', text: order.id }), ' · ', h('span', { class: `status-badge ${order.status}`, id: 'order-status', text: STATUS[order.status] ?? order.status })),
        h('p', { text: `A confirmation goes to ${order.email}.` }),
        h(
          'ul',
          { class: 'lines' },
          order.lines.map((l) => h('li', { class: 'line' }, h('span', { text: `${names[l.sku] ?? l.sku} × ${l.quantity}` }), h('span', { text: m(l.line_total) }))),
        ),
        h(
          'dl',
          { class: 'totals' },
          row('Subtotal', m(order.totals.subtotal)),
          order.totals.discount_total ? row('Discounts', `−${m(order.totals.discount_total)}`) : null,
          row('Shipping', order.totals.shipping ? m(order.totals.shipping) : 'Free'),
          row(order.prices_include_tax ? 'Tax (included)' : 'Tax', m(order.totals.tax_total)),
          row('Total paid', m(order.totals.grand_total), 'grand'),
          pointsRows(order, m),
        ),
      ),
      h(
        'aside',
        { class: 'panel', 'aria-label': 'Delivery and status' },
        h('h2', { text: 'Ships to' }),
        h('p', { class: 'address', text: [a.name, a.line1, a.line2, `${a.postal_code} ${a.city}${a.region ? `, ${a.region}` : ''}`, a.country].filter(Boolean).join('\n') }),
        h('h2', { text: 'History' }),
        h(
          'ol',
          { class: 'history' },
          order.history.map((c) => h('li', { text: `${STATUS[c.status] ?? c.status}: ${new Date(c.at_ms).toLocaleString('en-US')}` })),
        ),
        h('h2', { text: 'Your order link' }),
        h('p', { class: 'hint', text: 'Keep this link to check your order later; it opens the order, so share it with care.' }),
        h('p', {}, h('a', { href: link, id: 'order-link', text: 'Order status link' })),
        cancellable
          ? h('button', {
              type: 'button',
              id: 'cancel-order',
              text: 'Cancel order',
              onclick: cancel,
            })
          : null,
        h('p', { class: 'form-status', id: 'order-action', role: 'status' }),
      ),
    ),
  );
}

/** A member's order: what the points paid, what the card paid, what it earned. */
function pointsRows(order, m) {
  const p = order.points;
  if (!p) return null;
  const row = (label, value, id) => [h('dt', { text: label }), h('dd', { id, text: value })];
  const card = order.totals.grand_total - p.value;
  return [
    p.spent > 0 ? row(`Paid with ${p.unit}`, `${points(p.spent, p.unit)} (${m(p.value)})`, 'order-points-spent') : null,
    p.spent > 0 && card > 0 ? row('Paid by card', m(card), 'order-card-paid') : null,
    p.earned > 0 ? row(`${p.unit.charAt(0).toUpperCase()}${p.unit.slice(1)} earned`, points(p.earned, p.unit), 'order-points-earned') : null,
  ];
}

async function cancel() {
  if (!confirm('Cancel this order? It will be refunded in full.')) return;
  const status = $('#order-action');
  try {
    await api('POST', `/v1/orders/${encodeURIComponent(id)}/cancel`, { token });
    await refresh();
    $('#order-action').textContent = 'Your order is cancelled and refunded.';
  } catch (e) {
    status.className = 'form-status error';
    status.textContent = e instanceof ApiError && e.code === 'illegal_transition' ? 'This order can no longer be cancelled.' : e.message;
    if (!(e instanceof ApiError) || e.status >= 500) report(e, cancel);
  }
}

async function refresh() {
  if (!token) return askForToken();
  try {
    const { body } = await api('GET', `/v1/orders/${encodeURIComponent(id)}`, { token });
    draw(body);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      root.replaceChildren(h('p', { text: 'No order has this number, or this browser does not hold its token.' }));
      askForToken();
    } else {
      root.replaceChildren(h('p', { text: 'The order could not be loaded.' }));
      report(e, refresh);
    }
  }
}

refresh();
