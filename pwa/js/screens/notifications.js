// Notifications for clients: the Settings section (this phone on or off, the reminder's time, days
// and quiet hours) and the page a notification opens where the browser shows no buttons (Safari),
// offering the same "Done" and "Snooze" as the buttons do.
import { h, add, clear, field } from '../dom.js';
import { get, post, put, NetworkError } from '../api.js';
import { pushSupport, currentSubscription, turnOn, turnOff } from '../push.js';

const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];

// Reminder times are the client's wall-clock times in the zone the therapist set.
function whenText(iso, timeZone) {
  const date = new Date(iso);
  const dayOf = (d) => new Intl.DateTimeFormat(undefined, { timeZone, weekday: 'long', day: 'numeric', month: 'long' }).format(d);
  const time = new Intl.DateTimeFormat(undefined, { timeZone, hour: '2-digit', minute: '2-digit' }).format(date);
  const day = dayOf(date);
  const named = { [dayOf(new Date())]: 'today', [dayOf(new Date(Date.now() + 864e5))]: 'tomorrow' }[day];
  return `${named || day} at ${time}`;
}

function otherZone(timeZone) {
  return timeZone && timeZone !== Intl.DateTimeFormat().resolvedOptions().timeZone ? ` (${timeZone} time)` : '';
}

// --- This phone: can it receive notifications, and are they on ---------------------------------

const BROWSER_HELP = 'To change it: open this site’s settings in the browser (the icon beside the address, or the browser’s menu › Site settings › Notifications), allow notifications for Limber, then come back here.';

function installSteps() {
  return h('div.notice.warn', { id: 'push-install' },
    h('p', {}, h('strong', {}, 'Add Limber to your Home Screen first.'), ' On iPhone and iPad, Safari sends notifications only to web apps opened from the Home Screen.'),
    h('ol', {},
      h('li', {}, 'In Safari, tap the Share button (the square with an arrow pointing up).'),
      h('li', {}, 'Choose “Add to Home Screen”, then “Add”.'),
      h('li', {}, 'Open Limber from its new Home Screen icon and come back to Settings to turn notifications on.')),
    // The Home Screen app may keep its own cookies, apart from Safari's (it depends on the iOS version).
    h('p.small', {}, 'If Limber asks for an invite code there, your therapist can give you a new one.'));
}

async function deviceState(box, app) {
  const support = pushSupport();
  clear(box);
  if (support === 'install') return add(box, installSteps());
  if (support === 'unsupported') {
    return add(box, h('div.notice.warn', {}, h('p', {}, 'This browser cannot show notifications from Limber, so reminders will not reach this device.'),
      h('p', {}, 'Chrome, Edge, Firefox and Samsung Internet can; on iPhone and iPad, Safari can once Limber is added to the Home Screen (iOS 16.4 or later).')));
  }
  if (support === 'denied') {
    return add(box, h('div.notice.warn', {}, h('p', {}, h('strong', {}, 'Notifications are blocked for Limber in this browser.'), ' Limber cannot ask again; only you can allow them.'),
      h('p', {}, BROWSER_HELP), h('p.small', {}, 'On a phone where Limber is installed: the phone’s Settings › Apps (or Notifications) › Limber › Allow notifications.')));
  }
  let subscription = null;
  try {
    subscription = await currentSubscription();
  } catch {
    /* no service worker yet: shown as off */
  }
  const problem = h('p.field-error', { role: 'alert', hidden: true });
  const act = (work) => async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    problem.hidden = true;
    try {
      await work();
      await deviceState(box, app);
      box.querySelector('button')?.focus(); // the one tapped was replaced
    } catch (error) {
      problem.textContent = error instanceof NetworkError ? error.message : `That did not work: ${error.message}`;
      problem.hidden = false;
      button.disabled = false;
    }
  };
  if (subscription) {
    add(box, h('p', { id: 'push-on' }, h('strong', {}, 'Notifications are on for this device.')),
      h('button', { type: 'button', onclick: act(async () => { await turnOff(); app.say('Notifications are off for this device.'); }) }, 'Turn off notifications'),
      problem);
    return box;
  }
  add(box, h('p', {}, 'Get your reminder, new routines and notes from your therapist as notifications on this device.'),
    h('button.primary', { type: 'button', id: 'push-turn-on', onclick: act(async () => {
      const permission = await turnOn();
      if (permission === 'granted') app.say('Notifications are on for this device.');
      else if (permission === 'default') app.say('You closed the question without choosing. Tap “Turn on notifications” to be asked again.');
    }) }, 'Turn on notifications'),
    problem);
  return box;
}

