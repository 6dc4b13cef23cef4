// REST runs at a constant arrival rate: POST /api/v1/runs of a hello world.
//   RATE (runs/s, default 100), DURATION (default 60s), RUN_LANG (default python),
//   P99_MS (threshold, default 250), MAX_ERROR_RATE (default 0: no errors allowed).
// Measures the sustained rate: with a constant arrival rate k6 starts runs on schedule
// whatever the latency, so a saturated server shows as rising latency and
// dropped_iterations rather than as a lower request rate.
import { restRun, makeHandleSummary, HELLO, TREND_STATS } from './lib.js';

const RATE = Number(__ENV.RATE || 100);
const LANG = __ENV.RUN_LANG || 'python';
if (!HELLO[LANG]) throw new Error(`no hello world for RUN_LANG=${LANG}`);

export const options = {
  scenarios: {
    rest: {
      executor: 'constant-arrival-rate',
      rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '60s',
      preAllocatedVUs: Math.max(10, Math.ceil(RATE / 2)), maxVUs: Math.max(50, RATE * 2),
    },
  },
  thresholds: {
    run_ms: [`p(99)<=${__ENV.P99_MS || 250}`],
    run_errors: [`rate<=${__ENV.MAX_ERROR_RATE || 0}`],
    dropped_iterations: ['count==0'],
  },
  summaryTrendStats: TREND_STATS,
};

export default function () { restRun(LANG); }

export const handleSummary = makeHandleSummary(`rest ${LANG} @ ${RATE}/s`);
