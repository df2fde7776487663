"""train_bench: workload 5 of bench/bench.py -- training (issue 14's speed target).

The network of He et al. 2015's comparison: Fashion-MNIST, 784 -> 256 x30 (ReLU) -> 10,
SGD lr 0.01 momentum 0.9, batch 128, one epoch (469 steps, the last of 96), float32.
Three contenders and the He-vs-Xavier result:

  varprop   bench/train_driver.c: core/train's vp_trainer_step over one shuffled epoch
            (vp_batches + vp_dataset_gather + step), --threads T
  PyTorch   bench/train_peer.py: nn.Sequential + torch.optim.SGD + F.cross_entropy, the
            data as float32 tensors in memory; *tuned* = OPENBLAS_NUM_THREADS=1 and
            torch.set_num_threads(T), *as written* = no variable
  floor     bench/train_floor.c: only the epoch's sgemm calls (forward, weight gradient,
            input gradient; same shapes): the trainer's items on a T-thread pool, one
            pool run per product ("blocks") or per step ("steps"), or each product one
            OpenBLAS call with T threads ("whole"); the floor is the fastest

Every figure is samples per second of the epoch loop as each program times it (loading
the data, `import torch` and the test evaluation are outside), so start-up costs do not
blur the ratio. Each repetition runs varprop, the tuned peer (and, in the first
--peer-reps repetitions, the peer as written) and the floor back to back; each ratio is
the median of the per-repetition ratios. Peak RSS (GNU time) is the whole process.
He vs Xavier: the test accuracy after the epoch with he_normal (the repetitions) and
with xavier_uniform (one varprop run, one tuned-peer run).
"""
import math
import os
import subprocess

TARGET_PEER = 1.5      # varprop samples/s >= 1.5 x the tuned peer's
TARGET_PEER_RAW = 5.0  # >= 5 x the peer as written
TARGET_FLOOR = 1.3     # varprop time <= 1.3 x the floor's
TITLE = "5 training (784 -> 256x30 -> 10 ReLU, Fashion-MNIST, SGD momentum, B128, 1 epoch)"
NAME = "train"  # its marked section of docs/benchmarks.md (bench.py keeps the others)
SECTION_BEGIN, SECTION_END = "<!-- train-bench:begin -->", "<!-- train-bench:end -->"
LEGACY = ("<!-- training section: bench/train_bench.py -->", "<!-- end of the training section -->")

CFLAGS = ["-O2", "-Isrc", "-std=c11", "-D_DEFAULT_SOURCE", "-D_POSIX_C_SOURCE=200809L",
          "-I/usr/include/x86_64-linux-gnu/openblas-pthread"]
LIBS = ["-lcjson", "-lopenblas", "-lz", "-lm", "-lpthread"]


def build(root, out):
    """Compile the driver and the floor against build/libvarprop.a (make builds it)."""
    lib = os.path.join(root, "build", "libvarprop.a")
    if not os.path.exists(lib):
        raise SystemExit("bench: %s missing: run make first" % lib)
    bins = {}
    for name in ("train_driver", "train_floor"):
        exe = os.path.join(out, name)
        subprocess.run(["gcc"] + CFLAGS + [os.path.join(root, "bench", name + ".c"), lib, "-o", exe] + LIBS,
                       cwd=root, check=True)
        bins[name] = exe
    return bins


def _json(r):
    import json
    return json.loads(r["stdout"].strip().splitlines()[-1])


def _peer(r, timeout):
    """A peer's figures; a peer killed at the timeout did not finish its epoch in that
    time, so its rate is at most 60000 / timeout (a bound, marked)."""
    if r is None:
        return {"samples_per_s": 60000.0 / timeout, "timeout": True, "rss_mib": float("nan"),
                "test_acc": float("nan")}
    return dict(_json(r), rss_mib=r["rss_kb"] / 1024.0, timeout=False)


def _shown(root, cmd):
    """cmd as shown: paths inside the repository relative to it."""
    return [os.path.relpath(c, root) if c.startswith(root + os.sep) else c for c in cmd]


