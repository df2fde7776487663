/* train_run: the training half of a run (experiment layer, part of the runner) --
 * the data sets of an experiment, loaded once and shared read-only by the workers,
 * and one training run: a vp_trainer (core/train.h) with the run's weights, trained
 * for train.epochs on shuffled batches, evaluated after each epoch (and before the
 * first), probed on a fixed batch every train.track_every steps (and at step 0), its
 * rows formatted for the four training files (results.h VP_CSV_TRAIN ...
 * VP_CSV_HIST_TRAIN) and kept in memory until the run's fragments are written
 * (fragments.h), so a run is published whole or not at all.
 *
 * A loss that becomes NaN/Inf stops the run there: diverged_step says where
 * (runs.csv status "diverged"); the other runs go on. A stop request (SIGINT) abandons
 * the run (VP_ERR_INTERRUPTED, nothing written): --resume runs it again from its start,
 * and because every random choice is a function of the seed the bytes are those of an
 * uninterrupted run.
 *
 * Determinism: the shuffle is vp_batches_epoch(seed, epoch); the trainer's products
 * give the same bits on any pool; rows are formatted by results/csv.c. So the files do
 * not depend on --threads.
 */
#ifndef VP_TRAIN_RUN_H
#define VP_TRAIN_RUN_H

#include "base/err.h"
#include "base/pool.h"
#include "core/dataset.h"
#include "core/mlp.h"
#include "core/train.h"
#include "experiment/config.h"
#include "experiment/job.h"
#include "results/results.h"

#define VP_TRAIN_FILES (VP_CSV_COUNT - VP_CSV_FIRST_TRAIN)

/* The training output of one run: rows of file VP_CSV_FIRST_TRAIN + k in rows[k]. */
typedef struct {
    char *rows[VP_TRAIN_FILES];   /* owned (NULL: none) */
    size_t len[VP_TRAIN_FILES];
    long diverged_step;           /* 0: trained to the end; else the step whose loss was NaN/Inf */
    double test_acc;              /* test accuracy at the last evaluation; NaN: no test split, or diverged */
} vp_train_out;

void vp_train_out_free(vp_train_out *o); /* NULL-safe; leaves *o empty */

/* The distinct data sets (source and precision) of an experiment's variants. */
typedef struct vp_train_data {
    int n;
    vp_dataset *sets;     /* n, owned */
    int *of_variant;      /* nvariants: index into sets */
} vp_train_data;

/* Before anything is written: every data set's files opened and their headers checked
 * (vp_dataset_check). A missing or damaged file is a config error (VP_ERR_CONFIG, exit
 * 2) naming the file; *bytes (may be NULL) gets what the sets will hold in memory. */
vp_status vp_train_data_check(const vp_experiment *e, double *bytes, vp_err *err);
/* Load every data set (a damaged file found while reading is a config error too, and
 * so is an IDX set whose image size is not the network's input width). */
vp_status vp_train_data_load(const vp_experiment *e, vp_train_data *td, vp_err *err);
void vp_train_data_free(vp_train_data *td);

/* Estimated bytes of one training run of variant var beside its measurement (trainer,
 * batch and probe buffers, histograms). */
double vp_train_run_bytes(const vp_variant *var);

/* Train run r of the job (its variant has train.on) on j->tdata, products on j->pool;
 * progress on j->o->log when j->o->progress; stops (VP_ERR_INTERRUPTED) when *j->o->stop
 * is set. On VP_OK *out holds its rows (free with vp_train_out_free).
 * lsuv_net: NULL, or (network.init lsuv, a plain stack) the run's measurement network
 * after vp_mlp_lsuv -- its rescaled hidden weights become the trainer's (see
 * vp_train_take_hidden); the readout is drawn as for any init (train.readout_init, or
 * lsuv's orthonormal pre-init with gain 1). */
vp_status vp_train_one(vp_job *j, int r, const vp_mlp *lsuv_net, vp_train_out *out, vp_err *err);

/* Mishkin & Matas 2016 in training: the hidden weights W^1..W^L of m (store mode, the
 * trainer's shape and precision: L hidden layers of the same widths) copied into t,
 * bit for bit (the weights go through double, which holds every float exactly); the
 * biases, the readout and the optimizer state are t's own. Both must be made from one
 * variant (widths n_0..n_L, precision); VP_ERR_CONFIG when the depths differ. So a run trained from lsuv starts from exactly the weights whose
 * layer outputs LSUV scaled to unit variance on the measurement batch -- the same
 * bits whatever --threads, as vp_mlp_lsuv's passes are. */
vp_status vp_train_take_hidden(vp_trainer *t, const vp_mlp *m, vp_err *err);

#endif
