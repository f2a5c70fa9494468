// The results page: grades from the server, the numbers behind them, a
// latency chart, what each grade means and what to do about a bad one.

import { drawLatencyChart } from './chart.js';

const GRADE_MEANING = {
  'A+': 'Excellent: latency barely rises when the connection is busy (less than 5 ms). Calls, games and browsing stay smooth even during big downloads.',
  A: 'Very good: latency rises by less than 30 ms under load, which almost nobody notices.',
  B: 'Good: latency rises by 30 to 60 ms under load. Fine for most things; fast-paced games may feel it.',
  C: 'Fair: latency rises by 60 to 200 ms under load. Video calls can stutter and games lag while someone uploads or downloads.',
  D: 'Poor: latency rises by 200 to 400 ms under load. Calls break up and web pages feel slow whenever the connection is busy.',
  F: 'Very poor: latency rises by 400 ms or more under load. Real-time use is close to impossible while the connection is busy.',
};

const USERS = {
  alex: {
    title: 'Alex · online gaming',
    needs: 'Needs quick, steady replies: little added latency, little jitter, no lost updates.',
    line: (m) => `+${fmt(m.latency_increase_ms)} ms latency · ${fmt(m.jitter_ms)} ms jitter · ${fmt(m.loss_pct)} % lost`,
  },
  sarah: {
    title: 'Sarah · video call',
    needs: 'Needs 2.5 Mbit/s each way delivered on time, with little delay and jitter.',
    line: (m) => `+${fmt(m.latency_increase_ms)} ms delay · ${fmt(m.jitter_ms)} ms jitter · ${fmt(m.delivered_pct)} % delivered on time`,
  },
  jake: {
    title: 'Jake · video streaming',
    needs: 'Needs each video segment to arrive before the player runs out of video.',
    line: (m) => `slowest segments took ${fmt(100 * m.fetch_ratio_p90, 0)} % of their play time · ${m.stalls} stall${m.stalls === 1 ? '' : 's'}`,
  },
  computer: {
    title: 'Computer · background transfers',
    needs: 'Should get most of the capacity the others leave unused.',
    line: (m) => `downloaded at ${fmt(m.throughput_mbps, 1)} Mbit/s, ${fmt(m.spare_capacity_share_pct, 0)} % of the spare download capacity`,
  },
};

const PHASES = [
  ['download', 'Download'],
  ['upload', 'Upload'],
  ['bidirectional', 'Both at once'],
];

// Responsiveness in round trips per minute, as networkQuality reports it:
// 60000 / the loaded median round trip (ms). NaN without one.
export function rpm(p50) {
  return Number.isFinite(p50) && p50 > 0 ? Math.round(60000 / p50) : NaN;
}

const PROTOCOL_NAMES = { 'http/1.0': 'HTTP/1.0', 'http/1.1': 'HTTP/1.1', h2: 'HTTP/2', h3: 'HTTP/3' };

// "over HTTP/2" (or nothing when the browser did not say).
function protocolText(protocol) {
  const p = protocol?.load && protocol.load !== 'unknown' ? protocol.load : protocol?.probe;
  return p && p !== 'unknown' ? ` · over ${PROTOCOL_NAMES[p] ?? p}` : '';
}

