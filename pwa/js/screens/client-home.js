// The client's first steps (who their therapist is, the safety screening) and the Today screen.
import { h, add, fmtDate, doseText, plural, localDate } from '../dom.js';
import { get, NetworkError } from '../api.js';
import { store, pending, flush, discard } from '../outbox.js';

export async function start(main, params, app) {
  const acknowledged = await store.get('safety_ok').catch(() => false);
  return app.go(acknowledged ? '#/today' : '#/welcome');
}

export async function welcome(main, params, app) {
  main.className = 'narrow';
  const client = app.state.me.client;
  add(main, 
    h('h1', {}, `Hello, ${client.name}`),
    h('div.card', {},
      h('p', {}, h('strong', {}, client.therapist_name), ' has set up your home exercise programme in Limber.'),
      h('p', {}, 'Each day you can see what is planned, follow it step by step with timers, and note how it felt. Your therapist sees your progress before your next visit.'),
      h('p.muted', {}, 'Tip: add Limber to your home screen so it opens like an app, even without a connection.')),
    h('button.primary.big.wide', { type: 'button', onclick: () => app.go('#/safety') }, 'Continue'),
  );
}

export async function safety(main, params, app) {
  main.className = 'narrow';
  const text = await get('/api/safety');
  const confirm = h('input', { type: 'checkbox', id: 'safety-ok', required: true });
  const list = (items) => h('ul', {}, items.map((item) => h('li', {}, item)));
  const form = h('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      await store.set('safety_ok', true);
      app.go('#/today');
    },
  },
  h('div.card', {},
    h('h2', {}, 'See a doctor before you start if'), list(text.clearance_needed)),
  h('div.card', {},
    h('h2', {}, 'Stop and get medical help if'), list(text.stop_and_seek_care)),
  h('div.card', {},
    h('h2', {}, 'What is normal'), h('p', {}, text.normal_soreness),
    h('h3', {}, 'Tell your therapist about'), list(text.report_to_therapist)),
  h('div.card', {},
    h('label.check', { for: 'safety-ok' }, confirm, text.acknowledgement)),
  h('button.primary.big.wide', { type: 'submit' }, 'Go to today’s routine'));
  add(main, h('h1', {}, text.title), h('p', {}, text.intro), form);
}

// Waiting uploads: shown wherever the client looks first, with the server's reason when refused.
export async function outboxPanel(app) {
  const entries = await pending().catch(() => []);
  const panel = h('section.card', { 'aria-labelledby': 'outbox-h', id: 'outbox' });
  if (!entries.length) {
    panel.hidden = true;
    return panel;
  }
  const rejected = entries.filter((e) => e.state === 'rejected');
  add(panel, 
    h('h2', { id: 'outbox-h' }, `${plural(entries.length, 'session')} waiting to upload`),
    h('p.muted', {}, 'Saved on this phone. They upload by themselves when you are online.'),
    h('ul.plain', {}, entries.map((entry) => h('li', {},
      h('div', {}, h('strong', {}, entry.title || 'Session'), ' · ', fmtDate(entry.body.performed_at.slice(0, 10))),
      entry.error ? h('p', { class: entry.state === 'rejected' ? 'field-error' : 'muted' }, entry.error) : null,
      entry.state === 'rejected'
        ? h('div.row', {},
          h('button', { type: 'button', onclick: async () => { await flush({ includeRejected: true }); app.go(location.hash); } }, 'Try again'),
          h('button.danger', { type: 'button', onclick: async () => { await discard(entry.id); app.go(location.hash); } }, 'Discard this session'))
        : null))),
    rejected.length ? null : h('button', { type: 'button', onclick: async () => { const r = await flush(); app.say(r.offline ? 'Still offline. Your sessions are safe on this phone.' : `${plural(r.sent, 'session')} uploaded.`); app.go(location.hash); } }, 'Upload now'),
  );
  return panel;
}

// Keep today's pictures for the player offline (the service worker serves them from this cache).
function keepIllustrations(today) {
  if (!('caches' in self)) return;
  const urls = new Set();
  today.items.forEach((item) => item.assignment.routine.items.forEach((i) => i.illustration_url && urls.add(i.illustration_url)));
  caches.open('limber-illustrations').then((cache) => {
    urls.forEach((url) => cache.match(url).then((hit) => hit || cache.add(url).catch(() => {})));
  });
}

export async function loadToday() {
  try {
    const today = await get('/api/today');
    await store.set('today', today);
    keepIllustrations(today);
    return { today, cached: false };
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    return { today: await store.get('today'), cached: true };
  }
}

export async function today(main, params, app) {
  const { today: data, cached } = await loadToday();
  const waiting = await pending().catch(() => []);
  const doneHere = new Set(waiting.filter((e) => e.state !== 'rejected' && e.body.performed_at && localDate(new Date(e.body.performed_at)) === data?.date).map((e) => e.body.assignment_id));
  add(main, h('h1', {}, 'Today'));
  if (cached) add(main, h('div.notice.warn', {}, 'You are offline. This is the routine as it was last loaded; what you do is saved on this phone.'));
  add(main, await outboxPanel(app));
  window.addEventListener('limber:outbox', refreshOutbox);
  app.onLeave(() => window.removeEventListener('limber:outbox', refreshOutbox));
  async function refreshOutbox() {
    const old = main.querySelector('#outbox');
    if (old) old.replaceWith(await outboxPanel(app));
    // A session that has just reached the server is simply done now.
    const still = new Set((await pending().catch(() => [])).map((e) => String(e.body.assignment_id)));
    main.querySelectorAll('[data-waiting]').forEach((badge) => {
      if (!still.has(badge.dataset.waiting)) badge.textContent = 'Done today';
    });
  }
  if (!data) {
    add(main, h('p', {}, 'Nothing loaded yet. Open Limber once with a connection.'));
    return;
  }
  add(main, h('p.muted', {}, fmtDate(data.date)));
  if (!data.items.length) {
    add(main, h('div.card', {}, h('p', {}, 'No routine is set for you yet. Your therapist will add one.')));
    return;
  }
  for (const item of data.items) {
    const a = item.assignment;
    const done = item.done_today || doneHere.has(a.id);
    const schedule = a.weekdays ? `On ${a.weekdays.join(', ')}` : `${a.times_per_week} times a week`;
    add(main, h(`section.card.routine${done ? '.done' : ''}`, { 'aria-labelledby': `r${a.id}` },
      h('div.row.spread', {},
        h('h2', { id: `r${a.id}` }, a.title),
        done ? (doneHere.has(a.id) && !item.done_today
          ? h('span.badge.done', { 'data-waiting': a.id }, 'Done · waiting to upload')
          : h('span.badge.done', {}, 'Done today'))
          : item.due ? h('span.badge', {}, 'Due today') : h('span.badge', {}, 'Optional today')),
      h('p.meta', {}, `About ${a.estimated_minutes} min · ${plural(a.routine.items.length, 'exercise')} · ${schedule} · ${item.done_this_week} done this week`),
      a.status === 'paused' ? h('p.notice.warn', {}, 'Paused by your therapist.') : null,
      a.note ? h('p.note', {}, h('span.visually-hidden', {}, 'Note from your therapist: '), a.note) : null,
      h('details', {}, h('summary', {}, 'What is in it'),
        h('ol', {}, a.routine.items.map((i) => h('li', {}, `${i.name}: ${doseText(i.dose)}`)))),
      h('div.row', {},
        h('a.button.primary.big', { href: `#/play/${a.id}` }, done ? 'Do it again' : 'Start'),
        h('a.button', { href: `#/print/assignment/${a.id}` }, 'Print'))));
  }
}
