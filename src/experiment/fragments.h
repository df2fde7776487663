/* fragments: the results folder's files as a run finishes and as a sweep ends
 * (experiment layer, part of the runner).
 *
 * Each finished run is saved as fragments in <out>/.parts/ -- run-NNNNNNN.layers,
 * .hist, .jac, .runs (CSV rows, atomically written) and last .sum, whose presence
 * marks the run complete. The CSV files are assembled from the fragments in
 * canonical order (variant, then seed), so their bytes never depend on thread count
 * or scheduling, and an interrupted sweep leaves consistent CSVs of the runs that
 * finished. --resume reloads the .sum markers of complete runs after checking that
 * <out>/config.json was written by the same resolved config.
 */
#ifndef VP_FRAGMENTS_H
#define VP_FRAGMENTS_H

#include "base/err.h"
#include "core/mlp.h"
#include "experiment/job.h"

/* Save run r's rows (layers, histograms when hist != NULL, Jacobian singular values
 * when sv != NULL, per-example lengths when sq_len != NULL (B * L, vp_mlp_set_lengths), its
 * runs.csv row) and then its .sum marker. tpre/tgrad/tchi/tcorr:
 * the per-layer predictions (NaN: none); seconds: the run's wall time. */
vp_status vp_frag_write(const vp_job *j, int r, const vp_variant *var, const vp_layer_stats *st,
                        const double *tpre, const double *tgrad, const double *tchi, const double *tcorr,
                        const vp_histogram *hist,
                        const double *sv, const double *sq_len, const vp_run_sum *sum, double seconds,
                        vp_err *err);

/* layers.csv, runs.csv and (when some variant asks for them) histograms.csv and
 * jacobian.csv in the results folder: header + the fragments of every complete run. */
vp_status vp_frag_assemble(const vp_job *j, vp_err *err);

/* Remove every file in the fragments folder `dir` (and the folder when rmdir_too). */
void vp_frag_clear(const char *dir, int rmdir_too);

/* <out>/config.json: the resolved config and a final newline. */
vp_status vp_frag_write_config(const vp_job *j, vp_err *err);
/* --resume: <out>/config.json must hold exactly this experiment's resolved config. */
vp_status vp_frag_check_resume(const vp_job *j, vp_err *err);
/* --resume: load run r's .sum marker into j->sums[r]; 1 if the run is complete. */
int vp_frag_load_done(vp_job *j, int r);

#endif