function fmt(x, digits = 1) {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function gradeClass(g) {
  return g ? `grade grade-${g === 'A+' ? 'aplus' : g.toLowerCase()}` : 'grade grade-none';
}

function gradeBadge(g, big = false) {
  return el('span', { class: `${gradeClass(g)}${big ? ' grade-big' : ''}`, 'data-grade': g ?? '' }, g ?? '?');
}

const isBad = (g) => g === 'C' || g === 'D' || g === 'F';

function adviceBlock(sponsorName, household) {
  const who = sponsorName || 'your internet provider';
  return el('section', { class: 'advice' },
    el('h3', {}, 'What you can do'),
    el('p', {}, household
      ? 'When one person downloads or uploads, the others suffer: this is bufferbloat. A device on the path, usually the router or modem, holds too much data in its queue, and everyone else’s traffic waits behind it.'
      : 'Latency that climbs under load is bufferbloat: a device on the path, usually the router or modem, holds too much data in its queue, and everything else waits behind it.'),
    el('ul', {},
      el('li', {}, 'Turn on Smart Queue Management (SQM, often called fq_codel or CAKE) in your router if it has it, with the speeds set a little below the ones measured here.'),
      el('li', {}, 'Test again over a cable instead of Wi-Fi, to see whether the Wi-Fi is the cause.'),
      el('li', {}, `Contact ${who}: your result is stored with them, so their support team can look it up and check the line and your equipment.`)));
}

function storageNote(response, sponsorName) {
  const who = sponsorName || 'the operator of this test server';
  const body = response?.body;
  const p = el('p', { class: 'storage-note', id: 'storage-note' });
  if (body?.stored) {
    p.append(`Your result and your IP address (${body.client_ip}) are stored by ${who} so that their support team can help you. Test id: `,
      el('code', { id: 'test-id' }, body.test_id), '.');
  } else {
    p.append(`Results and IP addresses are normally stored by ${who} for support. `,
      body?.error ? `This result was not stored: ${body.error}` : 'This result was not stored.');
  }
  return p;
}

function chartBlock(detail) {
  const canvas = el('canvas', { id: 'latency-chart', role: 'img', 'aria-label': 'Latency over time during the test' });
  const wrap = el('section', { class: 'chart' },
    el('h3', {}, 'Latency over time'),
    canvas,
    el('p', { class: 'small' }, 'Each dot is one round trip to the server. The dashed line is your idle latency; shaded bands are the test phases (their lighter start is ramp-up, not graded).'));
  requestAnimationFrame(() => drawLatencyChart(canvas, detail));
  return wrap;
}

export function renderSingle(container, { payload, detail, response, sponsorName }) {
  const g = response?.body?.grades ?? {};
  container.replaceChildren();
  container.append(
    el('div', { class: 'overall' },
      gradeBadge(g.overall, true),
      el('div', {},
        el('h2', {}, 'Bufferbloat grade'),
        el('p', { id: 'overall-meaning' }, GRADE_MEANING[g.overall] ?? 'The server could not grade this result.'),
        el('p', { class: 'small' }, `Score ${g.single_user_score ?? '–'}/100 · idle latency ${fmt(payload.baseline_latency_ms)} ms${protocolText(payload.protocol)}`),
        el('p', { class: 'small', id: 'responsiveness' },
          `Responsiveness under load: ${PHASES.map(([key]) => fmt(rpm(payload[key]?.latency_p50_ms), 0)).join(' / ')} RPM `
          + '(download / upload / both; round trips per minute, as Apple’s networkQuality counts them: higher is better)'))));

  const rows = PHASES.map(([key, label]) => {
    const m = payload[key];
    return el('tr', { 'data-phase': key },
      el('th', { scope: 'row' }, label),
      el('td', {}, gradeBadge(g[key])),
      el('td', {}, `${fmt(m.throughput_mbps)} Mbit/s`),
      el('td', {}, `+${fmt(m.latency_increase_ms)} ms`),
      el('td', {}, `${fmt(m.latency_p50_ms)} / ${fmt(m.latency_p90_ms)} ms`),
      el('td', {}, `${fmt(m.jitter_ms)} ms`),
      el('td', { 'data-rpm': '' }, `${fmt(rpm(m.latency_p50_ms), 0)} RPM`));
  });
  container.append(el('div', { class: 'table-wrap' }, el('table', { class: 'phases' },
    el('thead', {}, el('tr', {},
      el('th', {}, 'Phase'), el('th', {}, 'Grade'), el('th', {}, 'Speed'),
      el('th', {}, 'Latency increase'), el('th', {}, 'Latency p50 / p90'), el('th', {}, 'Jitter'),
      el('th', {}, 'Responsiveness'))),
    el('tbody', {}, ...rows))));
  const bidi = detail.phases.find((p) => p.name === 'bidirectional');
  if (bidi) {
    container.append(el('p', { class: 'small' },
      `“Both at once” speed is download and upload added together (${fmt(bidi.down_mbps)} down + ${fmt(bidi.up_mbps)} up). `
      + 'The grade of each phase comes from its latency increase: how much longer a round trip takes under that load than when idle.'));
  }
  container.append(chartBlock(detail));
  container.append(el('section', { class: 'meanings' },
    el('h3', {}, 'What the grades mean'),
    el('dl', {}, ...Object.entries(GRADE_MEANING).flatMap(([k, v]) => [el('dt', {}, gradeBadge(k)), el('dd', {}, v)]))));
  if ([g.download, g.upload, g.bidirectional, g.overall].some(isBad)) container.append(adviceBlock(sponsorName, false));
  container.append(storageNote(response, sponsorName));
}

export function renderHousehold(container, { payload, detail, response, sponsorName }) {
  const g = response?.body?.grades ?? {};
  container.replaceChildren();
  container.append(
    el('div', { class: 'overall' },
      gradeBadge(g.overall, true),
      el('div', {},
        el('h2', {}, 'Household grade'),
        el('p', {}, `Household score ${g.household_score ?? '–'}/100. Four people used the connection at once; each is graded on what their application needs.`),
        el('p', { class: 'small' }, `Measured capacity ${fmt(payload.download_mbps)} Mbit/s down, ${fmt(payload.upload_mbps)} Mbit/s up · idle latency ${fmt(payload.baseline_latency_ms)} ms${protocolText(payload.protocol)}`))));
  const cards = Object.entries(USERS).map(([key, u]) => el('div', { class: 'user', 'data-user': key },
    gradeBadge(g[key]),
    el('div', {},
      el('h3', {}, u.title),
      el('p', { class: 'small' }, u.needs),
      el('p', {}, u.line(payload[key])),
      el('p', { class: 'small' }, GRADE_MEANING[g[key]]?.split(':')[0] ?? ''))));
  container.append(el('div', { class: 'users' }, ...cards));
  container.append(chartBlock(detail));
  container.append(el('section', { class: 'meanings' },
    el('h3', {}, 'How each person is graded'),
    el('p', {}, 'Alex and Sarah are graded on the latency increase (A+ under 5 ms, A under 30, B under 60, C under 200, D under 400), on jitter and on lost or late data; Jake on how long each video segment takes to arrive compared with how long it plays (any stall is at best a D); Computer on the share of the unused capacity it could take. Each person’s grade is the worst of their parts; the household grade combines the four.')));
  if (['alex', 'sarah', 'jake', 'overall'].some((k) => isBad(g[k]))) container.append(adviceBlock(sponsorName, true));
  container.append(storageNote(response, sponsorName));
}
