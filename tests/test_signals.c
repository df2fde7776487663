/* Signals and child processes (issue 11): the chart phase stops on a signal, each
 * gnuplot has a time limit, no gnuplot outlives varprop and no temporary is left;
 * SIGHUP is SIGTERM; SIGPIPE never kills a run silently. VARPROP_GNUPLOT points at
 * shell scripts that stand in for a gnuplot that hangs. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char sdir[256];

static void mk_tmp(void) { vt_mktmp(sdir, sizeof sdir, "/tmp/varprop-signals-"); }

static void rm_tmp(void) { vt_rmtree(sdir); }

TestSuite(signals, .init = mk_tmp, .fini = rm_tmp);

#define QUICK_CFG "{\"name\":\"quick\",\"seeds\":2,\"network\":{\"depth\":3,\"width\":8},\"input\":{\"batch\":8}}"
#define QUICK_RUNS 2
#define QUICK_DEPTH 3

/* A "gnuplot" that records its pid in sdir/gnuplot.pids and never exits (it does not
 * even read its input). Its path goes to out. */
static void hanging_gnuplot(char *out, size_t len)
{
    char text[800];
    snprintf(text, sizeof text, "#!/bin/sh\necho $$ >> '%s/gnuplot.pids'\nexec sleep 1000\n", sdir);
    vt_write_file(sdir, "hang.sh", text);
    snprintf(out, len, "%s/hang.sh", sdir);
    cr_assert_eq(chmod(out, 0755), 0);
}

/* Every gnuplot the fake recorded is gone (allowing a moment for a reaped zombie). */
static void assert_no_gnuplot_left(void)
{
    char p[400];
    snprintf(p, sizeof p, "%s/gnuplot.pids", sdir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "the fake gnuplot never ran");
    long pid;
    int n = 0;
    while (fscanf(f, "%ld", &pid) == 1) {
        n++;
        int alive = 1;
        for (int i = 0; i < 200 && alive; i++) {
            alive = kill((pid_t)pid, 0) == 0;
            if (alive) usleep(10000);
        }
        if (alive) kill((pid_t)pid, SIGKILL); /* do not leave it to the next test */
        cr_assert_not(alive, "gnuplot %ld outlived varprop", pid);
    }
    fclose(f);
    cr_assert(n > 0);
}

/* A results folder of QUICK_CFG (no charts) in sdir/res. */
static void make_results(char *cfg, size_t clen, char *res, size_t rlen)
{
    char *o, *e;
    vt_write_file(sdir, "quick.json", QUICK_CFG);
    snprintf(cfg, clen, "%s/quick.json", sdir);
    snprintf(res, rlen, "%s/res", sdir);
    cr_assert_eq(vt_run(sdir, &o, &e, "run %s -o %s --quiet --no-plot", cfg, res), 0, "%s", e);
    free(o); free(e);
}

/* ---- the chart phase ---- */

/* Before: a gnuplot that never exits hung varprop forever. */
Test(signals, each_gnuplot_has_a_time_limit, .timeout = 120)
{
    char cfg[300], res[300], plots[300], gp[400], env[600], *o, *e;
    make_results(cfg, sizeof cfg, res, sizeof res);
    hanging_gnuplot(gp, sizeof gp);
    snprintf(plots, sizeof plots, "%s/plots", sdir);
    snprintf(env, sizeof env, "timeout -s KILL 60 env VARPROP_GNUPLOT='%s' VARPROP_GNUPLOT_TIMEOUT=1", gp);
    time_t t0 = time(NULL);
    int rc = vt_run_env(sdir, env, &o, &e, "plot %s -o %s", res, plots);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, e);
    cr_assert(time(NULL) - t0 < 30, "the limit of 1 s was not kept");
    cr_assert(strstr(e, "within 1 s") && strstr(e, "VARPROP_GNUPLOT_TIMEOUT"), "a clear message: %s", e);
    free(o); free(e);
    cr_assert_eq(vt_count_tmp(plots), 0, "temporaries left");
    assert_no_gnuplot_left();

    snprintf(env, sizeof env, "env VARPROP_GNUPLOT='%s' VARPROP_GNUPLOT_TIMEOUT=soon", gp);
    cr_assert_eq(vt_run_env(sdir, env, &o, &e, "plot %s -o %s", res, plots), 2, "%s", e);
    cr_assert(strstr(e, "VARPROP_GNUPLOT_TIMEOUT='soon' is not a number of seconds"), "%s", e);
    free(o); free(e);
    /* `run` refuses it before the runs (it ran the whole sweep, wrote the CSVs, then failed) */
    char tcfg[400], out2[400];
    vt_write_file(sdir, "t.json", "{\"name\":\"t\",\"seeds\":1,\"network\":{\"depth\":2,\"width\":4},"
                                  "\"input\":{\"batch\":4}}");
    snprintf(tcfg, sizeof tcfg, "%s/t.json", sdir);
    snprintf(out2, sizeof out2, "%s/t-out", sdir);
    cr_assert_eq(vt_run_env(sdir, "env VARPROP_GNUPLOT_TIMEOUT=soon", &o, &e, "run %s -o %s --threads 1", tcfg, out2), 2,
                 "%s", e);
    cr_assert(strstr(e, "VARPROP_GNUPLOT_TIMEOUT='soon' is not a number of seconds"), "%s", e);
    cr_assert(!strstr(o, " run,") && !vt_exists(out2), "before the runs, nothing written: %s", o);
    free(o); free(e);
}

