// Checkout: contact, address, shipping method and a test card; pays
// exactly the total shown (`expected_total`). Each payment attempt gets one
// Idempotency-Key, kept in sessionStorage with its body until the attempt
// has an outcome: a double click, a retry after a network failure or a
// reload sends the same key, so the shop charges at most once.
// A member signed in at a store whose points pay in the cart's currency
// (the cart read has `points`) chooses card, points, or points and card;
// their token goes along as `Member-Token` (a card payment then earns).
import { $, ApiError, NetworkError, api, clearNotice, forgetCart, forgetMember, h, memberPoints, memberSession, money, notify, points, savedCart } from './shop.js';
import { COUNTRIES, destination, holdCountdown, loadPricedCart, setDestination, shippingChoices, totals } from './summary.js';

const root = $('#checkout');
const ATTEMPT = 'edgecart.checkout-attempt';

/** Test cards of the built-in test provider: number → provider token. */
const TEST_CARDS = {
  4242424242424242: 'tok_visa',
  4000000000000002: 'tok_decline',
  4000000000000119: 'tok_timeout',
};

let cart = null; // the cart read whose total the shopper sees
let account = null; // the signed-in member's points (GET /v1/points), or null
let method = 'card'; // card | points | points_and_card
let sending = false;
let leaving = false; // an order was placed: the page is going to its confirmation

const field = (name, label, attrs = {}) =>
  h(
    'div',
    { class: 'field' },
    h('label', { for: name, text: label }),
    h('input', { id: name, name, ...attrs }),
    h('span', { class: 'field-error', id: `${name}-error`, 'aria-live': 'polite' }),
  );

function form() {
  const dest = destination();
  const saved = JSON.parse(localStorage.getItem('edgecart.contact') ?? '{}');
  const country = h(
    'select',
    { id: 'country', name: 'country', autocomplete: 'country' },
    COUNTRIES.map(([code, name]) => h('option', { value: code, selected: code === dest.country, text: name })),
  );
  return h(
    'form',
    { class: 'checkout-form panel', id: 'checkout-form', novalidate: true },
    h('fieldset', {}, h('legend', { text: 'Contact' }), field('email', 'Email', { type: 'email', autocomplete: 'email', required: true, value: saved.email ?? '' })),
    h(
      'fieldset',
      {},
      h('legend', { text: 'Shipping address' }),
      field('name', 'Full name', { autocomplete: 'name', required: true, maxlength: 200, value: saved.name ?? '' }),
      field('line1', 'Address', { autocomplete: 'address-line1', required: true, maxlength: 200, value: saved.line1 ?? '' }),
      field('line2', 'Apartment, suite (optional)', { autocomplete: 'address-line2', maxlength: 200, value: saved.line2 ?? '' }),
      h(
        'div',
        { class: 'field-row' },
        field('city', 'City', { autocomplete: 'address-level2', required: true, maxlength: 200, value: saved.city ?? '' }),
        field('region', 'State / region', { autocomplete: 'address-level1', maxlength: 200, value: dest.region ?? '' }),
        field('postal_code', 'Postal code', { autocomplete: 'postal-code', required: true, maxlength: 20, value: saved.postal_code ?? '' }),
      ),
      h('div', { class: 'field' }, h('label', { for: 'country', text: 'Country' }), country, h('span', { class: 'field-error', id: 'country-error' })),
    ),
    h('div', { id: 'methods' }),
    h(
      'fieldset',
      {},
      h('legend', { text: 'Payment' }),
      h('div', { id: 'pay-with' }),
      h(
        'div',
        { id: 'card-fields' },
        field('card', 'Card number', { inputmode: 'numeric', autocomplete: 'off', required: true, value: '4242 4242 4242 4242', 'aria-describedby': 'card-hint' }),
        h('p', { class: 'hint', id: 'card-hint', text: 'Test payments only: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined, 4000 0000 0000 0119 does not answer.' }),
      ),
    ),
    h('button', { type: 'submit', class: 'primary pay', id: 'pay', text: 'Pay' }),
    h('p', { class: 'form-status', id: 'pay-status', role: 'status', 'aria-live': 'polite' }),
  );
}

const value = (name) => $(`#${name}`).value.trim();

/** SKU → product name, for the lines of the cart the shopper sees. */
const lineNames = () => Object.fromEntries((cart?.lines ?? []).map((l) => [l.sku, l.product?.name ?? l.sku]));

