#!/usr/bin/env python3
"""Writes the warmrun Grafana dashboards (overview.json, language.json) beside this file.

The JSON files are committed; this script is their source. Edit the panels here, run
`python3 grafana/dashboards/generate.py`, then `bash grafana/test/run.sh` to check every
query against a real Prometheus scraping a real engine.

Conventions:
- Every panel uses the `${datasource}` variable (a Prometheus data source), so the
  dashboards work with any provisioned Prometheus, not only ours (uid `prometheus`).
- Rates use `$__rate_interval` (Grafana picks it from the scrape interval).
- Latency quantiles come from the `*_bucket` series of the engine's histograms.
- Every warmrun metric selector gets `node=~"$node"` (`scoped`): the `node` variable
  (multi-value, "All" = `.*`) narrows every panel to some engine nodes. Prometheus puts
  the `node` label on every series from its targets (grafana/prometheus/prometheus.yml).
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"
NODE = 'node=~"$node"'


def scoped(expr):
    """Adds the node filter to every warmrun_* selector of a PromQL expression."""
    def add(m):
        inner = m.group(3)
        return f"{m.group(1)}{{{NODE}{',' + inner if inner else ''}}}"
    return re.sub(r"\b(warmrun_[a-z0-9_]+)(\{([^}]*)\})?", add, expr)


def q(quantile, metric, by, selector=""):
    """histogram_quantile over a histogram's buckets, grouped by `by` (plus le)."""
    by = ", ".join([*by, "le"])
    return (f"histogram_quantile({quantile}, sum by ({by}) "
            f"(rate({metric}_bucket{selector}[{RI}])))")


class Board:
    def __init__(self):
        self.panels = []
        self.next_id = 1
        self.y = 0
        self.x = 0
        self.row_h = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.y += self.row_h
        self.x, self.row_h = 0, 0
        self.panels.append({
            "type": "row", "id": self._id(), "title": title, "collapsed": False,
            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "panels": [],
        })
        self.y += 1

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def _targets(self, targets):
        out = []
        for i, (expr, legend) in enumerate(targets):
            out.append({
                "datasource": DS, "refId": chr(ord("A") + i), "expr": scoped(expr),
                "legendFormat": legend, "range": True, "instant": False,
            })
        return out

    def timeseries(self, title, targets, unit="short", w=12, h=8, stack=False,
                   description="", min0=True):
        custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if not stack else 35,
                  "showPoints": "never", "spanNulls": False,
                  "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
        defaults = {"unit": unit, "custom": custom}
        if min0:
            defaults["min"] = 0
        self.panels.append({
            "type": "timeseries", "id": self._id(), "title": title,
            "description": description, "datasource": DS,
            "gridPos": self._place(w, h), "targets": self._targets(targets),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right",
                                   "calcs": ["lastNotNull", "max"], "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}},
        })

    def stat(self, title, expr, unit="short", w=4, h=4, description="", mappings=None,
             thresholds=None, decimals=None):
        defaults = {"unit": unit, "mappings": mappings or [],
                    "thresholds": {"mode": "absolute",
                                   "steps": thresholds or [{"color": "green", "value": None}]}}
        if decimals is not None:
            defaults["decimals"] = decimals
        self.panels.append({
            "type": "stat", "id": self._id(), "title": title, "description": description,
            "datasource": DS, "gridPos": self._place(w, h),
            "targets": self._targets([(expr, "")]),
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                          "values": False},
                        "colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                        "textMode": "auto", "orientation": "auto"},
        })


def node_var():
    """The engine nodes (Prometheus target label `node`); several or all."""
    return {
        "name": "node", "label": "Node", "type": "query", "datasource": DS,
        "query": {"query": "label_values(warmrun_ready, node)", "refId": "node"},
        "definition": "label_values(warmrun_ready, node)",
        "refresh": 2, "sort": 1, "multi": True, "includeAll": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0, "regex": "", "options": [],
    }


def datasource_var():
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "refresh": 1,
            "regex": "", "options": []}


def dashboard(uid, title, description, board, variables, tags):
    return {
        "uid": uid, "title": title, "description": description, "tags": tags,
        "editable": True, "graphTooltip": 1, "schemaVersion": 39, "version": 1,
        "time": {"from": "now-1h", "to": "now"}, "refresh": "30s",
        "timepicker": {}, "timezone": "", "fiscalYearStartMonth": 0, "liveNow": False,
        "annotations": {"list": []},
        "links": [{"title": "warmrun dashboards", "type": "dashboards", "tags": ["warmrun"],
                   "asDropdown": True, "includeVars": False, "keepTime": True}],
        "templating": {"list": variables},
        "panels": board.panels,
    }


READY_MAP = [{"type": "value", "options": {
    "0": {"text": "NOT READY", "color": "red", "index": 0},
    "1": {"text": "ready", "color": "green", "index": 1}}}]
