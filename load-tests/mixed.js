// A mixed-language load like a playground's: hello worlds in several languages over REST
// plus interactive Python sessions over WebSocket, at a constant arrival rate.
//   RATE (runs/s, default 30), DURATION (default 60s), MIX (default
//   "python:40,javascript:20,bash:15,c:10,ws:15"; "ws" = an interactive Python session),
//   MAX_ERROR_RATE (default 0.01).
// Compiled languages cost a compile per run (gcc ~0.2 s CPU): keep their share small on a
// 2-core machine.
import exec from 'k6/execution';
import { restRun, wsPromptRun, makeHandleSummary, HELLO, TREND_STATS } from './lib.js';

const RATE = Number(__ENV.RATE || 30);
const MIX = (__ENV.MIX || 'python:40,javascript:20,bash:15,c:10,ws:15').split(',').map((kv) => {
  const [k, w] = kv.split(':');
  if (k !== 'ws' && !HELLO[k]) throw new Error(`MIX: unknown language ${k}`);
  return { k, w: Number(w) };
});
const TOTAL = MIX.reduce((s, e) => s + e.w, 0);

// Per-language thresholds also make k6 report each language's percentiles.
const thresholds = {
  run_errors: [`rate<=${__ENV.MAX_ERROR_RATE || 0.01}`],
  dropped_iterations: ['count==0'],
};
for (const { k } of MIX) {
  const compiled = ['c', 'cpp', 'go', 'rust', 'java'].includes(k);
  const tag = k === 'ws' ? 'run_ms{api:ws}' : `run_ms{language:${k},api:rest}`;
  thresholds[tag] = [`p(99)<=${compiled ? 5000 : 1000}`];
}

export const options = {
  scenarios: {
    mixed: {
      executor: 'constant-arrival-rate',
      rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '60s',
      preAllocatedVUs: Math.max(10, RATE), maxVUs: Math.max(60, RATE * 4),
    },
  },
  thresholds,
  summaryTrendStats: TREND_STATS,
};

export default function () {
  // Deterministic weighted round robin over the iteration number.
  let slot = exec.scenario.iterationInTest % TOTAL;
  for (const { k, w } of MIX) {
    if (slot < w) {
      if (k === 'ws') wsPromptRun('Ada'); else restRun(k);
      return;
    }
    slot -= w;
  }
}

export const handleSummary = makeHandleSummary(`mixed @ ${RATE}/s (${__ENV.MIX || 'default mix'})`);
