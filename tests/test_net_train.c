/* Tests of the block-network trainer (src/core/net_train.c, core/net_train.h).
 *
 * 1. Gradient: every weight, bias and auxiliary parameter (norm gamma/beta, a trained
 *    residual alpha) of four networks -- the LeNet shape (conv2d, maxpool2d, flatten,
 *    dense, dense), a pre-norm residual MLP (layernorm, residual, rmsnorm), a
 *    convolutional residual net (padded convs, residual, avgpool2d) and a conv net with
 *    batchnorm and a pre-layernorm residual whose alpha is trained -- against central
 *    finite differences of the loss (batchnorm with the batch's statistics, as the
 *    step differentiates), float64; gamma and beta are moved off 1 and 0 first so that
 *    every term of the gradient is live. SkipInit (alpha = 0): the first step moves
 *    alpha only (its gradient against a finite difference), the branch's weights get an
 *    exactly zero gradient, and the block is the identity (residual-norm-conv.md 10.10).
 *    Fixup's scalar biases before weight layers (dense and padded conv, the first
 *    layer's included) and its multiplier against finite differences too. The analytic gradient is
 *    read off one SGD step with lr = 1 (theta' = theta - g, exact to one rounding of
 *    theta'). Error budget as tests/test_train_core.c: step h = 1e-5, truncation
 *    h^2 |L'''| / 6 (|L'''| <= 100 for these O(1) nets: 2e-9) and rounding of the loss
 *    ~ 16 u |L| / h (2e-10 |L|), so tol = 1e-8 (1 + |L|) + 1e-7 |g|. Smooth activations
 *    (tanh); the max pool's argmax cannot switch under a perturbation because the test
 *    first checks that every window's top two values are further apart than the largest
 *    change a perturbation can make (ggml's warning about kinks). A gradient that is zero
 *    in a whole layer fails (genann's guard).
 * 2. Adam's first step with Keras' defaults (lr 1e-3, betas 0.9/0.999, eps 1e-7):
 *    theta - lr g / (|g| + eps) (bias corrections cancel at t = 1; PyTorch's placement
 *    of eps, docs/training.md "Block networks").
 * 3. n < max_batch rows give the bits of a trainer whose max_batch is n; eval in chunks
 *    equals one chunk to rounding, and the correct count exactly.
 * 4. probe: parameters and step counter unchanged; statistics finite.
 * 5. 1 thread vs 2 threads: the same bits after Adam steps (float32).
 * 6. Refusals: a last layer that is not [classes], a constant alpha = 0 (a trained one
 *    is accepted, and so is batchnorm).
 * 6b. Batchnorm running statistics: residual-norm-conv.md check 13 (channel {1,2,3,4}:
 *    running mean 0.25, running var 0.9 + 0.1 x 5/3), the evaluation standardizing with
 *    them, the probe leaving them alone; a one-value-per-channel batch refused.
 * 6c. Checkpoint: k steps, checkpoint, m more, against a fresh trainer restored from the
 *    checkpoint doing the same m: the same bits (parameters, running statistics,
 *    losses); a checkpoint of another network refused.
 * 7. Learning: a conv net reaches >= 97% test accuracy on separable synthetic clusters
 *    (nearest centroid scores 99.75-100% there, docs/training.md).
 * 8. Through the runner (varprop run): a conv + batchnorm + pre-norm SkipInit residual
 *    net on synthetic data gives the same train/eval/layers_train/layers bytes for --threads 1, 2 and 3, the
 *    expected row counts; a readout that is not [classes], train.readout_init and
 *    train.hist_bins exit 2 naming the path, nothing written; SIGINT then --resume
 *    ends with the bytes of an uninterrupted run. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "core/dataset.h"
#include "core/net_train.h"
#include "core/rng.h"
#include "harness.h"
#include "results/results.h"

/* ------------------------------------------------------------------ helpers */

static vp_layer_spec L_(vp_layer_kind k)
{
    vp_layer_spec l = vp_layer_plain(k);
    l.act = vp_act_default(VP_ACT_IDENTITY);
    l.winit = vp_init_default(VP_INIT_KAIMING_NORMAL);
    l.binit = vp_init_default(VP_INIT_NORMAL);
    l.binit.p[1] = 0.1; /* small nonzero biases: every term of the gradient is live */
    return l;
}
static vp_layer_spec dense(int n, vp_act_kind a)
{
    vp_layer_spec l = L_(VP_LAYER_DENSE);
    l.out = n;
    l.act = vp_act_default(a);
    return l;
}
static vp_layer_spec conv(int co, int k, int p, vp_act_kind a)
{
    vp_layer_spec l = L_(VP_LAYER_CONV2D);
    l.out = co;
    l.kernel = k;
    l.padding = p;
    l.act = vp_act_default(a);
    return l;
}
static vp_layer_spec pool(vp_layer_kind k, int size)
{
    vp_layer_spec l = L_(k);
    l.kernel = l.stride = size;
    return l;
}
static vp_layer_spec resid(int skip, double alpha)
{
    vp_layer_spec l = L_(VP_LAYER_RESIDUAL);
    l.skip = skip;
    l.alpha = alpha;
    return l;
}
/* A residual whose alpha is trained from `alpha` (SkipInit/ReZero: 0). */
static vp_layer_spec resid_p(int skip, double alpha)
{
    vp_layer_spec l = resid(skip, alpha);
    l.alpha_param = 1;
    return l;
}

#define CLASSES 4

typedef struct {
    int n;
    vp_layer_spec ls[10];
    vp_shape in;
} netdef;

/* conv(3, k3, tanh) -> maxpool 2 -> flatten -> dense(16, tanh) -> dense(4): [1,8,8] -> [3,6,6] -> [3,3,3] */
static netdef lenet(void)
{
    netdef d = { 5, { conv(3, 3, 0, VP_ACT_TANH), pool(VP_LAYER_MAXPOOL2D, 2), L_(VP_LAYER_FLATTEN),
                      dense(16, VP_ACT_TANH), dense(CLASSES, VP_ACT_IDENTITY) }, { 1, 8, 8, 0 } };
    return d;
}

/* dense(8) -> [layernorm -> dense(8, tanh) -> dense(8)] + skip, alpha 0.7 -> rmsnorm -> dense(4) */
static netdef preres(void)
{
    netdef d = { 7, { dense(8, VP_ACT_TANH), L_(VP_LAYER_LAYERNORM), dense(8, VP_ACT_TANH), dense(8, VP_ACT_IDENTITY),
                      resid(0, 0.7), L_(VP_LAYER_RMSNORM), dense(CLASSES, VP_ACT_IDENTITY) }, { 6, 1, 1, 1 } };
    return d;
}

