// Ramping arrival rate to find saturation: Python hello worlds over REST, in steps.
//   STEPS (runs/s, default "60,90,110,130,150,180"), RAMP (s between steps, default 5),
//   HOLD (s per step, default 10), P99_MS (default 250), RUN_LANG (default python).
// Every run is tagged with the step it was started in (or "ramp"); the summary shows
// p50/p99 and errors per step, and a threshold p(99)<=P99_MS per step marks which steps
// met the target. The highest step that passes with no errors is the sustainable rate.
// A saturated server shows as p99 shooting up and dropped_iterations.
import exec from 'k6/execution';
import { restRun, makeHandleSummary, HELLO, TREND_STATS } from './lib.js';

const STEPS = (__ENV.STEPS || '60,90,110,130,150,180').split(',').map(Number);
const RAMP = Number(__ENV.RAMP || 5);
const HOLD = Number(__ENV.HOLD || 10);
const LANG = __ENV.RUN_LANG || 'python';
const P99 = Number(__ENV.P99_MS || 250);
if (!HELLO[LANG]) throw new Error(`no hello world for RUN_LANG=${LANG}`);

const stages = [];
for (const s of STEPS) {
  stages.push({ target: s, duration: `${RAMP}s` });
  stages.push({ target: s, duration: `${HOLD}s` });
}
const thresholds = {};
for (const s of STEPS) {
  thresholds[`run_ms{step:${s}}`] = [`p(99)<=${P99}`];
  thresholds[`run_errors{step:${s}}`] = ['rate<=0'];
  thresholds[`runs{step:${s}}`] = ['count>=0'];
}

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: Math.min(STEPS[0], 20), timeUnit: '1s', stages,
      preAllocatedVUs: 50, maxVUs: Math.max(...STEPS) * 2,
      tags: {},
    },
  },
  thresholds,
  summaryTrendStats: TREND_STATS,
};

/** The step whose hold window contains elapsed second t, or "ramp". */
function stepAt(t) {
  let at = 0;
  for (const s of STEPS) {
    at += RAMP;
    if (t >= at && t < at + HOLD) return String(s);
    at += HOLD;
  }
  return 'ramp';
}

export default function () {
  const step = stepAt(exec.instance.currentTestRunDuration / 1000);
  exec.vu.metrics.tags.step = step;
  restRun(LANG);
  delete exec.vu.metrics.tags.step;
}

const base = makeHandleSummary(`ramp ${LANG} steps ${STEPS.join('/')} (hold ${HOLD}s)`);
export function handleSummary(data) {
  const out = base(data);
  const m = data.metrics;
  const rows = ['  step  runs/s(done)  p50 ms  p99 ms  errors   p99<=' + P99 + ' & no errors'];
  for (const s of STEPS) {
    const t = m[`run_ms{step:${s}}`];
    const e = m[`run_errors{step:${s}}`];
    const n = m[`runs{step:${s}}`];
    const p99 = t ? t.values['p(99)'] : NaN;
    const errs = e ? e.values.passes : 0;
    const ok = t && p99 <= P99 && errs === 0;
    rows.push(`  ${String(s).padStart(4)}  ${(n ? (n.values.count / HOLD).toFixed(1) : '-').padStart(12)}` +
      `  ${t ? t.values.med.toFixed(1).padStart(6) : '     -'}  ${t ? p99.toFixed(1).padStart(6) : '     -'}` +
      `  ${String(errs).padStart(6)}   ${ok ? 'yes' : 'NO'}`);
  }
  const table = rows.join('\n') + '\n';
  out.stdout += table;
  for (const k of Object.keys(out)) {
    if (k !== 'stdout' && !k.endsWith('.json')) out[k] += table;
  }
  return out;
}
