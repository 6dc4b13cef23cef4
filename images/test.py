#!/usr/bin/env python3
"""Run every catalog language's hello example in the sandbox the engine uses and check the greeting.

  images/test.py                     all languages in images/languages.toml
  images/test.py python go           only these
  images/test.py --runs 5            repeat, report median times
  images/test.py --runtime runsc     use gVisor (adds nothing else: --network none is always set)
  images/test.py --tmp-noexec        mount /tmp noexec (to check which toolchains need exec there)

For each language: one `docker run --rm -i` with the engine's limits writes the
example to /workspace/<file>, runs the compile argv (timed), then the run argv
(timed) with "World" on stdin, and checks the output is the prompt plus
"Hello, World!". Times are measured inside the container (compile, run) and
around `docker run` (total, including container start/stop).
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
UID = 23456


def check_catalog(langs):
    """Schema check of languages.toml; returns a list of problems."""
    import re
    probs = []
    seen = set()
    types = {"id": str, "name": str, "version": str, "image": str, "file": str, "compile": list,
             "run": list, "env": dict, "aliases": list, "zygote": str, "examples": list, "limits": dict, "pool": dict}
    # example: an older catalog's single program; version_of: an older version of a language
    # (its examples default to the newest's)
    # format / format_in: the language's formatter, or the language whose formatter it uses
    optional = {"zygote", "example", "version_of", "format", "format_in"}
    by_id = {l.get("id"): l for l in langs}
    for l in langs:
        if "version_of" in l:
            newest = by_id.get(l["version_of"])
            if newest is None or "version_of" in newest:
                probs.append("language %s: version_of must name a language without version_of"
                             % l.get("id"))
            elif "examples" not in l:
                l["examples"] = [e for e in newest.get("examples", [])
                                 if not (isinstance(e, dict) and e.get("newest_only"))]
    for i, l in enumerate(langs):
        where = "language[%d] (%s)" % (i, l.get("id"))
        for k, t in types.items():
            if k in optional and k not in l:
                continue
            if not isinstance(l.get(k), t):
                probs.append("%s: %s missing or not a %s" % (where, k, t.__name__))
        extra = set(l) - set(types) - optional
        ids = [e.get("id") for e in l.get("examples", []) if isinstance(e, dict)]
        if not ids or ids[0] != "hello" or len(set(ids)) != len(ids) or not all(ids):
            probs.append("%s: examples need unique ids, hello first: %s" % (where, ids))
        if extra:
            probs.append("%s: unknown keys %s" % (where, sorted(extra)))
        if not re.fullmatch(r"[a-z0-9_+.-]+", str(l.get("id"))):
            probs.append("%s: bad id" % where)
        for name in [l.get("id")] + list(l.get("aliases", [])):
            if name in seen:
                probs.append("%s: name %r used twice" % (where, name))
            seen.add(name)
        if not l.get("run"):
            probs.append("%s: run is empty" % where)
        for k in ("wall_ms", "cpu_ms", "memory_mb", "output_kb", "compile_wall_ms"):
            if not isinstance(l.get("limits", {}).get(k), int):
                probs.append("%s: limits.%s missing" % (where, k))
        for k in ("min_idle", "max"):
            if not isinstance(l.get("pool", {}).get(k), int):
                probs.append("%s: pool.%s missing" % (where, k))
        if not all(isinstance(v, str) for v in l.get("env", {}).values()):
            probs.append("%s: env values must be strings" % where)
    return probs


def hello_code(lang):
    """The program shown at start: the `hello` example (or an older catalog's `example`)."""
    return lang["examples"][0]["code"] if lang.get("examples") else lang["example"]


def docker_argv(lang, args):
    lim = lang["limits"]
    mem = lim["memory_mb"]
    tmp_opts = "rw,%s,nosuid,size=64m,mode=1777" % ("noexec" if args.tmp_noexec else "exec")
    argv = [
        "docker", "run", "--rm", "-i", "--network", "none", "--read-only",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--tmpfs", "/workspace:rw,exec,nosuid,size=64m,uid=%d,gid=%d,mode=0755" % (UID, UID),
        "--tmpfs", "/tmp:" + tmp_opts,
        "--user", "%d:%d" % (UID, UID), "-w", "/workspace",
        "-e", "HOME=/tmp", "-e", "LANG=C.UTF-8",
        "--memory", "%dm" % mem, "--memory-swap", "%dm" % mem,
        "--pids-limit", "128", "--cpus", "1",
    ]
    if args.runtime:
        argv += ["--runtime", args.runtime]
    for k, v in lang.get("env", {}).items():
        argv += ["-e", "%s=%s" % (k, v)]
    # The source comes in through an env var so that stdin stays free for the program.
    argv += ["-e", "WARMRUN_SRC=" + hello_code(lang).lstrip("\n")]
    compile_cmd = shlex.join(lang["compile"]) if lang["compile"] else "true"
    script = (
        'printf "%s" "$WARMRUN_SRC" > ' + shlex.quote(lang["file"]) + '; unset WARMRUN_SRC; '
        't0=$(date +%s%N); ' + compile_cmd + ' || exit 97; t1=$(date +%s%N); '
        + shlex.join(lang["run"]) + '; rc=$?; t2=$(date +%s%N); '
        'echo "@@times $(( (t1 - t0) / 1000000 )) $(( (t2 - t1) / 1000000 ))" >&2; exit $rc'
    )
    argv += [lang["image"], "sh", "-c", script]
    return argv


def run_one(lang, args):
    argv = docker_argv(lang, args)
    t = time.monotonic()
    p = subprocess.run(argv, input=b"World\n", capture_output=True, timeout=120)
    total = (time.monotonic() - t) * 1000
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    comp = run = None
    rest = []
    for line in err.splitlines():
        if line.startswith("@@times "):
            comp, run = (int(x) for x in line.split()[1:3])
        else:
            rest.append(line)
    ok = p.returncode == 0 and "Hello, World!" in out and "name" in out.split("Hello")[0]
    return ok, out, "\n".join(rest), p.returncode, comp, run, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--catalog", default=os.path.join(HERE, "languages.toml"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runtime")
    ap.add_argument("--tmp-noexec", action="store_true")
    args = ap.parse_args()
    with open(args.catalog, "rb") as f:
        langs = tomllib.load(f)["language"]
    probs = check_catalog(langs)
    for p in probs:
        print("catalog: " + p)
    if probs:
        sys.exit(2)
    print("catalog: %d languages, schema ok" % len(langs))
    if args.ids:
        langs = [l for l in langs if l["id"] in args.ids]
    failed = 0
    print("%-11s %-4s %10s %8s %9s  %s" % ("id", "ok", "compile_ms", "run_ms", "total_ms", "output"))
    for lang in langs:
        comps, runs, totals = [], [], []
        ok_all = True
        for _ in range(args.runs):
            ok, out, err, rc, comp, run, total = run_one(lang, args)
            ok_all &= ok
            if not ok:
                print("--- %s FAILED (rc=%s)\nstdout: %r\nstderr: %s" % (lang["id"], rc, out, err))
                break
            comps.append(comp)
            runs.append(run)
            totals.append(total)
        failed += not ok_all
        if ok_all:
            med = lambda xs: statistics.median(xs)
            print("%-11s %-4s %10.0f %8.0f %9.0f  %r" % (lang["id"], "yes", med(comps), med(runs),
                                                     med(totals), out.strip()))
            if err.strip():
                print("            stderr: %r" % err.strip())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
