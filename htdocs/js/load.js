// Load generators: parallel download streams (fetch, body read and
// dropped as it arrives) and upload streams (XMLHttpRequest, whose upload
// progress events count the bytes sent). Both are credentialed requests,
// on the connection pool the latency probes do not use (see probe.js).

const MiB = 1024 * 1024;
const UPLOAD_MIN = 1 * MiB;
const UPLOAD_MAX = 64 * MiB; // the sink takes up to 256 MiB a request

let randomBlock = null;

// 1 MiB of random bytes, made once: uploads are built from it.
function block() {
  if (!randomBlock) {
    randomBlock = new Uint8Array(MiB);
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(randomBlock.subarray(i, i + 65536));
  }
  return randomBlock;
}

const blobs = new Map();
function uploadBlob(size) {
  if (!blobs.has(size)) {
    const parts = [];
    for (let left = size; left > 0; left -= MiB) parts.push(left >= MiB ? block() : block().subarray(0, left));
    blobs.set(size, new Blob(parts, { type: 'application/octet-stream' }));
  }
  return blobs.get(size);
}

const cacheBuster = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

// A set of running transfers that count into shared byte counters and
// stop together.
export class LoadSet {
  constructor(downloadUrl, uploadUrl) {
    this.downloadUrl = downloadUrl;
    this.uploadUrl = uploadUrl;
    this.counters = { down: 0, up: 0 };
    this.running = false;
    this.aborts = new Set();
    this.loops = [];
    this.errors = 0;
  }

  start(downStreams, upStreams) {
    this.running = true;
    for (let i = 0; i < downStreams; i++) this.loops.push(this.downloadLoop());
    for (let i = 0; i < upStreams; i++) this.loops.push(this.uploadLoop());
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
    let size = UPLOAD_MIN;
    while (this.running) {
      const started = performance.now();
      const ok = await this.uploadOnce(size);
      if (!ok && this.running) {
        this.errors++;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      // Grow requests until each lasts a second or more, so that the
      // pause between two requests is a small part of the time.
      if (performance.now() - started < 1000 && size < UPLOAD_MAX) size *= 2;
    }
  }

  uploadOnce(size) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      let counted = 0;
      const abort = () => xhr.abort();
      const done = (ok) => {
        this.aborts.delete(abort);
        resolve(ok);
      };
      xhr.open('POST', `${this.uploadUrl}?r=${cacheBuster()}`);
      xhr.upload.onprogress = (e) => {
        this.counters.up += e.loaded - counted;
        counted = e.loaded;
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
