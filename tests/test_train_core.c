/* Tests of the training network (src/core/train.c, core/train.h).
 *
 * 1. Gradient: the whole network's gradient (every W and b, hidden layers and the
 *    readout) against central finite differences of the loss, float64, for relu,
 *    tanh and selu and both losses. The analytic gradient is read off one SGD step
 *    with lr = 1 and no momentum (theta' = theta - g, so g = theta - theta', exact to
 *    one rounding of theta'), which also checks that every layer's gradient is taken
 *    before its weights are updated. The finite difference of a step h has
 *    truncation error h^2 |L'''| / 6 and rounding error ~ 2 * 16 u |L| / (2h) (the
 *    loss evaluated to ~16 ulps, u = 2^-53); with h = 1e-5 and |L'''| <= 100 for these
 *    O(1) nets that is 2e-9 + 2e-10 |L|, so tol = 1e-8 (1 + |L|) + 1e-7 |g|. For relu
 *    the test first checks, with a plain reference forward pass, that no
 *    pre-activation is within the reach of a perturbation (|z| > h * a bound of dz/dtheta),
 *    so no kink is crossed (ggml's warning about finite differences at kinks).
 * 2. Optimizer steps through the trainer against hand-computed updates: SGD with
 *    weight decay (first step: theta - lr (g + wd theta)) and Adam's first step
 *    (theta - lr g / (|g| + eps): the bias corrections cancel at t = 1).
 * 3. eval against a plain reference loop (loss and argmax), over chunks.
 * 4. probe: parameters, optimizer state and step unchanged (checkpoint bytes), and its
 *    weight-gradient variances are those of the loss's gradient.
 * 5. n < max_batch rows give the bits of a trainer whose max_batch is n.
 * 6. checkpoint -> restore -> the same bits as an uninterrupted run; mismatches refused.
 * 7. 1 thread vs 2 threads: the same bits.
 * 8. Learning: a small net reaches >= 97% test accuracy on separable synthetic
 *    clusters (nearest centroid scores 99.75-100% there, docs/training.md). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "core/dataset.h"
#include "core/rng.h"
#include "core/train.h"

/* ------------------------------------------------------------------ helpers */

typedef struct {
    int L;
    int w[6];
    int classes;
    vp_precision prec;
    vp_act_kind act;
    vp_loss_kind loss;
} net_spec;

static vp_trainer *make(const net_spec *s, int max_batch, vp_optim opt, uint64_t seed)
{
    vp_train_opts o = { .classes = s->classes, .loss = s->loss, .optim = opt,
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = 100 };
    vp_trainer *t = NULL;
    vp_err err = { 0 };
    vp_act act = vp_act_default(s->act);
    cr_assert_eq(vp_trainer_create(&t, s->L, s->w, max_batch, s->prec, act, &o, &err), VP_OK, "%s", err.msg);
    /* he_normal-like weights, small nonzero biases, so every term of the gradient is live. */
    vp_init wi = vp_init_default(VP_INIT_KAIMING_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
    vp_init_resolve_auto(&wi, vp_act_torch_gain(&act));
    bi.p[1] = 0.1; /* normal(mean 0, std 0.1) */
    cr_assert_eq(vp_trainer_init_params(t, &wi, &bi, &wi, &bi, seed, &err), VP_OK, "%s", err.msg);
    return t;
}

static vp_optim sgd(double lr, double mom, double wd)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    o.p[VP_SGD_LR] = lr;
    o.p[VP_SGD_MOMENTUM] = mom;
    o.p[VP_SGD_WEIGHT_DECAY] = wd;
    return o;
}

/* Parameters of layer l = 1..L+1: fan_out * fan_in weights then fan_out biases. */
static size_t layer_count(const net_spec *s, int l)
{
    int out = l <= s->L ? s->w[l] : s->classes;
    return (size_t)out * (size_t)s->w[l - 1] + (size_t)out;
}

static size_t param_count(const net_spec *s)
{
    size_t n = 0;
    for (int l = 1; l <= s->L + 1; l++) n += layer_count(s, l);
    return n;
}

/* Every parameter as doubles, in layer order (W then b). */
static void get_all(const vp_trainer *t, const net_spec *s, double *p)
{
    for (int l = 1; l <= s->L + 1; l++) {
        int out = l <= s->L ? s->w[l] : s->classes;
        size_t nw = (size_t)out * (size_t)s->w[l - 1];
        vp_trainer_get_layer(t, l, p, p + nw);
        p += nw + (size_t)out;
    }
}

