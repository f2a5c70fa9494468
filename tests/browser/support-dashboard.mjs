// Drives the support dashboard (htdocs/support/) in Debian's headless
// Chromium against a private Apache with seeded results, and prints one
// JSON object: { checks: [{ name, ok, detail }], consoleErrors, screenshots }.
// Used by tests/support_dashboard.py, which seeds the data and passes
// what the page must show in --expect (a JSON file).
//
//   node support-dashboard.mjs --url http://127.0.0.1:PORT --key KEY
//        --expect FILE [--shots DIR] [--timeout SECONDS]
//
// Chromium and its flags: chromium.mjs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, launchOptions, parseArgs } from './chromium.mjs';

const args = parseArgs();
const base = args.url.replace(/\/$/, '');
const key = args.key;
const expect = JSON.parse(readFileSync(args.expect, 'utf8'));
const shots = args.shots || null;
const stepTimeout = 15000;

const out = { checks: [], consoleErrors: [], screenshots: [], requests: [] };
const check = (name, ok, detail) => out.checks.push({ name, ok: Boolean(ok), detail: ok ? undefined : detail });
const sameList = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Failed responses the page is meant to cause (a wrong key, a bad
// prefix) make Chromium log "Failed to load resource"; only those are
// allowed, and only while such a step runs.
let allowedStatus = null;

async function newPage(browser, opts) {
  const context = await browser.newContext({ acceptDownloads: true, ...opts });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (allowedStatus && text.includes(`status of ${allowedStatus}`)) return;
    out.consoleErrors.push(`${opts.label}: ${text}`);
  });
  page.on('pageerror', (err) => out.consoleErrors.push(`${opts.label}: pageerror: ${err.message}`));
  page.on('request', (req) => out.requests.push(req.url()));
  return { context, page };
}

