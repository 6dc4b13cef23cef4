#!/usr/bin/env python3
"""Where the CPU goes during a load test: samples every second until SIGINT/SIGTERM (or
--seconds), then prints CPU seconds and cores used per component.

  python3 load-tests/cpu_sample.py [--instance load] [--seconds N] [--out FILE]

Components:
- sandbox containers of the engine instance (`io.warmrun.instance` label): the agent,
  the interpreters and compilers, from each container's cpuacct cgroup (so short-lived
  processes such as a 12 ms python3 are counted), including containers that were
  destroyed during the sampling (their last reading is kept);
- host processes by name (warmrun-server, dockerd, containerd, containerd-shim, runc,
  k6, ...) from /proc/<pid>/stat, excluding processes inside containers;
- the machine's busy time from /proc/stat; the difference is kernel work not charged to
  a process (softirq, ...), other containers and processes too short-lived to be seen.
Linux, cgroup v1 (Docker's cgroupfs driver), root. Python 3 stdlib only.
"""

import argparse
import glob
import json
import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
CG = "/sys/fs/cgroup/cpuacct/docker"
GROUPS = {
    "warmrun-server": "warmrun-server", "dockerd": "dockerd", "containerd": "containerd",
    "containerd-shim": "containerd-shim", "runc": "runc", "k6": "k6",
    "docker-proxy": "docker", "prometheus": "prometheus",
    "rustc": "rustc/cargo/cc (builds: not the load!)", "cargo": "rustc/cargo/cc (builds: not the load!)",
    "cc1": "rustc/cargo/cc (builds: not the load!)", "ld": "rustc/cargo/cc (builds: not the load!)",
    "node": "node (other jobs: not the load!)",
}


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) / TICK, (sum(v[:8]) - idle) / TICK


def procs():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            with open(f"/proc/{d}/cgroup") as f:
                if "/docker/" in f.read():
                    continue
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        out[(int(d), fields[19])] = (comm, cpu)  # key: pid + start time
    return out


_labels = {}


def instance_of(cid):
    if cid not in _labels:
        try:
            with open(f"/var/lib/docker/containers/{cid}/config.v2.json") as f:
                cfg = json.load(f)
            _labels[cid] = (cfg.get("Config", {}).get("Labels") or {}).get("io.warmrun.instance")
        except (OSError, ValueError):
            return None
    return _labels[cid]


def containers(instance):
    """{cid: CPU seconds} of every container; ids of other instances' are prefixed "~"."""
    out = {}
    for path in glob.glob(f"{CG}/*/cpuacct.usage"):
        cid = path.split("/")[-2]
        if instance and instance_of(cid) != instance:
            cid = "~" + cid
        try:
            with open(path) as f:
                out[cid] = int(f.read()) / 1e9
        except OSError:
            pass
    return out


def group(comm):
    for prefix, name in sorted(GROUPS.items(), key=lambda kv: -len(kv[0])):
        if comm.startswith(prefix):
            return name
    return "other host processes"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instance", default=None, help="only containers of this engine instance")
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    t0 = time.time()
    m0 = machine()
    p0, c0 = procs(), containers(a.instance)
    p_last, c_last = dict(p0), dict(c0)
    n_containers = set(c0)
    while not stop and (not a.seconds or time.time() - t0 < a.seconds):
        time.sleep(1)
        for k, v in procs().items():
            p_last[k] = v
        for k, v in containers(a.instance).items():
            c_last[k] = v
            n_containers.add(k)
    wall = time.time() - t0
    m1 = machine()
    per = {}
    for k, (comm, cpu) in p_last.items():
        start = p0.get(k, (comm, 0.0))[1]
        g = group(comm)
        per[g] = per.get(g, 0.0) + cpu - start
    sandbox = sum(v - c0.get(k, 0.0) for k, v in c_last.items() if not k.startswith("~"))
    others = sum(v - c0.get(k, 0.0) for k, v in c_last.items() if k.startswith("~"))
    n_containers = {k for k in n_containers if not k.startswith("~")}
    busy = (m1[1] - m0[1])
    cores = (m1[0] - m0[0]) / wall if wall else 0
    rows = [("sandbox containers" + (f" ({a.instance})" if a.instance else ""), sandbox)]
    if instance_filter := a.instance:
        rows.append((f"other containers (not {instance_filter}: not the load!)", others))
    rows += sorted(per.items(), key=lambda kv: -kv[1])
    accounted = sandbox + others + sum(per.values())
    lines = [f"CPU during {wall:.1f} s on {cores:.0f} cores: machine busy {busy:.1f} CPU-s "
             f"({100 * busy / (wall * cores):.0f} % of the machine); "
             f"{len(n_containers)} sandbox containers seen",
             f"  {'component':<48} {'CPU-s':>8} {'cores':>6} {'share':>6}"]
    for name, cpu in rows + [("unattributed (kernel softirq, short-lived, ...)", busy - accounted)]:
        if abs(cpu) < 0.05:
            continue
        lines.append(f"  {name:<48} {cpu:8.1f} {cpu / wall:6.2f} {100 * cpu / busy if busy else 0:5.0f}%")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
