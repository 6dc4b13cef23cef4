// One engine node vs three behind HAProxy, on the same machine: the same closed loop of
// Python hello worlds over REST, first straight to one node (NODE_URL), then through the
// balancer (BASE_URL), each for DURATION_S seconds with VUS clients in a loop. Reports
// runs/s and latency per phase, and how HAProxy spread the second phase over the nodes.
//
//   NODE_URL (default http://127.0.0.1:8081), BASE_URL (the balancer, default
//   http://127.0.0.1:8090), VUS (default 8), DURATION_S (default 30), MAX_ERROR_RATE
//   (default 0.01). run.sh cluster starts a local cluster (scripts/cluster.sh) when none runs.
//
// On one machine the nodes share its cores: the comparison shows the cost of the tier
// (HAProxy, three engines' background work), not horizontal scaling.
import { restRun, makeHandleSummary, TREND_STATS } from './lib.js';

const NODE_URL = (__ENV.NODE_URL || 'http://127.0.0.1:8081').replace(/\/$/, '');
const LB_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8090').replace(/\/$/, '');
const VUS = Number(__ENV.VUS || 8);
const DURATION_S = Number(__ENV.DURATION_S || 30);

export const options = {
  scenarios: {
    one_node: {
      executor: 'constant-vus', vus: VUS, duration: `${DURATION_S}s`, exec: 'oneNode',
      gracefulStop: '5s',
    },
    three_nodes: {
      executor: 'constant-vus', vus: VUS, duration: `${DURATION_S}s`, exec: 'threeNodes',
      startTime: `${DURATION_S + 10}s`, gracefulStop: '5s',
    },
  },
  // Thresholds that name sub-metrics make k6 keep them for the summary.
  thresholds: {
    'runs{scenario:one_node}': ['count>0'],
    'runs{scenario:three_nodes}': ['count>0'],
    'run_ms{scenario:one_node}': ['p(99)>=0'],
    'run_ms{scenario:three_nodes}': ['p(99)>=0'],
    'node_runs{scenario:three_nodes,node:node-1}': ['count>=0'],
    'node_runs{scenario:three_nodes,node:node-2}': ['count>=0'],
    'node_runs{scenario:three_nodes,node:node-3}': ['count>=0'],
    run_errors: [`rate<=${__ENV.MAX_ERROR_RATE || 0.01}`],
  },
  summaryTrendStats: TREND_STATS,
};

export function oneNode() { restRun('python', null, NODE_URL); }
export function threeNodes() { restRun('python', null, LB_URL); }

const summary = makeHandleSummary(
  `cluster: ${VUS} clients in a loop, ${DURATION_S} s on one node (${NODE_URL}), ` +
  `then ${DURATION_S} s through HAProxy (${LB_URL})`);

export function handleSummary(data) {
  data.scenarioSeconds = { one_node: DURATION_S, three_nodes: DURATION_S };
  return summary(data);
}
