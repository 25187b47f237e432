/* Limber service worker: the app shell offline, illustrations offline, Background Sync uploads.
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
