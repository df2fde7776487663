/* Memory: a long sweep keeps a flat profile. The peak RSS of `varprop run` over
 * 400 tiny runs must not exceed that of 40 runs by more than MARGIN_KB.
 *
 * Why 4 MiB: what legitimately grows with the number of runs is the per-run
 * bookkeeping (the sums array, the todo list, seeds: ~150 bytes a run, ~60 KiB for
 * 400 runs) and allocator noise (measured: +0.2 MiB plain, +0.7 MiB under ASan).
 * Each run allocates ~0.5 MiB of buffers (8 layers x 64 x 64 floats, several
 * tensors each) and opens 3 fragment files, so leaking any buffer, or even 12 KiB a
 * run (4 MiB / 360 extra runs), crosses the margin. A positive control proves the
 * measurement sees such a leak: the same sweep with the fault-injection shim leaking
 * 64 KiB per file opened for writing must exceed the margin.
 *
 * Peak RSS comes from wait4()'s rusage of the child (ru_maxrss, KiB). Under ASan
 * the quarantine (256 MiB of freed memory kept on purpose) would grow with the
 * number of allocations, so it is switched off for the measured child. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MARGIN_KB 4096L
#define SMALL_RUNS 40
#define LONG_RUNS 400

static char mdir[256];

static void memory_mk_tmp(void)
{
    /* tmpfs when there is one: 1600 fsync'ed fragments cost seconds on a disk */
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                           ? "/dev/shm" : "/tmp";
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/varprop-memory-", base);
    vt_mktmp(mdir, sizeof mdir, prefix);
}

static void memory_rm_tmp(void) { vt_rmtree(mdir); }

static void write_sweep(const char *path, int runs)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "{\"name\": \"flat\", \"seeds\": %d, \"network\": {\"depth\": 8, \"width\": 64}, "
               "\"input\": {\"batch\": 64}, \"measure\": {\"histograms\": {\"layers\": [1, 8], \"bins\": 20}}}\n", runs);
    cr_assert_eq(fclose(f), 0);
}

/* Peak RSS (KiB) of `varprop run` over `runs` runs; preload/leak for the control. */
static long peak_kb(int runs, const char *preload, long leak)
{
    const char *bin = vt_bin();
    char cfg[400], out[400], asan[600];
    snprintf(cfg, sizeof cfg, "%s/sweep-%d.json", mdir, runs);
    snprintf(out, sizeof out, "%s/out-%d-%ld", mdir, runs, leak);
    write_sweep(cfg, runs);
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s%squarantine_size_mb=0%s", old ? old : "", old && *old ? ":" : "",
             preload ? ":verify_asan_link_order=0:detect_leaks=0" : "");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
        setenv("ASAN_OPTIONS", asan, 1);
        if (preload) {
            char l[32];
            snprintf(l, sizeof l, "%ld", leak);
            setenv("LD_PRELOAD", preload, 1);
            setenv("VP_INJECT_LEAK", l, 1);
        }
        execl(bin, "varprop", "run", cfg, "-o", out, "--no-plot", "--quiet", "--threads", "2", (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "varprop run over %d runs failed (status %d)", runs, st);
    char p[500];
    snprintf(p, sizeof p, "%s/runs.csv", out);
    int lines = vt_count_lines(p);
    cr_assert(lines >= 0, "%s missing", p);
    cr_assert_eq(lines, runs + 1, "runs.csv of %d runs has %d lines", runs, lines);
    return ru.ru_maxrss;
}

TestSuite(memory, .init = memory_mk_tmp, .fini = memory_rm_tmp, .timeout = 240);

Test(memory, a_long_sweep_keeps_a_flat_memory_profile)
{
    long small = peak_kb(SMALL_RUNS, NULL, 0);
    long big = peak_kb(LONG_RUNS, NULL, 0);
    cr_expect(big - small <= MARGIN_KB, "peak RSS grows with the sweep: %ld KiB for %d runs, %ld KiB for %d runs",
              small, SMALL_RUNS, big, LONG_RUNS);

    /* positive control: a 64 KiB leak per output file must show */
    const char *root = vt_root();
    char so[400], cmd[1200];
    snprintf(so, sizeof so, "%s/inject.so", mdir);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o '%s' '%s/tests/inject/inject.c' -ldl -lpthread", so, root);
    cr_assert_eq(system(cmd), 0, "cannot build the shim: %s", cmd);
    long leaky = peak_kb(LONG_RUNS, so, 65536);
    cr_expect(leaky - small > MARGIN_KB, "the measurement misses a 64 KiB-per-file leak: %ld KiB vs %ld KiB",
              leaky, small);
}