async function shot(page, name) {
  if (!shots) return;
  const path = join(shots, `support-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  out.screenshots.push(path);
}

const ready = (page, view) => page.waitForFunction((v) => document.body.dataset.state === 'ready'
  && (!v || document.body.dataset.view === v), view, { timeout: stepTimeout });
const rowIds = (page) => page.$$eval('#tests-table tbody tr', (trs) => trs.map((tr) => tr.dataset.testId));
const noOverflow = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

async function enterKey(page, value) {
  await page.waitForFunction(() => document.body.dataset.state === 'key', null, { timeout: stepTimeout });
  await page.fill('#key-input', value);
  await page.click('#key-submit');
}

async function canvasInk(page) {
  // Share of canvas pixels that are not blank: a drawn chart has some.
  return page.evaluate(() => {
    const c = document.querySelector('#history-chart');
    if (!c || !c.width) return 0;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
    return ink / (c.width * c.height);
  });
}

async function desktop(browser) {
  const { context, page } = await newPage(browser, {
    label: 'desktop', viewport: { width: 1280, height: 900 }, timezoneId: expect.timezone,
  });
  try {
    await page.goto(`${base}/support/`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.state === 'key', null, { timeout: stepTimeout });
    await shot(page, 'key');

    // A wrong key: the error state, nothing kept.
    allowedStatus = 401;
    await enterKey(page, 'not-the-key');
    await page.waitForSelector('#banner:not([hidden])', { timeout: stepTimeout });
    const banner = await page.textContent('#banner');
    check('wrong key: the error says the key was not accepted, with the API\'s words',
      banner.includes('not accepted') && banner.includes('API key is wrong'), banner);
    check('wrong key: back on the key form', await page.isVisible('#key-form') && !(await page.isVisible('#app')));
    check('wrong key: not kept in sessionStorage', await page.evaluate(() => sessionStorage.length === 0));
    await shot(page, 'wrong-key');
    allowedStatus = null;

    // The right key: the recent tests.
    await enterKey(page, key);
    await ready(page, 'recent');
    const ids = await rowIds(page);
    check('recent: the table shows the seeded rows, newest first', sameList(ids, expect.newest.slice(0, ids.length))
      && ids.length === Math.min(50, expect.newest.length), { ids, want: expect.newest });
    check('recent: summary counts', (await page.textContent('#summary')).includes(`Showing ${expect.newest.length} of ${expect.newest.length}`),
      await page.textContent('#summary'));
    const store = await page.evaluate(() => ({
      session: Object.keys(sessionStorage), local: localStorage.length, cookie: document.cookie, url: location.href,
    }));
    check('key kept in sessionStorage only (no cookie, no localStorage, not in the URL)',
      store.session.length === 1 && store.local === 0 && store.cookie === '' && !store.url.includes(key), store);
    const pending = await page.textContent('.queue-card[data-target="webhook"] [data-state="pending"] .n');
    const lastError = await page.textContent('.queue-card[data-target="webhook"] .last-error');
    check('webhook queue: pending events and the last error from /stats',
      pending === String(expect.webhookPending) && lastError.includes('connect'), { pending, lastError });
    check('webhook queue: shown as retrying', await page.getAttribute('.queue-card[data-target="webhook"]', 'data-health') === 'warn');
    check('central forwarding shown as not configured',
      await page.getAttribute('.queue-card[data-target="central"]', 'data-health') === 'off');
    const uaHtml = await page.evaluate(() => document.title);
    check('recent: stored text is shown as text (no markup runs)', !uaHtml.includes('pwned'), uaHtml);
    await shot(page, 'recent');

    // Grade filter D and F.
    await page.check('#filters input[name="grade"][value="D"]');
    await page.check('#filters input[name="grade"][value="F"]');
    await page.click('#filters .apply');
    await page.waitForFunction(() => location.hash.includes('grade=D%2CF'), null, { timeout: stepTimeout });
    await ready(page, 'recent');
    const df = await rowIds(page);
    const dfGrades = await page.$$eval('#tests-table tbody tr', (trs) => trs.map((tr) => tr.dataset.grade));
    check('grade D,F: exactly the D and F tests', sameList(df, expect.df), { df, want: expect.df });
    check('grade D,F: every row is D or F', dfGrades.length > 0 && dfGrades.every((g) => g === 'D' || g === 'F'), dfGrades);
    check('grade D,F: the boxes stay checked', await page.isChecked('#filters input[value="D"]')
      && await page.isChecked('#filters input[value="F"]') && !(await page.isChecked('#filters input[value="A"]')));
    await shot(page, 'filter-df');

    // CSV of the current view, fetched with the header and saved as a Blob.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: stepTimeout }),
      page.click('#csv-download'),
    ]);
    const path = await download.path();
    const csv = readFileSync(path, 'utf8');
    const lines = csv.split('\r\n').filter(Boolean);
    check('CSV download: header and one record per row of the view',
      lines[0].startsWith('id,test_id,timestamp,client_ip') && lines.length === expect.df.length + 1,
      { first: lines[0], n: lines.length });
    check('CSV download: the view\'s rows', sameList(lines.slice(1).map((l) => l.split(',')[1]), expect.df));
    check('CSV download: a blob, the key in no URL', download.url().startsWith('blob:')
      && !out.requests.some((u) => u.includes(key)), download.url());
    check('CSV download: named after the server\'s file', download.suggestedFilename() === 'recent-tests.csv',
      download.suggestedFilename());

    // Add test type and a time range (local time of the browser's zone).
    await page.selectOption('#filters select[name="test_type"]', 'single_user');
    await page.fill('#filters input[name="since"]', expect.range.since);
    await page.fill('#filters input[name="until"]', expect.range.until);
    await page.click('#filters .apply');
    await page.waitForFunction(() => location.hash.includes('since='), null, { timeout: stepTimeout });
    await ready(page, 'recent');
    const ranged = await rowIds(page);
    check('grade D,F + single user + time range (browser time zone)', sameList(ranged, expect.range.ids),
      { ranged, want: expect.range.ids, hash: await page.evaluate(() => location.hash) });
    check('time range: the API got UTC instants', await page.evaluate((s) => decodeURIComponent(location.hash).includes(s),
      expect.range.sinceIso), await page.evaluate(() => location.hash));

    // Nothing matches: the empty state.
    await page.evaluate(() => { location.hash = '#/?since=2099-01-01T00:00:00.000Z'; });
    await ready(page, 'recent');
    check('no results: an empty state that says so', await page.isVisible('#empty-state')
      && (await page.textContent('#empty-state')).includes('No tests match'), await page.textContent('#view'));
    await shot(page, 'empty');

    // Clear filters, then one customer by clicking an address.
    await page.evaluate(() => { location.hash = '#/'; });
    await ready(page, 'recent');
    await page.click(`#tests-table tbody tr[data-test-id="${expect.ip5.ids[0]}"] td.ip a`);
    await ready(page, 'customer');
    check('customer: clicking an address opens its history', sameList(await rowIds(page), expect.ip5.ids),
      { got: await rowIds(page), want: expect.ip5.ids });
    check('customer: title names the address', (await page.textContent('#customer-title')).includes(expect.ip5.ip));

    // Customer search by prefix.
    await page.fill('#find-input', expect.prefix.query);
    await page.click('#find-submit');
    await page.waitForFunction((p) => document.body.dataset.view === 'customer' && document.body.dataset.state === 'ready'
      && document.querySelector('#customer-title').textContent.includes(p), expect.prefix.canonical, { timeout: stepTimeout });
    const pref = await rowIds(page);
    check('customer search by prefix: every test in the prefix', sameList(pref, expect.prefix.ids), { pref, want: expect.prefix.ids });
    const chart = await page.evaluate(() => {
      const c = document.querySelector('#history-chart');
      return c && { w: c.width, h: c.height, points: Number(c.dataset.points), label: c.getAttribute('aria-label') };
    });
    check('customer chart: a canvas with a point per test', chart && chart.w > 300 && chart.points === expect.prefix.ids.length, chart);
    const ink = await canvasInk(page);
    check('customer chart: something is drawn', ink > 0.02, ink);
    await page.hover('#history-chart', { position: { x: Math.round(chart.w / 2), y: 60 } });
    await shot(page, 'customer');

    // Filter inside the customer view.
    await page.check('#filters input[name="grade"][value="F"]');
    await page.click('#filters .apply');
    await page.waitForFunction(() => location.hash.includes('grade=F'), null, { timeout: stepTimeout });
    await ready(page, 'customer');
    check('customer + grade F', sameList(await rowIds(page), expect.prefix.f), { got: await rowIds(page), want: expect.prefix.f });

    // One household test: every user's grade and metrics.
    await page.evaluate((id) => { location.hash = `#/test/${id}`; }, expect.household.id);
    await ready(page, 'test');
    const users = await page.$$eval('#users .user', (els) => Object.fromEntries(els.map((e) => [e.dataset.user, e.querySelector('.grade').dataset.grade])));
    check('household test: the four users with their grades', sameList(users, expect.household.grades), { users, want: expect.household.grades });
    const fields = await page.$$eval('#all-fields dt', (dts) => dts.map((d) => d.textContent));
    check('household test: every stored metric listed', ['details.alex.latency_increase_ms', 'details.sarah.delivered_pct',
      'details.jake.fetch_ratio_p90', 'details.computer.spare_capacity_share_pct', 'household_score', 'user_agent']
      .every((f) => fields.includes(f)), fields);
    await shot(page, 'test-household');

    // A single-user test reached from the table's Details link.
    await page.evaluate(() => { location.hash = '#/'; });
    await ready(page, 'recent');
    await page.click(`#tests-table tbody tr[data-test-id="${expect.single.id}"] a.button-link`);
    await ready(page, 'test');
    const phases = await page.$$eval('#phases tbody tr', (trs) => trs.map((tr) => [tr.dataset.phase, tr.querySelector('.grade').dataset.grade]));
    check('single test: three phases with grades', sameList(phases, expect.single.phases), { phases, want: expect.single.phases });
    check('single test: test id shown', (await page.textContent('#test-id')) === expect.single.id);
    const rpms = await page.$$eval('#phases tbody td[data-label="RPM"]', (tds) => tds.map((td) => td.textContent.replace(/[^0-9]/g, '')));
    check('single test: responsiveness in RPM per phase', sameList(rpms, expect.single.rpm), { rpms, want: expect.single.rpm });
    check('single test: protocol shown', (await page.textContent('#protocol')) === 'probes h2, load h2', await page.textContent('#protocol'));
    await shot(page, 'test-single');

    // Hostile stored text stays text.
    await page.evaluate((id) => { location.hash = `#/test/${id}`; }, expect.html.id);
    await ready(page, 'test');
    check('stored markup is shown as text, not run', (await page.evaluate(() => document.title)).includes('Test')
      && await page.$('.ua img') === null && (await page.textContent('.ua')).includes('<img'));

    // Server error text: a prefix the API refuses.
    allowedStatus = 400;
    await page.evaluate(() => { location.hash = '#/customer/203.0.113.0/33'; });
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: stepTimeout });
    const err = await page.textContent('#banner');
    check('API error: the banner shows the API\'s error text', err.includes('(400)') && err.includes('not a valid IPv4 or IPv6'), err);
    await shot(page, 'api-error');
    allowedStatus = 404;
    await page.evaluate(() => { location.hash = '#/test/isp_1_999999'; });
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: stepTimeout });
    const nf = await page.textContent('#banner');
    check('unknown test: "Not found (404)" with the API\'s text', nf.includes('404') && nf.includes('no stored test has id isp_1_999999'), nf);
    // A server error, simulated in the browser (the real 503s are
    // tested against the server elsewhere): the page shows its text.
    allowedStatus = 503;
    await page.route('**/api/telemetry/recent*', (route) => route.fulfill({
      status: 503, contentType: 'application/json; charset=utf-8',
      body: JSON.stringify({ success: false, error: 'telemetry database unavailable: disk full (simulated)' }),
    }));
    await page.evaluate(() => { location.hash = '#/?grade=C'; });
    await page.waitForFunction(() => document.body.dataset.state === 'error', null, { timeout: stepTimeout });
    const se = await page.textContent('#banner');
    check('server error: "Server error (503)" with the API\'s text', se.includes('Server error (503)') && se.includes('disk full (simulated)'), se);
    await shot(page, 'server-error');
    await page.unroute('**/api/telemetry/recent*');
    allowedStatus = null;

    // Forget the key.
    await page.evaluate(() => { location.hash = '#/'; });
    await ready(page, 'recent');
    await page.click('#forget-key');
    await page.waitForFunction(() => document.body.dataset.state === 'key', null, { timeout: stepTimeout });
    check('forget key: key form again, nothing kept, no customer data left on the page',
      await page.evaluate(() => sessionStorage.length === 0 && !document.querySelector('#tests-table')));
  } finally {
    await context.close();
  }
}

