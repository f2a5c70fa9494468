// The virtual household: after an idle baseline and a short capacity
// estimate, four simulated users share the connection at once, each with
// the traffic of its application, over HTTP against this server:
//
//   Alex (gaming)      a small request and reply 20 times a second (the
//                      game's updates), at most 4 waiting at once.
//   Sarah (video call) 2.5 Mbit/s each way in 20 frames a second; frames
//                      that are due while the previous request is still
//                      under way wait and go in the next one, as media
//                      does in a congested call.
//   Jake (streaming)   2-second video segments at 15 % of the measured
//                      download capacity (0.5 to 25 Mbit/s), fetched
//                      whenever the player holds less than 6 s of video.
//   Computer (bulk)    two downloads and one upload running all the time.
//
// Metrics (graded by the server, thresholds in libcommon/grade.h):
//   alex.loss_pct              updates not answered, not sendable (4 still
//                              waiting), or answered more than 150 ms later
//                              than the run's median round trip (a spike:
//                              usually a TCP retransmission, where a game
//                              over UDP would have lost the packet)
//   alex.latency_increase_ms   p50 round trip of the other updates minus
//                              the idle baseline
//   alex.jitter_ms             mean difference of their consecutive round trips
//   sarah.latency_increase_ms  p50 of (frame delivered - frame due) minus
//                              the idle baseline
//   sarah.jitter_ms            mean difference of consecutive frame delays
//   sarah.delivered_pct        frames delivered at most 400 ms later than the
//                              idle round trip allows, of all frames due
//   jake.fetch_ratio_p90       p90 of segment download time / 2 s
//   jake.stalls                times the player's buffer ran dry
//   computer.spare_capacity_share_pct  Computer's download throughput /
//                              (download capacity - what Sarah and Jake
//                              used), at most 100
//   computer.throughput_mbps   Computer's download throughput
// Alex and Sarah use the probes' connection pool (4 + 2 connections);
// Jake and Computer the load pool (1 + 3).

import { api } from './api.js';
import { LoadSet, RateMeter, startProgress, uploadMbps } from './load.js';
import { PROBE_TIMEOUT_MS, Prober, RttRecorder, probeOnce } from './probe.js';
import { jitter, mbps, median, percentile, round, sleep } from './stats.js';

export const HOUSEHOLD_PLANS = {
  // 30 s of household after a 13 s baseline and capacity estimate.
  full: { baseline: 3000, capacity: 4500, capacityRamp: 1500, gap: 500, household: 30000, ramp: 3000 },
  short: { baseline: 1500, capacity: 2500, capacityRamp: 1000, gap: 300, household: 9000, ramp: 2000 },
};

const ALEX_HZ = 20;
const ALEX_MAX_IN_FLIGHT = 4;
const ALEX_LATE_MS = 150;
const SARAH_FPS = 20;
const SARAH_FRAME_BYTES = Math.round(2.5e6 / 8 / SARAH_FPS); // 15625
const SARAH_LATE_MS = 400;
const JAKE_SEGMENT_S = 2;
const JAKE_BUFFER_GOAL_S = 6;
const DOWNLOAD_FILE_BYTES = 32 * 1024 * 1024; // Makefile.am LQOS_DOWNLOAD_BYTES

export function plannedSeconds(plan) {
  return (plan.baseline + 2 * plan.capacity + 2 * plan.gap + plan.household) / 1000;
}

const rangeStart = (size) => Math.floor(Math.random() * Math.max(1, DOWNLOAD_FILE_BYTES - size));

async function rangeFetch(url, size, init = {}) {
  const start = rangeStart(size);
  const res = await fetch(`${url}?r=${Math.random().toString(36).slice(2)}`, {
    cache: 'no-store',
    headers: { Range: `bytes=${start}-${start + size - 1}` },
    ...init,
  });
  const buf = await res.arrayBuffer();
  if (!res.ok || buf.byteLength !== size) throw new Error(`range fetch got ${buf.byteLength} of ${size}`);
  return size;
}

// Alex: game updates.
class Alex {
  constructor(recorder) {
    this.recorder = recorder;
    this.samples = []; // { sent, rtt|NaN, skipped }
    this.inFlight = 0;
    this.pending = new Set();
    this.last = NaN;
  }

  start() {
    this.timer = setInterval(() => this.tick(), 1000 / ALEX_HZ);
  }

