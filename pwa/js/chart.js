// Small SVG charts with labelled axes. Each chart has a title and a description for screen
// readers, and the numbers are also offered as a table (charts alone exclude some people).
import { h, s, fmtDate } from './dom.js';

// Narrow screens get a narrower drawing, so its text is not scaled down to an unreadable size.
const W = self.innerWidth < 600 ? 380 : 640;
const H = 280;
const PAD = { left: 56, right: 16, top: 16, bottom: 56 };
let chartCount = 0;

function frame(title, description, yLabel, xLabel) {
  const id = `chart${++chartCount}`;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-t ${id}-d` },
    s('title', { id: `${id}-t` }, title),
    s('desc', { id: `${id}-d` }, description),
    s('text', { x: 14, y: (PAD.top + H - PAD.bottom) / 2, transform: `rotate(-90 14 ${(PAD.top + H - PAD.bottom) / 2})`, 'text-anchor': 'middle' }, yLabel),
    s('text', { x: (PAD.left + W - PAD.right) / 2, y: H - 8, 'text-anchor': 'middle' }, xLabel),
    s('line', { class: 'axis', x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    s('line', { class: 'axis', x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }));
  return svg;
}

function yAxis(svg, max, step) {
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  for (let v = 0; v <= max; v += step) {
    svg.append(
      s('line', { class: 'grid', x1: PAD.left, y1: y(v), x2: W - PAD.right, y2: y(v) }),
      s('text', { x: PAD.left - 8, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  return y;
}

function dataTable(caption, headers, rows) {
  return h('details', {}, h('summary', {}, 'Show the numbers'),
    h('div.table-wrap', {}, h('table.data', {},
      h('caption.visually-hidden', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c == null ? '–' : String(c)))))))));
}

// points: [{date: 'YYYY-MM-DD', before: n|null, after: n|null}], oldest first.
export function painChart(points, title = 'Pain over time') {
  const wrap = h('div');
  if (!points.length) {
    wrap.append(h('p.muted', {}, 'No pain scores yet.'));
    return wrap;
  }
  const last = points[points.length - 1];
  const svg = frame(title, `Pain from 0 (none) to 10 (worst) on ${points.length} days from ${fmtDate(points[0].date)} to ${fmtDate(last.date)}. Latest: before ${last.before ?? 'not given'}, after ${last.after ?? 'not given'}.`, 'Pain (0–10)', 'Date');
  const y = yAxis(svg, 10, 2);
  const t0 = Date.parse(points[0].date);
  const span = Math.max(Date.parse(last.date) - t0, 86400000);
  const x = (date) => points.length === 1 ? (PAD.left + W - PAD.right) / 2 : PAD.left + 12 + ((Date.parse(date) - t0) / span) * (W - PAD.left - PAD.right - 24);
  const ticks = Math.min(points.length, W < 600 ? 3 : 5);
  for (let i = 0; i < ticks; i++) {
    const p = points[Math.round((i * (points.length - 1)) / Math.max(ticks - 1, 1))];
    const anchor = ticks === 1 ? 'middle' : i === 0 ? 'start' : i === ticks - 1 ? 'end' : 'middle';
    svg.append(s('text', { x: x(p.date), y: H - PAD.bottom + 20, 'text-anchor': anchor }, fmtDate(p.date)));
  }
  for (const [key, cls] of [['before', 'b'], ['after', 'a']]) {
    const pts = points.filter((p) => p[key] != null);
    if (pts.length > 1) svg.append(s('polyline', { class: cls, points: pts.map((p) => `${x(p.date)},${y(p[key])}`).join(' ') }));
    pts.forEach((p) => svg.append(s('circle', { class: `dot-${cls}`, cx: x(p.date), cy: y(p[key]), r: 4.5 })));
  }
  wrap.append(svg,
    h('p.legend', {}, h('span.key-a', {}, 'After exercise'), h('span.key-b', {}, 'Before exercise')),
    dataTable(title, ['Date', 'Before', 'After'], points.map((p) => [fmtDate(p.date), p.before, p.after])));
  return wrap;
}

// bars: [{label, value, max}] e.g. sessions done per week against planned.
export function barChart(bars, title, yLabel, xLabel) {
  const max = Math.max(1, ...bars.map((b) => Math.max(b.value, b.max || 0)));
  const svg = frame(title, bars.map((b) => `${b.label}: ${b.value}${b.max ? ` of ${b.max}` : ''}`).join('; '), yLabel, xLabel);
  const y = yAxis(svg, max, max > 10 ? Math.ceil(max / 5) : 1);
  const slot = (W - PAD.left - PAD.right) / bars.length;
  const every = W < 600 ? 2 : 1; // every other label on narrow screens, so they do not overlap
  bars.forEach((b, i) => {
    const x = PAD.left + i * slot + slot * 0.2;
    svg.append(s('rect', { class: 'barfill', x, y: y(b.value), width: slot * 0.6, height: y(0) - y(b.value), rx: 3 }));
    if ((bars.length - 1 - i) % every === 0) svg.append(s('text', { x: x + slot * 0.3, y: H - PAD.bottom + 20, 'text-anchor': 'middle' }, b.label));
  });
  return h('div', {}, svg, dataTable(title, [xLabel, yLabel], bars.map((b) => [b.label, b.max ? `${b.value} of ${b.max}` : b.value])));
}
