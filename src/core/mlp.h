/* mlp: a deep fully connected network at initialization, its forward and
 * backward pass, and the per-layer statistics varprop reports.
 *
 * Definitions (README "What is measured"): h^0 = x (batch B x n_0); for l = 1..L
 *   z^l = h^{l-1} W^{lT} + b^l,   h^l = phi(z^l),   W^l is [n_l, n_{l-1}] row-major.
 * Backward probe: dL/dh^L = g, g ~ N(0,1) i.i.d. per example (a random readout);
 *   dL/dz^l = dL/dh^l * phi'(z^l),  dL/dh^{l-1} = dL/dz^l W^l,
 *   dL/dW^l = (1/B) (dL/dz^l)^T h^{l-1}   (batch mean of per-example gradients).
 * All variances are population variances over every entry of the tensor,
 * accumulated in double. Products go through OpenBLAS (sgemm/dgemm).
 *
 * Memory, store mode (the default): one block for all weights, one for biases, z
 * (overwritten in place by phi'(z) once its statistics are taken) and h for every
 * layer, plus two gradient rows-blocks, one weight-gradient block and the backward
 * probe. Recompute mode (vp_mlp_memory, docs/memory.md): no weight is kept -- W^l is
 * drawn again from its stream (seed, l, WEIGHT) into a one-layer buffer whenever a
 * pass needs it -- and h is kept only at the checkpoints l = 0, k, 2k, ... plus one
 * segment of k layers of z and h, which the backward pass recomputes from the
 * segment's checkpoint. The same products and statistics passes run on the same
 * operands, so every statistic is the same bits as in store mode. Nothing is
 * allocated per pass. Ownership: vp_mlp_create allocates, vp_mlp_free releases (NULL-safe).
 * A vp_mlp is used by one thread at a time; the library holds no global state.
 */
#ifndef VP_MLP_H
#define VP_MLP_H

#include <stddef.h>
#include <stdint.h>
#include "core/act.h"
#include "base/pool.h"
#include "base/err.h"
#include "core/init.h"

typedef enum { VP_F32, VP_F64 } vp_precision;

typedef struct {
    int layer, fan_in, fan_out;
    double pre_mean, pre_var;        /* z^l */
    double pre_corr;                 /* mean pairwise correlation of z^l across examples
                                        (vp_batch_corr's estimator); NaN for B < 2 */
    double post_mean, post_var;      /* h^l */
    double grad_pre_var;             /* dL/dz^l */
    double grad_post_var;            /* dL/dh^l */
    double wgrad_var;                /* dL/dW^l */
    double unit_sq_mean, unit_var;   /* Brock et al. 2021 SPP quantities of h^l */
    double dead_frac;                /* units with phi'(z) = 0 for every example */
    double saturated_frac;           /* entries with |phi'| < 5% of its peak (bounded phi) */
    long long nonfinite;             /* NaN/Inf entries met in z, h, dL/dz, dL/dh, dL/dW */
    long long subnormal;             /* subnormal (denormal) entries in the same tensors:
                                        finite, but with fewer significant bits */
} vp_layer_stats;

/* Histogram request: for each layer l with layers[l-1] != 0, histograms of z^l,
 * h^l and dL/dz^l with `bins` equal bins over the finite [min, max] range. */
typedef enum { VP_HIST_PRE, VP_HIST_POST, VP_HIST_GRAD_PRE, VP_HIST_QUANTITIES } vp_hist_quantity;
typedef struct {
    int bins;
    double lo, hi;          /* finite [min, max]; [v - 1/2, v + 1/2] for a constant tensor v;
                               NaN when no entry is finite */
    double *density;        /* bins values, sum(density)*(hi-lo)/bins = 1 */
} vp_histogram;

typedef struct vp_mlp vp_mlp;

/* Where the weights and activations live (docs/memory.md). recompute = 0: store
 * mode, every W^l, z^l and h^l kept. recompute = 1: weights drawn again when needed,
 * h^l kept every `every` layers (0: the default, vp_mlp_checkpoint_every). A NULL
 * vp_mlp_memory * means store mode. */
typedef struct {
    int recompute;
    int every;
} vp_mlp_memory;

/* The checkpoint interval k recompute mode uses for depth L: `every` clamped to
 * 1..L, or for every = 0 the default ceil(sqrt(L)) -- checkpoints and one segment
 * then hold about 2 sqrt(L) layers of activations instead of L (Chen et al. 2016,
 * "Training deep nets with sublinear memory cost"), for one extra forward pass. */
int vp_mlp_checkpoint_every(int L, int every);

/* Bytes vp_mlp_create would allocate for this shape (for refusing, up front,
 * runs that do not fit in memory); vp_mlp_bytes_mem for a memory mode. */
