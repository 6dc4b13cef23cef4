#!/usr/bin/env python3
"""Renders the warmrun Grafana dashboards to PNG from a real Prometheus: a stand-in for
Grafana screenshots (Grafana is not installable on our machines).

  python3 grafana/render/render_dashboards.py --prom http://127.0.0.1:9090 \
      --start EPOCH --end EPOCH [--language c] [--rate-interval 20s] [--out grafana/screenshots]

Every panel's targets are evaluated with /api/v1/query_range over [start, end] exactly as
written in grafana/dashboards/*.json (`$__rate_interval` and `$language` substituted) and
drawn where the panel's gridPos puts it: time series as lines (stacked where the panel
stacks), stat panels as their last value with the panel's thresholds' colour, legends
from the legendFormat. Needs matplotlib (`pip install matplotlib`).
"""

import argparse
import json
import math
import os
import re
import sys
import time
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from datetime import datetime  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARDS = os.path.join(HERE, "..", "dashboards")
BG, PANEL, BORDER, TEXT, DIM = "#111217", "#181b1f", "#2c3235", "#ccccdc", "#8e8e9c"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9",
           "#705da0", "#37872d", "#fade2a", "#c4162a", "#1f60c4", "#ff9830", "#96d98d"]
COLORS = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830", "yellow": "#fade2a"}


def prom_range(prom, expr, start, end, step):
    q = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{prom}/api/v1/query_range?{q}", timeout=60) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body.get('error')}")
    return body["data"]["result"]


def legend(fmt, labels):
    if not fmt:
        return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def fmt_value(v, unit):
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return "—"
    if unit == "s":
        if v < 1:
            return f"{v * 1000:.3g} ms"
        return f"{v:.3g} s"
    if unit == "percentunit":
        return f"{v * 100:.1f}%"
    if unit == "reqps":
        return f"{v:.3g} req/s"
    if unit == "ops":
        return f"{v:.3g} ops/s"
    return f"{v:.4g}"


def axis_formatter(unit):
    def f(v, _pos):
        if unit == "s":
            return f"{v * 1000:.3g} ms" if abs(v) < 1 else f"{v:.3g} s"
        if unit == "percentunit":
            return f"{v * 100:.0f}%"
        return f"{v:.3g}"
    return matplotlib.ticker.FuncFormatter(f)


def substitute(expr, language, rate_interval):
    # $node: "All" (the variable's allValue).
    for var, val in (("$__rate_interval", rate_interval), ("${language}", language),
                     ("$language", language), ("${node}", ".*"), ("$node", ".*")):
        expr = expr.replace(var, val)
    return expr


def series_of(prom, panel, start, end, step, language, rate_interval):
    out = []
    for t in panel["targets"]:
        for s in prom_range(prom, substitute(t["expr"], language, rate_interval), start, end,
                            step):
            xs = [datetime.fromtimestamp(float(ts)) for ts, _ in s["values"]]
            ys = [float(v) for _, v in s["values"]]
            out.append((legend(t.get("legendFormat", ""), s["metric"]), xs, ys))
    return out


def color_for(value, steps):
    color = steps[0]["color"] if steps else "green"
    for st in steps:
        if st.get("value") is not None and value is not None and not math.isnan(value) \
                and value >= st["value"]:
            color = st["color"]
    return COLORS.get(color, color)


def draw_stat(fig, rect, panel, series):
    ax = fig.add_axes(rect)
    ax.set_facecolor(PANEL)
    for s in ax.spines.values():
        s.set_color(BORDER)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(panel["title"], color=TEXT, fontsize=8, loc="left", pad=3)
    d = panel["fieldConfig"]["defaults"]
    last = None
    if series:
        ys = [y for y in series[0][2] if not math.isnan(y)]
        last = ys[-1] if ys else None
        if len(ys) > 1:
            lo, hi = min(ys), max(ys)
            span = (hi - lo) or 1
            xs = series[0][1]
            pts = [(x, y) for x, y in zip(xs, series[0][2]) if not math.isnan(y)]
            ax2 = fig.add_axes([rect[0], rect[1], rect[2], rect[3] * 0.45])
            ax2.axis("off")
            ax2.fill_between([p[0] for p in pts], [(p[1] - lo) / span for p in pts],
                             color=color_for(last, d["thresholds"]["steps"]), alpha=0.18)
            ax2.set_ylim(0, 1.1)
    text = fmt_value(last, d.get("unit"))
    for m in d.get("mappings", []):
        opt = m.get("options", {})
        if last is not None and str(int(last)) in opt:
            text = opt[str(int(last))]["text"]
    ax.text(0.5, 0.45, text, color=color_for(last, d["thresholds"]["steps"]), fontsize=17,
            ha="center", va="center", transform=ax.transAxes, weight="bold")


