#!/usr/bin/env python3
"""Checks a deployed warmrun stack through its HAProxy (deploy/swarm/test.sh runs it
inside the manager node's network namespace). Python 3 stdlib only.

  check.py wait  LB_URL STATS_URL N      until HAProxy has N engines UP and /readyz is 200
  check.py runs  LB_URL COUNT            COUNT Python runs; prints the X-Warmrun-Node seen
  check.py state LB_URL                  a submission and a snippet, each read back
                                         several times through the balancer

Every command prints one JSON line (what test.sh reads) after its human-readable lines,
and exits 1 when a check fails.
"""

import json
import sys
import time
import urllib.error
import urllib.request


def http(method, url, body=None, timeout=30):
    """(status, headers, parsed JSON or text); never raises for HTTP error statuses."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    try:
        return status, headers, json.loads(raw)
    except ValueError:
        return status, headers, raw.decode(errors="replace")


def say(msg):
    print(f"  [check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def engines_up(stats_url):
    """Servers of backend `engines` that HAProxy's checks mark UP (its CSV stats)."""
    with urllib.request.urlopen(stats_url + "/stats;csv", timeout=5) as r:
        rows = r.read().decode().splitlines()
    head = rows[0].lstrip("# ").split(",")
    up = []
    for line in rows[1:]:
        row = dict(zip(head, line.split(",")))
        if row.get("pxname") == "engines" and row.get("svname", "").startswith("engine") \
                and row.get("status", "").startswith("UP"):
            up.append(row["svname"])
    return up


def cmd_wait(lb, stats, want, timeout=300):
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            up = engines_up(stats)
            status = http("GET", lb + "/readyz", timeout=5)[0]
            last = f"{len(up)} engine(s) UP, /readyz {status}"
            if len(up) >= want and status == 200:
                say(last)
                return {"up": len(up)}
        except OSError as e:
            last = str(e)
        time.sleep(1)
    raise SystemExit(f"timed out after {timeout}s waiting for {want} engines UP ({last})")


def cmd_runs(lb, count):
    nodes, failures = {}, []
    for i in range(count):
        status, headers, res = http("POST", lb + "/api/v1/runs",
                                    {"language": "python", "code": f"print({i} * 7)"})
        node = headers.get("X-Warmrun-Node") or "?"
        if status != 200 or res.get("verdict") != "ok" or res.get("stdout") != f"{i * 7}\n":
            failures.append(f"run {i}: HTTP {status} {res}")
        else:
            nodes[node] = nodes.get(node, 0) + 1
    say(f"{count} runs through HAProxy: {count - len(failures)} ok; X-Warmrun-Node: {nodes}")
    for f in failures:
        say("FAIL " + f)
    if failures:
        raise SystemExit(1)
    return {"nodes": nodes}


def cmd_state(lb):
    """A submission and a snippet, written through the balancer and read back through it
    (leastconn spreads the reads over the nodes)."""
    out = {"submission_readers": {}, "submission_404": 0, "snippet_readers": {}}
    status, headers, sub = http("POST", lb + "/api/v1/submissions",
                                {"language": "python", "code": "print('submitted')"})
    if status != 202:
        raise SystemExit(f"POST /api/v1/submissions: HTTP {status} {sub}")
    out["submission_writer"] = headers.get("X-Warmrun-Node") or "?"
    finished, deadline = 0, time.time() + 60
    while time.time() < deadline and finished < 6:
        status, headers, res = http("GET", f"{lb}/api/v1/submissions/{sub['id']}")
        node = headers.get("X-Warmrun-Node") or "?"
        if status == 404:
            out["submission_404"] += 1
        elif status == 200 and res.get("status") == "finished":
            if res["result"]["stdout"] != "submitted\n":
                raise SystemExit(f"submission result {res}")
            finished += 1
            out["submission_readers"][node] = out["submission_readers"].get(node, 0) + 1
        time.sleep(0.3)
    say(f"submission {sub['id']} (posted to {out['submission_writer']}): finished as read by "
        f"{out['submission_readers']}, {out['submission_404']} answer(s) 404")
    if not finished:
        raise SystemExit("the submission never read back as finished")
    status, headers, snip = http("POST", lb + "/api/v1/snippets",
                                 {"language": "python", "code": "print('saved')", "title": "swarm"})
    if status != 201:
        raise SystemExit(f"POST /api/v1/snippets: HTTP {status} {snip}")
    for _ in range(6):
        status, headers, res = http("GET", f"{lb}/api/v1/snippets/{snip['id']}")
        if status != 200 or res.get("code") != "print('saved')":
            raise SystemExit(f"GET snippet: HTTP {status} {res}")
        node = headers.get("X-Warmrun-Node") or "?"
        out["snippet_readers"][node] = out["snippet_readers"].get(node, 0) + 1
    say(f"snippet {snip['id']} (PostgreSQL) read back 6 times by {out['snippet_readers']}")
    return out


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "wait":
        res = cmd_wait(args[0], args[1], int(args[2]))
    elif cmd == "runs":
        res = cmd_runs(args[0], int(args[1]))
    elif cmd == "state":
        res = cmd_state(args[0])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