double vp_mlp_bytes(int L, const int *widths, int batch, vp_precision prec, vp_act act);
double vp_mlp_bytes_mem(int L, const int *widths, int batch, vp_precision prec, vp_act act,
                        const vp_mlp_memory *mem);

/* widths[0..L]; batch B. Copies widths. vp_mlp_create_mem with a memory mode (mem
 * may be NULL: store). In recompute mode vp_mlp_view and vp_mlp_export_layer see no
 * weights (store mode only: training and the Jacobian need them all at once),
 * vp_mlp_lsuv records its rescalings (replayed on every later draw) and the moments
 * vp_mlp_weight_moments returns, and the errors of a weight draw (vp_init_weight)
 * come from the passes instead of vp_mlp_init_params. */
vp_status vp_mlp_create(vp_mlp **out, int L, const int *widths, int batch, vp_precision prec,
                        vp_act act, vp_err *err);
vp_status vp_mlp_create_mem(vp_mlp **out, int L, const int *widths, int batch, vp_precision prec,
                            vp_act act, const vp_mlp_memory *mem, vp_err *err);
void vp_mlp_free(vp_mlp *m);
/* 1 if m was created with this memory mode (and checkpoint interval). */
int vp_mlp_same_memory(const vp_mlp *m, const vp_mlp_memory *mem);

/* 1 if m has exactly this shape, batch and precision (so it can be reused for
 * another run: every buffer is rewritten by init_params, set_input and the passes). */
int vp_mlp_same_shape(const vp_mlp *m, int L, const int *widths, int batch, vp_precision prec, vp_act act);
/* Threads for the products of this network's passes (borrowed; NULL = the calling
 * thread only). The results are the same bits whatever the pool (core/gemm.h). */
void vp_mlp_set_pool(vp_mlp *m, vp_pool *pool);
/* Keep the unit draws of normal initializers between vp_mlp_init_params calls (core/init.h
 * vp_unit_draw; on = 1), so the next run of the same seed and shape with another loc or
 * scale -- a sigma grid, another normal initializer -- skips the generator, with the
 * same bits. Store mode only, and only while the draws of every layer's W and b take
 * at most VP_MLP_UNIT_CACHE_BYTES (vp_mlp_bytes_mem counts them); on = 0 frees them. */
#define VP_MLP_UNIT_CACHE_BYTES (16.0 * 1048576.0)
void vp_mlp_set_unit_cache(vp_mlp *m, int on);
/* Change the activation of an existing network. */
void vp_mlp_set_act(vp_mlp *m, vp_act act);

int vp_mlp_depth(const vp_mlp *m);
int vp_mlp_width(const vp_mlp *m, int l);   /* n_l, l = 0..L */

/* The hidden stack of a net of widths n_0..n_L: the layers first..last (1-based) of
 * the longest run of consecutive layers with equal widths n_l (the first such run on
 * a tie), or the whole net 1..L when no two consecutive layers are as wide. For
 * 784 -> 1000 x5 -> 10 it is layers 1..5: the readout (1000 -> 10) is not part of it.
 * For equal widths (n_0 may differ) it is 1..L. Depth ratios, their verdicts, depth
 * scales and chi_1 are taken over it, so that a readout of another width does not
 * pass for a vanishing or exploding stack. */
void vp_mlp_stack(int L, const int *widths, int *first, int *last);

/* Draw every W^l with `winit` and every b^l with `binit` (binit ignored when
 * winit sets the biases, e.g. mean_field). Streams: vp_rng_make(seed, l, WEIGHT/BIAS).
 * `winit` must have its "auto" gains resolved. LSUV is a separate step. */
vp_status vp_mlp_init_params(vp_mlp *m, const vp_init *winit, const vp_init *binit, uint64_t seed,
                             vp_err *err);

/* Input batch x (B x n_0, row-major, double) copied into h^0. */
void vp_mlp_set_input(vp_mlp *m, const double *x);

/* LSUV (Mishkin & Matas 2016): layer by layer, W^l /= sqrt(Var[z^l]) until
 * |Var[z^l] - 1| < tol or max_iter rescalings; uses the current input batch.
 * iters_out[l-1] (may be NULL) receives the rescalings used per layer, or -1 for a
 * layer whose Var[z^l] is 0 or not finite: it cannot be rescaled to unit variance and
 * keeps its weights (the later layers are rescaled as usual). */
vp_status vp_mlp_lsuv(vp_mlp *m, double tol, int max_iter, int *iters_out, vp_err *err);

/* Forward pass: fills the forward fields of stats[0..L-1] (layer l in stats[l-1]).
 * hist (may be NULL) has L * VP_HIST_QUANTITIES entries indexed
 * (l-1)*VP_HIST_QUANTITIES + q; entries with density == NULL are skipped;
 * the caller allocates density arrays of `bins` doubles. */
