#!/usr/bin/env python3
"""bench.py: varprop, with its defaults, against a PyTorch peer and the OpenBLAS GEMM floor.

Run from the repository root after `make` (or through bench/run_bench.sh):
    python3 bench/bench.py [--threads 2] [--reps 5] [--peer-reps 3] [--workloads w1,w4] [--quick]

Workloads (configs in bench/; targets from issue 13):
  w1  w1_reference.json  6 activations x 7 inits x 2 seeds = 84 runs, L20 n256 B256
  w2  w2_wide.json       same sweep, 1 seed = 42 runs, L30 n512 B512
  w3  w3_phase.json      tanh mean_field, sigma_w 20 x sigma_b 10 = 200 runs, L30 n128 B128
  w4  w4_large.json      one relu/he_normal run, L100 n1024 B512 (and the peak-memory target)
  scaling                one relu/he_normal run per point, one variable at a time
                         (configs written to bench/out/scaling/)
  w5  training (issue 14): one epoch of the 30 x 256 ReLU MLP on Fashion-MNIST, core/train
                         against a PyTorch training loop and the epoch's GEMM floor
                         (bench/train_bench.py; its own section of docs/benchmarks.md)

varprop is timed with its defaults (theory on, charts drawn into a --plots folder under
bench/out); the target peer is the PyTorch script *tuned* (OPENBLAS_NUM_THREADS=1), the
script as written is reported beside it. Each repetition runs varprop (defaults), the tuned
and the as-written peer, varprop with the floor pair's command (the issue names `--no-plot`
for w1 and w3) and the GEMM-floor probe, one after the other: every ratio is the median of
per-repetition ratios, because this VM's speed drifts within minutes. The variations
(`--no-plot`, `"theory": false`, `--no-share`, and both of the first two) are timed after.

Every process is timed with time.perf_counter around subprocess and wrapped in
/usr/bin/time -f for user/sys CPU and peak RSS ("Maximum resident set size").
Outputs: a table on stdout, bench/out/results.json (every raw figure),
docs/benchmarks.md and docs/bench_scaling.png (gnuplot).
"""
import argparse
import csv
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import types

import train_bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(BENCH, "out")
DOCS = os.path.join(ROOT, "docs")
TIME = "/usr/bin/time"
MiB = 1048576.0
# Marked sections of docs/benchmarks.md: `<!-- NAME-bench:begin -->` ... `<!-- NAME-bench:end -->`,
# each written by its own script (train-bench: train_bench.py, recompute-bench:
# recompute_bench.py, lenet-bench, chart-bench, ...). A run of bench.py keeps every one
# of them as it is, in its order, unless it rewrites that section itself (train-bench).
MARKED = re.compile(r"<!-- ([A-Za-z0-9_.-]+)-bench:begin -->.*?<!-- \1-bench:end -->", re.S)

# The table. peer: minimum tuned-PyTorch/varprop (varprop with its defaults);
# floor: maximum varprop/GEMM floor, varprop run as `floor_cmd` (a VARIANTS key: the
# issue names charts off, theory on, for w1 and w3; nothing else for w2 and w4, so their
# defaults); share: the sweep has runs that share weights (`--no-share` is a variation);
# mem: maximum varprop/tuned-PyTorch peak RSS.
WORKLOADS = [
    {"key": "w1", "config": "w1_reference.json", "title": "1 reference sweep (84 runs, L20 n256 B256)",
     "peer": 3.5, "floor": 1.3, "floor_cmd": "no-plot", "share": True},
    {"key": "w2", "config": "w2_wide.json", "title": "2 wide (42 runs, L30 n512 B512)",
     "peer": 3.0, "floor": 1.2, "floor_cmd": "defaults", "share": True},
    {"key": "w3", "config": "w3_phase.json", "title": "3 tanh phase grid (200 runs, L30 n128 B128)",
     "peer": 4.0, "floor": 1.5, "floor_cmd": "no-plot", "share": False},
    {"key": "w4", "config": "w4_large.json", "title": "4 one large run (L100 n1024 B512)",
     "peer": 3.0, "floor": 1.3, "floor_cmd": "defaults", "share": False, "mem": 0.4},
]
ALIASES = {"mem": "w4"}

# How varprop is run: its defaults, and the variations beside them.
VARIANTS = {
    "defaults": "defaults (theory on, charts drawn)",
    "no-plot": "`--no-plot` (theory on, no charts)",
    "no-theory": "`\"theory\": false` (charts drawn)",
    "no-share": "`--no-share` (theory on, charts drawn; every run draws its own weights, as the peer's loop does)",
    "bare": "`--no-plot` and `\"theory\": false` (what the peer computes)",
}