static void set_all(vp_trainer *t, const net_spec *s, const double *p)
{
    for (int l = 1; l <= s->L + 1; l++) {
        int out = l <= s->L ? s->w[l] : s->classes;
        size_t nw = (size_t)out * (size_t)s->w[l - 1];
        vp_trainer_set_layer(t, l, p, p + nw);
        p += nw + (size_t)out;
    }
}

/* Inputs N(0,1) and labels i mod classes, from a fixed stream. */
static void make_data(const net_spec *s, size_t n, uint64_t seed, double *x, int32_t *y)
{
    vp_rng r = vp_rng_make(seed, 7, VP_RNG_INPUT);
    vp_rng_normal_range(&r, 0, 0, n * (size_t)s->w[0], x);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % (size_t)s->classes);
}

/* x in the trainer's precision (malloc'ed). */
static void *to_prec(const double *x, size_t n, vp_precision prec)
{
    if (prec == VP_F64) {
        double *d = malloc(n * sizeof *d);
        memcpy(d, x, n * sizeof *d);
        return d;
    }
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}

/* The plain reference: the network's logits for x [n, n_0] from the parameters p
 * (get_all's layout), in double, with the registry's scalar phi; optionally the
 * smallest |z| of the hidden pre-activations and max|h| over layers. */
static void ref_logits(const net_spec *s, const double *p, const double *x, size_t n, double *logits,
                       double *min_absz, double *max_h)
{
    vp_act act = vp_act_default(s->act);
    int wmax = s->classes;
    for (int l = 0; l <= s->L; l++) wmax = s->w[l] > wmax ? s->w[l] : wmax;
    double *a = malloc((size_t)wmax * sizeof *a), *b = malloc((size_t)wmax * sizeof *b);
    double mz = INFINITY, mh = 0;
    for (size_t r = 0; r < n; r++) {
        const double *q = p;
        int nin = s->w[0];
        memcpy(a, x + r * (size_t)nin, (size_t)nin * sizeof *a);
        for (int i = 0; i < nin; i++) mh = fmax(mh, fabs(a[i]));
        for (int l = 1; l <= s->L + 1; l++) {
            int out = l <= s->L ? s->w[l] : s->classes;
            const double *W = q, *bias = q + (size_t)out * (size_t)nin;
            for (int i = 0; i < out; i++) {
                double z = bias[i];
                for (int j = 0; j < nin; j++) z += W[(size_t)i * (size_t)nin + (size_t)j] * a[j];
                if (l <= s->L) {
                    mz = fmin(mz, fabs(z));
                    b[i] = vp_act_f(&act, z);
                    mh = fmax(mh, fabs(b[i]));
                } else {
                    logits[r * (size_t)s->classes + (size_t)i] = z;
                }
            }
            q += (size_t)out * (size_t)nin + (size_t)out;
            memcpy(a, b, (size_t)out * sizeof *a);
            nin = out;
        }
    }
    if (min_absz) *min_absz = mz;
    if (max_h) *max_h = mh;
    free(a);
    free(b);
}

/* Reference loss and correct count of logits (double; the loss's formulas). */
static double ref_loss(const net_spec *s, const double *logits, const int32_t *y, size_t n, long long *correct)
{
    double total = 0;
    long long right = 0;
    size_t C = (size_t)s->classes;
    for (size_t r = 0; r < n; r++) {
        const double *z = logits + r * C;
        double m = z[0];
        size_t best = 0;
        for (size_t j = 1; j < C; j++)
            if (z[j] > z[best]) best = j;
        m = z[best];
        if (s->loss == VP_LOSS_CROSS_ENTROPY) {
            double sum = 0;
            for (size_t j = 0; j < C; j++) sum += exp(z[j] - m);
            total += m + log(sum) - z[y[r]];
        } else {
            for (size_t j = 0; j < C; j++) {
                double d = z[j] - (j == (size_t)y[r] ? 1.0 : 0.0);
                total += d * d / (double)C;
            }
        }
        right += best == (size_t)y[r];
    }
    if (correct) *correct = right;
    return total / (double)n;
}

/* The gradient of the batch loss at the trainer's current parameters, read off one
 * SGD step with lr = 1 on a copy (theta - theta'); the trainer is not changed. */
