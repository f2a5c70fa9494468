// The single-user test: idle baseline, then download, upload and both
// at once, with latency probes running throughout.
//
// Per load phase, the first `ramp` milliseconds are not graded (TCP is
// still filling the bottleneck queue). In the graded part:
//   throughput_mbps      bytes moved / time (bidirectional: both ways added)
//   latency_p50/p90_ms   percentiles of the probes' round trips
//   latency_increase_ms  loaded p50 minus the idle baseline p50
//   jitter_ms            mean difference between consecutive probes

import { api } from './api.js';
import { LoadSet, RateMeter, startProgress, uploadMbps } from './load.js';
import { Prober, RttRecorder } from './probe.js';
import { jitter, mbps, median, percentile, round, sleep } from './stats.js';

export const SINGLE_PLANS = {
  // About 40 s in all.
  full: { baseline: 5000, phase: 10000, ramp: 3000, gap: 1000 },
  // (each phase with uploads runs on until its upload requests finish,
  // usually one to two seconds)
  // Only for automated tests on loopback (?duration=short).
  short: { baseline: 2000, phase: 4000, ramp: 1500, gap: 500 },
};

// Streams per phase. Load requests are credentialed and probes are not,
// so they use separate connection pools (see probe.js); the load never
// needs more than the six connections of its own pool. The download
// uses all six: at a long round trip behind a short queue, cubic flows
// that lose a packet take seconds to grow back, and more flows leave
// less of the link empty (bench/README.md: 500 Mbit/s, 5 ms queue, 60 ms
// round trip, plain TCP for 10 s: four flows 69-71 % of the goodput, six
// 80-89 %). The upload keeps four: its figure is what the server
// confirmed, and a request still running at the end is estimated from
// the browser's progress (see load.js), which with six streams read up
// to 12 % above what the router passed (500 Mbit/s at 0 ms: 537.6
// against 477.6). Both directions at once use three streams each: when
// the downstream queue is bloated, an upload's acknowledgements wait in
// it, and two cubic flows with that round trip do not fill the upstream
// within the phase.
const PHASES = [
  { name: 'download', label: 'Download', down: 6, up: 0 },
  { name: 'upload', label: 'Upload', down: 0, up: 4 },
  { name: 'bidirectional', label: 'Download and upload', down: 3, up: 3 },
];

// Throughput in each whole second of a phase (Mbps), for the record.
function secondBySecond(points, from) {
  const out = [];
  let prev = points[0];
  for (const p of points) {
    if (p.t - prev.t >= 1000) {
      out.push({ t: round((p.t - from) / 1000, 1), down: round(mbps(p.down - prev.down, p.t - prev.t), 1),
        up: round(mbps(p.up - prev.up, p.t - prev.t), 1) });
      prev = p;
    }
  }
  return out;
}

export function plannedSeconds(plan) {
  return (plan.baseline + PHASES.length * plan.phase + (PHASES.length - 1) * plan.gap) / 1000;
}

// Runs the test. onProgress gets { phase, label, elapsed, total, down,
// up, latency } a few times a second. Resolves to { payload, detail }:
// payload is what POST /api/telemetry takes; detail has the samples for
// the chart and the phase times.
export async function runSingleUser(plan, onProgress) {
  const t0 = performance.now();
  const total = plannedSeconds(plan);
  const recorder = new RttRecorder();
  const prober = new Prober(api('/ping'), recorder, { intervalMs: 100, maxInFlight: 2 });
  const phases = [];
  let current = { name: 'baseline', label: 'Measuring idle latency' };
  let load = null;
  let meter = null;

  const progress = startProgress(onProgress, t0, total,
    () => ({ phase: current.name, label: current.label, meter, latency: prober.last }));

  try {
    prober.start();
    const baseStart = performance.now();
    await sleep(plan.baseline);
    phases.push({ name: 'baseline', start: baseStart, rampEnd: baseStart, end: performance.now() });

    for (let i = 0; i < PHASES.length; i++) {
      const p = PHASES[i];
      current = { name: p.name, label: p.label };
      // Upload requests start at the size the upload phase's rate calls
      // for (see load.js), so that each stream sends without pausing.
      const upRate = phases.find((x) => x.name === 'upload')?.up_mbps;
      const uploadStartBytes = upRate > 0 && p.up ? (upRate * 1e6 / 8 / p.up) * 3 : 0;
      load = new LoadSet(api('/load/download'), api('/load/upload'), { uploadStartBytes });
      meter = new RateMeter(load.counters);
      const start = meter.mark();
      load.start(p.down, p.up);
      await sleep(plan.ramp);
      const rampEnd = meter.mark();
      await sleep(plan.phase - plan.ramp);
      const end = meter.mark();
      if (p.up) {
        current = { name: p.name, label: `${p.label}: finishing` };
        await load.finishUploads(4000);
      }
      await load.stop();
      meter.stop();
      const points = meter.points;
      meter = null;
      phases.push({
        name: p.name,
        start: start.t,
        rampEnd: rampEnd.t,
        end: end.t,
        down_mbps: mbps(end.down - rampEnd.down, end.t - rampEnd.t),
        up_mbps: p.up ? uploadMbps(load, rampEnd.t, end.t) : 0,
        series: secondBySecond(points, start.t),
        errors: load.errors,
      });
      load = null;
      if (i < PHASES.length - 1) {
        current = { name: 'gap', label: 'Letting the queue drain' };
        await sleep(plan.gap);
      }
    }
  } finally {
    progress.stop();
    await prober.stop();
    if (load) await load.stop();
    meter?.stop();
  }
  await recorder.settle();

  const base = phases[0];
  const baselineRtts = prober.rtts(base.start, base.end);
  const baseline = median(baselineRtts);
  const payload = {
    test_type: 'single_user',
    test_duration_seconds: round((performance.now() - t0) / 1000, 1),
    baseline_latency_ms: round(baseline),
  };
  for (const ph of phases.slice(1)) {
    const rtts = prober.rtts(ph.rampEnd, ph.end);
    const p50 = percentile(rtts, 50);
    ph.latency_p50_ms = p50;
    payload[ph.name] = {
      throughput_mbps: round(ph.down_mbps + ph.up_mbps),
      latency_p50_ms: round(p50),
      latency_p90_ms: round(percentile(rtts, 90)),
      latency_increase_ms: round(p50 - baseline),
      jitter_ms: round(jitter(rtts)),
    };
  }

  const probes = prober.samples.map((s) => ({
    t: (s.sent - t0) / 1000,
    rtt: s.ok ? recorder.rttOf(s) : NaN,
    queued: recorder.queuedOf(s),
  }));
  recorder.close();
  return {
    payload,
    detail: {
      t0,
      epochT0: performance.timeOrigin + t0,
      baseline,
      probes,
      phases: phases.map((ph) => ({
        ...ph,
        start: (ph.start - t0) / 1000,
        rampEnd: (ph.rampEnd - t0) / 1000,
        end: (ph.end - t0) / 1000,
      })),
    },
  };
}
