// A customer's history on one <canvas>: overall grade, download/upload
// speed and latency increase under load over time, three panels sharing
// the time axis. Hover (or tap) a test for its numbers; click to open it.

import { GRADES, GRADE_COLORS, localTime } from './util.js';

export const SERIES_COLORS = { download: '#1a73e8', upload: '#9334e6', bidirectional: '#12a4b8' };
const AXIS = '#5f6368';
const GRID = '#e8eaed';

function niceMax(v) {
  if (!(v > 0)) return 10;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * mag) return m * mag;
  return 10 * mag;
}

const HOUR = 3600e3;
const STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 2 * 24 * HOUR, 7 * 24 * HOUR,
  14 * 24 * HOUR, 30 * 24 * HOUR, 91 * 24 * HOUR, 365 * 24 * HOUR];

function timeTicks(t0, t1, maxTicks) {
  const span = t1 - t0;
  const step = STEPS.find((s) => span / s <= maxTicks) || STEPS[STEPS.length - 1];
  // Align to local midnight (and whole hours) in the browser's zone.
  const tz = new Date(t0).getTimezoneOffset() * 60e3;
  const ticks = [];
  for (let t = Math.ceil((t0 - tz) / step) * step + tz; t <= t1 && ticks.length < 60; t += step) ticks.push(t);
  return { ticks, step };
}

function tickLabel(t, step) {
  const s = localTime(new Date(t).toISOString());
  return step >= 24 * HOUR ? s.slice(5, 10) : s.slice(5);
}

