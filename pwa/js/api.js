// The one way the app talks to the server: JSON in and out, the CSRF header on every change, and
// problem+json errors turned into ApiError with the server's own words for the person.

export class ApiError extends Error {
  constructor(status, detail, errors) {
    super(detail);
    this.status = status;
    this.errors = errors || {};
  }
}

// Thrown when the request never reached the server (offline, DNS, server down).
export class NetworkError extends Error {
  constructor() {
    super('You seem to be offline. Try again when you have a connection.');
  }
}

let csrfToken = '';
export function setCsrf(token) {
  csrfToken = token || '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new NetworkError();
  }
  if (response.status === 204 || method === 'HEAD') {
    if (response.ok) return null;
  }
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const detail = data?.detail || `The server answered ${response.status}.`;
    const error = new ApiError(response.status, detail, data?.errors);
    if (response.status === 401) window.dispatchEvent(new CustomEvent('limber:signed-out'));
    throw error;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);