/* conv(4, k3, pad 1, tanh) -> [conv(4, k3, pad 1, tanh) -> conv(4, k3, pad 1)] + skip, alpha 0.5
 * -> avgpool 2 -> flatten -> dense(4): [2,6,6] -> [4,6,6] -> [4,3,3] -> 36 -> 4 */
static netdef convres(void)
{
    netdef d = { 7, { conv(4, 3, 1, VP_ACT_TANH), conv(4, 3, 1, VP_ACT_TANH), conv(4, 3, 1, VP_ACT_IDENTITY),
                      resid(0, 0.5), pool(VP_LAYER_AVGPOOL2D, 2), L_(VP_LAYER_FLATTEN),
                      dense(CLASSES, VP_ACT_IDENTITY) }, { 2, 6, 6, 0 } };
    return d;
}

/* conv(4, k3, pad 1, tanh) -> batchnorm -> [layernorm -> conv(4, k3, pad 1, tanh) ->
 * conv(4, k3, pad 1)] + skip (the batchnorm's output), alpha trained from `alpha` ->
 * avgpool 2 -> flatten -> dense(4): [2,6,6] -> [4,6,6] -> [4,3,3] -> 36 -> 4 */
static netdef bnres(double alpha)
{
    netdef d = { 9, { conv(4, 3, 1, VP_ACT_TANH), L_(VP_LAYER_BATCHNORM), L_(VP_LAYER_LAYERNORM),
                      conv(4, 3, 1, VP_ACT_TANH), conv(4, 3, 1, VP_ACT_IDENTITY), resid_p(1, alpha),
                      pool(VP_LAYER_AVGPOOL2D, 2), L_(VP_LAYER_FLATTEN), dense(CLASSES, VP_ACT_IDENTITY) },
                 { 2, 6, 6, 0 } };
    return d;
}

/* Fixup's parameters (rule 3) in a conv residual net: a scalar bias before every
 * weight layer (prebias; the first layer's too, whose input gradient the trainer does
 * not compute; padded convs, where the bias does not reach the padding) and the
 * branch's multiplier (a trained alpha):
 * conv(4, k3, pad 1, tanh) -> [conv(4, k3, pad 1, tanh) -> conv(4, k3, pad 1)] + skip,
 * alpha trained from 0.8 -> avgpool 2 -> flatten -> dense(8, tanh) -> dense(4) */
static netdef fixupres(void)
{
    netdef d = { 8, { conv(4, 3, 1, VP_ACT_TANH), conv(4, 3, 1, VP_ACT_TANH), conv(4, 3, 1, VP_ACT_IDENTITY),
                      resid_p(0, 0.8), pool(VP_LAYER_AVGPOOL2D, 2), L_(VP_LAYER_FLATTEN), dense(8, VP_ACT_TANH),
                      dense(CLASSES, VP_ACT_IDENTITY) }, { 2, 6, 6, 0 } };
    for (int i = 0; i < d.n; i++) d.ls[i].prebias = i == 0 || i == 1 || i == 2 || i == 6;
    return d;
}

static int has_bn(const netdef *d)
{
    for (int i = 0; i < d->n; i++)
        if (d->ls[i].kind == VP_LAYER_BATCHNORM) return 1;
    return 0;
}

static vp_optim sgd1(void)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    o.p[VP_SGD_LR] = 1.0;
    return o;
}

/* Keras' Adam defaults (residual-norm-conv.md section 8). */
static vp_optim adam_keras(void)
{
    vp_optim o = vp_optim_default(VP_OPTIM_ADAM);
    o.p[VP_ADAM_LR] = 1e-3;
    o.p[VP_ADAM_BETA1] = 0.9;
    o.p[VP_ADAM_BETA2] = 0.999;
    o.p[VP_ADAM_EPS] = 1e-7;
    return o;
}

static vp_net_trainer *make(const netdef *d, int B, vp_precision prec, vp_optim opt, uint64_t seed)
{
    vp_train_opts o = { .classes = CLASSES, .loss = VP_LOSS_CROSS_ENTROPY, .optim = opt,
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = 100 };
    vp_net_trainer *t = NULL;
    vp_err e = { 0 };
    cr_assert_eq(vp_net_trainer_create(&t, d->ls, d->n, d->in, B, prec, &o, &e), VP_OK, "%s", e.msg);
    cr_assert_eq(vp_net_trainer_init_params(t, seed, &e), VP_OK, "%s", e.msg);
    return t;
}

/* Inputs N(0,1) (as doubles and in the precision) and labels i mod classes. */
static void *make_data(const netdef *d, size_t n, vp_precision prec, uint64_t seed, double *x, int32_t *y)
{
    size_t nx = n * vp_shape_size(d->in);
    vp_rng r = vp_rng_make(seed, 7, VP_RNG_INPUT);
    vp_rng_normal_range(&r, 0, 0, nx, x);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % CLASSES);
    if (prec == VP_F64) {
        double *c = malloc(nx * sizeof *c);
        memcpy(c, x, nx * sizeof *c);
        return c;
    }
    float *f = malloc(nx * sizeof *f);
    for (size_t i = 0; i < nx; i++) f[i] = (float)x[i];
    return f;
}

/* Every parameter as doubles (float64 trainers): the net's flat blocks (weights, then
 * biases, then the auxiliary parameters). */
static size_t get_all(vp_net_trainer *t, double *p)
{
    vp_net_params q = vp_net_param_blocks(vp_net_trainer_net(t));
    if (p) {
        memcpy(p, q.W, q.nw * sizeof *p);
        memcpy(p + q.nw, q.b, q.nb * sizeof *p);
        memcpy(p + q.nw + q.nb, q.a, q.na * sizeof *p);
    }
    return q.nw + q.nb + q.na;
}

static void set_all(vp_net_trainer *t, const double *p)
{
    vp_net_params q = vp_net_param_blocks(vp_net_trainer_net(t));
    memcpy(q.W, p, q.nw * sizeof *p);
    memcpy(q.b, p + q.nw, q.nb * sizeof *p);
    memcpy(q.a, p + q.nw + q.nb, q.na * sizeof *p);
}

/* Move every gamma to 1 + 0.2 N(0,1), beta and every prebias to 0.1 N(0,1) (a trained
 * alpha stays). */
