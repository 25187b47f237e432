// Routines: the list, and the builder (search and filter the library, add, reorder with buttons
// so keyboards and switch users can do it too, set each dose, save as a routine or a template).
import { h, add, clear, field, showError, doseText, plural } from '../dom.js';
import { get, post, put } from '../api.js';

const REGIONS = [['hips', 'Hips'], ['glutes', 'Glutes'], ['hamstrings', 'Hamstrings'], ['core', 'Core'], ['lower_back', 'Lower back']];
const KINDS = [['stretch', 'Stretch'], ['strength', 'Strength'], ['mobility', 'Mobility']];
const LEVELS = [['1', 'Level 1 (gentle)'], ['2', 'Level 2'], ['3', 'Level 3 (harder)']];
const EQUIPMENT = [['none', 'No equipment'], ['mat', 'Mat'], ['chair', 'Chair'], ['wall', 'Wall'], ['towel', 'Towel'], ['resistance_band', 'Resistance band'], ['foam_roller', 'Foam roller']];

export async function list(main) {
  const [mine, templates] = await Promise.all([get('/api/routines'), get('/api/templates')]);
  const starter = templates.filter((t) => t.library);
  const row = (r) => h('li.row.spread', {},
    h('div', {}, h('strong', {}, r.name), h('div.muted.small', {}, `${r.is_template ? 'Template' : 'Routine'} · ${plural(r.items.length, 'exercise')} · about ${r.estimated_minutes} min`)),
    h('div.row', {},
      h('a.button', { href: `#/routines/${r.id}`, 'aria-label': `${r.library ? 'Copy and edit' : 'Edit'} ${r.name}` }, r.library ? 'Copy and edit' : 'Edit'),
      h('a.button', { href: `#/print/routine/${r.id}`, 'aria-label': `Print ${r.name}` }, 'Print')));
  add(main, 
    h('div.row.spread', {}, h('h1', {}, 'Routines'), h('a.button.primary', { href: '#/routines/new' }, 'New routine')),
    h('section.card', { 'aria-labelledby': 'mine-h' }, h('h2', { id: 'mine-h' }, 'Yours'),
      mine.length ? h('ul.plain', {}, mine.map(row)) : h('p.muted', {}, 'None yet. Build one, or copy a starter template.')),
    h('section.card', { 'aria-labelledby': 'starter-h' }, h('h2', { id: 'starter-h' }, 'Starter templates'),
      h('ul.plain', {}, starter.map(row))));
}

function select(name, label, options) {
  return field(label, h('select', { name }, h('option', { value: '' }, 'Any'), options.map(([v, t]) => h('option', { value: v }, t))));
}

function number(label, value, min, max, onInput) {
  return h('div', {}, field(label, h('input', { type: 'number', inputmode: 'numeric', min, max, value: value ?? '', required: true, oninput: onInput })));
}

