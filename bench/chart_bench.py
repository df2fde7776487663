#!/usr/bin/env python3
"""chart_bench.py: issue 12's two speed figures, each against its target.

1. charts: `varprop plot` of the reference sweep's results (bench/w1_reference.json, 84 runs,
   11 charts), wall time (target <= 0.3 s on 2 cores) and the CPU time of varprop and its
   gnuplot processes together (the floor of the wall time is that CPU time / 2 cores).
2. theory: the 200-point tanh phase grid (bench/w3_phase.json) run `--no-plot` with its theory
   (the default) and with "theory": false, one after the other --reps times; the theory's cost
   is the median of the per-repetition differences of wall time (target <= 0.1 s), and its
   share the median of difference / time with theory (target <= 5% of the run).

Run from the repository root after `make` (`make bench` runs it after bench/bench.py):
    python3 bench/chart_bench.py [--reps 7] [--threads 2] [--no-docs]

Timings on a shared VM drift within minutes: the load average is printed with the figures,
and every repetition pairs the two runs it compares. Without --no-docs the section between
the markers below in docs/benchmarks.md is replaced (or appended). bench/bench.py rewrites
that file without it, which is why `make bench` runs this script after bench.py.
"""
import argparse
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recompute_bench  # noqa: E402 (splice_docs: one way to write a marked section)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out", "chart")
BEGIN = "<!-- chart-bench:begin -->"
END = "<!-- chart-bench:end -->"
CHART_TARGET, THEORY_TARGET, SHARE_TARGET = 0.3, 0.1, 0.05


def timed(cmd):
    """Wall seconds and CPU seconds (user + system, the process and its children) of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def varprop_run(cfg, out, threads):
    """timed() of a `varprop run --no-plot` into out."""
    return timed(["./varprop", "run", cfg, "-o", out, "--no-plot", "--quiet", "--threads", str(threads)])


def med_range(xs, fmt):
    return (fmt + " (" + fmt + "–" + fmt + ")") % (statistics.median(xs), min(xs), max(xs))


def verdict(ok, load):
    """met / not met -- or, on a machine busy with other work (load above 2 on 2 cores), a
    wall-time verdict would be noise: say so."""
    if load > 2:
        return "unreliable (load %.0f)" % load
    return "met" if ok else "**not met**"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions of each timing (default 7)")
    ap.add_argument("--threads", type=int, default=2, help="--threads of the runs (default 2)")
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    a = ap.parse_args()
    if not os.access(os.path.join(ROOT, "varprop"), os.X_OK):
        print("chart_bench.py: build ./varprop first (make)", file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    load0 = os.getloadavg()[0]

    # 1. charts of the reference sweep
    w1 = os.path.join(OUT, "w1")
    shutil.rmtree(w1, ignore_errors=True)
    varprop_run("bench/w1_reference.json", w1, a.threads)
    plots = os.path.join(OUT, "w1-plots")
    cmd = ["./varprop", "plot", w1, "-o", plots]
    timed(cmd)  # warm-up: page cache, fontconfig cache
    charts = [timed(cmd) for _ in range(a.reps)]
    nchart = len([f for f in os.listdir(plots) if f.endswith(".png")])
    cwall = [c[0] for c in charts]
    ccpu = [c[1] for c in charts]

    # 2. theory of the tanh phase grid: paired runs with and without it
    with open(os.path.join(ROOT, "bench", "w3_phase.json")) as f:
        cfg = json.load(f)
    cfg["theory"] = False
    off_cfg = os.path.join(OUT, "w3-theory-off.json")
    with open(off_cfg, "w") as f:
        json.dump(cfg, f, indent=1)
    on_out, off_out = os.path.join(OUT, "w3-on"), os.path.join(OUT, "w3-off")
    on, off = [], []
    for _ in range(a.reps):
        for path, out, acc in (("bench/w3_phase.json", on_out, on), (off_cfg, off_out, off)):
            shutil.rmtree(out, ignore_errors=True)
            acc.append(varprop_run(path, out, a.threads))
    diff = [x[0] - y[0] for x, y in zip(on, off)]
    share = [d / x[0] for d, x in zip(diff, on)]
    cdiff = [x[1] - y[1] for x, y in zip(on, off)]
    cshare = [d / x[1] for d, x in zip(cdiff, on)]
    load1 = os.getloadavg()[0]
    load = max(load0, load1)

    cm, tm, sm = statistics.median(cwall), statistics.median(diff), statistics.median(share)
    lines = [
        "Measured %s by `python3 bench/chart_bench.py --reps %d --threads %d` (`make bench` runs it); "
        "1-minute load average %.1f before, %.1f after: figures above the targets at a load well above 1 "
        "say more about the machine than about varprop." % (
            datetime.date.today().isoformat(), a.reps, a.threads, load0, load1),
        "",
        "| issue 12 figure | median (min–max) | target | verdict |",
        "|---|---|---|---|",
        "| charts of the reference sweep (%d PNG + SVG), wall | %s s | ≤ %.1f s | %s |" % (
            nchart, med_range(cwall, "%.3f"), CHART_TARGET, verdict(cm <= CHART_TARGET, load)),
        "| the same, CPU of varprop and its gnuplots (floor of the wall time on 2 cores: half of it) "
        "| %s s | | |" % med_range(ccpu, "%.3f"),
        "| theory of the 200-point tanh grid: run with it − run without, wall | %s s | ≤ %.2f s | %s |" % (
            med_range(diff, "%.3f"), THEORY_TARGET, verdict(tm <= THEORY_TARGET, load)),
        "| its share of the run (difference / run with theory) | %.1f%% (%.1f–%.1f%%) | ≤ %.0f%% | %s |" % (
            100 * sm, 100 * min(share), 100 * max(share), 100 * SHARE_TARGET, verdict(sm <= SHARE_TARGET, load)),
        "| the same in CPU time (user + system): theory | %s s | | |" % med_range(cdiff, "%.3f"),
        "| its share of the run's CPU time | %.1f%% (%.1f–%.1f%%) | | |" % (
            100 * statistics.median(cshare), 100 * min(cshare), 100 * max(cshare)),
        "| the run with theory (`--no-plot`), wall | %s s | | |" % med_range([x[0] for x in on], "%.2f"),
        "",
        "Commands: `varprop run bench/w1_reference.json -o %s --no-plot`, then `varprop plot %s -o %s` "
        "(one warm-up, then timed); `varprop run bench/w3_phase.json --no-plot` against the same config "
        "with `\"theory\": false` (%s), paired in each repetition." % (
            os.path.relpath(w1, ROOT), os.path.relpath(w1, ROOT), os.path.relpath(plots, ROOT),
            os.path.relpath(off_cfg, ROOT)),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_docs:
        write_docs(text)
        print("wrote its section of docs/benchmarks.md")
    return 0


def write_docs(text):
    """The section of docs/benchmarks.md between BEGIN and END, replaced or appended."""
    recompute_bench.splice_docs(BEGIN, END, "## Charts and theory (issue 12)\n\nWritten by "
                                "`python3 bench/chart_bench.py` (what the charts cost: docs/charts.md, \"Speed\"; "
                                "the theory: docs/theory.md).\n\n" + text)


if __name__ == "__main__":
    sys.exit(main())
