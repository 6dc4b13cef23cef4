#!/usr/bin/env python3
"""Helpers for images/build.sh: turn directories into Docker image layers and
write `docker load` archives, so that language images can share the base
layer without a registry and without network access inside `docker build`.

  layers.py tar DIR OUT.tar
      Pack a root filesystem directory as a layer tar (numeric owners, sorted,
      fixed mtime for the directory walk order only). Prints the diff_id.

  layers.py delta [--lower LOWER] UPPER OUT.tar
      Pack an overlayfs upper directory as a Docker layer: overlay whiteouts
      (character devices 0:0) become `.wh.<name>` files, opaque directories
      (xattr trusted.overlay.opaque=y) get a `.wh..wh..opq` entry. Prints the
      diff_id (sha256 of the tar, which is what `docker load` checks).

  layers.py image --tag T [--tag T ...] --layer FILE:DIFFID [--layer ...]
                  [--skip-layers N] [--env K=V ...] [--label K=V ...]
                  [--cmd JSON] [--workdir DIR] [--history TEXT ...]
      Write a docker-archive (the `docker save` format) to stdout; pipe it to
      `docker load`. The first N layers are not copied into the archive (their
      chain already exists in the engine, e.g. the shared base layer): docker
      load only reads a layer file whose chain is missing.

Standard library only (python3 >= 3.7).
"""
import argparse
import datetime
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return "sha256:" + h.hexdigest()


def _tarinfo(tf, full, arcname):
    ti = tf.gettarinfo(full, arcname)
    if ti is not None:
        ti.uname = ""
        ti.gname = ""
    return ti


def _is_opaque(path):
    for name in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            pass
    return False


def _warn_xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return
    for n in names:
        if n.startswith("security.capability"):
            print("layers.py: warning: file capability on %s is not preserved" % path,
                  file=sys.stderr)


def pack(root, out, overlay, lower=None):
    """Walk root (sorted, depth first) and write a layer tar."""
    root = os.path.abspath(root)
    whiteouts = opaques = 0
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        def add(full, arc):
            nonlocal whiteouts
            st = os.lstat(full)
            if overlay and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                d, base = os.path.split(arc)
                ti = tarfile.TarInfo(os.path.join(d, WHITEOUT_PREFIX + base))
                ti.mtime = int(st.st_mtime)
                ti.mode = 0o644
                tf.addfile(ti)
                whiteouts += 1
                return
            _warn_xattrs(full)
            ti = _tarinfo(tf, full, arc)
            if ti is None:  # socket
                print("layers.py: skipping socket %s" % full, file=sys.stderr)
                return
            if ti.isreg():
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)

        def walk(dirpath, arcdir):
            nonlocal opaques
            names = sorted(os.listdir(dirpath))
            # New kernels mark every directory created in a merged parent as
            # opaque; that only matters where the lower layer has the directory.
            if overlay and arcdir != "." and _is_opaque(dirpath) and (
                    lower is None or os.path.isdir(os.path.join(lower, arcdir))):
                ti = tarfile.TarInfo(os.path.join(arcdir, OPAQUE))
                ti.mode = 0o644
                tf.addfile(ti)
                opaques += 1
            for n in names:
                full = os.path.join(dirpath, n)
                arc = n if arcdir == "." else os.path.join(arcdir, n)
                add(full, arc)
                if stat.S_ISDIR(os.lstat(full).st_mode):
                    walk(full, arc)

        walk(root, ".")
    if overlay and (whiteouts or opaques):
        print("layers.py: %d whiteout(s), %d opaque dir(s) in %s" % (whiteouts, opaques, root),
              file=sys.stderr)
    return sha256_file(out)


def write_image(args):
    arch = args.arch
    layers = []
    for spec in args.layer:
        path, diff_id = spec.rsplit(":sha256:", 1) if ":sha256:" in spec else spec.rsplit(":", 1)
        if not diff_id.startswith("sha256:"):
            diff_id = "sha256:" + diff_id
        layers.append((path, diff_id))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + list(args.env)
    history = list(args.history) + [""] * (len(layers) - len(args.history))
    config = {
        "architecture": arch,
        "os": "linux",
        "created": now,
        "config": {
            "Env": env,
            "Cmd": json.loads(args.cmd),
            "WorkingDir": args.workdir,
            "Labels": dict(kv.split("=", 1) for kv in args.label),
        },
        "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]},
        "history": [{"created": now, "created_by": h or "warmrun images/build.sh"} for h in history],
    }
    cfg = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = [{
        "Config": cfg_name,
        "RepoTags": list(args.tag),
        "Layers": ["%s/layer.tar" % d.split(":", 1)[1] for _, d in layers],
    }]
    man = json.dumps(manifest).encode()
    out = sys.stdout.buffer
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        def blob(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
        blob(cfg_name, cfg)
        for i, (path, diff_id) in enumerate(layers):
            if i < args.skip_layers:
                continue
            d = diff_id.split(":", 1)[1]
            ti = tf.gettarinfo(path, d + "/layer.tar")
            ti.uname = ti.gname = ""
            ti.uid = ti.gid = 0
            with open(path, "rb") as f:
                tf.addfile(ti, f)
        blob("manifest.json", man)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd_name", required=True)
    t = sub.add_parser("tar")
    t.add_argument("dir")
    t.add_argument("out")
    d = sub.add_parser("delta")
    d.add_argument("upper")
    d.add_argument("out")
    d.add_argument("--lower", help="overlay lower dir: opaque markers only for dirs it has")
    i = sub.add_parser("image")
    i.add_argument("--tag", action="append", default=[])
    i.add_argument("--layer", action="append", default=[])
    i.add_argument("--skip-layers", type=int, default=0)
    i.add_argument("--env", action="append", default=[])
    i.add_argument("--label", action="append", default=[])
    i.add_argument("--history", action="append", default=[])
    i.add_argument("--cmd", default='["/bin/bash"]')
    i.add_argument("--workdir", default="/workspace")
    i.add_argument("--arch", default="amd64")
    a = p.parse_args()
    if a.cmd_name == "tar":
        print(pack(a.dir, a.out, overlay=False))
    elif a.cmd_name == "delta":
        print(pack(a.upper, a.out, overlay=True, lower=a.lower))
    else:
        write_image(a)


if __name__ == "__main__":
    main()
