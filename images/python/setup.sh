#!/bin/sh
# Runs in the python image's chroot after apt-get install (part of the image's content hash).
# Installs warmrun's matplotlib backend (the catalog sets MPLBACKEND=module://warmrun_plot):
# Agg, where plt.show() saves every open figure as a PNG into /workspace/output, whose files
# come back with the run's result, and closes them. Also builds matplotlib's font cache
# once, here: the sandbox's only writable places are emptied before every run, and
# rebuilding the cache on each run would cost every plot that time again.
set -eu
site=/usr/lib/python3/dist-packages
cat >"$site/warmrun_plot.py" <<'PY'
"""warmrun's matplotlib backend: Agg, where plt.show() saves every open figure as
/workspace/output/figure-N.png (N counts up across the program) and closes it. Files in
/workspace/output come back with the run's result."""
import os

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

OUTPUT = "/workspace/output"
FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase
_shown = 0


def show(*args, **kwargs):
    global _shown
    import matplotlib.pyplot as plt

    numbers = plt.get_fignums()
    if not numbers:
        return
    os.makedirs(OUTPUT, exist_ok=True)
    for number in numbers:
        _shown += 1
        plt.figure(number).savefig(os.path.join(OUTPUT, f"figure-{_shown}.png"))
    plt.close("all")
PY
cat >"$site/warmrun_mplcache.py" <<'PY'
"""Gives matplotlib its font cache, built when the image was, before matplotlib looks for
it: the sandbox empties /tmp (where MPLCONFIGDIR points) before every run. Imported lazily:
a finder on sys.meta_path acts on the first import of matplotlib only, so programs that do
not plot see no trace of it (not even in /tmp)."""
import os
import sys

BUILT = "/usr/share/warmrun/matplotlib"


class _Prepare:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "matplotlib":
            try:
                sys.meta_path.remove(_Prepare)
            except ValueError:
                pass
            _link_cache()
        return None


def _link_cache():
    into = os.environ.get("MPLCONFIGDIR")
    if not into or os.path.isdir(into):
        return
    try:
        os.makedirs(into, mode=0o700)
        for name in os.listdir(BUILT):
            os.symlink(os.path.join(BUILT, name), os.path.join(into, name))
    except OSError:
        pass  # matplotlib then builds its cache itself, only slower


def install():
    if os.environ.get("MPLCONFIGDIR") and _Prepare not in sys.meta_path:
        sys.meta_path.insert(0, _Prepare)
PY
echo 'import warmrun_mplcache; warmrun_mplcache.install()' >"$site/warmrun-mplcache.pth"
mkdir -p /usr/share/warmrun/matplotlib
MPLCONFIGDIR=/usr/share/warmrun/matplotlib MPLBACKEND=module://warmrun_plot \
  python3 -c 'import matplotlib.pyplot as plt; plt.plot([1, 2]); plt.gcf().canvas.draw()'
chmod -R a+rX /usr/share/warmrun
python3 -m compileall -q "$site/warmrun_plot.py" "$site/warmrun_mplcache.py"
ls -la /usr/share/warmrun/matplotlib
