/* summary_print: the verdict words of runs.csv and the terminal summary table
 * (experiment layer, part of the runner). Kept together and as they were until the
 * results layer owns the verdicts and per-variant medians (issue 10, src/results/). */
#ifndef VP_SUMMARY_PRINT_H
#define VP_SUMMARY_PRINT_H

#include "experiment/job.h"

/* "stable", "vanishing", "exploding" or "non-finite" for a final/first ratio
 * (VP_STABLE_BAND) of a run with `nonfinite` non-finite entries. */
const char *vp_runner_verdict(double ratio, long long nonfinite);

/* The per-variant table (medians over seeds) and notes on numerical blow-up, on
 * j->o->out (nothing when it is NULL). */
void vp_runner_print_summary(const vp_job *j);

#endif
