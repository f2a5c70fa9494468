// The table of tests used by the recent and customer views. On a phone
// each row becomes a card (support.css), labelled by data-label.

import { PHASES, USERS, gradeBadge, h, localSeconds, localTime, num, testTypeName } from './util.js';

export function customerHref(ip) {
  return `#/customer/${ip}`;
}

export function testHref(id) {
  return `#/test/${encodeURIComponent(id)}`;
}

function latencyCell(t) {
  if (t.test_type !== 'single_user') {
    return h('span', { class: 'small' }, 'per user →');
  }
  return h('span', { class: 'lat' }, PHASES.map((p) => h('span', { title: `${p.name}: latency increase under load` },
    h('span', { class: 'arrow' }, p.short), num(t[`${p.key}_latency_increase_ms`]))));
}

function gradesCell(t) {
  const parts = [gradeBadge(t.overall_grade, 'overall')];
  const minis = t.test_type === 'virtual_household'
    ? USERS.map((u) => [u.name, t[`${u.key}_grade`]])
    : PHASES.map((p) => [p.name, t[`${p.key}_grade`]]);
  parts.push(h('span', { class: 'minis' }, minis.map(([name, g]) => h('span', { class: 'mini', title: `${name}: ${g ?? 'no grade'}` },
    h('span', { class: 'mini-name' }, name.slice(0, 1)), gradeBadge(g, 'grade-small')))));
  return parts;
}

// Returns a <div> holding the table (or the empty state).
export function testsTable(tests, { showCustomer = true, emptyText = 'No tests match.' } = {}) {
  if (!tests.length) {
    return h('p', { class: 'empty', id: 'empty-state' }, emptyText);
  }
  const head = h('tr', {},
    h('th', { scope: 'col' }, 'Time'),
    showCustomer ? h('th', { scope: 'col' }, 'Customer IP') : h('th', { scope: 'col' }, 'IP'),
    h('th', { scope: 'col' }, 'Test'),
    h('th', { scope: 'col', class: 'numeric' }, 'Down Mbps'),
    h('th', { scope: 'col', class: 'numeric' }, 'Up Mbps'),
    h('th', { scope: 'col' }, 'Latency increase ms (↓ ↑ ⇅)'),
    h('th', { scope: 'col' }, 'Grades'),
    h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Details')));
  const body = h('tbody', {}, tests.map((t) => h('tr', { dataset: { testId: t.test_id, grade: t.overall_grade ?? '', type: t.test_type ?? '' } },
    h('td', { 'data-label': 'Time', title: `${localSeconds(t.timestamp)} (${t.timestamp} UTC)` }, localTime(t.timestamp)),
    h('td', { 'data-label': 'IP', class: 'ip' }, h('a', { href: customerHref(t.client_ip), title: 'This customer\'s history' }, t.client_ip)),
    h('td', { 'data-label': 'Test' }, testTypeName(t.test_type)),
    h('td', { 'data-label': 'Down Mbps', class: 'numeric' }, num(t.download_mbps)),
    h('td', { 'data-label': 'Up Mbps', class: 'numeric' }, num(t.upload_mbps)),
    h('td', { 'data-label': 'Latency +ms' }, latencyCell(t)),
    h('td', { 'data-label': 'Grades', class: 'grades-cell' }, gradesCell(t)),
    h('td', { class: 'open' }, h('a', { class: 'button-link', href: testHref(t.test_id) }, 'Details')))));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'tests', id: 'tests-table' },
    h('thead', {}, head), body));
}
