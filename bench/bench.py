#!/usr/bin/env python3
"""bench.py: varprop against a PyTorch peer and the OpenBLAS GEMM floor.

Run from the repository root after `make` (or through bench/run_bench.sh):
    python3 bench/bench.py [--threads 2] [--reps 3] [--peer-reps 3] [--quick]

Workloads (configs in bench/):
  w1_reference.json  6 activations x 7 inits x 2 seeds, depth 20, width 256, batch 256
  w2_wide.json       same sweep, 1 seed, depth 30, width 512, batch 512
  w3_phase.json      tanh mean_field, sigma_w 20 x sigma_b 10, depth 30, width 128, batch 128
  memory.json        one relu/he_normal run, depth 100, width 1024, batch 512
  scaling            one relu/he_normal run per point, one variable at a time
                     (configs written to bench/out/scaling/)

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
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(BENCH, "out")
DOCS = os.path.join(ROOT, "docs")
TIME = "/usr/bin/time"
MiB = 1048576.0

WORKLOADS = [
    # key, config, title, targets (min speedup vs peer, max ratio to floor)
    ("w1", "w1_reference.json", "1 reference sweep (84 runs, L20 n256 B256)", (5.0, 1.5)),
    ("w2", "w2_wide.json", "2 wide (42 runs, L30 n512 B512)", (3.0, 1.3)),
    ("w3", "w3_phase.json", "3 phase grid (200 runs, tanh L30 n128 B128)", (10.0, None)),
    ("mem", "memory.json", "memory (1 run, relu L100 n1024 B512)", (None, None)),
]

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
def run_varprop(a, cfg, tag, reps):
    out = os.path.join(OUT, "runs", tag + "-varprop")
    cmd = [a.vp, "run", cfg, "-o", out, "--quiet", "--threads", str(a.threads), "--max-runs", "0"] + a.vp_extra
    res = []
    for k in range(reps):
        shutil.rmtree(out, ignore_errors=True)
        res.append(timed(cmd))
    return out, cmd, res


def run_peer(a, cfg, tag, reps, tuned=False):
    out = os.path.join(OUT, "runs", tag + ("-peer-tuned" if tuned else "-peer"))
    cmd = [a.python, os.path.join(BENCH, "torch_peer.py"), cfg, "-o", out, "--threads", str(a.threads)]
    env = {"OPENBLAS_NUM_THREADS": "1"} if tuned else None
    res = []
    for k in range(reps):
        if k > 0 and sum(x["wall"] for x in res) > a.peer_budget:
            break  # keep the whole benchmark near 10 minutes: the peer is the slow part
        shutil.rmtree(out, ignore_errors=True)
        r = timed(cmd, env, a.peer_timeout)
        if r is None:  # timed out: a lower bound on the peer's time
            res.append({"wall": a.peer_timeout, "compute": a.peer_timeout, "user": float("nan"), "sys": float("nan"),
                        "rss_kb": 0, "timeout": True})
            break
        r["compute"] = next((float(l.split("=")[1]) for l in r["stderr"].splitlines()
                             if l.startswith("torch_peer: compute_seconds=")), float("nan"))
        res.append(r)
    return out, (["OPENBLAS_NUM_THREADS=1"] if tuned else []) + cmd, res


def run_floor(a, shape, reps, modes="both"):
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
def merge_floor(runs):
    """One floor-probe summary per mode over several probe invocations (one timed rep each)."""
    out = {}
    for mode in ("seq", "conc"):
        ts = [r[mode]["median"] for r in runs if mode in r]
        if ts:
            su = summary(ts)
            out[mode] = dict(runs[0][mode], times=su["all"], median=su["median"], min=su["min"], max=su["max"],
                             gflops_at_median=runs[0][mode]["gflop"] / su["median"])
    out["rss_kb"] = max(r["rss_kb"] for r in runs)
    return out


def workload(a, key, cfgname, title, targets):
    cfg = os.path.join(BENCH, cfgname)
    shape = config_shape(cfg)
    modes = "both" if shape[0] > 1 else "seq"
    # varprop and the GEMM floor alternate, one after the other, so that both see the
    # same states of a machine whose speed drifts (a shared VM): the ratio is taken per
    # pair and its median reported.
    log("bench: %s: varprop and GEMM floor, alternating, x%d" % (title, a.reps))
    load0 = loadavg()
    vres, fruns = [], []
    for k in range(a.reps):
        vdir, vcmd, r1 = run_varprop(a, cfg, key, 1)
        vres += r1
        fcmd, f1 = run_floor(a, shape, 1, modes)
        fruns.append(f1)
    fcmd[fcmd.index("--reps") + 1] = str(a.reps) + " (one per pair)"
    fl = merge_floor(fruns)
    pair_best = [min(f[m]["median"] for m in ("seq", "conc") if m in f) for f in fruns]
    pair_ratio = summary([v["wall"] / f for v, f in zip(vres, pair_best)])
    log("bench: %s: PyTorch peer x%d (as specified), x%d (OPENBLAS_NUM_THREADS=1)" % (title, a.peer_reps, a.tuned_reps))
    pdir, pcmd, pres = run_peer(a, cfg, key, a.peer_reps)
    tdir, tcmd, tres = run_peer(a, cfg, key, a.tuned_reps, tuned=True) if a.tuned_reps else (None, None, [])
    load1 = loadavg()
    vp = summary([r["wall"] for r in vres])
    floor_seq = fl["seq"]["median"]
    floor_conc = fl["conc"]["median"] if "conc" in fl else None
    floor = min(x for x in (floor_seq, floor_conc) if x is not None)
    res = {
        "key": key, "title": title, "config": rel(cfg), "shape": dict(zip(("runs", "depth", "width", "input_dim", "batch"), shape)),
        "targets": {"speedup_vs_peer": targets[0], "max_floor_ratio": targets[1]},
        "loadavg_before": load0, "loadavg_after": load1,
        "varprop": {"cmd": vcmd, "wall": vp, "cpu": summary([(r["user"] + r["sys"]) for r in vres]),
                    "cores_busy": summary([(r["user"] + r["sys"]) / r["wall"] for r in vres]),
                    "rss_mib": summary([r["rss_kb"] / 1024.0 for r in vres])},
        "peer": {"cmd": pcmd, "wall": summary([r["wall"] for r in pres]), "timeout": any(r.get("timeout") for r in pres),
                 "compute": summary([r["compute"] for r in pres]),
                 "cores_busy": summary([(r["user"] + r["sys"]) / r["wall"] for r in pres]),
                 "rss_mib": summary([r["rss_kb"] / 1024.0 for r in pres])},
        "floor": {"cmd": fcmd, "seq": fl["seq"], "conc": fl.get("conc"), "best": floor,
                  "best_mode": "seq" if floor == floor_seq else "conc", "rss_mib": fl["rss_kb"] / 1024.0},
        "agreement": (agreement(vdir, pdir) if not any(r.get("timeout") for r in pres) else
                      agreement(vdir, tdir) if tres and not any(r.get("timeout") for r in tres) else None),
    }
    if tres:
        res["peer_tuned"] = {"cmd": tcmd, "wall": summary([r["wall"] for r in tres]), "timeout": any(r.get("timeout") for r in tres),
                             "compute": summary([r["compute"] for r in tres]),
                             "rss_mib": summary([r["rss_kb"] / 1024.0 for r in tres])}
    res["speedup_vs_peer"] = res["peer"]["wall"]["median"] / vp["median"]
    res["speedup_vs_peer_compute"] = res["peer"]["compute"]["median"] / vp["median"]
    if tres:
        res["speedup_vs_peer_tuned"] = res["peer_tuned"]["wall"]["median"] / vp["median"]
    res["floor_ratio"] = pair_ratio["median"]
    res["floor_ratio_pairs"] = pair_ratio
    if key == "mem":
        runs, L, n, n0, B = shape
        weights = 4.0 * (L * n * n + (n0 - n) * n + L * n)           # W and b, float32
        acts = 4.0 * B * (n0 + 2 * L * n)                             # h^0, z^l, h^l
        res["memory"] = {"weights_mib": weights / MiB, "activations_mib": acts / MiB,
                         "budget_mib": 1.25 * (weights + acts) / MiB + 64.0}
    return res


def scaling_point(a, var, val):
    p = dict(BASE)
    p[var] = val
    name = "scale_%s_%d" % (var, val)
    cfg = {"name": name, "description": "bench scaling point %s=%d" % (var, val), "seeds": 1, "theory": False,
           "network": {"depth": p["depth"], "width": p["width"], "activation": "relu", "init": "he_normal", "bias": "zeros"},
           "input": {"distribution": "normal", "batch": p["batch"]}}
    d = os.path.join(OUT, "scaling")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    log("bench: scaling %s=%d" % (var, val))
    _, vcmd, vres = run_varprop(a, path, name, a.scale_reps)
    _, pcmd, pres = run_peer(a, path, name, 1)
    _, fl = run_floor(a, (1, p["depth"], p["width"], p["width"], p["batch"]), a.scale_reps, "seq")
    L, n, B = p["depth"], p["width"], p["batch"]
    model = 4.0 * (L * n * n + L * n + B * n * (2 * L + 1)) / MiB
    return {"var": var, "value": val, "depth": L, "width": n, "batch": B, "config": rel(path),
            "varprop_s": statistics.median(r["wall"] for r in vres),
            "varprop_rss_mib": max(r["rss_kb"] for r in vres) / 1024.0,
            "peer_s": pres[0]["wall"], "peer_compute_s": pres[0]["compute"], "peer_rss_mib": pres[0]["rss_kb"] / 1024.0,
            "floor_s": fl["seq"]["median"], "model_mib": model}


# ---- reporting ----
def fmt_s(s):
    return "%.3g" % s if s < 10 else "%.1f" % s


def spread(su):
    return "%s (%s–%s)" % (fmt_s(su["median"]), fmt_s(su["min"]), fmt_s(su["max"]))


def verdict(ok):
    return "met" if ok else "**not met**"


def table_rows(results):
    rows = []
    for r in results:
        t = r["targets"]
        rows.append([
            r["title"], spread(r["varprop"]["wall"]),
            (">%s (timeout)" % fmt_s(r["peer"]["wall"]["max"]) if r["peer"]["timeout"] else spread(r["peer"]["wall"])) + " ×%d" % r["peer"]["wall"]["n"],
            fmt_s(r["peer"]["compute"]["median"]),
            ((">%s (timeout)" % fmt_s(r["peer_tuned"]["wall"]["max"])) if r["peer_tuned"].get("timeout") else
             fmt_s(r["peer_tuned"]["wall"]["median"])) if "peer_tuned" in r else "-",
            "%s (%s)" % (fmt_s(r["floor"]["best"]), r["floor"]["best_mode"]),
            (">" if r["peer"]["timeout"] else "") + "%.2f×" % r["speedup_vs_peer"] + (" (≥%g)" % t["speedup_vs_peer"] if t["speedup_vs_peer"] else ""),
            "%.2f× (%.2f–%.2f)" % (r["floor_ratio"], r["floor_ratio_pairs"]["min"], r["floor_ratio_pairs"]["max"]) +
            (" (≤%g)" % t["max_floor_ratio"] if t["max_floor_ratio"] else ""),
            "%.0f / %.0f" % (r["varprop"]["rss_mib"]["max"], r["peer"]["rss_mib"]["max"]),
        ])
    return rows


HEAD = ["workload", "varprop s", "PyTorch s", "PyTorch compute s", "PyTorch tuned s", "GEMM floor s",
        "PyTorch/varprop", "varprop/floor", "peak RSS MiB varprop / PyTorch"]


def print_table(results):
    rows = [HEAD] + table_rows(results)
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
        f.write("set multiplot layout 2,3 title 'varprop scaling (relu, he\\_normal, 1 run, %d threads; base depth 20, width 256, batch 256)'\n" % a.threads)
        f.write("set logscale xy\nset grid\nset key top left\n")
        for var in SCALING:
            f.write('set xlabel "%s"\nset ylabel "wall time (s)"\n' % var)
            f.write('plot "{0}/{1}.dat" u 1:2 w lp t "varprop", "" u 1:3 w lp t "PyTorch peer", "" u 1:4 w lp t "GEMM floor"\n'.format(d, var))
        for var in SCALING:
            f.write('set xlabel "%s"\nset ylabel "peak RSS (MiB)"\n' % var)
            f.write('plot "{0}/{1}.dat" u 1:5 w lp t "varprop", "" u 1:6 w lp t "PyTorch peer", "" u 1:7 w l dt 2 t "W + z + h (float32)"\n'.format(d, var))
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


def write_md(a, info, results, pts, png, t_total, argv, charts=None):
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
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
    s += ("- **varprop**: `varprop run CFG -o DIR --quiet --threads %d%s` (whole process: config, init, forward, backward, "
          "statistics, CSV). With ≥2 runs the runner runs %d runs concurrently with 1 BLAS thread each; a single run "
          "gets %d BLAS threads.%s\n" % (a.threads, " " + " ".join(a.vp_extra) if a.vp_extra else "", a.threads, a.threads,
          " `--no-plot`: the peer draws no charts, so varprop's gnuplot charts are left out of the comparison and "
          "timed once separately below." if a.vp_extra else ""))
    s += ("- **PyTorch peer** (`bench/torch_peer.py`, PyTorch %s, float32, `torch.set_num_threads(%d)`, plain tensors, "
          "`x @ W.T + b`, `retain_grad()` on z and h, `loss = (h_L * g).sum() / B`, torch.nn.init initializers, same "
          "sweep read from the same config, writes layers.csv). *PyTorch s* is the whole process (interpreter start, "
          "`import torch`, CSV); *compute s* is the time inside the script after `import torch`. *PyTorch tuned* is the same "
          "script with `OPENBLAS_NUM_THREADS=1` (Debian's torch calls the same OpenBLAS through libblas.so.3; its OpenMP pool "
          "and OpenBLAS's pthread pool oversubscribe the cores when both are set to %d threads).\n" % (info.get("torch", "?"), a.threads, a.threads))
    s += ("- **GEMM floor** (`bench/gemm_floor.c`): only the sgemm calls of the same sweep (forward, weight gradient, input "
          "gradient for l>1; same shapes, transposes, alpha/beta; per-layer buffers like varprop's), buffers allocated "
          "before the clock starts, one warm-up. *seq*: runs one after another with %d BLAS threads; *conc*: %d worker "
          "threads with 1 BLAS thread each. The floor is the better of the two.\n" % (a.threads, a.threads))
    s += ("- **Pairs**: this machine is a shared VM whose speed drifts by tens of percent within minutes, so varprop and "
          "the floor probe run alternately (varprop, probe, varprop, probe, ...; one timed probe repetition after its "
          "warm-up each time) and *varprop/floor* is the median over the pairs of varprop's time divided by that "
          "pair's floor (min–max over the pairs in brackets); the varprop and floor columns are the medians of "
          "each.\n")
    s += ("- Repetitions: varprop and floor ×%d (pairs), peer up to ×%d (no further repetition once its repetitions took %.0f s; "
          "the count is in the table), tuned peer ×%d; tables show the median and (min–max). Peak RSS "
          "is GNU time's \"Maximum resident set size\" (max over repetitions).\n\n" % (a.reps, a.peer_reps, a.peer_budget, a.tuned_reps))
    s += "## Results\n\n"
    s += md_table(HEAD, table_rows(results)) + "\n"
    s += "Targets (from the issue) and verdicts:\n\n"
    for r in results:
        t = r["targets"]
        parts = []
        if t["speedup_vs_peer"]:
            lb = ">" if r["peer"].get("timeout") else ""
            lbt = ">" if r.get("peer_tuned", {}).get("timeout") else ""
            parts.append("PyTorch/varprop %s%.2f× vs ≥%g× %s (vs peer compute only %s%.2f×%s)%s" % (
                lb, r["speedup_vs_peer"], t["speedup_vs_peer"], verdict(r["speedup_vs_peer"] >= t["speedup_vs_peer"]),
                lb, r["speedup_vs_peer_compute"],
                "; vs tuned peer %s%.2f×" % (lbt, r["speedup_vs_peer_tuned"]) if "speedup_vs_peer_tuned" in r else "",
                " (peer killed at the timeout: lower bounds)" if lb or lbt else ""))
        if t["max_floor_ratio"]:
            parts.append("varprop/floor %.2f× vs ≤%g× %s" % (r["floor_ratio"], t["max_floor_ratio"],
                                                            verdict(r["floor_ratio"] <= t["max_floor_ratio"])))
        if r["key"] == "w3":
            cb = r["varprop"]["cores_busy"]["median"]
            parts.append("cores busy (CPU time / wall) %.2f of %d %s" % (cb, a.threads, verdict(cb >= 0.9 * a.threads)))
        if r["key"] == "mem":
            m = r["memory"]
            parts.append("peak RSS varprop %.0f MiB vs budget 1.25 × (W %.0f + z,h %.0f MiB) + 64 = %.0f MiB %s; PyTorch peer %.0f MiB" % (
                r["varprop"]["rss_mib"]["max"], m["weights_mib"], m["activations_mib"], m["budget_mib"],
                verdict(r["varprop"]["rss_mib"]["max"] <= m["budget_mib"]), r["peer"]["rss_mib"]["max"]))
        s += "- %s: %s\n" % (r["title"], "; ".join(parts))
    if charts:
        s += ("\nVariations, each timed once and not part of the comparison: varprop's default extras (the benchmark "
              "configs set `\"theory\": false` and varprop runs with `--no-plot`, because the peer computes neither), and "
              "`--no-share`: the sweeps of workloads 1 and 2 vary the activation for each (initializer, seed), so by default "
              "the runs of one (initializer, seed) share one draw of the weights (same bytes either way, see README); with "
              "`--no-share` every run draws its own, as the peer's loop does:\n\n")
        s += md_table(["what", "wall s", "CPU s", "wall s without (median above)", "extra s", "command"],
                      [[e["label"], "%.2f" % e["wall"], "%.2f" % e["cpu"], "%.2f" % e["base"], "%+.2f" % (e["wall"] - e["base"]),
                        "`%s`" % " ".join(e["cmd"])] for e in charts])
    s += "\nGEMM floor detail (median s, min–max, GFLOP/s at the median):\n\n"
    rows = []
    for r in results:
        for mode in ("seq", "conc"):
            f = r["floor"][mode]
            if f:
                rows.append([r["title"], mode, "%.3f (%.3f–%.3f)" % (f["median"], f["min"], f["max"]),
                             "%.1f" % f["gflop"], "%.1f" % f["gflops_at_median"]])
    s += md_table(["workload", "mode", "seconds", "GFLOP", "GFLOP/s"], rows) + "\n"
    s += "CPU use (CPU seconds / wall seconds, median):\n\n"
    s += md_table(["workload", "varprop", "PyTorch peer"], [[r["title"], "%.2f" % r["varprop"]["cores_busy"]["median"],
                                                             "%.2f" % r["peer"]["cores_busy"]["median"]] for r in results]) + "\n"
    s += "## Sanity check: same work?\n\n"
    s += ("varprop and the peer use different random streams, so per-layer values differ; they must agree statistically. "
          "For every (variant, seed, layer) and each of %s, |log10(varprop/peer)| over the first repetition's layers.csv:\n\n" % ", ".join(VAR_COLS))
    rows = []
    for r in results:
        g = r["agreement"]
        if not g:
            rows.append([r["title"], "peer timed out"] + ["-"] * 7)
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
              "at a time; varprop ×%d (median), peer ×1, floor seq ×%d. Grid chosen to keep the whole benchmark near 10 "
              "minutes on 2 cores: depth %s, width %s, batch %s. *model* = float32 W + b + z + h of every layer.\n\n" % (
                  a.threads, BASE["depth"], BASE["width"], BASE["batch"], a.scale_reps, a.scale_reps,
                  a.scaling["depth"], a.scaling["width"], a.scaling["batch"]))
        rows = [[p["var"], p["value"], "%.3f" % p["varprop_s"], "%.3f" % p["peer_s"], "%.3f" % p["floor_s"],
                 "%.2f" % (p["varprop_s"] / p["floor_s"]), "%.2f" % (p["peer_s"] / p["varprop_s"]),
                 "%.0f" % p["varprop_rss_mib"], "%.0f" % p["peer_rss_mib"], "%.0f" % p["model_mib"]] for p in pts]
        s += md_table(["variable", "value", "varprop s", "PyTorch s", "floor s", "varprop/floor", "PyTorch/varprop",
                       "varprop RSS MiB", "PyTorch RSS MiB", "model MiB"], rows) + "\n"
        if png:
            s += "![scaling](bench_scaling.png)\n\n"
    s += "## Exact commands\n\n```sh\n"
    for r in results:
        s += "# %s\n%s\n%s\n%s\n" % (r["title"], " ".join(r["varprop"]["cmd"]), " ".join(r["peer"]["cmd"]), " ".join(r["floor"]["cmd"]))
        if "peer_tuned" in r:
            s += " ".join(r["peer_tuned"]["cmd"]) + "\n"
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
    ap = argparse.ArgumentParser()
    ap.add_argument("--varprop", default=os.path.join(ROOT, "varprop"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="varprop/GEMM-floor pairs (run alternately)")
    ap.add_argument("--peer-reps", type=int, default=3, help="PyTorch peer repetitions")
    ap.add_argument("--tuned-reps", type=int, default=1, help="PyTorch peer with OPENBLAS_NUM_THREADS=1 (0: skip)")
    ap.add_argument("--scale-reps", type=int, default=1)
    ap.add_argument("--peer-budget", type=float, default=90.0,
                    help="no further peer repetition once its repetitions so far took this many seconds")
    ap.add_argument("--peer-timeout", type=float, default=240.0,
                    help="kill a peer process after this many seconds; its time is then reported as a lower bound")
    ap.add_argument("--workloads", default="w1,w2,w3,mem,scaling")
    ap.add_argument("--quick", action="store_true", help="1 repetition, small scaling grid (smoke test)")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    a = ap.parse_args()
    argv = ["python3", "bench/bench.py"] + sys.argv[1:]
    if a.quick:
        a.reps = a.peer_reps = a.scale_reps = 1
        a.tuned_reps = 0
    a.scaling = QUICK_SCALING if a.quick else SCALING
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
    # Compare like with like: CSV results only (the peer draws no charts).
    help_text = subprocess.run([a.vp, "run", "--help"], capture_output=True, text=True).stdout
    a.vp_extra = ["--no-plot"] if "--no-plot" in help_text else []
    a.has_plots = "--plots" in help_text
    info = machine(a)
    want = a.workloads.split(",")
    results = []
    for key, cfg, title, targets in WORKLOADS:
        if key in want:
            results.append(workload(a, key, cfg, title, targets))
    extras = []  # varprop's default extras (theory columns, charts), timed once, outside the comparison
    if "w1" in want or "w3" in want:
        for key, cfgname, plots in (("w1", "w1_reference.json", False), ("w3", "w3_phase.json", False), ("w1", "w1_reference.json", True)):
            if key not in want or (plots and (not a.has_plots or a.quick)):
                continue
            with open(os.path.join(BENCH, cfgname)) as f:
                c = json.load(f)
            c.pop("theory", None)  # varprop's default: theory on
            tcfg = os.path.join(OUT, "runs", key + "-theory.json")
            with open(tcfg, "w") as f:
                json.dump(c, f, indent=1)
            d = os.path.join(OUT, "runs", key + ("-charts" if plots else "-theory"))
            shutil.rmtree(d, ignore_errors=True)
            cmd = [a.vp, "run", tcfg, "-o", d, "--quiet", "--threads", str(a.threads), "--max-runs", "0"]
            cmd += ["--plots", d + "-plots"] if plots else a.vp_extra
            label = "workload %s with theory on%s" % (key[1], " and charts (varprop's defaults)" if plots else "")
            log("bench: " + label + ", x1")
            r = timed(cmd)
            base = next(x for x in results if x["key"] == key)["varprop"]["wall"]["median"]
            extras.append({"label": label, "cmd": cmd, "wall": r["wall"], "cpu": r["user"] + r["sys"],
                           "rss_mib": r["rss_kb"] / 1024.0, "base": base})
    # Without parameter sharing: every run draws its own weights, as the peer's loop does.
    if "--no-share" in help_text:
        for key, cfgname in (("w1", "w1_reference.json"), ("w2", "w2_wide.json")):
            if key not in want or a.quick:
                continue
            d = os.path.join(OUT, "runs", key + "-noshare")
            shutil.rmtree(d, ignore_errors=True)
            cmd = [a.vp, "run", os.path.join(BENCH, cfgname), "-o", d, "--quiet", "--threads", str(a.threads),
                   "--max-runs", "0", "--no-share"] + a.vp_extra
            label = "workload %s with `--no-share` (every run draws its own weights, as the peer does)" % key[1]
            log("bench: " + label + ", x1")
            r = timed(cmd)
            base = next(x for x in results if x["key"] == key)["varprop"]["wall"]["median"]
            extras.append({"label": label, "cmd": cmd, "wall": r["wall"], "cpu": r["user"] + r["sys"],
                           "rss_mib": r["rss_kb"] / 1024.0, "base": base})
    charts = extras
    pts = []
    if "scaling" in want:
        for var, vals in a.scaling.items():
            for v in vals:
                pts.append(scaling_point(a, var, v))
    t_total = time.perf_counter() - t0
    png = plot_scaling(a, pts)
    with open(os.path.join(OUT, "results-nodocs.json" if a.no_docs else "results.json"), "w") as f:
        json.dump({"machine": info, "argv": argv, "workloads": results, "extras": charts, "scaling": pts,
                   "total_s": t_total}, f, indent=1)
    print_table(results)
    for r in results:
        g = r["agreement"]
        if not g:
            continue
        print("  %s: layers.csv agreement: %.1f%% of %d variance pairs within 10x, median |log10| %.3f" % (
            r["key"], 100 * g["frac_within_10x"], g["compared"], g["median_abs_log10"]))
    if pts:
        print("scaling (var value: varprop s / PyTorch s / floor s, RSS MiB varprop / PyTorch):")
        for p in pts:
            print("  %s %d: %.3f / %.3f / %.3f, %.0f / %.0f" % (p["var"], p["value"], p["varprop_s"], p["peer_s"], p["floor_s"],
                                                            p["varprop_rss_mib"], p["peer_rss_mib"]))
    print("total %.0f s" % t_total)
    if not a.no_docs:
        write_md(a, info, results, pts, png, t_total, argv, charts)
        print("wrote docs/benchmarks.md" + (" and docs/bench_scaling.png" if png else ""))


if __name__ == "__main__":
    main()