// --- The reminder: time, days, quiet hours ------------------------------------------------------

function nextText(reminder) {
  if (!reminder.enabled) return 'The daily reminder is off.';
  const parts = [];
  if (reminder.next_reminder_at) parts.push(`Next reminder: ${whenText(reminder.next_reminder_at, reminder.timezone)}${otherZone(reminder.timezone)}.`);
  else parts.push('No reminder is coming: no day is chosen.');
  if (reminder.snoozed_until) parts.push(`Snoozed until ${whenText(reminder.snoozed_until, reminder.timezone)}.`);
  return parts.join(' ');
}

function errorSlot(name) {
  return h('p.field-error', { id: `reminder-${name}-err`, hidden: true });
}

function clearProblems(form) {
  form.querySelectorAll('.field-error, #reminder-error').forEach((slot) => { slot.hidden = true; slot.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
}

// problem+json "errors" per field, each shown under its own field; the summary goes at the top.
function showProblems(form, error) {
  clearProblems(form);
  const summary = form.querySelector('#reminder-error');
  summary.textContent = error.message;
  summary.hidden = false;
  const flat = (messages) => (typeof messages === 'string' ? [messages] : Array.isArray(messages) ? messages.flatMap(flat) : Object.values(messages || {}).flatMap(flat));
  for (const [name, messages] of Object.entries(error.errors || {})) {
    const slot = form.querySelector(`#reminder-${CSS.escape(name)}-err`);
    if (!slot) continue;
    slot.textContent = flat(messages).join(' ');
    slot.hidden = false;
    form.querySelectorAll(`[name="${CSS.escape(name)}"]`).forEach((el) => el.setAttribute('aria-invalid', 'true'));
  }
  summary.focus();
}

function reminderForm(reminder, app) {
  const described = (name) => ({ name, 'aria-describedby': `reminder-${name}-err` });
  const enabled = h('input', { type: 'checkbox', id: 'reminder-enabled', ...described('enabled'), checked: reminder.enabled });
  const time = h('input', { type: 'time', id: 'reminder-time', required: true, value: reminder.time || '18:00', ...described('time') });
  const quietStart = h('input', { type: 'time', id: 'quiet-start', value: reminder.quiet_start || '', ...described('quiet_start') });
  const quietEnd = h('input', { type: 'time', id: 'quiet-end', value: reminder.quiet_end || '', ...described('quiet_end') });
  const next = h('p', { id: 'next-reminder', role: 'status' }, nextText(reminder));
  const summary = h('div.notice.bad', { id: 'reminder-error', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { id: 'reminder-form', novalidate: true },
    h('h3', {}, 'Daily reminder'),
    summary,
    h('label.check', { for: 'reminder-enabled' }, enabled, 'Remind me to do my routine'),
    errorSlot('enabled'),
    field('Time', time, reminder.timezone ? `(${reminder.timezone})` : ''),
    errorSlot('time'),
    h('fieldset', { 'aria-describedby': 'days-hint reminder-weekdays-err' },
      h('legend', {}, 'Days'),
      h('p.muted.small', { id: 'days-hint' }, 'Days with nothing planned are skipped, and so is a day once your routine is done.'),
      h('div.row.days', {}, DAYS.map(([value, label]) => h('label.check', { for: `reminder-day-${value}` },
        h('input', { type: 'checkbox', id: `reminder-day-${value}`, name: 'weekdays', value, checked: reminder.weekdays.includes(value) }), label))),
      errorSlot('weekdays')),
    h('fieldset', { 'aria-describedby': 'quiet-hint' },
      h('legend', {}, 'Quiet hours'),
      h('p.muted.small', { id: 'quiet-hint' }, 'Optional. Nothing arrives between these times; a nudge waits until they end.'),
      h('div.times', {}, h('div', {}, field('From', quietStart), errorSlot('quiet_start')), h('div', {}, field('To', quietEnd), errorSlot('quiet_end')))),
    h('button.primary', { type: 'submit' }, 'Save reminder'),
    next);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      enabled: enabled.checked,
      time: time.value,
      weekdays: [...form.querySelectorAll('input[name=weekdays]:checked')].map((i) => i.value),
      quiet_start: quietStart.value || null,
      quiet_end: quietEnd.value || null,
    };
    try {
      const saved = await put('/api/reminders', body);
      clearProblems(form);
      next.textContent = nextText(saved);
      app.say('Reminder saved.');
    } catch (error) {
      showProblems(form, error);
    }
  });
  return form;
}

