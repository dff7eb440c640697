// Points: look a member up in the selected store (GET
// /admin/v1/members/{member}/points: balance and history, paged), grant
// points (POST …/points/grants) and adjust them (POST …/points/adjustments),
// each with a reason and the Idempotency-Key the API requires.
import { api, can, session } from '../api.js';
import { busy, errorBox, field, h, notice, number, table, when, writeForm } from '../ui.js';

async function member(main, id) {
  main.append(h('p', {}, h('a', { href: '#/points' }, '← Members')), h('h1', {}, `Member ${id} · ${session().store}`));
  const path = `/admin/v1/members/${encodeURIComponent(id)}/points`;
  const top = h('div', { id: 'balance' });
  const hist = h('div', { id: 'points-history' });
  const more = h('button', { type: 'button', hidden: true, id: 'more-points' }, 'More history');
  let rows = [];
  let cursor;
  const load = async (reset) => {
    try {
      const r = await api('GET', path, { store: true, query: { limit: 50, cursor: reset ? undefined : cursor } });
      const b = r.balance;
      top.replaceChildren(
        h(
          'div',
          { class: 'tiles' },
          h('div', { class: 'tile', id: 'points-available' }, h('div', { class: 'label' }, `Available (${r.unit ?? 'points'})`), h('div', { class: 'value' }, number(b.available))),
          h('div', { class: 'tile' }, h('div', { class: 'label' }, 'Held'), h('div', { class: 'value' }, number(b.held))),
          h('div', { class: 'tile' }, h('div', { class: 'label' }, 'Pending'), h('div', { class: 'value' }, number(b.pending))),
          h('div', { class: 'tile' }, h('div', { class: 'label' }, 'Debt'), h('div', { class: 'value' }, number(b.debt))),
          b.next_expiry ? h('div', { class: 'tile' }, h('div', { class: 'label' }, `Next expiry ${when(b.next_expiry.at)}`), h('div', { class: 'value' }, number(b.next_expiry.points))) : null,
        ),
      );
      rows = reset ? r.history : rows.concat(r.history);
      cursor = r.next_cursor;
      more.hidden = !cursor;
      hist.replaceChildren(
        table('Points history', [
          { label: '#', num: true, get: (x) => x.seq },
          { label: 'When', get: (x) => when(x.at) },
          { label: 'Kind', get: (x) => x.kind },
          { label: 'Points', num: true, get: (x) => number(x.points) },
          { label: 'Reason', get: (x) => x.reason ?? x.order ?? '' },
          { label: 'By', get: (x) => x.actor ?? '' },
          { label: 'Expires', get: (x) => when(x.expires_at) },
        ], rows, 'No history yet.'),
      );
    } catch (e) {
      top.replaceChildren(errorBox(e));
    }
  };
  more.addEventListener('click', () => busy(more, () => load(false)));
  main.append(top);
  if (can('write')) {
    main.append(
      writeForm('grant-points', 'Grant points', [
        field('Points', { type: 'number', name: 'points', id: 'grant-points-n', min: 1, step: 1, required: true }),
        field('Reason', { name: 'reason', id: 'grant-reason', required: true }),
        field('Expires (optional)', { type: 'date', name: 'expires', id: 'grant-expires' }),
      ], async (d, key) => {
        const body = { points: Number(d.get('points')), reason: d.get('reason') };
        if (d.get('expires')) body.expires_at = `${d.get('expires')}T00:00:00Z`;
        const r = await api('POST', `${path}/grants`, { store: true, key, body });
        notice(r.replayed ? 'Already granted: nothing changed.' : `Granted. Available now ${number(r.balance.available)}.`);
        await load(true);
      }),
      writeForm('adjust-points', 'Adjust points', [
        field('Points (− to remove)', { type: 'number', name: 'points', id: 'adjust-points-n', step: 1, required: true }),
        field('Reason', { name: 'reason', id: 'adjust-points-reason', required: true }),
      ], async (d, key) => {
        const r = await api('POST', `${path}/adjustments`, { store: true, key, body: { points: Number(d.get('points')), reason: d.get('reason') } });
        notice(r.replayed ? 'Already adjusted: nothing changed.' : `Adjusted. Available now ${number(r.balance.available)}.`);
        await load(true);
      }),
    );
  }
  main.append(h('h2', {}, 'History'), hist, more);
  await load(true);
}

function lookup(main) {
  main.append(h('h1', {}, `Points · ${session().store}`));
  const form = h(
    'form',
    { class: 'card row', id: 'member-lookup' },
    field('Member id', { name: 'member', id: 'member', required: true, autocomplete: 'off' }, "The member's id in the operator's programme."),
    h('button', { type: 'submit', class: 'primary' }, 'Look up'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/points/${encodeURIComponent(new FormData(form).get('member').trim())}`;
  });
  main.append(form);
}

export function render(main, id) {
  return id ? member(main, id) : lookup(main);
}