# Scaling grid: one relu/he_normal run (1 seed) per point; base depth 20, width 256, batch 256.
SCALING = {
    "depth": [10, 25, 50, 100, 200],
    "width": [64, 256, 1024, 2048],
    "batch": [64, 256, 1024, 4096],
}
QUICK_SCALING = {"depth": [10, 50], "width": [64, 512], "batch": [64, 1024]}
BASE = {"depth": 20, "width": 256, "batch": 256}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def timed(cmd, env=None, timeout=None):
    """Run cmd under /usr/bin/time; wall (perf_counter), user, sys, max RSS (KiB), stderr.
    With a timeout, the process group is killed and None is returned."""
    tf = os.path.join(OUT, ".time")
    full = [TIME, "-o", tf, "-f", "%U %S %M"] + cmd
    e = dict(os.environ)
    if env:
        e.update(env)
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        return None
    wall = time.perf_counter() - t0
    p = subprocess.CompletedProcess(full, proc.returncode, out, err)
    if p.returncode != 0:
        raise SystemExit("bench: command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
    with open(tf) as f:
        u, s, m = f.read().split()[-3:]
    return {"wall": wall, "user": float(u), "sys": float(s), "rss_kb": int(m), "stderr": p.stderr, "stdout": p.stdout}


def summary(vals):
    vals = sorted(vals)
    return {"median": statistics.median(vals), "min": vals[0], "max": vals[-1], "n": len(vals), "all": vals}


def rel(path):
    return os.path.relpath(path, ROOT)


def config_shape(cfg_path):
    """(runs, depth, width, input_dim, batch) of a benchmark config (uniform shapes only)."""
    with open(cfg_path) as f:
        c = json.load(f)
    seeds = c.get("seeds", 1)
    nseeds = seeds if isinstance(seeds, int) else len(seeds)
    nvar = 1
    for vals in c.get("sweep", {}).values():
        nvar *= len(vals)
    net = c.get("network", {})
    w = net.get("width", 256)
    return nvar * nseeds, net.get("depth", 10), w, net.get("input_dim", w), c.get("input", {}).get("batch", 256)


# ---- the three contenders ----
def theory_off_config(w):
    """A copy of workload w's config with `"theory": false` (bench/out/runs/KEY-theory-off.json)."""
    with open(w["cfg"]) as f:
        c = json.load(f)
    c["theory"] = False
    path = os.path.join(OUT, "runs", w["key"] + "-theory-off.json")
    with open(path, "w") as f:
        json.dump(c, f, indent=1)
    return path


def vp_command(a, w, variant):
    """varprop's command for one variant (a VARIANTS key) of workload w: (cmd, results dir, charts dir)."""
    cfg = theory_off_config(w) if variant in ("no-theory", "bare") else w["cfg"]
    out = os.path.join(OUT, "runs", "%s-varprop-%s" % (w["key"], variant))
    cmd = [a.vp, "run", cfg, "-o", out, "--threads", str(a.threads)]
    plots = None
    if variant in ("no-plot", "bare"):
        cmd.append("--no-plot")
    else:
        plots = out + "-plots"
        cmd += ["--plots", plots]
    if variant == "no-share":
        cmd.append("--no-share")
    return cmd, out, plots


def run_vp(vc):
    """One timed varprop process; its results and charts folders are removed first."""
    cmd, out, plots = vc
    for d in (out, plots):
        if d:
            shutil.rmtree(d, ignore_errors=True)
    r = timed(cmd)
    if plots and "charts not drawn" in r["stderr"]:
        raise SystemExit("bench: varprop drew no charts (gnuplot missing?):\n" + r["stderr"][-1000:])
    return r


def peer_command(a, cfg, tag, tuned):
    """(cmd, env, output dir, command as shown) of the PyTorch peer, as written or tuned."""
    out = os.path.join(OUT, "runs", tag + ("-peer-tuned" if tuned else "-peer"))
    cmd = [a.python, os.path.join(BENCH, "torch_peer.py"), cfg, "-o", out, "--threads", str(a.threads)]
    env = {"OPENBLAS_NUM_THREADS": "1"} if tuned else None
    return cmd, env, out, (["OPENBLAS_NUM_THREADS=1"] if tuned else []) + cmd


def run_peer(a, pc):
    """One timed peer process; past --peer-timeout it is killed and its time is a lower bound."""
    cmd, env, out, _ = pc
    shutil.rmtree(out, ignore_errors=True)
    r = timed(cmd, env, a.peer_timeout)
    if r is None:
        return {"wall": a.peer_timeout, "compute": a.peer_timeout, "user": float("nan"), "sys": float("nan"),
                "rss_kb": 0, "timeout": True}
    r["compute"] = next((float(l.split("=")[1]) for l in r["stderr"].splitlines()
                         if l.startswith("torch_peer: compute_seconds=")), float("nan"))
    return r


def run_floor(a, shape, reps, modes):
    runs, L, n, n0, B = shape
    cmd = [a.floor, "--runs", str(runs), "--depth", str(L), "--width", str(n), "--input-dim", str(n0),
           "--batch", str(B), "--threads", str(a.threads), "--mode", modes, "--reps", str(reps)]
    r = timed(cmd)
    out = {}
    for line in r["stdout"].splitlines():
        j = json.loads(line)
        out[j["mode"]] = j
    out["rss_kb"] = r["rss_kb"]
    return cmd, out


# ---- sanity: do varprop and the peer measure the same thing? ----
VAR_COLS = ["pre_var", "post_var", "grad_pre_var", "grad_post_var", "wgrad_var"]


def read_layers(path):
    with open(path) as f:
        return {(r["variant"], r["seed"], r["layer"]): r for r in csv.DictReader(f)}


def agreement(vp_dir, peer_dir):
    a, b = read_layers(os.path.join(vp_dir, "layers.csv")), read_layers(os.path.join(peer_dir, "layers.csv"))
    logs, n_within, n_total, both_nonfinite, worst = [], 0, 0, 0, []
    dead_diff = []
    for key, ra in a.items():
        rb = b.get(key)
        if rb is None:
            continue
        dead_diff.append(abs(float(ra["dead_frac"]) - float(rb["dead_frac"])))
        for c in VAR_COLS:
            x, y = float(ra[c]), float(rb[c])
            if not (math.isfinite(x) and math.isfinite(y)) or x <= 0 or y <= 0:
                if not math.isfinite(x) and not math.isfinite(y):
                    both_nonfinite += 1
                elif (x == 0) != (y == 0) or math.isfinite(x) != math.isfinite(y):
                    n_total += 1
                    worst.append((float("inf"), key, c, x, y))
                continue
            d = abs(math.log10(x / y))
            logs.append(d)
            n_total += 1
            n_within += d <= 1.0
            worst.append((d, key, c, x, y))
    worst.sort(key=lambda t: -t[0])
    return {
        "rows_varprop": len(a), "rows_peer": len(b), "compared": n_total,
        "within_10x": n_within, "frac_within_10x": n_within / n_total if n_total else float("nan"),
        "median_abs_log10": statistics.median(logs) if logs else float("nan"),
        "p95_abs_log10": sorted(logs)[int(0.95 * (len(logs) - 1))] if logs else float("nan"),
        "both_nonfinite": both_nonfinite,
        "max_dead_frac_diff": max(dead_diff) if dead_diff else float("nan"),
        "worst": [{"variant": k[0], "seed": k[1], "layer": k[2], "column": c, "varprop": x, "peer": y,
                   "abs_log10": d} for d, k, c, x, y in worst[:5]],
    }


# ---- workloads ----
FLOOR_MODES = ("seq", "conc")  # the floor is the best of these; "pool" explains a single run's gap


def merge_floor(runs):
    """One floor-probe summary per mode over several probe invocations (one timed rep each)."""
    out = {}
    for mode in ("seq", "conc", "pool"):
        ts = [r[mode]["median"] for r in runs if mode in r]
        if ts:
            su = summary(ts)
            out[mode] = dict(runs[0][mode], times=su["all"], median=su["median"], min=su["min"], max=su["max"],
                             gflops_at_median=runs[0][mode]["gflop"] / su["median"])
    out["rss_kb"] = max(r["rss_kb"] for r in runs)
    return out


def proc_summary(rs):
    ok = [r for r in rs if not r.get("timeout")]
    return {"wall": summary([r["wall"] for r in rs]), "timeout": len(ok) < len(rs),
            "cpu": summary([r["user"] + r["sys"] for r in ok]) if ok else None,
            "cores_busy": summary([(r["user"] + r["sys"]) / r["wall"] for r in ok]) if ok else None,
            "rss_mib": summary([r["rss_kb"] / 1024.0 for r in ok]) if ok else None}


def peer_summary(pc, rs):
    d = proc_summary(rs)
    d["cmd"] = pc[3]
    d["compute"] = summary([r["compute"] for r in rs])
    return d


def workload(a, w):
    key, title, cfg = w["key"], w["title"], w["cfg"]
    shape = config_shape(cfg)
    single = shape[0] == 1
    modes = "seq,pool" if single else "seq,conc"
    dvc = vp_command(a, w, "defaults")
    fvc = None if w["floor_cmd"] == "defaults" else vp_command(a, w, w["floor_cmd"])
    tpc = peer_command(a, cfg, key, True)
    ppc = peer_command(a, cfg, key, False)
    load0 = loadavg()
    vdef, vflr, probes, tuned, peer = [], [], [], [], []
    peers_on = a.peer_reps > 0
    for k in range(a.reps):
        # One repetition: varprop (defaults), the tuned and the as-written peer, varprop with
        # the floor pair's command, the floor probe -- neighbours in time, so that a ratio
        # taken within the repetition sees one state of a machine whose speed drifts.
        log("bench: %s: repetition %d/%d: varprop%s%s, GEMM floor" % (
            title, k + 1, a.reps, ", PyTorch tuned and as written" if peers_on else "",
            ", varprop " + w["floor_cmd"] if fvc else ""))
        vdef.append(run_vp(dvc))
        if peers_on:
            tuned.append(run_peer(a, tpc))
            peer.append(run_peer(a, ppc))
            # the peers are the slow part: stop repeating them once the as-written one
            # took --peer-budget seconds, or either was killed at the timeout
            if (len(peer) >= a.peer_reps or sum(r["wall"] for r in peer) > a.peer_budget
                    or tuned[-1].get("timeout") or peer[-1].get("timeout")):
                peers_on = False
        if fvc:
            vflr.append(run_vp(fvc))
        fcmd, f1 = run_floor(a, shape, 1, modes)
        probes.append(f1)
    load1 = loadavg()
    fcmd[fcmd.index("--reps") + 1] = "1"
    fl = merge_floor(probes)
    vf = vflr if fvc else vdef
    pair_floor = [min(p[m]["median"] for m in FLOOR_MODES if m in p) for p in probes]
    res = {
        "key": key, "title": title, "config": rel(cfg),
        "shape": dict(zip(("runs", "depth", "width", "input_dim", "batch"), shape)),
        "targets": {"speedup_vs_peer_tuned": w["peer"], "max_floor_ratio": w["floor"], "max_rss_vs_peer": w.get("mem")},
        "floor_variant": w["floor_cmd"], "reps": a.reps,
        "loadavg_before": load0, "loadavg_after": load1,
        "varprop": dict(proc_summary(vdef), cmd=dvc[0]),
        "varprop_floor_cmd": dict(proc_summary(vf), cmd=(fvc or dvc)[0]),
        "peer_tuned": peer_summary(tpc, tuned) if tuned else None,
        "peer": peer_summary(ppc, peer) if peer else None,
        "floor": {"cmd": fcmd, "modes": modes, "seq": fl.get("seq"), "conc": fl.get("conc"), "pool": fl.get("pool"),
                  "pairs": summary(pair_floor), "rss_mib": fl["rss_kb"] / 1024.0},
    }
    res["floor"]["best_mode"] = min((m for m in FLOOR_MODES if fl.get(m)), key=lambda m: fl[m]["median"])
    # per-repetition ratios, their median the figure
    n = len(tuned)
    if n:
        res["speedup_vs_peer_tuned"] = summary([tuned[k]["wall"] / vdef[k]["wall"] for k in range(n)])
        res["speedup_vs_peer"] = summary([peer[k]["wall"] / vdef[k]["wall"] for k in range(len(peer))])
        res["speedup_vs_peer_tuned_compute"] = summary([tuned[k]["compute"] / vdef[k]["wall"] for k in range(n)])
    res["floor_ratio"] = summary([v["wall"] / f for v, f in zip(vf, pair_floor)])
    if "pool" in fl:
        res["pool_over_seq"] = summary([p["pool"]["median"] / p["seq"]["median"] for p in probes])
        res["floor_ratio_pool"] = summary([v["wall"] / p["pool"]["median"] for v, p in zip(vf, probes)])
    if w.get("mem") and tuned and not res["peer_tuned"]["timeout"]:
        runs, L, nw, n0, B = shape
        res["memory"] = {
            "varprop_mib": res["varprop"]["rss_mib"]["max"], "peer_tuned_mib": res["peer_tuned"]["rss_mib"]["max"],
            "peer_mib": res["peer"]["rss_mib"]["max"] if res["peer"]["rss_mib"] else float("nan"),
            "weights_mib": 4.0 * (L * nw * nw + (n0 - nw) * nw + L * nw) / MiB,   # W and b, float32
            "activations_mib": 4.0 * B * (n0 + 2 * L * nw) / MiB,                 # h^0, z^l, h^l
        }
        res["memory"]["ratio"] = res["memory"]["varprop_mib"] / res["memory"]["peer_tuned_mib"]
    # the sanity check compares the last repetition's layers.csv (varprop's defaults, the tuned peer)
    pdir = tpc[2] if tuned and not tuned[-1].get("timeout") else ppc[2] if peer and not peer[-1].get("timeout") else None
    res["agreement"] = agreement(dvc[1], pdir) if pdir else None
    return res


def variations(a, w, res):
    """The variations beside the defaults, each timed --var-reps times (the floor pair's command
    is not timed again: its repetitions are in res)."""
    out = []
    for v in ("no-plot", "no-theory", "bare") + (("no-share",) if w["share"] else ()):
        if v == w["floor_cmd"]:
            d = dict(res["varprop_floor_cmd"], reused=True)
        else:
            vc = vp_command(a, w, v)
            log("bench: %s: variation %s, x%d" % (w["title"], v, a.var_reps))
            d = dict(proc_summary([run_vp(vc) for _ in range(a.var_reps)]), cmd=vc[0], reused=False)
        d["variant"] = v
        out.append(d)
    return out


def scaling_point(a, var, val):
    p = dict(BASE)
    p[var] = val
    name = "scale_%s_%d" % (var, val)
    cfg = {"name": name, "description": "bench scaling point %s=%d" % (var, val), "seeds": 1,
           "network": {"depth": p["depth"], "width": p["width"], "activation": "relu", "init": "he_normal", "bias": "zeros"},
           "input": {"distribution": "normal", "batch": p["batch"]}}
    d = os.path.join(OUT, "scaling")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    log("bench: scaling %s=%d" % (var, val))
    w = {"key": name, "cfg": path}
    vc = vp_command(a, w, "no-plot")
    vres = [run_vp(vc) for _ in range(a.scale_reps)]
    pres = run_peer(a, peer_command(a, path, name, True))
    _, fl = run_floor(a, (1, p["depth"], p["width"], p["width"], p["batch"]), a.scale_reps, "seq")
    L, n, B = p["depth"], p["width"], p["batch"]
    model = 4.0 * (L * n * n + L * n + B * n * (2 * L + 1)) / MiB
    return {"var": var, "value": val, "depth": L, "width": n, "batch": B, "config": rel(path), "cmd": vc[0],
            "varprop_s": statistics.median(r["wall"] for r in vres),
            "varprop_rss_mib": max(r["rss_kb"] for r in vres) / 1024.0,
            "peer_s": pres["wall"], "peer_compute_s": pres["compute"], "peer_rss_mib": pres["rss_kb"] / 1024.0,
            "peer_timeout": bool(pres.get("timeout")), "floor_s": fl["seq"]["median"], "model_mib": model}


# ---- reporting ----
def fmt_s(s):
    return "%.3g" % s if s < 10 else "%.1f" % s


def spread(su):
    if su["n"] == 1:
        return fmt_s(su["median"])
    return "%s (%s–%s)" % (fmt_s(su["median"]), fmt_s(su["min"]), fmt_s(su["max"]))


def ratio(su, lb=False):
    s = ">" if lb else ""
    if su["n"] == 1:
        return s + "%.2f×" % su["median"]
    return s + "%.2f× (%.2f–%.2f)" % (su["median"], su["min"], su["max"])


def verdict(ok, lb=False):
    return "met" if ok else ("**not met** (lower bound: the peer was killed at the timeout)" if lb else "**not met**")


def peer_cell(p):
    if not p:
        return "-"
    if p["timeout"]:
        return ">%s (timeout) ×%d" % (fmt_s(p["wall"]["max"]), p["wall"]["n"])
    return "%s ×%d" % (spread(p["wall"]), p["wall"]["n"])


def rss(su):
    return "%.0f" % su["max"] if su else "-"


def variant_flag(v):
    return {"defaults": "defaults", "no-plot": "`--no-plot`", "no-theory": "`\"theory\": false`",
            "no-share": "`--no-share`", "bare": "`--no-plot`, `\"theory\": false`"}[v]


HEAD = ["workload", "varprop s (defaults)", "PyTorch tuned s", "PyTorch as written s", "tuned PyTorch/varprop",
        "as written/varprop", "varprop s (floor pair)", "GEMM floor s", "varprop/floor", "peak RSS MiB varprop / tuned / as written"]


def table_rows(results):
    rows = []
    for r in results:
        t = r["targets"]
        pt, pp = r["peer_tuned"], r["peer"]
        fvar = r["floor_variant"]
        rows.append([
            r["title"], spread(r["varprop"]["wall"]), peer_cell(pt), peer_cell(pp),
            (ratio(r["speedup_vs_peer_tuned"], pt["timeout"]) + " (≥%g)" % t["speedup_vs_peer_tuned"]) if pt else "-",
            ratio(r["speedup_vs_peer"], pp["timeout"]) if pp else "-",
            "= defaults" if fvar == "defaults" else "%s %s" % (spread(r["varprop_floor_cmd"]["wall"]), variant_flag(fvar)),
            "%s (%s)" % (fmt_s(r["floor"]["pairs"]["median"]), r["floor"]["best_mode"]),
            ratio(r["floor_ratio"]) + " (≤%g)" % t["max_floor_ratio"],
            "%s / %s / %s" % (rss(r["varprop"]["rss_mib"]), rss(pt["rss_mib"]) if pt else "-", rss(pp["rss_mib"]) if pp else "-"),
        ])
    return rows


def verdict_lines(results):
    """One line per workload: every target of the issue, met or **not met**."""
    lines = []
    for r in results:
        t, parts = r["targets"], []
        pt = r["peer_tuned"]
        if pt:
            su, lb = r["speedup_vs_peer_tuned"], pt["timeout"]
            parts.append("tuned PyTorch/varprop (defaults) %s%.2f× vs ≥%g× %s (as written %s%.2f×; tuned peer's compute "
                         "after `import torch` only %.2f×)" % (
                             ">" if lb else "", su["median"], t["speedup_vs_peer_tuned"],
                             verdict(su["median"] >= t["speedup_vs_peer_tuned"], lb),
                             ">" if r["peer"]["timeout"] else "", r["speedup_vs_peer"]["median"],
                             r["speedup_vs_peer_tuned_compute"]["median"]))
        else:
            parts.append("tuned PyTorch/varprop: not measured (--peer-reps 0)")
        fr = r["floor_ratio"]["median"]
        parts.append("varprop (%s)/floor (%s) %.2f× vs ≤%g× %s" % (
            "defaults" if r["floor_variant"] == "defaults" else variant_flag(r["floor_variant"]) + ", theory on",
            r["floor"]["best_mode"], fr, t["max_floor_ratio"], verdict(fr <= t["max_floor_ratio"])))
        if t.get("max_rss_vs_peer"):
            m = r.get("memory")
            if m:
                parts.append("peak RSS varprop %.0f MiB vs %g × tuned peer's %.0f MiB = %.0f MiB (%.2f×) %s (as-written peer "
                             "%.0f MiB; float32 W + b %.0f MiB, h⁰ + z + h %.0f MiB)" % (
                                 m["varprop_mib"], t["max_rss_vs_peer"], m["peer_tuned_mib"],
                                 t["max_rss_vs_peer"] * m["peer_tuned_mib"], m["ratio"],
                                 verdict(m["ratio"] <= t["max_rss_vs_peer"]), m["peer_mib"], m["weights_mib"],
                                 m["activations_mib"]))
            else:
                parts.append("peak RSS: not measured (no complete tuned peer run)")
        lines.append((r["title"], parts))
    return lines


def print_table(results):
    rows = [HEAD] + [[c.replace("`", "") for c in r] for r in table_rows(results)]
    w = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
        if k == 0:
            print("  ".join("-" * x for x in w))


def md_table(head, rows):
    s = "| " + " | ".join(head) + " |\n|" + "|".join("---" for _ in head) + "|\n"
    for r in rows:
        s += "| " + " | ".join(str(c) for c in r) + " |\n"
    return s


VAR_HEAD = ["workload", "variation", "varprop s", "CPU s", "vs defaults s", "tuned PyTorch/varprop", "varprop/floor", "command"]


def variation_rows(results, code=True):
    q = "`" if code else ""
    rows = []
    for r in results:
        base = r["varprop"]["wall"]["median"]
        tp = r["peer_tuned"]["wall"]["median"] if r["peer_tuned"] else None
        fl = r["floor"]["pairs"]["median"]
        for v in [dict(r["varprop"], variant="defaults", reused=True)] + r.get("variations", []):
            wm = v["wall"]["median"]
            rows.append([r["title"], VARIANTS[v["variant"]], "%s ×%d" % (spread(v["wall"]), v["wall"]["n"]),
                         "%.2f" % v["cpu"]["median"], "%+.2f" % (wm - base) if v["variant"] != "defaults" else "-",
                         "%.2f×" % (tp / wm) if tp else "-", "%.2f×" % (wm / fl),
                         q + " ".join(v["cmd"]) + q])
    return rows


def plot_scaling(a, pts):
    if not pts or not shutil.which("gnuplot"):
        return None
    png = os.path.join(DOCS, "bench_scaling.png")
    d = os.path.join(OUT, "scaling")
    for var in SCALING:
        with open(os.path.join(d, var + ".dat"), "w") as f:
            f.write("# value varprop_s peer_s floor_s varprop_rss_mib peer_rss_mib model_mib\n")
            for p in pts:
                if p["var"] == var:
                    f.write("%d %.6f %.6f %.6f %.1f %.1f %.1f\n" % (p["value"], p["varprop_s"], p["peer_s"], p["floor_s"],
                                                                 p["varprop_rss_mib"], p["peer_rss_mib"], p["model_mib"]))
    gp = os.path.join(d, "scaling.gp")
    with open(gp, "w") as f:
        f.write('set terminal pngcairo size 1500,900 font ",10"\nset output "%s"\n' % png)
        f.write("set multiplot layout 2,3 title 'varprop scaling (relu, he\\_normal, 1 run, theory on, --no-plot, %d threads; base depth 20, width 256, batch 256)'\n" % a.threads)
        f.write("set logscale xy\nset grid\nset key top left\n")
        for var in SCALING:
            f.write('set xlabel "%s"\nset ylabel "wall time (s)"\n' % var)
            f.write('plot "{0}/{1}.dat" u 1:2 w lp t "varprop --no-plot", "" u 1:3 w lp t "PyTorch tuned", "" u 1:4 w lp t "GEMM floor (seq)"\n'.format(d, var))
        for var in SCALING:
            f.write('set xlabel "%s"\nset ylabel "peak RSS (MiB)"\n' % var)
            f.write('plot "{0}/{1}.dat" u 1:5 w lp t "varprop --no-plot", "" u 1:6 w lp t "PyTorch tuned", "" u 1:7 w l dt 2 t "W + z + h (float32)"\n'.format(d, var))
        f.write("unset multiplot\n")
    p = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if p.returncode != 0:
        p = subprocess.run(["sed", "-i", "s/pngcairo/png/", gp])
        p = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    return png if p.returncode == 0 else None


def machine(a):
    info = {}
    lscpu = sh("lscpu")
    for k in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "L2 cache", "L3 cache", "Hypervisor vendor"):
        for line in lscpu.splitlines():
            if line.startswith(k + ":"):
                info[k] = line.split(":", 1)[1].strip()
    flags = sh("grep -m1 '^flags' /proc/cpuinfo")
    info["simd"] = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16") if (" " + f + " ") in flags + " ")
    info["memory"] = sh("free -g | awk '/Mem:/{print $2\" GiB\"}'")
    info["kernel"] = platform.release()
    info["gcc"] = sh("gcc --version | head -1")
    info["gnuplot"] = sh("gnuplot --version") or "none (varprop draws no charts: the benchmark stops)"
    info["python"] = sh("%s -c 'import sys; print(sys.version.split()[0])'" % a.python)
    info["torch"] = sh("%s -c 'import torch; print(torch.__version__)'" % a.python)
    info["torch_blas"] = sh("ldd $(%s -c 'import torch,os; print(os.path.join(os.path.dirname(torch.__file__), \"lib\", \"libtorch_cpu.so\"))') | grep -E 'libblas|openblas' | awk '{print $3}' | xargs -r readlink -f | sort -u | tr '\\n' ' '" % a.python)
    try:
        info.update(json.loads(sh(a.floor + " --info")))
    except ValueError:
        pass
    info["varprop_version"] = sh(a.vp + " --version 2>&1 | head -1") or "?"
    info["git"] = sh("cd %s && git rev-parse --short HEAD && git status --short src Makefile | wc -l" % ROOT).replace("\n", " (uncommitted src/Makefile files: ") + ")"
    return info


