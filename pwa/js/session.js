// Who is signed in on this device, and the storage rules that go with it (DESIGN.md 7, ASVS 14.3):
// browser storage holds only what the app needs offline, and sign-out deletes all of it.
import { api, get, post, setCsrf, NetworkError } from './api.js';
import { store, setOutboxCsrf } from './outbox.js';
import { forget as forgetPush } from './push.js';

export const state = { me: null, offline: false };

function identity(me) {
  return me ? `${me.role}:${me.client?.id ?? me.therapist?.id}` : '';
}

async function remember(me) {
  state.me = me;
  setCsrf(me.csrf_token);
  setOutboxCsrf(me.csrf_token);
  await store.set('me', me);
}

// At start: ask the server; offline, trust what this device last knew (a client can keep working).
export async function loadMe() {
  try {
    const me = await get('/api/me');
    state.offline = false;
    await remember(me);
  } catch (error) {
    if (!(error instanceof NetworkError)) {
      state.me = null;
      return null;
    }
    state.offline = true;
    state.me = (await store.get('me').catch(() => null)) || null;
    if (state.me) {
      setCsrf(state.me.csrf_token);
      setOutboxCsrf(state.me.csrf_token);
    }
  }
  return state.me;
}

// After register, login or claim. A different person than before starts from empty storage; the
// same client signing in again keeps sessions still waiting to upload.
export async function adopt(me) {
  const previous = await store.get('me').catch(() => null);
  if (identity(previous) !== identity(me)) await wipeStorage();
  await remember(me);
}

async function wipeStorage() {
  await store.clearAll();
  localStorage.clear();
  sessionStorage.clear();
}

export async function signOut() {
  // Before the session ends (the server needs it): the next person must not get these reminders.
  if (state.me?.role === 'client') await forgetPush();
  try {
    await post('/api/auth/logout');
  } catch {
    /* offline or already signed out: still clear this device */
  }
  await forgetThisDevice();
}

// After signing out or deleting the account: nothing of the person stays on this device.
export async function forgetThisDevice() {
  state.me = null;
  await wipeStorage();
  if ('caches' in self) {
    for (const name of await caches.keys()) await caches.delete(name);
  }
  const registrations = (await navigator.serviceWorker?.getRegistrations()) || [];
  await Promise.all(registrations.map((r) => r.unregister()));
  location.replace('/');
}

// Deleting the account for good (a therapist sends their password). The server ends the session
// and drops the push subscriptions; unregistering the service worker drops them in the browser.
export async function deleteAccount(body) {
  await api('DELETE', '/api/me', body);
  await forgetThisDevice();
}
