// The therapist's dashboard (clients needing attention first) and the add-client form.
import { h, add, field, showError, fmtDateTime, percent } from '../dom.js';
import { get, post } from '../api.js';

const FLAG_TEXT = { pain_rising: 'Pain rising', inactive: 'Inactive', never_started: 'Not started' };

function windowText(w) {
  return w.planned ? `${percent(w.ratio)} (${w.done} of ${w.planned})` : `${w.done} done`;
}

export async function render(main, params, app) {
  const { clients } = await get('/api/dashboard');
  add(main, h('div.row.spread', {},
    h('h1', {}, 'Your clients'),
    h('a.button.primary', { href: '#/clients/new' }, 'Add client')));
  if (!clients.length) {
    add(main, h('div.card', {}, h('p', {}, 'No clients yet. Add one to give them a routine and an invite for their phone.')));
    return;
  }
  add(main, h('div.card.table-wrap', {}, h('table.data', {},
    h('caption.visually-hidden', {}, 'Clients, those needing attention first'),
    h('thead', {}, h('tr', {}, ['Client', 'Needs attention', 'Last 7 days', 'Last 28 days', 'Last session'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, clients.map((c) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/clients/${c.client.id}` }, c.client.name)),
      h('td', {}, c.flags.length ? c.flags.map((f) => h('span.badge.flag', {}, FLAG_TEXT[f] || f, ' ')) : h('span.muted', {}, '–')),
      h('td', {}, windowText(c.last_7)),
      h('td', {}, windowText(c.last_28)),
      h('td', {}, c.last_session_at ? fmtDateTime(c.last_session_at) : h('span.muted', {}, 'None yet'))))))));
}

export function addClient(main, params, app) {
  main.className = 'narrow';
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 120, autocomplete: 'off' });
  const timezone = h('input', { type: 'text', name: 'timezone', required: true, value: zone, autocomplete: 'off' });
  const form = h('form.card', {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const client = await post('/api/clients', { name: name.value, timezone: timezone.value });
        // An invite is made straight away: the client is usually in the room.
        const invite = await post(`/api/clients/${client.id}/invites`);
        sessionStorage.setItem(`limber.invite.${client.id}`, JSON.stringify(invite));
        app.go(`#/clients/${client.id}`);
      } catch (error) {
        showError(form, error);
      }
    },
  },
  field('Name', name),
  field('Time zone', timezone, '(for reminders and “today”; like Europe/London)'),
  h('button.primary.big.wide', { type: 'submit' }, 'Add client and make invite'));
  add(main, h('h1', {}, 'Add a client'), form);
}
