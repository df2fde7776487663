/* cmd_plot: `varprop plot RESULTS_DIR [-o PLOTS_DIR]` -- redraw every chart and
 * the report of a results folder from its CSV files alone (see charts.h). */
#include "results/results.h"
#include "present/charts.h"
#include "cli/cli.h"
#include "cli/cli_signal.h"
#include "cli/cli_util.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lock.h"
#include "present/plot.h"
#include "experiment/fragments.h"
#include "experiment/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

static const char USAGE[] =
    "usage: varprop plot RESULTS_DIR [-o PLOTS_DIR]\n"
    "\n"
    "Draw the charts and " VP_FILE_REPORT " of a results folder written by `varprop run`,\n"
    "reading only its files (" VP_FILE_CONFIG ", " VP_FILE_LAYERS ", " VP_FILE_RUNS ", and " VP_FILE_HIST ",\n"
    VP_FILE_JACOBIAN ", " VP_FILE_CRITICAL " when present). Each chart is a PNG and an SVG\n"
    "next to the gnuplot script (.gp) and data file (.dat) that redraw it.\n"
    "\n"
    "  -o, --output PLOTS_DIR  where to write (default: plots/<name>, <name> from " VP_FILE_CONFIG ")\n"
    "  -h, --help              show this help\n"
    "\n"
    "Needs gnuplot (apt-get install gnuplot-nox); VARPROP_GNUPLOT overrides the program, and\n"
    "VARPROP_GNUPLOT_TIMEOUT the seconds each chart's gnuplot may take (default 60, 0 = no limit).\n"
    "PLOTS_DIR must be new, empty or made by varprop; it is locked while the charts are drawn.\n";

static int is_marker(const char *name) { return strcmp(name, VP_FILE_MARKER) == 0; }

/* RESULTS_DIR must be a folder `varprop run` wrote: a config file or a missing path is a
 * usage error (exit 2) that says what plot takes. */
static vp_status results_folder(const char *dir, vp_err *err)
{
    struct stat st;
    char q[8192];
    if (stat(dir, &st) != 0)
        return vp_fail(err, VP_ERR_USAGE, "%s: no such results folder; plot takes the folder `varprop run` wrote "
                       "(results/<name> by default)", dir);
    if (!S_ISDIR(st.st_mode))
        return vp_fail(err, VP_ERR_USAGE, "%s is a file, not a results folder; plot takes the folder `varprop run` "
                       "wrote (results/<name> by default); to run a config: varprop run %s", dir, vp_shell_word(dir, q, sizeof q));
    return VP_OK;
}

/* ... holding config.json (checked under the folder's lock: a run that is still
 * writing the folder is refused as such, "folder in use by process N"). */
static vp_status has_config(const char *dir, vp_err *err)
{
    struct stat st;
    char cfg[4200], shard[4200], mark[4200], parts[4200], q[8192];
    const char *qdir = vp_shell_word(dir, q, sizeof q); /* in the commands the messages give */
    if (vp_path_join(cfg, sizeof cfg, dir, VP_FILE_CONFIG, NULL) != VP_OK || stat(cfg, &st) == 0) return VP_OK;
    /* what the folder is instead, and the command that gives it a config.json */
    if (vp_path_join(shard, sizeof shard, dir, VP_FILE_SHARD, NULL) == VP_OK && stat(shard, &st) == 0)
        return vp_fail(err, VP_ERR_USAGE, "%s is a shard folder (its " VP_FILE_SHARD " says which slice): it keeps "
                       "fragments, not tables; join all the shards with `varprop merge SHARD_DIR... -o DIR`, then "
                       "`varprop plot DIR`", dir);
    if (vp_path_join(mark, sizeof mark, dir, VP_FILE_MARKER, NULL) == VP_OK && stat(mark, &st) == 0 &&
        vp_path_join(parts, sizeof parts, dir, VP_DIR_PARTS, NULL) == VP_OK && stat(parts, &st) == 0) {
        /* .parts/slice says whether the stopped run was a shard (then merge, not plot, comes next) */
        char slice[256];
        int k = 0, of = 0;
        if (!vp_frag_read_slice(dir, slice, sizeof slice) || sscanf(slice, "shard %d/%d", &k, &of) != 2) k = 0;
        if (k > 0)
            return vp_fail(err, VP_ERR_USAGE, "%s is shard %d/%d of a sweep, stopped before the end: finish it with "
                           "`varprop run CONFIG --shard %d/%d --resume -o %s`, then join all the shards with "
                           "`varprop merge SHARD_DIR... -o DIR` and plot DIR", dir, k, of, k, of, qdir);
        return vp_fail(err, VP_ERR_USAGE, "%s holds no " VP_FILE_CONFIG ": its run stopped before the end; "
                       "`varprop run CONFIG --resume -o %s` finishes it (the command that started it, with --resume "
                       "added), then plot it", dir, qdir);
    }
    return vp_fail(err, VP_ERR_USAGE, "%s holds no " VP_FILE_CONFIG ": not a results folder of `varprop run`; plot takes "
                   "the folder `varprop run` wrote (results/<name> by default)", dir);
}

