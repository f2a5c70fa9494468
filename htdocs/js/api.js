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

// POST the result; the server grades it. Resolves to { status, body }
// (body may be null when the answer was not JSON); rejects only on a
// network failure.
export async function submitResult(payload) {
  const res = await fetch(api('/telemetry'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
    cache: 'no-store',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}