static void analytic_grad(const net_spec *s, const double *p, const double *x, const int32_t *y, size_t n,
                          double *g, double *loss)
{
    vp_trainer *t = make(s, (int)n, sgd(1.0, 0.0, 0.0), 0);
    set_all(t, s, p);
    vp_train_step_info info;
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_step(t, x, y, n, &info, &err), VP_OK, "%s", err.msg);
    size_t np = param_count(s);
    get_all(t, s, g);
    for (size_t i = 0; i < np; i++) g[i] = p[i] - g[i];
    *loss = info.loss;
    vp_trainer_free(t);
}

/* ----------------------------------------------------------- 1. gradient */

static void gradient_check(vp_act_kind act, vp_loss_kind loss)
{
    net_spec s = { .L = 3, .w = { 5, 6, 7, 4 }, .classes = 3, .prec = VP_F64, .act = act, .loss = loss };
    const size_t n = 6;
    const double h = 1e-5;
    size_t np = param_count(&s);
    double x[6 * 5], *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *q = malloc(np * sizeof *q);
    int32_t y[6];
    double logits[6 * 3];
    make_data(&s, n, 11, x, y);
    vp_trainer *t = make(&s, (int)n, sgd(0.1, 0, 0), 3);
    get_all(t, &s, p);
    vp_trainer_free(t);

    double minz, maxh;
    ref_logits(&s, p, x, n, logits, &minz, &maxh);
    if (act == VP_ACT_RELU) {
        /* A perturbation h of one parameter of layer k moves z^k by at most
         * h (1 + max|h^{k-1}|) and, phi being 1-Lipschitz, z^l (l > k) by at most that
         * times the row-sum norms of W^{k+1..l}: bounded over k by the product of
         * max(1, ||W^l||_inf) over the hidden layers l >= 2. */
        double bound = 1 + maxh, *pp = p;
        for (int l = 1; l <= s.L; l++) {
            int out = s.w[l], nin = s.w[l - 1];
            double rowmax = 0;
            for (int i = 0; i < out; i++) {
                double r = 0;
                for (int j = 0; j < nin; j++) r += fabs(pp[(size_t)i * (size_t)nin + (size_t)j]);
                rowmax = fmax(rowmax, r);
            }
            if (l >= 2) bound *= fmax(1.0, rowmax);
            pp += (size_t)out * (size_t)nin + (size_t)out;
        }
        cr_assert_gt(minz, h * bound, "relu: a pre-activation %g is within a perturbation's reach %g of the kink",
                     minz, h * bound);
    }

    double L0;
    analytic_grad(&s, p, x, y, n, g, &L0);
    cr_assert_float_eq(L0, ref_loss(&s, logits, y, n, NULL), 1e-12 * (1 + fabs(L0)));
    vp_trainer *e = make(&s, (int)n, sgd(0.1, 0, 0), 0);
    int nonzero = 0;
    for (size_t i = 0; i < np; i++) {
        double lp, lm;
        long long c;
        vp_err err = { 0 };
        memcpy(q, p, np * sizeof *q);
        q[i] = p[i] + h;
        set_all(e, &s, q);
        cr_assert_eq(vp_trainer_eval(e, x, y, n, &lp, &c, &err), VP_OK);
        q[i] = p[i] - h;
        set_all(e, &s, q);
        cr_assert_eq(vp_trainer_eval(e, x, y, n, &lm, &c, &err), VP_OK);
        double fd = (lp - lm) / (2 * h);
        double tol = 1e-8 * (1 + fabs(L0)) + 1e-7 * fabs(g[i]);
        cr_assert(fabs(fd - g[i]) <= tol, "%s/%s parameter %zu: analytic %.12g, finite difference %.12g",
                  vp_act_get(act)->name, vp_loss_get(loss)->name, i, g[i], fd);
        nonzero += fabs(g[i]) > 1e-6;
    }
    /* Guard against a vacuous check (genann's all-zero gradient). */
    cr_assert_gt(nonzero, (int)np / 2, "only %d of %zu gradient entries are nonzero", nonzero, np);
    vp_trainer_free(e);
    free(p);
    free(g);
    free(q);
}

Test(train_grad, relu_cross_entropy) { gradient_check(VP_ACT_RELU, VP_LOSS_CROSS_ENTROPY); }
Test(train_grad, relu_mse) { gradient_check(VP_ACT_RELU, VP_LOSS_MSE); }
Test(train_grad, tanh_cross_entropy) { gradient_check(VP_ACT_TANH, VP_LOSS_CROSS_ENTROPY); }
Test(train_grad, tanh_mse) { gradient_check(VP_ACT_TANH, VP_LOSS_MSE); }
Test(train_grad, selu_cross_entropy) { gradient_check(VP_ACT_SELU, VP_LOSS_CROSS_ENTROPY); }
Test(train_grad, gelu_mse) { gradient_check(VP_ACT_GELU, VP_LOSS_MSE); }

