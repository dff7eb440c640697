// The cart summary the cart and checkout pages share: where it ships, the
// totals the server computed, and how long the cart's holds last.
import { ApiError, h, loadCart, money, points } from './shop.js';

export const COUNTRIES = [
  ['US', 'United States'],
  ['CA', 'Canada'],
  ['GB', 'United Kingdom'],
  ['DE', 'Germany'],
  ['FR', 'France'],
  ['NL', 'Netherlands'],
  ['ES', 'Spain'],
  ['IT', 'Italy'],
];

const KEY = 'edgecart.destination';

/** Where the shopper ships: `{country, region, shipping_method}` (the cart read's parameters). */
export function destination() {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(KEY));
  } catch {
    // ignored: the default below
  }
  return { country: 'US', region: '', shipping_method: 'standard', ...saved };
}

export function setDestination(change) {
  localStorage.setItem(KEY, JSON.stringify({ ...destination(), ...change }));
}

/**
 * Reads the saved cart priced for `params` (country, region, method). A
 * method that does not ship there is replaced by the first one that does.
 */
export async function loadPricedCart(params = destination()) {
  try {
    return await loadCart(params);
  } catch (e) {
    const about = e instanceof ApiError ? [e.problem.param, e.problem.field, ...(e.problem.errors ?? []).map((x) => x.field)] : [];
    if (!about.includes('shipping_method')) throw e;
    const cart = await loadCart({ ...params, shipping_method: '' });
    const first = cart?.shipping_options?.[0];
    if (!first) return cart;
    setDestination({ shipping_method: first.id });
    return loadCart({ ...params, shipping_method: first.id });
  }
}

/** The shipping options of a cart read with a country, as radio buttons. */
export function shippingChoices(cart, onChange) {
  const options = cart.shipping_options ?? [];
  if (options.length === 0) return h('p', { class: 'form-status error', text: 'The shop does not ship to this country in this currency.' });
  return h(
    'fieldset',
    { class: 'shipping-methods' },
    h('legend', { text: 'Shipping method' }),
    options.map((o) =>
      h(
        'label',
        { class: 'radio' },
        h('input', {
          type: 'radio',
          name: 'shipping_method',
          value: o.id,
          checked: o.id === cart.shipping_method,
          onchange: () => onChange(o.id),
        }),
        `${o.name}: ${o.amount.amount === 0 ? 'free' : money(o.amount)}`,
      ),
    ),
  );
}

/**
 * The totals as a definition list. With `onDestination`, the shopper can
 * pick the country and method to estimate shipping and tax for.
 */
export function totals(cart, { onDestination } = {}) {
  const row = (label, value, cls) => [h('dt', { class: cls, text: label }), h('dd', { class: cls, text: value })];
  const list = h(
    'dl',
    { class: 'totals' },
    row(`Subtotal (${cart.item_count} ${cart.item_count === 1 ? 'item' : 'items'})`, money(cart.subtotal)),
    cart.discounts.map((d) => row(d.code ? `Discount ${d.code}` : d.description, `−${money(d.amount)}`)),
    row(cart.shipping_method ? 'Shipping' : 'Shipping (choose a method)', cart.shipping_method ? (cart.shipping.amount === 0 ? 'Free' : money(cart.shipping)) : '—'),
    row(cart.prices_include_tax ? 'Tax (included)' : 'Tax', money(cart.tax_total)),
    row('Total', money(cart.grand_total), 'grand'),
    // A store whose points pay in this currency: the total in points.
    cart.points ? row('Or in points', points(cart.points.grand_total, cart.points.unit), 'in-points') : null,
  );
  if (!onDestination) return list;
  const dest = destination();
  const select = h(
    'select',
    {
      id: 'estimate-country',
      onchange: () => {
        setDestination({ country: select.value, region: '' });
        onDestination();
      },
    },
    COUNTRIES.map(([code, name]) => h('option', { value: code, selected: code === dest.country, text: name })),
  );
  return h(
    'div',
    {},
    h('div', { class: 'field' }, h('label', { for: 'estimate-country', text: 'Ship to' }), select),
    shippingChoices(cart, (id) => {
      setDestination({ shipping_method: id });
      onDestination();
    }),
    list,
  );
}

/** "Held for 14:32": how long the cart's units stay reserved. */
export function holdCountdown(cart, onExpired) {
  const el = h('p', { class: 'hold', role: 'timer', 'aria-live': 'off' });
  if (!cart.holds_expire_at) return el;
  const until = Date.parse(cart.holds_expire_at);
  let watched = false;
  const tick = () => {
    if (!el.isConnected && el.dataset.started) return clearInterval(timer);
    el.dataset.started = '1';
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    if (left === 0) {
      clearInterval(timer);
      el.className = 'hold expiring';
      el.textContent = 'Your reservation has expired: these items may sell out. Change or re-add them to hold them again.';
      // Only a reservation that ran out while the shopper watched asks for a fresh read.
      if (watched) onExpired?.();
      return;
    }
    watched = true;
    const mm = String(Math.floor(left / 60));
    const ss = String(left % 60).padStart(2, '0');
    el.className = left < 120 ? 'hold expiring' : 'hold';
    el.textContent = `Your items are reserved for ${mm}:${ss}.`;
  };
  const timer = setInterval(tick, 1000);
  tick();
  return el;
}