static void jitter_aux(vp_net_trainer *t, uint64_t seed)
{
    vp_net *net = vp_net_trainer_net(t);
    vp_rng r = vp_rng_make(seed, 99, VP_RNG_INPUT);
    double v[512];
    for (int i = 0; i < vp_net_layers(net); i++) {
        const vp_layer_spec *l = vp_net_layer(net, i);
        size_t na = vp_net_layer_aux(l, vp_net_shape(net, i));
        if (vp_layer_has_weights(l->kind) && l->prebias) {
            vp_rng_normal_range(&r, (uint64_t)i, 0, 1, v);
            v[0] *= 0.1;
            vp_net_import_aux(net, i, v);
        }
        if (!vp_layer_is_norm(l->kind)) continue;
        cr_assert_leq(na, 512);
        size_t ng = l->kind == VP_LAYER_RMSNORM ? na : na / 2;
        vp_rng_normal_range(&r, (uint64_t)i, 0, na, v);
        for (size_t k = 0; k < na; k++) v[k] = k < ng ? 1.0 + 0.2 * v[k] : 0.1 * v[k];
        vp_net_import_aux(net, i, v);
    }
}

/* The batch-mean cross-entropy of n rows with batchnorm on the batch's statistics (what
 * a step differentiates), in double from the float64 logits. */
static double loss_batch(vp_net_trainer *t, const double *x, const int32_t *y, int n)
{
    vp_net *net = vp_net_trainer_net(t);
    int last = vp_net_layers(net) - 1;
    vp_err e;
    cr_assert_eq(vp_net_set_batch(net, n, &e), VP_OK);
    vp_net_set_input(net, x);
    vp_net_set_bn_mode(net, VP_BN_BATCH);
    cr_assert_eq(vp_net_forward(net, NULL, &e), VP_OK);
    double z[16 * CLASSES], s = 0;
    cr_assert_leq(n, 16);
    vp_net_export(net, last, z, NULL, NULL, NULL, NULL, NULL);
    for (int r = 0; r < n; r++) {
        double m = -INFINITY, se = 0;
        for (int c = 0; c < CLASSES; c++) m = fmax(m, z[r * CLASSES + c]);
        for (int c = 0; c < CLASSES; c++) se += exp(z[r * CLASSES + c] - m);
        s += m + log(se) - z[r * CLASSES + y[r]];
    }
    return s / n;
}

static double loss_at(vp_net_trainer *t, const void *x, const int32_t *y, size_t n)
{
    double l;
    long long c;
    vp_err e;
    cr_assert_eq(vp_net_trainer_eval(t, x, y, n, &l, &c, &e), VP_OK, "%s", e.msg);
    return l;
}

/* Smallest gap between the largest and second largest value of a max pool's windows
 * (layer i, input from layer i - 1), over the batch. */
static double pool_margin(vp_net *net, int i, int B)
{
    const vp_layer_spec *l = vp_net_layer(net, i);
    vp_shape a = vp_net_shape(net, i - 1), o = vp_net_shape(net, i);
    double *x = malloc((size_t)B * vp_shape_size(a) * sizeof *x), m = INFINITY;
    vp_net_export(net, i - 1, x, NULL, NULL, NULL, NULL, NULL);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < a.c; c++)
            for (int oy = 0; oy < o.h; oy++)
                for (int ox = 0; ox < o.w; ox++) {
                    double t1 = -INFINITY, t2 = -INFINITY;
                    for (int u = 0; u < l->kernel; u++)
                        for (int v = 0; v < l->kernel; v++) {
                            double e = x[(((size_t)b * (size_t)a.c + (size_t)c) * (size_t)a.h +
                                          (size_t)(oy * l->stride + u)) * (size_t)a.w + (size_t)(ox * l->stride + v)];
                            if (e > t1) t2 = t1, t1 = e;
                            else if (e > t2) t2 = e;
                        }
                    if (t1 - t2 < m) m = t1 - t2;
                }
    free(x);
    return m;
}

/* ------------------------------------------------------------ 1. gradient */

static void grad_check(const netdef *d, uint64_t seed)
{
    const int B = 5;
    const double h = 1e-5;
    double x[5 * 72];
    int32_t y[5];
    double *xp = make_data(d, B, VP_F64, seed, x, y);
    vp_net_trainer *t = make(d, B, VP_F64, sgd1(), seed);
    jitter_aux(t, seed);
    int bn = has_bn(d);
    size_t np = get_all(t, NULL);
    double *p0 = malloc(np * sizeof *p0), *p1 = malloc(np * sizeof *p1), *q = malloc(np * sizeof *q);
    get_all(t, p0);
    double L0 = bn ? loss_batch(t, xp, y, B) : loss_at(t, xp, y, B);
    /* a perturbation of h moves any pooled value by at most h |x| (a conv weight) or h (a
     * bias); the inputs are N(0,1) with |x| < 6: require the top-two gap to exceed 20 h */
    for (int i = 1; i < d->n; i++)
        if (d->ls[i].kind == VP_LAYER_MAXPOOL2D)
            cr_assert_gt(pool_margin(vp_net_trainer_net(t), i, B), 20 * h, "a max-pool window is too close to a tie");
    vp_train_step_info info;
    vp_err e;
    cr_assert_eq(vp_net_trainer_step(t, xp, y, B, &info, &e), VP_OK, "%s", e.msg);
    cr_assert_float_eq(info.loss, L0, 1e-15 * (1 + fabs(L0)), "the step's loss is the loss before the update");
    get_all(t, p1);
    double gsq = 0;
    for (size_t k = 0; k < np; k++) gsq += (p0[k] - p1[k]) * (p0[k] - p1[k]);
    cr_assert_float_eq(info.grad_norm, sqrt(gsq), 1e-12 * sqrt(gsq), "grad_norm %g vs %g", info.grad_norm, sqrt(gsq));
    /* a layer whose whole gradient is zero would pass a difference test by accident */
    vp_net *net = vp_net_trainer_net(t);
    for (int i = 0; i < d->n; i++) {
        if (!vp_layer_has_weights(d->ls[i].kind)) continue;
        size_t wo, bo, nw = vp_net_layer_params(&d->ls[i], vp_net_shape(net, i - 1)) - (size_t)d->ls[i].out;
        vp_net_layer_offsets(net, i, &wo, &bo);
        double s = 0;
        for (size_t k = 0; k < nw; k++) s += fabs(p0[wo + k] - p1[wo + k]);
        cr_assert_gt(s, 1e-6, "layer %d: zero weight gradient", i);
    }
    vp_net_params pb = vp_net_param_blocks(net);
    for (int i = 0; i < d->n; i++) {
        size_t na = vp_net_layer_aux(&d->ls[i], vp_net_shape(net, i)), ao = pb.nw + pb.nb + vp_net_layer_aux_offset(net, i);
        double s = 0;
        for (size_t k = 0; k < na; k++) s += fabs(p0[ao + k] - p1[ao + k]);
        cr_assert(na == 0 || s > 1e-6, "layer %d: zero gradient of its %zu auxiliary parameters", i, na);
    }
    for (size_t k = 0; k < np; k++) {
        double g = p0[k] - p1[k];
        memcpy(q, p0, np * sizeof *q);
        q[k] = p0[k] + h;
        set_all(t, q);
        double lp = bn ? loss_batch(t, xp, y, B) : loss_at(t, xp, y, B);
        q[k] = p0[k] - h;
        set_all(t, q);
        double lm = bn ? loss_batch(t, xp, y, B) : loss_at(t, xp, y, B);
        double fd = (lp - lm) / (2 * h), tol = 1e-8 * (1 + fabs(L0)) + 1e-7 * fabs(g);
        cr_assert(fabs(fd - g) <= tol, "parameter %zu of %zu: analytic %.12g, finite difference %.12g (tol %.3g)", k, np,
                  g, fd, tol);
    }
    vp_net_trainer_free(t);
    free(xp);
    free(p0);
    free(p1);
    free(q);
}

