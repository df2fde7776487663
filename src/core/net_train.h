/* net_train: a block network (core/net.h) being trained -- the same three passes as
 * core/train.h (a training step, an evaluation, a probe measurement) with the same
 * semantics, for any network of dense, conv2d, pooling, flatten, layer/batch/rms norm
 * and residual layers.
 *
 * The readout is the network's own last layer: its output must be flat with one value
 * per class (the LeNet ends with Dense(10, linear)); those values are the
 * logits of the loss (core/loss.h, batch mean). There is no extra readout layer and no
 * readout_init.
 *
 * Owns: the net (its parameters, gradients, activations and batchnorm running
 * statistics), the optimizer state, the step counter. Borrowed: the data (x, y of each call), the pool.
 *
 * Math: forward and backward are core/net.h's passes (no statistics in a step), the
 * backward starting from dL/dlogits with dL/dW = the sum over the batch (the loss
 * already carries the 1/n), so the gradient is that of the batch-mean loss:
 *   dense:  dL/dW = (dL/dz)^T x, dL/db = column sums of dL/dz
 *   conv2d: dL/dW = sum_b dL/dz_b col(x_b)^T, dL/db[o] = sum over batch and positions
 *   norms:  dL/dgamma = sum dL/dy xhat, dL/dbeta = sum dL/dy (core/net_impl.inc)
 *   residual with a trained alpha: dL/dalpha = sum dL/dout x_branch
 * Parameters, flat for core/optim.h: every weight (layer order, each [out, in] or
 * [C_out, C_in k k] row-major), then every bias (layer order), then every auxiliary
 * parameter (vp_net_layer_aux: the norms' gamma and beta, PyTorch's elementwise
 * affine, from 1 and 0; the alpha of SkipInit/ReZero residuals from 0 and Fixup's
 * multiplier from 1, one scalar per block; Fixup's scalar bias before each weight layer
 * of its branches, from 0); the optimizer is elementwise and treats
 * them all alike (weight decay included, as torch.optim on model.parameters()), so the
 * order changes no bit of the update. grad_norm is the L2 norm of the whole gradient
 * before the update, the squares added in that flat order in double. A residual with
 * a plain `alpha` keeps it constant.
 *
 * Batchnorm: a step standardizes with the batch's statistics and updates the running
 * ones (net.h: PyTorch's momentum 0.1, unbiased running variance; a batch with one
 * value per channel fails with VP_ERR_USAGE, as PyTorch raises); an evaluation uses
 * the running statistics (PyTorch's eval mode); a probe uses the batch's and leaves
 * the running ones alone (its statistics describe the batch it sees, as the
 * measurement at initialization does).
 *
 * Refused (VP_ERR_CONFIG): a last layer whose output is not [classes]; a residual with
 * a constant alpha = 0 (its branch would never move); row-wise activations are refused
 * by the config already.
 *
 * Batches: each call takes 1 <= n <= max_batch examples; x is [n, C H W] row-major
 * (NCHW) in the trainer's precision (float * for VP_F32, double * for VP_F64), y [n]
 * class indices. The result for n rows depends on those rows only.
 *
 * Determinism: products through core/gemm.h, every other loop on the calling thread
 * in a fixed order: the same bits whatever the pool. Randomness only at
 * vp_net_trainer_init_params (vp_net_init_params: streams (seed, i + 1, WEIGHT/BIAS)).
 * A checkpoint holds every parameter, the running statistics, the optimizer state and
 * the step counter: restored, the next steps give the bits of an uninterrupted run.
 * A NaN loss is returned as is (the caller stops the run). One thread at a time.
 */
#ifndef VP_NET_TRAIN_H
#define VP_NET_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pool.h"
#include "core/net.h"
#include "core/train.h"

typedef struct vp_net_trainer vp_net_trainer;

/* Bytes vp_net_trainer_create would allocate (the net and the optimizer state). */
double vp_net_trainer_bytes(const vp_layer_spec *ls, int n, vp_shape in, int max_batch, vp_precision prec,
                            const vp_train_opts *o);

/* What vp_net_trainer_create refuses for these layers and classes (the last layer's
 * output, a constant alpha = 0), as VP_ERR_CONFIG naming the layer's path; so a runner
 * can refuse a config before anything is written. */
vp_status vp_net_trainer_check(const vp_layer_spec *ls, int n, vp_shape in, int classes, vp_err *err);

/* A trainer of the n layers ls (copied) on inputs of shape `in`; o as core/train.h
 * (total_steps for cosine). VP_ERR_CONFIG for what is refused above, naming the layer. */
vp_status vp_net_trainer_create(vp_net_trainer **out, const vp_layer_spec *ls, int n, vp_shape in, int max_batch,
                                vp_precision prec, const vp_train_opts *o, vp_err *err);
void vp_net_trainer_free(vp_net_trainer *t); /* NULL-safe */
void vp_net_trainer_set_pool(vp_net_trainer *t, vp_pool *pool);

/* Draw every parameter (vp_net_init_params: gamma 1, beta 0, alpha its start, running
 * statistics 0 and 1); zero optimizer state, step 0. */
vp_status vp_net_trainer_init_params(vp_net_trainer *t, uint64_t seed, vp_err *err);

/* One step on n examples: forward, loss, backward, update (info may be NULL). */
vp_status vp_net_trainer_step(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, vp_train_step_info *info,
                              vp_err *err);

/* Mean loss and correct predictions over n examples, any n, in chunks of max_batch (the
 * loss summed as chunk mean x chunk rows in double, divided by n); batchnorm with the
 * running statistics. No update. */
vp_status vp_net_trainer_eval(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                              long long *correct, vp_err *err);

/* Every layer's statistics (stats[0..layers-1], as vp_net_forward/backward) on n <=
 * max_batch examples with the current weights, the gradients those of the true loss on
 * (x, y) with dL/dW the gradient of the batch-mean loss. Parameters, optimizer state and
 * the step counter are unchanged. */
vp_status vp_net_trainer_probe(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, vp_block_stats *stats,
                               vp_err *err);

long vp_net_trainer_steps(const vp_net_trainer *t);

/* Checkpoint: a header (network sizes, precision, optimizer, step), every parameter
 * (W, b, auxiliary), the running statistics and the optimizer state, as native bytes.
 * restore refuses (VP_ERR_DATA) a checkpoint of another network, precision or
 * optimizer; afterwards the next steps give the same bits as if training had not
 * stopped. */
size_t vp_net_trainer_checkpoint_size(const vp_net_trainer *t);
vp_status vp_net_trainer_checkpoint(const vp_net_trainer *t, void *buf, size_t len, vp_err *err);
vp_status vp_net_trainer_restore(vp_net_trainer *t, const void *buf, size_t len, vp_err *err);
/* The trained net (borrowed): vp_net_export / vp_net_import of its layers, for tests. */
vp_net *vp_net_trainer_net(vp_net_trainer *t);

#endif
