/* cmd_reproduce: `varprop reproduce NAME|all [--fast] [-o DIR]` -- run the paper suite
 * (experiment/reproduce.h), then draw its charts and report (present/repro_report.h).
 * Exit 0 only when every claim passes (FULL ONLY claims of --fast aside); 1 when one
 * fails or was not run (or on a runtime failure); 2 for usage and checks.json/config
 * errors; 130 interrupted. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/lock.h"
#include "base/param.h"
#include "cli/cli.h"
#include "cli/cli_signal.h"
#include "cli/cli_util.h"
#include "experiment/reproduce.h"
#include "experiment/runner.h"
#include "present/repro_report.h"
#include "results/results.h"

static const char USAGE[] =
    "usage: varprop reproduce NAME|all [--fast] [-o DIR] [--suite DIR] [--threads N] [--quiet]\n"
    "\n"
    "Reproduces the classic papers' claims: runs the configs of SUITE/NAME/ (every paper with\n"
    "`all`), evaluates each claim of its " VP_FILE_CHECKS " against the CSV results, draws every chart\n"
    "and writes DIR/" VP_FILE_REPORT " -- per claim the paper's statement, the figure, measured against\n"
    "expected with the tolerance, and PASS / FAIL / NOT RUN with the reason (docs/reproduce.md).\n"
    "\n"
    "NAME is a folder of SUITE holding " VP_FILE_CHECKS " (`varprop reproduce` alone lists them).\n"
    "\n"
    "  --fast         small widths, fewer seeds and correspondingly wider tolerances (all ten papers\n"
    "                 in about 20 s on 2 cores);\n"
    "                 the runs marked full_only (the trainings, whose thresholds are for their\n"
    "                 full length) are skipped and their claims reported FULL ONLY\n"
    "  -o DIR         output folder (default results/reproduce): new, empty or made by varprop\n"
    "  --suite DIR    the folder of paper folders (default experiments)\n"
    "  --threads N    worker threads (default: the machine's cores); results do not depend on it\n"
    "  --quiet        no progress lines\n"
    "  -h, --help     this help\n"
    "\n"
    "Exit status: 0 when every claim passes (FULL ONLY claims aside), 1 when a claim fails or\n"
    "was not run (or on a runtime failure), 2 for a usage, checks.json or config error, 130\n"
    "when interrupted.\n";

int vp_cmd_reproduce(int argc, char **argv)
{
    const char *name = NULL, *out = "results/reproduce", *suite = "experiments";
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    int fast = 0, quiet = 0;
    const vp_cli_opt opts[] = {
        { .name = "--fast", .flag = &fast },
        { .name = "-o", .alias = "--output", .str = &out },
        { .name = "--suite", .str = &suite },
        { .name = "--threads", .num_l = &threads, .lo = 1, .hi = 256 },
        { .name = "--quiet", .flag = &quiet },
        { .name = NULL },
    };
    const vp_cli_cmd cmd = { .cmd = "reproduce", .usage = USAGE, .opts = opts, .arg = &name,
                             .one_arg = "one NAME (or all) only" };
    int rc = vp_cli_parse(&cmd, argc, argv);
    if (rc >= 0) return rc;
    if (!*out) return vp_cli_usage_error("reproduce", "empty DIR");
    if (threads < 1) threads = 1;

    vp_err err = { "" };
    char names[VP_REPRO_MAX_PAPERS][128];
    const char *chosen[VP_REPRO_MAX_PAPERS];
    int n = 0;
    vp_status s = vp_repro_list(suite, names, VP_REPRO_MAX_PAPERS, &n, &err);
    if (s && access(suite, F_OK) != 0) /* most often: run outside the varprop folder */
        return vp_cli_usage_error("reproduce", "%s: no such suite folder (the suite is the varprop folder's "
                                  "experiments/: run from there, or pass --suite DIR)", suite);
    char known[VP_REPRO_MAX_PAPERS * 130] = "all";
    size_t at = strlen(known);
    for (int i = 0; !s && i < n; i++) at += (size_t)snprintf(known + at, sizeof known - at, " %s", names[i]);
    if (!s && !name) {
        char list[VP_REPRO_MAX_PAPERS * 132];
        vp_choices_list(known, list, sizeof list);
        return vp_cli_usage_error("reproduce", "missing NAME: one of %s", list);
    }
    if (!s && strcmp(name, "all") != 0) {
        int found = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(names[i], name) == 0) found = i;
        if (found < 0) return vp_cli_unknown_word("paper", name, known, "reproduce");
        if (found) memcpy(names[0], names[found], sizeof names[0]);
        n = 1;
    }
    if (!s && n == 0) s = vp_fail(&err, VP_ERR_USAGE, "%s holds no paper folder with " VP_FILE_CHECKS, suite);
    for (int i = 0; i < n; i++) chosen[i] = names[i];
    if (!s) s = vp_repro_check(suite, chosen, n, fast, &err); /* exit-2 errors before anything is written */
    /* the output folder is varprop's and this process's while the suite runs and is drawn */
    vp_folder_lock lock = VP_FOLDER_LOCK_INIT;
    const vp_claim claim = { VP_FILE_MARKER, VP_FOLDER_STAMP, 1, 0, NULL };
    if (!s) s = vp_folder_claim(out, &claim, &lock, &err);
    volatile sig_atomic_t *stop = vp_cli_signals(VP_SIG_RUNS);
    vp_repro_opts o = { .suite_dir = suite, .out_dir = out, .fast = fast, .threads = (int)threads, .stop = stop,
                        .log = quiet ? NULL : stderr };
    vp_repro_summary sum = { { 0 }, 0 };
    if (!s) s = vp_repro_run(chosen, n, &o, &sum, &err);
    if (!s) {
        vp_cli_signal_phase(VP_SIG_CHARTS);
        s = vp_repro_report(out, stop, &err);
    }
    vp_folder_release(&lock);
    if (s) {
        fprintf(stderr, "varprop reproduce: %s\n", err.msg);
        return vp_exit_code(s);
    }
    char shown[4100];
    printf("varprop reproduce: %d PASS, %d FAIL, %d NOT RUN, %d FULL ONLY; report in %s" VP_FILE_REPORT "\n",
           sum.count[VP_REPRO_PASS], sum.count[VP_REPRO_FAIL], sum.count[VP_REPRO_NOT_RUN],
           sum.count[VP_REPRO_FULL_ONLY], vp_cli_folder(out, shown, sizeof shown));
    return sum.count[VP_REPRO_FAIL] + sum.count[VP_REPRO_NOT_RUN] ? 1 : 0;
}
