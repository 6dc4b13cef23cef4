// Step load for pools that size themselves: the arrival rate steps up and down, and the
// engine's own /metrics say how many leases found a warm container in each step and what
// the pool's warm target was.
//   STEPS (runs/s, default "2,10,30,10,2,0"), HOLD (s per step, default 20),
//   RUN_LANG (default python), SLEEP_MS (python only: the program sleeps this long before
//   its greeting, so that each run holds its container and the pool has to grow; default 0).
// A probe reads /metrics once a second: warmrun_leases_total{language,kind} (warm: an idle
// container was there; cold/queued: the lease waited) and warmrun_pool_warm_target and
// warmrun_pool_containers. The summary has, per step, runs, p50/p99, the warm-hit ratio,
// and the warm target and containers (min..max); then the ratio over the whole test.
// Compare `WARMRUN_AUTOSIZE=false` (fixed min_idle) with the default (autosize).
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { restRun, makeHandleSummary, HELLO, TREND_STATS, BASE_URL } from './lib.js';

const STEPS = (__ENV.STEPS || '2,10,30,10,2,0').split(',').map(Number);
const HOLD = Number(__ENV.HOLD || 20);
const LANG = __ENV.RUN_LANG || 'python';
if (!HELLO[LANG]) throw new Error(`no hello world for RUN_LANG=${LANG}`);
const SLEEP_MS = Number(__ENV.SLEEP_MS || 0);
if (SLEEP_MS > 0 && LANG !== 'python') throw new Error('SLEEP_MS needs RUN_LANG=python');
const PROG = SLEEP_MS > 0
  ? { code: `import time\ntime.sleep(${SLEEP_MS / 1000})\n${HELLO.python.code}`,
      expect: HELLO.python.expect }
  : HELLO[LANG];
const TOTAL = STEPS.length * HOLD;

const leasesWarm = new Counter('leases_warm');
const leasesAll = new Counter('leases_all');
const warmTarget = new Trend('warm_target');
const warmContainers = new Trend('warm_containers');

const stages = [];
for (const s of STEPS) {
  stages.push({ target: s, duration: '1s' });
  stages.push({ target: s, duration: `${HOLD - 1}s` });
}
const thresholds = {};
for (let i = 0; i < STEPS.length; i++) {
  const tag = `{step:${i}}`;
  thresholds[`run_ms${tag}`] = ['p(99)>=0'];
  thresholds[`runs${tag}`] = ['count>=0'];
  thresholds[`leases_warm${tag}`] = ['count>=0'];
  thresholds[`leases_all${tag}`] = ['count>=0'];
  thresholds[`warm_target${tag}`] = ['max>=0'];
  thresholds[`warm_containers${tag}`] = ['max>=0'];
}
thresholds.run_errors = ['rate<0.01'];

export const options = {
  scenarios: {
    load: {
      executor: 'ramping-arrival-rate', exec: 'load',
      startRate: STEPS[0], timeUnit: '1s', stages,
      preAllocatedVUs: 20, maxVUs: Math.max(10, ...STEPS) * 4,
    },
    probe: {
      executor: 'constant-vus', exec: 'probe', vus: 1, duration: `${TOTAL}s`,
    },
  },
  thresholds,
  summaryTrendStats: TREND_STATS,
};

/** The step whose window contains elapsed second t. */
function stepAt(t) {
  return String(Math.min(STEPS.length - 1, Math.floor(t / HOLD)));
}

/** This language's leases (warm, all), warm target and warm containers from /metrics. */
function read() {
  const res = http.get(`${BASE_URL}/metrics`, { tags: { name: 'GET /metrics' } });
  const out = { warm: 0, all: 0, target: NaN, containers: 0 };
  if (res.status !== 200) return null;
  for (const line of res.body.split('\n')) {
    const m = line.match(/^(warmrun_[a-z_]+)\{([^}]*)\} ([0-9.eE+-]+)$/);
    if (!m) continue;
    const labels = {};
    for (const kv of m[2].split(',')) {
      const [k, v] = kv.split('=');
      if (k) labels[k] = (v || '').replace(/"/g, '');
    }
    if (labels.language !== LANG) continue;
    const v = Number(m[3]);
    if (m[1] === 'warmrun_leases_total') {
      out.all += v;
      if (labels.kind === 'warm') out.warm += v;
    } else if (m[1] === 'warmrun_pool_warm_target') {
      out.target = v;
    } else if (m[1] === 'warmrun_pool_containers' && labels.state !== 'starting') {
      out.containers += v;
    }
  }
  return out;
}

export function setup() {
  return { before: read() };
}

export function load() {
  exec.vu.metrics.tags.step = stepAt(exec.instance.currentTestRunDuration / 1000);
  restRun(LANG, PROG);
  delete exec.vu.metrics.tags.step;
}

let last = null;
export function probe() {
  const now = read();
  const tags = { step: stepAt(exec.instance.currentTestRunDuration / 1000) };
  if (now && last) {
    leasesWarm.add(now.warm - last.warm, tags);
    leasesAll.add(now.all - last.all, tags);
  }
  if (now) {
    if (!Number.isNaN(now.target)) warmTarget.add(now.target, tags);
    warmContainers.add(now.containers, tags);
    last = now;
  }
  sleep(1);
}

export function teardown(data) {
  const after = read();
  if (data.before && after) {
    const all = after.all - data.before.all;
    const warm = after.warm - data.before.warm;
    console.log(`warm-hit ratio over the test (/metrics): ${warm}/${all} = ` +
      `${all ? (100 * warm / all).toFixed(1) : '-'} %`);
  }
}

const base = makeHandleSummary(`step ${LANG} rates ${STEPS.join('/')} (hold ${HOLD}s)`);
export function handleSummary(data) {
  const out = base(data);
  const m = data.metrics;
  const val = (k, f) => (m[k] ? m[k].values[f] : NaN);
  const rows = ['  step  runs/s  runs/s(done)  p50 ms  p99 ms  warm-hit  target  warm containers'];
  let warmSum = 0, allSum = 0;
  for (let i = 0; i < STEPS.length; i++) {
    const tag = `{step:${i}}`;
    const warm = val(`leases_warm${tag}`, 'count') || 0;
    const all = val(`leases_all${tag}`, 'count') || 0;
    warmSum += warm; allSum += all;
    const n = val(`runs${tag}`, 'count') || 0;
    const f = (x, d = 1) => (Number.isNaN(x) ? '-' : x.toFixed(d));
    const range = (k) => `${f(val(k + tag, 'min'), 0)}..${f(val(k + tag, 'max'), 0)}`;
    rows.push(`  ${String(i).padStart(4)}  ${String(STEPS[i]).padStart(6)}` +
      `  ${(n / HOLD).toFixed(1).padStart(12)}` +
      `  ${f(val(`run_ms${tag}`, 'med')).padStart(6)}  ${f(val(`run_ms${tag}`, 'p(99)')).padStart(6)}` +
      `  ${(all ? `${(100 * warm / all).toFixed(1)} %` : '-').padStart(8)}` +
      `  ${range('warm_target').padStart(6)}  ${range('warm_containers').padStart(15)}`);
  }
  rows.push(`  warm-hit ratio over all steps: ${allSum ? (100 * warmSum / allSum).toFixed(1) : '-'} %` +
    ` (${warmSum} of ${allSum} leases)`);
  const table = rows.join('\n') + '\n';
  out.stdout += table;
  for (const k of Object.keys(out)) {
    if (k !== 'stdout' && !k.endsWith('.json')) out[k] += table;
  }
  return out;
}