Test(net_train_grad, lenet_against_finite_differences) { netdef d = lenet(); grad_check(&d, 3); }
Test(net_train_grad, prenorm_residual_against_finite_differences) { netdef d = preres(); grad_check(&d, 4); }
Test(net_train_grad, conv_residual_against_finite_differences) { netdef d = convres(); grad_check(&d, 5); }
Test(net_train_grad, batchnorm_trained_alpha_against_finite_differences) { netdef d = bnres(0.6); grad_check(&d, 6); }
Test(net_train_grad, fixup_biases_and_multiplier_against_finite_differences)
{
    netdef d = fixupres();
    grad_check(&d, 7);
    /* vp_net_fixup gives every weight layer of a marked branch its scalar bias */
    netdef f = fixupres();
    for (int i = 0; i < f.n; i++) f.ls[i].prebias = 0;
    f.ls[3].fixup = 1;
    int bad = -1;
    vp_err e;
    cr_assert_eq(vp_net_fixup(f.ls, f.n, &bad, &e), VP_OK, "%s", e.msg);
    for (int i = 0; i < f.n; i++) cr_assert_eq(f.ls[i].prebias, i == 1 || i == 2, "layer %d", i);
}

/* SkipInit/ReZero at alpha = 0: the block is the identity, the first step's gradient
 * is zero for every weight and bias in the branch (exactly: alpha multiplies it) and
 * nonzero for alpha, where it matches a central difference. */
Test(net_train_grad, skipinit_first_step_moves_alpha_only)
{
    netdef d = bnres(0.0);
    const int B = 5;
    const double h = 1e-5;
    double x[5 * 72];
    int32_t y[5];
    double *xp = make_data(&d, B, VP_F64, 14, x, y);
    vp_net_trainer *t = make(&d, B, VP_F64, sgd1(), 14);
    vp_net *net = vp_net_trainer_net(t);
    size_t np = get_all(t, NULL);
    double *p0 = malloc(np * sizeof *p0), *p1 = malloc(np * sizeof *p1);
    get_all(t, p0);
    double L0 = loss_batch(t, xp, y, B);
    size_t ns = (size_t)B * vp_shape_size(vp_net_shape(net, 5));
    double *skip = malloc(ns * sizeof *skip), *outp = malloc(ns * sizeof *outp);
    vp_net_export(net, 1, skip, NULL, NULL, NULL, NULL, NULL);
    vp_net_export(net, 5, outp, NULL, NULL, NULL, NULL, NULL);
    cr_assert(memcmp(skip, outp, ns * sizeof *skip) == 0, "alpha = 0: the residual block is not the identity");
    vp_err e;
    cr_assert_eq(vp_net_trainer_step(t, xp, y, B, NULL, &e), VP_OK, "%s", e.msg);
    get_all(t, p1);
    for (int i = 2; i <= 4; i++) {
        size_t wo, bo, nw = vp_net_layer_params(&d.ls[i], vp_net_shape(net, i - 1)) - (size_t)d.ls[i].out;
        vp_net_layer_offsets(net, i, &wo, &bo);
        vp_net_params pb = vp_net_param_blocks(net);
        size_t ao = pb.nw + pb.nb + vp_net_layer_aux_offset(net, i);
        for (size_t k = 0; k < nw; k++) cr_assert(p0[wo + k] == p1[wo + k], "layer %d weight %zu moved", i, k);
        size_t nb = vp_layer_has_weights(d.ls[i].kind) ? (size_t)d.ls[i].out : 0;
        for (size_t k = 0; k < nb; k++) cr_assert(p0[pb.nw + bo + k] == p1[pb.nw + bo + k], "layer %d bias moved", i);
        for (size_t k = 0; k < vp_net_layer_aux(&d.ls[i], vp_net_shape(net, i)); k++)
            cr_assert(p0[ao + k] == p1[ao + k], "layer %d gamma/beta %zu moved", i, k);
    }
    vp_net_params pb = vp_net_param_blocks(net);
    size_t ka = pb.nw + pb.nb + vp_net_layer_aux_offset(net, 5);
    double g = p0[ka] - p1[ka];
    cr_assert_gt(fabs(g), 1e-6, "alpha did not move");
    double *q = malloc(np * sizeof *q);
    memcpy(q, p0, np * sizeof *q);
    q[ka] = h;
    set_all(t, q);
    double lp = loss_batch(t, xp, y, B);
    q[ka] = -h;
    set_all(t, q);
    double lm = loss_batch(t, xp, y, B), fd = (lp - lm) / (2 * h);
    cr_assert(fabs(fd - g) <= 1e-8 * (1 + fabs(L0)) + 1e-7 * fabs(g), "dL/dalpha %.12g, finite difference %.12g", g, fd);
    vp_net_trainer_free(t);
    free(xp);
    free(p0);
    free(p1);
    free(q);
    free(skip);
    free(outp);
}

/* ------------------------------------------------------------ 2. Adam */

Test(net_train_optim, adam_first_step_with_keras_defaults)
{
    netdef d = lenet();
    const int B = 6;
    double x[6 * 64];
    int32_t y[6];
    double *xp = make_data(&d, B, VP_F64, 8, x, y);
    vp_net_trainer *g = make(&d, B, VP_F64, sgd1(), 8), *a = make(&d, B, VP_F64, adam_keras(), 8);
    size_t np = get_all(g, NULL);
    double *p0 = malloc(np * sizeof *p0), *pg = malloc(np * sizeof *pg), *pa = malloc(np * sizeof *pa);
    get_all(g, p0);
    vp_err e;
    vp_train_step_info ig, ia;
    cr_assert_eq(vp_net_trainer_step(g, xp, y, B, &ig, &e), VP_OK);
    cr_assert_eq(vp_net_trainer_step(a, xp, y, B, &ia, &e), VP_OK);
    cr_assert_eq(ia.step, 1);
    cr_assert_eq(ia.lr, 1e-3);
    get_all(g, pg);
    get_all(a, pa);
    for (size_t k = 0; k < np; k++) {
        double gr = p0[k] - pg[k], want = p0[k] - 1e-3 * gr / (fabs(gr) + 1e-7);
        /* gr carries one rounding of p0 - gr (u |p0|), which moves want by at most
         * 1e-3 u |p0| eps / (|gr| + eps)^2 <= 1e-3 u |p0| / (4 |gr|) */
        double tol = 4e-16 * (fabs(p0[k]) + 1e-3) + 1e-3 * 1.2e-16 * fabs(p0[k]) / (fabs(gr) + 1e-7);
        cr_assert(fabs(pa[k] - want) <= tol, "parameter %zu: %.17g, by hand %.17g", k, pa[k], want);
    }
    vp_net_trainer_free(g);
    vp_net_trainer_free(a);
    free(xp);
    free(p0);
    free(pg);
    free(pa);
}

