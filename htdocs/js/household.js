// The virtual household: after an idle baseline and a short capacity
// estimate, four simulated users share the connection at once, each with
// the traffic of its application, over HTTP against this server. Every
// figure is the network's: each request is timed by Resource Timing from
// the moment it went on the wire (requestStart), so neither JavaScript
// timers nor a wait for a free connection in the browser count, and the
// idle round trip (base RTT) is subtracted, so distance to the server
// never counts against anyone.
//
//   Alex (gaming)      a small request and reply 20 times a second on a
//                      fixed clock, up to 3 in flight; an update not sent
//                      because 3 are still out is not counted (never lost).
//   Sarah (video call) 2.5 Mbit/s each way: a 15.6 kB frame each way 20
//                      times a second on a fixed clock, each frame its own
//                      request, up to 2 in flight downstream and 1
//                      upstream (likewise not counted). Her call also runs
//                      during the idle baseline, which gives each frame's
//                      idle delay (round trip + transfer + server).
//   Jake (streaming)   2-second video segments at 10 % of the measured
//                      download capacity (0.5 to 25 Mbit/s), fetched
//                      whenever the player holds less than 6 s of video.
//   Computer (bulk)    two downloads and one upload running all the time.
//
// Metrics (graded by the server, thresholds in libcommon/grade.c; the
// reasons for the deadlines below are in the README's Grading section):
//   alex.latency_increase_ms   the round trip's path delay (median of its
//                              lower envelope, see pathDelay) minus the
//                              idle path delay (the same for the idle
//                              baseline's probes)
//   alex.jitter_ms             how much the round trip moves: mean change of
//                              its lowest value from one 1 s window to the
//                              next (envelopeJitter)
//   alex.loss_pct              updates never answered (3 s) or answered
//                              more than ALEX_DEADLINE_MS after the idle
//                              round trip allows, of all updates sent
//   sarah.latency_increase_ms  path delay of the downstream frames (to
//                              their first byte) minus their idle one
//   sarah.jitter_ms            envelope jitter of the same delays
//   sarah.delivered_pct        frames delivered at most SARAH_LATE_MS later
//                              than their idle delay, of all frames sent
//   jake.fetch_ratio_p90       p90 of segment download time / 2 s, for the
//                              segments requested after the ramp
//   jake.stalls                times the player's buffer ran dry after the
//                              ramp
//   computer.spare_capacity_share_pct  Computer's download throughput /
//                              (download capacity - what Sarah and Jake
//                              used), at most 100
//   computer.throughput_mbps   Computer's download throughput
// Alex and Sarah send without credentials (the probes' connection pool);
// Jake and Computer with credentials (the load pool, 1 + 3 connections),
// so the game and the call never wait behind a bulk transfer.

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
// An update is as small as a browser's request can be: no referrer and
// no cache headers (each URL is new and the answer is never stored, so
// no cache could answer it anyway).
const ALEX_FETCH = { referrerPolicy: 'no-referrer', cache: 'default' };
// An update answered more than this after the idle round trip is lost to
// the game (README, Grading: a client's interpolation buffer).
const ALEX_DEADLINE_MS = 150;
// In flight at most: Alex 3, Sarah 2 downstream and 1 upstream, the six
// connections a browser opens to a server for requests without
// credentials (at 20 a second, 3 in flight cover round trips up to 150 ms
// without a skip; Sarah's delay comes from her downstream frames, the
// upstream ones only need to load the link and be delivered).
const ALEX_MAX_IN_FLIGHT = 3;
const SARAH_MAX_IN_FLIGHT = { up: 1, down: 2 };
const SARAH_FPS = 20;
const SARAH_FRAME_BYTES = Math.round(2.5e6 / 8 / SARAH_FPS); // 15625
// A frame this much later than its idle delay misses the call (README,
// Grading: ITU-T G.114's 400 ms mouth-to-ear limit).
const SARAH_LATE_MS = 400;
const JAKE_SEGMENT_S = 2;
// An HD stream (5 Mbit/s) on a 50 Mbit/s link; at most 25 Mbit/s (4K).
const JAKE_SHARE = 0.1;
// Computer's download streams. Two fill any link this test is for when
// its queue is sane; more would mostly add losses in a short tail-drop
// queue for everyone else.
const COMPUTER_DOWNLOADS = 2;
const COMPUTER_UPLOADS = 1;
const JAKE_BUFFER_GOAL_S = 6;
const DOWNLOAD_FILE_BYTES = 32 * 1024 * 1024; // Makefile.am LQOS_DOWNLOAD_BYTES

