#!/usr/bin/env python3
"""recompute_bench.py: "memory": "recompute" (docs/memory.md) -- a network larger than memory,
and the price of recomputing against the stored mode where both fit.

Run from the repository root after `make` (or through bench/recompute_bench.sh):
    python3 bench/recompute_bench.py [--threads 2] [--reps 3] [--depth 1000] [--docs]

1. overhead: one relu/he_normal run, L32 n2048 B256 (512 MiB of float32 weights), in store
   and in recompute mode, one after the other --reps times; the ratio is the median of the
   per-repetition ratios of wall time (this VM's speed drifts within minutes).
2. large: one relu/he_normal run, width 8192, batch 256, depth --depth (1000: 268 GB of
   weights if stored) in recompute mode; wall time and peak RSS. With a smaller depth the
   time of depth 1000 is projected linearly (every layer costs the same: three draws of
   W^l -- forward, recompute, backward -- and four products of B n^2 multiply-adds).

Each process is wrapped in /usr/bin/time -f for peak RSS ("Maximum resident set size").
With --docs the section between the markers below in docs/benchmarks.md is replaced (or
appended); bench/bench.py keeps it as it is.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- recompute-bench:begin -->"
END = "<!-- recompute-bench:end -->"
GB = 1e9
MiB = 1048576.0


def config(name, depth, width, batch, recompute):
    c = {"name": name, "theory": False, "network": {"depth": depth, "width": width, "activation": "relu",
                                                     "init": "he_normal"}, "input": {"batch": batch}}
    if recompute:
        c["memory"] = "recompute"
    return c


def estimate(depth, width, batch):
    """vp_runner_run_bytes of a recompute run (core/mlp.c vp_mlp_bytes_mem + runner.c), in MiB: one weight, its gradient and its
    double draw scratch; k = ceil(sqrt(L)) z slots, L/k + k h slots; two gradient blocks; the probe."""
    k = 1
    while k * k < depth:
        k += 1
    slot = batch * width
    elems = 2 * width * width + depth * width + k * slot + (depth // k + k) * slot + 2 * slot + slot
    net = elems * 4 + 8 * (width * width + 10 * width) + width + 40 * (depth + 1)
    return (net + 8 * slot + 64 * depth) / MiB  # + the input batch in double and the statistics (runner.c)


def run(tmp, cfg, threads):
    """Wall seconds and peak RSS (MiB) of one `varprop run`, and the layers.csv it wrote."""
    path = os.path.join(tmp, cfg["name"] + ".json")
    out = os.path.join(tmp, cfg["name"] + "-out")
    shutil.rmtree(out, ignore_errors=True)
    with open(path, "w") as f:
        json.dump(cfg, f)
    rss = os.path.join(tmp, "rss")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-o", rss, "-f", "%M", os.path.join(ROOT, "varprop"), "run", path, "-o", out,
                        "--no-plot", "--quiet", "--threads", str(threads)], capture_output=True, text=True)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("recompute_bench: varprop failed (%d): %s" % (p.returncode, p.stderr))
    with open(rss) as f:
        kb = float(f.read().split()[-1])
    with open(os.path.join(out, "layers.csv")) as f:
        layers = f.read()
    return t, kb * 1024 / MiB, layers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--depth", type=int, default=1000, help="depth of the width-8192 run (1000: the issue's)")
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--docs", action="store_true", help="write the section of docs/benchmarks.md")
    ap.add_argument("--docs-from", metavar="FILE", help="write the section from the saved output of an earlier run")
    a = ap.parse_args()
    if a.docs_from:
        with open(a.docs_from) as f:
            write_docs(f.read().strip("\n") + "\n")
        return 0
    tmp = tempfile.mkdtemp(prefix="varprop-recompute-bench-")
    load0 = "%.2f %.2f %.2f" % os.getloadavg()
    lines = []
    try:
        # 1 overhead
        L, n, B = 32, 2048, 256
        ratios, st_t, rc_t, st_m, rc_m = [], [], [], [], []
        for _ in range(a.reps):
            ts, ms, ls = run(tmp, config("store", L, n, B, False), a.threads)
            tr, mr, lr = run(tmp, config("recompute", L, n, B, True), a.threads)
            if ls != lr:
                sys.exit("recompute_bench: layers.csv differs between the modes")
            ratios.append(tr / ts)
            st_t.append(ts); rc_t.append(tr); st_m.append(ms); rc_m.append(mr)
        r = statistics.median(ratios)
        lines.append("### Recompute overhead where both modes fit (L%d n%d B%d, relu, float32, --threads %d)" % (L, n, B, a.threads))
        lines.append("")
        lines.append("| mode | wall s (median of %d) | peak RSS MiB |" % a.reps)
        lines.append("|---|---|---|")
        lines.append("| store | %.2f | %.0f |" % (statistics.median(st_t), max(st_m)))
        lines.append("| recompute | %.2f | %.0f |" % (statistics.median(rc_t), max(rc_m)))
        lines.append("")
        lines.append("Recompute / store: **%.2fx** (median of per-repetition ratios %s; target <= 2.5x); "
                     "layers.csv byte-identical in every repetition." % (r, ", ".join("%.2f" % x for x in ratios)))
        lines.append("")
        # 2 large
        if not a.skip_large:
            W, Bl, D = 8192, 256, a.depth
            stored = 1000 * W * W * 4 / GB
            t, m, _ = run(tmp, config("large", D, W, Bl, True), a.threads)
            lines.append("### Larger than memory (width %d, batch %d, relu, float32, --threads %d)" % (W, Bl, a.threads))
            lines.append("")
            lines.append("| depth | weights if stored | wall s | peak RSS MiB |")
            lines.append("|---|---|---|---|")
            lines.append("| %d | %.0f GB | %.0f | %.0f |" % (D, D * W * W * 4 / GB, t, m))
            lines.append("")
            if D != 1000:
                lines.append("Depth 1000 (%.0f GB of weights if stored) projected: %.0f s (%.1f h), the per-layer "
                             "time %.2f s times 1000. Its memory estimate (what the refusal compares with the "
                             "limit): %.0f MiB." % (stored, t / D * 1000, t / D * 1000 / 3600, t / D,
                                                    estimate(1000, W, Bl)))
            else:
                lines.append("%.0f GB of weights if stored; this machine has %.0f GB of memory." %
                             (stored, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB))
            lines.append("")
        lines.append("Load average before and after: %s / %s (2 cores shared with other work); %s." %
                     (load0, "%.2f %.2f %.2f" % os.getloadavg(), datetime.date.today().isoformat()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if a.docs:
        write_docs(text)
    return 0


def write_docs(text):
    """The section of docs/benchmarks.md between BEGIN and END, replaced or appended."""
    splice_docs(BEGIN, END, "## Larger than memory\n\nWritten by `sh bench/recompute_bench.sh --docs` "
                "(bench/recompute_bench.py; `make bench` keeps this section as it is). The mode: docs/memory.md.\n\n"
                + text)


def splice_docs(begin, end, body):
    """docs/benchmarks.md with begin + newline + body + end as its marked section (the
    markers are <!-- NAME-bench:begin/end -->; bench.py's write_section), or appended
    (also used by bench/chart_bench.py)."""
    import bench as B  # imported here so --help needs no torch check
    B.write_section(begin[len("<!-- "):-len("-bench:begin -->")], begin + "\n" + body + end)


if __name__ == "__main__":
    sys.exit(main())
