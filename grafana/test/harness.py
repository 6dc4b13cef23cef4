"""Starts a real warmrun server and a real Prometheus for the dashboard test and the
dashboard renders; small HTTP, WebSocket and Prometheus clients. Python 3 stdlib only.

Used by check_dashboards.py (the test) and ../render/make_screenshots.py.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", "/var/cache/warmrun-build/target")
# WARMRUN_SERVER_BIN, else the release build, else the debug build.
SERVER_BIN = os.environ.get("WARMRUN_SERVER_BIN") or next(
    (p for p in (os.path.join(TARGET, prof, "warmrun-server") for prof in ("release", "debug"))
     if os.path.exists(p)), os.path.join(TARGET, "release", "warmrun-server"))
DASHBOARDS = os.environ.get("WARMRUN_DASHBOARDS", os.path.join(REPO, "grafana", "dashboards"))
ALERTS = os.path.join(REPO, "grafana", "prometheus", "alerts.yml")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- HTTP -------------------------------------------------------------------------------

def http(method, url, body=None, timeout=60):
    """Returns (status, parsed JSON or text). Never raises for HTTP error statuses."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(what, check, timeout, every=0.5):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception as e:  # connection refused while starting, etc.
            last = e
        time.sleep(every)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what} ({last})")


# --- processes ----------------------------------------------------------------------------

class Proc:
    """A child in its own process group, logging to a file; stop() ends only that group."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name, self.log_path = name, log_path
        self.logf = open(log_path, "wb")
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                  start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, grace=15):
        if self.alive():
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.logf.close()


def test_catalog(path, languages, broken=True):
    """Writes a catalog with only `languages` from images/languages.toml (fewer idle
    containers) plus, when `broken`, a language whose image does not exist (its pool
    can never be created: container create failures, an empty pool)."""
    text = open(os.path.join(REPO, "images", "languages.toml")).read()
    blocks = re.split(r"(?m)^(?=\[\[language\]\])", text)
    keep, bash_block = [], None
    for b in blocks[1:]:
        m = re.search(r'(?m)^id = "([^"]+)"', b)
        if m and m.group(1) in languages:
            keep.append(b)
        if m and m.group(1) == "bash":
            bash_block = b
    if broken and bash_block:
        b = re.sub(r'(?m)^id = "bash"', 'id = "broken"', bash_block)
        b = re.sub(r'(?m)^name = ".*"', 'name = "Broken image (test only)"', b)
        b = re.sub(r'(?m)^image = ".*"', 'image = "warmrun/does-not-exist:none"', b)
        b = re.sub(r'(?m)^aliases = .*', "aliases = []", b)
        keep.append(b)
    with open(path, "w") as f:
        f.write("".join(keep))


class Server:
    """warmrun-server on a free port with its own instance name and config."""

    def __init__(self, workdir, config_toml, languages=None, broken=False, name="ops"):
        if not os.path.exists(SERVER_BIN):
            raise RuntimeError(f"{SERVER_BIN} is missing: cargo build --release -p server")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        catalog = os.path.join(REPO, "images", "languages.toml")
        if languages:
            catalog = os.path.join(workdir, "languages.toml")
            test_catalog(catalog, languages, broken)
        cfg = os.path.join(workdir, "warmrun.toml")
        with open(cfg, "w") as f:
            f.write(f'listen = "127.0.0.1:{self.port}"\ncatalog = "{catalog}"\n{config_toml}')
        self.instance = f"{name}{os.getpid()}"
        self.node = name  # its node id (X-Warmrun-Node) and Prometheus `node` label
        env = dict(os.environ, WARMRUN_CONFIG=cfg, WARMRUN_INSTANCE=self.instance,
                   WARMRUN_NODE_ID=self.node, WARMRUN_DATA_DIR=os.path.join(workdir, "data"),
                   RUST_LOG=os.environ.get("RUST_LOG", "warn,server=info"))
        env.pop("DATABASE_URL", None)  # its own SQLite store, never a cluster's database
        env.pop("WARMRUN_LISTEN", None)
        if languages:
            env.pop("WARMRUN_CATALOG", None)  # would override the test catalog
        log(f"starting warmrun-server on {self.url} (instance {self.instance})")
        self.proc = Proc("warmrun-server", [SERVER_BIN], os.path.join(workdir, "server.log"),
                         env=env, cwd=REPO)

    def wait_ready(self, timeout=120):
        def ready():
            if not self.proc.alive():
                raise SystemExit(f"warmrun-server exited:\n{self.proc.tail()}")
            return http("GET", self.url + "/readyz", timeout=5)[0] == 200
        wait_for("warmrun /readyz", ready, timeout)
        log("warmrun-server ready")

    def metrics(self):
        """The /metrics text as {(name, frozenset(labels)): value}."""
        _, text = http("GET", self.url + "/metrics", timeout=10)
        out = {}
        for line in str(text).splitlines():
            m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$", line)
            if m:
                labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
                out[(m.group(1), labels)] = float(m.group(3))
        return out

    def wait_pools(self, languages, timeout=120):
        """Until each of `languages` has an idle container (when /readyz cannot say so,
        e.g. with a broken language in the catalog)."""
        def warm():
            if not self.proc.alive():
                raise SystemExit(f"warmrun-server exited:\n{self.proc.tail()}")
            m = self.metrics()
            return all(m.get(("warmrun_pool_containers",
                              frozenset({("language", l), ("state", "idle")})), 0) >= 1
                       for l in languages)
        wait_for(f"idle containers of {', '.join(languages)}", warm, timeout)
        log(f"pools warm: {', '.join(languages)}")

    def containers(self, language=None):
        argv = ["docker", "ps", "-q", "--filter", f"label=io.warmrun.instance={self.instance}"]
        if language:
            argv += ["--filter", f"label=io.warmrun.language={language}"]
        return subprocess.run(argv, capture_output=True, text=True).stdout.split()

    def stop(self):
        self.proc.stop()


class Prometheus:
    """Debian's prometheus with a temporary TSDB, scraping every `scrape` the engine
    nodes listed in a file_sd target file (as grafana/prometheus/prometheus.yml does).

    `targets` is "host:port" (one node, named `node`) or file_sd target groups
    [{"targets": ["host:port"], "labels": {"node": id}}]; set_targets() rewrites them
    while Prometheus runs (it watches the file)."""

    def __init__(self, workdir, targets, rules=ALERTS, scrape="1s", node="promtest"):
        binary = shutil.which("prometheus")
        if not binary:
            raise RuntimeError("prometheus is not installed (apt-get install -y prometheus)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets_file = os.path.join(workdir, "targets.json")
        if isinstance(targets, str):
            targets = [{"targets": [targets], "labels": {"node": node}}]
        self.set_targets(targets)
        cfg = os.path.join(workdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: {scrape}
  evaluation_interval: {scrape}
rule_files:
  - {rules}
scrape_configs:
  - job_name: warmrun
    file_sd_configs:
      - files: ["{self.targets_file}"]
        refresh_interval: 5s
    relabel_configs:
      - source_labels: [node, __address__]
        regex: ";([^:]+)(?::[0-9]+)?"
        target_label: node
        replacement: "$1"
""")
        self.tsdb = tempfile.mkdtemp(prefix="prom-tsdb-", dir=workdir)
        names = ", ".join(f"{g['labels'].get('node', '?')}={t}" for g in targets for t in g["targets"])
        log(f"starting prometheus on {self.url} scraping {names} every {scrape}")
        self.proc = Proc("prometheus", [
            binary, f"--config.file={cfg}", f"--storage.tsdb.path={self.tsdb}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d", "--log.level=warn",
        ], os.path.join(workdir, "prometheus.log"))

    def set_targets(self, groups):
        tmp = self.targets_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(groups, f)
        os.replace(tmp, self.targets_file)

    def wait_ready(self, timeout=60):
        def ready():
            if not self.proc.alive():
                raise SystemExit(f"prometheus exited:\n{self.proc.tail()}")
            with urllib.request.urlopen(self.url + "/-/ready", timeout=3) as r:
                return r.status == 200
        wait_for("prometheus /-/ready", ready, timeout)

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
        status, body = http("GET", url, timeout=30)
        if not isinstance(body, dict):
            return {"status": "error", "error": f"HTTP {status}: {body}"}
        return body

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.api("query", **params)

    def query_range(self, expr, start, end, step):
        return self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=f"{step}")

    def wait_scraped(self, timeout=60, nodes=None):
        """Until every target (or those of `nodes`) is up and has been scraped a few
        times."""
        def scraped():
            r = self.query('count_over_time(up{job="warmrun"}[1m]) >= 3 and up == 1')
            res = r.get("data", {}).get("result", [])
            seen = {x["metric"].get("node") for x in res}
            return res and (nodes is None or set(nodes) <= seen)
        wait_for(f"three scrapes of warmrun{' nodes ' + ', '.join(nodes) if nodes else ''}",
                 scraped, timeout)

    def stop(self):
        self.proc.stop()