def run(a, h):
    """h: bench.py's helpers (timed, log, loadavg, summary). Returns the result dict."""
    T = str(a.threads)
    drv = [a.train_bins["train_driver"], "--threads", T]
    flr = [a.train_bins["train_floor"], "--threads", T, "--reps", "1", "--mode", "all"]
    peer = [a.python, os.path.join(a.root, "bench", "train_peer.py"), "--threads", T]
    tuned_env = {"OPENBLAS_NUM_THREADS": "1"}
    load0 = h.loadavg()
    vp, tuned, raw, floor = [], [], [], []
    for k in range(a.train_reps):
        h.log("bench: %s: repetition %d/%d" % (TITLE, k + 1, a.train_reps))
        r = h.timed(drv)
        vp.append(dict(_json(r), rss_mib=r["rss_kb"] / 1024.0))
        tuned.append(_peer(h.timed(peer, tuned_env, a.peer_timeout), a.peer_timeout))
        if k < a.peer_reps:
            raw.append(_peer(h.timed(peer, None, a.peer_timeout), a.peer_timeout))
        r = h.timed(flr)
        modes = {}
        for line in r["stdout"].splitlines():
            j = __import__("json").loads(line)
            modes[j["mode"]] = j
        floor.append(modes)
    h.log("bench: %s: xavier_uniform, varprop and the tuned peer" % TITLE)
    xav_vp = _json(h.timed(drv + ["--init", "xavier_uniform"]))
    r = h.timed(peer + ["--init", "xavier_uniform"], tuned_env, a.peer_timeout)
    xav_peer = _json(r) if r else None
    load1 = h.loadavg()
    res = {
        "key": "w5", "title": TITLE, "reps": a.train_reps, "loadavg_before": load0, "loadavg_after": load1,
        "cmd": {"varprop": _shown(a.root, drv), "peer_tuned": ["OPENBLAS_NUM_THREADS=1"] + _shown(a.root, peer),
                "peer": _shown(a.root, peer), "floor": _shown(a.root, flr)},
        "varprop": vp, "peer_tuned": tuned, "peer": raw, "floor": floor,
        "xavier": {"varprop": xav_vp, "peer_tuned": xav_peer}, "peer_timeout": a.peer_timeout,
    }
    return finish(res, h.summary)


def finish(res, summary):
    """The figures derived from the raw runs in res (also for results.json of an earlier run)."""
    vp, tuned, raw, floor = res["varprop"], res["peer_tuned"], res["peer"], res["floor"]
    fl_sps = [max(m["samples_per_s"] for m in f.values()) for f in floor]
    res.update({
        "varprop_sps": summary([v["samples_per_s"] for v in vp]),
        "floor_sps": summary(fl_sps),
        "floor_best_mode": [max(f, key=lambda m: f[m]["samples_per_s"]) for f in floor],
        "floor_ratio": summary([f / v["samples_per_s"] for f, v in zip(fl_sps, vp)]),
        "he_acc": summary([v["test_acc"] for v in vp]),
        "rss_mib": {"varprop": max(v["rss_mib"] for v in vp)},
    })
    # per-repetition ratios; against a peer killed at the timeout the ratio is a lower bound
    res["peer_tuned_sps"] = summary([t["samples_per_s"] for t in tuned])
    res["speedup_vs_peer_tuned"] = summary([v["samples_per_s"] / t["samples_per_s"] for t, v in zip(tuned, vp)])
    res["peer_tuned_timeouts"] = sum(t["timeout"] for t in tuned)
    done = [t for t in tuned if not t["timeout"]]
    res["rss_mib"]["peer_tuned"] = max(t["rss_mib"] for t in done) if done else float("nan")
    if done:
        res["peer_he_acc"] = summary([t["test_acc"] for t in done])
    if raw:
        res["peer_sps"] = summary([p["samples_per_s"] for p in raw])
        res["speedup_vs_peer"] = summary([v["samples_per_s"] / p["samples_per_s"] for p, v in zip(raw, vp)])
        res["peer_timeouts"] = sum(p["timeout"] for p in raw)
        done = [p for p in raw if not p["timeout"]]
        res["rss_mib"]["peer"] = max(p["rss_mib"] for p in done) if done else float("nan")
    return res


def _spread(su, fmt="%.0f"):
    if su["n"] == 1:
        return fmt % su["median"]
    return (fmt + " (" + fmt + "–" + fmt + ")") % (su["median"], su["min"], su["max"])


def _verdict(ok):
    return "met" if ok else "**not met**"


def _bound(res, key):
    n = res.get(key + "_timeouts", 0)
    return " (%d of its runs killed at the %.0f s timeout: a lower bound)" % (n, res.get("peer_timeout", 240)) if n else ""


def verdicts(res):
    out = []
    s = res["speedup_vs_peer_tuned"]["median"]
    out.append("varprop/tuned PyTorch samples/s %.2f× vs ≥%g× %s%s" % (
        s, TARGET_PEER, _verdict(s >= TARGET_PEER), _bound(res, "peer_tuned")))
    if "speedup_vs_peer" in res:
        s = res["speedup_vs_peer"]["median"]
        out.append("varprop/PyTorch as written %.2f× vs ≥%g× %s%s" % (
            s, TARGET_PEER_RAW, _verdict(s >= TARGET_PEER_RAW), _bound(res, "peer")))
    f = res["floor_ratio"]["median"]
    out.append("varprop time/GEMM floor %.2f× vs ≤%g× %s" % (f, TARGET_FLOOR, _verdict(f <= TARGET_FLOOR)))
    he, xv = res["he_acc"]["median"], res["xavier"]["varprop"]
    # "Stalls": the test loss stays at chance level, ln(10) for a uniform prediction over
    # 10 classes (within 5%), whatever few classes the argmax happens to get right.
    chance = math.log(10)
    out.append("after 1 epoch: he_normal test accuracy %.4f (≥ 0.70 %s); xavier_uniform test accuracy %.4f, test "
               "loss %.3f = %.3f ln 10 (stalls, loss ≥ 0.95 ln 10: %s)" % (
                   he, _verdict(he >= 0.70), xv["test_acc"], xv["test_loss"], xv["test_loss"] / chance,
                   _verdict(xv["test_loss"] >= 0.95 * chance)))
    return out


