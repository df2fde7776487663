/* net: a block network at initialization -- a flat list of layers (dense, conv2d,
 * pooling, flatten, normalization, residual add) built from a nested description
 * (experiment/net_config.c turns "network.layers" into one), its forward and backward
 * pass and the per-layer statistics of vp_layer_stats, one set per layer output.
 * The MLP engine (core/mlp.h) stays the fast path for plain depth/width stacks.
 *
 * Tensors: example b holds C x H x W values, channel-major (PyTorch NCHW); a dense
 * layer's output is C = n, H = W = 1. Layer i reads the output of layer i - 1 (layer
 * 0 reads the input), except a residual add, which also reads the output of its skip
 * layer: out = x_skip + alpha * x_branch (the branch is the layers between).
 * Normalization layers carry PyTorch's elementwise affine (gamma = 1, beta = 0 at
 * initialization; trained by core/net_train.h): y = gamma * xhat + beta, with xhat the
 * standardized value below (rmsnorm: gamma only, as torch.nn.RMSNorm).
 *   dense:    z = x W^T + b,   h = phi(z)            W [n_out, n_in]
 *   conv2d:   z[o,p] = sum_{i,t} W[o, i, t] x[i, p*stride + t - padding] + b[o],  h = phi(z)
 *             (cross-correlation, zero padding; W [C_out, C_in k k]), computed as
 *             im2col + GEMM (core/conv.h) through core/gemm.h
 *   maxpool2d / avgpool2d: windows size x size, stride (PyTorch, no padding)
 *   layernorm: y = (x - mean) / sqrt(var + 1e-5) over each example's C H W values
 *   rmsnorm:   y = x / sqrt(mean(x^2) + eps), eps = the precision's machine epsilon
 *              (PyTorch's eps=None)
 *   batchnorm: per channel over the batch and positions, eps 1e-5, by the net's
 *              vp_bn_mode: batch statistics (biased variance; the default, and what
 *              every measurement uses), the same plus PyTorch's running-statistics
 *              update (momentum 0.1: r <- 0.9 r + 0.1 s, the running variance fed the
 *              unbiased batch variance, n / (n - 1) with n = batch x positions; running
 *              mean 0 and variance 1 at initialization), or the running statistics
 *              (evaluation: y = (x - r_mean) / sqrt(r_var + eps))
 *   residual:  out = x_skip + alpha x_branch (alpha a parameter when alpha_param:
 *              SkipInit, ReZero, Fixup's multiplier; else a constant)
 * Backward probe: dL/d(out of the last layer) = g ~ N(0,1), element e of the
 * normal stream (seed, 0, PROBE) as vp_mlp_backward; dL/dW = (1/B) sum over examples.
 * Every product goes through core/gemm.h and every other loop runs on the calling
 * thread in a fixed order, so the bytes are the same whatever the pool.
 *
 * Streams: the weights and biases of layer i (0-based) use vp_rng_make(seed, i + 1,
 * WEIGHT/BIAS): a dense-only net draws what vp_mlp draws for the same widths. The
 * auxiliary parameters (gamma, beta, a trained alpha) and running statistics are set,
 * not drawn.
 *
 * Ownership: vp_net_create copies the layer list (paths included); vp_net_free
 * releases everything (NULL-safe). A vp_net is used by one thread at a time.
 */
#ifndef VP_NET_H
#define VP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/pool.h"
#include "core/act.h"
#include "core/init.h"
#include "core/mlp.h"

typedef enum {
    VP_LAYER_DENSE,
    VP_LAYER_CONV2D,
    VP_LAYER_MAXPOOL2D,
    VP_LAYER_AVGPOOL2D,
    VP_LAYER_FLATTEN,
    VP_LAYER_LAYERNORM,
    VP_LAYER_BATCHNORM,
    VP_LAYER_RMSNORM,
    VP_LAYER_RESIDUAL,
    VP_LAYER_KIND_COUNT
} vp_layer_kind;

/* The config spelling and the layers.csv `type` ("dense", "conv2d", ...). */
const char *vp_layer_kind_name(vp_layer_kind k);
/* The kind called `name`, or VP_LAYER_KIND_COUNT. */
vp_layer_kind vp_layer_kind_find(const char *name);
/* 1 for dense and conv2d (the layers with weights). */
int vp_layer_has_weights(vp_layer_kind k);
/* 1 for the normalization layers. */
int vp_layer_is_norm(vp_layer_kind k);

