// DOM helpers shared by the pages: elements built from data (text, never
// HTML), money in minor units, the error box that shows a problem's
// `detail`, the confirmation dialog, labelled form fields, tables and CSV.
import { idempotencyKey } from './api.js';

export const $ = (sel, root = document) => root.querySelector(sel);

/** An element with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

const formats = new Map();
function currencyFormat(currency) {
  let f = formats.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    } catch {
      f = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2 });
    }
    formats.set(currency, f);
  }
  return f;
}

/** Minor units of `currency` as text: money(1899, 'USD') → "$18.99". */
export function money(amount, currency) {
  if (amount == null) return '';
  const f = currencyFormat(currency);
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(amount / 10 ** digits);
}

/** The number of minor units in one unit of `currency` (100 for USD, 1 for JPY). */
export function minorPerUnit(currency) {
  return 10 ** currencyFormat(currency).resolvedOptions().maximumFractionDigits;
}

export const number = (n) => new Intl.NumberFormat('en-US').format(n ?? 0);

/** A time (ISO text or epoch ms) as "2026-12-07 14:03" UTC. */
export function when(t) {
  if (t == null || t === '') return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** An error panel: the problem's `detail` (and its code, status, field problems). */
export function errorBox(e) {
  const items = (e.fields ?? []).map((f) => h('li', {}, f.field ? `${f.field}: ` : '', f.message ?? f.code));
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', {}, e.detail ?? e.message ?? String(e)),
    e.status ? h('span', { class: 'muted' }, ` (${e.status}${e.code ? ` ${e.code}` : ''}${e.where ? `, ${e.where}` : ''})`) : null,
    items.length ? h('ul', {}, items) : null,
  );
}

/** Replaces the children of `slot` with an error panel for `e`. */
export function showError(slot, e) {
  slot.replaceChildren(errorBox(e));
  if (!(e && ('status' in e))) console.warn(e);
}

/** A transient status message, announced to screen readers. */
export function notice(text) {
  const box = $('#notice');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => (box.hidden = true), 6000);
}

let fieldSeq = 0;
/** A labelled input: field('Reason', {name: 'reason', required: true}). */
export function field(label, attrs = {}, hint) {
  const id = attrs.id ?? `f${++fieldSeq}`;
  const tag = attrs.tag ?? 'input';
  const { tag: _t, options, ...rest } = attrs;
  const control = h(tag, { ...rest, id }, ...(options ?? []).map((o) => (typeof o === 'string' ? h('option', { value: o }, o || 'any') : h('option', { value: o.value }, o.label))));
  if (attrs.value != null) control.value = attrs.value;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', { id: hintId, class: 'muted' }, hint) : null);
}

/** Asks for confirmation in a modal dialog; resolves true if confirmed. */
export function confirmDialog(title, text, action = 'Confirm') {
  return new Promise((resolve) => {
    const dialog = $('#confirm');
    $('#confirm-title').textContent = title;
    $('#confirm-text').textContent = text;
    $('#confirm-ok').textContent = action;
    const done = () => {
      dialog.removeEventListener('close', done);
      resolve(dialog.returnValue === 'ok');
    };
    dialog.returnValue = '';
    dialog.addEventListener('close', done);
    dialog.showModal();
    $('#confirm-cancel').focus();
  });
}

/** A table: columns [{label, get(row) → text|Node}], with a caption. */
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : null, 'data-label': c.label }, c.get(r) ?? ''))))),
    ),
  );
}

/** CSV text (RFC 4180: quoted where needed, CRLF) of rows under a header. */
export function csv(header, rows) {
  const cell = (v) => {
    const s = v == null ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Offers `text` as a file download. */
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Disables `button` while `work` runs; returns its result. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A JSON text editor (a labelled textarea) whose value parses back. */
export function jsonEditor(label, value, rows = 12) {
  const f = field(label, { tag: 'textarea', rows, spellcheck: 'false', class: 'code' });
  f.querySelector('textarea').value = JSON.stringify(value, null, 2);
  f.read = () => JSON.parse(f.querySelector('textarea').value);
  return f;
}

/**
 * A write form: `send(formData, key)` is called with an Idempotency-Key that
 * is kept across a retry after a failure to reach the Worker (the write may
 * have happened) and renewed after any answer of the API.
 */
export function writeForm(id, title, fields, send) {
  let key = idempotencyKey();
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id }, h('h2', {}, title), h('div', { class: 'row' }, fields, h('button', { type: 'submit', class: 'primary' }, title)), out);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form.querySelector('button'), async () => {
      try {
        await send(new FormData(form), key);
        key = idempotencyKey();
        out.replaceChildren();
        form.reset();
      } catch (e) {
        if (e.status !== 0) key = idempotencyKey();
        out.replaceChildren(errorBox(e));
      }
    });
  });
  return form;
}
