/* Limber service worker: the app shell offline, illustrations offline, Background Sync uploads,
 * and Web Push: showing notifications, their "Done" and "Snooze" buttons, and opening the app.
 *
 * The server replaces __SHELL_VERSION__ with a hash of pwa/ (server/web.py), so any change to the
 * app installs a new cache and activation deletes the old ones. API answers are never cached
 * here: they belong to whoever is signed in. The page keeps what it needs offline in IndexedDB,
 * and sign-out deletes that and every cache.
 */
'use strict';
importScripts('/app/js/outbox-core.js');

const VERSION = '__SHELL_VERSION__';
const SHELL_CACHE = 'limber-shell-' + VERSION;
const PICTURES_CACHE = 'limber-illustrations';
// Every file the app needs to start and run offline. tests/test_web.py checks nothing is missing.
const SHELL = [
  '/',
  '/manifest.webmanifest',
  '/app/css/app.css',
  '/app/js/api.js',
  '/app/js/app.js',
  '/app/js/chart.js',
  '/app/js/dom.js',
  '/app/js/outbox-core.js',
  '/app/js/outbox.js',
  '/app/js/player.js',
  '/app/js/push.js',
  '/app/js/session.js',
  '/app/js/screens/client-home.js',
  '/app/js/screens/finish.js',
  '/app/js/screens/history.js',
  '/app/js/screens/join.js',
  '/app/js/screens/settings.js',
  '/app/js/screens/therapist-auth.js',
  '/app/js/screens/dashboard.js',
  '/app/js/screens/client-page.js',
  '/app/js/screens/builder.js',
  '/app/js/screens/print.js',
  '/app/js/screens/notifications.js',
  '/app/icons/icon-192.png',
  '/app/icons/badge-96.png',
  '/app/icons/apple-touch-icon.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith('limber-shell-') && name !== SHELL_CACHE)
          .map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/healthz') return;
  if (request.mode === 'navigate' && (url.pathname === '/' || url.pathname.startsWith('/join/'))) {
    // The app is one page: / and /join/<code> are the same index.html, routed in the page.
    event.respondWith(fromCache(SHELL_CACHE, '/', request));
  } else if (url.pathname.startsWith('/illustrations/')) {
    event.respondWith(illustration(request));
  } else if (url.pathname.startsWith('/app/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(fromCache(SHELL_CACHE, request, request));
  }
});

// Cache first, then the network; the shell only changes with a new service worker.
async function fromCache(cacheName, key, request) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match(key, { ignoreSearch: true });
  return hit || fetch(request);
}

async function illustration(request) {
  const cache = await caches.open(PICTURES_CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

// Background Sync: upload the outbox even when no page is open. Failing the event (offline or
// waiting entries) makes the browser try again later.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'limber-outbox') return;
  event.waitUntil((async () => {
    const me = await self.LimberStore.get('me');
    if (!me || !me.csrf_token) return;
    const result = await self.LimberStore.flush(me.csrf_token);
    const pages = await self.clients.matchAll({ type: 'window' });
    pages.forEach((page) => page.postMessage('outbox-changed'));
    if (result.offline) throw new Error('offline: try again later');
  })());
});

// Web Push. The server sends Declarative Web Push JSON (server/push/payloads.py):
//   {"web_push": 8030, "notification": {"title", "body", "navigate", "tag", "lang", "timestamp",
//    "data": {"notification_id", "kind", "url", "actions_url"}, "actions": [{"action", "title", "navigate"}]}}
// Safari 18.4+ can show it without us; everywhere else this handler does.
const ICON = '/app/icons/icon-192.png';
const BADGE = '/app/icons/badge-96.png';

self.addEventListener('push', (event) => {
  event.waitUntil(showPush(event.data));
});

function readPayload(data) {
  try {
    const payload = data ? data.json() : null;
    if (payload && payload.notification && payload.notification.title) return payload.notification;
  } catch (error) { /* not JSON: shown as a plain notice below */ }
  return null;
}

