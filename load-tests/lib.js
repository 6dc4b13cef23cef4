// Shared helpers of the warmrun k6 scripts: the target, programs per language, a REST
// run, an interactive WebSocket run, custom metrics and the summary writer.
//
// Environment (all optional): BASE_URL (default http://127.0.0.1:8080), SUMMARY_FILE
// (where handleSummary writes the text summary; run.sh sets it), API_KEY (sent as
// X-API-Key, to use a key's rate limit instead of the per-address one).

import http from 'k6/http';
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const WS_URL = BASE_URL.replace(/^http/, 'ws') + '/api/v1/ws';
const HEADERS = Object.assign({ 'Content-Type': 'application/json' },
  __ENV.API_KEY ? { 'X-API-Key': __ENV.API_KEY } : {});

// End-to-end time of a run as the client sees it (REST: the request; WS: `run` sent →
// `exit` received), tagged with language and api (rest | ws).
export const runMs = new Trend('run_ms', true);
// Runs that did not end as expected (HTTP error, wrong verdict or output, no exit frame).
export const runErrors = new Rate('run_errors');
// Finished runs (any verdict), for runs/s.
export const runsDone = new Counter('runs');
// Runs refused with 429/503 (rate limit, queue full): a sign of saturation.
export const refused = new Counter('runs_refused');
// Finished runs per engine node (the X-Warmrun-Node response header), behind a balancer.
export const nodeRuns = new Counter('node_runs');

// A program per language that prints a known line (hello world).
export const HELLO = {
  python: { code: 'print("hello from warmrun")', expect: 'hello from warmrun' },
  javascript: { code: 'console.log("hello from warmrun")', expect: 'hello from warmrun' },
  bash: { code: 'echo "hello from warmrun"', expect: 'hello from warmrun' },
  c: { code: '#include <stdio.h>\nint main(void){puts("hello from warmrun");return 0;}\n',
       expect: 'hello from warmrun' },
  cpp: { code: '#include <iostream>\nint main(){std::cout<<"hello from warmrun\\n";}\n',
         expect: 'hello from warmrun' },
  go: { code: 'package main\nimport "fmt"\nfunc main(){fmt.Println("hello from warmrun")}\n',
        expect: 'hello from warmrun' },
  rust: { code: 'fn main(){println!("hello from warmrun");}\n', expect: 'hello from warmrun' },
  java: { code: 'public class Main{public static void main(String[] a){System.out.println("hello from warmrun");}}\n',
          expect: 'hello from warmrun' },
};

// The catalog's Python example: prompts, reads a name, greets it.
export const PY_PROMPT = 'name = input("What is your name? ")\nprint(f"Hello, {name}!")\n';

/**
 * POST /api/v1/runs; checks HTTP 200, verdict ok and the expected output. `base` (default
 * BASE_URL) lets one script load several targets.
 */
export function restRun(language, prog, base) {
  prog = prog || HELLO[language];
  const res = http.post(`${base || BASE_URL}/api/v1/runs`,
    JSON.stringify({ language, code: prog.code }),
    { headers: HEADERS, tags: { name: 'POST /api/v1/runs', language }, timeout: '60s' });
  if (res.status === 429 || res.status === 503) refused.add(1, { language });
  let body = null;
  try { body = res.json(); } catch (_) { /* not JSON */ }
  const ok = check(res, {
    'status 200': (r) => r.status === 200,
    'verdict ok': () => body && body.verdict === 'ok',
    'stdout as expected': () => body && typeof body.stdout === 'string'
      && body.stdout.includes(prog.expect),
  });
  runErrors.add(!ok, { language, api: 'rest' });
  if (res.status === 200) {
    runsDone.add(1, { language, api: 'rest' });
    runMs.add(res.timings.duration, { language, api: 'rest' });
    const node = res.headers['X-Warmrun-Node'];
    if (node) nodeRuns.add(1, { node });
  }
  return body;
}

/**
 * One interactive session: opens /api/v1/ws, sends a `run` of the Python example, answers
 * the prompt when it shows on a `stdout` frame, waits for `exit`, closes. Records run_ms
 * from sending `run` to receiving `exit`.
 */