/** Reads the cart for the form's destination and redraws the summary. */
async function reprice() {
  // Never redraw under a payment in flight: its form and total stay as sent.
  if (sending || leaving) return;
  const params = { country: value('country'), region: value('region'), shipping_method: destination().shipping_method };
  cart = await loadPricedCart(params);
  if (sending || leaving) return; // a payment began while this read was out
  if (!cart || cart.lines.length === 0) return empty();
  $('#methods').replaceChildren(
    shippingChoices(cart, (id) => {
      setDestination({ shipping_method: id });
      reprice().catch(failed);
    }),
  );
  $('#summary').replaceChildren(
    h('h2', { text: 'Order summary' }),
    h(
      'ul',
      { class: 'lines' },
      cart.lines.map((l) => h('li', { class: 'line' }, h('span', { text: `${l.product?.name ?? l.sku} × ${l.quantity}` }), h('span', { text: money(l.line_total) }))),
    ),
    totals(cart),
    holdCountdown(cart),
  );
  drawPayWith();
  $('#pay').disabled = !cart.shipping_method || !cart.all_priced;
}

/** The points the cart's total costs and their rate, when the signed-in member may pay with them; else null. */
const payable = () => (account && cart?.points && memberSession() ? cart.points : null);

/** The points typed for `points_and_card` as a number (NaN when not a whole number). */
const pointsTyped = () => {
  const raw = $('#points')?.value.trim() ?? '';
  return /^\d+$/.test(raw) ? Number(raw) : NaN;
};

/** Most points a `points_and_card` payment may spend: the card keeps at least one minor unit. */
const mostPoints = (p) => Math.max(0, (cart.grand_total.amount - 1) * p.per_minor);

/** The money the typed points pay (minor units), or null when they are not a valid amount. */
function pointsValue(p) {
  const n = pointsTyped();
  if (!Number.isInteger(n) || n < p.per_minor || n % p.per_minor !== 0 || n > mostPoints(p)) return null;
  return n / p.per_minor;
}

/** The Pay button's words for the chosen way to pay. */
function payLabel() {
  const p = payable();
  if (p && method === 'points') return `Pay ${points(p.grand_total, p.unit)}`;
  const value = p && method === 'points_and_card' ? pointsValue(p) : null;
  if (value != null) {
    return `Pay ${points(pointsTyped(), p.unit)} + ${money({ amount: cart.grand_total.amount - value, currency: cart.grand_total.currency })}`;
  }
  return `Pay ${money(cart.grand_total)}`;
}

const capitalised = (s) => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

/**
 * The way to pay: card only, unless a member is signed in and the store's
 * points pay in the cart's currency; then card, points, or points and
 * card with the number of points.
 */
function drawPayWith() {
  const slot = $('#pay-with');
  if (!slot) return;
  const p = payable();
  if (!p) {
    method = 'card';
    slot.replaceChildren(
      cart?.points && !memberSession() && $('#member-sign-in') ? h('p', { class: 'hint', id: 'points-hint', text: `Members can pay with ${cart.points.unit}: sign in at the top of the page.` }) : null,
    );
  } else if (!$('#pay-with-choices')) {
    const choice = (value) =>
      h(
        'label',
        { class: 'radio' },
        h('input', { type: 'radio', name: 'pay_with', value, checked: value === method, onchange: () => choose(value) }),
        h('span', { id: `pay-label-${value}` }),
      );
    slot.replaceChildren(
      h(
        'fieldset',
        { id: 'pay-with-choices', class: 'pay-with' },
        h('legend', { text: 'Pay with' }),
        choice('card'),
        choice('points'),
        choice('points_and_card'),
        h(
          'div',
          { class: 'field', id: 'points-field' },
          h('label', { for: 'points', id: 'points-label' }),
          h('input', {
            id: 'points',
            name: 'points',
            type: 'number',
            inputmode: 'numeric',
            'aria-describedby': 'points-amount-hint',
            oninput: (e) => {
              // A new amount: its old error no longer applies (checked again on Pay).
              e.target.removeAttribute('aria-invalid');
              $('#points-error').textContent = '';
              $('#pay').textContent = payLabel();
            },
          }),
          h('span', { class: 'hint', id: 'points-amount-hint' }),
          h('span', { class: 'field-error', id: 'points-error', 'aria-live': 'polite' }),
        ),
      ),
    );
  }
  if (p) {
    // The words that depend on the cart's total and the balance.
    const unit = capitalised(p.unit);
    $('#pay-label-card').textContent = 'Card';
    $('#pay-label-points').textContent = `${unit}: ${points(p.grand_total, p.unit)}`;
    $('#pay-label-points_and_card').textContent = `${unit} and card`;
    $('#points-label').textContent = `${unit} to spend`;
    const input = $('#points');
    input.min = String(p.per_minor);
    input.step = String(p.per_minor);
    input.max = String(mostPoints(p));
    $('#points-amount-hint').textContent =
      `A multiple of ${p.per_minor}, at most ${points(mostPoints(p), p.unit)}; the card pays the rest. You have ${points(account.balance.available, p.unit)} to spend.`;
  }
  $('#points-field')?.toggleAttribute('hidden', method !== 'points_and_card');
  $('#card-fields').hidden = method === 'points';
  $('#pay').textContent = payLabel();
}

