#!/usr/bin/python3
"""lenet_bench: issue 15's speed target for the original comparison, in `make bench`.

The training of experiments/seed_lenet5_xavier_vs_he.json -- [1, 28, 28] -> Conv2d(6, 3x3)
ReLU -> MaxPool 2 -> Flatten -> Dense(128) ReLU -> Dense(10), zero biases, he_uniform, Adam
(lr 1e-3, betas 0.9/0.999, eps 1e-7), batch 64, Fashion-MNIST, float32, one epoch (938
steps, the last of 32) -- by two contenders:

  varprop   bench/lenet_driver.c: core/net_train's vp_net_trainer_step over one shuffled
            epoch (vp_batches + vp_dataset_gather + step), --threads T
  PyTorch   bench/lenet_peer.py, tuned as the training benchmark (bench/train_bench.py):
            torch.set_num_threads(T) and OPENBLAS_NUM_THREADS=1

Every figure is samples per second of the epoch loop as each program times it (loading,
`import torch` and the test evaluation outside). Paired runs: each repetition runs
varprop then the peer back to back; the ratio is the median of the per-repetition
ratios. Peak RSS (GNU time) is the whole process. Target: ratio >= 1.5.

Writes its own section of docs/benchmarks.md, between `<!-- lenet-bench:begin -->` and
`<!-- lenet-bench:end -->` (replaced in place, or appended: bench/run_bench.sh runs this
after bench.py, which rewrites the file). Options: --threads T (2), --reps R (3),
--quick (1 repetition of 150 steps each: a smoke test), --no-docs; bench.py's other
options are ignored (run_bench.sh passes its arguments to both).
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402  (its timed, summary, loadavg, md_table, paths)
import train_bench  # noqa: E402  (its compiler flags and libraries)

TARGET = 1.5
BEGIN, END = "<!-- lenet-bench:begin -->", "<!-- lenet-bench:end -->"


def build():
    lib = os.path.join(B.ROOT, "build", "libvarprop.a")
    if not os.path.exists(lib):
        raise SystemExit("lenet_bench: %s missing: run make first" % lib)
    exe = os.path.join(B.OUT, "lenet_driver")
    subprocess.run(["gcc"] + train_bench.CFLAGS + [os.path.join(B.BENCH, "lenet_driver.c"), lib, "-o", exe] +
                   train_bench.LIBS, cwd=B.ROOT, check=True)
    return exe


def last_json(r):
    return json.loads(r["stdout"].strip().splitlines()[-1])


def accuracy(r):
    """The peer's test accuracy: its last per-epoch line."""
    eps = [json.loads(l) for l in r["stdout"].splitlines() if l.startswith('{"epoch"')]
    return eps[-1]["test_acc"] if eps else float("nan")


def spread(su, fmt="%.0f"):
    if su["n"] == 1:
        return fmt % su["median"]
    return (fmt + " (" + fmt + "–" + fmt + ")") % (su["median"], su["min"], su["max"])


