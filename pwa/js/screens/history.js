// History: a calendar of the days with a session, the current streak, and pain over time.
import { h, add, clear, localDate, plural } from '../dom.js';
import { get, NetworkError } from '../api.js';
import { painChart } from '../chart.js';
import { outboxPanel } from './client-home.js';

const DAY = 86400000;

// Days in a row with a session, counting back from today (or from yesterday, so a streak is not
// "broken" in the morning before today's session).
export function streak(doneDays, today = new Date()) {
  let day = new Date(today.getFullYear(), today.getMonth(), today.getDate(), 12);
  if (!doneDays.has(localDate(day))) day = new Date(day - DAY);
  let count = 0;
  while (doneDays.has(localDate(day))) {
    count++;
    day = new Date(day - DAY);
  }
  return count;
}

function monthGrid(year, month, doneDays) {
  const first = new Date(year, month, 1, 12);
  const days = new Date(year, month + 1, 0).getDate();
  const lead = (first.getDay() + 6) % 7; // weeks start on Monday
  const today = localDate();
  const cells = Array.from({ length: lead }, () => h('td', {}));
  for (let d = 1; d <= days; d++) {
    const iso = localDate(new Date(year, month, d, 12));
    const done = doneDays.has(iso);
    cells.push(h('td', { class: [done ? 'done' : '', iso === today ? 'today' : ''].join(' ').trim() || null },
      String(d), done ? h('span.visually-hidden', {}, ', session done') : null));
  }
  const rows = [];
  for (let i = 0; i < cells.length; i += 7) rows.push(h('tr', {}, cells.slice(i, i + 7)));
  const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const title = first.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
  return h('table.calendar', {},
    h('caption.visually-hidden', {}, `Sessions in ${title}`),
    h('thead', {}, h('tr', {}, names.map((n) => h('th', { scope: 'col', abbr: n }, n.slice(0, 2))))),
    h('tbody', {}, rows));
}

export function painPoints(sessions) {
  const byDay = new Map();
  for (const s of sessions) {
    const day = byDay.get(s.local_date) || { date: s.local_date, b: [], a: [] };
    if (s.pain_before != null) day.b.push(s.pain_before);
    if (s.pain_after != null) day.a.push(s.pain_after);
    byDay.set(s.local_date, day);
  }
  const mean = (v) => (v.length ? Math.round((v.reduce((x, y) => x + y, 0) / v.length) * 10) / 10 : null);
  return [...byDay.values()]
    .sort((x, y) => (x.date < y.date ? -1 : 1))
    .map((d) => ({ date: d.date, before: mean(d.b), after: mean(d.a) }))
    .filter((d) => d.before != null || d.after != null);
}

export async function render(main, params, app) {
  add(main, h('h1', {}, 'Your progress'), await outboxPanel(app));
  let sessions;
  try {
    sessions = await get('/api/sessions');
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    add(main, h('div.notice.warn', {}, 'Your history needs a connection. Today’s routine still works offline.'));
    return;
  }
  const doneDays = new Set(sessions.map((s) => s.local_date));
  const now = new Date();
  let year = now.getFullYear();
  let month = now.getMonth();
  const monthTitle = h('h2', { id: 'month-h', 'aria-live': 'polite' });
  const gridBox = h('div');
  const showMonth = () => {
    monthTitle.textContent = new Date(year, month, 1).toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
    clear(gridBox).append(monthGrid(year, month, doneDays));
    later.disabled = year === now.getFullYear() && month === now.getMonth();
  };
  const shift = (by) => {
    month += by;
    if (month < 0) { month = 11; year--; }
    if (month > 11) { month = 0; year++; }
    showMonth();
  };
  const earlier = h('button', { type: 'button', onclick: () => shift(-1) }, h('span', { 'aria-hidden': 'true' }, '‹ '), 'Earlier');
  const later = h('button', { type: 'button', onclick: () => shift(1) }, 'Later', h('span', { 'aria-hidden': 'true' }, ' ›'));
  const run = streak(doneDays);
  const recent = sessions.filter((s) => Date.parse(s.local_date) >= Date.now() - 90 * DAY);
  add(main, 
    h('div.grid2', {},
      h('section.card', { 'aria-labelledby': 'streak-h' },
        h('h2', { id: 'streak-h' }, 'Current streak'),
        h('p.streak', {}, plural(run, 'day')),
        h('p.muted', {}, `${plural(sessions.length, 'session')} in the last year.`)),
      h('section.card', { 'aria-labelledby': 'month-h' },
        h('div.row.spread', {}, monthTitle, h('div.row', {}, earlier, later)),
        gridBox)),
    h('section.card', { 'aria-labelledby': 'pain-h' },
      h('h2', { id: 'pain-h' }, 'Pain, last 90 days'),
      painChart(painPoints(recent), 'Your pain, last 90 days')));
  showMonth();
}
