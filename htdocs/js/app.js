// The page: branding, the choice of test, live progress, then results.
// window.lqosTest exposes the state for automated tests.

import { discoverApi, submitResult } from './api.js';
import { ProtocolRecorder } from './protocol.js';
import { HOUSEHOLD_PLANS, plannedSeconds as householdSeconds, runHousehold } from './household.js';
import { renderHousehold, renderSingle } from './results.js';
import { SINGLE_PLANS, plannedSeconds as singleSeconds, runSingleUser } from './single.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);
// ?duration=short shortens the test for automated runs on loopback; the
// default is the real test.
const length = params.get('duration') === 'short' ? 'short' : 'full';
const state = {
  state: 'loading', mode: null, payload: null, detail: null, response: null, error: null, submitRetries: 0, savingMessages: [],
};
window.lqosTest = state;
let sponsorName = null;

function setState(s) {
  state.state = s;
  document.body.dataset.state = s;
}

function showBranding(sponsor) {
  if (!sponsor || !sponsor.sponsor_name) return;
  sponsorName = sponsor.sponsor_name;
  const name = $('sponsor-name');
  name.textContent = sponsor.sponsor_name;
  if (sponsor.sponsor_url && /^https?:\/\//i.test(sponsor.sponsor_url)) name.href = sponsor.sponsor_url;
  else name.removeAttribute('href');
  $('sponsor-city').textContent = sponsor.sponsor_city ? ` · ${sponsor.sponsor_city}` : '';
  $('sponsor').hidden = false;
  document.title = `Bufferbloat test · ${sponsor.sponsor_name}`;
  document.querySelectorAll('.sponsor-ref').forEach((e) => { e.textContent = sponsor.sponsor_name; });
}

function selectedMode() {
  const checked = document.querySelector('input[name="mode"]:checked');
  return checked ? checked.value : 'single';
}

function updateDurations() {
  $('single-seconds').textContent = Math.round(singleSeconds(SINGLE_PLANS[length]));
  $('household-seconds').textContent = Math.round(householdSeconds(HOUSEHOLD_PLANS[length]));
}

function progress(p) {
  $('phase-label').textContent = p.label;
  document.body.dataset.phase = p.phase;
  const fraction = Math.min(1, p.elapsed / p.total);
  $('progress-bar').style.width = `${(fraction * 100).toFixed(1)}%`;
  $('progress-bar').parentElement.setAttribute('aria-valuenow', Math.round(fraction * 100));
  $('elapsed').textContent = `${Math.floor(p.elapsed)} s of about ${Math.round(p.total)} s`;
  $('live-down').textContent = p.down > 0 ? p.down.toFixed(1) : '–';
  $('live-up').textContent = p.up > 0 ? p.up.toFixed(1) : '–';
  $('live-latency').textContent = Number.isFinite(p.latency) ? p.latency.toFixed(1) : '–';
}

async function start() {
  const mode = selectedMode();
  state.mode = mode;
  state.error = null;
  state.submitRetries = 0;
  state.savingMessages = [];
  $('choose').hidden = true;
  $('results').hidden = true;
  $('error').hidden = true;
  $('progress').hidden = false;
  $('progress-title').textContent = mode === 'household' ? 'Virtual household test' : 'Single user test';
  setState('running');
  // Watches the whole run: which protocol the probes and the load used.
  const protocols = new ProtocolRecorder();
  try {
    const run = mode === 'household'
      ? await runHousehold(HOUSEHOLD_PLANS[length], progress)
      : await runSingleUser(SINGLE_PLANS[length], progress);
    run.payload.protocol = protocols.summary();
    protocols.close();
    state.payload = run.payload;
    state.detail = run.detail;
    setState('submitting');
    $('phase-label').textContent = 'Saving your result…';
    const response = await submitResult(run.payload, ({ attempt, of, waitSeconds, reason }) => {
      state.submitRetries += 1;
      $('phase-label').textContent = `Saving your result: ${reason}; trying again in ${Math.round(waitSeconds)} s (try ${attempt} of ${of})…`;
      state.savingMessages.push($('phase-label').textContent);
    });
    state.response = response;
    if (!response.body || !response.body.grades) {
      throw new Error(response.body?.error ? `The server could not grade the result: ${response.body.error}`
        : `The server answered ${response.status} without grades.`);
    }
    const render = mode === 'household' ? renderHousehold : renderSingle;
    render($('results-body'), { ...run, response, sponsorName });
    $('progress').hidden = true;
    $('results').hidden = false;
    setState('done');
  } catch (err) {
    protocols.close();
    state.error = String(err?.message || err);
    $('error-text').textContent = state.error;
    $('progress').hidden = true;
    $('error').hidden = false;
    setState('error');
  }
}

function again() {
  $('results').hidden = true;
  $('error').hidden = true;
  $('choose').hidden = false;
  setState('ready');
}

async function init() {
  updateDurations();
  $('start').addEventListener('click', start);
  $('again').addEventListener('click', again);
  $('error-again').addEventListener('click', again);
  const mode = params.get('mode');
  if (mode === 'household' || mode === 'single') document.querySelector(`input[name="mode"][value="${mode}"]`).checked = true;
  const { sponsor } = await discoverApi();
  showBranding(sponsor);
  $('start').disabled = false;
  setState('ready');
  if (params.get('autostart') === '1') start();
}

init();