/* A layer output: C x H x W per example; flat (after flatten or dense): C = n, H = W = 1. */
typedef struct { int c, h, w, flat; } vp_shape;
static inline size_t vp_shape_size(vp_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

/* How the weights of a dense/conv2d layer are drawn. */
typedef enum {
    VP_WDRAW_REGISTRY,         /* `winit` with PyTorch fans (conv: fan_in = C_in k^2,
                                  fan_out = C_out k^2), then times wscale */
    VP_WDRAW_DELTA_ORTHOGONAL, /* Xiao et al. 2018: gain H at the centre tap, zero elsewhere */
} vp_wdraw;

/* One layer of the flat list. */
typedef struct {
    vp_layer_kind kind;
    char *path;          /* where it came from, e.g. "network.layers[0][3].layers[0].branch[1]" */
    int out;             /* dense: width; conv2d: out_channels */
    int kernel, stride, padding; /* conv2d (kernel, stride, padding); pools (size, stride) */
    vp_act act;          /* dense, conv2d: elementwise activations only */
    vp_init winit, binit;/* "auto" gains resolved */
    vp_wdraw wdraw;
    double delta_gain;   /* VP_WDRAW_DELTA_ORTHOGONAL */
    double wscale;       /* weights times wscale after the draw (Fixup's L^(-1/(2m-2)), 0 for
                            its zero layers; 1 otherwise) */
    int skip;            /* residual: index of the layer whose output is the skip path, -1 the input */
    double alpha;        /* residual: branch scale (SkipInit, ReZero: 0) */
    int fixup;           /* residual: its branch is initialized by Fixup (vp_net_fixup) */
    int alpha_param;     /* residual: alpha is a trained scalar starting at `alpha` (SkipInit,
                            ReZero: 0; Fixup's multiplier: 1); 0: a constant */
    int prebias;         /* dense, conv2d: Fixup's scalar bias s (rule 3), trained from 0,
                            added to the layer's input: z = W (x + s) + b (zero padding
                            stays 0, as PyTorch's conv2d(x + s)) */
} vp_layer_spec;

/* A layer of kind k with every field at its neutral value: weight scale 1, stride 1,
 * alpha 1, no skip (-1), everything else zero (activation, initializers, sizes:
 * the caller sets them). The config parser and the tests start from it. */
vp_layer_spec vp_layer_plain(vp_layer_kind k);

/* Fixup (Zhang, Dauphin, Ma 2019, rules 1-3): with L the number of residual layers
 * marked `fixup` and m the number of weight layers (dense, conv2d) in a marked
 * branch, every weight layer of that branch gets wscale L^(-1/(2m-2)) except its
 * last, which gets 0 (its bias is drawn by binit: give zeros, as Fixup does). So the
 * branch outputs phi(0 + b) = 0 at initialization and the block is the identity.
 * Rule 3: every weight layer of the branch gets `prebias` (a scalar bias before it,
 * from 0); the scalar before each activation is the layer's own bias (per channel,
 * a superset), and the branch's multiplier is the residual's trained alpha
 * (alpha_param, set by the config). A marked branch with m < 2 has no Fixup scale:
 * VP_ERR_CONFIG, *bad its index. */
vp_status vp_net_fixup(vp_layer_spec *ls, int n, int *bad, vp_err *err);

/* Output shapes of the layers (out[i] for layer i) from input shape `in`. On a
 * mismatch: VP_ERR_CONFIG, *bad the layer's index, and a message with both shapes
 * (without the path: the caller prefixes it). */
vp_status vp_net_shapes(const vp_layer_spec *ls, int n, vp_shape in, vp_shape *out, int *bad, vp_err *err);
/* Number of weights and biases of layer i (0 for layers without weights). */
size_t vp_net_layer_params(const vp_layer_spec *l, vp_shape in);
/* Number of auxiliary parameters of a layer whose output has shape `out`: layernorm
 * 2 C H W (gamma, then beta, elementwise over an example), rmsnorm C H W (gamma),
 * batchnorm 2 C (per channel), a residual with alpha_param 1, a dense/conv2d layer
 * with prebias 1; else 0. */
size_t vp_net_layer_aux(const vp_layer_spec *l, vp_shape out);
/* "[C, H, W]" or "[n]" (H = W = 1). */
void vp_shape_text(vp_shape s, char *buf, size_t len);

/* The measured quantities of one layer output: vp_layer_stats (dense/conv2d: z and h
 * as the MLP; other layers: pre = post = the output, grad_pre = grad_post; the SPP
 * unit_* per channel, Brock et al. 2021, biased, over batch x positions; variances
 * over every entry), plus for a residual add the variances of alpha x_branch and of
 * x_skip and their ratio (NaN for other layers). */
typedef struct {
    vp_layer_stats s;
    double branch_var, skip_var, branch_skip_ratio;
} vp_block_stats;

typedef struct vp_net vp_net;

/* Bytes vp_net_create would allocate. */
double vp_net_bytes(const vp_layer_spec *ls, int n, vp_shape in, int batch, vp_precision prec);
vp_status vp_net_create(vp_net **out, const vp_layer_spec *ls, int n, vp_shape in, int batch, vp_precision prec,
                        vp_err *err);
void vp_net_free(vp_net *net);
void vp_net_set_pool(vp_net *net, vp_pool *pool);
int vp_net_layers(const vp_net *net);
vp_shape vp_net_shape(const vp_net *net, int i); /* i = -1: the input */
const vp_layer_spec *vp_net_layer(const vp_net *net, int i);

/* Draw every weight and bias (streams above); set gamma = 1, beta = 0, a trained alpha
 * to the spec's alpha, running means 0 and variances 1. */
vp_status vp_net_init_params(vp_net *net, uint64_t seed, vp_err *err);
/* x: B x (C H W) doubles, example-major. */
void vp_net_set_input(vp_net *net, const double *x);
/* Forward pass; stats (may be NULL) gets n entries. */
vp_status vp_net_forward(vp_net *net, vp_block_stats *stats, vp_err *err);
/* Backward pass with the random probe (vp_mlp_backward's stream), weight gradients
 * averaged over the batch; must follow vp_net_forward. */
vp_status vp_net_backward(vp_net *net, uint64_t seed, vp_block_stats *stats, vp_err *err);
/* The same from a given g = dL/d(output) (B x out-size doubles) with dL/dW = wscale x
 * the sum over examples. */
vp_status vp_net_backward_from(vp_net *net, const double *g, double wscale, vp_block_stats *stats, vp_err *err);

/* ---- what a trainer (core/net_train.h) needs ----
 * The passes above with stats = NULL compute no statistics (the outputs and gradients
 * are the same bits). */

/* Run the passes on the first n examples (1 <= n <= the batch given to create; the
 * offsets do not move, so a smaller batch reuses the same memory). VP_ERR_USAGE else. */
vp_status vp_net_set_batch(vp_net *net, int n, vp_err *err);
int vp_net_batch(const vp_net *net);
/* 0: the backward pass skips dL/d(input) of a first dense/conv2d layer (a trainer does
 * not need it); 1 (the default): computed. */
void vp_net_set_input_grad(vp_net *net, int on);
/* x: B x (C H W) values in the net's precision (float for VP_F32, double for VP_F64). */
void vp_net_set_input_raw(vp_net *net, const void *x);
/* Borrowed pointers (the net's precision) to the output of layer i (-1: the input) and to
 * dL/d(that output): B x size values each. */
void *vp_net_data(vp_net *net, int i);
void *vp_net_grad_data(vp_net *net, int i);
/* Backward from dL/d(output) already written at vp_net_grad_data(net, n - 1); dL/dW =
 * wscale x the sum over examples. */
vp_status vp_net_backward_given(vp_net *net, double wscale, vp_block_stats *stats, vp_err *err);

/* Every weight of every layer in one block W (nw values; layer i's at its woff, [out, in]
 * or [C_out, C_in k k] row-major), every bias in one block b (nb values) and every
 * auxiliary parameter (vp_net_layer_aux, layer order) in one block a (na values), with
 * their gradients dW, db, da of the last backward (da = wscale x the sum over examples,
 * as dW); borrowed, in the net's precision. */
typedef struct {
    void *W, *b, *dW, *db;
    size_t nw, nb;
    void *a, *da;
    size_t na;
} vp_net_params;
vp_net_params vp_net_param_blocks(vp_net *net);
/* Offsets of layer i's weights and biases in those blocks. */
void vp_net_layer_offsets(const vp_net *net, int i, size_t *woff, size_t *boff);
/* Offset of layer i's auxiliary parameters in the block a. */
size_t vp_net_layer_aux_offset(const vp_net *net, int i);

/* How batchnorm layers standardize in vp_net_forward (net.h's header). The mode stays
 * until changed; VP_BN_BATCH at creation. */
typedef enum {
    VP_BN_BATCH,        /* batch statistics (measurements, probes) */
    VP_BN_BATCH_UPDATE, /* batch statistics, then the running-statistics update (a training
                           step); the forward fails (VP_ERR_USAGE) with fewer than 2 values
                           per channel, as PyTorch does */
    VP_BN_RUNNING,      /* running statistics (evaluation); no backward pass after it */
} vp_bn_mode;
void vp_net_set_bn_mode(vp_net *net, vp_bn_mode mode);
/* Every batchnorm layer's running mean (C values) then running variance (C values), in
 * layer order, in the net's precision (nr values in all); borrowed. */
void *vp_net_running(vp_net *net, size_t *nr);

/* Copies as doubles (any pointer may be NULL; i = -1 is the input for out/grad):
 * the output of layer i and dL/d(that output) (B x size), its weights W and bias b
 * (dense [out, in]; conv2d [C_out, C_in k k]) and dL/dW, dL/db of the last backward. */
void vp_net_export(const vp_net *net, int i, double *out, double *grad, double *W, double *b, double *dW,
                   double *db);
/* Overwrite the weights/bias of layer i (W or b may be NULL). */
void vp_net_import(vp_net *net, int i, const double *W, const double *b);
/* Layer i's auxiliary parameters (vp_net_layer_aux values) and their gradient as doubles
 * (either may be NULL), and overwriting them. */
void vp_net_export_aux(const vp_net *net, int i, double *a, double *da);
void vp_net_import_aux(vp_net *net, int i, const double *a);

#endif
