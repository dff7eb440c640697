// Webhooks of the selected store: endpoints (GET/POST /admin/v1/webhooks,
// PATCH/DELETE /admin/v1/webhooks/{id}), an endpoint's deliveries (GET
// …/deliveries, paged) and replaying its events (POST …/replay).
import { api, can, session } from '../api.js';
import { busy, confirmDialog, errorBox, field, h, notice, table, when } from '../ui.js';

async function endpoints(main) {
  main.append(h('h1', {}, `Webhooks · ${session().store}`));
  const list = h('div', { id: 'webhooks' });
  const out = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    try {
      const r = await api('GET', '/admin/v1/webhooks', { store: true });
      const cols = [
        { label: 'URL', get: (w) => h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.url) },
        { label: 'Events', get: (w) => (w.events?.length ? w.events.join(', ') : 'all') },
        { label: 'Enabled', get: (w) => (w.enabled ? 'yes' : 'no') },
        { label: 'Description', get: (w) => w.description ?? '' },
      ];
      if (can('write')) {
        cols.push({
          label: 'Actions',
          get: (w) => [
            h('button', { type: 'button', onclick: (e) => toggle(e.currentTarget, w) }, w.enabled ? 'Disable' : 'Enable'),
            ' ',
            h('button', { type: 'button', class: 'danger', onclick: (e) => remove(e.currentTarget, w) }, 'Delete'),
          ],
        });
      }
      list.replaceChildren(table('Webhook endpoints', cols, r.items, 'No endpoints.'));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  };
  const toggle = (button, w) =>
    busy(button, async () => {
      try {
        await api('PATCH', `/admin/v1/webhooks/${encodeURIComponent(w.id)}`, { store: true, body: { enabled: !w.enabled } });
        await load();
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    });
  const remove = async (button, w) => {
    if (!(await confirmDialog('Delete endpoint', `Stop sending events to ${w.url} and delete its delivery log?`, 'Delete'))) return;
    busy(button, async () => {
      try {
        await api('DELETE', `/admin/v1/webhooks/${encodeURIComponent(w.id)}`, { store: true });
        notice('Endpoint deleted.');
        await load();
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    });
  };
  main.append(out, list);
  if (can('write')) {
    const form = h(
      'form',
      { class: 'card', id: 'webhook-form' },
      h('h2', {}, 'Add an endpoint'),
      h('div', { class: 'row' },
        field('URL (https)', { type: 'url', name: 'url', id: 'wh-url', required: true }),
        field('Events (comma-separated; empty: all)', { name: 'events', id: 'wh-events', placeholder: 'order.paid, order.refunded' }),
        field('Description', { name: 'description', id: 'wh-description' }),
        h('button', { type: 'submit', class: 'primary' }, 'Add endpoint')),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const d = new FormData(form);
      busy(form.querySelector('button'), async () => {
        try {
          const events = String(d.get('events')).split(',').map((x) => x.trim()).filter(Boolean);
          const w = await api('POST', '/admin/v1/webhooks', { store: true, body: { url: d.get('url'), events, description: d.get('description') || null } });
          out.replaceChildren(h('p', { class: 'ok' }, `Endpoint added. Its signing secret (shown once): `, h('code', {}, w.secret ?? '')));
          form.reset();
          await load();
        } catch (e) {
          out.replaceChildren(errorBox(e));
        }
      });
    });
    main.append(form);
  }
  await load();
}

async function deliveries(main, id) {
  main.append(h('p', {}, h('a', { href: '#/webhooks' }, '← Endpoints')));
  const out = h('div', { id: 'deliveries' });
  const more = h('button', { type: 'button', hidden: true }, 'Older deliveries');
  try {
    const w = await api('GET', `/admin/v1/webhooks/${encodeURIComponent(id)}`, { store: true });
    main.append(h('h1', {}, `Deliveries to ${w.url}`));
  } catch (e) {
    main.append(errorBox(e));
    return;
  }
  let rows = [];
  let cursor;
  const load = async (reset) => {
    try {
      const r = await api('GET', `/admin/v1/webhooks/${encodeURIComponent(id)}/deliveries`, { store: true, query: { limit: 50, cursor: reset ? undefined : cursor } });
      rows = reset ? r.items : rows.concat(r.items);
      cursor = r.next_cursor;
      more.hidden = !cursor;
      out.replaceChildren(table('Deliveries', [
        { label: 'When', get: (x) => when(x.at_ms) },
        { label: 'Event', get: (x) => `${x.type} ${x.event}` },
        { label: 'Attempt', num: true, get: (x) => x.attempt },
        { label: 'Outcome', get: (x) => x.outcome },
        { label: 'Status', num: true, get: (x) => x.status ?? '' },
        { label: 'Duration', num: true, get: (x) => (x.duration_ms != null ? `${x.duration_ms} ms` : '') },
        { label: 'Next attempt', get: (x) => when(x.next_attempt_at_ms) },
      ], rows, 'No deliveries yet.'));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  };
  more.addEventListener('click', () => busy(more, () => load(false)));
  if (can('write')) {
    const res = h('div');
    const replay = h('button', { type: 'button' }, 'Replay the last day’s events');
    replay.addEventListener('click', () =>
      busy(replay, async () => {
        try {
          await api('POST', `/admin/v1/webhooks/${encodeURIComponent(id)}/replay`, { store: true, body: { from: new Date(Date.now() - 86_400_000).toISOString() } });
          res.replaceChildren();
          notice('Replay queued.');
        } catch (e) {
          res.replaceChildren(errorBox(e));
        }
      }),
    );
    main.append(h('div', { class: 'actions' }, replay), res);
  }
  main.append(out, more);
  await load(true);
}

export function render(main, id) {
  return id ? deliveries(main, id) : endpoints(main);
}