def write_md(a, info, results, pts, png, t_total, argv):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    T = a.threads
    s = "# varprop benchmarks\n\n"
    s += ("Generated by `bench/bench.py` on %s (total %.0f s). Do not edit by hand: every figure below "
          "comes from that run; rerun with `make bench` (or `sh bench/run_bench.sh`).\n\n" % (now, t_total))
    s += "Command: `%s`\n\n" % " ".join(argv)
    s += "## Machine\n\n"
    for k, v in info.items():
        s += "- %s: %s\n" % (k, v)
    s += "\nLoad average during the workloads (other processes share the machine, if any): "
    s += "; ".join("%s: %s → %s" % (r["key"], r["loadavg_before"], r["loadavg_after"]) for r in results) + "\n\n"
    s += "## Method\n\n"
    s += ("- **varprop, with its defaults**: `varprop run CFG -o DIR --plots DIR --threads %d`, the way a user runs it: "
          "theory on (the configs do not set `\"theory\"`), and after the runs the charts and report.md drawn with "
          "gnuplot into a folder under bench/out/runs/. The time is the whole process (config, init, forward, backward, "
          "statistics, theory, CSV, charts). With ≥ 2 runs the runner runs %d runs at once, OpenBLAS with 1 thread each; "
          "a single run also calls OpenBLAS with 1 thread per call, and cuts every product into fixed blocks of 512 whole "
          "rows or columns of C (of the larger of M and N) that its own pool of %d threads runs, and its elementwise passes "
          "(bias, activation, statistics) into strips of 128 units on the same pool (the same bytes for any "
          "`--threads`).\n" % (T, T, T))
    s += ("- **The floor pair's command**: the issue measures workloads 1 and 3 against the GEMM floor with the charts off "
          "(theory on), so for them varprop/floor uses `--no-plot`, timed in every repetition beside the defaults; it "
          "names no variation for workloads 2 and 4, so there it is the defaults.\n")
    s += ("- **PyTorch, tuned (the target)**: `OPENBLAS_NUM_THREADS=1 python3 bench/torch_peer.py CFG -o DIR --threads %d`, "
          "what a careful PyTorch user runs. **As written**: the same script without the variable. The script "
          "(PyTorch %s, float32, `torch.set_num_threads(%d)`, plain tensors, `x @ W.T + b`, `retain_grad()` on z and h, "
          "`loss = (h_L * g).sum() / B`, torch.nn.init initializers, the same sweep read from the same config, writes "
          "layers.csv) computes neither theory nor charts. Debian's torch calls the same OpenBLAS through libblas.so.3; "
          "as written, its OpenMP pool and OpenBLAS's pthread pool both spin on the %d cores. Times are the whole process "
          "(interpreter start, `import torch`, CSV); the verdicts also give the tuned peer's time after `import torch`.\n"
          % (T, info.get("torch", "?"), T, T))
    s += ("- **GEMM floor** (`bench/gemm_floor.c`): only the sgemm calls of the same sweep (forward, weight gradient, "
          "input gradient for l > 1; same shapes, transposes, alpha/beta; per-layer buffers like varprop's), buffers "
          "allocated before the clock starts, one warm-up per probe. Modes: *seq*, the runs one after another, each "
          "product one OpenBLAS call with %d BLAS threads; *conc*, %d worker threads taking runs, 1 BLAS thread each "
          "(what varprop does with ≥ 2 runs); *pool*, the runs one after another, each product cut into varprop's fixed "
          "blocks of 512 whole rows (M > N) or columns of C, one 1-thread OpenBLAS call per block, the blocks on a "
          "%d-thread pool (what varprop does for a single run). **The floor is the best of seq and conc**: the bare "
          "OpenBLAS products with the best thread use. For a single run only seq applies; pool is timed beside it to "
          "split the gap: varprop/floor = pool/seq (the price of the fixed blocks) × varprop/pool (varprop's own "
          "work).\n" % (T, T, T))
    s += ("- **Repetitions**: this machine is a shared VM whose speed drifts by tens of percent within minutes, so each "
          "repetition runs, back to back: varprop (defaults), PyTorch tuned, PyTorch as written, varprop with the floor "
          "pair's command, the floor probe. Every ratio is the median over the repetitions of that repetition's ratio "
          "(min–max in brackets); the seconds columns are medians (min–max). varprop and the floor ×%d; both peers the "
          "same number of times, up to ×%d (no further peer repetition once the as-written peer took %.0f s in all, "
          "or a peer was killed at %.0f s: its time is then a lower bound). Peak RSS is GNU time's \"Maximum resident "
          "set size\" (max over the repetitions; varprop's includes the gnuplot it waits for).\n\n"
          % (a.reps, a.peer_reps, a.peer_budget, a.peer_timeout))
    s += "## Results\n\n"
    s += md_table(HEAD, table_rows(results)) + "\n"
    s += "Targets (issue 13) and verdicts:\n\n"
    for title, parts in verdict_lines(results):
        s += "- %s: %s\n" % (title, "; ".join(parts))
    s += ("\n## Variations\n\nvarprop without one of its defaults, each timed ×%d after the repetitions (the floor "
          "pair's `--no-plot` of workloads 1 and 3 is the repetitions' median): `--no-plot` (no charts), "
          "`\"theory\": false` (no theory columns; the config copied with that key), `--no-share` (where runs that "
          "differ only in the activation share one draw of the weights, every run draws its own, as the peer's loop "
          "does: the same bytes), and the first two together (what the peer computes). *vs defaults* is the "
          "difference from the defaults' median; the two ratios use the medians of the tuned peer and of the floor "
          "above.\n\n" % a.var_reps)
    s += md_table(VAR_HEAD, variation_rows(results)) + "\n"
    s += "## GEMM floor detail\n\nPer mode: median s over the probes (min–max), GFLOP, GFLOP/s at the median, OpenBLAS calls per probe.\n\n"
    rows = []
    for r in results:
        for mode in ("seq", "conc", "pool"):
            f = r["floor"][mode]
            if f:
                role = ("the floor" if mode == r["floor"]["best_mode"] else "in the floor, slower") if mode in FLOOR_MODES \
                    else "explains the gap, not in the floor"
                rows.append([r["title"], mode, role, "%.3f (%.3f–%.3f)" % (f["median"], f["min"], f["max"]),
                             "%.1f" % f["gflop"], "%.1f" % f["gflops_at_median"], f.get("calls", "-")])
    s += md_table(["workload", "mode", "role", "seconds", "GFLOP", "GFLOP/s", "calls"], rows) + "\n"
    for r in results:
        if "pool_over_seq" in r:
            s += ("%s: pool/seq %s (the fixed blocks), varprop (%s)/pool %s (varprop's own work), varprop/seq %s.\n\n" % (
                r["title"], ratio(r["pool_over_seq"]), r["floor_variant"], ratio(r["floor_ratio_pool"]),
                ratio(r["floor_ratio"])))
    s += "CPU use (CPU seconds / wall seconds, median):\n\n"

    def busy(d):
        return "%.2f" % d["cores_busy"]["median"] if d and d.get("cores_busy") else "-"
    s += md_table(["workload", "varprop (defaults)", "varprop (floor pair)", "PyTorch tuned", "PyTorch as written"],
                  [[r["title"], busy(r["varprop"]), busy(r["varprop_floor_cmd"]), busy(r["peer_tuned"]), busy(r["peer"])]
                   for r in results]) + "\n"
    s += "## Sanity check: same work?\n\n"
    s += ("varprop and the peer use different random streams, so per-layer values differ; they must agree statistically. "
          "For every (variant, seed, layer) and each of %s, |log10(varprop/peer)| over the last repetition's layers.csv "
          "(varprop with its defaults, the tuned peer):\n\n" % ", ".join(VAR_COLS))
    rows = []
    for r in results:
        g = r["agreement"]
        if not g:
            rows.append([r["title"], "no complete peer run"] + ["-"] * 7)
            continue
        w = g["worst"][0] if g["worst"] else None
        rows.append([r["title"], "%d / %d" % (g["rows_varprop"], g["rows_peer"]), g["compared"],
                     "%.1f%%" % (100 * g["frac_within_10x"]), "%.3f" % g["median_abs_log10"], "%.3f" % g["p95_abs_log10"],
                     g["both_nonfinite"], "%.3f" % g["max_dead_frac_diff"],
                     ("v%s s%s l%s %s: %.3g vs %.3g" % (w["variant"], w["seed"], w["layer"], w["column"], w["varprop"], w["peer"])) if w else "-"])
    s += md_table(["workload", "rows varprop / peer", "pairs", "within 10×", "median |log10|", "p95 |log10|",
                   "both non-finite", "max Δdead_frac", "worst pair"], rows) + "\n"
    if pts:
        s += "## Scaling\n\n"
        s += ("One relu/he_normal run per point (1 seed, `--threads %d`), base depth %d, width %d, batch %d, one variable "
              "at a time; varprop with `--no-plot` (theory on: how the computation scales, without gnuplot's fixed cost) "
              "×%d (median), the tuned peer ×1, floor seq ×%d. Grid chosen to keep the whole benchmark near 15 minutes "
              "on 2 cores: depth %s, width %s, batch %s. *model* = float32 W + b + z + h of every layer.\n\n" % (
                  T, BASE["depth"], BASE["width"], BASE["batch"], a.scale_reps, a.scale_reps,
                  a.scaling["depth"], a.scaling["width"], a.scaling["batch"]))
        rows = [[p["var"], p["value"], "%.3f" % p["varprop_s"], "%.3f" % p["peer_s"], "%.3f" % p["floor_s"],
                 "%.2f" % (p["varprop_s"] / p["floor_s"]), "%.2f" % (p["peer_s"] / p["varprop_s"]),
                 "%.0f" % p["varprop_rss_mib"], "%.0f" % p["peer_rss_mib"], "%.0f" % p["model_mib"]] for p in pts]
        s += md_table(["variable", "value", "varprop s", "PyTorch tuned s", "floor s", "varprop/floor", "PyTorch tuned/varprop",
                       "varprop RSS MiB", "PyTorch tuned RSS MiB", "model MiB"], rows) + "\n"
        if png:
            s += "![scaling](bench_scaling.png)\n\n"
    s += "## Exact commands\n\n```sh\n"
    for r in results:
        s += "# %s\n" % r["title"]
        s += "%s    # varprop, defaults\n" % " ".join(r["varprop"]["cmd"])
        for k, what in (("peer_tuned", "PyTorch tuned"), ("peer", "PyTorch as written")):
            if r[k]:
                s += "%s    # %s\n" % (" ".join(r[k]["cmd"]), what)
        if r["floor_variant"] != "defaults":
            s += "%s    # varprop, the floor pair's command\n" % " ".join(r["varprop_floor_cmd"]["cmd"])
        s += "%s    # GEMM floor probe, once per repetition\n" % " ".join(r["floor"]["cmd"])
        if any(v["variant"] in ("no-theory", "bare") for v in r.get("variations", [])):
            s += "# %s: %s with \"theory\": false\n" % (rel(os.path.join(OUT, "runs", r["key"] + "-theory-off.json")), r["config"])
        for v in r.get("variations", []):
            if not v["reused"]:
                s += "%s    # variation: %s\n" % (" ".join(v["cmd"]), v["variant"])
    s += "# each command was wrapped in: %s -f '%%U %%S %%M'\n```\n\n" % TIME
    s += "Raw figures of this run: `bench/out/results.json` (not tracked).\n"
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "benchmarks.md"), "w") as f:
        f.write(s)


