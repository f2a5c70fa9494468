// Latency probes. A probe is one full HTTP round trip for a 14-byte
// static file (GET /api/ping), never halved.
//
// Probes must never wait behind load transfers in the browser's
// connection pool (about six connections per origin with HTTP/1.1). They
// are sent with credentials: 'omit' and every load transfer with
// credentials, and Chromium (like Firefox) keeps credentialed and
// uncredentialed requests on separate connection pools, so the load may
// use all six of its own (the download, and both directions at once as
// three and three). tests/browser/ checks this: probe requests spend no time
// queued while six load streams run.
//
// The round trip is taken from Resource Timing (requestStart to
// responseStart: the request on the wire to the first byte back), which
// leaves out connection set-up and JavaScript scheduling; the time seen
// by JavaScript is the fallback.

export const PROBE_TIMEOUT_MS = 3000;

// Collects Resource Timing entries by URL so that a sample can be
// refined once the browser has reported it.
export class RttRecorder {
  constructor() {
    this.entries = new Map();
    this.observer = null;
    if (typeof PerformanceObserver !== 'undefined') {
      try {
        performance.setResourceTimingBufferSize?.(100000);
        this.observer = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) if (e.name.includes('lqprobe=')) this.entries.set(e.name, e);
        });
        this.observer.observe({ type: 'resource', buffered: false });
      } catch {
        this.observer = null;
      }
    }
  }

  // The network round trip of `sample` (which has .url and .jsRtt).
  rttOf(sample) {
    const e = this.entries.get(sample.url);
    if (e && e.requestStart > 0 && e.responseStart >= e.requestStart) {
      const net = e.responseStart - e.requestStart;
      // Never more than what JavaScript saw (a sanity bound).
      if (net <= sample.jsRtt + 1) return net;
    }
    return sample.jsRtt;
  }

  // Time the request spent waiting for a connection before it was sent
  // (0 when unknown): the proof that probes are not queued behind load.
  queuedOf(sample) {
    const e = this.entries.get(sample.url);
    if (!e || !(e.requestStart > 0)) return NaN;
    const start = e.fetchStart;
    const connect = e.connectEnd > e.connectStart ? e.connectEnd - e.connectStart : 0;
    const dns = e.domainLookupEnd - e.domainLookupStart || 0;
    return Math.max(0, e.requestStart - start - connect - dns);
  }

  // Let late entries arrive, then stop listening.
  async settle() {
    await new Promise((r) => setTimeout(r, 250));
    if (this.observer) {
      for (const e of this.observer.takeRecords()) if (e.name.includes('lqprobe=')) this.entries.set(e.name, e);
    }
  }

  close() {
    this.observer?.disconnect();
    performance.clearResourceTimings?.();
  }
}

let probeSeq = 0;

// One probe: resolves to a sample { url, sent, jsRtt, ok } where sent is
// performance.now() at sending. `tag` names the sender in the URL; `init`
// adds fetch options.
export async function probeOnce(url, tag = 'p', extra = '', init = {}) {
  const full = `${url}?lqprobe=${tag}${++probeSeq}_${Math.random().toString(36).slice(2, 8)}${extra}`;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), PROBE_TIMEOUT_MS);
  const sample = { url: full, sent: performance.now(), jsRtt: PROBE_TIMEOUT_MS, ok: false };
  try {
    const res = await fetch(full, { credentials: 'omit', cache: 'no-store', ...init, signal: ctrl.signal });
    await res.arrayBuffer();
    sample.jsRtt = performance.now() - sample.sent;
    sample.ok = res.ok;
  } catch {
    sample.ok = false;
  } finally {
    clearTimeout(timer);
  }
  return sample;
}

// Sends a probe every `intervalMs` while fewer than `maxInFlight` are
// outstanding. samples[] holds every probe, in sending order.
export class Prober {
  constructor(url, recorder, { intervalMs = 100, maxInFlight = 2 } = {}) {
    this.url = url;
    this.recorder = recorder;
    this.intervalMs = intervalMs;
    this.maxInFlight = maxInFlight;
    this.inFlight = 0;
    this.samples = [];
    this.timer = null;
    this.last = NaN; // latest completed round trip (for the live display)
    this.pending = new Set();
  }

  start() {
    const tick = () => {
      if (this.inFlight >= this.maxInFlight) return;
      this.inFlight++;
      const p = probeOnce(this.url).then((s) => {
        this.inFlight--;
        this.pending.delete(p);
        this.samples.push(s);
        if (s.ok) this.last = s.jsRtt;
      });
      this.pending.add(p);
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  // Round trips (ms) of probes sent in [from, to), in sending order. A
  // probe that failed or timed out counts as PROBE_TIMEOUT_MS: losing it
  // under load is the worst latency, not a missing one.
  rtts(from, to) {
    return this.samples
      .filter((s) => s.sent >= from && s.sent < to)
      .sort((a, b) => a.sent - b.sent)
      .map((s) => (s.ok ? this.recorder.rttOf(s) : PROBE_TIMEOUT_MS));
  }
}
