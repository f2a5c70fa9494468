// The dashboard's views: recent tests, one customer (address or prefix)
// with a chart, one test with every stored metric, and the server's
// webhook queue. Each view fetches through api.js and renders text only.

import { downloadCsv, getJson } from './api.js';
import { SERIES_COLORS, historyChart } from './chart.js';
import { customerHref, testHref, testsTable } from './table.js';
import {
  PHASES, USERS, ago, clear, gradeBadge, h, isoToLocalInput, localInputToIso, localSeconds, num,
  testTypeName, unixToLocal, zoneLabel,
} from './util.js';

export const FILTER_KEYS = ['grade', 'test_type', 'since', 'until', 'limit'];

// ------------------------------------------------------------ filters

// The filter form, filled from `params` (API values). `onApply(params)`
// gets the new API parameters.
function filtersForm(params, maxLimit, onApply) {
  const form = document.getElementById('filters-template').content.firstElementChild.cloneNode(true);
  form.id = 'filters';
  const grades = new Set((params.grade || '').split(',').filter(Boolean));
  for (const box of form.querySelectorAll('input[name="grade"]')) box.checked = grades.has(box.value);
  form.elements.test_type.value = params.test_type || '';
  form.elements.since.value = isoToLocalInput(params.since);
  form.elements.until.value = isoToLocalInput(params.until);
  const limitSelect = form.elements.limit;
  for (const opt of [...limitSelect.options]) if (Number(opt.value) > maxLimit) opt.remove();
  if (![...limitSelect.options].some((o) => Number(o.value) === maxLimit)) {
    limitSelect.append(h('option', { value: maxLimit }, `${maxLimit} (all kept)`));
  }
  const wanted = String(params.limit || limitSelect.dataset.default || '');
  if ([...limitSelect.options].some((o) => o.value === wanted)) limitSelect.value = wanted;
  form.querySelector('.tz').textContent = `Times are in this browser's time zone (${zoneLabel()}); "To" includes its whole minute.`;
  const read = () => {
    const fd = new FormData(form);
    return {
      grade: fd.getAll('grade').join(','),
      test_type: fd.get('test_type') || '',
      since: localInputToIso(fd.get('since')),
      until: localInputToIso(fd.get('until'), true),
      limit: fd.get('limit') || '',
    };
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = read();
    if (p.since && p.until && p.since > p.until) {
      form.elements.until.setCustomValidity('"To" must not be before "From".');
      form.reportValidity();
      return;
    }
    onApply(p);
  });
  form.elements.until.addEventListener('input', () => form.elements.until.setCustomValidity(''));
  form.elements.since.addEventListener('input', () => form.elements.until.setCustomValidity(''));
  form.querySelector('.clear').addEventListener('click', () => onApply({ limit: read().limit }));
  for (const b of form.querySelectorAll('[data-preset]')) {
    b.addEventListener('click', () => {
      const days = Number(b.dataset.preset);
      form.elements.since.value = days ? isoToLocalInput(new Date(Date.now() - days * 86400e3).toISOString()) : '';
      form.elements.until.value = '';
      form.requestSubmit();
    });
  }
  return form;
}