async function phone(browser) {
  const { context, page } = await newPage(browser, {
    label: 'phone', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    timezoneId: 'UTC',
  });
  try {
    await page.goto(`${base}/support/`, { waitUntil: 'load' });
    await enterKey(page, key);
    await ready(page, 'recent');
    check('phone: the table shows the rows', (await rowIds(page)).length === Math.min(50, expect.newest.length));
    check('phone: rows are cards (no table header)', await page.evaluate(() => getComputedStyle(document.querySelector('#tests-table thead')).display === 'none'));
    check('phone: nothing wider than the screen (recent)', await noOverflow(page),
      await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]));
    await shot(page, 'phone-recent');
    await page.fill('#find-input', expect.prefix.query);
    await page.tap('#find-submit');
    await ready(page, 'customer');
    const w = await page.evaluate(() => document.querySelector('#history-chart').getBoundingClientRect().width);
    check('phone: chart fits the screen and is drawn', w > 300 && w <= 390 && (await canvasInk(page)) > 0.02, w);
    check('phone: nothing wider than the screen (customer)', await noOverflow(page),
      await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]));
    await shot(page, 'phone-customer');
    await page.evaluate((id) => { location.hash = `#/test/${id}`; }, expect.single.id);
    await ready(page, 'test');
    check('phone: nothing wider than the screen (test)', await noOverflow(page),
      await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]));
    await shot(page, 'phone-test');
  } finally {
    await context.close();
  }
}

let browser;
try {
  browser = await chromium.launch(launchOptions());
  for (const run of [desktop, phone]) {
    try {
      await run(browser);
    } catch (e) {
      check(`${run.name} ran to the end`, false, String(e && e.stack || e));
    }
  }
} catch (e) {
  check('browser started', false, String(e && e.stack || e));
} finally {
  if (browser) await browser.close();
}
check('no console errors', out.consoleErrors.length === 0, out.consoleErrors);
delete out.requests;
process.stdout.write(`${JSON.stringify(out)}\n`);
