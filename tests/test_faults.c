/* Fault injection through the CLI (VARPROP_BIN): a full disk (the LD_PRELOAD shim
 * tests/inject/inject.c, compiled here with cc into the test's temp folder),
 * gnuplot dying mid-chart (VARPROP_GNUPLOT pointing at a script), and output
 * paths that cannot be written. varprop must exit 1 with a clear message, leave
 * no partial or temporary file, and never replace complete results. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char fdir[256];

static void faults_mk_tmp(void) { vt_mktmp(fdir, sizeof fdir, "/tmp/varprop-faults-"); }

static void faults_rm_tmp(void) { vt_rmtree(fdir); }

/* Compile the shim into fdir/inject.so; returns its path. */
static const char *build_shim(void)
{
    static char so[400];
    const char *root = vt_root();
    char cmd[1400];
    snprintf(so, sizeof so, "%s/inject.so", fdir);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o '%s' '%s/tests/inject/inject.c' -ldl -lpthread", so, root);
    cr_assert_eq(system(cmd), 0, "cannot build the fault-injection shim: %s", cmd);
    return so;
}

/* Environment words that preload the shim with a byte budget (and an optional path
 * filter). The ASan binary checks that its runtime comes first; the shim must
 * come before it to interpose fopen, so that check is turned off. */
static void shim_env(char *out, size_t len, const char *so, long budget, const char *match)
{
    const char *asan = getenv("ASAN_OPTIONS");
    snprintf(out, len, "env LD_PRELOAD='%s' VP_INJECT_ENOSPC_AFTER=%ld%s%s%s ASAN_OPTIONS='%s%sverify_asan_link_order=0'",
             so, budget, match ? " VP_INJECT_MATCH='" : "", match ? match : "", match ? "'" : "",
             asan ? asan : "", asan && *asan ? ":" : "");
}

static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        n += l >= sl && strcmp(de->d_name + l - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

/* 2 variants x 2 seeds = 4 runs of 3 layers. */
#define FAULT_CFG "{\"name\":\"faults\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":8},\"input\":{\"batch\":8}," \
                  "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"]}}"
#define FAULT_RUNS 4
#define FAULT_DEPTH 3

static const char *const RESULT_FILES[] = { "config.json", "layers.csv", "runs.csv" };
#define NRESULT 3

typedef struct {
    char *data[NRESULT];
    size_t len[NRESULT];
} snapshot;

static void take_snapshot(const char *dir, snapshot *s)
{
    for (int i = 0; i < NRESULT; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, RESULT_FILES[i]);
        s->data[i] = vt_slurp(p, &s->len[i]);
        cr_assert(s->data[i] && s->len[i] > 0, "%s missing", p);
    }
}

static void expect_snapshot(const char *dir, const snapshot *s, const char *when)
{
    for (int i = 0; i < NRESULT; i++) {
        char p[600];
        size_t n = 0;
        snprintf(p, sizeof p, "%s/%s", dir, RESULT_FILES[i]);
        char *now = vt_slurp(p, &n);
        cr_expect(now && n == s->len[i] && memcmp(now, s->data[i], n) == 0,
                  "%s: %s is no longer byte-identical to the complete results (%zu bytes, was %zu)", when,
                  RESULT_FILES[i], n, s->len[i]);
        free(now);
    }
}

static void free_snapshot(snapshot *s)
{
    for (int i = 0; i < NRESULT; i++) free(s->data[i]);
}

TestSuite(faults, .init = faults_mk_tmp, .fini = faults_rm_tmp, .timeout = 180);

/* The shim is transparent without a budget problem: same bytes as a plain run. */
Test(faults, the_shim_alone_changes_nothing)
{
    const char *so = build_shim();
    char env[1400], cfg[400], a[400], b[400], *err;
    vt_write_file(fdir, "f.json", FAULT_CFG);
    snprintf(cfg, sizeof cfg, "%s/f.json", fdir);
    snprintf(a, sizeof a, "%s/plain", fdir);
    snprintf(b, sizeof b, "%s/shim", fdir);
    cr_assert_eq(vt_run(fdir, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, a), 0, "%s", err);
    free(err);
    shim_env(env, sizeof env, so, 1L << 40, NULL);
    cr_assert_eq(vt_run_env(fdir, env, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, b), 0, "%s", err);
    free(err);
    snapshot s;
    take_snapshot(a, &s);
    char pa[500], pb[500];
    snprintf(pa, sizeof pa, "%s/layers.csv", a);
    snprintf(pb, sizeof pb, "%s/layers.csv", b);
    char *x = vt_slurp(pa, NULL), *y = vt_slurp(pb, NULL);
    cr_assert(x && y && strcmp(x, y) == 0, "layers.csv differs under the shim");
    free(x); free(y);
    free_snapshot(&s);
}

/* Disk full while writing a fresh results folder: exit 1, "No space left", no
 * temporary file left, and any CSV that does exist holds whole runs only. */
