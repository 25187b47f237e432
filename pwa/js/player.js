// The guided player: one exercise at a time, split into phases (each set and side, then a rest).
// Holds and rests count down from a deadline (not by counting ticks, which drift when the phone
// throttles timers); reps are counted by tapping. Works offline from the cached Today.
import { h, add, clear, doseText } from './dom.js';
import { store } from './outbox.js';

const SOUND_KEY = 'limber.sound';

export function phasesOf(items) {
  const phases = [];
  items.forEach((item, index) => {
    const d = item.dose;
    for (let set = 1; set <= d.sets; set++) {
      for (let side = 1; side <= d.sides; side++) {
        const sideName = d.sides === 2 ? (side === 1 ? 'Left side' : 'Right side') : '';
        const base = { index, item, set, sets: d.sets, side: sideName };
        phases.push(d.reps
          ? { ...base, kind: 'reps', reps: d.reps }
          : { ...base, kind: 'hold', seconds: d.hold_seconds });
        const lastBout = set === d.sets && side === d.sides;
        if (!lastBout && d.rest_seconds) phases.push({ ...base, kind: 'rest', seconds: d.rest_seconds });
      }
    }
    phases[phases.length - 1].lastOfItem = true;
  });
  return phases;
}

// A short tone through Web Audio (no sound file to download); the phone's silent switch and
// the person's own toggle both keep it quiet.
let audio = null;
function unlockAudio() {
  if (!audio && (self.AudioContext || self.webkitAudioContext)) {
    audio = new (self.AudioContext || self.webkitAudioContext)();
  }
  audio?.resume?.();
}
function signal() {
  if (localStorage.getItem(SOUND_KEY) !== 'off' && audio) {
    const now = audio.currentTime;
    [0, 0.25].forEach((offset) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.2);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.22);
    });
  }
  navigator.vibrate?.([180, 90, 180]);
}

function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// Screen Wake Lock keeps the screen on during a routine; the lock is lost when the page is
// hidden, so it is asked for again when the person comes back.
function keepAwake() {
  let lock = null;
  const request = async () => {
    try {
      lock = await navigator.wakeLock?.request('screen');
    } catch {
      lock = null;
    }
  };
  const onVisible = () => document.visibilityState === 'visible' && request();
  request();
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    document.removeEventListener('visibilitychange', onVisible);
    lock?.release().catch(() => {});
  };
}

