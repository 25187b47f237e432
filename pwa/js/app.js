// Start-up and routing. The app is one page with hash routes (#/today), so every screen works
// offline from the one cached index.html. /join/<code> is read once and removed from the address.
import { h, clear } from './dom.js';
import { state, loadMe } from './session.js';
import { flush } from './outbox.js';
import * as join from './screens/join.js';
import * as home from './screens/client-home.js';
import * as player from './player.js';
import * as finish from './screens/finish.js';
import * as historyScreen from './screens/history.js';
import * as settings from './screens/settings.js';
import * as auth from './screens/therapist-auth.js';
import * as dashboard from './screens/dashboard.js';
import * as clientPage from './screens/client-page.js';
import * as builder from './screens/builder.js';
import * as print from './screens/print.js';
import * as notifications from './screens/notifications.js';
import { resync as resyncPush } from './push.js';

const CLIENT = 'client';
const THERAPIST = 'therapist';
const ANYONE = null;
const SIGNED_IN = 'signed-in';

// [pattern, who may see it, render(main, params, app)]
const ROUTES = [
  [/^$/, ANYONE, (main, p, app) => landing(main, app)],
  [/^join$/, ANYONE, join.render],
  [/^signin$/, ANYONE, auth.signIn],
  [/^register$/, ANYONE, auth.register],
  [/^welcome$/, CLIENT, home.welcome],
  [/^safety$/, CLIENT, home.safety],
  [/^today$/, CLIENT, home.today],
  [/^play\/(\d+)$/, CLIENT, player.render],
  [/^finish$/, CLIENT, finish.render],
  [/^history$/, CLIENT, historyScreen.render],
  // Where a notification leads in browsers without action buttons (server/push/payloads.py).
  [/^notification\/([0-9a-f-]{36})(?:\?action=(done|snooze))?$/, CLIENT, notifications.actionPage],
  [/^settings$/, SIGNED_IN, settings.render],
  [/^dashboard$/, THERAPIST, dashboard.render],
  [/^clients\/new$/, THERAPIST, dashboard.addClient],
  [/^clients\/(\d+)$/, THERAPIST, clientPage.render],
  [/^routines$/, THERAPIST, builder.list],
  [/^routines\/new$/, THERAPIST, builder.render],
  [/^routines\/(\d+)$/, THERAPIST, builder.render],
  [/^print\/(routine|assignment)\/(\d+)(?:\/(\d+))?$/, SIGNED_IN, print.render],
];

const NAV = {
  [CLIENT]: [['#/today', 'Today'], ['#/history', 'History'], ['#/settings', 'Settings']],
  [THERAPIST]: [['#/dashboard', 'Clients'], ['#/routines', 'Routines'], ['#/settings', 'Settings']],
};

const main = document.getElementById('main');
const statusBox = document.getElementById('status');
let leaving = null;
let carried = '';

export const app = {
  state,
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  // A short message read out by screen readers; stays until the next navigation.
  say(message) {
    statusBox.textContent = message;
  },
  // The same, shown on the screen the app goes to next (after a save, for example).
  flash(message) {
    carried = message;
  },
  // A screen can register cleanup (timers, wake lock) to run when the person leaves it.
  onLeave(fn) {
    leaving = fn;
  },
};

function landing(target, appRef) {
  const role = state.me?.role;
  if (role === CLIENT) return home.start(target, {}, appRef);
  if (role === THERAPIST) return appRef.go('#/dashboard');
  return join.render(target, {}, appRef);
}

function renderNav(current) {
  const nav = clear(document.getElementById('nav'));
  for (const [href, label] of NAV[state.me?.role] || []) {
    nav.append(h('a', { href, 'aria-current': current.startsWith(href) ? 'page' : null }, label));
  }
}

async function route() {
  if (leaving) {
    const cleanup = leaving;
    leaving = null;
    cleanup();
  }
  const path = location.hash.replace(/^#\/?/, '');
  const match = ROUTES.map(([pattern, who, render]) => [path.match(pattern), who, render]).find(([m]) => m);
  statusBox.textContent = carried;
  carried = '';
  renderNav(location.hash);
  clear(main);
  main.className = '';
  if (!match) return app.go('#/');
  const [params, who, render] = match;
  const role = state.me?.role;
  if ((who === SIGNED_IN && !role) || (who && who !== SIGNED_IN && who !== role)) {
    return app.go(role ? '#/' : who === THERAPIST ? '#/signin' : '#/');
  }
  try {
    await render(main, params.slice(1), app);
  } catch (error) {
    main.append(h('div.notice.bad', { role: 'alert' }, error.message || 'Something went wrong.'));
  }
  const heading = main.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: false });
    document.title = `${heading.textContent} · Limber`;
  }
}

async function start() {
  if ('serviceWorker' in navigator) {
    // A new version takes over open pages at once (skipWaiting); say so instead of reloading
    // under the person's fingers. The first install also "changes" the controller: not news.
    const hadController = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (hadController) app.say('Limber has been updated. It will use the new version next time you open it.');
    });
    navigator.serviceWorker.register('/sw.js').catch(() => {});
  }
  const joining = location.pathname.match(/^\/join\/([^/]+)$/);
  if (joining) {
    // Keep the code in memory only; the address bar, history and Referer never hold it again.
    join.setPendingCode(decodeURIComponent(joining[1]));
    history.replaceState(null, '', '/#/join');
  }
  await loadMe();
  if (state.me?.role === CLIENT) {
    flush();
    resyncPush();
  }
  window.addEventListener('hashchange', route);
  // From the service worker: a tapped notification names the screen to show; a push or an action
  // taken from a notification may have changed today's routines.
  navigator.serviceWorker?.addEventListener('message', (event) => {
    if (event.data?.type === 'navigate' && /^#\//.test(event.data.hash)) app.go(event.data.hash);
    else if (event.data === 'today-changed' && location.hash === '#/today') route();
  });
  window.addEventListener('limber:signed-out', () => {
    if (state.me && !state.offline) {
      state.me = null;
      app.go('#/');
    }
  });
  route();
}

start();