function choose(value) {
  method = value;
  drawPayWith();
  if (value === 'points_and_card') $('#points').focus();
}

/** Reads the member's points again (sign-in, sign-out, a refused payment) and redraws the way to pay. */
async function refreshAccount(fresh = false) {
  try {
    account = await memberPoints({ fresh });
  } catch {
    account = null; // the member's points could not be read: card only for now
  }
  if (cart && !sending && !leaving) drawPayWith();
}

function empty() {
  root.replaceChildren(h('p', { text: 'Your cart is empty.' }), h('a', { class: 'button', href: '/products', text: 'Browse products' }));
}

function failed(e) {
  const retry = () => reprice().catch(failed);
  if (e instanceof NetworkError || (e instanceof ApiError && e.status >= 500)) notify(e.message, { retry });
  else notify(e.message);
}

function body() {
  const number = value('card').replace(/[\s-]/g, '');
  const shipping_address = {
    name: value('name'),
    line1: value('line1'),
    city: value('city'),
    postal_code: value('postal_code'),
    country: value('country'),
  };
  if (value('line2')) shipping_address.line2 = value('line2');
  if (value('region')) shipping_address.region = value('region');
  const token = TEST_CARDS[number] ?? `card_${number}`;
  const payment =
    method === 'points' ? { method: 'points' } : method === 'points_and_card' ? { method: 'points_and_card', points: pointsTyped(), token } : { method: 'card', token };
  return {
    email: value('email'),
    shipping_address,
    shipping_method: cart.shipping_method,
    payment,
    expected_total: cart.grand_total,
  };
}

/** Marks the fields `errors` name; returns the messages no field shows. */
function showFieldErrors(errors) {
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of root.querySelectorAll('.field-error')) el.textContent = '';
  let first = null;
  const unshown = [];
  for (const err of errors) {
    const name = (err.field ?? '').split('.').pop();
    const input = name === 'token' ? $('#card') : name === 'method' ? null : $(`#${CSS.escape(name)}`);
    if (!input || input.closest('[hidden]')) {
      unshown.push(err.message);
      continue;
    }
    input.setAttribute('aria-invalid', 'true');
    const slot = $(`#${CSS.escape(input.id)}-error`);
    if (slot) slot.textContent = err.message;
    first ??= input;
  }
  first?.focus();
  return unshown;
}

/** Client-side checks, so obvious mistakes never reach the API. */
function validate() {
  const errors = [];
  const card = method !== 'points';
  for (const name of ['email', 'name', 'line1', 'city', 'postal_code', ...(card ? ['card'] : [])]) {
    if (!value(name)) errors.push({ field: name, message: 'Required.' });
  }
  if (value('email') && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value('email'))) errors.push({ field: 'email', message: 'Enter an email address like name@example.com.' });
  const number = value('card').replace(/[\s-]/g, '');
  if (card && number && !TEST_CARDS[number]) errors.push({ field: 'card', message: 'This demo takes test cards only (see below).' });
  const p = payable();
  if (method === 'points_and_card' && p && pointsValue(p) == null) {
    errors.push({ field: 'points', message: `Enter a multiple of ${p.per_minor}, at most ${points(mostPoints(p), p.unit)}: the card pays the rest.` });
  }
  showFieldErrors(errors);
  return errors.length === 0;
}

const loadAttempt = () => JSON.parse(sessionStorage.getItem(ATTEMPT) ?? 'null');
const endAttempt = () => sessionStorage.removeItem(ATTEMPT);

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function status(text, kind = '') {
  const el = $('#pay-status');
  if (!el) return;
  el.className = `form-status ${kind}`;
  el.textContent = text;
}