export function wsPromptRun(name) {
  let sent = 0, out = '', answered = false, exit = null, error = null;
  const res = ws.connect(WS_URL, { headers: HEADERS, tags: { name: 'GET /api/v1/ws' } },
    (socket) => {
      socket.on('open', () => {
        sent = Date.now();
        socket.send(JSON.stringify({ type: 'run', language: 'python', code: PY_PROMPT }));
      });
      socket.on('message', (msg) => {
        const f = JSON.parse(msg);
        if (f.type === 'stdout') {
          out += f.data;
          if (!answered && out.includes('name?')) {
            answered = true;
            socket.send(JSON.stringify({ type: 'stdin', data: `${name}\n` }));
          }
        } else if (f.type === 'exit') {
          exit = f;
          runMs.add(Date.now() - sent, { language: 'python', api: 'ws' });
          socket.close();
        } else if (f.type === 'error') {
          error = f;
          socket.close();
        }
      });
      socket.setTimeout(() => { error = error || { code: 'client_timeout' }; socket.close(); },
        30000);
    });
  if (res && (res.status === 429 || res.status === 503)) refused.add(1, { language: 'python' });
  const ok = check(null, {
    'ws upgraded': () => res && res.status === 101,
    'ws exit ok': () => exit !== null && exit.verdict === 'ok',
    'ws greeting': () => out.includes(`Hello, ${name}!`),
  });
  runErrors.add(!ok, { language: 'python', api: 'ws' });
  if (exit) runsDone.add(1, { language: 'python', api: 'ws' });
  return { ok, error };
}

export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

function fmt(v, digits = 1) {
  return v === undefined || v === null || Number.isNaN(v) ? '-' : Number(v).toFixed(digits);
}

/** The text summary: p50/p95/p99 of run_ms, runs/s, errors, refused, thresholds. */
export function summarize(data, scenario) {
  const m = data.metrics;
  const dur = data.state.testRunDurationMs / 1000;
  const lines = [];
  lines.push(`warmrun load test: ${scenario}  target ${BASE_URL}  duration ${fmt(dur)} s`);
  const trendLine = (label, t) => t && lines.push(
    `  ${label.padEnd(28)} p50 ${fmt(t.values.med)} ms  p95 ${fmt(t.values['p(95)'])} ms  ` +
    `p99 ${fmt(t.values['p(99)'])} ms  max ${fmt(t.values.max)} ms  n=${t.values.count}`);
  trendLine('run latency (all)', m.run_ms);
  for (const key of Object.keys(m).sort()) {
    if (key.startsWith('run_ms{') ) trendLine(key.slice(7, -1), m[key]);
  }
  for (const key of Object.keys(m).sort()) {
    // Per-scenario and per-node counts that a script's thresholds name (cluster.js).
    if (key.startsWith('runs{') || key.startsWith('node_runs{')) {
      const c = m[key].values.count;
      const secs = key.startsWith('runs{') && data.scenarioSeconds
        ? data.scenarioSeconds[key.slice(5, -1).replace('scenario:', '')] : null;
      lines.push(`  ${key.padEnd(40)} ${c}` + (secs ? `  (${fmt(c / secs)} runs/s over ${secs} s)` : ''));
    }
  }
  const runs = m.runs ? m.runs.values.count : 0;
  lines.push(`  runs finished               ${runs}  (${fmt(runs / dur)} runs/s)`);
  const errRate = m.run_errors ? m.run_errors.values.rate : 0;
  const errCount = m.run_errors ? m.run_errors.values.passes : 0;
  lines.push(`  run errors                  ${errCount}  (${fmt(100 * errRate, 2)} %)`);
  lines.push(`  refused (429/503)           ${m.runs_refused ? m.runs_refused.values.count : 0}`);
  if (m.http_req_failed) {
    lines.push(`  http_req_failed             ${fmt(100 * m.http_req_failed.values.rate, 2)} %`);
  }
  if (m.dropped_iterations) {
    lines.push(`  dropped iterations          ${m.dropped_iterations.values.count}` +
      '  (the arrival rate could not be met: not enough VUs, i.e. the server is saturated)');
  }
  const failed = [];
  for (const [name, metric] of Object.entries(m)) {
    for (const [th, res] of Object.entries(metric.thresholds || {})) {
      if (!res.ok) failed.push(`${name}: ${th}`);
    }
  }
  lines.push(failed.length ? `  THRESHOLDS FAILED: ${failed.join('; ')}` : '  thresholds: all passed');
  return lines.join('\n') + '\n';
}

/** handleSummary for every script: stdout + SUMMARY_FILE (text) + SUMMARY_FILE.json. */
export function makeHandleSummary(scenario) {
  return (data) => {
    const text = summarize(data, scenario);
    const out = { stdout: text };
    if (__ENV.SUMMARY_FILE) {
      out[__ENV.SUMMARY_FILE] = text;
      out[`${__ENV.SUMMARY_FILE}.json`] = JSON.stringify(data, null, 1);
    }
    return out;
  };
}
