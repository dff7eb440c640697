// The product page: variant picker (its price, and in points where the
// store has a programme), exact live availability from
// GET /v1/inventory/{sku}, and adding to the cart.
import { $, $$, ApiError, api, cartCall, ensureCart, forgetCart, money, pageData, points, report } from './shop.js';

const product = pageData();
const form = $('#add-form');
const qty = $('#qty');
const button = $('#add');
const status = $('#add-status');
const live = new Map(product.variants.map((v) => [v.sku, v.available]));

const chosen = () => product.variants.find((v) => v.sku === new FormData(form).get('sku')) ?? product.variants[0];

function availabilityText(n) {
  if (n == null) return 'Availability unknown right now';
  if (n <= 0) return 'Sold out';
  if (n <= 5) return `Only ${n} left`;
  return `In stock (${n} available)`;
}

/** Shows the chosen variant's price and availability. */
function draw() {
  const v = chosen();
  const n = live.get(v.sku);
  $('#price').textContent = v.price ? money(v.price) : 'Not sold in this currency';
  // Only in a store with a points programme paying in this currency.
  const inPoints = $('#price-points');
  if (inPoints) {
    inPoints.hidden = v.price_points == null;
    inPoints.textContent = v.price_points == null ? '' : `or ${points(v.price_points)}`;
  }
  $('#availability').textContent = availabilityText(n);
  for (const input of $$('input[name=sku]', form)) {
    const label = input.closest('label').querySelector('.avail');
    if (label) label.textContent = availabilityText(live.get(input.value));
  }
  const limit = Math.min(product.max_per_order ?? 99, n ?? 99);
  qty.max = String(Math.max(1, limit));
  button.disabled = !v.price || (n != null && n <= 0);
}

/** Reads the chosen variant's exact availability now. */
async function refreshAvailability() {
  const { sku } = chosen();
  try {
    const { body } = await api('GET', `/v1/inventory/${encodeURIComponent(sku)}`);
    live.set(sku, body.available);
    draw();
  } catch {
    // The page keeps the count it was drawn with.
  }
}

async function add(event) {
  event?.preventDefault();
  const v = chosen();
  const quantity = Number(qty.value);
  if (!Number.isInteger(quantity) || quantity < 1) {
    status.className = 'form-status error';
    status.textContent = 'Choose a quantity of at least 1.';
    qty.focus();
    return;
  }
  button.disabled = true;
  status.className = 'form-status';
  status.textContent = 'Adding…';
  try {
    await ensureCart();
    const cart = await cartCall('POST', '/lines', { sku: v.sku, quantity });
    const line = cart.lines.find((l) => l.sku === v.sku);
    live.set(v.sku, line?.available ?? live.get(v.sku));
    status.className = 'form-status ok';
    status.replaceChildren(`Added to your cart (${line?.quantity ?? quantity} in cart). `, Object.assign(document.createElement('a'), { href: '/cart', textContent: 'View cart' }));
  } catch (e) {
    status.className = 'form-status error';
    if (e instanceof ApiError && e.code === 'out_of_stock') {
      const n = e.problem.available ?? 0;
      status.textContent = n > 0 ? `Only ${n} available for your cart right now.` : 'Sorry, this is sold out right now.';
      refreshAvailability();
    } else if (e instanceof ApiError && e.code === 'cart_not_found' && !event?.again) {
      // The saved cart is gone (expired or checked out): start a new one, once.
      forgetCart();
      status.textContent = '';
      return add({ again: true, preventDefault() {} });
    } else {
      status.textContent = e.message;
      report(e, () => add());
    }
  } finally {
    draw();
  }
}

form.addEventListener('change', (e) => {
  if (e.target.name === 'sku') {
    draw();
    refreshAvailability();
  }
});
form.addEventListener('submit', add);
// Stock moves while the tab sits in the background: read it again on return.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refreshAvailability();
});
draw();
refreshAvailability();
