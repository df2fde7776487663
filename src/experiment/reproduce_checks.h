/* reproduce_checks: checks.json as plain structs (experiment layer, inside the
 * reproduce module; reproduce.h is the public side).
 *
 * reproduce_checks.c parses the file strictly (the format is docs/reproduce.md);
 * reproduce_eval.c computes a quantity from a results folder's CSV files.
 * Ownership: vp_repro_paper_parse fills a vp_repro_paper that
 * vp_repro_paper_free releases (claims, runs, quantities and texts are owned).
 */
#ifndef VP_REPRODUCE_CHECKS_H
#define VP_REPRODUCE_CHECKS_H

#include <cjson/cJSON.h>

#include "base/err.h"
#include "results/results.h"
#include "results/table.h"

#define VP_REPRO_ID_MAX 64
#define VP_REPRO_MAX_WHERE 8

/* One row filter: the cell of column `col` equals `text` (kind TEXT), the number
 * `lo` (kind NUM) or lies in [lo, hi] (kind RANGE). */
typedef enum { VP_WHERE_TEXT, VP_WHERE_NUM, VP_WHERE_RANGE } vp_where_kind;
typedef struct {
    char col[VP_REPRO_ID_MAX];
    vp_where_kind kind;
    char *text;      /* owned (TEXT) */
    double lo, hi;
} vp_repro_where;

/* What one row contributes: v = col (/ over), then the transform, then + shift. */
typedef enum { VP_TF_NONE, VP_TF_LOG2, VP_TF_LN, VP_TF_SQUARE, VP_TF_ABS, VP_TF_COUNT } vp_repro_tf;
/* The statistic of one seed's rows: mean, median, root mean square, max |v|,
 * least-squares slope of v against the layer column, normalized variance
 * mean(v^2)/mean(v)^2 - 1, or the first step (the step column) whose v is at most
 * `below` -- a learning time (Saxe et al. 2014) -- `never` when no row gets there. */
typedef enum { VP_ST_MEAN, VP_ST_MEDIAN, VP_ST_RMS, VP_ST_MAX_ABS, VP_ST_SLOPE, VP_ST_NORM_VAR, VP_ST_FIRST_BELOW,
               VP_ST_COUNT } vp_repro_stat;
/* Across seeds: the mean of the per-seed statistics; log2 of that mean; or the
 * statistic of every seed's rows pooled. */
typedef enum { VP_SEEDS_MEAN, VP_SEEDS_LOG2_MEAN, VP_SEEDS_POOL, VP_SEEDS_COUNT } vp_repro_seeds;

typedef struct vp_repro_quantity vp_repro_quantity;
struct vp_repro_quantity {
    vp_repro_quantity *diff[2];  /* non-NULL: the quantity is diff[0] - diff[1] (owned) */
    vp_csv_file file;
    vp_repro_where where[VP_REPRO_MAX_WHERE];
    int nwhere;
    char col[VP_REPRO_ID_MAX];
    char over[VP_REPRO_ID_MAX];  /* "" : none */
    vp_repro_tf tf;
    double shift;
    double per_layers;           /* slope: x = layer / per_layers (a slope per block of that many layer rows); 1 */
    double below, never;         /* first_below: the threshold, and the value of a seed that never reaches it */
    vp_repro_stat stat;
    vp_repro_seeds seeds;
};

/* The expectation: |m - value| <= tol (or rel_tol * |value|), m <= max, m >= min. */
typedef enum { VP_EXPECT_NEAR, VP_EXPECT_MAX, VP_EXPECT_MIN } vp_expect_kind;
typedef struct {
    vp_expect_kind kind;
    double value;    /* NEAR: the expected value; MAX/MIN: the bound */
    double tol;      /* NEAR: absolute tolerance (after rel_tol is applied) */
    int relative;    /* tol was given as rel_tol (the report says so) */
} vp_repro_expect;

typedef struct {
    char id[VP_REPRO_ID_MAX];
    char *statement, *tag, *source, *why_tol, *note, *not_run; /* owned; "" when absent */
    char run[VP_REPRO_ID_MAX];
    char figure[VP_REPRO_ID_MAX];
    vp_repro_quantity *q;      /* NULL for a NOT RUN claim */
    vp_repro_expect expect;    /* full or fast, as parsed for */
} vp_repro_claim;

typedef struct {
    char id[VP_REPRO_ID_MAX];
    char config[256];          /* file name inside the paper folder */
    cJSON *fast;               /* owned: dotted key -> value overrides (may be NULL) */
    char *full_only;           /* owned; "" or why --fast has no honest version: then --fast skips the
                                  run and its claims are FULL ONLY */
} vp_repro_run_spec;

typedef struct {
    char name[128];            /* the folder name */
    char *title;               /* owned */
    vp_repro_run_spec *runs;
    int nruns;
    vp_repro_claim *claims;
    int nclaims;
} vp_repro_paper;

/* Parse the text of PAPER/checks.json (`source` names it in messages); `fast` picks
 * each claim's fast tolerances. VP_ERR_CONFIG with the JSON path on any error. */
vp_status vp_repro_paper_parse(const char *text, size_t len, const char *source, const char *name, int fast,
                               vp_repro_paper *out, vp_err *err);
void vp_repro_paper_free(vp_repro_paper *p);

/* What one row contributes, as text: "log2(pre_var)", "ln(xi_c / theory_xi_c)",
 * "singular_value - 1" (a difference of quantities: "difference of two quantities"). */
void vp_repro_value_label(const vp_repro_quantity *q, char *buf, size_t len);

/* ---- evaluation (reproduce_eval.c) ---- */

/* The loaded CSV files of one run (NULL where not loaded yet). */
typedef struct {
    char dir[4096];
    vp_table *t[VP_CSV_COUNT];
} vp_repro_tables;

void vp_repro_tables_free(vp_repro_tables *tb);

/* A curve for the report: the per-layer mean over seeds of v (slope quantities). */
#define VP_REPRO_CURVE_MAX 256
typedef struct {
    int n;
    double x[VP_REPRO_CURVE_MAX], y[VP_REPRO_CURVE_MAX];
} vp_repro_curve;

/* The quantity over every seed (*value), its jackknife standard error over seeds
 * (*se; NaN with one seed), the number of seeds and, for a slope, the curve (curve
 * may be NULL). VP_ERR_DATA when no row matches or a value is missing; VP_ERR_CONFIG
 * when a named column is not in the file. */
vp_status vp_repro_eval(const vp_repro_quantity *q, vp_repro_tables *tb, double *value, double *se, int *nseeds,
                        vp_repro_curve *curve, vp_err *err);

#endif
