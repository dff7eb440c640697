// Promotions and coupons of the selected store: the list (GET
// /admin/v1/promotions), create or replace one as JSON (PUT
// /admin/v1/promotions/{id}) and delete one (DELETE, after confirmation).
import { api, can, session } from '../api.js';
import { busy, confirmDialog, errorBox, h, jsonEditor, money, notice, table, when } from '../ui.js';

function discount(d) {
  if (d.type === 'percentage') return `${d.basis_points / 100} % off`;
  if (d.amounts) return `${Object.entries(d.amounts).map(([c, a]) => money(a, c)).join(' / ')} off`;
  return d.type;
}

export async function render(main) {
  main.append(h('h1', {}, `Promotions · ${session().store}`));
  const list = h('div', { id: 'promotions' });
  const out = h('div');
  main.append(out, list);
  const load = async () => {
    try {
      const r = await api('GET', '/admin/v1/promotions', { store: true });
      const cols = [
        { label: 'Id', get: (p) => p.id },
        { label: 'Code', get: (p) => p.code ?? '(automatic)' },
        { label: 'Discount', get: (p) => discount(p.discount) },
        { label: 'Target', get: (p) => p.target.type + (p.target.category ? ` ${p.target.category}` : '') },
        { label: 'Active', get: (p) => (p.active ? 'yes' : 'no') },
        { label: 'Window', get: (p) => `${when(p.starts_at) || '…'} – ${when(p.ends_at) || '…'}` },
        { label: 'Redemptions', num: true, get: (p) => `${p.redemptions ?? 0}${p.usage_limit ? ` / ${p.usage_limit}` : ''}` },
      ];
      if (can('write')) {
        cols.push({
          label: 'Actions',
          get: (p) => [
            h('button', { type: 'button', onclick: () => edit(p) }, 'Edit'),
            ' ',
            h('button', { type: 'button', class: 'danger', onclick: (e) => remove(e.currentTarget, p) }, 'Delete'),
          ],
        });
      }
      list.replaceChildren(table('Promotions', cols, r.items, 'No promotions.'));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  };
  const remove = async (button, p) => {
    if (!(await confirmDialog('Delete promotion', `Delete ${p.id}${p.code ? ` (coupon ${p.code})` : ''}? Carts using it lose it.`, 'Delete'))) return;
    busy(button, async () => {
      try {
        await api('DELETE', `/admin/v1/promotions/${encodeURIComponent(p.id)}`, { store: true });
        notice(`Deleted ${p.id}.`);
        await load();
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    });
  };
  let editor;
  const edit = (p) => {
    const { schema, redemptions, starts_at_ms, ends_at_ms, ...input } = p;
    editor.querySelector('textarea').value = JSON.stringify(input, null, 2);
    editor.querySelector('textarea').focus();
  };
  if (can('write')) {
    editor = jsonEditor('Promotion (PromotionInput JSON, with its id)', {
      id: 'welcome10',
      code: 'WELCOME10',
      description: '10 % off everything',
      discount: { type: 'percentage', basis_points: 1000 },
      target: { type: 'cart' },
      active: true,
    });
    const save = h('button', { type: 'button', class: 'primary', id: 'save-promotion' }, 'Save promotion');
    save.addEventListener('click', () =>
      busy(save, async () => {
        try {
          const body = editor.read();
          if (!body.id) throw { detail: 'The promotion needs an id.' };
          await api('PUT', `/admin/v1/promotions/${encodeURIComponent(body.id)}`, { store: true, body });
          out.replaceChildren();
          notice(`Saved ${body.id}.`);
          await load();
        } catch (e) {
          out.replaceChildren(errorBox(e instanceof SyntaxError ? { detail: `Not valid JSON: ${e.message}` } : e));
        }
      }),
    );
    main.append(h('section', { class: 'card' }, h('h2', {}, 'Create or replace'), editor, save));
  }
  await load();
}
