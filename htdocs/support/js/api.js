// The support API, called with the key as "Authorization: Bearer". The
// key lives in sessionStorage only (this tab, until it closes): never in
// a URL, a cookie or localStorage. CSV exports are fetched with the same
// header and handed to the browser as a Blob, so no URL carries the key.

const KEY_ITEM = 'lqos-support-key';
let apiBase = null;
let discovered = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getKey() {
  try {
    return sessionStorage.getItem(KEY_ITEM);
  } catch {
    return null;
  }
}

export function setKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  try {
    sessionStorage.removeItem(KEY_ITEM);
  } catch { /* storage disabled: nothing kept anyway */ }
}

// Where the API is: /api on a normal install, api/ beside the test page
// on shared hosting (one folder up from this one), or <html data-api>.
// The public /sponsor endpoint tells which one answers.
export async function discoverApi() {
  if (discovered) return discovered;
  const candidates = [];
  const configured = document.documentElement.dataset.api;
  if (configured) candidates.push(configured.replace(/\/$/, ''));
  candidates.push('/api');
  candidates.push(new URL('../api', window.location.href).pathname.replace(/\/$/, ''));
  for (const base of [...new Set(candidates)]) {
    try {
      const res = await fetch(`${base}/sponsor`, { cache: 'no-store', credentials: 'omit' });
      const body = res.ok ? await res.json() : null;
      if (body && typeof body === 'object' && 'sponsor_name' in body) {
        apiBase = base;
        discovered = { base, sponsor: body };
        return discovered;
      }
    } catch { /* try the next one */ }
  }
  // Nothing answered (yet): use /api, and look again next time.
  apiBase = '/api';
  return { base: apiBase, sponsor: null };
}

// Path of an endpoint below /api/telemetry. `segments` go into the path
// as they are, except characters that are not safe there; a prefix's
// slash stays a slash (Apache refuses an encoded one).
export function endpoint(path, params) {
  const safe = path.replace(/[^A-Za-z0-9_.:/\-]/g, (c) => encodeURIComponent(c));
  const url = new URL(`${apiBase ?? '/api'}/telemetry${safe}`, window.location.href);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

async function request(url, accept) {
  const key = getKey();
  let res;
  try {
    res = await fetch(url, {
      headers: { Authorization: `Bearer ${key ?? ''}`, Accept: accept },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch (err) {
    throw new ApiError(0, `The server did not answer (${err.message}). Check the connection and retry.`);
  }
  if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith(accept)) {
    let message = `HTTP ${res.status} ${res.statusText}`.trim();
    try {
      const body = await res.json();
      if (body && typeof body.error === 'string') message = body.error;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiError(res.status, message);
  }
  return res;
}

// GET a JSON endpoint; resolves to the body, rejects with ApiError
// carrying the API's own error text.
export async function getJson(path, params) {
  const res = await request(endpoint(path, params), 'application/json');
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status, 'The server sent an answer that is not JSON.');
  }
  if (!body || body.success === false) {
    throw new ApiError(res.status, (body && body.error) || 'The server reported a failure.');
  }
  return body;
}

// Fetch path?params&format=csv with the key in the header and save it.
// Resolves to { filename, bytes }.
export async function downloadCsv(path, params, fallbackName) {
  const res = await request(endpoint(path, { ...params, format: 'csv' }), 'text/csv');
  const blob = await res.blob();
  const disposition = res.headers.get('Content-Disposition') || '';
  const m = /filename="([^"]+)"/.exec(disposition);
  const filename = fallbackName || (m ? m[1] : 'tests.csv');
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
  return { filename, bytes: blob.size };
}
