/* summary: per-variant statistics of a results folder -- the medians, ranges and
 * verdict counts that the terminal summary, the charts and the report show.
 *
 * Values: vp_stat_of gives the median, min and max of a sample (the median of an even
 * count is the mean of the two middle values); vp_median is its median alone.
 *
 * runs.csv: vp_summary_build groups the rows by variant (ascending id) and, for the
 * two ratios (act_ratio / act_verdict, grad_ratio / grad_verdict), summarizes the rows
 * that ran (status ok, or diverged: a training run's measurement at initialization is
 * complete; every row when the file has no status column): median and
 * range of the finite values (what a table shows) and of the finite positive values
 * (what a log axis can draw), the first value that is not finite and positive, and
 * the verdict counts in order of first appearance with the majority verdict.
 * Ownership: the summary borrows the table (keep it alive); vp_summary_free frees
 * what build allocated (NULL-safe on a zeroed summary).
 */
#ifndef VP_SUMMARY_H
#define VP_SUMMARY_H

#include <stddef.h>
#include "base/err.h"
#include "results/results.h"
#include "results/table.h"

#include "base/sort.h" /* vp_cmp_double, for callers that sort before vp_stat_of */

typedef struct {
    size_t n;            /* values */
    double med, lo, hi;  /* NaN when n == 0 */
} vp_stat;

/* Median, min and max of v[0..n); sorts v in place. */
vp_stat vp_stat_of(double *v, size_t n);
/* The median of v[0..n) (NaN if n == 0); sorts v in place. */
double vp_median(double *v, size_t n);

/* The ratios of runs.csv and their verdict columns. */
typedef enum { VP_RATIO_ACT, VP_RATIO_GRAD, VP_RATIO_COUNT } vp_ratio;
vp_col vp_ratio_col(vp_ratio k);         /* act_ratio, grad_ratio */
vp_col vp_ratio_verdict_col(vp_ratio k); /* act_verdict, grad_verdict */
vp_col vp_ratio_theory_col(vp_ratio k);  /* theory_act_ratio, theory_grad_ratio */

/* One ratio over a variant's seeds that ran. */
typedef struct {
    size_t n;                            /* seeds */
    vp_stat finite;                      /* over the finite values */
    vp_stat positive;                    /* over the finite values > 0 */
    double special;                      /* first value not finite and > 0; NaN if none */
    size_t votes[VP_VERDICT_COUNT];      /* verdict counts */
    vp_verdict seen[VP_VERDICT_COUNT];   /* verdicts in order of first appearance */
    size_t nseen;
    vp_verdict majority;                 /* most votes, ties to the lower; OTHER if none */
} vp_ratio_summary;

/* Summarize n values and their verdicts; sorts (and reorders) v in place. */
void vp_ratio_summarize(double *v, const vp_verdict *verdicts, size_t n, vp_ratio_summary *out);

typedef struct {
    long id;                 /* the variant column */
    size_t first_row;        /* its first row in runs.csv (activation, init, sweep values) */
    size_t nrows;            /* its rows: one per seed */
    size_t nok;              /* of those, the runs that completed */
    const size_t *ok;        /* their rows, in file order */
    vp_ratio_summary ratio[VP_RATIO_COUNT];
    vp_stat theory[VP_RATIO_COUNT];      /* the predicted ratio over the seeds that have a finite one
                                            (n = 0: none, or a runs.csv without the column) */
} vp_variant_summary;

typedef struct {
    const vp_table *runs;
    vp_variant_summary *var; /* ascending id */
    size_t nvar;
    size_t *rows;            /* storage of the ok lists */
} vp_summary;

/* Group runs.csv by variant and summarize its ratios. Errors (VP_ERR_DATA naming the
 * file, line and column): a missing variant, ratio or verdict column, a variant id
 * that is not an integer in [0, VP_VARIANT_MAX], a ratio that is not a number. */
vp_status vp_summary_build(const vp_table *runs, vp_summary *out, vp_err *err);
void vp_summary_free(vp_summary *s);

/* The variant with this id, or NULL. */
const vp_variant_summary *vp_summary_find(const vp_summary *s, long id);
/* Ratio k of variant `id`; a variant without rows gets an empty summary (n = 0,
 * NaN statistics, verdict OTHER). */
const vp_ratio_summary *vp_summary_ratio(const vp_summary *s, long id, vp_ratio k);
/* Column `col` of the variant's completed runs as numbers: out[0..v->nok). */
vp_status vp_summary_values(const vp_summary *s, const vp_variant_summary *v, size_t col, double *out,
                            vp_err *err);

#endif
