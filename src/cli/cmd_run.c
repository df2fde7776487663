/* cmd_run: `varprop run CONFIG.json [-o DIR] [--threads N] [--quiet] [--resume]
 * [--max-runs N] [--shard K/N]` -- parse the config, run every variant x seed (or the
 * slice K of N: experiment/shard.h), write the results folder, print the summary, draw
 * the charts. Signals: cli_signal.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results/results.h"
#include "present/charts.h"
#include "cli/cli.h"
#include "cli/cli_signal.h"
#include "cli/cli_util.h"
#include "experiment/config.h"
#include "experiment/fragments.h"
#include "present/plot.h"
#include "experiment/runner.h"
#include "experiment/shard.h"
#include "experiment/mpi_run.h"
#include "base/fsutil.h"

/* Charts after the measurements: gnuplot missing is a warning (the CSV results
 * stand), gnuplot failing is an error (exit 1). The plots folder is claimed like the
 * results folder (held by `results_lock` already when it is the same folder). */
static const vp_claim PLOTS_CLAIM = { VP_FILE_MARKER, VP_FOLDER_STAMP, 1, 0, vp_charts_legacy_folder };

vp_status vp_cli_draw_charts(const char *results, const char *plots, int quiet, const vp_folder_lock *results_lock,
                             volatile sig_atomic_t *stop, vp_err *err)
{
    char pdir[4096], shown[4100];
    if (!vp_charts_can_draw()) {
        fprintf(stderr, "varprop: warning: charts not drawn: cannot run '%s'; %s\n", vp_plot_program(),
                vp_plot_missing_hint());
        return VP_OK;
    }
    vp_status s = VP_OK;
    vp_folder_lock lock = VP_FOLDER_LOCK_INIT;
    if (plots) snprintf(pdir, sizeof pdir, "%s", plots);
    else s = vp_charts_default_dir(results, pdir, sizeof pdir, err);
    if (!s && !vp_folder_same(results_lock, pdir)) s = vp_folder_claim(pdir, &PLOTS_CLAIM, &lock, err);
    if (!s) s = vp_charts_draw_stop(results, pdir, stop, err);
    vp_folder_release(&lock);
    char qr[8192], qp[8192];
    if (s == VP_ERR_INTERRUPTED) /* the same folder again: -o when the run had --plots */
        fprintf(stderr, "varprop: charts: %s; the results in %s are complete: draw the charts with: varprop plot %s%s%s\n",
                err->msg, results, vp_shell_word(results, qr, sizeof qr), plots ? " -o " : "",
                plots ? vp_shell_word(plots, qp, sizeof qp) : "");
    else if (s)
        fprintf(stderr, "varprop: charts: %s\n", err->msg);
    else if (!quiet)
        printf("varprop: charts and report in %s (" VP_FILE_REPORT ")\n", vp_cli_folder(pdir, shown, sizeof shown));
    return s;
}

vp_status vp_cli_check_plots(const char *plots, const char *name, vp_err *err)
{
    char pdir[4096];
    vp_status s = VP_OK;
    if (!vp_charts_can_draw()) return VP_OK; /* nothing will be drawn: a warning after the results */
    double limit;
    if ((s = vp_plot_timeout(&limit, err))) return s; /* a bad limit, before the runs (it was found after them) */
    if (plots) snprintf(pdir, sizeof pdir, "%s", plots);
    else s = vp_charts_dir_for_name(name, pdir, sizeof pdir, err);
    if (!s) s = vp_folder_check(pdir, &PLOTS_CLAIM, err);
    if (s) vp_err_prefix(err, "charts folder (--plots)");
    return s;
}

/* The name of the file in results folder `dir` that is the config file itself (the
 * same file, through any path or link), or NULL: a run never writes over its input. */
static const char *replaced_input(const char *config, const char *dir)
{
    struct stat c, f;
    if (stat(config, &c) != 0) return NULL;
    for (const char *const *n = vp_results_files(); *n; n++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, *n);
        if (stat(p, &f) == 0 && f.st_dev == c.st_dev && f.st_ino == c.st_ino) return *n;
    }
    return NULL;
}

