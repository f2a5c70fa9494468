// Debian's headless Chromium for the browser scripts in this folder: the
// one place that knows the executable, the flags (without the last three
// it tries to reach the internet, which tests never may), where
// playwright-core comes from, and how a throw-away profile is made and
// removed.
//
// playwright-core is resolved from $LQOS_BROWSER_DEPS/node_modules (the
// build tree installs it there), else from beside this file.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const depsDir = process.env.LQOS_BROWSER_DEPS || new URL('.', import.meta.url).pathname;
const require = createRequire(join(depsDir, 'package.json'));
export const { chromium } = require('playwright-core');

// `--name value` pairs of the command line, as an object.
export function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
}

// Launch options; `ignoreCert` accepts a self-signed certificate (tests only).
export function launchOptions({ ignoreCert = false, ...rest } = {}) {
  return {
    executablePath: process.env.LQOS_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(ignoreCert ? ['--ignore-certificate-errors'] : [])],
    ...rest,
  };
}

// Runs `body(context)` in a persistent context on a fresh profile and
// prints `out` as one JSON line afterwards, whatever happened: an error
// is recorded as out.failure, and the browser and profile are always
// removed. `options` are launchOptions()'s (viewport and the like too).
export async function runInChromium(out, options, body) {
  const profile = mkdtempSync(join(tmpdir(), 'lqos-chromium-'));
  let context = null;
  try {
    context = await chromium.launchPersistentContext(profile, launchOptions(options));
    await body(context);
  } catch (err) {
    out.failure = String((err && err.stack) || err);
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