/** Sends one attempt (its key and body) until it has an outcome. */
async function send(attempt, tries = 0) {
  sending = true;
  const pay = $('#pay');
  if (pay) pay.disabled = true;
  status('Paying…');
  clearNotice();
  try {
    const { body: result } = await api('POST', `/v1/carts/${attempt.cart}/checkout`, {
      body: attempt.body,
      key: attempt.key,
      token: savedCart()?.token,
      member: attempt.member,
    });
    endAttempt();
    const orders = JSON.parse(localStorage.getItem('edgecart.orders') ?? '{}');
    orders[result.order.id] = { token: result.order_token, names: lineNames() };
    localStorage.setItem('edgecart.orders', JSON.stringify(orders));
    sessionStorage.setItem('edgecart.placed', result.order.id);
    forgetCart();
    leaving = true;
    location.assign(`/orders/${encodeURIComponent(result.order.id)}#token=${encodeURIComponent(result.order_token)}`);
    return;
  } catch (e) {
    sending = false;
    const button = $('#pay');
    if (button) button.disabled = false;
    if (e instanceof NetworkError || (e instanceof ApiError && e.status >= 500 && e.code !== 'payment_unavailable')) {
      // No outcome known: the same key asks again, never a second charge.
      status('');
      notify('We could not confirm your payment: the connection failed. Retrying uses the same payment attempt, so you will not be charged twice.', {
        retry: () => send(attempt),
      });
      return;
    }
    const code = e.code;
    if ((code === 'idempotency_in_progress' || code === 'checkout_in_progress') && tries < 30) {
      // This attempt is still running (a double click, or a reload): wait for it.
      sending = true;
      if (button) button.disabled = true;
      status('Confirming your payment…');
      await new Promise((r) => setTimeout(r, 1000));
      return send(attempt, tries + 1);
    }
    endAttempt();
    if (code === 'payment_declined') {
      status('Your card was declined. Nothing was charged and your cart is unchanged: try another card.', 'error');
      $('#card').focus();
    } else if (code === 'payment_unavailable') {
      status('The payment provider did not answer. Nothing was charged (any hold is released): please try again.', 'error');
    } else if (code === 'total_changed') {
      const next = e.problem.quote?.grand_total;
      status(`The total changed from ${money(attempt.body.expected_total)} to ${money(next)} (prices or promotions changed). Review the new total and pay again.`, 'error');
      await reprice().catch(failed);
    } else if (code === 'out_of_stock') {
      const names = lineNames();
      const lines = (e.problem.lines ?? []).map((l) => `${names[l.sku] ?? l.sku} (only ${l.available} left)`).join(', ');
      status(`Not enough stock for: ${lines || 'an item in your cart'}. Nothing was charged. Adjust your cart and try again.`, 'error');
      $('#pay-status').append(' ', h('a', { href: '/cart', text: 'Back to cart' }));
    } else if (code === 'insufficient_points') {
      // Its detail says how many can be spent now; the balance shown is read again.
      status(e.message, 'error');
      await refreshAccount(true);
    } else if (code === 'member_token_required' || code === 'invalid_member_token') {
      forgetMember(); // redraws: card only
      status(`${e.message} Sign in again to pay with points, or pay by card.`, 'error');
    } else if (code === 'validation_failed' || e.problem.errors) {
      const unshown = showFieldErrors(e.problem.errors ?? []);
      status(unshown.length ? unshown.join(' ') : 'Please correct the highlighted fields.', 'error');
    } else {
      status(e.message, 'error');
      await reprice().catch(failed);
    }
  }
}

async function pay(event) {
  event.preventDefault();
  if (sending || leaving || !cart) return; // a second click while paying does nothing
  if (!validate()) return;
  const b = body();
  localStorage.setItem(
    'edgecart.contact',
    JSON.stringify({ email: b.email, name: b.shipping_address.name, line1: b.shipping_address.line1, line2: value('line2'), city: b.shipping_address.city, postal_code: b.shipping_address.postal_code }),
  );
  const member = memberSession()?.token;
  const previous = loadAttempt();
  const attempt =
    previous && previous.cart === cart.id && previous.member === member && JSON.stringify(previous.body) === JSON.stringify(b)
      ? previous
      : { cart: cart.id, key: newKey(), body: b, member };
  sessionStorage.setItem(ATTEMPT, JSON.stringify(attempt));
  await send(attempt);
}

async function start() {
  if (!savedCart()) return empty();
  root.replaceChildren(h('div', { class: 'cart-layout' }, form(), h('aside', { class: 'panel', id: 'summary', 'aria-label': 'Order summary' })));
  const f = $('#checkout-form');
  f.addEventListener('submit', pay);
  let timer;
  f.addEventListener('change', (e) => {
    if (e.target.id === 'country' || e.target.id === 'region') {
      setDestination({ country: value('country'), region: value('region') });
      clearTimeout(timer);
      timer = setTimeout(() => reprice().catch(failed), 150);
    }
  });
  // A reload while an attempt had no outcome yet: ask again with its key
  // (even if the cart now reads empty: that attempt may have paid).
  const pending = loadAttempt();
  if (pending && pending.cart === savedCart().id) {
    await send(pending);
    if (leaving) return;
  }
  // Signing in or out (the header) changes the ways to pay.
  document.addEventListener('edgecart:member', () => refreshAccount());
  try {
    [account] = await Promise.all([memberPoints().catch(() => null), reprice()]);
    if (cart && !leaving) drawPayWith();
  } catch (e) {
    failed(e);
  }
}

start();