export async function render(main, [routineId], app) {
  main.className = 'wide';
  let routine = null;
  if (routineId) routine = await get(`/api/routines/${routineId}`);
  const editing = routine && !routine.library;
  // The working copy: one entry per item, dose fields as the API takes them.
  const items = (routine?.items || []).map((i) => ({ exercise: i.exercise, note: i.note, ...i.dose }));

  const live = h('p.visually-hidden', { 'aria-live': 'polite' });
  const results = h('ul.plain.results', { id: 'results', tabindex: '0', 'aria-label': 'Matching exercises' });
  const itemList = h('ol.plain.items', { id: 'items' });
  const filters = h('form.filters', { role: 'search', onsubmit: (e) => { e.preventDefault(); search(); }, onchange: search },
    field('Search', h('input', { type: 'search', name: 'q', placeholder: 'e.g. bridge' })),
    select('region', 'Body region', REGIONS), select('kind', 'Kind', KINDS),
    select('level', 'Level', LEVELS), select('equipment', 'Equipment', EQUIPMENT),
    h('div.field', {}, h('button', { type: 'submit' }, 'Search')));

  let searches = 0;
  async function search() {
    // Answers can arrive out of order when filters change quickly: only the latest is shown.
    const mine = ++searches;
    results.setAttribute('aria-busy', 'true');
    const query = new URLSearchParams([...new FormData(filters)].filter(([, v]) => v.trim() !== ''));
    const found = await get(`/api/exercises?${query}`);
    if (mine !== searches) return;
    results.setAttribute('aria-busy', 'false');
    clear(results).append(...found.slice(0, 40).map((e) => h('li.row', {},
      e.illustration_url ? h('img.thumb', { src: e.illustration_url, alt: '', width: 72, height: 48, loading: 'lazy' }) : null,
      h('div', {}, h('strong', {}, e.name), h('div.muted.small', {}, `${e.kind} · level ${e.level} · ${doseText(e.dose)}`)),
      h('button', { type: 'button', 'aria-label': `Add ${e.name}`, onclick: () => addExercise(e) }, 'Add'))));
    if (!found.length) results.append(h('li.muted', {}, 'Nothing matches. Try fewer filters.'));
    live.textContent = `${plural(found.length, 'exercise')} found.`;
  }

  function addExercise(exercise) {
    items.push({ exercise, note: '', ...exercise.dose });
    drawItems();
    live.textContent = `${exercise.name} added as number ${items.length}.`;
  }

  function moveItem(index, by, focusClass) {
    const [item] = items.splice(index, 1);
    items.splice(index + by, 0, item);
    drawItems();
    live.textContent = `${item.exercise.name} moved to number ${index + by + 1} of ${items.length}.`;
    // Keep the keyboard where it was: on the same button of the item that moved, if it can go on.
    const button = itemList.children[index + by]?.querySelector(`.${focusClass}`);
    (button && !button.disabled ? button : itemList.children[index + by]?.querySelector('button:not(:disabled)'))?.focus();
  }

  function drawItems() {
    clear(itemList);
    if (!items.length) itemList.append(h('li.muted', {}, 'No exercises yet: add some from the library.'));
    items.forEach((item, i) => {
      const name = item.exercise.name;
      const byReps = item.reps != null;
      const set = (key) => (e) => { item[key] = e.target.value === '' ? null : Number(e.target.value); };
      const kind = h('select', { onchange: (e) => {
        const reps = e.target.value === 'reps';
        item.reps = reps ? item.reps || 10 : null;
        item.hold_seconds = reps ? null : item.hold_seconds || 30;
        drawItems();
      } }, h('option', { value: 'reps', selected: byReps }, 'Reps'), h('option', { value: 'hold', selected: !byReps }, 'Hold'));
      itemList.append(h('li', {},
        h('div.row.spread', {},
          h('strong', {}, `${i + 1}. ${name}`),
          h('div.row', {},
            h('button.up', { type: 'button', 'aria-label': `Move ${name} up`, disabled: i === 0, onclick: () => moveItem(i, -1, 'up') }, '↑'),
            h('button.down', { type: 'button', 'aria-label': `Move ${name} down`, disabled: i === items.length - 1, onclick: () => moveItem(i, 1, 'down') }, '↓'),
            h('button.danger', { type: 'button', 'aria-label': `Remove ${name}`, onclick: () => { items.splice(i, 1); drawItems(); live.textContent = `${name} removed.`; } }, 'Remove'))),
        h('div.dose', {},
          number('Sets', item.sets, 1, 10, set('sets')),
          field('Count', kind),
          byReps ? number('Reps', item.reps, 1, 100, set('reps')) : number('Seconds', item.hold_seconds, 1, 600, set('hold_seconds')),
          field('Sides', h('select', { onchange: set('sides') }, h('option', { value: '1', selected: item.sides === 1 }, 'One'), h('option', { value: '2', selected: item.sides === 2 }, 'Each side'))),
          number('Rest (s)', item.rest_seconds, 0, 600, set('rest_seconds'))),
        field(`Note on ${name}`, h('input', { type: 'text', maxlength: 300, value: item.note || '', oninput: (e) => { item.note = e.target.value; } }), '(optional)')));
    });
  }

  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 120, value: editing || routine ? (editing ? routine.name : `${routine.name} (my copy)`) : '' });
  const notes = h('textarea', { name: 'purpose', maxlength: 600 }, routine?.purpose || '');
  const form = h('form', { onsubmit: (e) => { e.preventDefault(); save(e.submitter?.value === 'template'); } },
    field('Routine name', name), field('Notes', notes, '(what it is for; shown on the handout)'),
    h('h2', {}, 'Exercises'), itemList,
    h('div.row', {},
      h('button.primary', { type: 'submit', value: 'routine' }, editing ? 'Save changes' : 'Save routine'),
      editing ? null : h('button', { type: 'submit', value: 'template' }, 'Save as my template')));

  async function save(asTemplate) {
    const body = {
      name: name.value.trim(),
      purpose: notes.value.trim(),
      items: items.map((i) => {
        const out = { exercise_id: i.exercise.id, note: (i.note || '').trim(), sets: i.sets, sides: i.sides, rest_seconds: i.rest_seconds };
        if (i.reps != null) out.reps = i.reps;
        else out.hold_seconds = i.hold_seconds;
        return out;
      }),
    };
    try {
      if (editing) {
        await put(`/api/routines/${routine.id}`, { ...body, is_template: routine.is_template });
      } else {
        await post('/api/routines', { ...body, is_template: asTemplate });
      }
      app.flash(`Saved ${body.name}.`);
      app.go('#/routines');
    } catch (error) {
      showError(form, error);
    }
  }

  add(main, 
    h('p', {}, h('a', { href: '#/routines' }, '‹ All routines')),
    h('h1', {}, editing ? `Edit ${routine.name}` : routine ? `Copy of ${routine.name}` : 'New routine'),
    live,
    h('div.grid2', {},
      h('section.card', { 'aria-labelledby': 'library-h' }, h('h2', { id: 'library-h' }, 'Exercise library'), filters, results),
      h('section.card', { 'aria-labelledby': 'routine-h' }, h('h2.visually-hidden', { id: 'routine-h' }, 'Your routine'), form)));
  drawItems();
  await search();
}