/* ------------------------------------------------------------ 3. batches */

Test(net_train_batch, fewer_rows_same_bits_and_eval_in_chunks)
{
    netdef d = convres();
    double x[13 * 72];
    int32_t y[13];
    void *xp = make_data(&d, 13, VP_F32, 9, x, y);
    vp_net_trainer *big = make(&d, 8, VP_F32, adam_keras(), 9), *small = make(&d, 3, VP_F32, adam_keras(), 9);
    vp_err e;
    vp_train_step_info a, b;
    for (int s = 0; s < 3; s++) {
        cr_assert_eq(vp_net_trainer_step(big, xp, y, 3, &a, &e), VP_OK, "%s", e.msg);
        cr_assert_eq(vp_net_trainer_step(small, xp, y, 3, &b, &e), VP_OK, "%s", e.msg);
        cr_assert(a.loss == b.loss && a.grad_norm == b.grad_norm);
    }
    vp_net_params p = vp_net_param_blocks(vp_net_trainer_net(big)), q = vp_net_param_blocks(vp_net_trainer_net(small));
    cr_assert(memcmp(p.W, q.W, p.nw * sizeof(float)) == 0 && memcmp(p.b, q.b, p.nb * sizeof(float)) == 0);
    cr_assert_eq(vp_net_trainer_step(big, xp, y, 9, &a, &e), VP_ERR_USAGE, "9 rows on a trainer of 8");
    cr_assert_eq(vp_net_trainer_steps(big), 3);
    vp_net_trainer_free(big);
    vp_net_trainer_free(small);
    /* 13 rows in chunks of 3 against one chunk of 13, the same weights: the mean differs
     * by rounding only (float32 logits, losses summed in double: ~1e-15 relative), the
     * count not at all */
    vp_net_trainer *c3 = make(&d, 3, VP_F32, adam_keras(), 10), *c13 = make(&d, 13, VP_F32, adam_keras(), 10);
    double l1, l2;
    long long k1, k2;
    cr_assert_eq(vp_net_trainer_eval(c3, xp, y, 13, &l1, &k1, &e), VP_OK);
    cr_assert_eq(vp_net_trainer_eval(c13, xp, y, 13, &l2, &k2, &e), VP_OK);
    cr_assert_float_eq(l1, l2, 1e-14 * l2);
    cr_assert_eq(k1, k2);
    cr_assert(l1 > 0 && k1 >= 0 && k1 <= 13);
    vp_net_trainer_free(c3);
    vp_net_trainer_free(c13);
    free(xp);
}

/* ------------------------------------------------------------ 4. probe */

Test(net_train_probe, leaves_the_state_alone)
{
    netdef d = preres();
    double x[7 * 6];
    int32_t y[7];
    void *xp = make_data(&d, 7, VP_F64, 11, x, y);
    vp_net_trainer *t = make(&d, 7, VP_F64, adam_keras(), 11);
    vp_err e;
    cr_assert_eq(vp_net_trainer_step(t, xp, y, 7, NULL, &e), VP_OK);
    size_t np = get_all(t, NULL);
    double *p0 = malloc(np * sizeof *p0), *p1 = malloc(np * sizeof *p1);
    get_all(t, p0);
    vp_block_stats st[7];
    cr_assert_eq(vp_net_trainer_probe(t, xp, y, 5, st, &e), VP_OK, "%s", e.msg);
    get_all(t, p1);
    cr_assert(memcmp(p0, p1, np * sizeof *p0) == 0, "the probe changed a parameter");
    cr_assert_eq(vp_net_trainer_steps(t), 1);
    for (int i = 0; i < 7; i++) {
        cr_assert(isfinite(st[i].s.post_var) && st[i].s.post_var > 0, "layer %d", i);
        cr_assert(isfinite(st[i].s.grad_post_var) && st[i].s.grad_post_var > 0, "layer %d", i);
    }
    cr_assert(isfinite(st[4].branch_var) && isnan(st[3].branch_var));
    /* the readout's gradient is the loss's: softmax - onehot over n rows, so its entries
     * sum to 0 per row and the variance is of values in (-1/n, 1/n) */
    cr_assert_lt(st[6].s.grad_post_var, 1.0 / 25.0);
    vp_net_trainer_free(t);
    free(p0);
    free(p1);
    free(xp);
}

/* ------------------------------------------------------------ 5. threads */

Test(net_train_threads, one_and_two_threads_same_bits)
{
    netdef d = lenet();
    double x[16 * 64];
    int32_t y[16];
    void *xp = make_data(&d, 16, VP_F32, 12, x, y);
    vp_net_trainer *a = make(&d, 16, VP_F32, adam_keras(), 12), *b = make(&d, 16, VP_F32, adam_keras(), 12);
    vp_pool *pool = NULL;
    vp_err e;
    cr_assert_eq(vp_pool_create(&pool, 2, &e), VP_OK);
    vp_net_trainer_set_pool(b, pool);
    vp_train_step_info ia, ib;
    for (int s = 0; s < 4; s++) {
        cr_assert_eq(vp_net_trainer_step(a, xp, y, 16, &ia, &e), VP_OK);
        cr_assert_eq(vp_net_trainer_step(b, xp, y, 16, &ib, &e), VP_OK);
        cr_assert(ia.loss == ib.loss && ia.grad_norm == ib.grad_norm, "step %d", s);
    }
    vp_net_params p = vp_net_param_blocks(vp_net_trainer_net(a)), q = vp_net_param_blocks(vp_net_trainer_net(b));
    cr_assert(memcmp(p.W, q.W, p.nw * sizeof(float)) == 0 && memcmp(p.b, q.b, p.nb * sizeof(float)) == 0,
              "2 threads gave other bits than 1");
    vp_net_trainer_free(a);
    vp_net_trainer_free(b);
    free(xp);
    /* batchnorm, layernorm and a trained alpha: parameters and running statistics */
    d = bnres(0.0);
    double x2[16 * 72];
    xp = make_data(&d, 16, VP_F32, 15, x2, y);
    a = make(&d, 16, VP_F32, adam_keras(), 15);
    b = make(&d, 16, VP_F32, adam_keras(), 15);
    vp_net_trainer_set_pool(b, pool);
    for (int s = 0; s < 4; s++) {
        cr_assert_eq(vp_net_trainer_step(a, xp, y, 16, &ia, &e), VP_OK, "%s", e.msg);
        cr_assert_eq(vp_net_trainer_step(b, xp, y, 16, &ib, &e), VP_OK, "%s", e.msg);
        cr_assert(ia.loss == ib.loss && ia.grad_norm == ib.grad_norm, "batchnorm net, step %d", s);
    }
    size_t ca = vp_net_trainer_checkpoint_size(a);
    char *ka = malloc(ca), *kb = malloc(ca);
    cr_assert_eq(vp_net_trainer_checkpoint(a, ka, ca, &e), VP_OK);
    cr_assert_eq(vp_net_trainer_checkpoint(b, kb, ca, &e), VP_OK);
    cr_assert(memcmp(ka, kb, ca) == 0, "batchnorm net: 2 threads gave other bits than 1");
    free(ka);
    free(kb);
    vp_net_trainer_free(a);
    vp_net_trainer_free(b);
    vp_pool_free(pool);
    free(xp);
}