/* Before: SIGINT while `varprop plot` waited for gnuplot did nothing (it waited on). */
Test(signals, sigint_while_plotting_exits_130_and_kills_gnuplot, .timeout = 120)
{
    char cfg[300], res[300], plots[300], gp[400], genv[500], pids[400];
    make_results(cfg, sizeof cfg, res, sizeof res);
    hanging_gnuplot(gp, sizeof gp);
    snprintf(plots, sizeof plots, "%s/plots", sdir);
    snprintf(genv, sizeof genv, "VARPROP_GNUPLOT=%s", gp);
    snprintf(pids, sizeof pids, "%s/gnuplot.pids", sdir);
    char *argv[] = { (char *)"varprop", (char *)"plot", res, (char *)"-o", plots, NULL };
    const char *env[] = { genv, "VARPROP_GNUPLOT_TIMEOUT=0", NULL };
    pid_t pid = vt_spawn(argv, env, sdir);
    vt_await_file(pids);
    usleep(100000);
    kill(pid, SIGINT);
    cr_assert_eq(vt_wait_exit(pid, 20), 130);
    cr_assert_eq(vt_count_tmp(plots), 0, "temporaries left");
    assert_no_gnuplot_left();
}

/* Before: the first signal during the charts of `varprop run` was ignored, the second
 * _exit'ed at once: temporaries left in the plots folder, gnuplot orphaned. */
Test(signals, two_signals_during_the_charts_of_a_run_leave_nothing_behind, .timeout = 120)
{
    char cfg[300], res[300], plots[300], gp[400], genv[500], pids[400], p[400];
    vt_write_file(sdir, "quick.json", QUICK_CFG);
    snprintf(cfg, sizeof cfg, "%s/quick.json", sdir);
    snprintf(res, sizeof res, "%s/res", sdir);
    snprintf(plots, sizeof plots, "%s/plots", sdir);
    hanging_gnuplot(gp, sizeof gp);
    snprintf(genv, sizeof genv, "VARPROP_GNUPLOT=%s", gp);
    snprintf(pids, sizeof pids, "%s/gnuplot.pids", sdir);
    char *argv[] = { (char *)"varprop", (char *)"run", cfg, (char *)"-o", res, (char *)"--plots", plots,
                     (char *)"--quiet", NULL };
    const char *env[] = { genv, "VARPROP_GNUPLOT_TIMEOUT=0", NULL };
    pid_t pid = vt_spawn(argv, env, sdir);
    vt_await_file(pids);
    usleep(100000);
    kill(pid, SIGINT);
    kill(pid, SIGINT);
    cr_assert_eq(vt_wait_exit(pid, 20), 130);
    cr_assert_eq(vt_count_tmp(plots), 0, "temporaries left in the plots folder");
    cr_assert_eq(vt_count_tmp(res), 0, "temporaries left in the results folder");
    assert_no_gnuplot_left();
    snprintf(p, sizeof p, "%s/layers.csv", res);
    cr_assert_eq(vt_count_lines(p), QUICK_RUNS * QUICK_DEPTH + 1, "the results are complete");
    snprintf(p, sizeof p, "%s/.err", sdir);
    char *e = vt_slurp_text(p);
    cr_assert(strstr(e, "varprop plot"), "says how to draw the charts: %s", e);
    free(e);
}

/* ---- SIGPIPE and SIGHUP ---- */

/* Before: stdout into a reader that has gone (`varprop run ... | head`) killed varprop
 * with SIGPIPE (exit 141), silently, at its first flush of stdout. Now the run, its
 * results and its charts complete, and the write error is reported (exit 1). */