function drawLine(ctx, pts, color, dashed) {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.8;
  ctx.setLineDash(dashed ? [4, 3] : []);
  ctx.beginPath();
  let open = false;
  for (const p of pts) {
    if (p === null) { open = false; continue; }
    if (open) ctx.lineTo(p.x, p.y); else ctx.moveTo(p.x, p.y);
    open = true;
  }
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = color;
  for (const p of pts) {
    if (p === null) continue;
    ctx.beginPath();
    ctx.arc(p.x, p.y, 2.8, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// Draws `tests` (any order) on `canvas`. Returns the plotted points
// [{ x, test }] for hit testing.
export function drawHistory(canvas, tests) {
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth || 600;
  const H = canvas.clientHeight || 420;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';

  const pts = tests.map((t) => ({ t: Date.parse(t.timestamp), test: t }))
    .filter((p) => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
  if (!pts.length) {
    ctx.fillStyle = AXIS;
    ctx.fillText('No tests to plot', 12, H / 2);
    return [];
  }
  let t0 = pts[0].t;
  let t1 = pts[pts.length - 1].t;
  if (t1 - t0 < HOUR) { t0 -= HOUR; t1 += HOUR; }
  const margin = (t1 - t0) * 0.04;
  t0 -= margin;
  t1 += margin;

  const pad = { left: 46, right: 10, top: 6, bottom: 22 };
  const gap = 12;
  const w = W - pad.left - pad.right;
  const usable = H - pad.top - pad.bottom - 2 * gap;
  const heights = [usable * 0.28, usable * 0.36, usable * 0.36];
  const tops = [pad.top, pad.top + heights[0] + gap, pad.top + heights[0] + heights[1] + 2 * gap];
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * w;
  for (const p of pts) p.x = x(p.t);

  const { ticks, step } = timeTicks(t0, t1, Math.max(2, Math.floor(w / 90)));
  const frame = (i, title) => {
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    for (const t of ticks) {
      ctx.beginPath();
      ctx.moveTo(Math.round(x(t)) + 0.5, tops[i]);
      ctx.lineTo(Math.round(x(t)) + 0.5, tops[i] + heights[i]);
      ctx.stroke();
    }
    ctx.strokeStyle = '#dadce0';
    ctx.strokeRect(pad.left + 0.5, tops[i] + 0.5, w - 1, heights[i] - 1);
    ctx.fillStyle = '#202124';
    ctx.textAlign = 'left';
    ctx.font = '600 11px system-ui, sans-serif';
    ctx.fillText(title, pad.left + 6, tops[i] + 9);
    ctx.font = '11px system-ui, sans-serif';
  };
  const valueAxis = (i, max, unit) => {
    const y = (v) => tops[i] + heights[i] - (Math.min(v, max) / max) * (heights[i] - 18);
    ctx.textAlign = 'right';
    for (const f of [0, 0.5, 1]) {
      const v = max * f;
      const yy = Math.round(y(v)) + 0.5;
      ctx.strokeStyle = GRID;
      ctx.beginPath();
      ctx.moveTo(pad.left, yy);
      ctx.lineTo(pad.left + w, yy);
      ctx.stroke();
      ctx.fillStyle = AXIS;
      ctx.fillText(`${Math.round(v)}${f === 1 ? ` ${unit}` : ''}`.trim(), pad.left - 4, yy);
    }
    return y;
  };

  // 1. Overall grade.
  frame(0, 'Overall grade');
  const gy = (g) => tops[0] + 16 + (GRADES.indexOf(g) / (GRADES.length - 1)) * (heights[0] - 24);
  ctx.textAlign = 'right';
  for (const g of GRADES) {
    ctx.fillStyle = GRADE_COLORS[g];
    ctx.fillText(g, pad.left - 6, gy(g));
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(gy(g)) + 0.5);
    ctx.lineTo(pad.left + w, Math.round(gy(g)) + 0.5);
    ctx.stroke();
  }
  const graded = pts.map((p) => (GRADES.includes(p.test.overall_grade) ? { x: p.x, y: gy(p.test.overall_grade), g: p.test.overall_grade } : null));
  drawLine(ctx, graded, '#bdc1c6', false);
  for (const p of graded) {
    if (!p) continue;
    ctx.fillStyle = GRADE_COLORS[p.g];
    ctx.beginPath();
    ctx.arc(p.x, p.y, 5, 0, 2 * Math.PI);
    ctx.fill();
  }

  // 2. Speeds.
  frame(1, 'Speed (Mbit/s)');
  const speeds = pts.flatMap((p) => [p.test.download_mbps, p.test.upload_mbps]).filter(Number.isFinite);
  const sy = valueAxis(1, niceMax(Math.max(1, ...speeds)), '');
  for (const k of ['download', 'upload']) {
    drawLine(ctx, pts.map((p) => (Number.isFinite(p.test[`${k}_mbps`]) ? { x: p.x, y: sy(p.test[`${k}_mbps`]) } : null)),
      SERIES_COLORS[k], false);
  }

  // 3. Latency increase under load (single-user tests carry it).
  frame(2, 'Latency increase under load (ms)');
  const lats = pts.flatMap((p) => ['download', 'upload', 'bidirectional'].map((k) => p.test[`${k}_latency_increase_ms`]))
    .filter(Number.isFinite);
  const ly = valueAxis(2, niceMax(Math.max(10, ...lats)), '');
  for (const k of ['download', 'upload', 'bidirectional']) {
    drawLine(ctx, pts.map((p) => (Number.isFinite(p.test[`${k}_latency_increase_ms`])
      ? { x: p.x, y: ly(p.test[`${k}_latency_increase_ms`]) } : null)), SERIES_COLORS[k], k === 'bidirectional');
  }
  if (!lats.length) {
    ctx.fillStyle = AXIS;
    ctx.textAlign = 'center';
    ctx.fillText('Household tests grade each user instead (open a test)', pad.left + w / 2, tops[2] + heights[2] / 2);
  }

  // Time axis.
  ctx.fillStyle = AXIS;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  let lastRight = -Infinity;
  for (const t of ticks) {
    const label = tickLabel(t, step);
    const lw = ctx.measureText(label).width;
    const cx = Math.min(Math.max(x(t), pad.left + lw / 2), pad.left + w - lw / 2);
    if (cx - lw / 2 < lastRight + 6) continue;
    ctx.fillText(label, cx, H - pad.bottom + 5);
    lastRight = cx + lw / 2;
  }
  return pts;
}

// Interactive wrapper: redraws on resize, shows a tooltip for the test
// nearest the pointer, opens it on click.
export function historyChart(container, tests, { onOpen } = {}) {
  const canvas = document.createElement('canvas');
  canvas.id = 'history-chart';
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'img');
  const sorted = [...tests].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  const counts = {};
  for (const t of sorted) counts[t.overall_grade ?? 'none'] = (counts[t.overall_grade ?? 'none'] || 0) + 1;
  canvas.setAttribute('aria-label', sorted.length
    ? `Chart of ${sorted.length} tests from ${localTime(sorted[0].timestamp)} to ${localTime(sorted[sorted.length - 1].timestamp)}; grades: ${Object.entries(counts).map(([g, n]) => `${n} × ${g}`).join(', ')}`
    : 'No tests to plot');
  const tip = document.createElement('div');
  tip.className = 'chart-tip';
  tip.hidden = true;
  container.append(canvas, tip);
  let points = [];
  const draw = () => {
    points = drawHistory(canvas, sorted);
    canvas.dataset.points = String(points.length);
  };
  draw();
  let pending = false;
  const ro = new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  });
  ro.observe(canvas);
  const nearest = (clientX) => {
    const r = canvas.getBoundingClientRect();
    const px = clientX - r.left;
    let best = null;
    for (const p of points) if (!best || Math.abs(p.x - px) < Math.abs(best.x - px)) best = p;
    return best && Math.abs(best.x - px) <= 24 ? best : null;
  };
  canvas.addEventListener('pointermove', (e) => {
    const p = nearest(e.clientX);
    if (!p) { tip.hidden = true; canvas.style.cursor = ''; return; }
    const t = p.test;
    const fmt = (v) => (Number.isFinite(v) ? Math.round(v) : '–');
    tip.textContent = `${localTime(t.timestamp)} · ${t.overall_grade ?? '–'} · ↓${fmt(t.download_mbps)} ↑${fmt(t.upload_mbps)} Mbps`
      + (t.test_type === 'single_user' ? ` · +${fmt(t.download_latency_increase_ms)}/${fmt(t.upload_latency_increase_ms)}/${fmt(t.bidirectional_latency_increase_ms)} ms` : ' · household');
    tip.hidden = false;
    const left = Math.min(Math.max(0, p.x - tip.offsetWidth / 2), canvas.clientWidth - tip.offsetWidth);
    tip.style.left = `${left}px`;
    canvas.style.cursor = 'pointer';
  });
  canvas.addEventListener('pointerleave', () => { tip.hidden = true; });
  canvas.addEventListener('click', (e) => {
    const p = nearest(e.clientX);
    if (p && onOpen) onOpen(p.test);
  });
  return { canvas, disconnect: () => ro.disconnect() };
}