RED_AT = lambda v: [{"color": "green", "value": None}, {"color": "red", "value": v}]


def overview():
    b = Board()
    b.stat("Runs/s", f"sum(rate(warmrun_runs_total[{RI}]))", unit="reqps", decimals=1)
    b.stat("Run latency p99", q(0.99, "warmrun_run_seconds", []), unit="s",
           thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.25},
                       {"color": "red", "value": 1}])
    b.stat("Ready", "min(warmrun_ready)", mappings=READY_MAP,
           thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
           description="warmrun_ready: 1 when /readyz is green (Docker answers, pools warm).")
    b.stat("Idle containers", 'sum(warmrun_pool_containers{state="idle"})',
           thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}])
    b.stat("Queued runs", "sum(warmrun_queue_depth)", thresholds=RED_AT(10))
    b.stat("WebSocket sessions", "sum(warmrun_ws_sessions)")

    b.row("Cluster: engine nodes")
    b.stat("Nodes ready", "sum(warmrun_ready)", w=3, h=7,
           thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
           description="Engine nodes whose /readyz is green (warmrun_ready = 1).")
    b.stat("Nodes scraped", f'count(up{{job="warmrun",{NODE}}} == 1)', w=3, h=7,
           thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
           description="Targets of the warmrun scrape job that answered their last scrape. "
                       "Fewer than the nodes you run: see the WarmrunDown alert.")
    b.timeseries("Runs/s per node",
                 [(f"sum by (node) (rate(warmrun_runs_total[{RI}]))", "{{node}}")],
                 unit="reqps", w=6, h=7, stack=True,
                 description="How the balancer spreads the work (leastconn).")
    b.timeseries("Queue depth per node",
                 [("sum by (node) (warmrun_queue_depth)", "{{node}}")], w=6, h=7,
                 description="Runs waiting for a container on each node, all languages.")
    b.timeseries("Readiness per node",
                 [("max by (node) (warmrun_ready)", "{{node}} ready"),
                  (f'max by (node) (up{{job="warmrun",{NODE}}})', "{{node}} scraped")],
                 w=6, h=7, min0=True,
                 description="1 = ready / answering. A node not ready gets no new work "
                             "from HAProxy (its /readyz check); a draining node turns "
                             "not ready at SIGTERM.")

    b.row("Runs")
    b.timeseries("Runs/s by language and verdict",
                 [(f"sum by (language, verdict) (rate(warmrun_runs_total[{RI}]))",
                   "{{language}} {{verdict}}")], unit="reqps", stack=True)
    b.timeseries("Verdict share",
                 [(f"sum by (verdict) (rate(warmrun_runs_total[{RI}])) / ignoring(verdict) "
                   f"group_left sum(rate(warmrun_runs_total[{RI}]))", "{{verdict}}")],
                 unit="percentunit", stack=True,
                 description="Share of finished runs per verdict. internal_error is the "
                             "sandbox's fault; the others are the programs'.")
    b.timeseries("End-to-end latency by language (p50 / p95 / p99)",
                 [(q(0.5, "warmrun_run_seconds", ["language"]), "{{language}} p50"),
                  (q(0.95, "warmrun_run_seconds", ["language"]), "{{language}} p95"),
                  (q(0.99, "warmrun_run_seconds", ["language"]), "{{language}} p99")],
                 unit="s", w=24, h=9,
                 description="warmrun_run_seconds: lease + compile + run, as the client "
                             "waits for it (buckets 1 ms … 65 s).")

    b.row("Leases and queue")
    b.timeseries("Leases/s: warm vs cold vs queued",
                 [(f"sum by (kind) (rate(warmrun_leases_total[{RI}]))", "{{kind}}")],
                 unit="reqps", w=8, stack=True,
                 description="warm: an idle container was there; cold: waited for a new "
                             "one; queued: waited for one to come back from a reset.")
    b.timeseries("Lease wait p50 / p99 by kind",
                 [(q(0.5, "warmrun_lease_seconds", ["kind"]), "{{kind}} p50"),
                  (q(0.99, "warmrun_lease_seconds", ["kind"]), "{{kind}} p99")],
                 unit="s", w=8)
    b.timeseries("Queue depth and queue-full rejections",
                 [("sum by (language) (warmrun_queue_depth)", "{{language}} waiting"),
                  (f"sum by (language) (rate(warmrun_queue_rejections_total[{RI}]))",
                   "{{language}} rejected/s")], w=8)

    b.row("Pool")
    b.timeseries("Idle containers per language",
                 [('sum by (language) (warmrun_pool_containers{state="idle"})',
                   "{{language}}")], w=12, stack=True)
    b.timeseries("Leased / starting / resetting per language",
                 [('sum by (language, state) (warmrun_pool_containers{state!="idle"})',
                   "{{language}} {{state}}")], w=12, stack=True)
    b.timeseries("Container churn (created / destroyed by reason)",
                 [(f"sum by (language) (rate(warmrun_containers_created_total[{RI}]))",
                   "{{language}} created"),
                  (f"sum by (language, reason) "
                   f"(rate(warmrun_containers_destroyed_total[{RI}]))",
                   "{{language}} destroyed ({{reason}})")], unit="ops", w=8)
    b.timeseries("Failed resets and failed creates (last 5 min)",
                 [("sum by (language) (increase(warmrun_reset_failures_total[5m]))",
                   "{{language}} reset failed"),
                  ("sum by (language) (increase(warmrun_container_create_failures_total[5m]))",
                   "{{language}} create failed")], w=8,
                 description="Series appear with the first failure of a language.")
    b.timeseries("Container start and reset time (p50 / p99)",
                 [(q(0.5, "warmrun_container_start_seconds", []), "start p50"),
                  (q(0.99, "warmrun_container_start_seconds", []), "start p99"),
                  (q(0.5, "warmrun_reset_seconds", []), "reset p50"),
                  (q(0.99, "warmrun_reset_seconds", []), "reset p99")], unit="s", w=8)
    b.timeseries("Warm target vs containers per language",
                 [("sum by (language) (warmrun_pool_warm_target)", "{{language}} target"),
                  ('sum by (language) (warmrun_pool_containers{state!="starting"})',
                   "{{language}} warm"),
                  ("sum(warmrun_max_containers)", "budget (max_containers)")], w=12,
                 description="warmrun_pool_warm_target: the containers each pool keeps. With "
                             "[engine] autosize it follows the arrival rate, lease times and "
                             "misses, between min_idle and max; otherwise min_idle.")
    b.timeseries("Warm-hit ratio by language",
                 [(f'sum by (language) (rate(warmrun_leases_total{{kind="warm"}}[{RI}])) '
                   f"/ sum by (language) (rate(warmrun_leases_total[{RI}]))", "{{language}}")],
                 unit="percentunit", w=12, min0=True,
                 description="Leases that found an idle container; the rest waited for one "
                             "to start (cold) or to come back from a reset (queued).")

    b.row("HTTP and sessions")
    b.timeseries("WebSocket sessions",
                 [("sum(warmrun_ws_sessions)", "open"),
                  (f"sum by (outcome) (increase(warmrun_ws_sessions_total[{RI}]))",
                   "opened per interval ({{outcome}})")], w=8)
    b.timeseries("HTTP requests/s by status class",
                 [(f'sum by (class) (label_replace(rate(warmrun_http_requests_total[{RI}]), '
                   f'"class", "$1", "status", "([0-9]).."))', "{{class}}xx")],
                 unit="reqps", w=8, stack=True)
    b.timeseries("HTTP errors by route and status (4xx / 5xx)",
                 [(f'sum by (route, status) '
                   f'(rate(warmrun_http_requests_total{{status=~"4..|5.."}}[{RI}]))',
                   "{{status}} {{route}}")], unit="reqps", w=8)
    b.timeseries("Rate-limit rejections and refused requests",
                 [(f"sum by (scope) (rate(warmrun_rate_limited_total[{RI}]))",
                   "rate limited ({{scope}})"),
                  (f"sum by (reason) (rate(warmrun_rejected_total[{RI}]))",
                   "refused ({{reason}})")], unit="reqps", w=12)
    b.timeseries("HTTP latency p99 by route",
                 [(q(0.99, "warmrun_http_request_seconds", ["route"]), "{{route}}")],
                 unit="s", w=12,
                 description="For /api/v1/runs this includes the run; for /api/v1/ws it "
                             "ends at the upgrade.")
    return dashboard("warmrun-overview", "warmrun / Overview",
                     "Runs, latency, leases, pools, churn, sessions and HTTP errors of the "
                     "warmrun engine.", b, [datasource_var(), node_var()], ["warmrun"])


