#!/usr/bin/env python3
"""Evaluates every Grafana panel query and every alert rule against a real Prometheus
scraping a real warmrun engine under a small load.

  python3 grafana/test/check_dashboards.py [--keep] [--cluster | --single]
                                                (normally via grafana/test/run.sh)

Two modes:
- single node (what CI ran before the cluster existed; `--single`, or when no cluster
  answers): one warmrun-server of its own, the target of a file_sd file.
- cluster (`--cluster`, or automatically when ${WARMRUN_CLUSTER_DIR:-/tmp/warmrun-cluster}/
  cluster.json exists and its balancer answers /readyz): Prometheus discovers every node
  of cluster.json through file_sd (node label = node id), plus a "canary" node of its own
  (the broken language: not ready, create failures; the queue-full bursts and the reset
  failure go to it) and a "ghost" target where nothing listens (a node missing from
  scraping: up == 0). The rest of the load goes through the cluster's HAProxy; every
  cluster node must have run some of it (the "Runs/s per node" panel).

What it does:
 1. `promtool check rules` on grafana/prometheus/alerts.yml; static checks of the
    dashboards' JSON (ids, data sources, the language variable).
 2. Starts warmrun-server (languages python, bash, c, plus "broken", whose image does not
    exist) and Debian's prometheus (1 s scrapes, the alert rules loaded, temp TSDB).
 3. A small load: REST and WebSocket runs (prompt answered), a compile error, a runtime
    error, a time limit, bad requests, a submission, a burst that gives warm, cold and
    queued leases and queue-full rejections, and a reset failure injected into the c
    containers (a root-owned directory in /tmp that the sandbox uid cannot remove).
 4. Through Prometheus's HTTP API (/api/v1/query): every panel target of every dashboard
    must evaluate without error, every panel must return data, and every metric a panel
    or rule names must exist. `$language` becomes c (compiled: every drill-down panel has
    data); the other languages must still evaluate. Every loaded alert rule must
    evaluate, be healthy, and those the load provokes must be pending or firing.
Prints one line per check and closes with `N passed, M failed`; exits 1 on a failure.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import http, log  # noqa: E402

RATE_INTERVAL = "15s"
DRILL_LANGUAGE = "c"
LANGUAGES = ["python", "bash", "c"]
SERVER_CONFIG = """
[engine]
max_containers = 12
max_uses = 3
queue_capacity = 4
[rate_limit]
per_ip_per_s = 1000
per_ip_burst = 2000
"""
NODE_ALL = ".*"  # Grafana's value of $node for "All" (the variable's allValue)
CANARY, GHOST = "promtest-canary", "promtest-ghost"
# Alerts the load must leave pending or firing (their `for` is minutes), as
# (alertname, label, value); label None: any series of that alert.
EXPECTED_ALERTS = {
    ("WarmrunPoolEmpty", "language", "broken"),
    ("WarmrunContainerCreateFailing", "language", "broken"),
    ("WarmrunQueueSaturated", "language", "python"),
}
EXPECTED_SINGLE = {("WarmrunNotReady", None, None), ("WarmrunNodeNotReady", "node", "promtest")}
EXPECTED_CLUSTER = {("WarmrunNodeNotReady", "node", CANARY), ("WarmrunDown", "node", GHOST)}


class Results:
    def __init__(self):
        self.passed, self.failed = 0, []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {name}")
        else:
            self.failed.append(name)
            print(f"  FAIL  {name}{': ' + detail if detail else ''}")
        return ok


def template(expr, language, node=NODE_ALL):
    for var, value in (("$__rate_interval", RATE_INTERVAL), ("${__rate_interval}", RATE_INTERVAL),
                       ("$__interval", "5s"), ("${__interval}", "5s"), ("$__range", "5m"),
                       ("${language}", language), ("$language", language),
                       ("${node}", node), ("$node", node)):
        expr = expr.replace(var, value)
    return expr


def metric_names(expr):
    return set(re.findall(r"\b(warmrun_[a-z0-9_]+)\b", expr))


def load_dashboards():
    boards = {}
    for path in sorted(glob.glob(os.path.join(harness.DASHBOARDS, "*.json"))):
        with open(path) as f:
            boards[os.path.basename(path)] = json.load(f)
    return boards


def static_checks(r, boards):
    print("== static checks")
    rc = subprocess.run(["promtool", "check", "rules", harness.ALERTS],
                        capture_output=True, text=True)
    r.check("promtool check rules alerts.yml", rc.returncode == 0, rc.stdout + rc.stderr)
    r.check("two dashboards (overview, language)", set(boards) >= {"overview.json", "language.json"},
            str(sorted(boards)))
    uids = [b["uid"] for b in boards.values()]
    r.check("dashboard uids unique", len(uids) == len(set(uids)), str(uids))
    for name, b in boards.items():
        ids = [p["id"] for p in b["panels"]]
        r.check(f"{name}: panel ids unique", len(ids) == len(set(ids)))
        panels = [p for p in b["panels"] if p["type"] != "row"]
        bad = [p["title"] for p in panels
               if not p.get("targets") or p.get("datasource", {}).get("uid") != "${datasource}"
               or any(t.get("datasource", {}).get("uid") != "${datasource}" for t in p["targets"])]
        r.check(f"{name}: every panel has targets on ${{datasource}}", not bad, str(bad))
        names = [v["name"] for v in b["templating"]["list"]]
        r.check(f"{name}: has a datasource variable", "datasource" in names, str(names))
        node = [v for v in b["templating"]["list"] if v["name"] == "node"]
        r.check(f"{name}: has a node variable (multi, All = .*)",
                node and node[0].get("multi") and node[0].get("includeAll")
                and node[0].get("allValue") == NODE_ALL, str(node))
        unscoped = [f"{p['title']}: {t['expr']}" for p in panels for t in p["targets"]
                    if re.search(r"\b(warmrun_[a-z0-9_]+|up)\b(?!\{[^}]*node=~\"\$node\")",
                                 t["expr"])]
        r.check(f"{name}: every warmrun selector filters on node=~\"$node\"", not unscoped,
                "; ".join(unscoped))
    lang = boards.get("language.json", {"templating": {"list": []}})
    var = [v for v in lang["templating"]["list"] if v["name"] == "language"]
    want = 'label_values(warmrun_runs_total{node=~"$node"}, language)'
    r.check(f"language.json: $language = {want}", var and var[0]["query"]["query"] == want)
    over = boards.get("overview.json", {"panels": []})
    cluster = [p["title"] for p in over["panels"]
               if p["type"] != "row" and any("by (node)" in t["expr"] for t in p["targets"])]
    r.check("overview.json: cluster row has runs/s, queue depth and readiness per node",
            {"Runs/s per node", "Queue depth per node", "Readiness per node"} <= set(cluster),
            str(cluster))


# --- load ---------------------------------------------------------------------------------

def run(url, body, want_status=200, want_verdict=None):
    status, res = http("POST", url + "/api/v1/runs", body)
    ok = status == want_status and (want_verdict is None or
                                    (isinstance(res, dict) and res.get("verdict") == want_verdict))
    if not ok:
        raise RuntimeError(f"run {body.get('language')}: HTTP {status} {res}")
    return res


def burst(url):
    """Gives warm, cold and queued leases and queue-full rejections on python (max 4,
    queue_capacity 4): 4 sleeping runs at once, 4 more while all are busy, then 3 that
    find the queue full."""
    results = []

    def one(i):
        status, res = http("POST", url + "/api/v1/runs",
                           {"language": "python", "code": "import time\ntime.sleep(1.5)\n"})
        results.append((status, res.get("lease") if isinstance(res, dict) else None))

    threads = []
    for wave, n, pause in ((1, 4, 1.0), (2, 4, 0.2), (3, 3, 0)):
        for i in range(n):
            t = threading.Thread(target=one, args=(i,))
            t.start()
            threads.append(t)
        time.sleep(pause)
    for t in threads:
        t.join(60)
    leases = sorted({l for s, l in results if s == 200})
    rejected = sum(1 for s, _ in results if s == 503)
    log(f"burst: leases {leases}, {rejected} refused with 503")
    return leases, rejected


def pool_size(server, language):
    """Containers of `language` in every state (idle, leased, starting, resetting)."""
    return sum(v for (name, labels), v in server.metrics().items()
               if name == "warmrun_pool_containers" and ("language", language) in labels)


def inject_reset_failure(server, language):
    """A root-owned, mode-000 directory in /tmp of every `language` container: the agent
    wipes /tmp as the sandbox uid, cannot remove it, and the reset fails."""
    ids = server.containers(language)
    for cid in ids:
        subprocess.run(["docker", "exec", "-u", "0", cid, "sh", "-c",
                        "mkdir -p /tmp/.stuck && touch /tmp/.stuck/f && chmod 000 /tmp/.stuck"],
                       check=True, capture_output=True)
    return len(ids)


def generate_load(r, url, server):
    """The load, through `url` (the server itself, or the cluster's balancer) for the
    languages its nodes have, else to `server`; bursts and the reset failure go to
    `server` (ours: its queue limits and containers are known)."""
    print("== load")
    _, catalog = http("GET", url + "/api/v1/languages")
    served = {l["id"] for l in catalog} if isinstance(catalog, list) else set()
    at = {lang: url if lang in served else server.url for lang in LANGUAGES}
    log(f"load: {', '.join(f'{l} → {u}' for l, u in at.items())}")
    for i in range(6):
        run(at["python"], {"language": "python", "code": f"print('hello {i}')"}, want_verdict="ok")
    for _ in range(3):
        run(at["bash"], {"language": "bash", "code": "echo hi"}, want_verdict="ok")
    for _ in range(2):
        run(at["c"], {"language": "c", "code": '#include <stdio.h>\nint main(){puts("hi");return 0;}\n'},
            want_verdict="ok")
    ce = run(at["c"], {"language": "c", "code": "int main( {\n"}, want_verdict="compile_error")
    r.check("load: c compile error gives verdict compile_error", ce["verdict"] == "compile_error")
    run(at["python"], {"language": "python", "code": "raise SystemExit(3)"},
        want_verdict="runtime_error")
    tl = run(at["python"], {"language": "python", "code": "import time\ntime.sleep(5)\n",
                   "limits": {"wall_ms": 500}})
    r.check("load: sleeping past wall_ms gives time_limit", tl["verdict"] == "time_limit",
            tl["verdict"])
    st, _ = http("POST", url + "/api/v1/runs", {"language": "cobol", "code": "x"})
    r.check("load: unknown language is a 4xx", 400 <= st < 500, str(st))
    st, _ = http("POST", url + "/api/v1/runs", {"language": "python"})
    r.check("load: missing code is a 400", st == 400, str(st))
    st, sub = http("POST", at["bash"] + "/api/v1/submissions", {"language": "bash", "code": "echo sub"})
    done = False
    if st == 202:
        for _ in range(60):
            _, s = http("GET", f"{at['bash']}/api/v1/submissions/{sub['id']}")
            if isinstance(s, dict) and s.get("status") == "finished":
                done = True
                break
            time.sleep(0.25)
    r.check("load: a submission finishes", done, f"{st} {sub}")
    example = ('name = input("What is your name? ")\nprint(f"Hello, {name}!")\n')
    for who in ("Ada", "Linus", "Grace"):
        ex, out, types = harness.ws_run(at["python"], {"language": "python", "code": example},
                                        answer=who + "\n", prompt="name?")
        r.check(f"load: WS prompt answered ({who})",
                ex.get("verdict") == "ok" and f"Hello, {who}!" in out, f"{ex} {out!r} {types}")
    for _ in range(2):
        ex, _, _ = harness.ws_run(at["bash"], {"language": "bash", "code": "true"})
        r.check("load: WS bash true", ex.get("verdict") == "ok", str(ex))
    # A cold lease needs room to grow when the burst starts: after the load above the
    # autosizer may keep python at its max (4) warm, and then every lease of the first wave
    # is warm. Without traffic it gives one back every 15 s (autosize_shrink_ms).
    harness.wait_for("python below its max (4 containers) before the burst",
                     lambda: pool_size(server, "python") < 4, 120)
    # Twice: a counter series is born at its first increment, and rate() only sees the
    # increments after that (the first burst's rejections are invisible to the alert).
    leases, rejected = burst(server.url)
    time.sleep(2)
    leases2, rejected2 = burst(server.url)
    leases, rejected = sorted(set(leases) | set(leases2)), rejected + rejected2
    r.check("load: burst gives warm and cold leases", {"warm", "cold"} <= set(leases), str(leases))
    r.check("load: burst gives queued leases", "queued" in leases, str(leases))
    r.check("load: burst gives queue-full 503s", rejected > 0, str(rejected))
    n = inject_reset_failure(server, "c")
    run(server.url, {"language": "c", "code": '#include <stdio.h>\nint main(){puts("x");return 0;}\n'},
        want_verdict="ok")
    r.check(f"load: reset failure injected into {n} c container(s)", n > 0)
    # The reset runs after the run's answer and may take seconds (the agent retries its
    # wipe until a deadline): wait until the server counts the failure.
    seen = False
    for _ in range(60):
        if any(name == "warmrun_reset_failures_total" for name, _ in server.metrics()):
            seen = True
            break
        time.sleep(0.5)
    r.check("load: the failed reset is counted (warmrun_reset_failures_total)", seen)
    # Every language's counters after the last event (on every node behind a balancer),
    # and a socket left open.
    hello = {"python": "print(1)", "bash": "true", "c": "int main(){return 0;}"}
    for _ in range(3 if url != server.url else 1):
        for lang in LANGUAGES:
            run(at[lang], {"language": lang, "code": hello[lang]})
    if url != server.url:
        for lang in LANGUAGES:
            run(server.url, {"language": lang, "code": hello[lang]})
    return harness.WebSocket(at["python"])


# --- evaluation ---------------------------------------------------------------------------

def evaluate_dashboards(r, prom, boards, names_present, nodes):
    """`nodes`: the node ids that must appear in $node and in the per-node panels."""
    print("== dashboards")
    status = prom.api("label/language/values", **{"match[]": "warmrun_runs_total"})
    langs = status.get("data", [])
    r.check(f"$language values {langs} include {DRILL_LANGUAGE} and python",
            DRILL_LANGUAGE in langs and "python" in langs)
    node_values = prom.api("label/node/values", **{"match[]": "warmrun_ready"}).get("data", [])
    r.check(f"$node values {node_values} include {sorted(nodes)}", set(nodes) <= set(node_values))
    one = sorted(nodes)[0]
    for name, board in boards.items():
        uses_lang = any(v["name"] == "language" for v in board["templating"]["list"])
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            title = f"{name}: {panel['title']}"
            got_data, errors, missing = False, [], set()
            for t in panel["targets"]:
                for m in metric_names(t["expr"]):
                    if m not in names_present:
                        missing.add(m)
                res = prom.query(template(t["expr"], DRILL_LANGUAGE))
                if res.get("status") != "success":
                    errors.append(f"{t['refId']}: {res.get('error')}")
                elif res["data"]["result"]:
                    got_data = True
                # One node chosen, and several (Grafana's regex of a multi-value pick).
                for pick in (one, "(" + "|".join(sorted(nodes)) + ")"):
                    res = prom.query(template(t["expr"], DRILL_LANGUAGE, pick))
                    if res.get("status") != "success":
                        errors.append(f"{t['refId']} (node {pick}): {res.get('error')}")
                if "by (node)" in t["expr"]:
                    res = prom.query(template(t["expr"], DRILL_LANGUAGE))
                    got = {x["metric"].get("node") for x in res.get("data", {}).get("result", [])}
                    r.check(f"{title} [{t['refId']}: a series per node]", set(nodes) <= got,
                            f"{sorted(got)} lacks {sorted(set(nodes) - got)}")
                if uses_lang:
                    for other in langs:
                        if other == DRILL_LANGUAGE:
                            continue
                        res = prom.query(template(t["expr"], other))
                        if res.get("status") != "success":
                            errors.append(f"{t['refId']} ({other}): {res.get('error')}")
            r.check(f"{title} [evaluates]", not errors, "; ".join(errors))
            r.check(f"{title} [metrics exist]", not missing, ", ".join(sorted(missing)))
            r.check(f"{title} [returns data]", got_data,
                    " | ".join(template(t["expr"], DRILL_LANGUAGE) for t in panel["targets"]))


def evaluate_alerts(r, prom, names_present, expected):
    print("== alert rules")
    want = len(re.findall(r"(?m)^\s*- alert:", open(harness.ALERTS).read()))
    rules = []
    deadline = time.time() + 30
    while time.time() < deadline:
        groups = prom.api("rules").get("data", {}).get("groups", [])
        rules = [rule for g in groups for rule in g["rules"]]
        if rules and all(rule.get("lastEvaluation", "").startswith("20") and
                         not rule["lastEvaluation"].startswith("0001") for rule in rules):
            break
        time.sleep(1)
    r.check(f"prometheus loaded all {want} alert rules", len(rules) == want, str(len(rules)))
    for rule in rules:
        name = f"alert {rule['name']}"
        res = prom.query(rule["query"])
        r.check(f"{name} [evaluates]", res.get("status") == "success", str(res.get("error")))
        r.check(f"{name} [healthy in prometheus]", rule.get("health") == "ok",
                f"{rule.get('health')} {rule.get('lastError')}")
        missing = sorted(m for m in metric_names(rule["query"]) if m not in names_present)
        r.check(f"{name} [metrics exist]", not missing, ", ".join(missing))
    def matched(alerts, want):
        name, label, value = want
        return any(a["labels"]["alertname"] == name and
                   (label is None or a["labels"].get(label) == value) for a in alerts)

    alerts = []
    deadline = time.time() + 20
    while time.time() < deadline:
        alerts = prom.api("alerts").get("data", {}).get("alerts", [])
        if all(matched(alerts, want) for want in expected):
            break
        time.sleep(1)
    active = sorted({(a["labels"]["alertname"], a["labels"].get("language") or
                      a["labels"].get("node")) for a in alerts}, key=str)
    for want in sorted(expected, key=str):
        name, label, value = want
        r.check(f"alert {name}{'{' + label + '=' + value + '}' if label else ''} is pending or firing",
                matched(alerts, want), str(active))


def cluster_file():
    return os.path.join(os.environ.get("WARMRUN_CLUSTER_DIR", "/tmp/warmrun-cluster"),
                        "cluster.json")


def live_cluster():
    """cluster.json when it exists and its balancer answers /readyz, else None."""
    try:
        with open(cluster_file()) as f:
            cluster = json.load(f)
        return cluster if http("GET", cluster["lb"] + "/readyz", timeout=5)[0] == 200 else None
    except (OSError, ValueError, KeyError):
        return None


def main():
    keep = "--keep" in sys.argv
    cluster = None
    if "--cluster" in sys.argv:
        cluster = live_cluster()
        if cluster is None:
            sys.exit(f"--cluster: {cluster_file()} missing or its balancer does not answer "
                     "/readyz (bash scripts/cluster.sh up)")
    elif "--single" not in sys.argv:
        cluster = live_cluster()
    r = Results()
    boards = load_dashboards()
    static_checks(r, boards)
    work = tempfile.mkdtemp(prefix="warmrun-promtest-")
    server = prom = sock = None
    try:
        if cluster:
            ids = [str(n["id"]) for n in cluster["nodes"]]
            log(f"cluster mode: {cluster_file()}, balancer {cluster['lb']}, nodes {ids}")
            sys.path.insert(0, os.path.join(harness.REPO, "grafana", "prometheus"))
            import cluster_targets  # noqa: E402
            server = harness.Server(work, SERVER_CONFIG, languages=LANGUAGES, broken=True,
                                    name=CANARY)
            server.wait_pools(LANGUAGES)
            groups = cluster_targets.targets(cluster) + [
                {"targets": [f"127.0.0.1:{server.port}"], "labels": {"node": CANARY}},
                {"targets": [f"127.0.0.1:{harness.free_port()}"], "labels": {"node": GHOST}}]
            prom = harness.Prometheus(work, groups)
            prom.wait_ready()
            prom.wait_scraped(nodes=ids + [CANARY])
            url, nodes = cluster["lb"], ids + [CANARY]
            expected = EXPECTED_ALERTS | EXPECTED_CLUSTER
        else:
            log("single-node mode")
            server = harness.Server(work, SERVER_CONFIG, languages=LANGUAGES, broken=True,
                                    name="promtest")
            server.wait_pools(LANGUAGES)
            prom = harness.Prometheus(work, f"127.0.0.1:{server.port}", node=server.node)
            prom.wait_ready()
            prom.wait_scraped()
            url, nodes = server.url, [server.node]
            expected = EXPECTED_ALERTS | EXPECTED_SINGLE
        sock = generate_load(r, url, server)
        log("waiting for scrapes of the final counters")
        time.sleep(4)
        names_present = set(prom.api("label/__name__/values").get("data", []))
        r.check("warmrun metrics scraped", any(n.startswith("warmrun_") for n in names_present))
        evaluate_dashboards(r, prom, boards, names_present, nodes)
        evaluate_alerts(r, prom, names_present, expected)
    except Exception as e:  # a harness failure is a failed check, with the logs
        r.check("harness", False, f"{type(e).__name__}: {e}")
        for p in (server, prom):
            if p is not None:
                print(f"--- {p.proc.name} log (tail)\n{p.proc.tail()}")
    finally:
        if sock:
            sock.close()
        for p in (prom, server):
            if p is not None:
                p.stop()
        if keep or r.failed:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if r.failed:
        print("failed checks:\n  " + "\n  ".join(r.failed))
    print(f"{r.passed} passed, {len(r.failed)} failed")
    sys.exit(1 if r.failed else 0)


if __name__ == "__main__":
    main()