/* ------------------------------------------------------------ 6. refusals */

static void refused(const netdef *d, const char *needle)
{
    vp_train_opts o = { .classes = CLASSES, .loss = VP_LOSS_CROSS_ENTROPY, .optim = adam_keras(),
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = 1 };
    vp_net_trainer *t = NULL;
    vp_err e = { 0 };
    cr_assert_eq(vp_net_trainer_create(&t, d->ls, d->n, d->in, 4, VP_F32, &o, &e), VP_ERR_CONFIG);
    cr_assert_null(t);
    cr_assert(strstr(e.msg, needle), "message: %s", e.msg);
}

Test(net_train_refuse, readout_batchnorm_alpha0)
{
    netdef d = lenet();
    d.ls[4].out = 5;
    char path[] = "network.layers[4]";
    d.ls[4].path = path;
    refused(&d, "network.layers[4]: the last layer's output [5] is the readout");
    d = lenet();
    d.n = 4; /* ends with dense(16) */
    refused(&d, "[16]");
    d = preres();
    d.ls[4].alpha = 0;
    refused(&d, "constant alpha = 0");
    /* accepted: batchnorm, and alpha = 0 when it is trained */
    d = preres();
    d.ls[1].kind = VP_LAYER_BATCHNORM;
    d.ls[4].alpha = 0;
    d.ls[4].alpha_param = 1;
    vp_net_trainer *t = make(&d, 4, VP_F32, adam_keras(), 1);
    vp_net_trainer_free(t);
}

/* ------------------------------------------------------------ 6b. batchnorm running statistics */

/* [1, 2, 2] -> batchnorm -> flatten -> dense(4); one example with the channel values
 * {1, 2, 3, 4} (n = 4 values per channel). */
Test(net_train_bn, running_statistics_as_pytorch)
{
    netdef d = { 3, { L_(VP_LAYER_BATCHNORM), L_(VP_LAYER_FLATTEN), dense(CLASSES, VP_ACT_IDENTITY) }, { 1, 2, 2, 0 } };
    vp_optim o = sgd1();
    o.p[VP_SGD_LR] = 0.0; /* the statistics only */
    vp_net_trainer *t = make(&d, 2, VP_F64, o, 16);
    vp_net *net = vp_net_trainer_net(t);
    double x[4] = { 1, 2, 3, 4 }, y0[4];
    int32_t y[1] = { 0 };
    vp_err e;
    size_t nr;
    const double *r = vp_net_running(net, &nr);
    cr_assert_eq(nr, 2);
    cr_assert(r[0] == 0.0 && r[1] == 1.0, "PyTorch's start: running mean 0, variance 1");
    /* the probe: batch statistics, running ones untouched */
    vp_block_stats st[3];
    cr_assert_eq(vp_net_trainer_probe(t, x, y, 1, st, &e), VP_OK, "%s", e.msg);
    vp_net_export(net, 0, y0, NULL, NULL, NULL, NULL, NULL);
    /* (x - 2.5) / sqrt(1.25 + 1e-5): +-1.3416354, +-0.4472118 (check 13) */
    double want[4] = { -1.5 / sqrt(1.25 + 1e-5), -0.5 / sqrt(1.25 + 1e-5), 0.5 / sqrt(1.25 + 1e-5),
                       1.5 / sqrt(1.25 + 1e-5) };
    for (int k = 0; k < 4; k++) cr_assert_float_eq(y0[k], want[k], 1e-15, "probe output %d: %.17g", k, y0[k]);
    cr_assert(r[0] == 0.0 && r[1] == 1.0, "the probe moved the running statistics");
    cr_assert_eq(vp_net_trainer_step(t, x, y, 1, NULL, &e), VP_OK, "%s", e.msg);
    /* running_mean = 0.9 x 0 + 0.1 x 2.5; running_var = 0.9 x 1 + 0.1 x (5/3), the unbiased 1.25 x 4/3 */
    cr_assert_float_eq(r[0], 0.25, 1e-16, "running mean %.17g", r[0]);
    cr_assert_float_eq(r[1], 0.9 + 0.1 * 5.0 / 3.0, 2e-16, "running var %.17g", r[1]);
    /* the evaluation standardizes with them */
    double l;
    long long c;
    cr_assert_eq(vp_net_trainer_eval(t, x, y, 1, &l, &c, &e), VP_OK, "%s", e.msg);
    vp_net_export(net, 0, y0, NULL, NULL, NULL, NULL, NULL);
    for (int k = 0; k < 4; k++)
        cr_assert_float_eq(y0[k], (x[k] - r[0]) / sqrt(r[1] + 1e-5), 1e-15, "eval output %d: %.17g", k, y0[k]);
    cr_assert(r[0] == 0.25 || fabs(r[0] - 0.25) < 1e-16, "the evaluation moved the running statistics");
    vp_net_trainer_free(t);
    /* one value per channel cannot be standardized by its batch: refused as PyTorch does */
    netdef f = { 2, { L_(VP_LAYER_BATCHNORM), dense(CLASSES, VP_ACT_IDENTITY) }, { 3, 1, 1, 1 } };
    t = make(&f, 2, VP_F64, o, 17);
    cr_assert_eq(vp_net_trainer_step(t, x, y, 1, NULL, &e), VP_ERR_USAGE);
    cr_assert(strstr(e.msg, "more than 1 value per channel"), "%s", e.msg);
    double x2[6] = { 1, 2, 3, 4, 5, 7 };
    cr_assert_eq(vp_net_trainer_step(t, x2, (int32_t[]){ 0, 1 }, 2, NULL, &e), VP_OK, "%s", e.msg);
    vp_net_trainer_free(t);
}

