/* train: a network being trained -- the configured hidden stack (a vp_mlp: layers
 * 1..L, one activation), then a linear readout n_L -> classes (layer L+1, no
 * activation), a loss (core/loss.h), an optimizer and its learning-rate schedule
 * (core/optim.h) -- and its three passes: a training step, an evaluation, and a
 * probe measurement (every layers.csv quantity on a fixed batch, on the current
 * weights, without updating them).
 *
 * Owns: the readout's parameters, every parameter's gradient and optimizer state,
 * the step counter, the checkpoint bytes. Borrowed: the data (x, y of each call).
 * Not owned: the data set and its batches (core/dataset.h), the training loop, the
 * files (experiment layer).
 *
 * Math (README "Training"; PyTorch's nn.Sequential(Linear, act, ..., Linear)):
 *   h^0 = x [n, n_0];  z^l = h^{l-1} W^{lT} + b^l, h^l = phi(z^l), l = 1..L;
 *   logits = h^L W_r^T + b_r [n, classes];  loss = vp_loss(logits, y) (batch mean);
 *   backward: dL/dlogits from the loss; dL/dW_r = dlogits^T h^L, dL/db_r = column sums;
 *   dL/dh^L = dlogits W_r; then the hidden layers as in core/mlp.h, with
 *   dL/dW^l = (dL/dz^l)^T h^{l-1} and dL/db^l = column sums of dL/dz^l (the
 *   gradient of the batch-mean loss: the loss already carries the 1/n).
 *   Then one optimizer update of every parameter at lr = vp_sched_lr(step).
 * grad_norm is the L2 norm over every parameter's gradient of that step (what
 * torch.nn.utils.clip_grad_norm_ returns), before the update; nothing is clipped.
 *
 * Batches: every call takes n <= max_batch examples (the last batch of an epoch
 * is shorter: drop_last=False); results for n rows depend only on those rows.
 * x is [n, n_0] row-major in the trainer's precision (float * for VP_F32, double *
 * for VP_F64: the data set's own arrays, vp_dataset_gather's output); y [n] class
 * indices in [0, classes).
 *
 * Randomness: only at initialization (vp_trainer_init_params: the hidden layers
 * exactly as vp_mlp_init_params, the readout from the streams of layer L+1). Steps
 * are deterministic: the same bits whatever the pool (core/gemm.h's guarantee).
 *
 * Non-finite values are not checked or clamped: a NaN loss is returned as NaN and
 * the caller stops the run (status "diverged").
 *
 * A vp_trainer is used by one thread at a time; the library holds no global state.
 */
#ifndef VP_TRAIN_H
#define VP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pool.h"
#include "core/act.h"
#include "core/init.h"
#include "core/loss.h"
#include "core/mlp.h"
#include "core/optim.h"

typedef struct {
    int classes;          /* readout width, >= 2 */
    vp_loss_kind loss;
    vp_optim optim;       /* checked by vp_trainer_create (vp_optim_check) */
    vp_sched sched;       /* checked by vp_trainer_create (vp_sched_check) */
    long total_steps;     /* of the whole training (cosine with t_max = 0 reads it) */
} vp_train_opts;

/* One training step's record (train.csv). */
typedef struct {
    long step;            /* 1 for the first update */
    double loss;          /* batch loss before the update (NaN/Inf: diverged) */
    double lr;            /* the learning rate the update used */
    double grad_norm;     /* L2 norm of the whole gradient, before the update */
} vp_train_step_info;

typedef struct vp_trainer vp_trainer;

/* classes >= 2, known loss, optimizer and schedule, vp_optim_check, vp_sched_check
 * (VP_ERR_CONFIG); shared with core/net_train.h. */
vp_status vp_train_opts_check(const vp_train_opts *o, vp_err *err);

/* Bytes vp_trainer_create would allocate (network, readout, gradients, optimizer
 * state), for refusing up front what does not fit. */
double vp_trainer_bytes(int L, const int *widths, int max_batch, vp_precision prec, vp_act act,
                        const vp_train_opts *o);

/* widths[0..L] as vp_mlp_create; row-wise activations (softmax family, GLU) may be
 * refused with VP_ERR_CONFIG if not supported. */
vp_status vp_trainer_create(vp_trainer **out, int L, const int *widths, int max_batch,
                            vp_precision prec, vp_act act, const vp_train_opts *o, vp_err *err);
void vp_trainer_free(vp_trainer *t); /* NULL-safe */

/* Threads for the products (borrowed; NULL = the calling thread). Same bits either way. */
void vp_trainer_set_pool(vp_trainer *t, vp_pool *pool);

/* Hidden layers: exactly vp_mlp_init_params(winit, binit, seed). Readout: W_r with
 * rinit, b_r with rbinit, from vp_rng_make(seed, L + 1, WEIGHT/BIAS). Resets the
 * optimizer state and the step counter. LSUV is not applied here. */
vp_status vp_trainer_init_params(vp_trainer *t, const vp_init *winit, const vp_init *binit,
                                 const vp_init *rinit, const vp_init *rbinit, uint64_t seed,
                                 vp_err *err);

/* One step on n examples: forward, loss, backward, update. info may be NULL. */
vp_status vp_trainer_step(vp_trainer *t, const void *x, const int32_t *y, size_t n,
                          vp_train_step_info *info, vp_err *err);

/* Mean loss and correct predictions (vp_loss's argmax rule) over n examples, any n:
 * processed in chunks of max_batch, the loss summed as (chunk mean * chunk rows) in
 * double and divided by n. No update, no gradient. */
vp_status vp_trainer_eval(vp_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                          long long *correct, vp_err *err);

/* Measurement on n <= max_batch examples with the current weights: stats[0..L] get
 * every vp_layer_stats field for the hidden layers 1..L and the readout (stats[L],
 * layer L+1, linear), the gradients being those of the true loss on (x, y) (not the
 * random probe of vp_mlp_backward); hist as in vp_mlp_forward/backward for the
 * hidden layers (may be NULL). Parameters and optimizer state are unchanged. */
vp_status vp_trainer_probe(vp_trainer *t, const void *x, const int32_t *y, size_t n,
                           vp_layer_stats *stats, vp_histogram *hist, vp_err *err);

long vp_trainer_steps(const vp_trainer *t); /* updates done */
int vp_trainer_depth(const vp_trainer *t);  /* L (the readout is layer L+1) */

/* Checkpoint: every parameter, the optimizer state and the step counter, as bytes
 * (native endianness; with a header naming shape, precision and optimizer so a
 * mismatched checkpoint is refused by restore with VP_ERR_DATA). After restore the
 * next steps give the same bits as if training had not stopped. */
size_t vp_trainer_checkpoint_size(const vp_trainer *t);
vp_status vp_trainer_checkpoint(const vp_trainer *t, void *buf, size_t len, vp_err *err);
vp_status vp_trainer_restore(vp_trainer *t, const void *buf, size_t len, vp_err *err);

/* Layer l = 1..L+1 (L+1: the readout) parameters as doubles: W [fan_out, fan_in]
 * row-major and b [fan_out] (either may be NULL); set writes them (rounded to the
 * trainer's precision) -- for tests that share weights with PyTorch. */
void vp_trainer_get_layer(const vp_trainer *t, int l, double *W, double *b);
void vp_trainer_set_layer(vp_trainer *t, int l, const double *W, const double *b);

#endif
