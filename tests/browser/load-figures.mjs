// The page's own load generators (htdocs/js/load.js) in Debian's headless
// Chromium, for bench/load-endpoints: N download streams, then N upload
// streams, each for a ramp plus a measured window, counted exactly the
// way the test page counts them. Prints one JSON object.
//
//   node load-figures.mjs --url BASE/ [--streams 4] [--seconds 8] [--ramp 2]
//        [--ignore-cert 1]
import { parseArgs, runInChromium } from './chromium.mjs';

const args = parseArgs();
const out = {};
await runInChromium(out, { ignoreCert: args['ignore-cert'] === '1' }, async (context) => {
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
});
