// Support dashboard: asks for the API key once per tab, then shows the
// recent tests, one customer's history or one test, chosen by the URL's
// #fragment (so Back works and links can be shared without the key):
//   #/?grade=D,F&test_type=...&since=...&until=...&limit=...
//   #/customer/<ip or prefix>?<the same filters>
//   #/test/<test_id>
// document.body.dataset.state (key, loading, ready, error) and .view tell
// automated tests what is on screen.

import { ApiError, discoverApi, forgetKey, getJson, getKey, setKey } from './api.js';
import { clear, h } from './util.js';
import { FILTER_KEYS, renderCustomer, renderQueue, renderRecent, renderTest } from './views.js';

const $ = (id) => document.getElementById(id);
const view = $('view');
let seq = 0;
let maxLimit = 1000;

function setState(state, name) {
  document.body.dataset.state = state;
  if (name !== undefined) document.body.dataset.view = name;
}

function banner(title, text, kind = 'error') {
  $('banner-title').textContent = title;
  $('banner-text').textContent = text;
  $('banner').className = `banner ${kind}`;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = {};
  const search = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  for (const k of FILTER_KEYS) if (search.get(k)) params[k] = search.get(k);
  return { path, params };
}

function hashFor(path, params) {
  const search = new URLSearchParams();
  for (const k of FILTER_KEYS) if (params && params[k]) search.set(k, params[k]);
  const qs = search.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

function showKeyForm(message) {
  seq++;
  $('app').hidden = true;
  $('forget-key').hidden = true;
  $('key-section').hidden = false;
  clear(view);
  clear($('queue'));
  if (message) banner(message.title, message.text);
  setState('key', 'key');
  $('key-input').value = '';
  $('key-input').focus();
}

// Any failure of a request: a refused key sends the person back to the
// key form; everything else shows the API's own words.
function fail(err) {
  if (err instanceof ApiError && err.status === 401) {
    forgetKey();
    showKeyForm({ title: 'The API key was not accepted.', text: `${err.message}` });
    return;
  }
  const status = err instanceof ApiError ? err.status : 0;
  const title = status === 0 ? 'The server could not be reached.'
    : status >= 500 ? `Server error (${status}).`
      : status === 404 ? 'Not found (404).'
        : `The request was refused (${status}).`;
  banner(title, err.message || String(err));
  setState('error');
}

async function refreshStats() {
  try {
    const stats = await getJson('/stats');
    maxLimit = Math.max(1, Number(stats.max_stored_tests) || 1000);
    renderQueue($('queue'), stats);
    return stats;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    clear($('queue')).append(h('p', { class: 'field-error' }, `Server state unavailable: ${err.message}`));
    return null;
  }
}

const ctx = {
  get maxLimit() { return maxLimit; },
  navigate(path, params) { ctx.go(hashFor(path, params)); },
  go(hash) {
    if (window.location.hash === hash) route();
    else window.location.hash = hash;
  },
  fail,
};

async function route() {
  if (!getKey()) {
    showKeyForm();
    return;
  }
  const mine = ++seq;
  const { path, params } = parseHash();
  $('key-section').hidden = true;
  $('app').hidden = false;
  $('forget-key').hidden = false;
  setState('loading');
  view.setAttribute('aria-busy', 'true');
  try {
    await refreshStats();
    if (mine !== seq) return;
    // Render into a detached copy so a slower, older answer never
    // replaces a newer one.
    const target = h('section', { id: 'view', class: 'panel', 'aria-live': 'polite' });
    let name;
    if (path.startsWith('customer/') && path.length > 9) {
      name = 'customer';
      await renderCustomer(target, path.slice(9), params, ctx);
    } else if (path.startsWith('test/') && path.length > 5) {
      name = 'test';
      await renderTest(target, decodeURIComponent(path.slice(5)), ctx);
    } else {
      name = 'recent';
      await renderRecent(target, params, ctx);
    }
    if (mine !== seq) return;
    clear(view).append(...target.childNodes);
    hideBanner();
    setState('ready', name);
    document.title = `${name === 'recent' ? 'Recent tests' : name === 'customer' ? `Customer ${path.slice(9)}` : 'Test'} · Support dashboard`;
  } catch (err) {
    if (mine !== seq) return;
    clear(view).append(h('p', {}, h('a', { href: '#/' }, '← Recent tests')));
    fail(err);
  } finally {
    view.removeAttribute('aria-busy');
  }
}

$('key-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('key-input').value.trim();
  if (!key) return;
  setKey(key);
  $('key-input').value = '';
  hideBanner();
  await route();
});

$('forget-key').addEventListener('click', () => {
  forgetKey();
  hideBanner();
  showKeyForm();
});

$('find-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = $('find-input').value.trim().replace(/^\[(.*)\]$/, '$1');
  const err = $('find-error');
  if (!/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/.test(value)) {
    err.textContent = 'Enter an IPv4 or IPv6 address, optionally with a prefix length (203.0.113.0/24).';
    err.hidden = false;
    return;
  }
  err.hidden = true;
  ctx.go(hashFor(`customer/${value}`, {}));
});

window.addEventListener('hashchange', () => { route(); });

(async () => {
  const { sponsor } = await discoverApi();
  if (sponsor && sponsor.sponsor_name) {
    $('server-line').textContent = `Bufferbloat test results · ${sponsor.sponsor_name}`;
  }
  await route();
})();