/* ------------------------------------------------------ 2. optimizer steps */

static const net_spec SMALL = { .L = 2, .w = { 5, 8, 6 }, .classes = 4, .prec = VP_F64, .act = VP_ACT_TANH,
                                .loss = VP_LOSS_CROSS_ENTROPY };

Test(train_optim, sgd_weight_decay_step_by_hand)
{
    const size_t n = 7;
    size_t np = param_count(&SMALL);
    double x[7 * 5], *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *p1 = malloc(np * sizeof *p1);
    int32_t y[7];
    make_data(&SMALL, n, 5, x, y);
    const double lr = 0.05, wd = 0.01;
    vp_trainer *t = make(&SMALL, 8, sgd(lr, 0.9, wd), 9);
    get_all(t, &SMALL, p);
    double L0;
    analytic_grad(&SMALL, p, x, y, n, g, &L0);
    vp_err err = { 0 };
    vp_train_step_info info;
    cr_assert_eq(vp_trainer_step(t, x, y, n, &info, &err), VP_OK);
    cr_assert_eq(info.step, 1);
    cr_assert_eq(info.lr, lr);
    cr_assert_float_eq(info.loss, L0, 1e-15 * fabs(L0));
    get_all(t, &SMALL, p1);
    double sq = 0;
    for (size_t i = 0; i < np; i++) {
        /* step 1: buf = g + wd theta (no dampening at the first step); theta -= lr buf */
        double want = p[i] - lr * (g[i] + wd * p[i]);
        cr_assert(fabs(p1[i] - want) <= 8 * DBL_EPSILON * (fabs(p[i]) + fabs(g[i])), "parameter %zu: %.17g, by hand %.17g",
                  i, p1[i], want);
        sq += g[i] * g[i];
    }
    /* grad_norm: the L2 norm of the loss gradient (weight decay not included, as
     * clip_grad_norm_ sees .grad before the step). */
    cr_assert_float_eq(info.grad_norm, sqrt(sq), 1e-12 * sqrt(sq));
    cr_assert_eq(vp_trainer_steps(t), 1);
    vp_trainer_free(t);
    free(p);
    free(g);
    free(p1);
}

Test(train_optim, adam_first_step_by_hand)
{
    const size_t n = 7;
    size_t np = param_count(&SMALL);
    double x[7 * 5], *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g), *p1 = malloc(np * sizeof *p1);
    int32_t y[7];
    make_data(&SMALL, n, 5, x, y);
    vp_optim adam = vp_optim_default(VP_OPTIM_ADAM);
    const double lr = 1e-3, eps = 1e-8;
    vp_trainer *t = make(&SMALL, 7, adam, 9);
    get_all(t, &SMALL, p);
    double L0;
    analytic_grad(&SMALL, p, x, y, n, g, &L0);
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_step(t, x, y, n, NULL, &err), VP_OK);
    get_all(t, &SMALL, p1);
    int moved = 0;
    for (size_t i = 0; i < np; i++) {
        /* t = 1: m_hat = g, v_hat = g^2, so theta -= lr g / (|g| + eps). g carries an
         * error of one rounding of theta, which moves g/(|g|+eps) by at most
         * eps_mach |theta| eps / (|g| + eps)^2. */
        double want = p[i] - lr * g[i] / (fabs(g[i]) + eps);
        double ge = DBL_EPSILON * (fabs(p[i]) + fabs(g[i]));
        double tol = 8 * DBL_EPSILON * fabs(p[i]) + lr * ge * eps / ((fabs(g[i]) + eps) * (fabs(g[i]) + eps));
        cr_assert(fabs(p1[i] - want) <= tol, "parameter %zu: %.17g, by hand %.17g", i, p1[i], want);
        moved += fabs(p1[i] - p[i]) > 0.5 * lr;
    }
    cr_assert_gt(moved, (int)np / 2); /* Adam's first step is ~lr for every live entry */
    vp_trainer_free(t);
    free(p);
    free(g);
    free(p1);
}

/* ------------------------------------------------------------- 3. eval */