static const char USAGE[] =
    "usage: varprop run CONFIG.json [-o DIR] [--plots DIR] [--no-plot] [--threads N] [--quiet]\n"
    "                   [--resume] [--max-runs N] [--no-share] [--shard K/N]\n"
    "\n"
    "Runs every variant x seed of the experiment config and writes " VP_FILE_LAYERS ", " VP_FILE_RUNS "\n"
    "and " VP_FILE_CONFIG " (plus " VP_FILE_HIST " / " VP_FILE_JACOBIAN " when asked for) into DIR (default\n"
    "results/<name>/), then draws the charts and " VP_FILE_REPORT " with gnuplot (default plots/<name>/).\n"
    "\n"
    "  -o DIR         results folder: new, empty or made by varprop (locked while in use)\n"
    "  --plots DIR    charts folder\n"
    "  --no-plot      write the CSV results only\n"
    "  --threads N    worker threads (default: the machine's cores); results do not depend on it\n"
    "  --quiet        no summary table, no progress bar\n"
    "  --resume       continue an interrupted sweep in DIR, skipping runs already complete\n"
    "  --max-runs N   allow sweeps of more than 10000 runs (0: up to the hard limits,\n"
    "                 2^31-1 runs and 1,000,001 variants)\n"
    "  --no-share     draw every run's weights itself, even where runs that differ only in\n"
    "                 the activation could share one draw (same results; for timing)\n"
    "  --shard K/N    run only slice K of N of the sweep (1 <= K <= N) into a shard folder\n"
    "                 (default results/<name>-shard-K-of-N/); join the N shards with\n"
    "                 varprop merge (docs/cluster.md)\n"
    "  -h, --help     this help\n";

