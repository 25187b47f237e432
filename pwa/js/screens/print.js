// A printable handout of a routine or an assignment: pictures, steps and doses on A4 or Letter
// (the print rules are in app.css). For clients who prefer paper on the fridge.
import { h, add, doseText, plural } from '../dom.js';
import { get } from '../api.js';
import { store } from '../outbox.js';

async function fromRoutine(id) {
  const routine = await get(`/api/routines/${id}`);
  // The routine lists exercises in brief; the handout needs each one's steps and cues.
  const exercises = await Promise.all(routine.items.map((i) => get(`/api/exercises/${i.exercise.id}`)));
  return {
    title: routine.name,
    intro: routine.purpose,
    meta: `${plural(routine.items.length, 'exercise')} · about ${routine.estimated_minutes} min${routine.frequency ? ` · ${routine.frequency}` : ''}`,
    items: routine.items.map((item, n) => ({ ...exercises[n], dose: item.dose, note: item.note })),
  };
}

async function fromAssignment(me, [first, second]) {
  let assignment;
  if (me.role === 'client') {
    const today = await store.get('today');
    assignment = today?.items.map((i) => i.assignment).find((a) => String(a.id) === first);
  } else {
    assignment = (await get(`/api/clients/${first}/assignments`)).find((a) => String(a.id) === second);
  }
  if (!assignment) throw new Error('This routine is not available.');
  return {
    title: assignment.title,
    intro: assignment.note,
    meta: `${assignment.weekdays ? `On ${assignment.weekdays.join(', ')}` : `${assignment.times_per_week} times a week`} · about ${assignment.estimated_minutes} min`,
    items: assignment.routine.items,
  };
}

export async function render(main, [kind, ...ids], app) {
  const sheet = kind === 'routine' ? await fromRoutine(ids[0]) : await fromAssignment(app.state.me, ids);
  add(main, 
    h('div.row.spread.no-print', {},
      h('button.primary', { type: 'button', onclick: () => window.print() }, 'Print'),
      h('button', { type: 'button', onclick: () => history.back() }, 'Back')),
    h('h1', {}, sheet.title),
    h('p.muted', {}, sheet.meta),
    sheet.intro ? h('p.note', {}, sheet.intro) : null,
    h('ol.plain', {}, sheet.items.map((item, n) => h('li.handout-item', {},
      item.illustration_url ? h('img', { src: item.illustration_url, alt: '', width: 240, height: 160 }) : h('div'),
      h('div', {},
        h('h2', {}, `${n + 1}. ${item.name}`),
        h('p', {}, h('strong', {}, doseText(item.dose))),
        item.note ? h('p.note', {}, item.note) : null,
        h('ol.steps', {}, (item.steps || []).map((s) => h('li', {}, s))),
        item.cues?.length ? h('p.small', {}, h('strong', {}, 'Remember: '), item.cues.join(' ')) : null,
        item.cautions?.length ? h('p.small', {}, h('strong', {}, 'Take care: '), item.cautions.join(' ')) : null)))),
    h('p.small', {}, 'Some soreness after exercise is normal. Stop if pain is sharp or spreads down a leg, and tell your therapist.'));
}
