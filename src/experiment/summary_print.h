/* summary_print: the terminal summary table of a run (experiment layer, part of the
 * runner): per-variant medians over the finished seeds, with the verdict words and
 * medians of src/results/ (the same ones report.md and the charts use). */
#ifndef VP_SUMMARY_PRINT_H
#define VP_SUMMARY_PRINT_H

#include "experiment/job.h"

/* The per-variant table (medians over seeds) and notes on numerical blow-up, on
 * j->o->out (nothing when it is NULL). */
void vp_runner_print_summary(const vp_job *j);

#endif