function activeFilterText(params) {
  const parts = [];
  if (params.grade) parts.push(`grade ${params.grade.split(',').join(', ')}`);
  if (params.test_type) parts.push(testTypeName(params.test_type).toLowerCase());
  if (params.since) parts.push(`from ${localSeconds(params.since)}`);
  if (params.until) parts.push(`to ${localSeconds(params.until)}`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}

function apiParams(params) {
  const out = {};
  for (const k of FILTER_KEYS) if (params[k]) out[k] = params[k];
  return out;
}

function csvButton(path, params, ctx, name) {
  const status = h('span', { class: 'small csv-status', role: 'status' });
  const button = h('button', {
    type: 'button', class: 'secondary', id: 'csv-download',
    onclick: async () => {
      button.disabled = true;
      status.textContent = 'Preparing…';
      try {
        const { filename, bytes } = await downloadCsv(path, apiParams(params), name);
        status.textContent = `Saved ${filename} (${bytes.toLocaleString()} bytes)`;
      } catch (err) {
        status.textContent = '';
        ctx.fail(err);
      } finally {
        button.disabled = false;
      }
    },
  }, 'Download CSV');
  return h('div', { class: 'csv' }, button, status);
}

// ------------------------------------------------------------ views

export async function renderRecent(view, params, ctx) {
  const limit = params.limit || 50;
  const body = await getJson('/recent', { ...apiParams(params), limit });
  clear(view);
  view.append(
    h('h2', {}, 'Recent tests'),
    filtersForm({ ...params, limit }, ctx.maxLimit, (p) => ctx.navigate('', p)),
    h('div', { class: 'summary-row' },
      h('p', { id: 'summary' }, body.matching === 0
        ? `No tests match${activeFilterText(params)}.`
        : `Showing ${body.total} of ${body.matching} matching tests${activeFilterText(params)}, newest first.`),
      csvButton('/recent', { ...params, limit }, ctx)),
    testsTable(body.tests, { emptyText: params.grade || params.test_type || params.since || params.until
      ? 'No tests match these filters. Clear them to see every test.'
      : 'No tests have been stored yet. Results appear here as customers run the test.' }),
  );
  return body;
}

export async function renderCustomer(view, who, params, ctx) {
  const limit = params.limit || 100;
  const body = await getJson(`/customer/${who}`, { ...apiParams(params), limit });
  const isPrefix = body.client_ip.includes('/');
  clear(view);
  const chartBox = h('div', { class: 'chart', id: 'customer-chart' });
  view.append(
    h('p', {}, h('a', { href: '#/' }, '← Recent tests')),
    h('h2', { id: 'customer-title' }, isPrefix ? `Customers in ${body.client_ip}` : `Customer ${body.client_ip}`),
    h('p', { id: 'summary' }, body.total_tests === 0
      ? `No tests from ${isPrefix ? 'this prefix' : 'this address'}${activeFilterText(params)}.`
      : `${body.total_tests} test${body.total_tests === 1 ? '' : 's'}${activeFilterText(params)}; `
        + `${body.tests.length < body.total_tests ? `the newest ${body.tests.length} are shown` : 'all shown'}.`
        + (isPrefix ? ` ${new Set(body.tests.map((t) => t.client_ip)).size} address(es).` : '')),
  );
  if (body.tests.length) {
    const item = (series, label) => h('span', { class: 'item' },
      h('span', { class: 'swatch', dataset: { series } }), label);
    view.append(h('h3', {}, 'History'), chartBox,
      h('p', { class: 'legend small' }, item('download', 'Download'), item('upload', 'Upload'),
        item('bidirectional', 'Both ways (latency)')),
      h('p', { class: 'small chart-help' }, 'Grade dots are coloured by grade. Point at a test for its numbers; click to open it.'));
    for (const s of view.querySelectorAll('.swatch')) s.style.background = SERIES_COLORS[s.dataset.series];
    historyChart(chartBox, body.tests, { onOpen: (t) => ctx.go(testHref(t.test_id)) });
  }
  view.append(
    h('h3', {}, 'Tests'),
    filtersForm({ ...params, limit }, ctx.maxLimit, (p) => ctx.navigate(`customer/${body.client_ip}`, p)),
    csvButton(`/customer/${body.client_ip}`, { ...params, limit }, ctx,
      `customer-${body.client_ip.replace(/[:/]/g, '_')}.csv`),
    testsTable(body.tests, { showCustomer: isPrefix, emptyText: params.grade || params.test_type || params.since || params.until
      ? 'No tests from this customer match these filters.'
      : `No stored tests from ${body.client_ip}. Only the newest ${ctx.maxLimit} tests are kept; ask the customer to run the test.` }),
  );
  return body;
}

function metricRows(obj, prefix = '') {
  // Every leaf of the stored summary as [dotted name, value].
  const rows = [];
  for (const [k, v] of Object.entries(obj || {})) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) rows.push(...metricRows(v, name));
    else rows.push([name, Array.isArray(v) ? JSON.stringify(v) : v]);
  }
  return rows;
}

function valueText(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return String(Math.round(v * 1000) / 1000);
  return String(v);
}

