// After the player: how it felt. The session is queued in the outbox first and uploaded from
// there, so saving works the same online and offline and nothing is lost on a bad connection.
import { h, add, field, plural } from '../dom.js';
import { queueSession } from '../outbox.js';

const PAIN_HIGH = 7;

function scale(name, legend, low, high) {
  const options = [];
  for (let n = 0; n <= 10; n++) {
    const id = `${name}-${n}`;
    options.push(h('input', { type: 'radio', name, id, value: String(n) }), h('label', { for: id }, String(n)));
  }
  return h('fieldset', {},
    h('legend', {}, legend),
    h('div.scale', {}, options),
    h('div.scale-ends', { 'aria-hidden': 'true' }, h('span', {}, `0 = ${low}`), h('span', {}, `10 = ${high}`)),
    h('p.visually-hidden', {}, `0 means ${low}, 10 means ${high}.`));
}

function number(form, name) {
  const value = form.elements[name].value;
  return value === '' ? null : Number(value);
}

export async function render(main, params, app) {
  main.className = 'narrow';
  const run = JSON.parse(sessionStorage.getItem('limber.run') || 'null');
  if (!run) return app.go('#/today');
  const advice = h('div.notice.bad', { role: 'alert', hidden: true },
    h('strong', {}, 'Your pain is high. '),
    'Please tell your therapist before your next session. Stop if pain is sharp, shooting down a leg, or comes with numbness or weakness, and get medical advice.');
  const note = h('textarea', { name: 'note', maxlength: 2000 });
  const form = h('form', { onsubmit: save, onchange: check },
    h('div.card', {},
      scale('pain_before', 'Pain before you started', 'no pain', 'worst pain imaginable'),
      scale('pain_after', 'Pain now', 'no pain', 'worst pain imaginable'),
      advice,
      scale('effort', 'How hard was it?', 'very easy', 'as hard as I could'),
      field('Anything to tell your therapist?', note, '(optional)')),
    h('div.notice', {},
      h('strong', {}, 'Some soreness is normal. '),
      'A mild ache or stiffness for a day or two after exercise is expected. Sharp, stabbing or radiating pain is not: stop that exercise and tell your therapist.'),
    h('button.primary.big.wide', { type: 'submit' }, 'Save'));

  add(main, 
    h('h1', {}, 'Well done'),
    h('p', {}, `${run.title}: ${plural(run.completed.length, 'exercise')} of ${run.total} done.`),
    form);

  function check() {
    const before = number(form, 'pain_before');
    const after = number(form, 'pain_after');
    advice.hidden = !(after != null && (after >= PAIN_HIGH || (before != null && after - before >= 2)));
  }

  async function save(event) {
    event.preventDefault();
    const body = {
      id: crypto.randomUUID(),
      assignment_id: run.assignment_id,
      performed_at: new Date().toISOString(),
      completed_items: run.completed,
      pain_before: number(form, 'pain_before'),
      pain_after: number(form, 'pain_after'),
      effort: number(form, 'effort'),
      note: note.value.trim(),
    };
    form.querySelector('button[type=submit]').disabled = true;
    sessionStorage.removeItem('limber.run');
    const result = await queueSession(body, run.title);
    app.flash(result.left ? 'Saved on this phone. It will upload when you are back online.' : 'Saved. Your therapist will see it.');
    app.go('#/today');
  }
}