export function plannedSeconds(plan) {
  return (plan.baseline + 3 * plan.capacity + 3 * plan.gap + plan.household) / 1000;
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

// A delay series [{ t, d }] (t: when sent, d: its delay in ms) seen
// through its lower envelope: the lowest delay of each 1 s window. A
// queue moves the delay of every request in a window together; a busy
// browser, server or machine only ever adds delay to single requests,
// which the window's minimum leaves out (a request so late that it misses
// its deadline still counts as lost). So the path's delay is the median of
// the envelope, and its jitter the mean change of the envelope from one
// window to the next. The window holds about 20 of Alex's updates, enough
// that one of them met no busy client: measured on a 50 Mbit/s link with a
// 5 ms queue at 20 ms RTT (bench/README.md), most of the page's requests
// took longer than ping's over the same seconds (p90 54-84 ms against
// ping's 27 ms), and the envelope of 250 ms windows moved 4-8 ms from
// window to window while ping's samples moved 2.3 ms; the 1 s envelope
// moved 0.7-2.5 ms. On a 300 ms queue it moved 30-50 ms (ping's samples
// 17-53 ms), and its median was closer to ping's than the 250 ms one's.
const ENVELOPE_WINDOW_MS = 1000;
function envelope(series) {
  if (!series.length) return [];
  const t0 = Math.min(...series.map((x) => x.t));
  const lows = new Map();
  for (const { t, d } of series) {
    const k = Math.floor((t - t0) / ENVELOPE_WINDOW_MS);
    lows.set(k, Math.min(lows.get(k) ?? Infinity, d));
  }
  return [...lows.keys()].sort((a, b) => a - b).map((k) => lows.get(k));
}

export const pathDelay = (series) => median(envelope(series));

export function envelopeJitter(series) {
  const env = envelope(series);
  return env.length > 1 ? jitter(env) : 0;
}

// Requests timed on the wire: Resource Timing by URL (RttRecorder), the
// time JavaScript saw as the fallback.
let frameSeq = 0;
const tagUrl = (url, tag) => `${url}?lqprobe=${tag}${++frameSeq}_${Math.random().toString(36).slice(2, 8)}`;

// Alex: game updates, 20 a second on a fixed clock whatever is in flight.
class Alex {
  constructor(recorder) {
    this.recorder = recorder;
    this.samples = []; // probeOnce samples
    this.pending = new Set();
    this.skipped = 0;
    this.last = NaN;
  }

  // Half a tick after Sarah's frames: both run on a 50 ms clock, and an
  // update sent with a frame would queue right behind the frame's burst
  // of packets (a frame is sent as one TCP burst, a call's packets would
  // be paced), where a short queue drops it with the burst's tail.
  start() {
    this.timer0 = setTimeout(() => {
      this.timer = setInterval(() => this.tick(), 1000 / ALEX_HZ);
      this.tick();
    }, 500 / ALEX_HZ);
  }

  tick() {
    // The browser's six connections for requests without credentials are
    // Alex's and Sarah's: past ALEX_MAX_IN_FLIGHT an update would wait for
    // a connection, so it is not sent, and it is not counted at all (a
    // long round trip is graded as latency, never as loss).
    if (this.pending.size >= ALEX_MAX_IN_FLIGHT) {
      this.skipped++;
      return;
    }
    const p = probeOnce(api('/ping'), 'alex', '', ALEX_FETCH).then((s) => {
      this.pending.delete(p);
      this.samples.push(s);
      if (s.ok) this.last = s.jsRtt;
    });
    this.pending.add(p);
  }

  async stop() {
    clearTimeout(this.timer0);
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  metrics(from, to, baseline) {
    const inWindow = this.samples.filter((s) => s.sent >= from && s.sent < to).sort((a, b) => a.sent - b.sent);
    const series = inWindow.filter((s) => s.ok).map((s) => ({ t: s.sent, d: this.recorder.rttOf(s) }));
    // Lost: never answered, or answered after the game's deadline (the
    // idle round trip plus ALEX_DEADLINE_MS, from the update's sending).
    const onTime = series.filter((x) => x.d - baseline <= ALEX_DEADLINE_MS);
    const lost = inWindow.length - onTime.length;
    return {
      latency_increase_ms: round((series.length ? pathDelay(series) : PROBE_TIMEOUT_MS) - baseline),
      jitter_ms: round(envelopeJitter(series)),
      loss_pct: round(inWindow.length ? (100 * lost) / inWindow.length : 100),
    };
  }
}

// Sarah: one direction of the call. A frame every 1/SARAH_FPS s, each its
// own request (several in flight); a frame's delay is its request's time
// on the wire until the answer's first byte (responseStart): for an
// upload the server answers after the frame's last byte; for a download
// it is the frame's first packet, as a call's packets each cross the queue
// on their own (the rest of a frame sent as one TCP burst would add the
// time TCP takes to share the link, an artifact of carrying the call over
// HTTP).
class CallDirection {
  constructor(dir, recorder, send) {
    this.dir = dir;
    this.recorder = recorder;
    this.send = send; // (url, signal) => Promise
    this.frames = []; // { due, url, js, ok }
    this.pending = new Set();
    this.skipped = 0;
    this.bytes = 0;
  }

  start() {
    this.timer = setInterval(() => this.frame(), 1000 / SARAH_FPS);
  }

  frame() {
    // As for Alex: a frame that would wait for a connection is not sent
    // and not counted (a real call would send it; it would then arrive
    // late, which the frames that are sent already show).
    if (this.pending.size >= SARAH_MAX_IN_FLIGHT[this.dir]) {
      this.skipped++;
      return;
    }
    const f = { due: performance.now(), url: tagUrl(this.dir === 'up' ? UP_URL() : DOWN_URL(), `sarah${this.dir}`), js: NaN, ok: false };
    this.frames.push(f);
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), PROBE_TIMEOUT_MS);
    const p = this.send(f.url, ctrl.signal).then(() => {
      f.js = performance.now() - f.due;
      f.ok = true;
      this.bytes += SARAH_FRAME_BYTES;
    }, () => {}).finally(() => {
      clearTimeout(timer);
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }

  delayOf(f) {
    const e = this.recorder.entries.get(f.url);
    if (e && e.requestStart > 0) {
      const end = e.responseStart;
      if (end >= e.requestStart && end - e.requestStart <= f.js + 1) return end - e.requestStart;
    }
    return f.js;
  }

  // [{ t: due, d: delay ms }] of the frames due in [from, to), in order;
  // d is NaN for a frame that never arrived.
  delays(from, to) {
    return this.frames.filter((f) => f.due >= from && f.due < to).sort((a, b) => a.due - b.due)
      .map((f) => ({ t: f.due, d: f.ok ? this.delayOf(f) : NaN }));
  }
}

// Frames are static files on both sides, so a frame's delay is the
// network's, never a CGI program's start-up (which on a busy server took
// 20-800 ms where ping took 21-38 ms). Upstream frames go to the probe's
// file: Apache reads and drops a POST body before answering with it.
// Downstream frames are one video frame's file (htdocs/load/frame.bin,
// SARAH_FRAME_BYTES of random bytes).
const UP_URL = () => api('/ping');
const DOWN_URL = () => api('/load/frame');

class Sarah {
  constructor(recorder) {
    const frameData = new Uint8Array(SARAH_FRAME_BYTES);
    crypto.getRandomValues(frameData);
    this.up = new CallDirection('up', recorder, async (url, signal) => {
      const res = await fetch(url, { method: 'POST', body: frameData, credentials: 'omit', cache: 'no-store', signal });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`upload ${res.status}`);
    });
    this.down = new CallDirection('down', recorder, async (url, signal) => {
      const res = await fetch(url, { credentials: 'omit', cache: 'no-store', signal });
      const buf = await res.arrayBuffer();
      if (!res.ok || buf.byteLength !== SARAH_FRAME_BYTES) throw new Error(`frame got ${buf.byteLength}`);
    });
    this.idle = { up: NaN, down: NaN };
  }

  start() {
    this.up.start();
    this.down.start();
  }

  async stop() {
    await Promise.allSettled([this.up.stop(), this.down.stop()]);
  }

  // Each direction's idle frame delay, from the frames sent in [from, to)
  // while nothing else ran.
  calibrate(from, to) {
    for (const dir of ['up', 'down']) this.idle[dir] = pathDelay(this[dir].delays(from, to).filter((x) => Number.isFinite(x.d)));
  }

  // Delay and jitter come from the downstream frames: their first byte
  // has crossed both queues (the request up, the frame down), as a call's
  // packets do. An upstream frame is answered only after its last byte,
  // and TCP may need more than one round trip to send a whole frame after
  // a loss: that is how TCP carries a burst, not the queue, so upstream
  // frames count for delivery only.
  metrics(from, to) {
    let sent = 0;
    let onTime = 0;
    for (const dir of ['up', 'down']) {
      const frames = this[dir].delays(from, to);
      const idle = Number.isFinite(this.idle[dir]) ? this.idle[dir] : 0;
      sent += frames.length;
      onTime += frames.filter((x) => Number.isFinite(x.d) && x.d - idle <= SARAH_LATE_MS).length;
    }
    const down = this.down.delays(from, to).filter((x) => Number.isFinite(x.d));
    return {
      latency_increase_ms: round(down.length ? pathDelay(down) - this.idle.down : PROBE_TIMEOUT_MS),
      jitter_ms: round(envelopeJitter(down)),
      delivered_pct: round(sent ? (100 * onTime) / sent : 0),
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
    this.stallTimes = [];
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
        this.stallTimes.push(now);
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

  // Judged after the ramp (`from`): the first segments fill the buffer
  // while every other user is still starting up.
  metrics(from, end) {
    // A segment still loading at the end counts with the time it has
    // taken so far, when that is already longer than usual.
    const ratios = this.segments
      .filter((s) => s.start >= from && s.start < end)
      .map((s) => ({ s, r: (Number.isFinite(s.end) ? s.end - s.start : end - s.start) / (JAKE_SEGMENT_S * 1000) }))
      .filter(({ s, r }) => Number.isFinite(s.end) || r >= 1)
      .map(({ r }) => r);
    const done = this.segments.filter((s) => Number.isFinite(s.end));
    return {
      fetch_ratio_p90: round(ratios.length ? percentile(ratios, 90) : 1000, 3),
      stalls: this.stallTimes.filter((t) => t >= from && t < end).length,
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
    // Idle baseline; Sarah's call runs too, for each direction's idle
    // frame delay (5 Mbit/s in all: no queue on any link this test is for).
    const calibration = new Sarah(recorder);
    prober.start();
    calibration.start();
    let start = performance.now();
    await sleep(plan.baseline);
    const baselineEnd = performance.now();
    await Promise.allSettled([prober.stop(), calibration.stop()]);
    phases.push({ name: 'baseline', start, rampEnd: start, end: baselineEnd });
    await recorder.settle();
    const baseline = median(prober.rtts(start, baselineEnd));
    // The idle path delay the users are judged against: the same lower
    // envelope as their own figures (see pathDelay).
    const idlePath = pathDelay(prober.samples.filter((s) => s.ok && s.sent >= start && s.sent < baselineEnd)
      .map((s) => ({ t: s.sent, d: recorder.rttOf(s) })));
    // The first frames of each direction open their connections.
    calibration.calibrate(start + Math.min(1000, plan.baseline / 3), baselineEnd);

    // Capacity estimate, one direction at a time, then both at once (four
    // streams each way): the download capacity while the upstream is
    // full too, which is what Computer, who uploads while it downloads,
    // can have. A path whose download slows when the upstream fills
    // (ACKs queued behind uploads, or a client busy sending) has less to
    // give then, and Computer is judged against that, not against the
    // figure with an idle upstream.
    // Streams (down, up): the download alone uses the load pool's six
    // connections, as the single-user download does (at a long round trip
    // behind a short queue four cubic flows leave a fast link part empty);
    // the upload four, as the single-user upload (see single.js); both at
    // once four each way.
    const CAPACITY_STREAMS = { down: [6, 0], up: [0, 4], both: [4, 4] };
    const CAPACITY_LABELS = {
      down: 'Estimating download capacity',
      up: 'Estimating upload capacity',
      both: 'Estimating capacity with both directions loaded',
    };
    for (const dir of ['down', 'up', 'both']) {
      current = { name: `capacity_${dir}`, label: CAPACITY_LABELS[dir] };
      // Short upload requests: the estimate window is only a few seconds.
      const load = new LoadSet(api('/load/download'), api('/load/upload'), { uploadMaxSeconds: 1.5 });
      meter = new RateMeter(load.counters);
      const s = meter.mark();
      load.start(...CAPACITY_STREAMS[dir]);
      await sleep(plan.capacityRamp);
      const r = meter.mark();
      await sleep(plan.capacity - plan.capacityRamp);
      const e = meter.mark();
      if (dir !== 'down') await load.finishUploads(4000);
      await load.stop();
      meter.stop();
      meter = null;
      const up = dir === 'down' ? 0 : uploadMbps(load, r.t, e.t);
      capacity[dir] = dir === 'up' ? up : mbps(e.down - r.down, e.t - r.t);
      if (dir === 'both') capacity.bothUp = up;
      phases.push({ name: current.name, start: s.t, rampEnd: r.t, end: e.t, mbps: capacity[dir] });
      current = { name: 'gap', label: 'Letting the queue drain' };
      await sleep(plan.gap);
    }

    // The household.
    current = { name: 'household', label: 'Alex, Sarah, Jake and Computer online' };
    const jakeMbps = Math.min(25, Math.max(0.5, JAKE_SHARE * capacity.down));
    alex = new Alex(recorder);
    const sarah = new Sarah(recorder);
    sarah.idle = calibration.idle;
    const jake = new Jake(jakeMbps);
    const computer = new LoadSet(api('/load/download'), api('/load/upload'));
    meter = new RateMeter(computer.counters);
    start = performance.now();
    const cs = meter.mark();
    sarah.start();
    alex.start();
    jake.start();
    computer.start(COMPUTER_DOWNLOADS, COMPUTER_UPLOADS);
    await sleep(plan.ramp);
    const cr = meter.mark();
    const sarahAtRamp = { up: sarah.up.bytes, down: sarah.down.bytes };
    const jakeAtRamp = jake.bytes;
    await sleep(plan.household - plan.ramp);
    const ce = meter.mark();
    const end = ce.t;
    const sarahAtEnd = { up: sarah.up.bytes, down: sarah.down.bytes };
    // Nothing new is sent; updates and frames still on their way get
    // their answers (or time out) while the load keeps running.
    await Promise.allSettled([alex.stop(), sarah.stop()]);
    await Promise.allSettled([jake.stop(), computer.stop()]);
    meter.stop();
    meter = null;
    await recorder.settle();
    phases.push({ name: 'household', start: cs.t, rampEnd: cr.t, end });

    const windowMs = end - cr.t;
    const compDown = mbps(ce.down - cr.down, windowMs);
    const compUp = uploadMbps(computer, cr.t, end);
    const sarahDown = mbps(sarahAtEnd.down - sarahAtRamp.down, windowMs);
    const sarahUp = mbps(sarahAtEnd.up - sarahAtRamp.up, windowMs);
    const jakeRate = mbps(jake.bytes - jakeAtRamp, windowMs);
    // Spare download capacity: what Sarah and Jake left of the download
    // capacity with both directions loaded (Computer's upload is there to
    // load the upstream for Alex and Sarah; on links where both
    // directions share the medium, such as Wi-Fi, adding the directions
    // up would overstate what was spare).
    const spare = capacity.both - sarahDown - jakeRate;
    const share = spare > 0 ? Math.min(100, (100 * compDown) / spare) : 0;

    result = {
      payload: {
        test_type: 'virtual_household',
        test_duration_seconds: round((performance.now() - t0) / 1000, 1),
        baseline_latency_ms: round(baseline),
        download_mbps: round(capacity.down),
        upload_mbps: round(capacity.up),
        alex: alex.metrics(cr.t, end, idlePath),
        sarah: sarah.metrics(cr.t, end),
        jake: (({ fetch_ratio_p90, stalls }) => ({ fetch_ratio_p90, stalls }))(jake.metrics(cr.t, end)),
        computer: { spare_capacity_share_pct: round(share), throughput_mbps: round(compDown) },
      },
      detail: {
        t0,
        epochT0: performance.timeOrigin + t0,
        baseline,
        jake_bitrate_mbps: jakeMbps,
        jake_segments: jake.metrics(cr.t, end).segments,
        sarah_idle_frame_ms: { up: round(sarah.idle.up), down: round(sarah.idle.down) },
        sarah_increase_ms: Object.fromEntries(['up', 'down'].map((dir) => [dir,
          round(pathDelay(sarah[dir].delays(cr.t, end).filter((x) => Number.isFinite(x.d))) - sarah.idle[dir])])),
        idle_path_ms: round(idlePath),
        // Both directions loaded at once (Computer's spare capacity).
        capacity_both_mbps: { down: round(capacity.both), up: round(capacity.bothUp) },
        // Sent and not sent (their connections all busy), whole household.
        alex_updates: { sent: alex.samples.length, skipped: alex.skipped },
        sarah_frames: { sent: sarah.up.frames.length + sarah.down.frames.length, skipped: sarah.up.skipped + sarah.down.skipped },
        // Everything the household received and sent after the ramp
        // (Computer, Jake and Sarah; Alex's bytes are negligible): what the
        // router passed in the same seconds.
        household_down_mbps: compDown + jakeRate + sarahDown,
        household_up_mbps: compUp + sarahUp,
        jake_mbps: jakeRate,
        computer_down_mbps: compDown,
        computer_up_mbps: compUp,
        sarah_down_mbps: sarahDown,
        sarah_up_mbps: sarahUp,
        // Sarah's downstream frames (t: s since t0, d: delay ms, NaN if
        // never delivered), for comparison with ping (bench/accuracy).
        sarah_down_frames: sarah.down.delays(cs.t, end).map((x) => ({ t: round((x.t - t0) / 1000, 3), d: round(x.d) })),
        probes: [
          ...prober.samples.map((s) => ({ t: (s.sent - t0) / 1000, rtt: s.ok ? recorder.rttOf(s) : NaN })),
          ...alex.samples.map((s) => ({ t: (s.sent - t0) / 1000, rtt: s.ok ? recorder.rttOf(s) : NaN })),
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
