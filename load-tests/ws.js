// Interactive WebSocket sessions at a constant arrival rate: each opens /api/v1/ws, runs
// the catalog's Python example (it prompts "What is your name?"), answers the prompt on
// the stdout frame, waits for the exit frame and closes.
//   RATE (sessions/s, default 20), DURATION (default 60s), P99_MS (default 500),
//   MAX_ERROR_RATE (default 0).
import exec from 'k6/execution';
import { wsPromptRun, makeHandleSummary, TREND_STATS } from './lib.js';

const RATE = Number(__ENV.RATE || 20);
const NAMES = ['Ada', 'Grace', 'Linus', 'Barbara', 'Ken', 'Margaret'];

export const options = {
  scenarios: {
    ws: {
      executor: 'constant-arrival-rate',
      rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '60s',
      preAllocatedVUs: Math.max(10, RATE), maxVUs: Math.max(50, RATE * 3),
    },
  },
  thresholds: {
    'run_ms{api:ws}': [`p(99)<=${__ENV.P99_MS || 500}`],
    run_errors: [`rate<=${__ENV.MAX_ERROR_RATE || 0}`],
    dropped_iterations: ['count==0'],
  },
  summaryTrendStats: TREND_STATS,
};

export default function () {
  wsPromptRun(NAMES[exec.scenario.iterationInTest % NAMES.length]);
}

export const handleSummary = makeHandleSummary(`ws python prompt/answer @ ${RATE}/s`);