static void eval_check(vp_precision prec, vp_loss_kind loss)
{
    net_spec s = SMALL;
    s.prec = prec;
    s.loss = loss;
    const size_t n = 23; /* chunks 8 + 8 + 7 */
    size_t np = param_count(&s);
    double x[23 * 5], logits[23 * 4], *p = malloc(np * sizeof *p);
    int32_t y[23];
    make_data(&s, n, 21, x, y);
    vp_trainer *t = make(&s, 8, sgd(0.1, 0, 0), 4);
    get_all(t, &s, p);
    double *xr = malloc(sizeof x);
    /* The reference sees the inputs the trainer sees (rounded to its precision). */
    void *xp = to_prec(x, n * 5, prec);
    for (size_t i = 0; i < n * 5; i++) xr[i] = prec == VP_F64 ? x[i] : (double)((float *)xp)[i];
    ref_logits(&s, p, xr, n, logits, NULL, NULL);
    long long want_c, c;
    double want = ref_loss(&s, logits, y, n, &want_c), got;
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_eval(t, xp, y, n, &got, &c, &err), VP_OK);
    /* float64: a few roundings of O(1) sums; float32: the forward in float32 (relative
     * error ~ depth * fan_in * 2^-24 per logit, <1e-5 here) moves the loss by at most
     * that times max|dL/dz| <= 1 per logit. */
    double tol = prec == VP_F64 ? 1e-13 : 1e-4;
    cr_assert_float_eq(got, want, tol * (1 + fabs(want)), "%.17g vs %.17g", got, want);
    cr_assert_eq(c, want_c);
    cr_assert_gt(want_c, 0);
    vp_trainer_free(t);
    free(xp);
    free(xr);
    free(p);
}

Test(train_eval, matches_reference_f64_ce) { eval_check(VP_F64, VP_LOSS_CROSS_ENTROPY); }
Test(train_eval, matches_reference_f64_mse) { eval_check(VP_F64, VP_LOSS_MSE); }
Test(train_eval, matches_reference_f32_ce) { eval_check(VP_F32, VP_LOSS_CROSS_ENTROPY); }

/* ------------------------------------------------------------- 4. probe */

