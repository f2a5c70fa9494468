// Which HTTP protocol the test actually used, from Resource Timing's
// nextHopProtocol ("http/1.1", "h2", "h3"): the latency probes and the
// load transfers are recorded apart (they travel on different
// connections). Sent with the result as
//   protocol: { probe: "h2", load: "h2" }
// each one of http/1.0, http/1.1, h2, h3, mixed (more than one seen),
// other (a value this page does not know) or unknown (the browser did not
// say, e.g. no entry was reported). The server accepts only these.

const KNOWN = new Set(['http/1.0', 'http/1.1', 'h2', 'h3']);

function kindOf(name) {
  if (name.includes('lqprobe=')) return 'probe';
  if (/\/load\/(download|upload)(\?|$)/.test(name)) return 'load';
  return null;
}

export class ProtocolRecorder {
  constructor() {
    this.seen = { probe: new Map(), load: new Map() };
    this.observer = null;
    if (typeof PerformanceObserver === 'undefined') return;
    try {
      this.observer = new PerformanceObserver((list) => this.add(list.getEntries()));
      this.observer.observe({ type: 'resource', buffered: false });
    } catch {
      this.observer = null;
    }
  }

  add(entries) {
    for (const e of entries) {
      const kind = kindOf(e.name);
      if (!kind) continue;
      const p = typeof e.nextHopProtocol === 'string' && e.nextHopProtocol ? e.nextHopProtocol.toLowerCase() : '';
      if (!p) continue;
      const token = KNOWN.has(p) ? p : 'other';
      this.seen[kind].set(token, (this.seen[kind].get(token) || 0) + 1);
    }
  }

  // { probe, load }: the protocol each used, as the server takes it.
  summary() {
    if (this.observer) this.add(this.observer.takeRecords());
    const one = (m) => (m.size === 0 ? 'unknown' : m.size > 1 ? 'mixed' : [...m.keys()][0]);
    return { probe: one(this.seen.probe), load: one(this.seen.load) };
  }

  close() {
    this.observer?.disconnect();
    this.observer = null;
  }
}