def language():
    L = '{language="$language"}'
    b = Board()
    b.stat("Runs/s", f"sum(rate(warmrun_runs_total{L}[{RI}]))", unit="reqps", decimals=1)
    b.stat("Run latency p99", q(0.99, "warmrun_run_seconds", [], L), unit="s",
           thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 0.25},
                       {"color": "red", "value": 1}])
    b.stat("ok share", f'sum(rate(warmrun_runs_total{{language="$language",verdict="ok"}}[{RI}]))'
           f" / sum(rate(warmrun_runs_total{L}[{RI}]))", unit="percentunit")
    b.stat("Idle containers", f'sum(warmrun_pool_containers{{language="$language",state="idle"}})',
           thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}])
    b.stat("Queued runs", f"sum(warmrun_queue_depth{L})", thresholds=RED_AT(10))
    b.stat("Warm lease share",
           f'sum(rate(warmrun_leases_total{{language="$language",kind="warm"}}[{RI}]))'
           f" / sum(rate(warmrun_leases_total{L}[{RI}]))", unit="percentunit")

    b.row("Runs of $language")
    b.timeseries("Runs/s by verdict",
                 [(f"sum by (verdict) (rate(warmrun_runs_total{L}[{RI}]))", "{{verdict}}")],
                 unit="reqps", stack=True)
    b.timeseries("End-to-end latency (p50 / p95 / p99)",
                 [(q(0.5, "warmrun_run_seconds", [], L), "p50"),
                  (q(0.95, "warmrun_run_seconds", [], L), "p95"),
                  (q(0.99, "warmrun_run_seconds", [], L), "p99")], unit="s")
    b.timeseries("Program wall time by verdict (p50 / p99)",
                 [(q(0.5, "warmrun_exec_seconds", ["verdict"], L), "{{verdict}} p50"),
                  (q(0.99, "warmrun_exec_seconds", ["verdict"], L), "{{verdict}} p99")],
                 unit="s",
                 description="warmrun_exec_seconds: the program's wall time inside the "
                             "sandbox, as the agent measured it.")
    b.timeseries("Compile time by verdict (p50 / p99)",
                 [(q(0.5, "warmrun_compile_seconds", ["verdict"], L), "{{verdict}} p50"),
                  (q(0.99, "warmrun_compile_seconds", ["verdict"], L), "{{verdict}} p99")],
                 unit="s", description="Empty for interpreted languages (no compile step).")

    b.row("Leases, queue and pool of $language")
    b.timeseries("Leases/s by kind",
                 [(f"sum by (kind) (rate(warmrun_leases_total{L}[{RI}]))", "{{kind}}")],
                 unit="reqps", w=8, stack=True)
    b.timeseries("Lease wait p50 / p99 by kind",
                 [(q(0.5, "warmrun_lease_seconds", ["kind"], L), "{{kind}} p50"),
                  (q(0.99, "warmrun_lease_seconds", ["kind"], L), "{{kind}} p99")],
                 unit="s", w=8)
    b.timeseries("Queue depth and rejections",
                 [(f"sum(warmrun_queue_depth{L})", "waiting"),
                  (f"sum(rate(warmrun_queue_rejections_total{L}[{RI}]))", "rejected/s")], w=8)
    b.timeseries("Containers by state and warm target",
                 [(f"sum by (state) (warmrun_pool_containers{L})", "{{state}}"),
                  (f"sum(warmrun_pool_warm_target{L})", "warm target")],
                 w=8, stack=False,
                 description="The warm target is what the pool keeps (autosize: follows "
                             "the traffic between min_idle and max).")
    b.timeseries("Container churn",
                 [(f"sum(rate(warmrun_containers_created_total{L}[{RI}]))", "created"),
                  (f"sum by (reason) (rate(warmrun_containers_destroyed_total{L}[{RI}]))",
                   "destroyed ({{reason}})")], unit="ops", w=8)
    b.timeseries("Failed resets and failed creates (last 5 min)",
                 [(f"sum(increase(warmrun_reset_failures_total{L}[5m]))", "reset failed"),
                  (f"sum(increase(warmrun_container_create_failures_total{L}[5m]))",
                   "create failed")], w=8,
                 description="Series appear with the language's first failure.")
    b.timeseries("Container start and reset time (p50 / p99)",
                 [(q(0.5, "warmrun_container_start_seconds", [], L), "start p50"),
                  (q(0.99, "warmrun_container_start_seconds", [], L), "start p99"),
                  (q(0.5, "warmrun_reset_seconds", [], L), "reset p50"),
                  (q(0.99, "warmrun_reset_seconds", [], L), "reset p99")], unit="s", w=24)

    lang_var = {
        "name": "language", "label": "Language", "type": "query", "datasource": DS,
        "query": {"query": f"label_values(warmrun_runs_total{{{NODE}}}, language)",
                  "refId": "lang"},
        "definition": f"label_values(warmrun_runs_total{{{NODE}}}, language)",
        "refresh": 2, "sort": 1, "multi": False, "includeAll": False, "current": {},
        "hide": 0, "regex": "", "options": [],
    }
    return dashboard("warmrun-language", "warmrun / Language",
                     "One language of the warmrun engine: runs, latency, compile and "
                     "program times, leases, pool, churn.", b,
                     [datasource_var(), node_var(), lang_var], ["warmrun"])


def main():
    for name, board in (("overview.json", overview()), ("language.json", language())):
        path = os.path.join(HERE, name)
        with open(path, "w") as f:
            json.dump(board, f, indent=2)
            f.write("\n")
        n = sum(1 for p in board["panels"] if p["type"] != "row")
        print(f"wrote {path} ({n} panels)")


if __name__ == "__main__":
    main()
