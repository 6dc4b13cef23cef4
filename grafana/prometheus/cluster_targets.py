#!/usr/bin/env python3
"""Writes a Prometheus file_sd target file for the engine nodes of a local cluster.

  python3 grafana/prometheus/cluster_targets.py [CLUSTER_JSON] [-o OUT]

CLUSTER_JSON is what `scripts/cluster.sh up` writes
(default ${WARMRUN_CLUSTER_DIR:-/tmp/warmrun-cluster}/cluster.json):
    {"lb": URL, "nodes": [{"id": ..., "url": "http://127.0.0.1:8081", "pid": ...}, ...]}
OUT (default: stdout) gets one target group per node,
    [{"targets": ["127.0.0.1:8081"], "labels": {"node": "<id>"}}, ...]
which a scrape job reads with `file_sd_configs` (grafana/prometheus/prometheus.yml):
Prometheus watches the file, so rewriting it after nodes come and go is enough. The file
is replaced atomically (written beside OUT, then renamed). Python 3 stdlib only.
"""

import json
import os
import sys
import urllib.parse


def targets(cluster):
    """file_sd target groups for the nodes of a cluster.json document."""
    out = []
    for node in cluster["nodes"]:
        u = urllib.parse.urlparse(node["url"])
        out.append({"targets": [u.netloc], "labels": {"node": str(node["id"])}})
    return out


def write(groups, path):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(groups, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv):
    out = None
    if "-o" in argv:
        i = argv.index("-o")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    src = argv[0] if argv else os.path.join(
        os.environ.get("WARMRUN_CLUSTER_DIR", "/tmp/warmrun-cluster"), "cluster.json")
    with open(src) as f:
        groups = targets(json.load(f))
    if out:
        write(groups, out)
    else:
        json.dump(groups, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
