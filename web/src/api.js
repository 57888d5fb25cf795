// api.js - same-origin JSON reads of the dashboard API (docs/dashboard.md).
// The auth cookie (set by visiting /?token=...) or HTTP basic credentials go
// along by themselves; a 401 is reported once to the handler set by
// onUnauthorized (the page shows how to sign in).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let unauthorized = () => {};
export function onUnauthorized(fn) { unauthorized = fn; }

// getJSON(path, signal): the parsed body of a 2xx answer; an ApiError with
// the server's {"error"} sentence otherwise. Aborts surface as AbortError.
export async function getJSON(path, signal) {
  let res;
  try {
    res = await fetch(path, { signal, credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The dashboard server cannot be reached (' + e.message + ').');
  }
  if (res.status === 401) {
    unauthorized();
    throw new ApiError(401, 'Not signed in.');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : 'HTTP ' + res.status;
    throw new ApiError(res.status, msg);
  }
  return body;
}

// qs(params): a query string of the non-empty params
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}