  tick() {
    if (this.inFlight >= ALEX_MAX_IN_FLIGHT) {
      this.samples.push({ sent: performance.now(), skipped: true });
      return;
    }
    this.inFlight++;
    const p = probeOnce(api('/ping'), 'alex', '&pad=000000000000000000000000000000000000000000000000').then((s) => {
      this.inFlight--;
      this.pending.delete(p);
      this.samples.push(s);
      if (s.ok) this.last = s.jsRtt;
    });
    this.pending.add(p);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  metrics(from, to, baseline) {
    const inWindow = this.samples.filter((s) => s.sent >= from && s.sent < to).sort((a, b) => a.sent - b.sent);
    const all = inWindow.map((s) => (s.skipped || !s.ok ? NaN : this.recorder.rttOf(s)));
    const answered = all.filter(Number.isFinite);
    const typical = answered.length ? median(answered) : PROBE_TIMEOUT_MS;
    // An update far later than the typical one (a TCP retransmission of a
    // dropped packet, usually) is one the game would have dropped: it
    // counts as lost, not as latency or jitter.
    const onTime = all.filter((rtt) => Number.isFinite(rtt) && rtt - typical <= ALEX_LATE_MS);
    const lost = inWindow.length - onTime.length;
    return {
      latency_increase_ms: round((onTime.length ? median(onTime) : PROBE_TIMEOUT_MS) - baseline),
      jitter_ms: round(onTime.length > 1 ? jitter(onTime) : 0),
      loss_pct: round(inWindow.length ? (100 * lost) / inWindow.length : 100),
    };
  }
}

// Sarah: one direction of the call. `send(bytes)` moves `bytes` and
// resolves when the other end has them.
class CallDirection {
  constructor(send) {
    this.send = send;
    this.due = []; // due times of frames not yet sent
    this.frames = []; // { due, delivered|NaN }
    this.busy = false;
    this.bytes = 0;
  }

  start() {
    this.timer = setInterval(() => {
      this.due.push(performance.now());
      this.pump();
    }, 1000 / SARAH_FPS);
  }

  async pump() {
    if (this.busy || !this.due.length || this.stopped) return;
    this.busy = true;
    const batch = this.due.splice(0);
    this.inFlight = batch;
    let delivered = NaN;
    try {
      await this.send(batch.length * SARAH_FRAME_BYTES);
      delivered = performance.now();
    } catch {
      delivered = NaN;
    }
    if (this.stopped) return; // stop() has already counted this batch
    for (const due of batch) this.frames.push({ due, delivered });
    if (Number.isFinite(delivered)) this.bytes += batch.length * SARAH_FRAME_BYTES;
    this.inFlight = [];
    this.busy = false;
    this.pump();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    // Frames not delivered by now count as not delivered.
    for (const due of [...this.inFlight ?? [], ...this.due]) this.frames.push({ due, delivered: NaN });
    this.due = [];
  }
}

class Sarah {
  constructor() {
    const upUrl = api('/load/upload');
    const downUrl = api('/load/download');
    const frameData = new Uint8Array(SARAH_FRAME_BYTES * 64);
    for (let i = 0; i < frameData.length; i += 65536) crypto.getRandomValues(frameData.subarray(i, i + 65536));
    this.up = new CallDirection(async (bytes) => {
      const body = bytes <= frameData.length ? frameData.subarray(0, bytes) : new Uint8Array(bytes);
      const res = await fetch(`${upUrl}?r=${Math.random().toString(36).slice(2)}`, {
        method: 'POST',
        body,
        credentials: 'omit',
        cache: 'no-store',
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`upload ${res.status}`);
    });
    this.down = new CallDirection((bytes) => rangeFetch(downUrl, bytes, { credentials: 'omit' }));
  }

  start() {
    this.up.start();
    this.down.start();
  }

  stop() {
    this.up.stop();
    this.down.stop();
  }

  bytesPerSecond() {
    return { up: this.up.bytes, down: this.down.bytes };
  }

  metrics(from, to, baseline) {
    const delays = [];
    let delivered = 0;
    let due = 0;
    const jitters = [];
    for (const dir of [this.up, this.down]) {
      const frames = dir.frames.filter((f) => f.due >= from && f.due < to).sort((a, b) => a.due - b.due);
      const d = frames.filter((f) => Number.isFinite(f.delivered)).map((f) => f.delivered - f.due);
      due += frames.length;
      delivered += d.filter((x) => x - baseline <= SARAH_LATE_MS).length;
      delays.push(...d);
      if (d.length > 1) jitters.push(jitter(d));
    }
    return {
      latency_increase_ms: round((delays.length ? median(delays) : PROBE_TIMEOUT_MS) - baseline),
      jitter_ms: round(jitters.length ? jitters.reduce((a, b) => a + b, 0) / jitters.length : 0),
      delivered_pct: round(due ? (100 * delivered) / due : 0),
    };
  }
}

// Jake: a video player fetching segments.
class Jake {
  constructor(bitrateMbps) {
    this.url = api('/load/download');
    this.segmentBytes = Math.round((bitrateMbps * 1e6 * JAKE_SEGMENT_S) / 8);
    this.bitrateMbps = bitrateMbps;
    this.segments = []; // { start, end|NaN }
    this.stalls = 0;
    this.buffered = 0; // seconds of video downloaded
    this.played = 0; // seconds of video played
    this.playing = false;
    this.stalled = false;
    this.lastUpdate = NaN;
    this.bytes = 0;
  }