def find_python():
    for p in ("python3", "/usr/bin/python3"):
        if subprocess.run([p, "-c", "import torch"], capture_output=True).returncode == 0:
            return shutil.which(p) or p
    raise SystemExit("bench: no python3 with torch found (python3-torch)")


def main():
    ap = argparse.ArgumentParser(description="varprop (defaults) against tuned PyTorch and the GEMM floor (issue 13)")
    ap.add_argument("--varprop", default=os.path.join(ROOT, "varprop"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="repetitions: varprop, the floor pair's varprop and the probe")
    ap.add_argument("--peer-reps", type=int, default=3,
                    help="repetitions of both peers (tuned and as written, the same count; 0: skip the peers)")
    ap.add_argument("--var-reps", type=int, default=1, help="repetitions of each variation (0: skip the variations)")
    ap.add_argument("--scale-reps", type=int, default=1)
    ap.add_argument("--peer-budget", type=float, default=90.0,
                    help="no further peer repetition once the as-written peer took this many seconds in all")
    ap.add_argument("--peer-timeout", type=float, default=240.0,
                    help="kill a peer process after this many seconds; its time is then reported as a lower bound")
    ap.add_argument("--train-reps", type=int, default=3, help="repetitions of workload 5 (training)")
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5,scaling",
                    help="comma-separated: w1, w2, w3, w4 (or mem), w5 (training), scaling (default: all)")
    ap.add_argument("--quick", action="store_true", help="1 repetition of everything, small scaling grid (smoke test)")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    a = ap.parse_args()
    argv = ["python3", "bench/bench.py"] + sys.argv[1:]
    want = [ALIASES.get(k.strip(), k.strip()) for k in a.workloads.split(",") if k.strip()]
    known = [w["key"] for w in WORKLOADS] + ["w5", "scaling"]
    bad = [k for k in want if k not in known]
    if bad or not want:
        ap.error("--workloads: unknown %s (known: %s)" % (", ".join(bad) or "(none given)", ", ".join(known)))
    if a.quick:
        a.reps = a.scale_reps = a.train_reps = 1
        a.peer_reps = min(a.peer_reps, 1)
        a.var_reps = min(a.var_reps, 1)
    if a.reps < 1:
        ap.error("--reps must be at least 1")
    a.scaling = QUICK_SCALING if a.quick else SCALING
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "GOTO_NUM_THREADS"):
        if os.environ.pop(v, None) is not None:
            log("bench: %s unset (the peer as written runs without it; the tuned peer sets it)" % v)
    t0 = time.perf_counter()
    os.makedirs(os.path.join(OUT, "runs"), exist_ok=True)
    if not os.path.exists(TIME):
        raise SystemExit("bench: %s (GNU time) is needed for peak RSS" % TIME)
    a.python = find_python()
    # A private copy of the binary: a rebuild during the benchmark cannot change it.
    a.vp = os.path.join(OUT, "varprop")
    shutil.copy2(a.varprop, a.vp)
    a.floor = os.path.join(OUT, "gemm_floor")
    subprocess.run(["gcc", "-O2", "-I/usr/include/x86_64-linux-gnu/openblas-pthread", os.path.join(BENCH, "gemm_floor.c"),
                    "-o", a.floor, "-lopenblas", "-lpthread", "-lm"], check=True)
    a.root = ROOT
    if "w5" in want:
        a.train_bins = train_bench.build(ROOT, OUT)
    info = machine(a)
    results = []
    for w in WORKLOADS:
        if w["key"] in want:
            w = dict(w, cfg=os.path.join(BENCH, w["config"]))
            r = workload(a, w)
            r["variations"] = variations(a, w, r) if a.var_reps > 0 else []
            results.append(r)
    training = None
    if "w5" in want:
        helpers = types.SimpleNamespace(timed=timed, log=log, loadavg=loadavg, summary=summary)
        training = train_bench.run(a, helpers)
    pts = []
    if "scaling" in want:
        for var, vals in a.scaling.items():
            for v in vals:
                pts.append(scaling_point(a, var, v))
    t_total = time.perf_counter() - t0
    png = plot_scaling(a, pts) if not a.no_docs else None
    with open(os.path.join(OUT, "results-nodocs.json" if a.no_docs else "results.json"), "w") as f:
        json.dump({"machine": info, "argv": argv, "workloads": results, "training": training, "scaling": pts,
                   "total_s": t_total}, f, indent=1)
    if results:
        print_table(results)
    for title, parts in verdict_lines(results):
        print("  %s:" % title)
        for p in parts:
            print("    - " + p.replace("`", "").replace("**", ""))
    for r in results:
        if "pool_over_seq" in r:
            print("  %s: floor modes: pool/seq %s, varprop/pool %s" % (r["key"], ratio(r["pool_over_seq"]),
                                                                      ratio(r["floor_ratio_pool"])))
    if any(r.get("variations") for r in results):
        print("variations:")
        for row in variation_rows(results, code=False):
            print("  %s | %s: %s s, CPU %s s, vs defaults %s, tuned PyTorch/varprop %s, varprop/floor %s" % (
                row[0].split(" (")[0], row[1].replace("`", ""), row[2], row[3], row[4], row[5], row[6]))
    for r in results:
        g = r["agreement"]
        if not g:
            continue
        print("  %s: layers.csv agreement: %.1f%% of %d variance pairs within 10x, median |log10| %.3f" % (
            r["key"], 100 * g["frac_within_10x"], g["compared"], g["median_abs_log10"]))
    if pts:
        print("scaling (var value: varprop s / PyTorch tuned s / floor s, RSS MiB varprop / PyTorch tuned):")
        for p in pts:
            print("  %s %d: %.3f / %.3f / %.3f, %.0f / %.0f" % (p["var"], p["value"], p["varprop_s"], p["peer_s"], p["floor_s"],
                                                            p["varprop_rss_mib"], p["peer_rss_mib"]))
    if training:
        print("%s:" % train_bench.TITLE)
        for v in train_bench.verdicts(training):
            print("    - " + v.replace("`", "").replace("**", ""))
    print("total %.0f s" % t_total)
    if not a.no_docs:
        write_docs(os.path.join(DOCS, "benchmarks.md"), a, info, results, pts, png, t_total, argv, training)
        print("wrote docs/benchmarks.md" + (" and docs/bench_scaling.png" if png else ""))


