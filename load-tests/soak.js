// The soak test's load (run by load-tests/soak.sh): a constant arrival rate of mixed requests
// for a long time, each one followed to its final answer.
//   RATE (requests/s, default 20), DURATION (default 30m), BASE_URL.
// Mix (per 100): REST hello worlds in python 25, javascript 10, bash 10, c 5; REST programs
// that earn another verdict: python time_limit 3, python output_limit 3, bash runtime_error 4;
// python reading stdin 5; interactive python sessions over WebSocket 20; python submissions
// (POST, then poll) 10; Piston execute 5.
// Counters: soak_sent (requests started), soak_answered (got a final answer: an HTTP response,
// an exit or error frame, a finished or failed submission), soak_lost (no final answer within
// the client's patience), soak_wrong (answered, but not with what the program deserves),
// soak_refused (answered 429/503).
import http from 'k6/http';
import ws from 'k6/ws';
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE = (__ENV.BASE_URL || 'http://127.0.0.1:8093').replace(/\/$/, '');
const WS_URL = BASE.replace(/^http/, 'ws') + '/api/v1/ws';
const RATE = Number(__ENV.RATE || 20);
const HEADERS = { 'Content-Type': 'application/json' };

const sent = new Counter('soak_sent');
const answered = new Counter('soak_answered');
const lost = new Counter('soak_lost');
const wrong = new Counter('soak_wrong');
const refused = new Counter('soak_refused');
const latency = new Trend('soak_ms', true);

// [kind, weight, program]
const REST = {
  py_hello: { language: 'python', code: 'print("soak")', verdict: 'ok', out: 'soak\n' },
  js_hello: { language: 'javascript', code: 'console.log("soak")', verdict: 'ok', out: 'soak\n' },
  bash_hello: { language: 'bash', code: 'echo soak', verdict: 'ok', out: 'soak\n' },
  c_hello: {
    language: 'c', code: '#include <stdio.h>\nint main(void){puts("soak");return 0;}\n',
    verdict: 'ok', out: 'soak\n',
  },
  py_sleep: {
    language: 'python', code: 'import time\nprint("zz", flush=True)\ntime.sleep(30)\n',
    limits: { wall_ms: 500 }, verdict: 'time_limit', out: 'zz\n',
  },
  py_flood: {
    language: 'python', code: 'while True:\n    print("x" * 1000)\n',
    limits: { output_kb: 8 }, verdict: 'output_limit',
  },
  bash_exit: { language: 'bash', code: 'echo bye; exit 3', verdict: 'runtime_error', out: 'bye\n' },
  py_stdin: {
    language: 'python', code: 'import sys\nprint(sum(int(l) for l in sys.stdin))\n',
    stdin: '1\n2\n3\n', verdict: 'ok', out: '6\n',
  },
};
const MIX = [
  ['py_hello', 25], ['js_hello', 10], ['bash_hello', 10], ['c_hello', 5], ['py_sleep', 3],
  ['py_flood', 3], ['bash_exit', 4], ['py_stdin', 5], ['ws', 20], ['submission', 10],
  ['piston', 5],
];
const TOTAL = MIX.reduce((s, [, w]) => s + w, 0);

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: RATE, timeUnit: '1s', duration: __ENV.DURATION || '30m',
      preAllocatedVUs: Math.max(20, RATE * 2), maxVUs: Math.max(100, RATE * 10),
      gracefulStop: '90s',
    },
  },
  summaryTrendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
  // Only our counters decide; k6's own http_req_failed counts 4xx/5xx we expect. The
  // per-kind entries only make the summary list wrong answers by kind.
  thresholds: Object.assign({ soak_lost: ['count==0'] },
    Object.fromEntries(MIX.map(([kind]) => [`soak_wrong{kind:${kind}}`, ['count>=0']]))),
};

// The first wrong answers, in full, on k6's console (soak.sh keeps it in its -k6.log).
let reported = 0;
function report(kind, what) {
  if (reported < 20) {
    reported += 1;
    console.warn(`wrong answer (${kind}): ${JSON.stringify(what).slice(0, 600)}`);
  }
}

function finish(kind, started, ok, what) {
  answered.add(1, { kind });
  latency.add(Date.now() - started, { kind });
  wrong.add(ok ? 0 : 1, { kind });
  if (!ok) report(kind, what);
}

