// The page keeps a finished test when its submission fails: runs the
// short single-user test in Debian's headless Chromium against the real
// server while intercepting POST /api/telemetry once, then lets every
// later try through untouched. Prints one JSON object.
//
//   node submit-retry.mjs --url URL --fault lost|503 [--timeout SECONDS]
//
// lost: the first POST reaches the server (which stores it), then the
//       browser is told the connection was reset: the answer is lost.
// 503:  the first POST is answered 503 with Retry-After: 1 (not sent on).
import { parseArgs, runInChromium } from './chromium.mjs';

const args = parseArgs();
const timeoutMs = Number(args.timeout || 120) * 1000;
const out = { fault: args.fault, posts: [], consoleErrors: [] };

await runInChromium(out, {}, async (context) => {
  const page = await context.newPage();
  page.on('pageerror', (err) => out.consoleErrors.push(`pageerror: ${err.message}`));
  await page.route('**/api/telemetry', async (route) => {
    const req = route.request();
    if (req.method() !== 'POST') return route.continue();
    const n = out.posts.length;
    out.posts.push({ key: req.headers()['idempotency-key'] ?? null, at: Date.now() });
    if (n > 0) return route.continue();
    if (args.fault === 'lost') {
      const res = await route.fetch();
      out.firstAnswer = { status: res.status(), body: await res.json().catch(() => null) };
      return route.abort('connectionreset');
    }
    return route.fulfill({
      status: 503,
      headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
      body: JSON.stringify({ success: false, error: 'telemetry database is busy; try again in a moment' }),
    });
  });
  await page.goto(`${args.url}?duration=short&mode=single`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.lqosTest && window.lqosTest.state === 'ready', null, { timeout: 15000 });
  await page.locator('#start').click();
  await page.waitForFunction(() => ['done', 'error'].includes(window.lqosTest.state), null,
    { timeout: timeoutMs, polling: 200 });
  const t = await page.evaluate(() => ({
    state: window.lqosTest.state,
    error: window.lqosTest.error,
    response: window.lqosTest.response,
    submitRetries: window.lqosTest.submitRetries,
    savingMessages: window.lqosTest.savingMessages,
    testIdShown: document.querySelector('#test-id')?.innerText ?? null,
  }));
  Object.assign(out, t);
});