int vp_cmd_run(int argc, char **argv)
{
    const char *config = NULL, *out = NULL, *plots = NULL, *shard_arg = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN), max_runs = VP_DEFAULT_MAX_RUNS;
    int quiet = 0, resume = 0, no_plot = 0, no_share = 0;
    const vp_cli_opt opts[] = {
        { .name = "-o", .str = &out },
        { .name = "--plots", .str = &plots },
        { .name = "--no-plot", .flag = &no_plot },
        { .name = "--threads", .num_l = &threads, .lo = 1, .hi = 256 },
        { .name = "--quiet", .flag = &quiet },
        { .name = "--resume", .flag = &resume },
        { .name = "--max-runs", .num_l = &max_runs, .lo = 0, .hi = 1L << 40 },
        { .name = "--no-share", .flag = &no_share },
        { .name = "--shard", .str = &shard_arg },
        { .name = NULL },
    };
    const vp_cli_cmd cmd = { .cmd = "run", .usage = USAGE, .opts = opts, .arg = &config,
                             .one_arg = "one CONFIG.json only" };
    int rc = vp_cli_parse(&cmd, argc, argv);
    if (rc >= 0) return rc;
    if (!config) return vp_cli_usage_error("run", "missing CONFIG.json");
    if (threads < 1) threads = 1;
    vp_err err;
    int shard_k = 0, shard_n = 0;
    if (shard_arg && vp_shard_parse(shard_arg, &shard_k, &shard_n, &err))
        return vp_cli_usage_error("run", "%s", err.msg);

    /* Under mpirun every rank runs this; rank 0 reads the config and the others get its
     * text (their machines may not have the file), then each parses it. */
    vp_mpi *mpi = NULL;
    if (vp_mpi_env_size() > 1) {
        const char *rk = getenv("OMPI_COMM_WORLD_RANK") ? getenv("OMPI_COMM_WORLD_RANK") : getenv("PMI_RANK");
        vp_status ms = vp_mpi_start(&mpi, &err);
        if (ms) {
            if (!rk || strcmp(rk, "0") == 0) fprintf(stderr, "varprop: %s\n", err.msg);
            vp_mpi_end(mpi, ms, &err);
            return vp_exit_code(ms);
        }
    }
    int rank = vp_mpi_rank(mpi);
    if (rank > 0) quiet = no_plot = 1;
    vp_experiment *e = NULL;
    vp_config_opts copts = { max_runs };
    vp_shard shard = { 0 }, *sh = NULL;
    char *source = NULL;
    long source_len = -1;
    vp_status s = VP_OK;
    if (rank == 0) {
        s = vp_config_load(config, &copts, &e, &err);
        size_t n = 0; /* the config's own text: for the shard marker (merge) and the other ranks */
        if (!s && (shard_arg || mpi) && !(s = vp_read_file(config, (size_t)64 << 20, &source, &n, &err)))
            source_len = (long)n;
    }
    if (mpi) {
        vp_err merr;
        vp_status ms = vp_mpi_share_text(mpi, &source, &source_len, &merr);
        if (rank > 0 && !ms && source_len < 0) ms = vp_fail(&merr, VP_ERR_CONFIG, "rank 0 could not read the config");
        if (rank > 0 && !ms) ms = vp_config_parse(source, (size_t)source_len, config, &copts, &e, &merr);
        if (!s && ms) { s = ms; err = merr; }
    }
    if (!s && shard_arg) s = vp_shard_plan(e, shard_k, shard_n, source, (size_t)source_len, &shard, &err);
    if (!s && shard_arg) sh = &shard;
    char dir[4096] = "";
    if (!s && out) snprintf(dir, sizeof dir, "%s", out);
    else if (!s && sh) snprintf(dir, sizeof dir, "results/%s-shard-%d-of-%d", e->name, sh->k, sh->n);
    else if (!s) snprintf(dir, sizeof dir, "results/%s", e->name);
    const char *own = !s && rank == 0 ? replaced_input(config, dir) : NULL;
    if (own)
        s = vp_fail(&err, VP_ERR_USAGE, "%s is %s/%s, a file this run writes: copy the config elsewhere or choose "
                    "another -o", config, dir, own);
    if (!s && rank == 0 && !no_plot && !sh) s = vp_cli_check_plots(plots, e->name, &err);
    if (!s && rank == 0 && sh && !resume) { /* a shard keeps fragments, not tables: tables beside them would mix */
        char prev[4200];
        struct stat st;
        snprintf(prev, sizeof prev, "%s/" VP_FILE_CONFIG, dir);
        if (stat(prev, &st) == 0)
            s = vp_fail(&err, VP_ERR_USAGE, "%s holds the results of a whole run (its " VP_FILE_CONFIG " and tables); "
                        "a shard folder must be new, empty or a shard of this config: choose another -o", dir);
    }
    if (!s && rank == 0) { /* the data and the memory, before the banner */
        vp_runner_opts probe = { .out_dir = dir, .threads = (int)threads, .resume = resume, .shard = sh, .mpi = mpi };
        s = vp_runner_check(e, &probe, &err);
        if ((s == VP_ERR_CONFIG || s == VP_ERR_DATA) && strncmp(err.msg, "--resume", 8) != 0)
            vp_err_prefix(&err, "%s", config); /* about this file: "cfg.json: input.path: ..." */
    }
    if (s) {
        if (rank == 0) fprintf(stderr, "varprop: %s\n", err.msg);
        vp_mpi_end(mpi, s, &err);
        vp_shard_free(sh);
        free(source);
        vp_experiment_free(e);
        return rank == 0 ? vp_exit_code(s) : 0;
    }

    if (rank == 0 && e->record_version[0] && strcmp(e->record_version, VP_VERSION) != 0)
        fprintf(stderr, "varprop: note: %s was written by varprop %s and this is %s: another version can give other "
                "numbers for the same config\n", config, e->record_version, VP_VERSION);
    if (!resume && !sh && rank == 0) { /* results of another config are replaced only at the end: say so now */
        char prev[4200];
        vp_status ps = VP_OK;
        vp_err perr;
        snprintf(prev, sizeof prev, "%s/" VP_FILE_CONFIG, dir);
        if (vp_frag_holds_config(prev, e->resolved_json, &ps, &perr) == 0 && !ps) {
            char diff[4000], what[4100] = "", ver[64];
            if (vp_frag_other_version(prev, ver, sizeof ver))
                snprintf(what, sizeof what, "varprop %s's results (this is %s)", ver, VP_VERSION);
            else if (vp_frag_config_diff(prev, e->resolved_json, diff, sizeof diff))
                snprintf(what, sizeof what, "the results of a different config (%s)", diff); /* the first difference */
            else
                snprintf(what, sizeof what, "the results of a different config");
            fprintf(stderr, "varprop: note: %s holds %s; this run replaces them when it finishes (interrupt it now to "
                    "keep them, or choose another -o)\n", dir, what);
        }
    }
    volatile sig_atomic_t *stop = vp_cli_signals(VP_SIG_RUNS);
    if (rank > 0) vp_cli_signal_silent(); /* every rank stops; rank 0 says so */
    vp_folder_lock lock = VP_FOLDER_LOCK_INIT; /* the results folder, held through the charts */
    vp_runner_opts o = { dir, (int)threads, !quiet && !mpi && isatty(2), resume, stop,
                         quiet ? NULL : stdout, rank ? NULL : stderr, no_share, &lock, sh, mpi };
    vp_runner_result res;
    /* the options a resume needs to make the same files: the slice, the run limit, where
     * the charts go (without them the resumed run would draw into plots/<name>) */
    char again[8600] = "", launch[64] = "", qword[8192];
    size_t ag = 0;
    if (sh) ag += (size_t)snprintf(again + ag, sizeof again - ag, " --shard %d/%d", sh->k, sh->n);
    if (max_runs != VP_DEFAULT_MAX_RUNS && ag < sizeof again)
        ag += (size_t)snprintf(again + ag, sizeof again - ag, " --max-runs %ld", max_runs);
    if (no_plot && ag < sizeof again) ag += (size_t)snprintf(again + ag, sizeof again - ag, " --no-plot");
    else if (plots && ag < sizeof again)
        snprintf(again + ag, sizeof again - ag, " --plots %s", vp_shell_word(plots, qword, sizeof qword));
    if (mpi) snprintf(launch, sizeof launch, "mpirun -np %d ", vp_mpi_size(mpi));
    if (!quiet && sh)
        printf("varprop: %s: shard %d/%d: %d of %ld runs (%d variant%s x %d seed%s), %ld thread%s\n", e->name, sh->k,
               sh->n, sh->count, vp_experiment_runs(e), e->nvariants, e->nvariants == 1 ? "" : "s", e->nseeds,
               e->nseeds == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
    else if (!quiet)
        printf("varprop: %s: %d variant%s x %d seed%s = %ld run%s, %ld thread%s\n", e->name, e->nvariants,
               e->nvariants == 1 ? "" : "s", e->nseeds, e->nseeds == 1 ? "" : "s", vp_experiment_runs(e),
               vp_experiment_runs(e) == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
    if (!quiet && mpi)
        printf("varprop: MPI: %d ranks, one run at a time each, on %ld thread%s per rank\n", vp_mpi_size(mpi),
               threads, threads == 1 ? "" : "s");
    s = vp_runner_run(e, &o, &res, &err);
    if (rank > 0) {
        vp_mpi_end(mpi, s, &err);
        vp_folder_release(&lock);
        vp_shard_free(sh);
        free(source);
        vp_experiment_free(e);
        return 0; /* a rank's failures are reported by rank 0 */
    }
    char shown[4100]; /* dir as a folder in messages: "DIR/" */
    vp_cli_folder(dir, shown, sizeof shown);
    char qc[8192], qd[8192]; /* config and dir as words of the resume command */
    const char *qconfig = vp_shell_word(config, qc, sizeof qc), *qdir = vp_shell_word(dir, qd, sizeof qd);
    if (s == VP_ERR_INTERRUPTED && res.kept) {
        fprintf(stderr, "varprop: %s; %s already held %ld runs of this config, more than that: they were kept "
                        "as they are (the runs finished now are in %s" VP_DIR_PARTS ").\n"
                        "varprop: resume with: %svarprop run %s%s --resume -o %s\n",
                err.msg, dir, res.kept, shown, launch, qconfig, again, qdir);
    } else if (s == VP_ERR_INTERRUPTED && res.kept_other) {
        fprintf(stderr, "varprop: %s; %s holds another config's results: they were kept (the %d complete runs of "
                        "this config are in %s" VP_DIR_PARTS ": --resume completes them, and then its results replace "
                        "those).\n"
                        "varprop: resume with: %svarprop run %s%s --resume -o %s\n",
                err.msg, dir, res.done + res.skipped, shown, launch, qconfig, again, qdir);
    } else if (s == VP_ERR_INTERRUPTED) {
        if (sh)
            fprintf(stderr, "varprop: %s; %s" VP_DIR_PARTS " holds the %d complete runs of the slice.\n", err.msg,
                    shown, res.done + res.skipped);
        else
            fprintf(stderr, "varprop: %s; the CSV files in %s hold the %d complete runs.\n", err.msg, dir,
                    res.done + res.skipped);
        fprintf(stderr, "varprop: resume with: %svarprop run %s%s --resume -o %s\n", launch, qconfig, again, qdir);
    } else if (s) {
        fprintf(stderr, "varprop: %s\n", err.msg);
    } else if (res.nothing_to_resume) { /* a finished shard: its slice's runs */
        int n = sh ? sh->count : res.total;
        char of[64] = "";
        if (sh) snprintf(of, sizeof of, " of shard %d/%d", sh->k, sh->n);
        fprintf(stderr, "varprop: nothing to resume: %s holds %s%d run%s%s of this config\n", dir,
                n == 1 ? "its " : "all ", n, n == 1 ? "" : "s", of);
    } else if (sh) {
        if (!quiet)
            printf("varprop: shard %d/%d complete in %s (%d runs); when all %d are, join them with: "
                   "varprop merge SHARD_DIR... -o DIR\n", sh->k, sh->n, shown, sh->count, sh->n);
    } else {
        if (!quiet && res.draws < res.done)
            printf("varprop: weights drawn %d time%s for %d runs (runs with the same shape, initializers and "
                   "seed share them: those that differ only in the activation, the input or training settings)\n",
                   res.draws, res.draws == 1 ? "" : "s", res.done);
        if (!quiet) { /* the files this run published, in publication order (config.json last) */
            printf("varprop: results in %s (", shown);
            const char *sep = "";
            for (const char *const *n = vp_results_files(); *n; n++) {
                char fp[4400];
                struct stat fs;
                snprintf(fp, sizeof fp, "%s/%s", dir, *n);
                if (stat(fp, &fs) != 0) continue;
                printf("%s%s", sep, *n);
                sep = ", ";
            }
            printf(")\n");
        }
        vp_mpi_end(mpi, s, &err); /* the other ranks are done: they exit while rank 0 draws */
        mpi = NULL;
        vp_cli_signal_phase(VP_SIG_CHARTS);
        if (!no_plot) s = vp_cli_draw_charts(dir, plots, quiet, &lock, stop, &err);
        if (no_plot && !quiet && !sh && !plots && !out) { /* results/<name> changed; plots/<name> did not */
            char pdir[4096], mk[4200];
            vp_err ignore;
            struct stat ps;
            if (!vp_charts_dir_for_name(e->name, pdir, sizeof pdir, &ignore) &&
                snprintf(mk, sizeof mk, "%s/" VP_FILE_REPORT, pdir) < (int)sizeof mk && stat(mk, &ps) == 0)
                printf("varprop: note: %s still holds the charts of an earlier run, not of these results; "
                       "varprop plot %s redraws them\n", vp_cli_folder(pdir, shown, sizeof shown), qdir);
        }
    }
    vp_folder_release(&lock);
    vp_mpi_end(mpi, s, &err); /* after every message: with a dead rank it ends the job */
    vp_shard_free(sh);
    free(source);
    vp_experiment_free(e);
    return vp_exit_code(s);
}
