// Settings for clients and therapists: notifications and reminders (clients), the devices signed
// in, who has seen my record (clients), downloading one's data, signing out (which empties this
// device's storage) and deleting the account.
import { h, add, field, formData, showError, fmtDateTime, plural } from '../dom.js';
import { get, del, NetworkError } from '../api.js';
import { pending } from '../outbox.js';
import { signOut, deleteAccount } from '../session.js';
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

const AUDIT_PAGE = 20;

// "Who has seen my record": the audit trail, newest first, a page at a time.
async function auditSection() {
  const section = h('section.card', { 'aria-labelledby': 'audit-h' }, h('h2', { id: 'audit-h' }, 'Who has seen my record'),
    h('p.muted.small', {}, 'Each time your therapist opens or changes your record, it is listed here.'));
  const list = h('ul.plain', { id: 'audit-list' });
  const more = h('button', { type: 'button', hidden: true }, 'Show older');
  let before = null;
  async function load() {
    const page = await get(`/api/me/audit?limit=${AUDIT_PAGE}${before ? `&before=${before}` : ''}`);
    add(list, page.events.map((e) => h('li', {},
      h('strong', {}, e.therapist_name), ` ${e.description}`, h('div.muted.small', {}, fmtDateTime(e.at)))));
    if (!list.children.length) add(list, h('li.muted', {}, 'Nobody has opened your record yet.'));
    before = page.next_before;
    more.hidden = !before;
  }
  more.addEventListener('click', load);
  try {
    await load();
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    add(section, h('p.muted', {}, 'Shown when you are online.'));
    return section;
  }
  return add(section, list, more);
}

function downloadSection(role) {
  const [json, csv, what] = role === 'client'
    ? ['/api/me/export', '/api/me/export?format=csv', 'everything Limber holds about you: your details, routines, sessions, reminder, devices and who has seen your record']
    : ['/api/practice/export', '/api/practice/export?format=csv', 'your whole practice: clients, your own routines and exercises, assignments and every session logged'];
  return h('section.card', { 'aria-labelledby': 'export-h' },
    h('h2', { id: 'export-h' }, role === 'client' ? 'Download my data' : 'Export practice'),
    h('p', {}, `Download ${what}.`),
    h('div.row', {},
      h('a.button', { href: json, download: '', id: 'export-json' }, 'Download all (JSON)'),
      h('a.button', { href: csv, download: '', id: 'export-csv' }, 'Sessions as a spreadsheet (CSV)')));
}

function deleteSection(role) {
  const section = h('section.card', { 'aria-labelledby': 'delete-h' }, h('h2', { id: 'delete-h' }, 'Delete my account'));
  const form = h('form', { hidden: true });
  const open = h('button.danger', { type: 'button', onclick: () => { form.hidden = false; open.hidden = true; form.querySelector('input, button.danger').focus(); } }, 'Delete my account…');
  if (role === 'client') {
    add(section, h('p', {}, 'This removes your record from Limber for good: your routines, every session you logged, your reminder, your devices and who has seen your record. Your therapist will no longer see you. It cannot be undone; download your data first if you want a copy.'));
    add(form, h('div.notice.warn', { role: 'alert' }, h('p', {}, 'Delete everything about you now? This cannot be undone.')));
  } else {
    add(section, h('p', {}, 'Your clients must be handed over to another therapist or deleted first (archived clients too). Then your account, your own routines and exercises are removed for good.'));
    add(form, field('Your password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true })));
  }
  add(form, h('div.row', {},
    h('button.danger', { type: 'submit' }, 'Delete my account for good'),
    h('button', { type: 'button', onclick: () => { form.hidden = true; open.hidden = false; open.focus(); } }, 'Keep my account')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await deleteAccount(role === 'client' ? undefined : formData(form));
    } catch (error) {
      showError(form, error);
    }
  });
  return add(section, open, form);
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
    me.role === 'client' ? await auditSection() : null,
    downloadSection(me.role),
    await signOutSection(),
    deleteSection(me.role));
}
