// The page's own load generators (htdocs/js/load.js) in Debian's headless
// Chromium, for bench/load-endpoints: N download streams, then N upload
// streams, each for a ramp plus a measured window, counted exactly the
// way the test page counts them. Prints one JSON object.
//
//   node load-figures.mjs --url BASE/ [--streams 4] [--seconds 8] [--ramp 2]
//        [--ignore-cert 1]
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const depsDir = process.env.LQOS_BROWSER_DEPS || new URL('.', import.meta.url).pathname;
const require = createRequire(join(depsDir, 'package.json'));
const { chromium } = require('playwright-core');

const profile = mkdtempSync(join(tmpdir(), 'lqos-chromium-'));
const out = {};
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.LQOS_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ...(args['ignore-cert'] === '1' ? ['--ignore-certificate-errors'] : [])],
});
try {
  const page = await context.newPage();
  await page.goto(args.url, { waitUntil: 'load' });
  Object.assign(out, await page.evaluate(async ({ streams, seconds, ramp }) => {
    const { LoadSet, RateMeter, uploadMbps } = await import('./js/load.js');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const res = {};
    for (const dir of ['download', 'upload']) {
      const load = new LoadSet(new URL('api/load/download', location.href).href,
        new URL('api/load/upload', location.href).href);
      const meter = new RateMeter(load.counters);
      load.start(dir === 'download' ? streams : 0, dir === 'upload' ? streams : 0);
      await sleep(ramp * 1000);
      const a = meter.mark();
      await sleep(seconds * 1000);
      const b = meter.mark();
      if (dir === 'upload') await load.finishUploads(20000);
      await load.stop();
      meter.stop();
      res[dir] = {
        mbps: dir === 'download' ? ((b.down - a.down) * 8) / ((b.t - a.t) * 1000) : uploadMbps(load, a.t, b.t),
        requests: dir === 'upload' ? load.uploads.length : undefined,
        largestUploadMiB: dir === 'upload' ? Math.max(...load.uploads.map((u) => u.size)) / 1048576 : undefined,
        errors: load.errors,
      };
    }
    const protocols = performance.getEntriesByType('resource').map((e) => e.nextHopProtocol).filter(Boolean);
    res.protocol = [...new Set(protocols)].join(',');
    return res;
  }, { streams: Number(args.streams || 4), seconds: Number(args.seconds || 8), ramp: Number(args.ramp || 2) }));
} catch (err) {
  out.failure = String(err && err.stack || err);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