Test(signals, a_closed_stdout_is_reported_and_the_run_completes, .timeout = 120)
{
    char cfg[300], res[300], plots[300], p[400];
    vt_write_file(sdir, "quick.json", QUICK_CFG);
    snprintf(cfg, sizeof cfg, "%s/quick.json", sdir);
    snprintf(res, sizeof res, "%s/res", sdir);
    snprintf(plots, sizeof plots, "%s/plots", sdir);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    close(fds[0]); /* the reader is gone before varprop writes anything */
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        snprintf(p, sizeof p, "%s/.err", sdir);
        int e = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fds[1], 1);
        dup2(e, 2);
        signal(SIGPIPE, SIG_DFL);
        execl(vt_bin(), "varprop", "run", cfg, "-o", res, "--plots", plots, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    cr_assert_eq(vt_wait_exit(pid, 100), 1, "a write error on stdout is exit 1, not death by SIGPIPE");
    snprintf(p, sizeof p, "%s/.err", sdir);
    char *e = vt_slurp_text(p);
    cr_assert(strstr(e, "cannot write to standard output"), "%s", e);
    free(e);
    snprintf(p, sizeof p, "%s/layers.csv", res);
    cr_assert_eq(vt_count_lines(p), QUICK_RUNS * QUICK_DEPTH + 1);
    snprintf(p, sizeof p, "%s/report.md", plots);
    cr_assert(vt_exists(p), "the charts were drawn");
}

/* 40 runs of 20 layers: a few seconds. */
#define LONG_CFG "{\"name\":\"long\",\"seeds\":8,\"network\":{\"depth\":20,\"width\":160},\"input\":{\"batch\":160}," \
                 "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"gelu\",\"selu\",\"silu\"]}}"
#define LONG_DEPTH 20

/* Before: SIGHUP (a dropped ssh session) killed the run and left only .parts/. Now it
 * is SIGTERM: the finished runs are published and the run exits 130. */
Test(signals, sighup_stops_like_sigterm, .timeout = 120)
{
    char cfg[300], res[300], p[400];
    vt_write_file(sdir, "long.json", LONG_CFG);
    snprintf(cfg, sizeof cfg, "%s/long.json", sdir);
    snprintf(res, sizeof res, "%s/res", sdir);
    pid_t pid = vt_spawn_run_until(cfg, res, 2, sdir);
    kill(pid, SIGHUP);
    cr_assert_eq(vt_wait_exit(pid, 60), 130);
    snprintf(p, sizeof p, "%s/layers.csv", res);
    int rows = vt_count_lines(p) - 1;
    cr_assert(rows >= 3 * LONG_DEPTH && rows % LONG_DEPTH == 0, "the finished runs are published (%d rows)", rows);
    snprintf(p, sizeof p, "%s/.err", sdir);
    char *e = vt_slurp_text(p);
    cr_assert(strstr(e, "resume with"), "%s", e);
    cr_assert(strstr(e, " --no-plot --resume -o "), "the hint keeps the run's --no-plot: %s", e);
    free(e);
}

/* Before: the resume hint dropped --plots and --max-runs, so the command it gave drew the
 * charts into plots/<name> (another results folder's) or refused the sweep. */
Test(signals, the_resume_hint_keeps_plots_and_max_runs, .timeout = 120)
{
    char cfg[300], res[300], plots[300], sum[400], p[400], want[1200];
    vt_write_file(sdir, "long.json", LONG_CFG);
    snprintf(cfg, sizeof cfg, "%s/long.json", sdir);
    snprintf(res, sizeof res, "%s/res", sdir);
    snprintf(plots, sizeof plots, "%s/elsewhere", sdir);
    snprintf(sum, sizeof sum, "%s/.parts/run-%07d.sum", res, 2);
    char *argv[] = { (char *)"varprop", (char *)"run", cfg, (char *)"-o", res, (char *)"--plots", plots,
                     (char *)"--max-runs", (char *)"500", (char *)"--threads", (char *)"1", NULL };
    pid_t pid = vt_spawn(argv, NULL, sdir);
    vt_await_file(sum);
    kill(pid, SIGINT);
    cr_assert_eq(vt_wait_exit(pid, 60), 130);
    snprintf(p, sizeof p, "%s/.err", sdir);
    char *e = vt_slurp_text(p);
    snprintf(want, sizeof want, "resume with: varprop run %s --max-runs 500 --plots %s --resume -o %s", cfg, plots, res);
    cr_assert(strstr(e, want), "wanted \"%s\" in: %s", want, e);
    free(e);
}