def section(res, md_table):
    """The markdown of the training section (between the markers)."""
    s = SECTION_BEGIN + "\n## Training (issue 14, workload 5)\n\n"
    s += ("Fashion-MNIST, 784 → 256 ×30 (ReLU) → 10, he_normal weights and zero biases, SGD lr 0.01 momentum 0.9, "
          "batch 128, one epoch (469 steps, the last of 96 examples), float32, %s threads. Figures are samples per "
          "second of the epoch loop as each program times it (data loading, `import torch` and the test evaluation "
          "excluded); ×%d repetitions, each running varprop, the tuned peer, the peer as written (first %d only) and "
          "the GEMM floor back to back; ratios are medians of per-repetition ratios (min–max). A peer killed at the "
          "timeout counts as 60000 samples / timeout (an upper bound of its rate). Load average: %s → %s (other "
          "agents share this 2-core machine).\n\n" % (
              res["cmd"]["varprop"][res["cmd"]["varprop"].index("--threads") + 1], res["reps"], len(res["peer"]),
              res["loadavg_before"], res["loadavg_after"]))
    killed = lambda k: " (%d killed: ≤)" % res[k + "_timeouts"] if res.get(k + "_timeouts") else ""
    rss = lambda v: "%.0f" % v if v == v else "-"
    rows = [["varprop (`bench/train_driver.c`)", _spread(res["varprop_sps"]), "1", rss(res["rss_mib"]["varprop"])]]
    rows.append(["PyTorch tuned (`OPENBLAS_NUM_THREADS=1`, `bench/train_peer.py`)",
                 _spread(res["peer_tuned_sps"]) + killed("peer_tuned"), _spread(res["speedup_vs_peer_tuned"], "%.2f×"),
                 rss(res["rss_mib"]["peer_tuned"])])
    if "peer_sps" in res:
        rows.append(["PyTorch as written", _spread(res["peer_sps"]) + killed("peer"),
                     _spread(res["speedup_vs_peer"], "%.2f×"), rss(res["rss_mib"]["peer"])])
    rows.append(["GEMM floor (`bench/train_floor.c`, best of blocks/steps/whole: %s)" % ", ".join(res["floor_best_mode"]),
                 _spread(res["floor_sps"]), "time ratio varprop/floor " + _spread(res["floor_ratio"], "%.2f×"), "-"])
    s += md_table(["contender", "samples/s", "varprop over it", "peak RSS MiB"], rows) + "\n"
    s += "Per repetition (samples/s): varprop %s; floor %s.\n\n" % (
        ", ".join("%.0f" % v["samples_per_s"] + (" (epoch CPU %.1f s)" % v["cpu_s"] if "cpu_s" in v else "")
                  for v in res["varprop"]),
        ", ".join("/".join("%s %.0f" % (m, f[m]["samples_per_s"]) for m in sorted(f)) for f in res["floor"]))
    s += "Targets (issue 14):\n\n" + "".join("- %s\n" % v for v in verdicts(res)) + "\n"
    xp = res["xavier"]["peer_tuned"]
    s += ("He et al. 2015 (1 epoch, test accuracy): varprop he_normal %s, xavier_uniform %.4f; PyTorch (tuned peer, its "
          "own random streams) he_normal %s, xavier_uniform %s.\n\n" % (
              _spread(res["he_acc"], "%.4f"), res["xavier"]["varprop"]["test_acc"],
              _spread(res["peer_he_acc"], "%.4f") if "peer_he_acc" in res else "-",
              "%.4f" % xp["test_acc"] if xp else "-"))
    s += "Commands (each wrapped in `/usr/bin/time -f '%U %S %M'`; built by bench.py against build/libvarprop.a):\n\n```sh\n"
    for k in ("varprop", "peer_tuned", "peer", "floor"):
        s += " ".join(res["cmd"][k]) + "\n"
    s += " ".join(res["cmd"]["varprop"]) + " --init xavier_uniform\n"
    s += "```\n" + SECTION_END + "\n"
    return s


def legacy_markers(text):
    """text with the training section's old markers (before the NAME-bench convention)
    replaced by the current ones."""
    return text.replace(LEGACY[0], SECTION_BEGIN).replace(LEGACY[1], SECTION_END)
