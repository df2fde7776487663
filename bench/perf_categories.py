#!/usr/bin/env python3
"""perf_categories: where does varprop's time go? Reads `perf script` output
(recorded with --call-graph dwarf) and sorts every sample into one category by
its call stack. usage: perf script -i perf.data | python3 bench/perf_categories.py"""
import collections
import re
import sys

RULES = [  # (category, predicate on the list of frame symbols, leaf first)
    ("theory: mean-field predictions (quadrature, in varprop)", lambda f, s: re.search(r"vp_theory|gk21|gk_integrate|int2_inner|int2_outer|vp_gh_rule|predict|lattice", s)),
    ("charts / report (in varprop)", lambda f, s: re.search(r"vp_chart|vp_plot|vp_report|cmd_plot|charts_", s)),
    ("OpenBLAS idle threads (sched_yield spin)", lambda f, s: "sched_yield" in s),
    ("startup (dynamic loader)", lambda f, s: "_dl_start" in s or "dl_main" in s),
    ("init: orthogonal QR (LAPACK dgeqrf/dorgqr)", lambda f, s: ("vp_init_orthogonal" in s or "dgeqrf_" in s or "dorgqr_" in s
        or (f and "libopenblas" in f[0][1] and re.match(r"d(copy|nrm2|axpy|scal|ger|gemv|larf)", f[0][0]))) and not re.search(r"vp_rng|zig|philox|block\.", s)),
    ("init: RNG + transforms (Philox, normal/uniform/trunc, store to float)", lambda f, s: "vp_mlp_init_params" in s or "make_input" in s or "vp_init_" in s),
    ("backward: probe RNG", lambda f, s: "backward" in s and re.search(r"vp_rng|zig|philox|block\.", s)),
    ("GEMM (sgemm/dgemm)", lambda f, s: re.search(r"sgemm|dgemm|cblas_", s)),
    ("page faults / memory zeroing (kernel)", lambda f, s: re.search(r"page_fault|clear_page|do_anonymous_page|handle_mm_fault|__munmap|unmap|free_pages|mmap", s)),
    ("statistics (acc_rows/finish_stats/block_stats)", lambda f, s: re.search(r"acc_rows|finish_stats|block_stats", f[0][0] if f else "")),
    ("activation phi, phi' (libm double per element)", lambda f, s: "layer_forward" in s and re.search(r"_k32|_k64|_f$|_df$|^sigm$|tanh|exp|erf|expm1|log1p|__ieee754|_fma", f[0][0] if f else "")),
    ("forward elementwise (bias copy, alive/saturated)", lambda f, s: f and f[0][0].startswith(("layer_forward", "affine", "__memmove", "__memset")) and "forward" in s),
    ("backward elementwise (g *= phi')", lambda f, s: f and "backward" in f[0][0]),
    ("I/O (CSV fragments, assembly, mkdir)", lambda f, s: re.search(r"write_fragments|vp_csv|assemble|append_file|vp_afile|vp_mkdir|clear_parts|fprintf|vfprintf|__printf_fp", s)),
    ("config parse", lambda f, s: "vp_config" in s),
    ("file creation, rename (kernel: ext4 inode allocation, directory)", lambda f, s: re.search(r"ext4_|recently_deleted|find_inode_bit|find_get_block|do_sys_openat|renameat|do_unlinkat", s)),
]


def main():
    text = sys.stdin.read()
    counts = collections.Counter()
    leafs = collections.defaultdict(collections.Counter)
    total = 0
    for block in text.split("\n\n"):
        lines = [l for l in block.strip().splitlines() if l.strip()]
        if not lines or "cpu-clock" not in lines[0] and "cycles" not in lines[0]:
            continue
        frames = []
        for l in lines[1:]:
            m = re.match(r"\s*[0-9a-f]+\s+(\S+?)(?:\+0x[0-9a-f]+)?\s+\((?:inlined|(.*))\)", l.strip())
            if m:
                frames.append((m.group(1), m.group(2) or ""))
        s = " ".join(x for x, _ in frames)
        total += 1
        comm = lines[0].split()[0]
        if not comm.startswith("varprop"):  # varprop, or a private copy (varprop.A)
            cat = "charts: child processes (%s)" % comm if comm in ("gnuplot", "[pango]") else "other process: " + comm
            counts[cat] += 1
            leafs[cat][frames[0][0] if frames else "?"] += 1
            continue
        for cat, pred in RULES:
            if pred(frames, s):
                break
        else:
            cat = "other"
        counts[cat] += 1
        leafs[cat][frames[0][0] if frames else "?"] += 1
    print("%-72s %7s %6s" % ("category", "samples", "share"))
    for cat, n in counts.most_common():
        top = ", ".join("%s %.0f%%" % (k, 100.0 * v / n) for k, v in leafs[cat].most_common(4))
        print("%-72s %7d %5.1f%%   [%s]" % (cat, n, 100.0 * n / total, top))
    print("%-72s %7d" % ("total", total))


if __name__ == "__main__":
    main()