# --- WebSocket (RFC 6455 client, text frames) ----------------------------------------------

class WebSocket:
    def __init__(self, base_url, path="/api/v1/ws", timeout=30):
        u = urllib.parse.urlparse(base_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the WebSocket handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"WebSocket upgrade refused: {status.decode()}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("WebSocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, obj):
        self._send(0x1, json.dumps(obj).encode())

    def recv(self):
        """The next text frame as parsed JSON; None when the server closed."""
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:
                self._send(0xA, payload)
                continue
            if opcode == 0x8:
                return None
            if opcode in (0x1, 0x0):
                message += payload
                if b0 & 0x80:
                    return json.loads(message)

    def close(self):
        try:
            self._send(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


def ws_run(base_url, frame, answer=None, prompt=None, timeout=30):
    """One run over a fresh socket: sends `frame`, answers `prompt` with `answer` when the
    stdout shows it, and returns (exit frame, stdout, frame types seen)."""
    ws = WebSocket(base_url, timeout=timeout)
    try:
        ws.send(dict(frame, type="run"))
        out, types, answered = "", [], False
        while True:
            f = ws.recv()
            if f is None:
                raise ConnectionError(f"socket closed before exit; saw {types}")
            types.append(f["type"])
            if f["type"] == "stdout":
                out += f["data"]
                if prompt and not answered and prompt in out:
                    ws.send({"type": "stdin", "data": answer})
                    answered = True
            elif f["type"] == "exit":
                return f, out, types
            elif f["type"] == "error":
                raise RuntimeError(f"error frame: {f}")
    finally:
        ws.close()
