// Settings for clients and therapists: notifications and reminders (clients), the devices signed
// in, exporting one's data, and signing out (which empties this device's storage).
import { h, add, fmtDateTime, plural } from '../dom.js';
import { api, get, del, NetworkError } from '../api.js';
import { pending } from '../outbox.js';
import { signOut } from '../session.js';
import * as notifications from './notifications.js';

async function devices(app) {
  const section = h('section.card', { 'aria-labelledby': 'devices-h' }, h('h2', { id: 'devices-h' }, 'Devices signed in'));
  let list;
  try {
    list = await get('/api/me/sessions');
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    add(section, h('p.muted', {}, 'Shown when you are online.'));
    return section;
  }
  add(section, h('ul.plain', {}, list.map((d) => h('li.row.spread', {},
    h('div', {}, h('strong', {}, d.label || 'Browser'), d.current ? h('span.badge', {}, ' This device') : null,
      h('div.muted.small', {}, `Signed in ${fmtDateTime(d.created_at)} · last used ${fmtDateTime(d.last_seen_at)}`)),
    d.current ? null : h('button.danger', { type: 'button', 'aria-label': `Sign out ${d.label}, signed in ${fmtDateTime(d.created_at)}`,
      onclick: async () => { await del(`/api/me/sessions/${d.id}`); app.say(`${d.label} was signed out.`); app.go(location.hash); } }, 'Sign out')))));
  return section;
}

// The export endpoint comes later; the link appears once the server answers it.
async function exportLink() {
  const section = h('section.card', { 'aria-labelledby': 'export-h', hidden: true },
    h('h2', { id: 'export-h' }, 'Your data'),
    h('p', {}, 'Download everything Limber holds about you, as a file.'),
    h('a.button', { href: '/api/me/export', download: '' }, 'Export my data'));
  api('HEAD', '/api/me/export').then(() => { section.hidden = false; }, () => {});
  return section;
}

async function signOutSection() {
  const waiting = await pending().catch(() => []);
  const warning = h('div.notice.warn', { role: 'alert', hidden: true },
    h('p', {}, `${plural(waiting.length, 'session has', 'sessions have')} not uploaded yet and will be lost if you sign out now. Go online and open Today first.`),
    h('button.danger', { type: 'button', onclick: signOut }, 'Sign out anyway'));
  const button = h('button.danger', { type: 'button', onclick: () => {
    if (waiting.length) warning.hidden = false;
    else signOut();
  } }, 'Sign out');
  return h('section.card', { 'aria-labelledby': 'signout-h' },
    h('h2', { id: 'signout-h' }, 'Sign out'),
    h('p', {}, 'Signing out removes everything Limber stored on this device.'),
    button, warning);
}

export async function render(main, params, app) {
  main.className = 'narrow';
  const me = app.state.me;
  const who = me.role === 'client' ? `${me.client.name}, client of ${me.client.therapist_name}` : `${me.therapist.name} (${me.therapist.email})`;
  add(main, 
    h('h1', {}, 'Settings'),
    h('p.muted', {}, `Signed in as ${who}.`),
    me.role === 'client' ? await notifications.section(app) : null,
    await devices(app),
    await exportLink(),
    await signOutSection());
}
