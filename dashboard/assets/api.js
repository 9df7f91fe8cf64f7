// The one way the dashboard talks to the server: same-origin fetch with the session cookie.
// Every failure becomes an ApiError with the server's {message, code}, never a silent null.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

let onUnauthorized = () => {};

/** Called when an admin call answers 401: the session ended or was revoked. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function api(path, { method = 'GET', query, body, quiet401 = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', `Cannot reach the server (${e.message})`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const code = (data && data.code) || `HTTP_${res.status}`;
    const message = (data && data.message) || (typeof data === 'string' && data.slice(0, 200)) || res.statusText || 'Request failed';
    const err = new ApiError(res.status, code, message, data);
    if (res.status === 401 && !quiet401 && path.startsWith('/api/admin/')) onUnauthorized(err);
    throw err;
  }
  return data;
}

/** "Message (CODE, 404)" for banners. */
export function describe(err) {
  if (err instanceof ApiError) {
    return err.status ? `${err.message} (${err.code}, HTTP ${err.status})` : `${err.message} (${err.code})`;
  }
  return String(err?.message ?? err);
}
