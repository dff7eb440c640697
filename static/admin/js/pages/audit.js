// Audit trail: the shared one (catalog, prices, stock writes: GET
// /admin/v1/audit) and the selected store's (configuration, promotions,
// order actions, profile: GET /admin/v1/store/audit), paged.
import { api, session } from '../api.js';
import { busy, errorBox, h, table, when } from '../ui.js';

const brief = (v) => (v == null ? '' : JSON.stringify(v).slice(0, 160));

export async function render(main, which = 'store') {
  const store = which !== 'shared';
  main.append(
    h('h1', {}, 'Audit trail'),
    h('div', { class: 'tabs', role: 'group', 'aria-label': 'Which trail' },
      h('a', { href: '#/audit/store', class: 'button', 'aria-current': store ? 'page' : null }, `Store ${session().store}`),
      h('a', { href: '#/audit/shared', class: 'button', 'aria-current': store ? null : 'page' }, 'Shared catalog and stock')),
  );
  const out = h('div', { id: 'audit' });
  const more = h('button', { type: 'button', hidden: true, id: 'more-audit' }, 'Older entries');
  main.append(out, more);
  let rows = [];
  let cursor;
  const load = async (reset) => {
    try {
      const r = await api('GET', store ? '/admin/v1/store/audit' : '/admin/v1/audit', { store, query: { limit: 50, cursor: reset ? undefined : cursor } });
      rows = reset ? r.items : rows.concat(r.items);
      cursor = r.next_cursor;
      more.hidden = !cursor;
      out.replaceChildren(table('Audit entries', [
        { label: '#', num: true, get: (x) => x.seq },
        { label: 'When', get: (x) => when(x.at) },
        { label: 'Who', get: (x) => x.actor },
        { label: 'Action', get: (x) => x.action },
        { label: 'Target', get: (x) => x.target },
        { label: 'Fields', get: (x) => (x.fields ?? []).join(', ') },
        { label: 'Before', get: (x) => brief(x.before) },
        { label: 'After', get: (x) => brief(x.after) },
      ], rows, 'No entries.'));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };
  more.addEventListener('click', () => busy(more, () => load(false)));
  await load(true);
}