Test(faults, full_disk_in_a_fresh_folder_is_a_clear_runtime_error)
{
    const char *so = build_shim();
    char env[1400], cfg[400], out[400], *err;
    vt_write_file(fdir, "f.json", FAULT_CFG);
    snprintf(cfg, sizeof cfg, "%s/f.json", fdir);
    static const long budgets[] = { 0, 100, 700, 1500, 2500, 4000 };
    for (size_t i = 0; i < sizeof budgets / sizeof *budgets; i++) {
        snprintf(out, sizeof out, "%s/fresh-%zu", fdir, i);
        shim_env(env, sizeof env, so, budgets[i], NULL);
        int code = vt_run_env(fdir, env, NULL, &err, "run %s -o %s --no-plot --quiet --threads 2", cfg, out);
        cr_expect_eq(code, 1, "budget %ld: exit %d: %s", budgets[i], code, err);
        cr_expect(strstr(err, "No space left on device"), "budget %ld: %s", budgets[i], err);
        cr_expect(strncmp(err, "varprop: ", 9) == 0, "budget %ld: %s", budgets[i], err);
        cr_expect_eq(vt_count_tmp(out), 0, "budget %ld: temporary files left in %s", budgets[i], out);
        char p[600];
        snprintf(p, sizeof p, "%s/layers.csv", out);
        int rows = vt_count_lines(p);
        if (rows >= 0)
            cr_expect(rows >= 1 && (rows - 1) % FAULT_DEPTH == 0, "budget %ld: layers.csv holds a partial run (%d lines)",
                      budgets[i], rows);
        free(err);
    }
}

/* Disk full while re-running into a folder that holds complete results: whatever
 * the point of failure, the complete files stay byte-identical. */
Test(faults, full_disk_never_replaces_complete_results)
{
    const char *so = build_shim();
    char env[1400], cfg[400], out[400], *err;
    vt_write_file(fdir, "f.json", FAULT_CFG);
    snprintf(cfg, sizeof cfg, "%s/f.json", fdir);
    snprintf(out, sizeof out, "%s/done", fdir);
    cr_assert_eq(vt_run(fdir, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, out), 0, "%s", err);
    free(err);
    snapshot s;
    take_snapshot(out, &s);
    static const long budgets[] = { 0, 300, 900, 1800, 3000, 4500 };
    for (size_t i = 0; i < sizeof budgets / sizeof *budgets; i++) {
        char when[64];
        snprintf(when, sizeof when, "budget %ld", budgets[i]);
        shim_env(env, sizeof env, so, budgets[i], NULL);
        int code = vt_run_env(fdir, env, NULL, &err, "run %s -o %s --no-plot --quiet --threads 2", cfg, out);
        cr_expect_eq(code, 1, "%s: exit %d: %s", when, code, err);
        cr_expect(strstr(err, "No space left on device"), "%s: %s", when, err);
        expect_snapshot(out, &s, when);
        cr_expect_eq(vt_count_tmp(out), 0, "%s: temporary files left", when);
        free(err);
    }
    free_snapshot(&s);
}

/* Only the per-run fragments (<out>/.parts/) fail: every run fails, yet the final
 * CSVs could still be written. A failed sweep must not replace the complete
 * results already in the folder with tables of the runs that finished (none). */
Test(faults, failed_runs_never_replace_complete_results)
{
    const char *so = build_shim();
    char env[1400], cfg[400], out[400], *err;
    vt_write_file(fdir, "f.json", FAULT_CFG);
    snprintf(cfg, sizeof cfg, "%s/f.json", fdir);
    snprintf(out, sizeof out, "%s/done", fdir);
    cr_assert_eq(vt_run(fdir, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, out), 0, "%s", err);
    free(err);
    snapshot s;
    take_snapshot(out, &s);
    shim_env(env, sizeof env, so, 0, "/.parts/");
    int code = vt_run_env(fdir, env, NULL, &err, "run %s -o %s --no-plot --quiet --threads 2", cfg, out);
    cr_expect_eq(code, 1, "exit %d: %s", code, err);
    cr_expect(strstr(err, "No space left on device"), "%s", err);
    expect_snapshot(out, &s, "fragments unwritable");
    free(err);
    free_snapshot(&s);
}

/* A fake gnuplot that follows `cd` and `set output`, starts writing the PNG, then
 * dies after a few commands: with exit 1 (FAKE_MODE=exit) or SIGKILL (kill). */
static const char FAKE_GNUPLOT[] =
    "#!/bin/sh\n"
    "n=0\n"
    "while IFS= read -r line; do\n"
    "  case \"$line\" in\n"
    "    \"cd '\"*) d=${line#cd \\'}; d=${d%\\'}; cd \"$d\" || exit 3 ;;\n"
    "    \"set output '\"*) f=${line#set output \\'}; f=${f%\\'}; printf '\\211PNG\\r\\n\\032\\n' > \"$f\" ;;\n"
    "  esac\n"
    "  n=$((n+1))\n"
    "  if [ $n -ge 12 ]; then\n"
    "    echo 'fake gnuplot: dying mid-chart' >&2\n"
    "    [ \"$FAKE_MODE\" = kill ] && kill -9 $$\n"
    "    exit 1\n"
    "  fi\n"
    "done\n"
    "exit 1\n";