/* ------------------------------------------------------------ 6c. checkpoint */

Test(net_train_ckpt, resumed_equals_uninterrupted)
{
    netdef d = bnres(0.0);
    double x[12 * 72];
    int32_t y[12];
    void *xp = make_data(&d, 12, VP_F32, 18, x, y);
    vp_net_trainer *a = make(&d, 12, VP_F32, adam_keras(), 18), *b = make(&d, 12, VP_F32, adam_keras(), 99);
    vp_err e;
    vp_train_step_info ia, ib;
    for (int s = 0; s < 3; s++) cr_assert_eq(vp_net_trainer_step(a, xp, y, 12, NULL, &e), VP_OK, "%s", e.msg);
    size_t cs = vp_net_trainer_checkpoint_size(a);
    char *ck = malloc(cs), *ca = malloc(cs), *cb = malloc(cs);
    cr_assert_eq(vp_net_trainer_checkpoint(a, ck, cs, &e), VP_OK, "%s", e.msg);
    cr_assert_eq(vp_net_trainer_restore(b, ck, cs, &e), VP_OK, "%s", e.msg);
    cr_assert_eq(vp_net_trainer_steps(b), 3);
    for (int s = 0; s < 3; s++) {
        /* rows 0..6 then 5..11: batches of two sizes */
        size_t off = s == 1 ? 5 : 0, n = s == 1 ? 7 : 12;
        const float *xs = (const float *)xp + off * 72;
        cr_assert_eq(vp_net_trainer_step(a, xs, y + off, n, &ia, &e), VP_OK, "%s", e.msg);
        cr_assert_eq(vp_net_trainer_step(b, xs, y + off, n, &ib, &e), VP_OK, "%s", e.msg);
        cr_assert(ia.loss == ib.loss && ia.grad_norm == ib.grad_norm, "step %d after the restore", s);
    }
    cr_assert_eq(vp_net_trainer_checkpoint(a, ca, cs, &e), VP_OK);
    cr_assert_eq(vp_net_trainer_checkpoint(b, cb, cs, &e), VP_OK);
    cr_assert(memcmp(ca, cb, cs) == 0, "the resumed trainer's state differs from the uninterrupted one's");
    cr_assert(memcmp(ck, ca, cs) != 0, "training after the checkpoint changed nothing");
    double la, lb;
    long long ka, kb;
    cr_assert_eq(vp_net_trainer_eval(a, xp, y, 12, &la, &ka, &e), VP_OK);
    cr_assert_eq(vp_net_trainer_eval(b, xp, y, 12, &lb, &kb, &e), VP_OK);
    cr_assert(la == lb && ka == kb);
    /* another network (no batchnorm) or another precision: refused */
    netdef o = convres();
    vp_net_trainer *c = make(&o, 12, VP_F32, adam_keras(), 18);
    cr_assert_eq(vp_net_trainer_restore(c, ck, cs, &e), VP_ERR_DATA);
    cr_assert(strstr(e.msg, "another network"), "%s", e.msg);
    vp_net_trainer *f64 = make(&d, 12, VP_F64, adam_keras(), 18);
    cr_assert_eq(vp_net_trainer_restore(f64, ck, cs, &e), VP_ERR_DATA);
    vp_net_trainer_free(a);
    vp_net_trainer_free(b);
    vp_net_trainer_free(c);
    vp_net_trainer_free(f64);
    free(ck);
    free(ca);
    free(cb);
    free(xp);
}

/* ------------------------------------------------------------ 7. learning */

Test(net_train_learn, conv_net_on_separable_clusters)
{
    vp_synth_spec sp = vp_synth_default(VP_SYNTH_CLUSTERS);
    sp.dim = 64;
    sp.classes = CLASSES;
    sp.n_train = 2048;
    sp.n_test = 1000;
    vp_dataset ds;
    vp_err e;
    cr_assert_eq(vp_dataset_synthetic(&ds, &sp, VP_F32, &e), VP_OK, "%s", e.msg);
    /* [1, 8, 8] -> conv(8, k3, pad 1, relu) -> maxpool 2 -> [8, 4, 4] -> dense(32, relu) -> dense(4) */
    netdef d = { 5, { conv(8, 3, 1, VP_ACT_RELU), pool(VP_LAYER_MAXPOOL2D, 2), L_(VP_LAYER_FLATTEN),
                      dense(32, VP_ACT_RELU), dense(CLASSES, VP_ACT_IDENTITY) }, { 1, 8, 8, 0 } };
    for (int i = 0; i < d.n; i++) d.ls[i].binit = vp_init_default(VP_INIT_ZEROS);
    vp_optim o = adam_keras();
    o.p[VP_ADAM_LR] = 0.01;
    vp_net_trainer *t = make(&d, 64, VP_F32, o, 13);
    for (int ep = 0; ep < 3; ep++) /* 96 steps */
        for (size_t r = 0; r + 64 <= ds.train.n; r += 64)
            cr_assert_eq(vp_net_trainer_step(t, ds.train.x32 + r * 64, ds.train.y + r, 64, NULL, &e), VP_OK);
    double loss;
    long long ok;
    cr_assert_eq(vp_net_trainer_eval(t, ds.test.x32, ds.test.y, ds.test.n, &loss, &ok, &e), VP_OK);
    cr_assert_geq((double)ok / (double)ds.test.n, 0.97, "test accuracy %g after 96 steps", (double)ok / ds.test.n);
    vp_net_trainer_free(t);
    vp_dataset_free(&ds);
}

/* ------------------------------------------------------------ 8. through the runner */

#define NET_TRAIN_CFG(name, seeds, last, extra)                                                                     \
    "{\"name\": \"" name "\", \"seeds\": " #seeds ", \"network\": {\"input_shape\": [1, 4, 4], \"activation\": "    \
    "\"relu\", \"layers\": [{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel\": 3, \"padding\": 1}, "           \
    "{\"type\": \"batchnorm\"}, {\"type\": \"maxpool2d\", \"size\": 2}, {\"type\": \"flatten\"}, "                  \
    "{\"type\": \"residual\", \"norm\": \"pre\", \"scheme\": \"skipinit\", "                                         \
    "\"branch\": [{\"type\": \"dense\", \"width\": 16}, {\"type\": \"dense\", \"width\": 16, \"activation\": "      \
    "\"linear\"}]}, {\"type\": \"dense\", \"width\": " #last ", \"activation\": \"linear\"}]}, "                    \
    "\"input\": {\"batch\": 16}, \"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": 16, \"classes\": 4, "  \
    "\"n_train\": 600, \"n_test\": 200, \"separation\": 6}, \"epochs\": 2, \"batch\": 50, \"optimizer\": "          \
    "{\"name\": \"adam\", \"lr\": 0.01, \"eps\": 1e-7}, \"track_every\": 4" extra "}, \"sweep\": {\"network.init\": " \
    "[\"glorot_uniform\", \"he_uniform\"]}}"

