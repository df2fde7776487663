/* Tests of the block-network trainer (src/core/net_train.c, core/net_train.h).
 *
 * 1. Gradient: every weight and bias of three networks -- the LeNet shape (conv2d,
 *    maxpool2d, flatten, dense, dense), a pre-norm residual MLP (layernorm, residual,
 *    rmsnorm) and a convolutional residual net (padded convs, residual, avgpool2d) --
 *    against central finite differences of the loss, float64. The analytic gradient is
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
 * 6. Refusals: a last layer that is not [classes], batchnorm, alpha = 0.
 * 7. Learning: a conv net reaches >= 97% test accuracy on separable synthetic clusters
 *    (nearest centroid scores 99.75-100% there, docs/training.md).
 * 8. Through the runner (varprop run): a conv + pre-norm residual net on synthetic data
 *    gives the same train/eval/layers_train/layers bytes for --threads 1, 2 and 3, the
 *    expected row counts; a readout that is not [classes], train.readout_init and
 *    train.hist_bins exit 2 naming the path, nothing written. */
#include <criterion/criterion.h>
#include <math.h>
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

/* Every parameter as doubles: the net's flat blocks (weights, then biases). */
static size_t get_all(vp_net_trainer *t, double *p)
{
    vp_net_params q = vp_net_param_blocks(vp_net_trainer_net(t));
    if (p) {
        memcpy(p, q.W, q.nw * sizeof *p);
        memcpy(p + q.nw, q.b, q.nb * sizeof *p);
    }
    return q.nw + q.nb;
}

static void set_all(vp_net_trainer *t, const double *p)
{
    vp_net_params q = vp_net_param_blocks(vp_net_trainer_net(t));
    memcpy(q.W, p, q.nw * sizeof *p);
    memcpy(q.b, p + q.nw, q.nb * sizeof *p);
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
    size_t np = get_all(t, NULL);
    double *p0 = malloc(np * sizeof *p0), *p1 = malloc(np * sizeof *p1), *q = malloc(np * sizeof *q);
    get_all(t, p0);
    double L0 = loss_at(t, xp, y, B);
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
    for (size_t k = 0; k < np; k++) {
        double g = p0[k] - p1[k];
        memcpy(q, p0, np * sizeof *q);
        q[k] = p0[k] + h;
        set_all(t, q);
        double lp = loss_at(t, xp, y, B);
        q[k] = p0[k] - h;
        set_all(t, q);
        double lm = loss_at(t, xp, y, B);
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
    d.ls[1].kind = VP_LAYER_BATCHNORM;
    refused(&d, "batchnorm");
    d = preres();
    d.ls[4].alpha = 0;
    refused(&d, "alpha = 0");
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
    "{\"type\": \"maxpool2d\", \"size\": 2}, {\"type\": \"flatten\"}, {\"type\": \"residual\", \"norm\": \"pre\", " \
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
     * step 0 and every 4 steps (7 times) on the 8 layers (conv, pool, flatten, norm, 2
     * dense, residual, readout) */
    char p[400];
    snprintf(p, sizeof p, "%s/t1/" VP_FILE_TRAIN, dir);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 24);
    snprintf(p, sizeof p, "%s/t1/" VP_FILE_EVAL, dir);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 3);
    snprintf(p, sizeof p, "%s/t1/" VP_FILE_LAYERS_TRAIN, dir);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 7 * 8);
    vt_rmtree(dir);
}

Test(net_train_run, config_errors_exit_2_and_write_nothing, .timeout = 60)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-nettrain-");
    struct { const char *cfg, *needle; } bad[] = {
        { NET_TRAIN_CFG("a", 1, 5, ""), "network.layers[4]: the last layer's output [5] is the readout" },
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
