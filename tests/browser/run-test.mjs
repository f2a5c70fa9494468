// Drives the bufferbloat test page in Debian's headless Chromium and
// prints one JSON object with what the page measured, submitted and
// showed. Used by tests/browser_test.py and bench/accuracy.
//
//   node run-test.mjs --url URL [--mode single|household|poolcheck]
//        [--viewport desktop|phone] [--screenshots PREFIX] [--timeout SECONDS]
//        [--ignore-cert 1]   (accept a self-signed certificate: tests only)
//
// Chromium and its flags: chromium.mjs.
import { parseArgs, runInChromium } from './chromium.mjs';

const args = parseArgs();
const url = args.url;
const mode = args.mode || 'single';
const viewport = args.viewport === 'phone' ? { width: 390, height: 844 } : { width: 1280, height: 900 };
const timeoutMs = Number(args.timeout || 120) * 1000;
const shots = args.screenshots || null;

const out = { mode, viewport: args.viewport || 'desktop', consoleErrors: [], screenshots: [] };
const launch = {
  ignoreCert: args['ignore-cert'] === '1',
  viewport,
  deviceScaleFactor: args.viewport === 'phone' ? 2 : 1,
  isMobile: args.viewport === 'phone',
  hasTouch: args.viewport === 'phone',
};

async function shot(page, name) {
  if (!shots) return;
  const path = `${shots}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
  out.screenshots.push(path);
}

// Probes against load: with `probeCredentials` 'omit' (what the page
// does) probes must not queue behind six credentialed downloads; with
// 'same-origin' they share the load's pool and do queue. Reports the
// time each probe waited for a connection (Resource Timing).
async function poolCheck(page, probeCredentials) {
  return page.evaluate(async ({ cred }) => {
    performance.setResourceTimingBufferSize(10000);
    performance.clearResourceTimings();
    const ctrls = [];
    let bytes = 0;
    let running = true;
    const loads = [];
    for (let i = 0; i < 6; i++) {
      loads.push((async () => {
        while (running) {
          const c = new AbortController();
          ctrls.push(c);
          try {
            const r = await fetch(`/api/load/download?pc=${Math.random()}`, { cache: 'no-store', signal: c.signal });
            const rd = r.body.getReader();
            for (;;) {
              const { done, value } = await rd.read();
              if (done) break;
              bytes += value.byteLength;
              // Read slowly so that every load request stays open.
              await new Promise((res) => setTimeout(res, 5));
            }
          } catch { /* aborted */ }
        }
      })());
    }
    await new Promise((r) => setTimeout(r, 500));
    const samples = [];
    for (let i = 0; i < 20; i++) {
      const u = new URL(`/api/ping?lqprobe=pool${i}_${Math.random()}`, location.href).href;
      const t = performance.now();
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 1500);
      let ok = true;
      try {
        await (await fetch(u, { credentials: cred, cache: 'no-store', signal: ctrl.signal })).arrayBuffer();
      } catch { ok = false; }
      clearTimeout(timer);
      const js = performance.now() - t;
      await new Promise((r) => setTimeout(r, 20));
      const e = performance.getEntriesByName(u)[0];
      const connect = e && e.connectEnd > e.connectStart ? e.connectEnd - e.connectStart : 0;
      samples.push({ ok, js, queued: e && e.requestStart > 0 ? e.requestStart - e.fetchStart - connect : (ok ? NaN : js) });
      await new Promise((r) => setTimeout(r, 50));
    }
    running = false;
    ctrls.forEach((c) => c.abort());
    await Promise.allSettled(loads);
    return { samples, loadBytes: bytes };
  }, { cred: probeCredentials });
}

await runInChromium(out, launch, async (context) => {
  const page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') out.consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => out.consoleErrors.push(`pageerror: ${err.message}`));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.lqosTest && window.lqosTest.state === 'ready', null, { timeout: 15000 });
  out.sponsorText = await page.locator('#sponsor').isVisible() ? await page.locator('#sponsor').innerText() : null;
  out.plannedSeconds = {
    single: Number(await page.locator('#single-seconds').innerText()),
    household: Number(await page.locator('#household-seconds').innerText()),
  };
  if (mode === 'poolcheck') {
    out.omit = await poolCheck(page, 'omit');
    out.credentialed = await poolCheck(page, 'same-origin');
  } else {
    await shot(page, 'start');
    await page.locator(`input[name="mode"][value="${mode}"]`).check();
    await page.locator('#start').click();
    await page.waitForFunction(() => document.body.dataset.phase && document.body.dataset.phase !== 'baseline', null, { timeout: 30000 });
    // Under load the live figures must show up: poll for up to 10 s (the
    // first second of a phase has no rate yet, and a phase boundary shows
    // none for a moment), then record what is shown.
    await page.waitForFunction(() => {
      const t = (id) => document.getElementById(id)?.innerText ?? '–';
      return (t('live-down') !== '–' || t('live-up') !== '–') && t('live-latency') !== '–';
    }, null, { timeout: 10000, polling: 100 }).catch(() => {});
    await shot(page, 'progress');
    out.liveDuringLoad = {
      down: await page.locator('#live-down').innerText(),
      up: await page.locator('#live-up').innerText(),
      latency: await page.locator('#live-latency').innerText(),
    };
    await page.waitForFunction(() => ['done', 'error'].includes(window.lqosTest.state), null, { timeout: timeoutMs, polling: 500 });
    await page.waitForTimeout(300);
    await shot(page, 'results');
    const t = await page.evaluate(() => window.lqosTest);
    out.responsivenessText = await page.locator('#responsiveness').count()
      ? await page.locator('#responsiveness').innerText() : null;
    Object.assign(out, { state: t.state, error: t.error, payload: t.payload, detail: t.detail, response: t.response });
    // What the page shows: every grade badge by its place.
    out.shown = await page.evaluate(() => {
      const g = (sel) => document.querySelector(sel)?.dataset.grade ?? null;
      const shown = { overall: g('.overall .grade') };
      for (const k of ['download', 'upload', 'bidirectional']) shown[k] = g(`tr[data-phase="${k}"] .grade`);
      for (const k of ['alex', 'sarah', 'jake', 'computer']) shown[k] = g(`.user[data-user="${k}"] .grade`);
      return {
        grades: shown,
        storageNote: document.querySelector('#storage-note')?.innerText ?? null,
        testId: document.querySelector('#test-id')?.innerText ?? null,
        hasChart: !!document.querySelector('#latency-chart') && document.querySelector('#latency-chart').width > 0,
        hasMeanings: !!document.querySelector('.meanings'),
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      };
    });
  }
});
