/* net_train: a block network (core/net.h) being trained -- the same three passes as
 * core/train.h (a training step, an evaluation, a probe measurement) with the same
 * semantics, for any network of dense, conv2d, pooling, flatten, layer/rms norm and
 * residual layers.
 *
 * The readout is the network's own last layer: its output must be flat with one value
 * per class (the LeNet ends with Dense(10, linear)); those values are the
 * logits of the loss (core/loss.h, batch mean). There is no extra readout layer and no
 * readout_init.
 *
 * Owns: the net (its parameters, gradients and activations), the optimizer state, the
 * step counter. Borrowed: the data (x, y of each call), the pool.
 *
 * Math: forward and backward are core/net.h's passes (no statistics in a step), the
 * backward starting from dL/dlogits with dL/dW = the sum over the batch (the loss
 * already carries the 1/n), so the gradient is that of the batch-mean loss:
 *   dense:  dL/dW = (dL/dz)^T x, dL/db = column sums of dL/dz
 *   conv2d: dL/dW = sum_b dL/dz_b col(x_b)^T, dL/db[o] = sum over batch and positions
 * Parameters, flat for core/optim.h: every weight (layer order, each [out, in] or
 * [C_out, C_in k k] row-major), then every bias (layer order); the optimizer is
 * elementwise, so the order changes no bit of the update. grad_norm is the L2 norm of
 * the whole gradient before the update, the squares added in that flat order in double.
 * Normalization layers have no parameters (gamma = 1, beta = 0 fixed: PyTorch's
 * elementwise_affine=False) and a residual's alpha is a constant.
 *
 * Refused (VP_ERR_CONFIG): a last layer whose output is not [classes]; batchnorm (its
 * evaluation needs running statistics, not kept yet); a residual with alpha = 0
 * (SkipInit/ReZero train alpha, which is not a parameter yet: the branch would never
 * move); row-wise activations are refused by the config already.
 *
 * Batches: each call takes 1 <= n <= max_batch examples; x is [n, C H W] row-major
 * (NCHW) in the trainer's precision (float * for VP_F32, double * for VP_F64), y [n]
 * class indices. The result for n rows depends on those rows only.
 *
 * Determinism: products through core/gemm.h, every other loop on the calling thread
 * in a fixed order: the same bits whatever the pool. Randomness only at
 * vp_net_trainer_init_params (vp_net_init_params: streams (seed, i + 1, WEIGHT/BIAS)).
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
 * output, batchnorm, alpha = 0), as VP_ERR_CONFIG naming the layer's path; so a runner
 * can refuse a config before anything is written. */
vp_status vp_net_trainer_check(const vp_layer_spec *ls, int n, vp_shape in, int classes, vp_err *err);

/* A trainer of the n layers ls (copied) on inputs of shape `in`; o as core/train.h
 * (total_steps for cosine). VP_ERR_CONFIG for what is refused above, naming the layer. */
vp_status vp_net_trainer_create(vp_net_trainer **out, const vp_layer_spec *ls, int n, vp_shape in, int max_batch,
                                vp_precision prec, const vp_train_opts *o, vp_err *err);
void vp_net_trainer_free(vp_net_trainer *t); /* NULL-safe */
void vp_net_trainer_set_pool(vp_net_trainer *t, vp_pool *pool);

/* Draw every parameter (vp_net_init_params); zero optimizer state, step 0. */
vp_status vp_net_trainer_init_params(vp_net_trainer *t, uint64_t seed, vp_err *err);

/* One step on n examples: forward, loss, backward, update (info may be NULL). */
vp_status vp_net_trainer_step(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, vp_train_step_info *info,
                              vp_err *err);

/* Mean loss and correct predictions over n examples, any n, in chunks of max_batch (the
 * loss summed as chunk mean x chunk rows in double, divided by n). No update. */
vp_status vp_net_trainer_eval(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                              long long *correct, vp_err *err);

/* Every layer's statistics (stats[0..layers-1], as vp_net_forward/backward) on n <=
 * max_batch examples with the current weights, the gradients those of the true loss on
 * (x, y) with dL/dW the gradient of the batch-mean loss. Parameters, optimizer state and
 * the step counter are unchanged. */
vp_status vp_net_trainer_probe(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, vp_block_stats *stats,
                               vp_err *err);

long vp_net_trainer_steps(const vp_net_trainer *t);
/* The trained net (borrowed): vp_net_export / vp_net_import of its layers, for tests. */
vp_net *vp_net_trainer_net(vp_net_trainer *t);

#endif