static double var_of(const double *v, size_t n)
{
    double m = 0, q = 0;
    for (size_t i = 0; i < n; i++) m += v[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
    return q / (double)n;
}

Test(train_probe, leaves_state_unchanged_and_gives_loss_gradients)
{
    net_spec s = SMALL;
    const size_t n = 6;
    size_t np = param_count(&s);
    double x[6 * 5], *p = malloc(np * sizeof *p), *g = malloc(np * sizeof *g);
    int32_t y[6];
    make_data(&s, n, 2, x, y);
    vp_optim adam = vp_optim_default(VP_OPTIM_ADAM);
    vp_trainer *t = make(&s, 8, adam, 6);
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_step(t, x, y, n, NULL, &err), VP_OK); /* nonzero optimizer state */
    size_t cs = vp_trainer_checkpoint_size(t);
    char *before = malloc(cs), *after = malloc(cs);
    cr_assert_eq(vp_trainer_checkpoint(t, before, cs, &err), VP_OK);
    get_all(t, &s, p);
    double L0;
    analytic_grad(&s, p, x, y, n, g, &L0);

    vp_layer_stats st[3];
    memset(st, 0, sizeof st);
    cr_assert_eq(vp_trainer_probe(t, x, y, n, st, NULL, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_trainer_checkpoint(t, after, cs, &err), VP_OK);
    cr_assert(memcmp(before, after, cs) == 0, "the probe changed parameters or optimizer state");
    /* The weight-gradient variance of each layer is that of the loss gradient's W part. */
    double *gl = g;
    for (int l = 1; l <= s.L + 1; l++) {
        int out = l <= s.L ? s.w[l] : s.classes;
        size_t nw = (size_t)out * (size_t)s.w[l - 1];
        double want = var_of(gl, nw);
        cr_assert_eq(st[l - 1].layer, l);
        cr_assert_eq(st[l - 1].fan_out, out);
        cr_assert_float_eq(st[l - 1].wgrad_var, want, 1e-9 * want, "layer %d: %g vs %g", l, st[l - 1].wgrad_var, want);
        cr_assert_eq(st[l - 1].nonfinite, 0);
        gl += nw + (size_t)out;
    }
    /* The readout is linear: h = z, dL/dh = dL/dz. */
    cr_assert_eq(st[2].post_var, st[2].pre_var);
    cr_assert_eq(st[2].grad_post_var, st[2].grad_pre_var);
    cr_assert_eq(st[2].dead_frac, 0.0);
    /* Cross-entropy: dL/dz = (softmax - onehot)/n has rows summing to 0, so its mean
     * is 0 and its variance the mean square of the entries. */
    double logits[6 * 4], dz[6 * 4];
    ref_logits(&s, p, x, n, logits, NULL, NULL);
    for (size_t r = 0; r < n; r++) {
        double m = logits[r * 4], sum = 0;
        for (int j = 1; j < 4; j++) m = fmax(m, logits[r * 4 + (size_t)j]);
        for (int j = 0; j < 4; j++) sum += exp(logits[r * 4 + (size_t)j] - m);
        for (int j = 0; j < 4; j++)
            dz[r * 4 + (size_t)j] = (exp(logits[r * 4 + (size_t)j] - m) / sum - (j == y[r])) / (double)n;
    }
    double want_gz = var_of(dz, n * 4);
    cr_assert_float_eq(st[2].grad_pre_var, want_gz, 1e-9 * want_gz);
    /* Steps after a probe are those of a trainer never probed. */
    vp_trainer *u = make(&s, 8, adam, 6);
    cr_assert_eq(vp_trainer_step(u, x, y, n, NULL, &err), VP_OK);
    cr_assert_eq(vp_trainer_step(u, x, y, n - 1, NULL, &err), VP_OK);
    cr_assert_eq(vp_trainer_step(t, x, y, n - 1, NULL, &err), VP_OK);
    cr_assert_eq(vp_trainer_checkpoint(t, before, cs, &err), VP_OK);
    cr_assert_eq(vp_trainer_checkpoint(u, after, cs, &err), VP_OK);
    cr_assert(memcmp(before, after, cs) == 0);
    vp_trainer_free(t);
    vp_trainer_free(u);
    free(before);
    free(after);
    free(p);
    free(g);
}

/* ----------------------------------------------------- 5. n < max_batch */

Test(train_rows, fewer_rows_than_max_batch_same_bits)
{
    net_spec s = SMALL;
    s.prec = VP_F32;
    s.act = VP_ACT_RELU;
    const size_t n = 5;
    double x[5 * 5];
    int32_t y[5];
    make_data(&s, n, 8, x, y);
    float *xf = to_prec(x, sizeof x / sizeof x[0], VP_F32);
    vp_trainer *a = make(&s, 16, sgd(0.1, 0.9, 0), 1), *b = make(&s, (int)n, sgd(0.1, 0.9, 0), 1);
    vp_err err = { 0 };
    vp_train_step_info ia, ib;
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(vp_trainer_step(a, xf, y, n, &ia, &err), VP_OK);
        cr_assert_eq(vp_trainer_step(b, xf, y, n, &ib, &err), VP_OK);
        cr_assert_eq(ia.loss, ib.loss);
        cr_assert_eq(ia.grad_norm, ib.grad_norm);
    }
    size_t cs = vp_trainer_checkpoint_size(a);
    char *ca = malloc(cs), *cb = malloc(cs);
    cr_assert_eq(vp_trainer_checkpoint(a, ca, cs, &err), VP_OK);
    cr_assert_eq(vp_trainer_checkpoint(b, cb, cs, &err), VP_OK);
    cr_assert(memcmp(ca, cb, cs) == 0);
    /* n = 0 and n > max_batch are refused. */
    cr_assert_eq(vp_trainer_step(b, xf, y, 0, NULL, &err), VP_ERR_USAGE);
    cr_assert_eq(vp_trainer_step(b, xf, y, n + 1, NULL, &err), VP_ERR_USAGE);
    vp_trainer_free(a);
    vp_trainer_free(b);
    free(ca);
    free(cb);
    free(xf);
}

/* ------------------------------------------------------ 6. checkpoint */

static void run_steps(vp_trainer *t, const void *x, const int32_t *y, size_t n, int k)
{
    vp_err err = { 0 };
    for (int i = 0; i < k; i++) cr_assert_eq(vp_trainer_step(t, x, y, n - (size_t)(i % 3), NULL, &err), VP_OK);
}

