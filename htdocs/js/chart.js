// Latency over time on a <canvas>: one dot per probe, phase bands
// behind them (the ungraded ramp-up lighter), the idle baseline dashed.

const PHASE_COLORS = {
  baseline: '#e8f0fe',
  download: '#e6f4ea',
  upload: '#fef7e0',
  bidirectional: '#fce8e6',
  capacity_down: '#e6f4ea',
  capacity_up: '#fef7e0',
  capacity_both: '#fce8e6',
  household: '#f3e8fd',
};
const PHASE_NAMES = {
  baseline: 'Idle',
  download: 'Download',
  upload: 'Upload',
  bidirectional: 'Both',
  capacity_down: 'Capacity ↓',
  capacity_up: 'Capacity ↑',
  capacity_both: 'Capacity ↓↑',
  household: 'Household',
};

function niceStep(range, ticks) {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

export function drawLatencyChart(canvas, { probes, phases, baseline }) {
  const dpr = window.devicePixelRatio || 1;
  const cssWidth = canvas.clientWidth || 600;
  const cssHeight = canvas.clientHeight || 240;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);

  const pad = { left: 44, right: 8, top: 18, bottom: 24 };
  const w = cssWidth - pad.left - pad.right;
  const h = cssHeight - pad.top - pad.bottom;
  const tMax = Math.max(1, ...phases.map((p) => p.end), ...probes.map((p) => p.t));
  const rtts = probes.map((p) => p.rtt).filter(Number.isFinite).sort((a, b) => a - b);
  const p99 = rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * 0.99))] : 10;
  const yMax = Math.max(10, (baseline || 0) * 2, p99 * 1.15);
  const x = (t) => pad.left + (t / tMax) * w;
  const y = (ms) => pad.top + h - (Math.min(ms, yMax) / yMax) * h;

  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  for (const ph of phases) {
    ctx.fillStyle = PHASE_COLORS[ph.name] || '#f1f3f4';
    ctx.fillRect(x(ph.start), pad.top, x(ph.end) - x(ph.start), h);
    if (ph.rampEnd > ph.start) {
      ctx.fillStyle = 'rgba(255,255,255,0.55)';
      ctx.fillRect(x(ph.start), pad.top, x(ph.rampEnd) - x(ph.start), h);
    }
    ctx.fillStyle = '#5f6368';
    const label = PHASE_NAMES[ph.name] || ph.name;
    if (x(ph.end) - x(ph.start) > ctx.measureText(label).width + 4) ctx.fillText(label, x(ph.start) + 2, 2);
  }

  // Axes and grid.
  ctx.strokeStyle = '#dadce0';
  ctx.fillStyle = '#5f6368';
  ctx.lineWidth = 1;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  const step = niceStep(yMax, 4);
  for (let v = 0; v <= yMax; v += step) {
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v) + 0.5);
    ctx.lineTo(pad.left + w, y(v) + 0.5);
    ctx.stroke();
    ctx.fillText(`${v} ms`, pad.left - 4, y(v));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const tStep = niceStep(tMax, 6);
  for (let t = 0; t <= tMax; t += tStep) ctx.fillText(`${t}s`, x(t), pad.top + h + 6);

  if (Number.isFinite(baseline)) {
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = '#1a73e8';
    ctx.beginPath();
    ctx.moveTo(pad.left, y(baseline));
    ctx.lineTo(pad.left + w, y(baseline));
    ctx.stroke();
    ctx.setLineDash([]);
  }

  for (const p of probes) {
    if (Number.isFinite(p.rtt)) {
      ctx.fillStyle = p.rtt > yMax ? '#d93025' : '#202124';
      ctx.fillRect(x(p.t) - 1, y(p.rtt) - 1, 2.5, 2.5);
    } else {
      ctx.fillStyle = '#d93025'; // lost probe: drawn at the top
      ctx.fillRect(x(p.t) - 1.5, pad.top, 3, 3);
    }
  }
}