def draw_timeseries(fig, rect, panel, series, start, end):
    d = panel["fieldConfig"]["defaults"]
    unit = d.get("unit")
    stacked = d.get("custom", {}).get("stacking", {}).get("mode") == "normal"
    frame = fig.add_axes(rect)
    frame.set_facecolor(PANEL)
    frame.set_xticks([])
    frame.set_yticks([])
    for s in frame.spines.values():
        s.set_color(BORDER)
    frame.set_title(panel["title"], color=TEXT, fontsize=8, loc="left", pad=3)
    x0, y0, w, h = rect
    ax = fig.add_axes([x0 + w * 0.07, y0 + h * 0.13, w * 0.63, h * 0.74])
    ax.set_facecolor(PANEL)
    for sp in ax.spines.values():
        sp.set_visible(False)
    ax.grid(color=BORDER, linewidth=0.5)
    ax.tick_params(colors=DIM, labelsize=6, length=0)
    ax.yaxis.set_major_formatter(axis_formatter(unit))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    ax.set_xlim(datetime.fromtimestamp(start), datetime.fromtimestamp(end))
    if not series:
        ax.text(0.5, 0.5, "No data", color=DIM, ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
        return
    series = sorted(series, key=lambda s: -max([y for y in s[2] if not math.isnan(y)] or [0]))
    if stacked:
        # Align on a common time axis; missing points count as 0.
        times = sorted({x for _, xs, _ in series for x in xs})
        idx = {t: i for i, t in enumerate(times)}
        base = [0.0] * len(times)
        for i, (name, xs, ys) in enumerate(series):
            col = [0.0] * len(times)
            for x, y in zip(xs, ys):
                col[idx[x]] = 0.0 if math.isnan(y) else y
            top = [b + c for b, c in zip(base, col)]
            color = PALETTE[i % len(PALETTE)]
            ax.fill_between(times, base, top, color=color, alpha=0.35, linewidth=0)
            ax.plot(times, top, color=color, linewidth=0.8, label=name)
            base = top
    else:
        for i, (name, xs, ys) in enumerate(series):
            ax.plot(xs, ys, color=PALETTE[i % len(PALETTE)], linewidth=0.9, label=name)
    if d.get("min") == 0:
        ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    rows = []
    for (name, _, ys), handle in zip(series, handles):
        vals = [y for y in ys if not math.isnan(y)]
        rows.append((handle, f"{name[:34]}  {fmt_value(vals[-1] if vals else None, unit)}"))
    limit = max(3, int(h * 100))
    shown = rows[:limit]
    if len(rows) > limit:
        shown.append((plt.Line2D([], [], color=PANEL), f"… {len(rows) - limit} more"))
    leg = ax.legend([r[0] for r in shown], [r[1] for r in shown], loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), fontsize=5.5, frameon=False,
                    labelcolor=TEXT, handlelength=1.2, borderaxespad=0)
    leg.set_in_layout(False)


def render(prom, board, path, start, end, language, rate_interval, note):
    panels = board["panels"]
    rows_h = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    unit_h = 0.36  # inches per grid row
    head = 0.75
    fig_w, fig_h = 18, rows_h * unit_h + head
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110, facecolor=BG)
    title = board["title"] + (f"   language = {language}" if any(
        v["name"] == "language" for v in board["templating"]["list"]) else "")
    fig.text(0.008, 1 - 0.30 / fig_h, title, color=TEXT, fontsize=13, weight="bold", va="center")
    fig.text(0.992, 1 - 0.30 / fig_h, note, color=DIM, fontsize=7.5, ha="right", va="center")
    span = end - start
    step = max(1, int(span / 240))
    errors = []
    for p in panels:
        g = p["gridPos"]
        pad = 0.004
        x = g["x"] / 24 + pad
        w = g["w"] / 24 - 2 * pad
        top = head + g["y"] * unit_h
        hh = g["h"] * unit_h
        rect = [x, 1 - (top + hh) / fig_h + pad, w, hh / fig_h - 2 * pad]
        if p["type"] == "row":
            fig.text(x, 1 - (top + hh / 2) / fig_h, substitute(p["title"], language, ""),
                     color=TEXT, fontsize=10,
                     weight="bold", va="center")
            continue
        try:
            series = series_of(prom, p, start, end, step, language, rate_interval)
        except Exception as e:  # drawn as an error panel, reported at the end
            errors.append(f"{p['title']}: {e}")
            series = []
        if p["type"] == "stat":
            draw_stat(fig, rect, p, series)
        else:
            draw_timeseries(fig, rect, p, series, start, end)
    fig.savefig(path, facecolor=BG)
    plt.close(fig)
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prom", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, default=None)
    ap.add_argument("--language", default="python",
                    help="$language of the drill-down; several, comma-separated, give one "
                         "PNG each (language-ID.png)")
    ap.add_argument("--rate-interval", default="20s")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "screenshots"))
    a = ap.parse_args()
    end = a.end or time.time()
    os.makedirs(a.out, exist_ok=True)
    note = ("Render of the dashboard's queries against a real Prometheus "
            "(grafana/render/render_dashboards.py), not a Grafana screenshot  ·  "
            f"{datetime.fromtimestamp(a.start):%Y-%m-%d %H:%M:%S}–{datetime.fromtimestamp(end):%H:%M:%S}"
            f"  ·  $__rate_interval = {a.rate_interval}")
    failed = []
    for name in sorted(os.listdir(DASHBOARDS)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(DASHBOARDS, name)) as f:
            board = json.load(f)
        templated = any(v["name"] == "language" for v in board["templating"]["list"])
        for lang in a.language.split(",") if templated else [a.language.split(",")[0]]:
            stem = name[:-len(".json")] + (f"-{lang}" if templated else "")
            path = os.path.join(a.out, stem + ".png")
            errs = render(a.prom, board, path, a.start, end, lang, a.rate_interval, note)
            failed += errs
            print(f"wrote {path}" + (f" ({len(errs)} panel errors)" if errs else ""))
    for e in failed:
        print("  error:", e, file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