export async function section(app) {
  const box = h('div', { id: 'push-device' });
  const card = h('section.card', { id: 'notifications-settings', 'aria-labelledby': 'notifications-h' },
    h('h2', { id: 'notifications-h' }, 'Notifications and reminders'), box);
  await deviceState(box, app);
  try {
    add(card, reminderForm(await get('/api/reminders'), app));
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    add(card, h('p.muted', {}, 'Reminder settings are shown when you are online.'));
  }
  return card;
}

// --- #/notification/<id>[?action=done|snooze]: the choices a notification offers ---------------

async function closeShown(id) {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const shown = (await registration?.getNotifications()) || [];
    shown.filter((n) => n.data?.notification_id === id).forEach((n) => n.close());
  } catch {
    /* nothing shown, or no service worker */
  }
}

export async function actionPage(main, [id, chosen], app) {
  main.className = 'narrow';
  const result = h('div', { id: 'action-result', role: 'status' });
  const done = h('button.primary.big', { type: 'button', onclick: () => act('done') }, 'Done');
  const snooze = h('button.big', { type: 'button', onclick: () => act('snooze') }, 'Snooze an hour');
  const choices = h('div.row.choices', {}, done, snooze);
  const todayLink = h('p', {}, h('a', { href: '#/today' }, 'See today’s routine'));
  async function act(action) {
    done.disabled = snooze.disabled = true;
    clear(result);
    // The address no longer asks for an action, so reloading the page does not repeat it.
    history.replaceState(null, '', `#/notification/${id}`);
    try {
      const answer = await post(`/api/notifications/${encodeURIComponent(id)}/actions`, { action });
      await closeShown(id);
      const said = action === 'snooze'
        ? `Snoozed. We will remind you again ${whenText(answer.snoozed_until, app.state.me.client?.timezone)}.`
        : answer.already_done ? 'Today’s routine was already marked done. Nothing more to do.' : 'Today’s routine is marked done. Well done!';
      const message = h('p.notice.ok', { tabindex: '-1' }, said);
      choices.hidden = todayLink.hidden = true;
      add(result, message, h('p', {}, h('a.button', { href: '#/today' }, 'Open Today')));
      message.focus(); // the buttons it replaces had the focus
    } catch (error) {
      add(result, h('p.notice.bad', { role: 'alert' }, error.message));
      done.disabled = snooze.disabled = false;
    }
  }
  add(main,
    h('h1', {}, 'Your routine today'),
    h('p', {}, 'Done it already? Mark it done here. Not now? We will remind you again in an hour.'),
    choices,
    result,
    todayLink);
  if (chosen === 'done' || chosen === 'snooze') await act(chosen);
}