  advance(now) {
    if (this.playing && !this.stalled) {
      this.played += (now - this.lastUpdate) / 1000;
      if (this.played >= this.buffered) {
        this.played = this.buffered;
        this.stalled = true;
        this.stalls++;
      }
    }
    this.lastUpdate = now;
  }

  start() {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        this.advance(performance.now());
        if (this.buffered - this.played >= JAKE_BUFFER_GOAL_S) {
          await sleep(100);
          continue;
        }
        const seg = { start: performance.now(), end: NaN };
        this.segments.push(seg);
        try {
          this.ctrl = new AbortController();
          await rangeFetch(this.url, this.segmentBytes, { credentials: 'same-origin', signal: this.ctrl.signal });
        } catch {
          if (!this.running) break;
          await sleep(200);
          continue;
        }
        seg.end = performance.now();
        this.bytes += this.segmentBytes;
        this.advance(seg.end);
        this.buffered += JAKE_SEGMENT_S;
        this.stalled = false;
        this.playing = true;
      }
    })();
  }

  async stop() {
    this.running = false;
    this.advance(performance.now());
    this.ctrl?.abort();
    await this.loop;
  }

  metrics(end) {
    // A segment still loading at the end counts with the time it has
    // taken so far, when that is already longer than usual.
    const ratios = this.segments
      .map((s) => (Number.isFinite(s.end) ? s.end - s.start : end - s.start) / (JAKE_SEGMENT_S * 1000))
      .filter((r, i) => Number.isFinite(this.segments[i].end) || r >= 1);
    const done = this.segments.filter((s) => Number.isFinite(s.end));
    return {
      fetch_ratio_p90: round(ratios.length ? percentile(ratios, 90) : 1000, 3),
      stalls: this.stalls,
      segments: done.length,
    };
  }
}

