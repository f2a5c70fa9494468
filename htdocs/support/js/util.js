// Small DOM and formatting helpers. Every value from the API reaches the
// page as text (textContent), never as markup.

export const GRADES = ['A+', 'A', 'B', 'C', 'D', 'F'];
export const GRADE_COLORS = {
  'A+': '#137333', A: '#188038', B: '#7cb342', C: '#f9ab00', D: '#e8710a', F: '#c5221f',
};
export const USERS = [
  { key: 'alex', name: 'Alex', role: 'gaming' },
  { key: 'sarah', name: 'Sarah', role: 'video call' },
  { key: 'jake', name: 'Jake', role: 'streaming' },
  { key: 'computer', name: 'Computer', role: 'background download' },
];
export const PHASES = [
  { key: 'download', name: 'Download', short: '↓' },
  { key: 'upload', name: 'Upload', short: '↑' },
  { key: 'bidirectional', name: 'Both ways', short: '⇅' },
];

// h('td', { class: 'x', dataset: { id: 1 } }, 'text', child, ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function gradeClass(g) {
  if (!g) return 'grade grade-none';
  return `grade grade-${g === 'A+' ? 'aplus' : g.toLowerCase()}`;
}

export function gradeBadge(g, extra = '') {
  return h('span', { class: `${gradeClass(g)} ${extra}`.trim(), dataset: { grade: g ?? '' },
    title: g ? `Grade ${g}` : 'No grade' }, g ?? '–');
}

export function num(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '–';
  const n = Number(v);
  return n.toFixed(Math.abs(n) >= 100 ? 0 : digits);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// "2025-06-12 14:42" in the browser's time zone.
export function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '–');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function localSeconds(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '–');
  return `${localTime(iso)}:${pad(d.getSeconds())}`;
}

export function zoneLabel(date = new Date()) {
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `UTC${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

// <input type="datetime-local"> value (local time) <-> API timestamp (UTC).
export function localInputToIso(value, endOfMinute = false) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  if (endOfMinute) d.setSeconds(59, 999);
  return d.toISOString();
}

export function isoToLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function ago(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

export function unixToLocal(unix) {
  if (unix === null || unix === undefined) return '–';
  return localSeconds(new Date(unix * 1000).toISOString());
}

export function testTypeName(t) {
  if (t === 'single_user') return 'Single user';
  if (t === 'virtual_household') return 'Household';
  return t ?? '–';
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}
