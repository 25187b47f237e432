// Tiny DOM helpers. Every screen builds its elements with h() rather than innerHTML: text from the
// server or the person is never parsed as markup, and no inline handlers are needed (strict CSP).

export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name);
  if (classes.length) el.className = classes.join(' ');
  applyProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value != null) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'text') {
      el.textContent = value;
    } else if (key === 'value' || key === 'checked' || key === 'selected') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Like el.append, but skips null/false and flattens arrays, as h() does for its children.
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// A labelled form field; the id ties label, hint and error message together for screen readers.
let fieldCount = 0;
export function field(labelText, input, hint) {
  const id = input.id || `f${++fieldCount}`;
  input.id = id;
  const parts = [h('label', { for: id }, labelText, hint ? h('span.hint', {}, ` ${hint}`) : null), input];
  return h('div.field', {}, parts);
}

// Shows a problem+json error next to a form, and marks the fields it names as invalid.
export function showError(form, error) {
  form.querySelectorAll('.field-error').forEach((n) => n.remove());
  form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
  let box = form.querySelector('.form-error');
  if (!box) {
    box = h('div.notice.bad.form-error', { role: 'alert', tabindex: '-1' });
    form.prepend(box);
  }
  box.textContent = error.message;
  for (const [name, messages] of Object.entries(error.errors || {})) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    input.setAttribute('aria-invalid', 'true');
    const note = h('p.field-error', { id: `${input.id}-err` }, [].concat(messages).join(' '));
    input.setAttribute('aria-describedby', note.id);
    input.after(note);
  }
  box.focus();
}

export function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });

// "2026-11-26" is a calendar date, not an instant: read it as local noon so no time zone shifts it.
export function fmtDate(isoDate) {
  return isoDate ? dateFormat.format(new Date(`${isoDate.slice(0, 10)}T12:00:00`)) : '';
}
export function fmtDateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : '';
}
export function localDate(date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
export function percent(ratio) {
  return ratio == null ? '–' : `${Math.round(ratio * 100)}%`;
}

// Dose as people say it: "3 × 10 reps each side, rest 30 s".
export function doseText(dose) {
  if (!dose) return '';
  const work = dose.reps ? `${dose.reps} reps` : `hold ${dose.hold_seconds} s`;
  const sides = dose.sides === 2 ? ' each side' : '';
  const rest = dose.rest_seconds ? `, rest ${dose.rest_seconds} s` : '';
  return `${dose.sets} × ${work}${sides}${rest}`;
}

export function plural(n, word, many = `${word}s`) {
  return `${n} ${n === 1 ? word : many}`;
}
