#!/usr/bin/env python3
"""Makes grafana/screenshots/*.png: starts a warmrun-server (python, javascript, bash, c)
and Debian's prometheus (1 s scrapes), plays a ~100 s playground-like load, then renders
both dashboards from Prometheus with render_dashboards.py. Renders, not Grafana.

  python3 grafana/render/make_screenshots.py [--seconds 100] [--out grafana/screenshots]

The load: hello worlds in four languages over REST at a rate that rises and falls
(4..24 runs/s), interactive Python sessions over WebSocket (prompt answered), a few
compile errors, runtime errors and time limits, three idle sockets held open for a
while, and at 45 % of the time a burst of sleeping Python runs that fills the queue.
Needs the server binary (see grafana/test/harness.py), prometheus and matplotlib.
"""

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test"))
import harness  # noqa: E402
from harness import http, log  # noqa: E402

HELLO = {
    "python": 'print("hello")',
    "javascript": 'console.log("hello")',
    "bash": "echo hello",
    "c": '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n',
}
WEIGHTS = [("python", 50), ("javascript", 20), ("bash", 20), ("c", 10)]
CONFIG = """
[engine]
max_containers = 16
max_uses = 40
queue_capacity = 6
[rate_limit]
per_ip_per_s = 0
[limits]
sessions_per_ip = 100
"""


def play(url, seconds):
    stop = time.time() + seconds
    t0 = time.time()
    threads = []

    def spawn(fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        threads.append(t)

    def rest(lang, code, limits=None):
        body = {"language": lang, "code": code}
        if limits:
            body["limits"] = limits
        http("POST", url + "/api/v1/runs", body)

    def ws_prompt(name):
        try:
            harness.ws_run(url, {"language": "python",
                                 "code": 'n = input("What is your name? ")\nprint(f"Hello, {n}!")\n'},
                           answer=name + "\n", prompt="name?")
        except Exception as e:  # noqa: BLE001 (the render shows what happened)
            log(f"ws: {e}")

    def idle_sockets():
        socks = [harness.WebSocket(url) for _ in range(3)]
        time.sleep(seconds * 0.4)
        for s in socks:
            s.close()

    burst_done = sockets_done = False
    names = ["Ada", "Grace", "Linus", "Ken"]
    i = 0
    while time.time() < stop:
        el = time.time() - t0
        frac = el / seconds
        rate = 4 + 20 * math.sin(math.pi * frac) ** 2  # 4 .. 24 .. 4 runs/s
        lang = random.choices([l for l, _ in WEIGHTS], [w for _, w in WEIGHTS])[0]
        spawn(rest, lang, HELLO[lang])
        if i % 6 == 0:
            spawn(ws_prompt, names[i % len(names)])
        if i % 40 == 7:
            spawn(rest, "c", "int main( {\n")
        if i % 50 == 11:
            spawn(rest, "python", "raise SystemExit(2)")
        if i % 120 == 13:
            spawn(rest, "python", "import time\ntime.sleep(5)\n", {"wall_ms": 800})
        if frac > 0.2 and not sockets_done:
            sockets_done = True
            spawn(idle_sockets)
        if frac > 0.45 and not burst_done:
            burst_done = True
            for _ in range(14):
                spawn(rest, "python", "import time\ntime.sleep(2)\n")
        i += 1
        time.sleep(1 / rate)
        threads = [t for t in threads if t.is_alive()]
    for t in threads:
        t.join(30)
    log(f"load done: {i} runs started")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=100)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "screenshots"))
    ap.add_argument("--language", default="python,c",
                    help="$language of the drill-down (comma-separated: one PNG each)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="warmrun-shots-")
    server = prom = None
    rc = 1
    try:
        server = harness.Server(work, CONFIG, languages=list(HELLO), broken=False, name="shots")
        server.wait_ready()
        prom = harness.Prometheus(work, f"127.0.0.1:{server.port}")
        prom.wait_ready()
        prom.wait_scraped()
        start = time.time() - 5
        play(server.url, a.seconds)
        time.sleep(8)
        end = time.time()
        rc = subprocess.call([sys.executable, os.path.join(HERE, "render_dashboards.py"),
                              "--prom", prom.url, "--start", str(start), "--end", str(end),
                              "--language", a.language, "--rate-interval", "10s",
                              "--out", a.out])
    finally:
        for p in (prom, server):
            if p is not None:
                p.stop()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