int vp_cmd_plot(int argc, char **argv)
{
    const char *results = NULL, *plots = NULL;
    const vp_cli_opt opts[] = {
        { .name = "-o", .alias = "--output", .str = &plots },
        { .name = NULL },
    };
    const vp_cli_cmd cmd = { .cmd = "plot", .usage = USAGE, .opts = opts, .arg = &results,
                             .one_arg = "one RESULTS_DIR only" };
    int rc = vp_cli_parse(&cmd, argc, argv);
    if (rc >= 0) return rc;
    if (!results) return vp_cli_usage_error("plot", "missing RESULTS_DIR");
    if (plots && !*plots) return vp_cli_usage_error("plot", "empty PLOTS_DIR");

    vp_err err = { "" };
    char defdir[4096];
    /* The results folder is read under a shared lock (no run may change it meanwhile);
     * the plots folder is written under an exclusive one -- when both are one folder,
     * the results folder's lock is made exclusive. */
    vp_folder_lock rlock = VP_FOLDER_LOCK_INIT, plock = VP_FOLDER_LOCK_INIT;
    const vp_claim rclaim = { VP_FILE_MARKER, VP_FOLDER_STAMP, 0, 1, NULL },
                   pclaim = { VP_FILE_MARKER, VP_FOLDER_STAMP, 1, 0, vp_charts_legacy_folder },
                   both = { VP_FILE_MARKER, VP_FOLDER_STAMP, 0, 0, vp_runner_legacy_folder };
    vp_status s = results_folder(results, &err);
    if (!s) s = vp_folder_claim(results, &rclaim, &rlock, &err);
    if (!s) s = has_config(results, &err);
    if (!s && !plots) {
        s = vp_charts_default_dir(results, defdir, sizeof defdir, &err);
        plots = defdir;
    }
    if (s) {
        vp_folder_release(&rlock);
        fprintf(stderr, "varprop plot: %s\n", err.msg);
        return vp_exit_code(s);
    }
    struct stat pst;
    int plots_new = stat(plots, &pst) != 0; /* made by this call: removed again on failure */
    if (vp_folder_same(&rlock, plots)) {
        vp_folder_release(&rlock);
        s = vp_folder_claim(results, &both, &rlock, &err);
    } else {
        s = vp_folder_claim(plots, &pclaim, &plock, &err);
    }
    if (!s) s = vp_charts_draw_stop(results, plots, vp_cli_signals(VP_SIG_CHARTS), &err);
    vp_folder_release(&plock);
    vp_folder_release(&rlock);
    if (s && plots_new && vp_folder_all(plots, is_marker)) {
        /* nothing drawn into the folder this call made: leave no folder behind (a
         * folder that holds charts keeps its marker, so the next run may write there) */
        char marker[4200];
        if (vp_path_join(marker, sizeof marker, plots, VP_FILE_MARKER, NULL) == VP_OK && unlink(marker) == 0)
            rmdir(plots);
    }
    if (s) {
        fprintf(stderr, "varprop plot: %s\n", err.msg);
        return vp_exit_code(s);
    }
    char shown[4100];
    printf("varprop plot: charts and report in %s" VP_FILE_REPORT "\n", vp_cli_folder(plots, shown, sizeof shown));
    return 0;
}
