// Steady REST load through HAProxy while test_cluster.py kills a node: a constant arrival
// rate of Python runs, one JSON line per request on the log (k6 --log-format raw), so the
// test can tell which requests failed and when they were sent and answered.
//
// Environment: BASE_URL (HAProxy), RATE (runs/s, default 30; the test sends 20), DURATION (default 20s).

import http from 'k6/http';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8090').replace(/\/$/, '');

export const options = {
  scenarios: {
    failover: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 30),
      timeUnit: '1s',
      duration: __ENV.DURATION || '20s',
      preAllocatedVUs: 30,
      maxVUs: 150,
    },
  },
};

export default function () {
  const n = Math.floor(Math.random() * 1e9);
  const start = Date.now();
  const res = http.post(`${BASE_URL}/api/v1/runs`,
    JSON.stringify({ language: 'python', code: `print(${n})` }),
    { headers: { 'Content-Type': 'application/json' }, timeout: '30s' });
  const end = Date.now();
  let ok = false;
  try {
    const body = res.json();
    ok = res.status === 200 && body.verdict === 'ok' && body.stdout === `${n}\n`;
  } catch (_) { /* not JSON: not ok */ }
  console.log(JSON.stringify({
    start, end, status: res.status, ok,
    node: res.headers['X-Warmrun-Node'] || null,
    error: ok ? null : (res.error || String(res.body).slice(0, 200)),
  }));
}