// Chromium requires a notification for every push (userVisibleOnly), so even a payload we cannot
// read shows something, rather than the browser's own "updated in the background".
function showPush(data) {
  const n = readPayload(data) || { title: 'Limber', body: 'Open Limber to see what is new.', navigate: '/#/' };
  const actions = (n.actions || []).filter((a) => a && a.action && a.title);
  const options = {
    body: n.body || '',
    icon: ICON,
    badge: BADGE,
    lang: n.lang || 'en',
    data: Object.assign({}, n.data, {
      navigate: n.navigate || '/#/',
      // Where each button leads when the page has to finish the job (see notificationAction).
      action_navigate: Object.fromEntries(actions.map((a) => [a.action, a.navigate || n.navigate || '/#/'])),
    }),
  };
  if (n.tag) {
    options.tag = n.tag;
    options.renotify = true; // a newer reminder replaces the old one, and still rings
  }
  if (n.timestamp) options.timestamp = n.timestamp;
  if (actions.length) options.actions = actions.map((a) => ({ action: a.action, title: a.title }));
  return self.registration.showNotification(n.title, options).then(() => tellPages('today-changed'));
}

function tellPages(message) {
  return self.clients.matchAll({ type: 'window' }).then((pages) => pages.forEach((page) => page.postMessage(message)));
}

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(handleNotificationClick(event.notification, event.action));
});

// Also run directly by tests/browser/test_push.py (a synthetic event cannot waitUntil). Resolves to
// what it did: {acted: status} for a button the API took, {opened: url} otherwise.
async function handleNotificationClick(notification, action) {
  notification.close();
  const data = notification.data || {};
  if (action === 'done' || action === 'snooze') {
    const status = await notificationAction(data, action);
    if (status >= 200 && status < 300) {
      await tellPages('today-changed');
      return { acted: status };
    }
    // Signed out (401), a stale CSRF token (403), offline, or a refusal such as "nothing planned
    // today" (409): the page does the same with the person watching, and shows the outcome.
    return { acted: status, opened: await openApp((data.action_navigate || {})[action] || data.navigate) };
  }
  // A plain tap. Where buttons were shown, the tap means "open the app" (today's routine);
  // without buttons (Safari) `navigate` is the page offering the same two choices.
  const buttons = notification.actions && notification.actions.length && self.Notification && Notification.maxActions > 0;
  return { opened: await openApp(buttons && data.url ? data.url : data.navigate) };
}

// The CSRF token is not in a cookie the worker could read: it is in the /api/me answer the page
// keeps in IndexedDB (session.js). Resolves to the HTTP status, or 0 when there was no answer.
async function notificationAction(data, action) {
  const me = await self.LimberStore.get('me').catch(() => null);
  if (!me || !me.csrf_token || !data.notification_id) return 401;
  const url = '/api/notifications/' + encodeURIComponent(data.notification_id) + '/actions';
  try {
    const response = await fetch(url, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': me.csrf_token },
      body: JSON.stringify({ action }),
    });
    return response.status;
  } catch (error) {
    return 0;
  }
}

// Focus an open Limber window and move it to the screen, or open one. Links may name another
// origin (PUBLIC_URL behind a proxy); the app's screens are all in the hash, so only that is used.
async function openApp(link) {
  let hash = '#/';
  try {
    hash = new URL(link || '/', self.location.origin).hash || '#/';
  } catch (error) { /* keep the start screen */ }
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = pages.find((p) => new URL(p.url).origin === self.location.origin);
  if (page) {
    page.postMessage({ type: 'navigate', hash });
    await page.focus().catch(() => {});
  } else {
    await self.clients.openWindow('/' + hash).catch(() => {});
  }
  return hash;
}

// The push service replaced or expired the subscription (Firefox does this): subscribe again
// with the same server key and tell the server, as the page does on every open.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});

async function resubscribe(oldSubscription, newSubscription) {
  const me = await self.LimberStore.get('me').catch(() => null);
  if (!me || !me.csrf_token) return;
  let subscription = newSubscription;
  if (!subscription) {
    let key = oldSubscription && oldSubscription.options && oldSubscription.options.applicationServerKey;
    if (!key) {
      const answer = await fetch('/api/push/vapid-public-key').then((r) => r.json());
      key = answer.public_key;
    }
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const send = (method, body) => fetch('/api/push/subscriptions', {
    method, credentials: 'same-origin', cache: 'no-store',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': me.csrf_token },
    body: JSON.stringify(body),
  });
  await send('POST', subscription.toJSON());
  if (oldSubscription && oldSubscription.endpoint !== subscription.endpoint) {
    await send('DELETE', { endpoint: oldSubscription.endpoint });
  }
}