vp_status vp_mlp_forward(vp_mlp *m, vp_layer_stats *stats, vp_histogram *hist, vp_err *err);

/* Per-example squared lengths: with sq_len not NULL (B * L doubles, borrowed, kept
 * until changed), each vp_mlp_forward also writes sq_len[b * L + l - 1] = ||z^l_b||^2 / n_l
 * (z^l of example b, n_l its width; 2 n_l entries for GLU), summed in double in unit
 * order. NULL (the default) turns it off. */
void vp_mlp_set_lengths(vp_mlp *m, double *sq_len);

/* Backward pass with the N(0,1) probe from vp_rng_make(seed, 0, VP_RNG_PROBE);
 * must follow vp_mlp_forward. Fills the gradient fields of stats. The network keeps
 * the probe of the last seed (B x n_L values), so runs of one network with the same
 * seed draw it once. */
vp_status vp_mlp_backward(vp_mlp *m, uint64_t seed, vp_layer_stats *stats, vp_histogram *hist,
                          vp_err *err);

/* Copy W^l (zw_l x n_{l-1}; zw_l = n_l, or 2 n_l for GLU) and phi'(z^l) of example
 * `b` (elementwise activations: n_l values) as doubles, after vp_mlp_forward (for the
 * Jacobian spectrum). Either pointer may be NULL. */
void vp_mlp_export_layer(const vp_mlp *m, int l, int b, double *W, double *dphi);

/* Mean pairwise correlation across the B rows (examples) of x (B x n, row-major):
 *   c = [sum_{a != b} <x_a, x_b> / (B (B-1))] / [sum_b ||x_b||^2 / B]
 *     = sum_j (m_j^2 - v_j/(B-1)) / sum_j (m_j^2 + v_j),
 * m_j, v_j the batch mean and population variance of column j, using
 * sum_{a != b} <x_a, x_b> = ||sum_b x_b||^2 - sum_b ||x_b||^2: O(B n), from the same
 * per-column sums as the variances (the forward pass takes pre_corr this way). The
 * mean-field c^l = q_ab / q_aa with the lengths averaged over the batch (no centring).
 * NaN for B < 2, non-finite entries or an all-zero x. */
double vp_batch_corr(const double *x, int B, int n);

/* Empirical fan_in * mean(W^2) and mean(b^2) of layer l (for theory with
 * data-dependent initializers). Recompute mode: those vp_mlp_lsuv took (NaN if it
 * did not run on these weights). */
void vp_mlp_weight_moments(const vp_mlp *m, int l, double *sigma_w2, double *sigma_b2);

/* ---- training support (core/train.h builds its passes on these) ---- */

/* Rows the passes use (forward, backward, LSUV): the first n rows of every block,
 * 1 <= n <= B (anything else means B; B is the default). The results for n rows
 * depend only on those rows. The random probe of vp_mlp_backward is the first n rows
 * of the B-row probe. */
void vp_mlp_set_rows(vp_mlp *m, int n);
int vp_mlp_rows(const vp_mlp *m);
vp_precision vp_mlp_precision(const vp_mlp *m);

/* Borrowed pointers into the network's blocks for layer l (0..L), in its precision
 * (float * or double *): h^l [B, n_l]; for l >= 1 also W^l [n_l, n_{l-1}], b^l [n_l]
 * and z^l [B, n_l] (elementwise activations: after a forward pass z^l holds phi'(z^l));
 * NULL for l = 0. Valid until vp_mlp_free. */
typedef struct {
    int fan_in, fan_out;
    void *W, *b, *z, *h;
} vp_mlp_layer_view;
void vp_mlp_view(vp_mlp *m, int l, vp_mlp_layer_view *v);

/* vp_mlp_backward from a given g = dL/dh^L ([rows, n_L] in the net's precision,
 * copied), with dL/dW^l = wscale (dL/dz^l)^T h^{l-1}: wscale = 1 for a batch-mean loss
 * (the loss carries the 1/n); vp_mlp_backward is this with its probe and 1/rows.
 * Must follow vp_mlp_forward. */
vp_status vp_mlp_backward_from(vp_mlp *m, const void *g, double wscale, vp_layer_stats *stats,
                               vp_histogram *hist, vp_err *err);

/* Every vp_layer_stats field but layer/fan_in/fan_out of a linear layer (h = z,
 * phi' = 1: post = pre, grad_post = grad_pre, no dead or saturated unit) from its
 * tensors z [rows, fan_out], dL/dz [rows, fan_out] and dL/dW [fan_out, fan_in], in
 * precision prec; acc is scratch of 3 max(fan_in, fan_out) doubles. */
void vp_linear_stats(vp_precision prec, const void *z, const void *gz, const void *dW, size_t rows,
                     size_t fan_in, size_t fan_out, double *acc, vp_layer_stats *st);

#endif
