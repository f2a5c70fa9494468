// Load generators: parallel download streams (fetch, body read and
// dropped as it arrives) and upload streams (XMLHttpRequest, whose upload
// progress events count the bytes sent). Both are credentialed requests,
// on the connection pool the latency probes do not use (see probe.js).

const MiB = 1024 * 1024;
const UPLOAD_MIN = 1 * MiB;
// The sink takes any size. 1 GiB lasts over 3 s even for one of four
// streams at 10 Gbit/s, so no stream restarts more often than that.
const UPLOAD_MAX = 1024 * MiB;
const UPLOAD_SECONDS = 3;

// Upload bodies are Blobs of a power-of-two number of MiB: the 1 MiB of
// random bytes, made once, then each size made of two references to the
// size below it, so all eleven sizes (1 MiB to 1 GiB) hold only the one
// MiB of data and at most eleven Blobs ever exist. (Caching a Blob per
// size asked for, up to 64 sizes of up to 1 GiB each, ran the browser's
// Blob storage out: uploads then failed with ERR_BLOB_OUT_OF_MEMORY on a
// fast link.)
const blobs = [];
function uploadBlob(size) {
  if (!blobs.length) {
    const bytes = new Uint8Array(MiB);
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    blobs.push(new Blob([bytes], { type: 'application/octet-stream' }));
  }
  while (blobs[blobs.length - 1].size < size) {
    const half = blobs[blobs.length - 1];
    blobs.push(new Blob([half, half], { type: 'application/octet-stream' }));
  }
  return blobs.find((b) => b.size >= size);
}

// The power-of-two number of MiB nearest to `bytes` (a request lasts
// 0.7 to 1.4 times as long as wanted), none above `most` bytes, within
// UPLOAD_MIN..UPLOAD_MAX.
function uploadSize(bytes, most = Infinity) {
  let size = MiB * 2 ** Math.round(Math.log2(Math.max(1, bytes / MiB)));
  while (size > most && size > UPLOAD_MIN) size /= 2;
  return Math.min(UPLOAD_MAX, Math.max(UPLOAD_MIN, size));
}

const cacheBuster = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

// A set of running transfers that count into shared byte counters and
// stop together.
export class LoadSet {
  // uploadStartBytes: size of each upload stream's first request, when
  // the caller already knows roughly how fast uploads go.
  // uploadMaxSeconds: keep each upload request this short (at the rate the
  // previous one reached), for short measurements: every request then ends
  // inside the phase and is counted as the server confirmed it, where a
  // long unfinished request can only be estimated from the browser's
  // progress, which runs ahead of the server.
  constructor(downloadUrl, uploadUrl, { uploadStartBytes = UPLOAD_MIN, uploadMaxSeconds = Infinity } = {}) {
    this.downloadUrl = downloadUrl;
    this.uploadUrl = uploadUrl;
    this.uploadMaxSeconds = uploadMaxSeconds;
    this.uploadStartBytes = uploadSize(uploadStartBytes);
    this.counters = { down: 0, up: 0 };
    this.running = false;
    this.aborts = new Set();
    this.loops = [];
    this.errors = 0;
    this.uploads = []; // one record per upload request, see uploadMbps()
  }

  start(downStreams, upStreams) {
    this.running = true;
    this.uploadsOpen = true;
    this.uploadLoops = [];
    for (let i = 0; i < downStreams; i++) this.loops.push(this.downloadLoop());
    for (let i = 0; i < upStreams; i++) this.uploadLoops.push(this.uploadLoop());
    this.loops.push(...this.uploadLoops);
  }

  // Start no new upload request and wait (at most maxMs) for the running
  // ones to finish, everything else still running: each finished request
  // then tells exactly how far ahead of the server its progress ran (see
  // uploadMbps), also for the moment the measurement window closed.
  async finishUploads(maxMs) {
    this.uploadsOpen = false;
    if (!this.uploadLoops?.length) return;
    let timer;
    await Promise.race([Promise.allSettled(this.uploadLoops),
      new Promise((r) => { timer = setTimeout(r, maxMs); })]);
    clearTimeout(timer);
  }