Test(faults, gnuplot_dying_mid_chart_keeps_the_csv_and_leaves_no_partial_png)
{
    char cfg[400], ref[400], out[400], plots[400], env[800], script[400], *err;
    vt_write_file(fdir, "f.json", FAULT_CFG);
    vt_write_file(fdir, "gnuplot.sh", FAKE_GNUPLOT);
    snprintf(script, sizeof script, "%s/gnuplot.sh", fdir);
    cr_assert_eq(chmod(script, (mode_t)0755), 0);
    snprintf(cfg, sizeof cfg, "%s/f.json", fdir);
    snprintf(ref, sizeof ref, "%s/ref", fdir);
    cr_assert_eq(vt_run(fdir, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, ref), 0, "%s", err);
    free(err);
    char pr[500];
    snprintf(pr, sizeof pr, "%s/layers.csv", ref);
    char *want = vt_slurp(pr, NULL);
    static const char *const modes[] = { "exit", "kill" };
    for (int m = 0; m < 2; m++) {
        snprintf(out, sizeof out, "%s/res-%s", fdir, modes[m]);
        snprintf(plots, sizeof plots, "%s/plots-%s", fdir, modes[m]);
        snprintf(env, sizeof env, "env FAKE_MODE=%s VARPROP_GNUPLOT='%s/gnuplot.sh'", modes[m], fdir);
        int code = vt_run_env(fdir, env, NULL, &err, "run %s -o %s --plots %s --quiet", cfg, out, plots);
        cr_expect_eq(code, 1, "%s: exit %d: %s", modes[m], code, err);
        cr_expect(strstr(err, "gnuplot"), "%s: %s", modes[m], err);
        cr_expect(strstr(err, m == 0 ? "dying mid-chart" : "killed by signal 9"), "%s: %s", modes[m], err);
        char p[600];
        snprintf(p, sizeof p, "%s/layers.csv", out);
        char *got = vt_slurp(p, NULL);
        cr_expect(got && strcmp(got, want) == 0, "%s: layers.csv is not the complete result", modes[m]);
        free(got);
        snprintf(p, sizeof p, "%s/runs.csv", out);
        cr_expect_eq(vt_count_lines(p), FAULT_RUNS + 1, "%s: runs.csv", modes[m]);
        cr_expect_eq(count_suffix(plots, ".png"), 0, "%s: a PNG was left in %s", modes[m], plots);
        cr_expect_eq(count_suffix(plots, ".svg"), 0, "%s: an SVG was left in %s", modes[m], plots);
        cr_expect_eq(vt_count_tmp(plots), 0, "%s: temporary files left in %s", modes[m], plots);
        cr_expect_eq(vt_count_tmp(out), 0, "%s: temporary files left in %s", modes[m], out);
        free(err);
    }
    free(want);
}

/* Output folders that cannot exist: exit 1 naming the path, nothing half-written. */
Test(faults, unwritable_output_is_a_runtime_error)
{
    char cfg[400], file[400], out[500], *err;
    vt_write_file(fdir, "f.json", FAULT_CFG);
    vt_write_file(fdir, "plain-file", "not a folder\n");
    snprintf(cfg, sizeof cfg, "%s/f.json", fdir);
    snprintf(file, sizeof file, "%s/plain-file", fdir);

    cr_expect_eq(vt_run(fdir, NULL, &err, "run %s -o /dev/null/x --no-plot --quiet", cfg), 1, "%s", err);
    cr_expect(strstr(err, "/dev/null"), "%s", err);
    free(err);

    snprintf(out, sizeof out, "%s/sub/dir", file);
    cr_expect_eq(vt_run(fdir, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, out), 1, "%s", err);
    cr_expect(strstr(err, file), "the message names the path: %s", err);
    free(err);

    cr_expect_eq(vt_run(fdir, NULL, &err, "run %s -o %s --no-plot --quiet", cfg, file), 1, "%s", err);
    cr_expect(strstr(err, "not a folder"), "%s", err);
    free(err);
    char *content = vt_slurp(file, NULL);
    cr_expect_str_eq(content, "not a folder\n", "the regular file was modified");
    free(content);

    /* a charts folder that cannot exist is refused before the runs (exit 1, naming it):
     * no results written, no work lost */
    char res[400], p[500];
    snprintf(res, sizeof res, "%s/res", fdir);
    snprintf(out, sizeof out, "%s/plots", file);
    cr_expect_eq(vt_run(fdir, NULL, &err, "run %s -o %s --plots %s --quiet", cfg, res, out), 1, "%s", err);
    cr_expect(strstr(err, file), "%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/layers.csv", res);
    cr_expect_not(vt_exists(res), "a run refused for its charts folder wrote %s", p);
}
