// The cart page: quantities, removal, coupons, the hold countdown, and the
// totals the server computes (discounts, shipping, tax) for where it ships.
import { $, ApiError, cartCall, clearNotice, h, money, report } from './shop.js';
import { holdCountdown, loadPricedCart, totals } from './summary.js';

const root = $('#cart');

async function refresh() {
  try {
    const cart = await loadPricedCart();
    draw(cart);
  } catch (e) {
    root.replaceChildren(h('p', { text: 'Your cart could not be loaded.' }));
    report(e, refresh);
  }
}

/** Runs a cart change, then redraws; `status` shows what went wrong. */
async function change(run, status) {
  clearNotice();
  try {
    await run();
    draw(await loadPricedCart());
  } catch (e) {
    if (e instanceof ApiError && e.code === 'out_of_stock') {
      const n = e.problem.available ?? 0;
      status.textContent = n > 0 ? `Only ${n} available for your cart right now.` : 'Sorry, this is sold out right now.';
    } else if (e instanceof ApiError && e.status < 500) {
      status.textContent = e.message;
    } else {
      report(e, () => change(run, status));
    }
    status.className = 'form-status error';
  }
}

function lineItem(line) {
  const status = h('p', { class: 'form-status', role: 'status' });
  const id = `qty-${line.sku}`;
  const qty = h('input', {
    id,
    type: 'number',
    inputmode: 'numeric',
    min: 1,
    max: line.max_per_order ?? 99,
    value: line.quantity,
  });
  qty.addEventListener('change', () => {
    const quantity = Number(qty.value);
    if (!Number.isInteger(quantity) || quantity < 0) {
      status.className = 'form-status error';
      status.textContent = 'Enter a whole number of units.';
      return;
    }
    change(() => (quantity === 0 ? cartCall('DELETE', `/lines/${encodeURIComponent(line.sku)}`) : cartCall('PATCH', `/lines/${encodeURIComponent(line.sku)}`, { quantity })), status);
  });
  const name = line.product?.name ?? line.sku;
  return h(
    'li',
    { class: 'line', 'data-sku': line.sku },
    h(
      'div',
      {},
      line.product ? h('a', { href: `/products/${encodeURIComponent(line.product.slug)}`, text: name }) : h('span', { text: name }),
      h('div', { class: 'sku', text: `SKU ${line.sku}${line.unit_price ? ` · ${money(line.unit_price)} each` : ''}` }),
    ),
    h('strong', { text: line.line_total ? money(line.line_total) : 'Not sold in this currency' }),
    h(
      'div',
      { class: 'controls' },
      h('label', { for: id, text: 'Quantity' }),
      qty,
      h('button', {
        type: 'button',
        class: 'link',
        'aria-label': `Remove ${name}`,
        text: 'Remove',
        onclick: () => change(() => cartCall('DELETE', `/lines/${encodeURIComponent(line.sku)}`), status),
      }),
    ),
    line.available < line.quantity ? h('p', { class: 'warn', text: `Only ${line.available} available now.` }) : null,
    status,
  );
}

function couponBox(cart) {
  const status = h('p', { class: 'form-status', role: 'status' });
  const input = h('input', { id: 'coupon', name: 'code', autocomplete: 'off', maxlength: 64, placeholder: 'Coupon code' });
  const form = h(
    'form',
    {
      class: 'coupon-form',
      onsubmit: (e) => {
        e.preventDefault();
        const code = input.value.trim();
        if (!code) return;
        change(() => cartCall('POST', '/coupons', { code }), status);
      },
    },
    h('label', { for: 'coupon', class: 'sr-only', text: 'Coupon code' }),
    input,
    h('button', { type: 'submit', text: 'Apply' }),
  );
  const reasons = { below_minimum: 'spend more to use it', expired: 'it has expired', not_started: 'it has not started yet', exhausted: 'it has been used up', not_applicable: 'nothing in your cart qualifies' };
  const list = h(
    'ul',
    { class: 'coupons' },
    cart.coupons.map((c) =>
      h(
        'li',
        {},
        h('span', { text: c.code }),
        h('span', {
          class: 'hint',
          text: c.status === 'applied' ? 'applied' : c.status === 'unknown' ? 'not a valid code' : `does not apply: ${reasons[c.reason?.reason] ?? c.reason?.reason ?? 'not now'}`,
        }),
        h('button', {
          type: 'button',
          class: 'link',
          'aria-label': `Remove coupon ${c.code}`,
          text: 'Remove',
          onclick: () => change(() => cartCall('DELETE', `/coupons/${encodeURIComponent(c.code)}`), status),
        }),
      ),
    ),
  );
  return h('div', {}, h('h2', { text: 'Coupon' }), list, form, status);
}

function draw(cart) {
  if (!cart || cart.lines.length === 0) {
    root.replaceChildren(h('p', { text: 'Your cart is empty.' }), h('a', { class: 'button', href: '/products', text: 'Browse products' }));
    return;
  }
  const checkout = h('a', { class: 'button primary pay', href: '/checkout', text: 'Go to checkout' });
  root.replaceChildren(
    h(
      'div',
      { class: 'cart-layout' },
      h('section', { class: 'panel', 'aria-label': 'Items' }, h('ul', { class: 'lines' }, cart.lines.map(lineItem)), holdCountdown(cart, refresh)),
      h(
        'aside',
        { class: 'panel', 'aria-label': 'Summary' },
        h('h2', { text: 'Summary' }),
        totals(cart, { onDestination: refresh }),
        couponBox(cart),
        cart.all_priced ? checkout : h('p', { class: 'form-status error', text: 'Remove the items not sold in this currency to check out.' }),
      ),
    ),
  );
}

refresh();