def section(res):
    s = BEGIN + "\n## LeNet training (issue 15, the original comparison)\n\n"
    s += ("experiments/seed_lenet5_xavier_vs_he.json's training: [1, 28, 28] → conv2d(6, 3×3) ReLU → maxpool 2 → "
          "flatten → dense(128) ReLU → dense(10), he_uniform, zero biases, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-7), "
          "batch 64, Fashion-MNIST, float32, %s, %d threads. Figures are samples per second of the epoch loop as each "
          "program times it (data loading, `import torch` and the test evaluation excluded); ×%d paired repetitions "
          "(varprop, then the tuned peer); the ratio is the median of the per-repetition ratios (min–max). Load "
          "average: %s → %s (other agents share this 2-core machine).\n\n" % (
              "%d steps" % res["steps"] if res["steps"] > 0 else "one epoch (938 steps)", res["threads"], res["reps"],
              res["load0"], res["load1"]))
    rows = [["varprop (`bench/lenet_driver.c`)", spread(res["vp_sps"]), "1", "%.0f" % res["vp_rss"],
             spread(res["vp_acc"], "%.4f")],
            ["PyTorch tuned (`OPENBLAS_NUM_THREADS=1`, `bench/lenet_peer.py`)", spread(res["peer_sps"]),
             spread(res["ratio"], "%.2f×"), "%.0f" % res["peer_rss"], spread(res["peer_acc"], "%.4f")]]
    s += B.md_table(["contender", "samples/s", "varprop over it", "peak RSS MiB", "test accuracy"], rows) + "\n"
    r = res["ratio"]["median"]
    s += "Target (issue 15): varprop/tuned PyTorch samples/s %.2f× vs ≥%g× %s.\n\n" % (
        r, TARGET, "met" if r >= TARGET else "**not met**")
    s += "Per repetition (samples/s, varprop / peer): %s.\n\n" % ", ".join(
        "%.0f / %.0f" % (v, p) for v, p in zip(res["vp_all"], res["peer_all"]))
    s += "Commands (each wrapped in `/usr/bin/time -f '%U %S %M'`; the driver built against build/libvarprop.a):\n\n```sh\n"
    s += " ".join(res["cmd_vp"]) + "\nOPENBLAS_NUM_THREADS=1 " + " ".join(res["cmd_peer"]) + "\n```\n" + END + "\n"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-docs", action="store_true")
    a, _ = ap.parse_known_args()
    reps, steps = (1, 150) if a.quick else (a.reps, -1)
    os.makedirs(B.OUT, exist_ok=True)
    exe = build()
    T = str(a.threads)
    vp_cmd = [exe, "--threads", T] + (["--steps", str(steps)] if steps > 0 else [])
    peer_cmd = [sys.executable, os.path.join(B.BENCH, "lenet_peer.py"), "--threads", T, "--epochs", "1"] + (
        ["--steps", str(steps)] if steps > 0 else [])
    load0 = B.loadavg()
    vp, peer = [], []
    for k in range(reps):
        print("lenet_bench: repetition %d/%d" % (k + 1, reps), file=sys.stderr, flush=True)
        r = B.timed(vp_cmd)
        vp.append(dict(last_json(r), rss_mib=r["rss_kb"] / 1024.0))
        r = B.timed(peer_cmd, {"OPENBLAS_NUM_THREADS": "1"})
        peer.append(dict(last_json(r), rss_mib=r["rss_kb"] / 1024.0, test_acc=accuracy(r)))
    shown = lambda c: [os.path.relpath(x, B.ROOT) if x.startswith(B.ROOT + os.sep) else x for x in c]
    res = {"threads": a.threads, "reps": reps, "steps": steps, "load0": load0, "load1": B.loadavg(),
           "vp_sps": B.summary([v["samples_per_s"] for v in vp]),
           "peer_sps": B.summary([p["samples_per_s"] for p in peer]),
           "ratio": B.summary([v["samples_per_s"] / p["samples_per_s"] for v, p in zip(vp, peer)]),
           "vp_all": [v["samples_per_s"] for v in vp], "peer_all": [p["samples_per_s"] for p in peer],
           "vp_rss": max(v["rss_mib"] for v in vp), "peer_rss": max(p["rss_mib"] for p in peer),
           "vp_acc": B.summary([v["test_acc"] for v in vp]), "peer_acc": B.summary([p["test_acc"] for p in peer]),
           "cmd_vp": shown(vp_cmd), "cmd_peer": ["/usr/bin/python3"] + shown(peer_cmd[1:])}
    with open(os.path.join(B.OUT, "lenet_results.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("lenet: varprop %.0f samples/s, tuned PyTorch %.0f, ratio %.2fx (target >= %g: %s); peak RSS %.0f vs %.0f MiB"
          % (res["vp_sps"]["median"], res["peer_sps"]["median"], res["ratio"]["median"], TARGET,
             "met" if res["ratio"]["median"] >= TARGET else "NOT met", res["vp_rss"], res["peer_rss"]))
    if not a.no_docs:
        B.write_section("lenet", section(res))
        print("wrote the LeNet section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
