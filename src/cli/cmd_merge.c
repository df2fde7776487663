/* cmd_merge: `varprop merge SHARD_DIR... [-o DIR] [--plots DIR] [--no-plot] [--quiet]`
 * -- join the shards of a sweep (`varprop run CONFIG --shard K/N`) into the results
 * folder a single run writes, then draw the charts as `run` does (experiment/shard.h
 * says what is checked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_signal.h"
#include "cli/cli_util.h"
#include "experiment/runner.h"
#include "experiment/shard.h"
#include "results/results.h"

static const char USAGE[] =
    "usage: varprop merge SHARD_DIR... [-o DIR] [--plots DIR] [--no-plot] [--quiet]\n"
    "\n"
    "Joins the N shard folders of a sweep, made by `varprop run CONFIG --shard K/N` for K = 1..N\n"
    "(on any machines, e.g. a Slurm job array), into DIR (default results/<name>/): exactly the\n"
    VP_FILE_LAYERS ", " VP_FILE_RUNS ", " VP_FILE_CONFIG " ... a single `varprop run CONFIG` writes (only the\n"
    "`seconds` column of " VP_FILE_RUNS " differs), then draws the charts (default plots/<name>/).\n"
    "Shards of different configs or varprop versions, unfinished shards, a slice given twice\n"
    "or a missing slice are refused (exit 2) before anything is written. docs/cluster.md.\n"
    "\n"
    "  -o DIR         results folder: new, empty or made by varprop (locked while in use)\n"
    "  --plots DIR    charts folder\n"
    "  --no-plot      write the CSV results only\n"
    "  --quiet        no summary table\n"
    "  -h, --help     this help\n";

int vp_cmd_merge(int argc, char **argv)
{
    const char *out = NULL, *plots = NULL;
    int quiet = 0, no_plot = 0;
    const vp_cli_opt opts[] = {
        { .name = "-o", .str = &out },
        { .name = "--plots", .str = &plots },
        { .name = "--no-plot", .flag = &no_plot },
        { .name = "--quiet", .flag = &quiet },
        { .name = NULL },
    };
    /* The shard folders are the words that are neither options nor their values; the
     * options go to the common parser. */
    char **rest = malloc((size_t)argc * sizeof *rest);
    const char **dirs = malloc((size_t)argc * sizeof *dirs);
    if (!rest || !dirs) {
        free(rest);
        free(dirs);
        fprintf(stderr, "varprop merge: out of memory\n");
        return 1;
    }
    int nrest = 0, ndirs = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        int valued = strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--plots") == 0;
        if (argv[i][0] == '-') rest[nrest++] = argv[i];
        else dirs[ndirs++] = argv[i];
        if (valued && i + 1 < argc) rest[nrest++] = argv[++i];
    }
    const vp_cli_cmd cmd = { .cmd = "merge", .usage = USAGE, .opts = opts };
    int rc = vp_cli_parse(&cmd, nrest, rest);
    free(rest);
    if (rc < 0 && ndirs == 0) rc = vp_cli_usage_error("merge", "missing SHARD_DIR: name the folders of every shard");
    if (rc >= 0) {
        free(dirs);
        return rc;
    }

    vp_err err;
    vp_merge *m = NULL;
    vp_experiment *e = NULL;
    vp_status s = vp_merge_open(dirs, ndirs, &m, &e, &err);
    free(dirs);
    if (s) {
        fprintf(stderr, "varprop merge: %s\n", err.msg);
        return vp_exit_code(s);
    }
    char dir[4096];
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else snprintf(dir, sizeof dir, "results/%s", e->name);
    if (!no_plot && (s = vp_cli_check_plots(plots, e->name, &err))) {
        fprintf(stderr, "varprop merge: %s\n", err.msg);
        vp_merge_close(m);
        vp_experiment_free(e);
        return vp_exit_code(s);
    }
    volatile sig_atomic_t *stop = vp_cli_signals(VP_SIG_CHARTS); /* the merge itself is short: one signal ends it */
    vp_folder_lock lock = VP_FOLDER_LOCK_INIT;
    vp_runner_opts o = { .out_dir = dir, .threads = 1, .out = quiet ? NULL : stdout, .log = stderr, .lock = &lock };
    vp_runner_result res;
    s = vp_merge_write(m, e, &o, &res, &err);
    if (s) {
        fprintf(stderr, "varprop merge: %s\n", err.msg);
    } else {
        char shown[4100];
        if (!quiet)
            printf("varprop: merged %d runs into %s (" VP_FILE_LAYERS ", " VP_FILE_RUNS ", " VP_FILE_CONFIG ")\n",
                   res.done, vp_cli_folder(dir, shown, sizeof shown));
        if (!no_plot) s = vp_cli_draw_charts(dir, plots, quiet, &lock, stop, &err);
    }
    vp_folder_release(&lock);
    vp_merge_close(m);
    vp_experiment_free(e);
    return vp_exit_code(s);
}