function rest(kind) {
  const p = REST[kind];
  const body = { language: p.language, code: p.code };
  if (p.stdin) body.stdin = p.stdin;
  if (p.limits) body.limits = p.limits;
  const started = Date.now();
  const res = http.post(`${BASE}/api/v1/runs`, JSON.stringify(body),
    { headers: HEADERS, timeout: '90s', tags: { name: 'runs', kind } });
  if (res.status === 0) { lost.add(1, { kind }); return; }
  if (res.status === 429 || res.status === 503) refused.add(1, { kind });
  let r = null;
  try { r = res.json(); } catch (_) { /* not JSON */ }
  const ok = res.status === 200 && r && r.verdict === p.verdict
    && (p.out === undefined || r.stdout === p.out);
  finish(kind, started, ok, { status: res.status, body: r || res.body });
}

function wsSession() {
  const kind = 'ws';
  const started = Date.now();
  let out = '';
  let answeredPrompt = false;
  let final = null;
  const res = ws.connect(WS_URL, { tags: { name: 'ws' } }, (socket) => {
    socket.on('open', () => socket.send(JSON.stringify({
      type: 'run', language: 'python', code: 'name = input("Name? ")\nprint(f"Hi {name}")\n',
    })));
    socket.on('message', (msg) => {
      const f = JSON.parse(msg);
      if (f.type === 'stdout') {
        out += f.data;
        if (!answeredPrompt && out.includes('Name? ')) {
          answeredPrompt = true;
          socket.send(JSON.stringify({ type: 'stdin', data: 'soak\n' }));
        }
      } else if (f.type === 'exit' || f.type === 'error') {
        final = f;
        socket.close();
      }
    });
    socket.setTimeout(() => socket.close(), 60000);
  });
  if (final === null) {
    if (res && (res.status === 429 || res.status === 503)) {
      refused.add(1, { kind });
      finish(kind, started, false, { status: res.status });
    } else {
      lost.add(1, { kind });
    }
    return;
  }
  finish(kind, started, final.type === 'exit' && final.verdict === 'ok' && out.includes('Hi soak'),
    { final, out });
}

function submission() {
  const kind = 'submission';
  const started = Date.now();
  const res = http.post(`${BASE}/api/v1/submissions`,
    JSON.stringify({ language: 'python', code: 'print(6 * 7)' }),
    { headers: HEADERS, timeout: '30s', tags: { name: 'submissions', kind } });
  if (res.status === 0) { lost.add(1, { kind }); return; }
  if (res.status !== 202) {
    if (res.status === 429 || res.status === 503) refused.add(1, { kind });
    finish(kind, started, false, { status: res.status, body: res.body });
    return;
  }
  const id = res.json('id');
  for (let i = 0; i < 300; i++) {
    sleep(0.2);
    const g = http.get(`${BASE}/api/v1/submissions/${id}`,
      { timeout: '30s', tags: { name: 'submission', kind } });
    if (g.status !== 200) continue;
    const s = g.json();
    if (s.status === 'finished' || s.status === 'failed') {
      finish(kind, started, s.status === 'finished' && s.result && s.result.verdict === 'ok'
        && s.result.stdout === '42\n', s);
      return;
    }
  }
  lost.add(1, { kind });
}

function piston() {
  const kind = 'piston';
  const started = Date.now();
  const res = http.post(`${BASE}/api/v2/execute`, JSON.stringify({
    language: 'python', version: '*', files: [{ content: 'print("piston")' }],
  }), { headers: HEADERS, timeout: '90s', tags: { name: 'piston', kind } });
  if (res.status === 0) { lost.add(1, { kind }); return; }
  let r = null;
  try { r = res.json(); } catch (_) { /* not JSON */ }
  finish(kind, started, res.status === 200 && r && r.run && r.run.stdout === 'piston\n',
    { status: res.status, body: r || res.body });
}

export default function () {
  let slot = exec.scenario.iterationInTest % TOTAL;
  for (const [kind, w] of MIX) {
    if (slot < w) {
      sent.add(1, { kind });
      if (kind === 'ws') wsSession();
      else if (kind === 'submission') submission();
      else if (kind === 'piston') piston();
      else rest(kind);
      return;
    }
    slot -= w;
  }
}

export function handleSummary(data) {
  const out = { stdout: '' };
  if (__ENV.SUMMARY_JSON) out[__ENV.SUMMARY_JSON] = JSON.stringify(data, null, 1);
  return out;
}
