/* reproduce: the paper-reproduction suite (experiment layer) -- issue 16.
 *
 * A suite folder (experiments/) holds one folder per paper with README.md, configs and
 * checks.json (docs/reproduce.md: the format). For each chosen paper this module
 *   1. reads checks.json strictly (unknown keys, wrong types and unknown columns are
 *      VP_ERR_CONFIG with the JSON path, what is allowed and a "did you mean"),
 *   2. runs each of its configs through the library (vp_config_parse + vp_runner_run,
 *      like advise_run.c) into OUT/<paper>/<run>/, with the run's "fast" overrides
 *      applied to the config's JSON when opts.fast is set,
 *   3. evaluates every claim against the CSV files (results/table.h): a quantity of
 *      one file's rows (reproduce_eval.c), its jackknife standard error over seeds,
 *      and the verdict PASS / FAIL against the expected value and tolerance, or NOT RUN
 *      with the claim's stated reason,
 *   4. writes OUT/verdicts.json (VP_FILE_VERDICTS): every paper, run and claim with the
 *      numbers, for the report (present/repro_report.h), which draws the charts.
 * Nothing is printed; progress lines go to opts.log when it is not NULL.
 */
#ifndef VP_REPRODUCE_H
#define VP_REPRODUCE_H

#include <signal.h>
#include <stdio.h>

#include "base/err.h"

/* FULL ONLY: under --fast, a claim on a run marked "full_only" in checks.json (a short
 * training has no honest fast version); it is not run and does not count as failing --
 * the full suite judges it. */
typedef enum { VP_REPRO_PASS, VP_REPRO_FAIL, VP_REPRO_NOT_RUN, VP_REPRO_FULL_ONLY, VP_REPRO_VERDICT_COUNT } vp_repro_verdict;

/* "PASS", "FAIL", "NOT RUN", "FULL ONLY". */
const char *vp_repro_verdict_word(vp_repro_verdict v);

#define VP_REPRO_MAX_PAPERS 64

typedef struct {
    const char *suite_dir;        /* folder of paper folders (experiments) */
    const char *out_dir;          /* OUT: created if missing; must be new, empty or varprop's */
    int fast;                     /* the runs' "fast" overrides and fast tolerances */
    int threads;                  /* >= 1, for the runner */
    volatile sig_atomic_t *stop;  /* may be NULL: non-zero stops after the runs in progress */
    FILE *log;                    /* one line per run and per claim (NULL: none) */
} vp_repro_opts;

typedef struct {
    int count[VP_REPRO_VERDICT_COUNT]; /* claims by verdict */
    double seconds;                    /* wall time of the runs */
} vp_repro_summary;

/* The paper folders of the suite (sub-folders holding checks.json), sorted by name,
 * written into names[0..*n) (each at most 128 bytes). */
vp_status vp_repro_list(const char *suite_dir, char names[][128], int max, int *n, vp_err *err);

/* Parse every chosen paper's checks.json and every config it runs (with the fast
 * overrides when `fast`), running nothing: the usage and config errors (exit 2) before
 * anything is written. */
vp_status vp_repro_check(const char *suite_dir, const char *const *papers, int npapers, int fast, vp_err *err);

/* Run the papers (names as vp_repro_list gives them) and write OUT/verdicts.json.
 * vp_repro_check runs first, so a bad checks.json or config writes nothing. */
vp_status vp_repro_run(const char *const *papers, int npapers, const vp_repro_opts *o, vp_repro_summary *sum,
                       vp_err *err);

#endif