export async function render(main, [assignmentId], app) {
  const today = await store.get('today');
  const entry = today?.items.find((i) => String(i.assignment.id) === assignmentId);
  if (!entry) {
    add(main, h('h1', {}, 'Routine not found'), h('p', {}, h('a', { href: '#/today' }, 'Back to today')));
    return;
  }
  const assignment = entry.assignment;
  const items = assignment.routine.items;
  const phases = phasesOf(items);
  const completed = new Set();
  const startedAt = new Date().toISOString();
  let at = 0;
  let reps = 0;
  let remaining = 0;
  let deadline = 0;
  let ticking = null;
  let shownItem = -1;

  const releaseWake = keepAwake();
  app.onLeave(() => {
    stopTimer();
    releaseWake();
  });

  const progress = h('p.progress', { id: 'player-progress' });
  const title = h('h1', {});
  const figure = h('div.figure');
  const what = h('p.what');
  const big = h('p', { 'aria-hidden': 'true' });
  const bar = h('span');
  const barBox = h('div.bar', { 'aria-hidden': 'true' }, bar);
  const live = h('p.visually-hidden', { 'aria-live': 'polite' });
  const back = h('button', { type: 'button', onclick: () => move(-1) }, 'Back');
  const action = h('button.primary', { type: 'button', onclick: onAction });
  const next = h('button', { type: 'button', onclick: () => move(1) }, 'Next');
  const details = h('div.card');
  const sound = h('input', { type: 'checkbox', id: 'sound', checked: localStorage.getItem(SOUND_KEY) !== 'off',
    onchange: () => localStorage.setItem(SOUND_KEY, sound.checked ? 'on' : 'off') });

  add(main, h('div.player', {},
    progress, title, figure,
    h('div.phase', {}, what, big, barBox, live),
    h('div.controls', {}, back, action, next),
    details,
    h('div.row.spread', {},
      h('label.check', { for: 'sound' }, sound, 'Sound and vibration'),
      h('button.quiet', { type: 'button', onclick: skipExercise }, 'Skip exercise'),
      h('button.quiet', { type: 'button', onclick: finish }, 'Finish now'))));

  function showItem(phase) {
    if (shownItem === phase.index) return;
    shownItem = phase.index;
    const item = phase.item;
    title.textContent = item.name;
    clear(figure);
    figure.classList.remove('missing');
    if (item.illustration_url) {
      const img = h('img', { src: item.illustration_url, alt: `${item.name}: ${item.summary || 'illustration'}`, width: 480, height: 320 });
      img.addEventListener('error', () => {
        figure.classList.add('missing');
        figure.replaceChildren(h('p', {}, 'The picture is not available right now.'));
      });
      figure.append(img);
    } else {
      figure.classList.add('missing');
      figure.append(h('p', {}, 'No picture for this exercise.'));
    }
    add(clear(details), 
      h('h2', {}, 'How to do it'),
      h('p.muted', {}, doseText(item.dose)),
      item.note ? h('p.note', {}, h('span.visually-hidden', {}, 'Note from your therapist: '), item.note) : null,
      h('ol.steps', {}, item.steps.map((step) => h('li', {}, step))),
      item.cues?.length ? [h('h3', {}, 'Remember'), h('ul', {}, item.cues.map((c) => h('li', {}, c)))] : null,
      item.cautions?.length ? [h('h3', {}, 'Take care'), h('ul', {}, item.cautions.map((c) => h('li', {}, c)))] : null,
    );
  }

  function show() {
    const phase = phases[at];
    showItem(phase);
    const side = phase.side ? ` · ${phase.side}` : '';
    progress.textContent = `Exercise ${phase.index + 1} of ${items.length} · Set ${phase.set} of ${phase.sets}${side}`;
    back.disabled = at === 0;
    next.textContent = at === phases.length - 1 ? 'Finish' : phase.kind === 'rest' ? 'Skip rest' : 'Next';
    barBox.hidden = phase.kind === 'reps';
    if (phase.kind === 'reps') {
      what.textContent = `${phase.reps} reps${side}`;
      big.className = 'counter';
      big.textContent = `${reps} / ${phase.reps}`;
      action.textContent = 'Count a rep';
      action.setAttribute('aria-label', `Count a rep, ${reps} of ${phase.reps} done`);
    } else {
      what.textContent = phase.kind === 'rest' ? 'Rest' : `Hold${side}`;
      big.className = 'timer';
      big.textContent = clock(ticking ? (deadline - performance.now()) / 1000 : remaining);
      action.textContent = ticking ? 'Pause' : remaining < phase.seconds ? 'Resume' : phase.kind === 'rest' ? 'Start rest' : 'Start hold';
      action.removeAttribute('aria-label');
      bar.style.width = `${100 * (1 - remaining / phase.seconds)}%`;
    }
  }

  function enter(index) {
    stopTimer();
    at = index;
    reps = 0;
    const phase = phases[at];
    remaining = phase.seconds || 0;
    show();
    live.textContent = phase.kind === 'rest'
      ? `Rest ${phase.seconds} seconds`
      : `${phase.item.name}. ${what.textContent}. Set ${phase.set} of ${phase.sets}.`;
    if (phase.kind === 'rest') startTimer();
  }

  function move(step) {
    const phase = phases[at];
    // An exercise counts as done when the person goes on from its last set (not by skipping it).
    if (step > 0 && phase.lastOfItem) completed.add(phase.item.position);
    if (at + step >= phases.length) return finish();
    if (at + step >= 0) enter(at + step);
  }

  function skipExercise() {
    const current = phases[at].index;
    const nextItem = phases.findIndex((p) => p.index > current);
    if (nextItem === -1) finish();
    else enter(nextItem);
  }

  function onAction() {
    unlockAudio();
    const phase = phases[at];
    if (phase.kind === 'reps') {
      reps = Math.min(phase.reps, reps + 1);
      show();
      if (reps === phase.reps) live.textContent = 'Set done. Press Next.';
    } else if (ticking) {
      remaining = (deadline - performance.now()) / 1000;
      stopTimer();
      show();
    } else {
      startTimer();
    }
  }

  function startTimer() {
    deadline = performance.now() + remaining * 1000;
    ticking = setInterval(tick, 200);
    show();
  }

  function stopTimer() {
    clearInterval(ticking);
    ticking = null;
  }

  function tick() {
    remaining = (deadline - performance.now()) / 1000;
    if (remaining <= 0) {
      remaining = 0;
      stopTimer();
      signal();
      move(1);
      return;
    }
    big.textContent = clock(remaining);
    bar.style.width = `${100 * (1 - remaining / phases[at].seconds)}%`;
  }

  function finish() {
    stopTimer();
    sessionStorage.setItem('limber.run', JSON.stringify({
      assignment_id: assignment.id,
      title: assignment.title,
      completed: [...completed].sort((a, b) => a - b),
      total: items.length,
      started_at: startedAt,
    }));
    app.go('#/finish');
  }

  enter(0);
}