const USER_METRICS = {
  alex: [['latency_increase_ms', 'Latency increase', 'ms'], ['jitter_ms', 'Jitter', 'ms'], ['loss_pct', 'Loss', '%']],
  sarah: [['latency_increase_ms', 'Latency increase', 'ms'], ['jitter_ms', 'Jitter', 'ms'], ['delivered_pct', 'Delivered', '%']],
  jake: [['fetch_ratio_p90', 'Segment fetch time / play time (p90)', ''], ['stalls', 'Stalls', '']],
  computer: [['spare_capacity_share_pct', 'Share of spare capacity', '%'], ['throughput_mbps', 'Throughput', 'Mbps']],
};

export async function renderTest(view, id, ctx) {
  const { test: t } = await getJson(`/test/${id}`);
  const d = t.details || {};
  clear(view);
  view.append(
    h('p', {}, h('a', { href: customerHref(t.client_ip) }, `← Customer ${t.client_ip}`), ' · ', h('a', { href: '#/' }, 'Recent tests')),
    h('h2', {}, 'Test ', h('code', { id: 'test-id' }, t.test_id)),
    h('div', { class: 'overall-box' }, gradeBadge(t.overall_grade, 'grade-big'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Time'), h('dd', {}, `${localSeconds(t.timestamp)} (${t.timestamp})`),
        h('dt', {}, 'Customer IP'), h('dd', {}, h('a', { href: customerHref(t.client_ip) }, t.client_ip)),
        h('dt', {}, 'Test'), h('dd', {}, `${testTypeName(t.test_type)}${t.test_duration_seconds ? `, ${num(t.test_duration_seconds)} s` : ''}`),
        h('dt', {}, 'Speed'), h('dd', {}, `↓ ${num(t.download_mbps)} Mbps · ↑ ${num(t.upload_mbps)} Mbps`),
        h('dt', {}, 'Idle latency'), h('dd', {}, `${num(t.baseline_latency_ms)} ms`),
        t.test_type === 'single_user'
          ? [h('dt', {}, 'Score'), h('dd', {}, `${t.single_user_score ?? '–'} / 100`)]
          : [h('dt', {}, 'Household score'), h('dd', {}, `${t.household_score ?? '–'} / 100`)],
        h('dt', {}, 'Protocol'), h('dd', { id: 'protocol' }, d.protocol
          ? `probes ${d.protocol.probe}, load ${d.protocol.load}` : 'not recorded'),
        h('dt', {}, 'Browser'), h('dd', { class: 'ua' }, t.user_agent ?? '–'),
        h('dt', {}, 'Test server'), h('dd', {}, t.test_server_name ?? '–'))),
  );
  if (t.test_type === 'single_user') {
    const rows = PHASES.map((p) => {
      const m = d[p.key] || {};
      return h('tr', { dataset: { phase: p.key } },
        h('th', { scope: 'row' }, p.name),
        h('td', { class: 'numeric', 'data-label': 'Mbps' }, num(m.throughput_mbps ?? t[`${p.key}_mbps`])),
        h('td', { class: 'numeric', 'data-label': 'p50 ms' }, num(m.latency_p50_ms)),
        h('td', { class: 'numeric', 'data-label': 'p90 ms' }, num(m.latency_p90_ms)),
        h('td', { class: 'numeric', 'data-label': 'Increase ms' }, num(m.latency_increase_ms ?? t[`${p.key}_latency_increase_ms`])),
        h('td', { class: 'numeric', 'data-label': 'Jitter ms' }, num(m.jitter_ms)),
        h('td', { class: 'numeric', 'data-label': 'RPM' }, num(m.responsiveness_rpm, 0)),
        h('td', { 'data-label': 'Grade' }, gradeBadge(m.grade ?? t[`${p.key}_grade`])));
    });
    view.append(h('h3', {}, 'Phases'), h('div', { class: 'table-wrap' }, h('table', { class: 'phases', id: 'phases' },
      h('thead', {}, h('tr', {}, ['Phase', 'Throughput Mbps', 'Latency p50 ms', 'Latency p90 ms', 'Increase ms', 'Jitter ms', 'Responsiveness RPM', 'Grade']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))));
  } else {
    view.append(h('h3', {}, 'Household users'), h('div', { class: 'users', id: 'users' }, USERS.map((u) => {
      const m = d[u.key] || {};
      const grade = t[`${u.key}_grade`] ?? m.grade;
      return h('div', { class: 'user', dataset: { user: u.key } }, gradeBadge(grade),
        h('div', {}, h('h4', {}, `${u.name} · ${u.role}`),
          USER_METRICS[u.key].some(([k]) => m[k] !== undefined)
            ? h('dl', {}, USER_METRICS[u.key].filter(([k]) => m[k] !== undefined)
              .map(([k, label, unit]) => [h('dt', {}, label), h('dd', {}, `${valueText(m[k])}${unit ? ` ${unit}` : ''}`)]))
            : h('p', { class: 'small' }, 'Only the grade was submitted (original client format).')));
    })));
  }
  const all = [...Object.entries(t).filter(([k]) => k !== 'details'), ...metricRows(d, 'details')];
  view.append(h('details', { class: 'all-fields', id: 'all-fields', open: true },
    h('summary', {}, `Every stored field (${all.length})`),
    h('dl', { class: 'kv' }, all.map(([k, v]) => [h('dt', {}, k), h('dd', {}, valueText(v))]))));
  return t;
}

export function renderQueue(box, stats) {
  clear(box);
  const facts = h('dl', { class: 'facts compact', id: 'server-facts' },
    h('dt', {}, 'Tests stored'), h('dd', {}, `${stats.total_tests_stored} of at most ${stats.max_stored_tests}`),
    h('dt', {}, 'Customers'), h('dd', {}, String(stats.unique_client_ips)),
    h('dt', {}, 'Newest test'), h('dd', {}, stats.last_test_time ? localSeconds(stats.last_test_time) : 'none yet'));
  const targets = [['webhook', 'Webhook', stats.webhook_enabled ? stats.webhook_url : null],
    ['central', 'Central forwarding', stats.central_forwarding ? 'anonymised copy' : null]];
  const cards = targets.map(([key, name, where]) => {
    const q = (stats.webhook_queue || {})[key] || {};
    const enabled = Boolean(where) || q.pending || q.delivered || q.failed;
    const health = !enabled ? 'off' : q.failed ? 'bad' : q.pending && q.last_error ? 'warn' : 'ok';
    if (health === 'off') {
      return h('div', { class: 'queue-card off', dataset: { target: key, health } },
        h('h3', {}, name, ' ', h('span', { class: 'pill' }, 'not configured')));
    }
    return h('div', { class: `queue-card ${health}`, dataset: { target: key, health } },
      h('h3', {}, name, ' ', h('span', { class: 'pill' }, { off: 'not configured', bad: 'failed events', warn: 'retrying', ok: 'healthy' }[health])),
      where ? h('p', { class: 'small target-url' }, where) : null,
      h('div', { class: 'counts' },
        h('div', { dataset: { state: 'pending' } }, h('span', { class: 'n' }, String(q.pending ?? 0)), h('span', {}, 'pending')),
        h('div', { dataset: { state: 'delivered' } }, h('span', { class: 'n' }, String(q.delivered ?? 0)), h('span', {}, 'delivered')),
        h('div', { dataset: { state: 'failed' } }, h('span', { class: 'n' }, String(q.failed ?? 0)), h('span', {}, 'failed'))),
      h('dl', { class: 'facts compact' },
        h('dt', {}, 'Oldest pending'), h('dd', {}, q.oldest_pending_age_seconds == null ? '–' : ago(q.oldest_pending_age_seconds)),
        h('dt', {}, 'Last delivery'), h('dd', {}, q.last_delivery_at ? unixToLocal(q.last_delivery_at) : '–'),
        h('dt', {}, 'Last error'), h('dd', { class: q.last_error ? 'last-error' : '' }, q.last_error
          ? `${q.last_error}${q.last_error_at ? ` (${unixToLocal(q.last_error_at)})` : ''}` : '–')));
  });
  box.append(facts, h('div', { class: 'queue-cards' }, cards));
}