export async function runHousehold(plan, onProgress) {
  const t0 = performance.now();
  const total = plannedSeconds(plan);
  const recorder = new RttRecorder();
  const prober = new Prober(api('/ping'), recorder, { intervalMs: 100, maxInFlight: 2 });
  const phases = [];
  let current = { name: 'baseline', label: 'Measuring idle latency' };
  let meter = null;
  let alex = null;
  const progress = startProgress(onProgress, t0, total,
    () => ({ phase: current.name, label: current.label, meter, latency: alex ? alex.last : prober.last }));
  const capacity = {};
  let result;

  try {
    // Idle baseline.
    prober.start();
    let start = performance.now();
    await sleep(plan.baseline);
    await prober.stop();
    phases.push({ name: 'baseline', start, rampEnd: start, end: performance.now() });
    await recorder.settle();
    const baseline = median(prober.rtts(start, performance.now()));

    // Capacity estimate, one direction at a time.
    for (const dir of ['down', 'up']) {
      current = { name: `capacity_${dir}`, label: dir === 'down' ? 'Estimating download capacity' : 'Estimating upload capacity' };
      // Short upload requests: the estimate window is only a few seconds.
      const load = new LoadSet(api('/load/download'), api('/load/upload'), { uploadMaxSeconds: 1.5 });
      meter = new RateMeter(load.counters);
      const s = meter.mark();
      load.start(dir === 'down' ? 4 : 0, dir === 'up' ? 4 : 0);
      await sleep(plan.capacityRamp);
      const r = meter.mark();
      await sleep(plan.capacity - plan.capacityRamp);
      const e = meter.mark();
      if (dir === 'up') await load.finishUploads(4000);
      await load.stop();
      meter.stop();
      meter = null;
      capacity[dir] = dir === 'down' ? mbps(e.down - r.down, e.t - r.t) : uploadMbps(load, r.t, e.t);
      phases.push({ name: current.name, start: s.t, rampEnd: r.t, end: e.t, mbps: capacity[dir] });
      current = { name: 'gap', label: 'Letting the queue drain' };
      await sleep(plan.gap);
    }

    // The household.
    current = { name: 'household', label: 'Alex, Sarah, Jake and Computer online' };
    const jakeMbps = Math.min(25, Math.max(0.5, 0.15 * capacity.down));
    alex = new Alex(recorder);
    const sarah = new Sarah();
    const jake = new Jake(jakeMbps);
    const computer = new LoadSet(api('/load/download'), api('/load/upload'));
    meter = new RateMeter(computer.counters);
    start = performance.now();
    const cs = meter.mark();
    alex.start();
    sarah.start();
    jake.start();
    computer.start(2, 1);
    await sleep(plan.ramp);
    const cr = meter.mark();
    const sarahAtRamp = { up: sarah.up.bytes, down: sarah.down.bytes };
    const jakeAtRamp = jake.bytes;
    await sleep(plan.household - plan.ramp);
    const ce = meter.mark();
    const end = ce.t;
    sarah.stop();
    await Promise.allSettled([alex.stop(), jake.stop(), computer.stop()]);
    meter.stop();
    meter = null;
    await recorder.settle();
    phases.push({ name: 'household', start: cs.t, rampEnd: cr.t, end });

    const windowMs = end - cr.t;
    const compDown = mbps(ce.down - cr.down, windowMs);
    const compUp = uploadMbps(computer, cr.t, end);
    const sarahDown = mbps(sarah.down.bytes - sarahAtRamp.down, windowMs);
    const sarahUp = mbps(sarah.up.bytes - sarahAtRamp.up, windowMs);
    const jakeRate = mbps(jake.bytes - jakeAtRamp, windowMs);
    // Spare download capacity: what Sarah and Jake left. (Computer's
    // upload is there to load the upstream for Alex and Sarah; on links
    // where both directions share the medium, such as Wi-Fi, adding the
    // directions up would overstate what was spare.)
    const spare = capacity.down - sarahDown - jakeRate;
    const share = spare > 0 ? Math.min(100, (100 * compDown) / spare) : 0;

    result = {
      payload: {
        test_type: 'virtual_household',
        test_duration_seconds: round((performance.now() - t0) / 1000, 1),
        baseline_latency_ms: round(baseline),
        download_mbps: round(capacity.down),
        upload_mbps: round(capacity.up),
        alex: alex.metrics(cr.t, end, baseline),
        sarah: sarah.metrics(cr.t, end - 500, baseline),
        jake: (({ fetch_ratio_p90, stalls }) => ({ fetch_ratio_p90, stalls }))(jake.metrics(end)),
        computer: { spare_capacity_share_pct: round(share), throughput_mbps: round(compDown) },
      },
      detail: {
        t0,
        epochT0: performance.timeOrigin + t0,
        baseline,
        jake_bitrate_mbps: jakeMbps,
        jake_segments: jake.metrics(end).segments,
        computer_down_mbps: compDown,
        computer_up_mbps: compUp,
        sarah_down_mbps: sarahDown,
        sarah_up_mbps: sarahUp,
        probes: [
          ...prober.samples.map((s) => ({ t: (s.sent - t0) / 1000, rtt: s.ok ? recorder.rttOf(s) : NaN })),
          ...alex.samples.filter((s) => !s.skipped).map((s) => ({ t: (s.sent - t0) / 1000, rtt: s.ok ? recorder.rttOf(s) : NaN })),
        ],
        phases: phases.map((ph) => ({ ...ph, start: (ph.start - t0) / 1000, rampEnd: (ph.rampEnd - t0) / 1000, end: (ph.end - t0) / 1000 })),
      },
    };
  } finally {
    progress.stop();
    meter?.stop();
    recorder.close();
  }
  return result;
}
