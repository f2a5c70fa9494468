// Small statistics used by both tests. Every number the page submits is
// computed here, so the README's definitions point at one file.

// Percentile p (0..100) of an array of numbers, linear interpolation
// between closest ranks. NaN for an empty array.
export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = Float64Array.from(values).sort();
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export const median = (values) => percentile(values, 50);

// Jitter: the mean absolute difference between consecutive samples (in
// the order they were sent), as RFC 3550 describes for RTP. NaN with
// fewer than two samples.
export function jitter(values) {
  if (values.length < 2) return NaN;
  let sum = 0;
  for (let i = 1; i < values.length; i++) sum += Math.abs(values[i] - values[i - 1]);
  return sum / (values.length - 1);
}

export const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN);

// Megabits per second from bytes over milliseconds.
export function mbps(bytes, ms) {
  return ms > 0 ? (bytes * 8) / (ms * 1000) : NaN;
}

// Round for the submitted JSON (finite numbers only; NaN stays NaN).
export function round(x, digits = 2) {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
