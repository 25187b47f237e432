/* IndexedDB storage shared by the page and the service worker.
 *
 * This file has no import or export, so it runs both as an ES module (the page imports it through
 * outbox.js) and as a classic script (sw.js loads it with importScripts for Background Sync).
 * It defines self.LimberStore.
 *
 * Store "outbox": finished sessions not yet on the server, keyed by the session's UUID. An entry
 * leaves only when the server answers 2xx (201 stored, 200 already stored). Any other answer
 * keeps it: network errors, 5xx and 429 are retried later; 401/403 wait for the person to sign
 * in again; any other 4xx (409, 422) is marked "rejected" and shown, and only the person can
 * discard it. Retrying is always safe because the server treats the UUID as an idempotency key.
 *
 * Store "kv": small things the app needs offline (who is signed in, today's routines). Everything
 * here is deleted at sign-out and at sign-in (see clearAll).
 */
(function (scope) {
  'use strict';
  var DB_NAME = 'limber';
  var dbPromise = null;
  var flushing = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore('outbox', { keyPath: 'id' });
          request.result.createObjectStore('kv');
        };
        request.onsuccess = function () {
          var db = request.result;
          // Let another tab (or sign-out) delete the database instead of being blocked by us.
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  function run(storeName, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName, mode);
        var request = work(tx.objectStore(storeName));
        tx.oncomplete = function () { resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  var store = {
    get: function (key) { return run('kv', 'readonly', function (s) { return s.get(key); }); },
    set: function (key, value) { return run('kv', 'readwrite', function (s) { return s.put(value, key); }); },
    entries: function () {
      return run('outbox', 'readonly', function (s) { return s.getAll(); }).then(function (list) {
        return list.sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
      });
    },
    put: function (entry) { return run('outbox', 'readwrite', function (s) { return s.put(entry); }); },
    remove: function (id) { return run('outbox', 'readwrite', function (s) { return s.delete(id); }); },

    // Queue a finished session. `body` is exactly what POST /api/sessions takes.
    enqueue: function (body, title) {
      return store.put({
        id: body.id, body: body, title: title || '', created_at: new Date().toISOString(),
        state: 'waiting', attempts: 0, status: null, error: ''
      });
    },

    // Upload what is waiting. Resolves to {sent, left, offline}. One flush at a time per context.
    flush: function (csrfToken, options) {
      if (flushing) return flushing;
      var includeRejected = options && options.includeRejected;
      flushing = store.entries().then(function (entries) {
        var result = { sent: 0, left: 0, offline: false };
        var index = 0;
        function next() {
          if (index >= entries.length) return result;
          var entry = entries[index++];
          if (entry.state === 'rejected' && !includeRejected) { result.left++; return next(); }
          entry.attempts++;
          return fetch('/api/sessions', {
            method: 'POST', credentials: 'same-origin', cache: 'no-store',
            headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken || '' },
            body: JSON.stringify(entry.body)
          }).then(function (response) {
            if (response.ok) {
              result.sent++;
              return store.remove(entry.id).then(next);
            }
            return response.json().catch(function () { return {}; }).then(function (problem) {
              result.left++;
              entry.status = response.status;
              entry.error = (problem && problem.detail) || ('The server answered ' + response.status + '.');
              var retryLater = response.status >= 500 || response.status === 429 || response.status === 408;
              var signIn = response.status === 401 || response.status === 403;
              entry.state = retryLater || signIn ? 'waiting' : 'rejected';
              if (signIn) entry.error = 'Sign in again to upload this session. ' + entry.error;
              return store.put(entry).then(next);
            });
          }, function () {
            // No answer at all: offline. Keep everything and stop; the next trigger tries again.
            result.offline = true;
            result.left += entries.length - index + 1;
            return result;
          });
        }
        return next();
      });
      flushing.then(function () { flushing = null; }, function () { flushing = null; });
      return flushing;
    },

    // Sign-out and sign-in: nothing one person stored may be seen by the next.
    clearAll: function () {
      var closing = dbPromise ? dbPromise.then(function (db) { db.close(); }, function () {}) : Promise.resolve();
      dbPromise = null;
      return closing.then(function () {
        return new Promise(function (resolve) {
          var request = indexedDB.deleteDatabase(DB_NAME);
          request.onsuccess = request.onerror = request.onblocked = function () { resolve(); };
        });
      });
    }
  };

  scope.LimberStore = store;
})(self);
