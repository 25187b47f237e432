// The page's view of the outbox: queue a finished session, upload it when possible, and tell the
// screens when the queue changes (so "waiting to upload" is always current).
import './outbox-core.js';

export const store = self.LimberStore;
const SYNC_TAG = 'limber-outbox';
let csrf = '';

export function setOutboxCsrf(token) {
  csrf = token;
}

function changed() {
  window.dispatchEvent(new CustomEvent('limber:outbox'));
}

export async function queueSession(body, title) {
  await store.enqueue(body, title);
  changed();
  // Background Sync (Chromium) uploads even if the app is closed before the network returns.
  try {
    const registration = await navigator.serviceWorker?.ready;
    await registration?.sync?.register(SYNC_TAG);
  } catch {
    /* not available: the online event and the next open upload it instead */
  }
  return flush();
}

export async function flush(options) {
  if (!csrf) return { sent: 0, left: (await store.entries()).length, offline: false };
  const result = await store.flush(csrf, options);
  changed();
  return result;
}

export async function discard(id) {
  await store.remove(id);
  changed();
}

export function pending() {
  return store.entries();
}

// Upload on open (called by app.js), whenever the browser says it is online again, and when the
// service worker finished a Background Sync.
window.addEventListener('online', () => flush());
navigator.serviceWorker?.addEventListener('message', (event) => {
  if (event.data === 'outbox-changed') changed();
});