static void checkpoint_check(vp_precision prec, vp_optim opt)
{
    net_spec s = SMALL;
    s.prec = prec;
    const size_t n = 8;
    double x[8 * 5];
    int32_t y[8];
    make_data(&s, n, 3, x, y);
    void *xp = to_prec(x, sizeof x / sizeof x[0], prec);
    vp_trainer *a = make(&s, 8, opt, 12), *b = make(&s, 8, opt, 99);
    run_steps(a, xp, y, n, 4);
    size_t cs = vp_trainer_checkpoint_size(a);
    char *ck = malloc(cs), *ca = malloc(cs), *cb = malloc(cs);
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_checkpoint(a, ck, cs, &err), VP_OK);
    run_steps(a, xp, y, n, 5);
    cr_assert_eq(vp_trainer_restore(b, ck, cs, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_trainer_steps(b), 4);
    run_steps(b, xp, y, n, 5);
    cr_assert_eq(vp_trainer_steps(b), 9);
    cr_assert_eq(vp_trainer_checkpoint(a, ca, cs, &err), VP_OK);
    cr_assert_eq(vp_trainer_checkpoint(b, cb, cs, &err), VP_OK);
    cr_assert(memcmp(ca, cb, cs) == 0, "restored training differs from uninterrupted training");
    /* A truncated or damaged checkpoint, or one of another shape, is refused. */
    cr_assert_eq(vp_trainer_restore(b, ck, cs - 1, &err), VP_ERR_DATA);
    ck[0] ^= 1;
    cr_assert_eq(vp_trainer_restore(b, ck, cs, &err), VP_ERR_DATA);
    ck[0] ^= 1;
    net_spec other = s;
    other.w[1] = 9;
    vp_trainer *c = make(&other, 8, opt, 1);
    size_t co = vp_trainer_checkpoint_size(c);
    char *cc = malloc(co);
    cr_assert_eq(vp_trainer_checkpoint(c, cc, co, &err), VP_OK);
    cr_assert_eq(vp_trainer_restore(b, cc, co, &err), VP_ERR_DATA);
    cr_assert_eq(vp_trainer_restore(c, ck, cs, &err), VP_ERR_DATA);
    vp_trainer_free(a);
    vp_trainer_free(b);
    vp_trainer_free(c);
    free(ck);
    free(ca);
    free(cb);
    free(cc);
    free(xp);
}

Test(train_checkpoint, adam_f32_restore_same_bits) { checkpoint_check(VP_F32, vp_optim_default(VP_OPTIM_ADAM)); }
Test(train_checkpoint, sgd_momentum_f64_restore_same_bits) { checkpoint_check(VP_F64, sgd(0.05, 0.9, 1e-3)); }

Test(train_checkpoint, other_optimizer_refused)
{
    vp_trainer *a = make(&SMALL, 8, sgd(0.1, 0.9, 0), 1), *b = make(&SMALL, 8, vp_optim_default(VP_OPTIM_ADAM), 1);
    size_t cs = vp_trainer_checkpoint_size(a);
    char *ck = malloc(cs);
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_checkpoint(a, ck, cs, &err), VP_OK);
    /* sgd with momentum has 1 state array, adam 2: the sizes differ already */
    cr_assert_eq(vp_trainer_restore(b, ck, cs, &err), VP_ERR_DATA);
    vp_trainer_free(a);
    vp_trainer_free(b);
    free(ck);
}

/* ----------------------------------------------------------- 7. threads */

Test(train_threads, one_and_two_threads_same_bits)
{
    /* Widths above the product block (256) and a batch of several row chunks, so the
     * products really are split. */
    net_spec s = { .L = 2, .w = { 40, 300, 270 }, .classes = 5, .prec = VP_F32, .act = VP_ACT_TANH,
                   .loss = VP_LOSS_CROSS_ENTROPY };
    const size_t n = 96;
    double *x = malloc(n * 40 * sizeof *x);
    int32_t y[96];
    make_data(&s, n, 4, x, y);
    float *xf = to_prec(x, n * 40, VP_F32);
    vp_pool *pool = NULL;
    vp_err err = { 0 };
    cr_assert_eq(vp_pool_create(&pool, 2, &err), VP_OK);
    vp_trainer *a = make(&s, 96, vp_optim_default(VP_OPTIM_ADAM), 5), *b = make(&s, 96, vp_optim_default(VP_OPTIM_ADAM), 5);
    vp_trainer_set_pool(b, pool);
    vp_train_step_info ia, ib;
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(vp_trainer_step(a, xf, y, n - (size_t)k, &ia, &err), VP_OK);
        cr_assert_eq(vp_trainer_step(b, xf, y, n - (size_t)k, &ib, &err), VP_OK);
        cr_assert_eq(ia.loss, ib.loss);
        cr_assert_eq(ia.grad_norm, ib.grad_norm);
    }
    size_t cs = vp_trainer_checkpoint_size(a);
    char *ca = malloc(cs), *cb = malloc(cs);
    cr_assert_eq(vp_trainer_checkpoint(a, ca, cs, &err), VP_OK);
    cr_assert_eq(vp_trainer_checkpoint(b, cb, cs, &err), VP_OK);
    cr_assert(memcmp(ca, cb, cs) == 0, "2 threads gave other bits than 1");
    double la, lb;
    long long ka, kb;
    cr_assert_eq(vp_trainer_eval(a, xf, y, n, &la, &ka, &err), VP_OK);
    cr_assert_eq(vp_trainer_eval(b, xf, y, n, &lb, &kb, &err), VP_OK);
    cr_assert_eq(la, lb);
    cr_assert_eq(ka, kb);
    vp_trainer_free(a);
    vp_trainer_free(b);
    vp_pool_free(pool);
    free(ca);
    free(cb);
    free(x);
    free(xf);
}

