// This device's Web Push subscription: can it have one, turning it on (only after a tap) and off,
// and telling the server again on every app open. The service worker shows what arrives (sw.js).
import { get, post, api } from './api.js';

export const SUBSCRIPTIONS = '/api/push/subscriptions';

// iPadOS Safari says it is a Mac; a touch screen gives it away.
export function isIOS() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent) || (/Macintosh/.test(navigator.userAgent) && navigator.maxTouchPoints > 1);
}

export function isStandalone() {
  return navigator.standalone === true || matchMedia('(display-mode: standalone)').matches;
}

// What this browser allows: 'install' (iPhone/iPad Safari: push only from the Home Screen app),
// 'unsupported', 'denied', or 'ok' (it may ask, or already has permission).
export function pushSupport() {
  if (isIOS() && !isStandalone()) return 'install';
  if (!('serviceWorker' in navigator) || !('PushManager' in self) || !('Notification' in self) || !self.isSecureContext) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return 'ok';
}

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function sameKey(subscription, bytes) {
  const key = subscription.options?.applicationServerKey;
  if (!key) return true; // the browser does not say: trust it
  const have = new Uint8Array(key);
  return have.length === bytes.length && have.every((b, i) => b === bytes[i]);
}

// Not `ready`, which never settles where the service worker failed to install (sign-out must not hang).
async function registration() {
  return navigator.serviceWorker.getRegistration();
}

export async function currentSubscription() {
  if (pushSupport() !== 'ok') return null;
  const reg = await registration();
  return reg ? reg.pushManager.getSubscription() : null;
}

// A subscription made with another server key (the operator rotated it) cannot be used: replace it.
async function subscribeWith(reg, existing) {
  const { public_key: serverKey } = await get('/api/push/vapid-public-key');
  const bytes = keyBytes(serverKey);
  let subscription = existing;
  if (subscription && !sameKey(subscription, bytes)) {
    await subscription.unsubscribe().catch(() => {});
    subscription = null;
  }
  subscription ||= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes });
  await post(SUBSCRIPTIONS, subscription.toJSON());
  return subscription;
}

// Called from the tap on "Turn on notifications", so the permission prompt follows a gesture.
// Resolves to the permission ('granted', 'denied' or 'default': dismissed).
export async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission;
  const reg = await navigator.serviceWorker.ready;
  await subscribeWith(reg, await reg.pushManager.getSubscription());
  return permission;
}

export async function turnOff() {
  const subscription = await currentSubscription();
  if (!subscription) return;
  // The server first: offline, nothing changes and the person can try again.
  await api('DELETE', SUBSCRIPTIONS, { endpoint: subscription.endpoint });
  await subscription.unsubscribe().catch(() => {});
}

// Every app open: the server refreshes the row (last seen, this app's address) and the browser may
// have rotated the endpoint meanwhile. Only when this device already has a subscription: turning
// notifications on is the person's choice, never the app's.
export async function resync() {
  try {
    if (pushSupport() !== 'ok' || Notification.permission !== 'granted') return;
    const reg = await registration();
    const existing = await reg?.pushManager.getSubscription();
    if (existing) await subscribeWith(reg, existing);
  } catch {
    /* offline or signed out: the next open tries again */
  }
}

// Signing out: this phone must not go on receiving the previous person's reminders.
export async function forget() {
  try {
    await turnOff();
  } catch {
    /* offline: unregistering the service worker drops the subscription; the server forgets it at
       the next send (the push service answers 404 or 410) */
  }
}
