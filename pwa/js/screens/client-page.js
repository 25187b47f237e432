// One client, for the therapist: invite, assigning a routine (a template in two clicks: pick it,
// press Assign), current assignments, a nudge, adherence and pain, sessions, the client's devices,
// and handing the client over to another therapist.
import { h, add, clear, field, formData, showError, fmtDate, fmtDateTime, percent, plural, localDate } from '../dom.js';
import { get, post, patch, del } from '../api.js';
import { painChart, barChart } from '../chart.js';

const WEEKDAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];
const FLAG_TEXT = { pain_rising: 'Pain rising', inactive: 'Inactive lately', never_started: 'Has not started' };

function inviteCard(client, app) {
  const key = `limber.invite.${client.id}`;
  const invite = JSON.parse(sessionStorage.getItem(key) || 'null');
  const fresh = invite && Date.parse(invite.expires_at) > Date.now();
  const make = h('button', { type: 'button', onclick: async () => {
    sessionStorage.setItem(key, JSON.stringify(await post(`/api/clients/${client.id}/invites`)));
    app.go(location.hash);
  } }, fresh ? 'Make a new invite' : 'Make an invite');
  const card = h('section.card', { 'aria-labelledby': 'invite-h' }, h('h2', { id: 'invite-h' }, 'Invite for their phone'));
  if (!fresh) {
    add(card, h('p', {}, 'An invite signs the client’s phone in once, with no password. Codes are shown only when made.'), make);
    return card;
  }
  const qr = h('img', { src: invite.qr_svg_url, alt: `QR code for the join link of ${client.name}`, width: 320, height: 320 });
  // The QR code is only served while the invite is open: once used or expired, say so.
  qr.addEventListener('error', () => {
    sessionStorage.removeItem(key);
    card.replaceChildren(h('h2', { id: 'invite-h' }, 'Invite for their phone'),
      h('p', {}, 'The last invite has been used or has expired.'), make);
  });
  add(card, h('div.invite', {},
    qr,
    h('div', {},
      h('p', {}, 'Ask them to scan this with their phone camera, or to open Limber and type:'),
      h('p.code', { id: 'invite-code' }, invite.code),
      h('p.small', {}, 'Link: ', h('a', { href: invite.url, id: 'invite-link', rel: 'noreferrer' }, invite.url)),
      h('p.muted.small', {}, `Works once, until ${fmtDateTime(invite.expires_at)}. A new invite stops this one.`),
      make)));
  return card;
}

function assignSection(client, templates, routines, app) {
  const section = h('section.card', { 'aria-labelledby': 'assign-h' },
    h('h2', { id: 'assign-h' }, 'Assign a routine'));
  const form = h('form', { hidden: true });
  let chosen = null;
  const choices = [...templates, ...routines];
  const buttons = choices.map((r) => h('button', {
    type: 'button', 'aria-pressed': 'false',
    onclick: (event) => choose(r, event.currentTarget),
  }, h('strong', {}, r.name),
  h('span.small', {}, `${r.library ? 'Template' : r.is_template ? 'My template' : 'My routine'} · ${plural(r.items.length, 'exercise')} · about ${r.estimated_minutes} min`)));

  const perWeek = h('select', { name: 'times_per_week' }, [1, 2, 3, 4, 5, 6, 7].map((n) => h('option', { value: String(n) }, plural(n, 'time'))));
  const mode = h('select', { name: 'mode', onchange: () => { days.hidden = mode.value !== 'days'; perWeekField.hidden = mode.value === 'days'; } },
    h('option', { value: 'week' }, 'Any days, so many times a week'), h('option', { value: 'days' }, 'On set days'));
  const days = h('fieldset', { hidden: true }, h('legend', {}, 'Days'),
    h('div.row', {}, WEEKDAYS.map(([v, label]) => h('label.check', { for: `day-${v}` }, h('input', { type: 'checkbox', id: `day-${v}`, name: 'weekdays', value: v }), label))));
  const perWeekField = field('How often', perWeek, '(a week)');
  const note = h('textarea', { name: 'note', maxlength: 2000, placeholder: 'What you worked on today, what to focus on' });
  const submit = h('button.primary.big', { type: 'submit' }, 'Assign');
  form.append(field('Schedule', mode), perWeekField, days, field('Note for the client', note, '(optional)'), submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { routine_id: chosen.id, note: note.value.trim() };
    if (mode.value === 'days') body.weekdays = [...form.querySelectorAll('input[name=weekdays]:checked')].map((i) => i.value);
    else body.times_per_week = Number(perWeek.value);
    try {
      await post(`/api/clients/${client.id}/assignments`, body);
      app.flash(`${chosen.name} assigned to ${client.name}.`);
      app.go(location.hash);
    } catch (error) {
      showError(form, error);
    }
  });

  function choose(routine, button) {
    chosen = routine;
    buttons.forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
    perWeek.value = String(routine.frequency_per_week || 3);
    submit.textContent = `Assign ${routine.name}`;
    form.hidden = false;
  }

  add(section, 
    choices.length ? h('div.pick', { role: 'group', 'aria-label': 'Routines and templates' }, buttons) : h('p', {}, 'No routines yet.'),
    form,
    h('p', {}, h('a', { href: '#/routines/new' }, 'Build a new routine'), ' · ', h('a', { href: '#/routines' }, 'All routines')));
  return section;
}