def marked_sections(text):
    """[(name, text)] of every marked section of text, in order (see MARKED)."""
    return [(m.group(1), m.group(0)) for m in MARKED.finditer(text)]


def put_section(text, name, sec):
    """text with its marked section `name` replaced by sec, or sec appended."""
    for m in MARKED.finditer(text):
        if m.group(1) == name:
            return text[:m.start()] + sec.rstrip("\n") + text[m.end():]
    return text.rstrip("\n") + "\n\n" + sec.rstrip("\n") + "\n"


def write_section(name, sec):
    """docs/benchmarks.md with its marked section `name` replaced by sec (which carries its
    own <!-- NAME-bench:begin/end --> markers), or sec appended: how the scripts that own a
    section (lenet_bench, chart_bench, recompute_bench) write it."""
    path = os.path.join(DOCS, "benchmarks.md")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = "# varprop benchmarks\n\n"
    with open(path, "w") as f:
        f.write(put_section(text, name, sec))


def across_machines(text):
    """bench/mpi_bench.sh --docs's "## Across machines" section (unmarked): from its
    heading to the next heading or marked section, or ''."""
    h = "\n## Across machines\n"
    if h not in text:
        return ""
    i = text.index(h) + 1
    ends = [k for k in (text.find("\n## ", i + 4), text.find("<!-- ", i)) if k >= 0]
    return text[i:min(ends)].rstrip("\n") + "\n" if ends else text[i:]


def write_docs(md, a, info, results, pts, png, t_total, argv, training):
    """docs/benchmarks.md: the workloads' part regenerated when w1-w4 or the scaling
    series ran, the training section when w5 ran; every other marked section and the
    "Across machines" section kept as they were, in their order."""
    try:
        with open(md) as f:
            old = train_bench.legacy_markers(f.read())
    except OSError:
        old = "# varprop benchmarks\n\n"
    kept = marked_sections(old)
    if results or pts:
        write_md(a, info, results, pts, png, t_total, argv)
        with open(md) as f:
            cur = f.read()
        across = across_machines(old)
        if across and "\n## Across machines\n" not in cur:
            cur = cur.rstrip("\n") + "\n\n" + across
        for name, sec in kept:
            cur = put_section(cur, name, sec)
    else:
        cur = old
    if training:
        cur = put_section(cur, train_bench.NAME, train_bench.section(training, md_table))
    with open(md, "w") as f:
        f.write(cur.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
