/* fragments: the results folder's files as a run finishes and as a sweep ends
 * (experiment layer, part of the runner).
 *
 * Each finished run is saved as one file, <out>/.parts/run-NNNNNNN.sum, written
 * atomically (not fsynced): a tag line, a marker -- the run's summary line, one line per
 * fragment with its part name, rows, bytes and CRC-32, and a line with the CRC-32 of
 * those lines -- a blank line, and the fragments (its rows of layers.csv, runs.csv, ...)
 * one after another. Its presence
 * marks the run complete; --resume checks every fragment against its line and redoes
 * a run whose file was damaged. (One file a run, not one per fragment: creating a file
 * costs ~0.3 ms on ext4 here, as much as the products of a small run.) The CSV files
 * are assembled from the fragments in canonical order (variant, then seed), so their
 * bytes never depend on thread count or scheduling, and an interrupted sweep leaves
 * consistent CSVs of the runs that finished. Every results file is staged in .parts
 * and published at the end, config.json last (vp_frag_publish). --resume reloads the
 * markers of complete runs after checking that they were made by the same resolved
 * config.
 */
#ifndef VP_FRAGMENTS_H
#define VP_FRAGMENTS_H

#include "base/err.h"
#include "core/mlp.h"
#include "core/net.h"
#include "experiment/job.h"
#include "experiment/train_run.h"
#include "results/csv.h"

/* The identity cells of run r's rows (act and init: buffers of len bytes for its labels). */
void vp_frag_csv_run(const vp_experiment *e, int r, char *act, char *init, size_t len, vp_csv_run *cr);

/* Save run r's file: its rows (layers, histograms when hist != NULL, Jacobian singular values
 * when sv != NULL, per-example lengths when sq_len != NULL (B * L, vp_mlp_set_lengths), its
 * training rows when tout != NULL (train_run.h; runs.csv status "diverged" when it
 * diverged), its runs.csv row) behind their marker. tpre/tgrad/tchi/tcorr:
 * the per-layer predictions (NaN: none); seconds: the run's wall time. A block
 * network (var->net) gives its rows in bst (st unused). */
vp_status vp_frag_write(const vp_job *j, int r, const vp_variant *var, const vp_layer_stats *st,
                        const vp_block_stats *bst, const double *tpre, const double *tgrad, const double *tchi, const double *tcorr,
                        const vp_histogram *hist,
                        const double *sv, const double *sq_len, const vp_train_out *tout,
                        const vp_run_sum *sum, double seconds, vp_err *err);

/* Run r's file (ext = VP_PART_DONE): the bytes written atomically (not fsynced: the
 * marker's checks stand in) into .parts -- or handed to j->sink. */
vp_status vp_frag_put(const vp_job *j, int r, const char *ext, const char *buf, size_t len, vp_err *err);

/* layers.csv, runs.csv and (when some variant asks for them) histograms.csv and
 * jacobian.csv, staged in .parts: header + the fragments of every complete run. */
vp_status vp_frag_assemble(const vp_job *j, vp_err *err);

/* Stage <out>/.parts/config.json (the resolved config and a final newline), first
 * removing results files an earlier attempt staged there. */
vp_status vp_frag_stage_config(const vp_job *j, vp_err *err);
/* Publish the staged files into the results folder: the tables and the critical line,
 * then config.json last; an earlier run's optional output this run did not stage
 * (histograms.csv, jacobian.csv, critical_line.dat) is removed. When the folder holds
 * another config's results, its config.json is removed first, so a reader never sees
 * one config beside another's tables, even if the process dies midway. When it holds
 * more runs of this same config than were staged, nothing is published and *kept gets
 * their number (else 0). When it holds another config's results and the staged tables
 * are not of every run (an interrupted run), nothing is published either and *other
 * gets 1: a run replaces another config's results only when it completes (the finished
 * runs stay in .parts, whose staged config --resume reads first). */
vp_status vp_frag_publish(const vp_job *j, long *kept, int *other, vp_err *err);

/* The fragments folder `dir` (<out>/.parts): create it (mode 0700) when missing;
 * refuse (VP_ERR_USAGE) one that is a symbolic link, not a folder, or another user's. */
vp_status vp_frag_prepare(const char *dir, vp_err *err);

/* Does the file at path hold exactly the config.json of the experiment whose resolved
 * config is resolved_json (that text and a final newline)? 1 yes, 0 no, -1 there is no
 * such file; VP_ERR_NOMEM in *s. */
int vp_frag_holds_config(const char *path, const char *resolved_json, vp_status *s, vp_err *err);
/* The first setting in which the config.json at path differs from resolved_json, as
 * "network.depth: 3 there, 4 in this config" in out (vp_config_diff): 1; 0 when the
 * file cannot be read or nothing differs. */
int vp_frag_config_diff(const char *path, const char *resolved_json, char *out, size_t len);
/* The varprop_version of the config.json at path into out when it is another version
 * than this one (VP_VERSION): 1; 0 when it is this version or cannot be read. A folder
 * of another version is not resumed or merged into, whatever its config: messages say
 * so rather than "a different config". */
int vp_frag_other_version(const char *path, char *out, size_t len);
/* Remove the files varprop writes in the fragments folder `dir` -- fragments, staged
 * results files and their temporaries; never any other name, never through a link --
 * and, when rmdir_too, the folder if that leaves it empty. */
void vp_frag_clear(const char *dir, int rmdir_too);

/* --resume: the config staged in .parts (or, when none is, <out>/config.json) must hold
 * exactly this experiment's resolved config. *nothing = 1 when the folder is finished:
 * no attempt staged in .parts, and runs.csv holds every run. */
vp_status vp_frag_check_resume(const vp_job *j, int *nothing, vp_err *err);

/* The slice a results folder's .parts holds (VP_PART_SLICE: "all" or "shard K/N") into
 * buf; 0 when it has none (no .parts, or a folder of an earlier build). */
int vp_frag_read_slice(const char *out_dir, char *buf, size_t len);
/* --resume: load run r's marker into j->sums[r] after checking each fragment against
 * it (bytes, rows, CRC-32, and the rows the run must have): 1 when the run is
 * complete, 0 when it has no file, -1 when a check fails (the file is removed, so the
 * run is done again, and why says what was wrong). */
int vp_frag_load_done(vp_job *j, int r, char *why, size_t wlen);

#endif
