#!/usr/bin/env python3
"""mpi_bench.py: runs per second against MPI ranks on this machine, and the projected
efficiency of `mpirun -np 64 varprop run` on a 64-node cluster from the measured per-run
times and message sizes (the model is printed with the numbers; docs/benchmarks.md,
"Across machines"). Run by bench/mpi_bench.sh (`sh bench/mpi_bench.sh`), ~4 minutes; with
--docs the section "## Across machines" of docs/benchmarks.md is replaced (or added at the
end) by what it prints.

Workloads (bench/w1_reference.json is the 84-run reference sweep of `make bench`):
  ref   the reference sweep: realistic runs (tens of ms each)
  tiny  2,000 runs of a depth-2, width-8 net: the runs cost nothing, so the wall time is
        rank 0's cost to receive, write (synced), check and assemble a run -- the
        serial part that bounds how many ranks one rank 0 can feed.
"""
import contextlib, io, json, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VP = os.path.join(ROOT, "varprop")
MPIRUN = ["mpirun", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
REPEAT = 3


def timed(cmd, cwd):
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0


def best(cmd, cwd, out):
    ts = []
    for _ in range(REPEAT):
        shutil.rmtree(os.path.join(cwd, out), ignore_errors=True)
        ts.append(timed(cmd, cwd))
    return min(ts), statistics.median(ts)


def run_seconds(path):
    with open(path) as f:
        head = f.readline().rstrip("\n").split(",")
        col = head.index("seconds")
        return [float(line.split(",")[col]) for line in f if line.strip()]


def main():
    if "--docs" in sys.argv:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            loads = measure()
        text = buf.getvalue()
        print(text)
        path = os.path.join(ROOT, "docs", "benchmarks.md")
        with open(path) as f:
            doc = f.read()
        head = "## Across machines\n"
        if head in doc:
            start = doc.index(head)
            # the section ends at the next heading or at the next section's begin marker
            # (<!-- name:begin --> just above its heading): that marker belongs to the next one
            ends = [i for i in (doc.find("\n## ", start + len(head)), doc.find("\n<!-- ", start + len(head))) if i >= 0]
            nxt = min(ends) if ends else -1
            doc = doc[:start] + head + "\n" + SECTION_INTRO % loads + text + (doc[nxt + 1:] if nxt >= 0 else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + head + "\n" + SECTION_INTRO % loads + text
        with open(path, "w") as f:
            f.write(doc)
        return 0
    measure()
    return 0


SECTION_INTRO = """Written by `sh bench/mpi_bench.sh --docs` (bench/mpi_bench.py; `make bench` keeps this
section as it is: run this again to renew it). MPI ranks and shards: docs/cluster.md. Load average
before and after: %s.

"""


def measure():
    load0 = "%.2f %.2f %.2f" % os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="varprop-mpibench-")
    tiny = {"name": "tiny", "seeds": 1000, "theory": False, "network": {"depth": 2, "width": 8},
            "input": {"batch": 8}, "sweep": {"network.activation": ["relu", "tanh"]}}
    with open(os.path.join(tmp, "tiny.json"), "w") as f:
        json.dump(tiny, f)
    shutil.copy(os.path.join(ROOT, "bench", "w1_reference.json"), os.path.join(tmp, "ref.json"))
    rows = []
    measured = {}
    for w, runs in (("ref", None), ("tiny", 2000)):
        cfg = w + ".json"
        base = [VP, "run", cfg, "--no-plot", "--quiet"]
        cases = [("1 process, --threads 1", base + ["-o", "p1", "--threads", "1"], "p1"),
                 ("1 process, --threads 2", base + ["-o", "p2", "--threads", "2"], "p2"),
                 ("mpirun -np 2, --threads 1", MPIRUN + ["-np", "2"] + base + ["-o", "m2", "--threads", "1"], "m2")]
        for label, cmd, out in cases:
            tmin, tmed = best(cmd, tmp, out)
            n = runs or len(run_seconds(os.path.join(tmp, out, "runs.csv")))
            rows.append((w, label, n, tmin, tmed, n / tmin))
            measured[(w, out)] = tmin
        # per-run compute time (runs.csv seconds, one process, one thread) and the bytes a
        # rank sends per run: a 1-slice shard keeps exactly the fragments it would send
        secs = run_seconds(os.path.join(tmp, "p1", "runs.csv"))
        shutil.rmtree(os.path.join(tmp, "s"), ignore_errors=True)
        subprocess.run(base + ["--shard", "1/1", "-o", "s", "--threads", "1"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        parts = os.path.join(tmp, "s", ".parts")
        frag = sum(os.path.getsize(os.path.join(parts, p)) for p in os.listdir(parts) if p.startswith("run-"))
        measured[(w, "run_s")] = statistics.mean(secs)
        measured[(w, "msg")] = frag / len(secs)
        measured[(w, "runs")] = len(secs)

    print("### Measured on this machine (%d cores; best and median of %d)\n" % (os.cpu_count(), REPEAT))
    print("| workload | how | runs | best s | median s | runs/s |")
    print("|---|---|---:|---:|---:|---:|")
    for w, label, n, tmin, tmed, rps in rows:
        print("| %s | %s | %d | %.3f | %.3f | %.1f |" % (w, label, n, tmin, tmed, rps))
    print()
    t0 = measured[("tiny", "m2")] / 2000.0  # rank 0's serial cost per run (an upper bound)
    for w in ("ref", "tiny"):
        print("- %s: mean run %.2f ms (runs.csv `seconds`, one thread), %.0f bytes of fragments per run"
              % (w, 1e3 * measured[(w, "run_s")], measured[(w, "msg")]))
    print("- rank 0's cost per run (tiny, mpirun -np 2: wall / runs): t0 = %.3f ms. An upper bound of its serial"
          % (1e3 * t0))
    print("  part: with 2 ranks on 2 cores it includes both ranks' own work and rank 0's writing of every run's")
    print("  file (created, written, renamed; not fsynced), so the E(64) below are lower bounds")
    print()
    print("### Projected efficiency at 64 nodes\n")
    print("Model (one rank per node, each running one run at a time on all its cores; rank 0 also")
    print("computes): a rank's cycle per run is T + 2a + S/b (compute, the request and the answer")
    print("latency a, the fragments S over bandwidth b); rank 0 serves the runs one after another at")
    print("t0 + S/b each, so the job delivers min(N / (T + 2a + S/b), 1 / (t0 + S/b)) runs per second;")
    print("the tail costs R / (N ceil(R/N)) for R equal runs. Efficiency = that rate over N / T.\n")
    print("| workload | network | a | b | T ms | S bytes | limited by | E(64) |")
    print("|---|---|---:|---:|---:|---:|---|---:|")
    T, S, R = measured[("ref", "run_s")], measured[("ref", "msg")], measured[("ref", "runs")]
    # the reference runs as measured, and the same sweep with runs of 1 s (width ~1000 on a node)
    for label, t, runs in (("ref, 84 runs", T, R), ("ref, 84 runs", 1.0, R), ("ref x 100 seeds", T, R * 50)):
        for net, a, b in (("InfiniBand HDR", 2e-6, 12e9), ("10 GbE", 50e-6, 1.1e9)):
            N = 64
            ranks = N / (t + 2 * a + S / b)
            serial = 1.0 / (t0 + S / b)
            rate = min(ranks, serial)
            tail = runs / (N * -(-runs // N))
            eff = rate / (N / t) * tail
            print("| %s | %s | %.0f us | %.1f GB/s | %.1f | %.0f | %s | %.0f%% |"
                  % (label, net, a * 1e6, b / 1e9, t * 1e3, S, "ranks" if ranks <= serial else "rank 0", 100 * eff))
    print()
    print("Runs of the reference sweep at width 1000+ (seconds each) make the communication and")
    print("rank 0's share vanish; the tiny runs show the floor: rank 0 feeds at most 1/t0 runs per second.")
    shutil.rmtree(tmp, ignore_errors=True)
    return "%s -> %.2f %.2f %.2f (2 cores: other processes shared the machine)" % ((load0,) + os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