function assignmentsSection(assignments, client, app) {
  const section = h('section.card', { 'aria-labelledby': 'assignments-h' }, h('h2', { id: 'assignments-h' }, 'Assigned'));
  const current = assignments.filter((a) => a.status !== 'ended');
  const ended = assignments.filter((a) => a.status === 'ended');
  const act = (a, action) => async () => {
    await patch(`/api/assignments/${a.id}`, { action });
    app.flash(`${a.title}: ${action === 'end' ? 'ended' : action === 'pause' ? 'paused' : 'resumed'}.`);
    app.go(location.hash);
  };
  if (!current.length) add(section, h('p.muted', {}, 'Nothing assigned at the moment.'));
  add(section, h('ul.plain', {}, current.map((a) => {
    const confirmEnd = h('div.notice.warn', { hidden: true },
      h('p', {}, `End ${a.title}? The client stops seeing it; their history stays.`),
      h('button.danger', { type: 'button', onclick: act(a, 'end') }, 'Yes, end it'));
    return h('li', {},
      h('div.row.spread', {}, h('strong', {}, a.title), h('span', { class: a.status === 'paused' ? 'badge flag' : 'badge' }, a.status === 'paused' ? 'Paused' : 'Active')),
      h('p.muted.small', {}, `${a.weekdays ? a.weekdays.join(', ') : `${a.times_per_week} × a week`} · about ${a.estimated_minutes} min · since ${fmtDate(a.start_date)}`),
      a.note ? h('p.note', {}, a.note) : null,
      h('div.row', {},
        a.status === 'paused'
          ? h('button', { type: 'button', onclick: act(a, 'resume') }, 'Resume')
          : h('button', { type: 'button', onclick: act(a, 'pause') }, 'Pause'),
        h('button.danger', { type: 'button', onclick: () => { confirmEnd.hidden = false; } }, 'End'),
        h('a.button', { href: `#/print/assignment/${client.id}/${a.id}` }, 'Print handout')),
      confirmEnd);
  })));
  if (ended.length) add(section, h('details', {}, h('summary', {}, `${plural(ended.length, 'ended assignment')}`),
    h('ul', {}, ended.map((a) => h('li', {}, `${a.title} (ended ${fmtDate(a.ended_on)})`)))));
  return section;
}

// A notification on the client's phones; the server allows one an hour and says when to try again.
function nudgeSection(client) {
  const message = h('textarea', { name: 'message', maxlength: 200, rows: 2, placeholder: 'A few minutes today keeps the progress going.' });
  const result = h('p', { id: 'nudge-result', role: 'status' });
  const form = h('form', {}, field('Message', message, '(optional)'), h('button', { type: 'submit' }, 'Send a nudge'), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.textContent = '';
    try {
      const sent = await post(`/api/clients/${client.id}/nudge`, { message: message.value.trim() });
      form.querySelector('.form-error')?.remove();
      result.textContent = sent.devices
        ? `Nudge sent to ${plural(sent.devices, 'phone')}. The next one is possible after ${fmtDateTime(sent.next_nudge_at)}.`
        : `${client.name} has not turned on notifications on any phone, so nothing was sent.`;
      message.value = '';
    } catch (error) {
      showError(form, error);
    }
  });
  return h('section.card', { 'aria-labelledby': 'nudge-h' }, h('h2', { id: 'nudge-h' }, 'Nudge'),
    h('p.muted.small', {}, 'A notification on their phone, at most one an hour; it waits until their quiet hours end.'), form);
}

// Sessions per week for the last eight weeks, from the session list (Monday-based weeks).
function weeklyBars(sessions) {
  const monday = new Date();
  monday.setHours(12, 0, 0, 0);
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  const bars = [];
  for (let i = 7; i >= 0; i--) {
    const start = new Date(monday);
    start.setDate(start.getDate() - 7 * i);
    const end = new Date(start);
    end.setDate(end.getDate() + 6);
    const from = localDate(start);
    const to = localDate(end);
    bars.push({ label: fmtDate(from).replace(/^\S+\s/, ''), value: sessions.filter((s) => s.local_date >= from && s.local_date <= to).length });
  }
  return bars;
}