static void same_file(const char *dir, const char *a, const char *b, const char *file)
{
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/%s/%s", dir, a, file);
    snprintf(pb, sizeof pb, "%s/%s/%s", dir, b, file);
    size_t na, nb;
    char *x = vt_slurp_must(pa, &na), *y = vt_slurp_must(pb, &nb);
    cr_expect(na == nb && memcmp(x, y, na) == 0, "%s differs between %s and %s", file, a, b);
    free(x);
    free(y);
}

Test(net_train_run, same_bytes_for_any_threads_and_rows, .timeout = 120)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-nettrain-");
    vt_write_file(dir, "c.json", NET_TRAIN_CFG("c", 2, 4, ""));
    vt_write_file(dir, "one.json", NET_TRAIN_CFG("one", 1, 4, ""));
    const char *runs[][3] = { { "c.json", "t1", "--threads 1" }, { "c.json", "t2", "--threads 2" },
                              { "one.json", "o1", "--threads 1" }, { "one.json", "o3", "--threads 3" } };
    for (int k = 0; k < 4; k++) {
        char *errs = NULL;
        int rc = vt_run(dir, NULL, &errs, "run %s/%s -o %s/%s --no-plot --quiet %s", dir, runs[k][0], dir, runs[k][1],
                        runs[k][2]);
        cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
        free(errs);
    }
    const char *files[] = { VP_FILE_TRAIN, VP_FILE_EVAL, VP_FILE_LAYERS_TRAIN, VP_FILE_LAYERS };
    for (int f = 0; f < 4; f++) {
        same_file(dir, "t1", "t2", files[f]);
        same_file(dir, "o1", "o3", files[f]);
    }
    /* 12 steps per epoch (600 / 50), 2 epochs, 4 runs; evals after epochs 0..2; the probe at
     * step 0 and every 4 steps (7 times) on the 9 layers (conv, batchnorm, pool, flatten,
     * layernorm, 2 dense, residual (skipinit: alpha trained from 0), readout) */
    char p[400];
    snprintf(p, sizeof p, "%s/t1/" VP_FILE_TRAIN, dir);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 24);
    snprintf(p, sizeof p, "%s/t1/" VP_FILE_EVAL, dir);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 3);
    snprintf(p, sizeof p, "%s/t1/" VP_FILE_LAYERS_TRAIN, dir);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 7 * 9);
    vt_rmtree(dir);
}

/* SIGINT while a block network with batchnorm and SkipInit trains: exit 130 with the
 * finished runs published; --resume runs the abandoned one again from its start; the
 * files equal an uninterrupted run's (an interrupted run's running statistics and alpha
 * are not reused half-way). */
Test(net_train_run, resume_after_an_interruption_gives_the_same_bytes, .timeout = 180)
{
    char dir[256], cfg[300], res[300];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-nettrain-");
    vt_write_file(dir, "c.json",
                  "{\"name\": \"r\", \"seeds\": 2, \"network\": {\"input_shape\": [1, 4, 4], \"activation\": \"relu\", "
                  "\"layers\": [{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel\": 3, \"padding\": 1}, "
                  "{\"type\": \"batchnorm\"}, {\"type\": \"flatten\"}, {\"type\": \"residual\", \"norm\": \"pre\", "
                  "\"scheme\": \"skipinit\", \"branch\": [{\"type\": \"dense\", \"width\": 64}, {\"type\": \"dense\", "
                  "\"width\": 64, \"activation\": \"linear\"}]}, {\"type\": \"dense\", \"width\": 4, \"activation\": "
                  "\"linear\"}]}, \"input\": {\"batch\": 16}, \"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": "
                  "16, \"classes\": 4, \"n_train\": 6000, \"n_test\": 200}, \"epochs\": 2, \"batch\": 32, "
                  "\"track_every\": 40}, \"sweep\": {\"network.init\": [\"glorot_uniform\", \"he_uniform\"]}}");
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    snprintf(res, sizeof res, "%s/res", dir);
    int pid = vt_spawn_run_until(cfg, res, 0, dir);
    kill(pid, SIGINT);
    int rc = vt_wait_exit(pid, 90);
    cr_assert(rc == 130 || rc == 0, "exit %d", rc);
    char *errs = NULL;
    rc = vt_run(dir, NULL, &errs, "run %s -o %s --no-plot --quiet %s", cfg, res, rc == 130 ? "--resume" : "");
    cr_assert_eq(rc, 0, "resume: exit %d: %s", rc, errs);
    free(errs);
    rc = vt_run(dir, NULL, &errs, "run %s -o %s/ref --no-plot --quiet", cfg, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    free(errs);
    const char *files[] = { VP_FILE_TRAIN, VP_FILE_EVAL, VP_FILE_LAYERS_TRAIN, VP_FILE_LAYERS };
    for (int f = 0; f < 4; f++) same_file(dir, "res", "ref", files[f]);
    vt_rmtree(dir);
}

Test(net_train_run, config_errors_exit_2_and_write_nothing, .timeout = 60)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-nettrain-");
    struct { const char *cfg, *needle; } bad[] = {
        { NET_TRAIN_CFG("a", 1, 5, ""), "network.layers[5]: the last layer's output [5] is the readout" },
        { NET_TRAIN_CFG("b", 1, 4, ", \"readout_init\": \"he_normal\""), "train.readout_init" },
        { NET_TRAIN_CFG("c", 1, 4, ", \"hist_bins\": 10"), "train.hist_bins" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        vt_write_file(dir, "bad.json", bad[k].cfg);
        char *errs = NULL;
        int rc = vt_run(dir, NULL, &errs, "run %s/bad.json -o %s/out --no-plot --quiet", dir, dir);
        cr_expect_eq(rc, 2, "case %zu: exit %d: %s", k, rc, errs);
        cr_expect(strstr(errs, bad[k].needle), "case %zu: %s", k, errs);
        char p[400];
        snprintf(p, sizeof p, "%s/out/" VP_FILE_RUNS, dir);
        cr_expect(!vt_exists(p), "case %zu wrote runs.csv", k);
        free(errs);
    }
    vt_rmtree(dir);
}