  async stop() {
    this.running = false;
    for (const abort of this.aborts) abort();
    this.aborts.clear();
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  async downloadLoop() {
    while (this.running) {
      const ctrl = new AbortController();
      const abort = () => ctrl.abort();
      this.aborts.add(abort);
      try {
        const res = await fetch(`${this.downloadUrl}?r=${cacheBuster()}`, {
          cache: 'no-store',
          credentials: 'same-origin',
          signal: ctrl.signal,
        });
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          this.counters.down += value.byteLength;
        }
      } catch {
        if (this.running) {
          this.errors++;
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        this.aborts.delete(abort);
      }
    }
  }

  async uploadLoop() {
    let size = this.uploadStartBytes;
    let prevLag = NaN;
    let prevRate = NaN;
    while (this.running && this.uploadsOpen) {
      const started = performance.now();
      const record = { start: started, end: NaN, size, done: false, events: [[started, 0]], allSent: NaN, lag: NaN, prevLag, prevRate };
      this.uploads.push(record);
      const ok = await this.uploadOnce(size, record);
      if (!ok && this.running) {
        this.errors++;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      // Size the next request to last about UPLOAD_SECONDS at the rate
      // this one reached: between two requests a stream sends nothing for
      // a round trip (through both queues, when bloated) plus the start of
      // the sink, so few and long requests keep the link full.
      const rate = size / Math.max(1, performance.now() - started); // bytes per ms
      prevLag = record.lag;
      prevRate = rate;
      size = uploadSize(Math.max(2 * size, rate * UPLOAD_SECONDS * 1000), rate * this.uploadMaxSeconds * 1000);
    }
  }

  uploadOnce(size, record) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      let counted = 0;
      const abort = () => xhr.abort();
      const done = (ok) => {
        this.aborts.delete(abort);
        record.end = performance.now();
        record.done = ok;
        if (ok) record.lag = record.end - (Number.isFinite(record.allSent) ? record.allSent : record.end);
        resolve(ok);
      };
      xhr.open('POST', `${this.uploadUrl}?r=${cacheBuster()}`);
      xhr.upload.onprogress = (e) => {
        this.counters.up += e.loaded - counted;
        counted = e.loaded;
        const now = performance.now();
        record.events.push([now, e.loaded]);
        if (e.loaded >= size && !Number.isFinite(record.allSent)) record.allSent = now;
      };
      xhr.onload = () => {
        if (xhr.status === 200 && counted < size) this.counters.up += size - counted;
        done(xhr.status === 200);
      };
      xhr.onerror = () => done(false);
      xhr.onabort = () => done(false);
      this.aborts.add(abort);
      xhr.send(uploadBlob(size));
    });
  }
}

// Upload throughput between times a and b (performance.now()), in Mbps.
//
// Upload progress events count bytes handed to the operating system,
// which runs ahead of what the server has received by whatever sits in
// the socket's send buffer, and that buffer grows with the congestion
// window: counted that way, an upload that is still speeding up reads
// high. So the graded figure counts what the server confirmed: a finished
// request's bytes spread evenly over its life (a stream's requests follow
// each other, so they tile the time; phases let running requests finish
// before counting, see finishUploads). A request that never finished is
// counted from its progress, shifted by the previous request's lag (last
// byte handed over to the server's answer) and never faster than the
// previous request went.
function handedOverAt(r, t) {
  const ev = r.events;
  if (t <= ev[0][0]) return 0;
  for (let i = 1; i < ev.length; i++) {
    if (t <= ev[i][0]) {
      const [t0, v0] = ev[i - 1];
      const [t1, v1] = ev[i];
      return t1 > t0 ? v0 + ((v1 - v0) * (t - t0)) / (t1 - t0) : v1;
    }
  }
  return ev[ev.length - 1][1];
}

function deliveredAt(r, t) {
  if (t <= r.start) return 0;
  if (r.done) return t >= r.end ? r.size : (r.size * (t - r.start)) / Math.max(1, r.end - r.start);
  const shifted = handedOverAt(r, t - (Number.isFinite(r.prevLag) ? r.prevLag : 0));
  const paced = Number.isFinite(r.prevRate) ? (t - r.start) * r.prevRate : Infinity;
  return Math.min(r.size, shifted, paced);
}

export function uploadMbps(loadSet, a, b) {
  let bytes = 0;
  for (const r of loadSet.uploads) bytes += deliveredAt(r, b) - deliveredAt(r, a);
  return (bytes * 8) / ((b - a) * 1000);
}

// Records the byte counters every `everyMs` so that live and windowed
// throughput can be computed. Times are performance.now().
export class RateMeter {
  constructor(counters, everyMs = 100) {
    this.counters = counters;
    this.points = [];
    this.timer = setInterval(() => this.mark(), everyMs);
    this.mark();
  }

  mark() {
    const p = { t: performance.now(), down: this.counters.down, up: this.counters.up };
    this.points.push(p);
    return p;
  }

  // Mbps over the last `ms` milliseconds (live display).
  live(ms = 1000) {
    const now = this.mark();
    let i = this.points.length - 1;
    while (i > 0 && now.t - this.points[i - 1].t <= ms) i--;
    const then = this.points[Math.max(0, i - 1)];
    const dt = now.t - then.t;
    return {
      down: dt > 0 ? ((now.down - then.down) * 8) / (dt * 1000) : 0,
      up: dt > 0 ? ((now.up - then.up) * 8) / (dt * 1000) : 0,
    };
  }

  stop() {
    clearInterval(this.timer);
  }
}

// Calls onProgress with { phase, label, elapsed, total, down, up, latency }
// four times a second until stop(); state() gives the runner's current
// { phase, label, meter, latency }, t0 its start (performance.now()).
export function startProgress(onProgress, t0, total, state) {
  const timer = setInterval(() => {
    const s = state();
    const rate = s.meter ? s.meter.live(1000) : { down: 0, up: 0 };
    onProgress?.({
      phase: s.phase,
      label: s.label,
      elapsed: (performance.now() - t0) / 1000,
      total,
      down: rate.down,
      up: rate.up,
      latency: s.latency,
    });
  }, 250);
  return { stop: () => clearInterval(timer) };
}
