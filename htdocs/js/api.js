// The server side: where the API is, branding, and submitting a result.
// The API is at /api on a normal install (apache/lqos-telemetry.conf) and
// at api/ beside the page on shared hosting (apache/htaccess); an
// operator can also name it with <html data-api="...">.

let apiBase = null;

async function tryBase(base) {
  try {
    const res = await fetch(`${base}/sponsor`, { cache: 'no-store' });
    if (!res.ok) return null;
    const body = await res.json();
    return body && typeof body === 'object' && 'sponsor_name' in body ? body : null;
  } catch {
    return null;
  }
}

// Find the API and fetch the sponsor's branding. Returns
// { base, sponsor } where sponsor may be null when no API answered.
export async function discoverApi() {
  const candidates = [];
  const configured = document.documentElement.dataset.api;
  if (configured) candidates.push(configured.replace(/\/$/, ''));
  candidates.push('/api');
  candidates.push(new URL('api', window.location.href).pathname.replace(/\/$/, ''));
  for (const base of [...new Set(candidates)]) {
    const sponsor = await tryBase(base);
    if (sponsor) {
      apiBase = base;
      return { base, sponsor };
    }
  }
  apiBase = '/api';
  return { base: apiBase, sponsor: null };
}

export function api(path) {
  return new URL(`${apiBase ?? '/api'}${path}`, window.location.href).href;
}

// A random Idempotency-Key: the server stores a result once whatever
// the number of tries, and answers a repeat with its first answer.
function newIdempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Tries of one submission: the waits between them (seconds) when the
// server names no Retry-After; about a minute in all.
export const SUBMIT_BACKOFF_SECONDS = [2, 4, 8, 16, 30];
// A Retry-After longer than this ends the tries (the result is shown
// unsaved rather than keeping the customer waiting).
const MAX_RETRY_AFTER_SECONDS = 60;

function retryAfterSeconds(res) {
  const v = res.headers.get('Retry-After');
  if (v === null) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

const sleep = (s) => new Promise((resolve) => { setTimeout(resolve, s * 1000); });

async function postOnce(payload, key) {
  const res = await fetch(api('/telemetry'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(payload),
    cache: 'no-store',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body, retryAfter: retryAfterSeconds(res) };
}

// POST the result; the server grades it. Resolves to { status, body,
// attempts } (body may be null when the answer was not JSON). A network
// failure or a 5xx is tried again with the same Idempotency-Key after the
// server's Retry-After or the next backoff step; 4xx answers (429 is the
// per-address limit) are final. `onRetry({ attempt, of, waitSeconds,
// reason })` is called before each wait. Rejects only when the last try
// failed on the network.
export async function submitResult(payload, onRetry = () => {}) {
  const key = newIdempotencyKey();
  const of = SUBMIT_BACKOFF_SECONDS.length + 1;
  for (let attempt = 1; ; attempt++) {
    let answer = null;
    let failure = null;
    try {
      answer = await postOnce(payload, key);
    } catch (err) {
      failure = err;
    }
    if (answer && answer.status < 500) return { ...answer, attempts: attempt };
    const backoff = SUBMIT_BACKOFF_SECONDS[attempt - 1];
    const wait = answer?.retryAfter ?? backoff;
    if (backoff === undefined || wait > MAX_RETRY_AFTER_SECONDS) {
      if (answer) return { ...answer, attempts: attempt };
      throw failure;
    }
    onRetry({
      attempt: attempt + 1,
      of,
      waitSeconds: wait,
      reason: answer ? `the server answered ${answer.status}` : 'the connection failed',
    });
    await sleep(wait);
  }
}