function progressSection(adherence, sessions) {
  const windowText = (w) => (w.planned ? `${percent(w.ratio)}: ${w.done} of ${w.planned} planned` : `${w.done} done, none planned`);
  return h('section.card', { 'aria-labelledby': 'progress-h' },
    h('h2', { id: 'progress-h' }, 'Adherence and pain'),
    adherence.flags.length ? h('p', {}, adherence.flags.map((f) => h('span.badge.flag', {}, FLAG_TEXT[f] || f, ' '))) : null,
    h('ul', {},
      h('li', {}, `Last 7 days: ${windowText(adherence.last_7)}`),
      h('li', {}, `Last 28 days: ${windowText(adherence.last_28)}`),
      h('li', {}, `Current streak: ${plural(adherence.streak || 0, 'day')}`),
      h('li', {}, `Last session: ${adherence.last_session_at ? fmtDateTime(adherence.last_session_at) : 'none yet'}`)),
    h('h3', {}, 'Sessions per week'),
    barChart(weeklyBars(sessions), 'Sessions per week, last 8 weeks', 'Sessions', 'Week starting'),
    h('h3', {}, 'Pain trend'),
    painChart(adherence.pain_trend.map((p) => ({ date: p.date, before: p.pain_before, after: p.pain_after })), 'Pain trend, last 90 days'));
}

function sessionsSection(sessions, assignments) {
  const titles = new Map(assignments.map((a) => [a.id, a]));
  const section = h('section.card', { 'aria-labelledby': 'sessions-h' }, h('h2', { id: 'sessions-h' }, 'Sessions'));
  if (!sessions.length) {
    add(section, h('p.muted', {}, 'No sessions logged yet.'));
    return section;
  }
  add(section, h('div.table-wrap', {}, h('table.data', { id: 'sessions-table' },
    h('thead', {}, h('tr', {}, ['When', 'Routine', 'Done', 'Pain before → after', 'Effort', 'Note'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, sessions.slice(0, 50).map((s) => {
      const a = titles.get(s.assignment_id);
      return h('tr', {},
        h('td', {}, fmtDateTime(s.performed_at)),
        h('td', {}, a?.title || '–'),
        h('td', {}, a ? `${s.completed_items.length} of ${a.routine.items.length}` : String(s.completed_items.length)),
        h('td', {}, `${s.pain_before ?? '–'} → ${s.pain_after ?? '–'}`),
        h('td', {}, s.effort ?? '–'),
        h('td', {}, s.note || ''));
    })))));
  return section;
}

function devicesSection(client, list, app) {
  const section = h('section.card', { 'aria-labelledby': 'client-devices-h' }, h('h2', { id: 'client-devices-h' }, 'Their devices'));
  if (!list.length) add(section, h('p.muted', {}, 'No phone signed in yet.'));
  add(section, h('ul.plain', {}, list.map((d) => h('li.row.spread', {},
    h('div', {}, h('strong', {}, d.label || 'Phone'), h('div.muted.small', {}, `Signed in ${fmtDateTime(d.created_at)} · last used ${fmtDateTime(d.last_seen_at)}`)),
    h('button.danger', { type: 'button', 'aria-label': `Sign out ${d.label}, signed in ${fmtDateTime(d.created_at)}`, onclick: async () => {
      await del(`/api/clients/${client.id}/devices/${d.id}`);
      app.flash(`${d.label} signed out.`);
      app.go(location.hash);
    } }, 'Sign out this device')))));
  return section;
}

// Giving the client to another therapist (moving clinic, going on leave): the client keeps their
// routines, history and signed-in phone.
function handoverSection(client, app) {
  const section = h('section.card', { 'aria-labelledby': 'handover-h' }, h('h2', { id: 'handover-h' }, 'Hand over'),
    h('p', {}, `Give ${client.name} to another therapist who has a Limber account. They keep their routines, history and phone; you will no longer see them.`));
  const form = h('form', {},
    field('The other therapist’s email', h('input', { type: 'email', name: 'therapist_email', autocomplete: 'off', required: true, maxlength: 254 })),
    h('button.danger', { type: 'submit' }, `Hand over ${client.name}`));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await post(`/api/clients/${client.id}/handover`, formData(form));
    } catch (error) {
      showError(form, error);
      return;
    }
    app.flash(`${client.name} was handed over.`);
    app.go('#/dashboard');
  });
  return add(section, form);
}

export async function render(main, [clientId], app) {
  const base = `/api/clients/${clientId}`;
  const [client, assignments, adherence, sessions, devices, templates, routines] = await Promise.all([
    get(base), get(`${base}/assignments`), get(`${base}/adherence`), get(`${base}/sessions`),
    get(`${base}/devices`), get('/api/templates'), get('/api/routines?templates=false'),
  ]);
  add(clear(main), 
    h('p', {}, h('a', { href: '#/dashboard' }, '‹ All clients')),
    h('h1', {}, client.name),
    h('p.muted', {}, `Time zone ${client.timezone}${client.email ? ` · ${client.email}` : ''}`),
    h('div.grid2', {},
      h('div', {}, inviteCard(client, app), assignSection(client, templates, routines, app)),
      h('div', {}, assignmentsSection(assignments, client, app), nudgeSection(client), progressSection(adherence, sessions))),
    sessionsSection(sessions, assignments),
    devicesSection(client, devices, app),
    handoverSection(client, app));
}