/* ---------------------------------------------------------- 8. learning */

Test(train_learn, small_net_separates_synthetic_clusters)
{
    vp_synth_spec sp = vp_synth_default(VP_SYNTH_CLUSTERS); /* 10 classes, dim 32, 10000 + 2000 */
    vp_dataset d;
    vp_err err = { 0 };
    cr_assert_eq(vp_dataset_synthetic(&d, &sp, VP_F32, &err), VP_OK, "%s", err.msg);
    net_spec s = { .L = 2, .w = { 32, 64, 64 }, .classes = 10, .prec = VP_F32, .act = VP_ACT_RELU,
                   .loss = VP_LOSS_CROSS_ENTROPY };
    vp_trainer *t = make(&s, 64, sgd(0.05, 0.9, 0), 0);
    vp_batches bt;
    cr_assert_eq(vp_batches_init(&bt, d.train.n, 64, &err), VP_OK);
    cr_assert_eq(vp_batches_epoch(&bt, 1, 0, &err), VP_OK);
    float *x = malloc(64 * 32 * sizeof *x);
    int32_t y[64];
    const uint32_t *idx;
    size_t nb;
    int steps = 0;
    vp_train_step_info info = { 0 };
    while ((nb = vp_batches_next(&bt, &idx)) > 0 && steps < 300) {
        vp_dataset_gather(&d, &d.train, idx, nb, x, y);
        cr_assert_eq(vp_trainer_step(t, x, y, nb, &info, &err), VP_OK);
        steps++;
    }
    double loss;
    long long correct;
    cr_assert_eq(vp_trainer_eval(t, d.test.x32, d.test.y, d.test.n, &loss, &correct, &err), VP_OK);
    double acc = (double)correct / (double)d.test.n;
    cr_assert_geq(acc, 0.97, "test accuracy %.4f after %d steps (loss %.4f)", acc, steps, loss);
    cr_assert_lt(loss, 0.2);
    vp_trainer_free(t);
    vp_batches_free(&bt);
    vp_dataset_free(&d);
    free(x);
}

/* ------------------------------------------------------------ refusals */

Test(train_create, rowwise_activation_and_bad_options_refused)
{
    int w[3] = { 4, 6, 6 };
    vp_train_opts o = { .classes = 3, .loss = VP_LOSS_CROSS_ENTROPY, .optim = sgd(0.1, 0, 0),
                        .sched = vp_sched_default(VP_SCHED_CONSTANT) };
    vp_trainer *t = (vp_trainer *)&o;
    vp_err err = { 0 };
    cr_assert_eq(vp_trainer_create(&t, 2, w, 4, VP_F32, vp_act_default(VP_ACT_SOFTMAX), &o, &err), VP_ERR_CONFIG);
    cr_assert_null(t);
    o.classes = 1;
    cr_assert_eq(vp_trainer_create(&t, 2, w, 4, VP_F32, vp_act_default(VP_ACT_RELU), &o, &err), VP_ERR_CONFIG);
    o.classes = 3;
    o.optim.p[VP_SGD_NESTEROV] = 1; /* nesterov without momentum: PyTorch's ValueError */
    cr_assert_eq(vp_trainer_create(&t, 2, w, 4, VP_F32, vp_act_default(VP_ACT_RELU), &o, &err), VP_ERR_CONFIG);
    o.optim.p[VP_SGD_NESTEROV] = 0;
    cr_assert_eq(vp_trainer_create(&t, 2, w, 4, VP_F32, vp_act_default(VP_ACT_RELU), &o, &err), VP_OK);
    cr_assert_eq(vp_trainer_depth(t), 2);
    cr_assert_gt(vp_trainer_bytes(2, w, 4, VP_F32, vp_act_default(VP_ACT_RELU), &o), 0.0);
    vp_trainer_free(t);
    vp_trainer_free(NULL);
}
