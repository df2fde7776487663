/* Tests of the MLP forward/backward pass and its statistics (src/core/mlp.c).
 *
 * The library reports only statistics, so the tests rebuild the network in
 * plain C (triple loops, double) from the exported weights and the documented
 * random streams, check that reference backward pass against finite differences
 * of the probe loss L = sum_b sum_j g_bj h^L_bj, and then compare every
 * reported statistic with the same statistic of the reference tensors. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mlp.h"
#include "core/rng.h"
#include "base/pool.h"

#define NSIG 6.0
#define MAXL 8

static double *alloc_doubles(size_t n)
{
    double *x = calloc(n ? n : 1, sizeof *x);
    cr_assert_not_null(x);
    return x;
}

/* ---- reference network ---- */
typedef struct {
    int L, B, w[MAXL + 1];
    vp_act act;
    double *W[MAXL + 1], *b[MAXL + 1];           /* W^l [n_l, n_{l-1}], b^l [n_l] */
    double *z[MAXL + 1], *h[MAXL + 1], *d[MAXL + 1]; /* [B, n_l]; h[0] = input */
    double *gh[MAXL + 1], *gz[MAXL + 1], *dW[MAXL + 1]; /* dL/dh^l, dL/dz^l, (1/B) dL/dW^l */
    double *g;                                   /* probe [B, n_L] */
} ref_net;

static void ref_alloc(ref_net *r, int L, const int *w, int B, vp_act act)
{
    memset(r, 0, sizeof *r);
    r->L = L;
    r->B = B;
    r->act = act;
    for (int l = 0; l <= L; l++) r->w[l] = w[l];
    r->h[0] = alloc_doubles((size_t)B * (size_t)w[0]);
    for (int l = 1; l <= L; l++) {
        size_t n = (size_t)w[l], nin = (size_t)w[l - 1], Bn = (size_t)B * n;
        r->W[l] = alloc_doubles(n * nin);
        r->dW[l] = alloc_doubles(n * nin);
        r->b[l] = alloc_doubles(n);
        r->z[l] = alloc_doubles(Bn);
        r->h[l] = alloc_doubles(Bn);
        r->d[l] = alloc_doubles(Bn);
        r->gh[l] = alloc_doubles(Bn);
        r->gz[l] = alloc_doubles(Bn);
    }
    r->g = alloc_doubles((size_t)B * (size_t)w[L]);
}

static void ref_free(ref_net *r)
{
    free(r->h[0]);
    for (int l = 1; l <= r->L; l++) {
        free(r->W[l]); free(r->dW[l]); free(r->b[l]); free(r->z[l]); free(r->h[l]);
        free(r->d[l]); free(r->gh[l]); free(r->gz[l]);
    }
    free(r->g);
}

static void ref_forward(ref_net *r)
{
    for (int l = 1; l <= r->L; l++) {
        int n = r->w[l], nin = r->w[l - 1];
        for (int bb = 0; bb < r->B; bb++)
            for (int j = 0; j < n; j++) {
                double s = r->b[l][j];
                for (int k = 0; k < nin; k++) s += r->h[l - 1][bb * nin + k] * r->W[l][j * nin + k];
                size_t e = (size_t)bb * (size_t)n + (size_t)j;
                r->z[l][e] = s;
                r->h[l][e] = vp_act_f(&r->act, s);
                r->d[l][e] = vp_act_df(&r->act, s);
            }
    }
}

/* Probe loss sum_b sum_j g_bj h^L_bj. */
static double ref_loss(const ref_net *r)
{
    double s = 0;
    for (size_t e = 0; e < (size_t)r->B * (size_t)r->w[r->L]; e++) s += r->g[e] * r->h[r->L][e];
    return s;
}

/* The library's probe: element e of [B, n_L] is component e%2 of pair e/2 of
 * vp_rng_normal2 on vp_rng_make(seed, 0, VP_RNG_PROBE), draw 0. */
static void ref_probe(ref_net *r, uint64_t seed)
{
    vp_rng p = vp_rng_make(seed, 0, VP_RNG_PROBE);
    size_t N = (size_t)r->B * (size_t)r->w[r->L];
    for (size_t e = 0; e < N; e++) {
        double pair[2];
        vp_rng_normal2(&p, e / 2, 0, pair);
        r->g[e] = pair[e % 2];
    }
}

static void ref_backward(ref_net *r)
{
    int L = r->L, B = r->B;
    memcpy(r->gh[L], r->g, (size_t)B * (size_t)r->w[L] * sizeof *r->g);
    for (int l = L; l >= 1; l--) {
        int n = r->w[l], nin = r->w[l - 1];
        for (size_t e = 0; e < (size_t)B * (size_t)n; e++) r->gz[l][e] = r->gh[l][e] * r->d[l][e];
        for (int j = 0; j < n; j++)
            for (int k = 0; k < nin; k++) {
                double s = 0;
                for (int bb = 0; bb < B; bb++) s += r->gz[l][bb * n + j] * r->h[l - 1][bb * nin + k];
                r->dW[l][j * nin + k] = s / B;
            }
        if (l > 1)
            for (int bb = 0; bb < B; bb++)
                for (int k = 0; k < nin; k++) {
                    double s = 0;
                    for (int j = 0; j < n; j++) s += r->gz[l][bb * n + j] * r->W[l][j * nin + k];
                    r->gh[l - 1][bb * nin + k] = s;
                }
    }
}

/* Population statistics of a [rows, n] tensor. */
typedef struct { double mean, var, usq, uvar; } tstats;

static tstats tensor_stats(const double *x, int rows, int n)
{
    tstats t = { 0, 0, 0, 0 };
    double N = (double)rows * n;
    for (int i = 0; i < rows * n; i++) t.mean += x[i];
    t.mean /= N;
    for (int i = 0; i < rows * n; i++) t.var += (x[i] - t.mean) * (x[i] - t.mean);
    t.var /= N;
    for (int j = 0; j < n; j++) {
        double m = 0, v = 0;
        for (int r = 0; r < rows; r++) m += x[r * n + j];
        m /= rows;
        for (int r = 0; r < rows; r++) v += (x[r * n + j] - m) * (x[r * n + j] - m);
        t.usq += m * m;
        t.uvar += v / rows;
    }
    t.usq /= n;
    t.uvar /= n;
    return t;
}

/* |got - want| <= rel * (|want| + scale): scale is the natural size of the
 * quantity (sd for a mean, the variance itself for variances). */
static void expect_close(const char *what, int l, double got, double want, double scale, double rel)
{
    cr_expect(fabs(got - want) <= rel * (fabs(want) + scale), "layer %d %s: library %.17g, reference %.17g (rel %.2g)", l,
              what, got, want, fabs(got - want) / (fabs(want) + scale + 1e-300));
}

/* ---- building a library network and its reference twin ---- */
typedef struct {
    vp_mlp *m;
    vp_layer_stats st[MAXL];
} lib_net;

static void build(lib_net *net, ref_net *ref, int L, const int *w, int B, vp_precision prec, vp_act act,
                  const vp_init *wi, const vp_init *bi, uint64_t seed)
{
    vp_err err;
    cr_assert_eq(vp_mlp_create(&net->m, L, w, B, prec, act, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_mlp_init_params(net->m, wi, bi, seed, &err), VP_OK, "%s", err.msg);
    ref_alloc(ref, L, w, B, act);
    vp_rng in = vp_rng_make(seed, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&in, 0, ref->h[0], (size_t)B * (size_t)w[0]);
    vp_mlp_set_input(net->m, ref->h[0]);
    if (prec == VP_F32) /* the f32 net holds the input rounded to float */
        for (size_t i = 0; i < (size_t)B * (size_t)w[0]; i++) ref->h[0][i] = (double)(float)ref->h[0][i];
    for (int l = 1; l <= L; l++) {
        vp_mlp_export_layer(net->m, l, 0, ref->W[l], NULL);
        /* Biases are not exported: redraw them from the documented stream
         * (seed, l, BIAS) -- the comparison below fails if that contract breaks. */
        vp_rng rb = vp_rng_make(seed, (uint32_t)l, VP_RNG_BIAS);
        const vp_init *bsrc = vp_init_get(wi->kind)->sets_bias ? wi : bi;
        cr_assert_eq(vp_init_bias(bsrc, (size_t)w[l], (size_t)w[l - 1], &rb, ref->b[l], &err), VP_OK);
        if (prec == VP_F32)
            for (int j = 0; j < w[l]; j++) ref->b[l][j] = (double)(float)ref->b[l][j];
    }
    ref_probe(ref, seed);
}

static void run_lib(lib_net *net, uint64_t seed, vp_histogram *hist)
{
    vp_err err;
    cr_assert_eq(vp_mlp_forward(net->m, net->st, hist, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_mlp_backward(net->m, seed, net->st, hist, &err), VP_OK, "%s", err.msg);
}

/* Compare every statistic of stats[] with the reference tensors. */
static void compare_stats(const ref_net *r, const vp_layer_stats *st, double rel)
{
    const vp_act_info *info = vp_act_get(r->act.kind);
    for (int l = 1; l <= r->L; l++) {
        int n = r->w[l], nin = r->w[l - 1], B = r->B;
        const vp_layer_stats *s = &st[l - 1];
        cr_expect_eq(s->layer, l);
        cr_expect_eq(s->fan_in, nin);
        cr_expect_eq(s->fan_out, n);
        cr_expect_eq(s->nonfinite, 0);
        /* Subnormal entries met in z, h (forward) and dL/dh, dL/dz, dL/dW (backward). */
        long long sub = 0;
        const double *ts[5] = { r->z[l], r->h[l], r->gh[l], r->gz[l], r->dW[l] };
        const int tn[5] = { B * n, B * n, B * n, B * n, n * nin };
        for (int t = 0; t < 5; t++)
            for (int e = 0; e < tn[t]; e++) sub += ts[t][e] != 0 && fabs(ts[t][e]) < DBL_MIN;
        cr_expect_eq(s->subnormal, sub, "layer %d subnormal %lld vs %lld", l, s->subnormal, sub);
        tstats z = tensor_stats(r->z[l], B, n), h = tensor_stats(r->h[l], B, n);
        tstats gz = tensor_stats(r->gz[l], B, n), gh = tensor_stats(r->gh[l], B, n);
        tstats dw = tensor_stats(r->dW[l], n, nin);
        expect_close("pre_mean", l, s->pre_mean, z.mean, sqrt(z.var), rel);
        expect_close("pre_var", l, s->pre_var, z.var, 0, rel);
        expect_close("post_mean", l, s->post_mean, h.mean, sqrt(h.var), rel);
        expect_close("post_var", l, s->post_var, h.var, 0, rel);
        expect_close("unit_sq_mean", l, s->unit_sq_mean, h.usq, h.var, rel);
        expect_close("unit_var", l, s->unit_var, h.uvar, h.var, rel);
        expect_close("grad_pre_var", l, s->grad_pre_var, gz.var, 0, rel);
        expect_close("grad_post_var", l, s->grad_post_var, gh.var, 0, rel);
        expect_close("wgrad_var", l, s->wgrad_var, dw.var, 0, rel);
        int dead = 0;
        long sat = 0;
        for (int j = 0; j < n; j++) {
            int alive = 0;
            for (int bb = 0; bb < B; bb++) alive |= r->d[l][bb * n + j] != 0.0;
            dead += !alive;
        }
        if (info->bounded)
            for (int e = 0; e < B * n; e++) sat += fabs(r->d[l][e]) < 0.05 * info->dpeak;
        cr_expect_float_eq(s->dead_frac, (double)dead / n, 1e-15, "layer %d dead_frac %g vs %g", l, s->dead_frac,
                           (double)dead / n);
        cr_expect_float_eq(s->saturated_frac, (double)sat / (B * n), 1e-15, "layer %d saturated_frac %g vs %g", l,
                           s->saturated_frac, (double)sat / (B * n));
    }
}

static const int SMALL_W[4] = { 5, 7, 6, 4 };

Test(mlp_reference, backward_matches_finite_differences)
{
    /* First make sure the reference itself is right: dL/dW^l_jk = B * dW_ref and
     * dL/db^l_j = sum_b gz^l_bj against central differences of the loss in every
     * parameter of a 5-7-6-4 net, batch 3. With eps = 1e-6 the truncation error is
     * eps^2/6 |L'''| ~ 1e-12 and the rounding error ~ 5 ulp * S / (2 eps) with
     * S = sum |g h^L| <= 20 here: 5 * 2.2e-16 * 20 / 2e-6 = 1.1e-8. Tolerance
     * 1e-7 (1 + |grad|); a missing phi' factor or a transposed W changes the
     * gradient by O(0.1). */
    const vp_act_kind acts[4] = { VP_ACT_TANH, VP_ACT_GELU, VP_ACT_SILU, VP_ACT_SOFTPLUS };
    for (int a = 0; a < 4; a++) {
        ref_net r;
        lib_net net;
        vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
        wi.p[0] = 1.5;
        bi.p[1] = 0.3;
        build(&net, &r, 3, SMALL_W, 3, VP_F64, vp_act_default(acts[a]), &wi, &bi, 17 + (uint64_t)a);
        ref_forward(&r);
        ref_backward(&r);
        double S = 0;
        for (int e = 0; e < 3 * 4; e++) S += fabs(r.g[e] * r.h[3][e]);
        cr_assert_leq(S, 20.0, "loss scale assumed in the tolerance");
        const double eps = 1e-6;
        double worst = 0;
        for (int l = 1; l <= 3; l++) {
            int n = r.w[l], nin = r.w[l - 1];
            for (int i = 0; i < n * nin + n; i++) {
                double *p = i < n * nin ? &r.W[l][i] : &r.b[l][i - n * nin];
                double keep = *p;
                *p = keep + eps;
                ref_forward(&r);
                double lp = ref_loss(&r);
                *p = keep - eps;
                ref_forward(&r);
                double lm = ref_loss(&r);
                *p = keep;
                double fd = (lp - lm) / (2 * eps), an;
                if (i < n * nin) an = 3.0 * r.dW[l][i];
                else {
                    an = 0;
                    for (int bb = 0; bb < 3; bb++) an += r.gz[l][bb * n + (i - n * nin)];
                }
                double e = fabs(fd - an) / (1 + fabs(an));
                worst = fmax(worst, e);
                cr_expect_leq(e, 1e-7, "%s layer %d param %d: fd %.12g analytic %.12g", vp_act_get(acts[a])->name, l, i, fd, an);
            }
        }
        cr_log_info("%s: worst relative FD error %.3g (tolerance 1e-7)", vp_act_get(acts[a])->name, worst);
        ref_free(&r);
        vp_mlp_free(net.m);
    }
}

Test(mlp_reference, statistics_match_reference_f64)
{
    /* Every reported statistic against the reference tensors, float64. The only
     * differences are summation order (BLAS vs loops, shifted vs two-pass sums):
     * a few ulp per operation on O(1) quantities, so 1e-10 relative leaves > 1e4
     * margin while any definitional slip (sample vs population variance: x 3/2 at
     * B = 3; sum vs batch-mean weight gradient: x 9; per-unit vs whole-tensor
     * variance) is O(1). relu with N(0, 1) biases has dead units at B = 3. */
    const vp_act_kind acts[5] = { VP_ACT_TANH, VP_ACT_GELU, VP_ACT_SILU, VP_ACT_SOFTPLUS, VP_ACT_RELU };
    for (int a = 0; a < 5; a++) {
        ref_net r;
        lib_net net;
        vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
        wi.p[0] = 1.5;
        bi.p[1] = acts[a] == VP_ACT_RELU ? 1.0 : 0.3;
        build(&net, &r, 3, SMALL_W, 3, VP_F64, vp_act_default(acts[a]), &wi, &bi, 40 + (uint64_t)a);
        /* Exported weights are the documented (seed, l, WEIGHT) draws, bit for bit. */
        for (int l = 1; l <= 3; l++) {
            double W[42];
            vp_rng rw = vp_rng_make(40 + (uint64_t)a, (uint32_t)l, VP_RNG_WEIGHT);
            vp_err err;
            cr_assert_eq(vp_init_weight(&wi, (size_t)r.w[l], (size_t)r.w[l - 1], &rw, W, &err), VP_OK);
            cr_expect_eq(memcmp(W, r.W[l], (size_t)(r.w[l] * r.w[l - 1]) * sizeof *W), 0, "layer %d weights", l);
            double sw2, sb2, rb2 = 0, rw2 = 0;
            vp_mlp_weight_moments(net.m, l, &sw2, &sb2);
            for (int j = 0; j < r.w[l]; j++) rb2 += r.b[l][j] * r.b[l][j];
            for (int j = 0; j < r.w[l] * r.w[l - 1]; j++) rw2 += W[j] * W[j];
            cr_expect_float_eq(sb2, rb2 / r.w[l], 1e-14, "layer %d mean(b^2)", l);
            cr_expect_float_eq(sw2, rw2 / r.w[l], 1e-14, "layer %d fan_in mean(W^2)", l);
        }
        run_lib(&net, 40 + (uint64_t)a, NULL);
        ref_forward(&r);
        ref_backward(&r);
        compare_stats(&r, net.st, 1e-10);
        /* phi'(z) of example b as exported. */
        double dphi[7];
        for (int l = 1; l <= 3; l++)
            for (int bb = 0; bb < 3; bb++) {
                vp_mlp_export_layer(net.m, l, bb, NULL, dphi);
                for (int j = 0; j < r.w[l]; j++)
                    cr_expect_float_eq(dphi[j], r.d[l][bb * r.w[l] + j], 1e-12, "layer %d example %d unit %d", l, bb, j);
            }
        if (acts[a] == VP_ACT_RELU) {
            double total = 0;
            for (int l = 0; l < 3; l++) total += net.st[l].dead_frac;
            cr_expect_gt(total, 0.0, "the relu case should exercise dead units (seed choice)");
        }
        ref_free(&r);
        vp_mlp_free(net.m);
    }
}

Test(mlp_reference, statistics_match_reference_any_batch)
{
    /* The statistics sweep the batch four rows at a time with a tail of one to three
     * rows: batches 1, 5, 9 and 14 exercise the tail alone, one block + tail, and
     * several blocks + tail, for bounded (saturation counted) and piecewise-linear
     * activations. Same tolerance argument as backward_matches_reference (1e-10). */
    const int batches[4] = { 1, 5, 9, 14 };
    const vp_act_kind acts[3] = { VP_ACT_TANH, VP_ACT_SIGMOID, VP_ACT_RELU };
    for (int bi_ = 0; bi_ < 4; bi_++)
        for (int a = 0; a < 3; a++) {
            ref_net r;
            lib_net net;
            vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
            wi.p[0] = 2.5; /* large enough that tanh/sigmoid saturate somewhere */
            bi.p[1] = 0.5;
            uint64_t seed = 70 + (uint64_t)(4 * a + bi_);
            build(&net, &r, 3, SMALL_W, batches[bi_], VP_F64, vp_act_default(acts[a]), &wi, &bi, seed);
            run_lib(&net, seed, NULL);
            ref_forward(&r);
            ref_backward(&r);
            compare_stats(&r, net.st, 1e-10);
            ref_free(&r);
            vp_mlp_free(net.m);
        }
}

Test(mlp_reference, statistics_match_reference_f32)
{
    /* The float32 net against the float64 reference built from the same
     * (float-rounded) parameters and input. float has eps = 6e-8; z is a sum of
     * <= 7 products, so z carries ~10 eps relative error (relative to sum|w h|),
     * and each statistic inherits a few times that: ~1e-6. Tolerance 1e-4 on
     * variances (relative) leaves 100x margin; a statistic accumulated in float
     * or a mix-up of the precision dispatch is off by far more. Means are
     * compared relative to the tensor's sd. */
    ref_net r;
    lib_net net;
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
    bi.p[1] = 0.3;
    build(&net, &r, 3, SMALL_W, 3, VP_F32, vp_act_default(VP_ACT_TANH), &wi, &bi, 5);
    run_lib(&net, 5, NULL);
    ref_forward(&r);
    ref_backward(&r);
    compare_stats(&r, net.st, 1e-4);
    ref_free(&r);
    vp_mlp_free(net.m);
}

Test(mlp_reference, f32_agrees_with_f64_deeper)
{
    /* Same seed and config in both precisions, 8 layers of width 96, batch 32,
     * tanh, xavier_normal (stable regime, so errors do not grow exponentially).
     * The f32 rounding of ~1e-6 per layer compounds at most linearly over 8
     * layers: ~1e-5. Tolerance 1e-3 relative for variances. */
    const int L = 8;
    int w[9];
    for (int i = 0; i <= L; i++) w[i] = 96;
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_ZEROS);
    vp_layer_stats s32[8], s64[8];
    vp_mlp *m32, *m64;
    vp_err err;
    double *x = alloc_doubles((size_t)32 * 96);
    vp_rng in = vp_rng_make(8, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&in, 0, x, (size_t)32 * 96);
    cr_assert_eq(vp_mlp_create(&m32, L, w, 32, VP_F32, vp_act_default(VP_ACT_TANH), &err), VP_OK);
    cr_assert_eq(vp_mlp_create(&m64, L, w, 32, VP_F64, vp_act_default(VP_ACT_TANH), &err), VP_OK);
    cr_assert_eq(vp_mlp_init_params(m32, &wi, &bi, 8, &err), VP_OK);
    cr_assert_eq(vp_mlp_init_params(m64, &wi, &bi, 8, &err), VP_OK);
    vp_mlp_set_input(m32, x);
    vp_mlp_set_input(m64, x);
    cr_assert_eq(vp_mlp_forward(m32, s32, NULL, &err), VP_OK);
    cr_assert_eq(vp_mlp_forward(m64, s64, NULL, &err), VP_OK);
    cr_assert_eq(vp_mlp_backward(m32, 8, s32, NULL, &err), VP_OK);
    cr_assert_eq(vp_mlp_backward(m64, 8, s64, NULL, &err), VP_OK);
    for (int l = 0; l < L; l++) {
        expect_close("pre_var f32/f64", l + 1, s32[l].pre_var, s64[l].pre_var, 0, 1e-3);
        expect_close("post_var f32/f64", l + 1, s32[l].post_var, s64[l].post_var, 0, 1e-3);
        expect_close("pre_mean f32/f64", l + 1, s32[l].pre_mean, s64[l].pre_mean, sqrt(s64[l].pre_var), 1e-3);
        expect_close("grad_pre_var f32/f64", l + 1, s32[l].grad_pre_var, s64[l].grad_pre_var, 0, 1e-3);
        expect_close("wgrad_var f32/f64", l + 1, s32[l].wgrad_var, s64[l].wgrad_var, 0, 1e-3);
    }
    vp_mlp_free(m32);
    vp_mlp_free(m64);
    free(x);
}

/* ---- textbook facts ---- */

/* ln(Var[z^L]/Var[z^1]) for a deep ReLU net of width n, zero biases, input N(0,1). */
static double relu_log_ratio(vp_init_kind kind, int n, int L, int B, uint64_t seed)
{
    int *w = malloc((size_t)(L + 1) * sizeof *w);
    vp_layer_stats *st = malloc((size_t)L * sizeof *st);
    double *x = alloc_doubles((size_t)B * (size_t)n);
    cr_assert(w && st);
    for (int i = 0; i <= L; i++) w[i] = n;
    vp_mlp *m;
    vp_err err;
    cr_assert_eq(vp_mlp_create(&m, L, w, B, VP_F64, vp_act_default(VP_ACT_RELU), &err), VP_OK);
    vp_init wi = vp_init_default(kind), bi = vp_init_default(VP_INIT_ZEROS);
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, seed, &err), VP_OK);
    vp_rng r = vp_rng_make(seed, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, x, (size_t)B * (size_t)n);
    vp_mlp_set_input(m, x);
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK);
    for (int l = 0; l < L; l++) cr_assert(isfinite(st[l].pre_var) && st[l].pre_var > 0);
    double lr = log(st[L - 1].pre_var / st[0].pre_var);
    vp_mlp_free(m);
    free(w);
    free(st);
    free(x);
    return lr;
}

/* Finite-width band. For a ReLU net the squared norm of one example changes per
 * layer by the factor (2/n) sum_j z_j^2 1[z_j > 0] / q, mean 1 and variance
 * (E[4 z^4 1[z>0]]/q^2 - 1)/n = (6 - 1)/n, so sd(ln Var[z^L]/Var[z^1]) is about
 * sqrt(5 (L-1)/n) (Hanin & Nica 2019; averaging over a correlated batch only
 * lowers it; measured over 20 seeds at n = 512, L = 50: 0.60 vs the bound
 * 0.69). 6 of these, spread over L-1 layers: the fitted per-layer ratio
 * (Var[z^L]/Var[z^1])^(1/(L-1)) is within exp(+-6 sqrt(5/(n (L-1)))) = e^+-0.085
 * of its mean-field value (1 for He, 1/2 for Xavier): [0.919, 1.088] resp.
 * [0.459, 0.544]. A variance 10% off per layer (ln 1.1 = 0.095) is caught; a
 * missing sqrt 2 (ratio 1/2) or an extra sqrt 3 (ratio 3/2) by a factor of 8. */
Test(mlp_textbook, he_preserves_relu_variance_xavier_halves_it, .timeout = 120)
{
    const int n = 512, L = 50, B = 64;
    double band = NSIG * sqrt(5.0 / ((double)n * (L - 1)));
    double he = relu_log_ratio(VP_INIT_KAIMING_NORMAL, n, L, B, 1) / (L - 1);
    cr_expect_leq(fabs(he), band, "He/ReLU: per-layer Var ratio %.4f outside [%.3f, %.3f]", exp(he), exp(-band),
                  exp(band));
    double xa = relu_log_ratio(VP_INIT_XAVIER_NORMAL, n, L, B, 2) / (L - 1);
    cr_expect_leq(fabs(xa - log(0.5)), band, "Xavier/ReLU: per-layer Var ratio %.4f outside [%.3f, %.3f]", exp(xa),
                  0.5 * exp(-band), 0.5 * exp(band));
    /* xavier_uniform with equal widths has n Var[W] = 1 as well. */
    cr_log_info("per-layer Var[z] ratio: He %.4f, Xavier %.4f (band e^+-%.3f)", exp(he), exp(xa), band);
    double xu = relu_log_ratio(VP_INIT_XAVIER_UNIFORM, n, L, B, 3) / (L - 1);
    cr_expect_leq(fabs(xu - log(0.5)), band, "xavier_uniform/ReLU: per-layer ratio %.4f", exp(xu));
}

Test(mlp_textbook, linear_identity_net_preserves_input)
{
    /* identity activation, identity weights, zero biases: h^L = x bit for bit
     * (z_j = 1 * x_j + sum of exact zeros), so every layer reports the input's
     * statistics and every gradient the probe's. */
    const int L = 5, B = 4;
    int w[6] = { 6, 6, 6, 6, 6, 6 };
    vp_init wi = vp_init_default(VP_INIT_IDENTITY), bi = vp_init_default(VP_INIT_ZEROS);
    ref_net r;
    lib_net net;
    build(&net, &r, L, w, B, VP_F64, vp_act_default(VP_ACT_IDENTITY), &wi, &bi, 3);
    run_lib(&net, 3, NULL);
    tstats x = tensor_stats(r.h[0], B, 6), g = tensor_stats(r.g, B, 6);
    for (int l = 0; l < L; l++) {
        expect_close("pre_var = Var[x]", l + 1, net.st[l].pre_var, x.var, 0, 1e-14);
        expect_close("pre_mean = mean x", l + 1, net.st[l].pre_mean, x.mean, sqrt(x.var), 1e-14);
        expect_close("unit_var", l + 1, net.st[l].unit_var, x.uvar, x.var, 1e-14);
        expect_close("grad_post_var = Var[g]", l + 1, net.st[l].grad_post_var, g.var, 0, 1e-14);
        cr_expect_eq(net.st[l].pre_var, net.st[0].pre_var, "layer %d differs from layer 1 at all", l + 1);
        cr_expect_eq(net.st[l].post_var, net.st[0].pre_var);
    }
    ref_free(&r);
    vp_mlp_free(net.m);
    /* Rectangular identities 6 -> 9 -> 6: pad with zeros, then drop them. */
    int w2[3] = { 6, 9, 6 };
    build(&net, &r, 2, w2, B, VP_F64, vp_act_default(VP_ACT_IDENTITY), &wi, &bi, 3);
    run_lib(&net, 3, NULL);
    expect_close("6-9-6 output", 2, net.st[1].pre_var, x.var, 0, 1e-14);
    expect_close("6-9-6 output mean", 2, net.st[1].pre_mean, x.mean, sqrt(x.var), 1e-14);
    ref_free(&r);
    vp_mlp_free(net.m);
}

/* Every reported moment is finite or NaN, never +-inf or a finite wrong number. */
static void expect_finite_or_nan(const vp_layer_stats *s)
{
    const double v[] = { s->pre_mean, s->pre_var, s->post_mean, s->post_var, s->grad_pre_var, s->grad_post_var,
                         s->wgrad_var, s->unit_sq_mean, s->unit_var };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cr_expect(isnan(v[i]) || isfinite(v[i]), "layer %d: statistic %zu is %g", s->layer, i, v[i]);
}

Test(mlp_textbook, exploding_net_reports_nan_not_numbers)
{
    /* exponential activation, N(0, 10^2) weights, width 16, depth 30: z^1 has sd
     * ~40, h^1 = e^z ~ 1e69 (finite), z^2 ~ 1e70, h^2 = e^z = inf, z^3 = inf - inf
     * = NaN onwards; the probe gradient meets inf * 0 and NaN everywhere below.
     * The pass must complete and report NaN statistics (and nonfinite > 0) for the
     * broken layers, never a finite number computed from inf/NaN entries. */
    const vp_precision precs[2] = { VP_F64, VP_F32 };
    for (int p = 0; p < 2; p++) {
        const int L = 30, B = 8;
        int w[31];
        for (int i = 0; i <= L; i++) w[i] = 16;
        vp_init wi = vp_init_default(VP_INIT_NORMAL), bi = vp_init_default(VP_INIT_ZEROS);
        wi.p[1] = 10.0;
        ref_net r;
        lib_net net;
        vp_layer_stats st[30];
        vp_err err;
        cr_assert_eq(vp_mlp_create(&net.m, L, w, B, precs[p], vp_act_default(VP_ACT_EXPONENTIAL), &err), VP_OK);
        cr_assert_eq(vp_mlp_init_params(net.m, &wi, &bi, 9, &err), VP_OK);
        ref_alloc(&r, 1, w, B, vp_act_default(VP_ACT_EXPONENTIAL));
        vp_rng in = vp_rng_make(9, 0, VP_RNG_INPUT);
        vp_rng_normal_fill(&in, 0, r.h[0], (size_t)B * 16);
        vp_mlp_set_input(net.m, r.h[0]);
        cr_assert_eq(vp_mlp_forward(net.m, st, NULL, &err), VP_OK);
        cr_assert_eq(vp_mlp_backward(net.m, 9, st, NULL, &err), VP_OK);
        for (int l = 0; l < L; l++) {
            expect_finite_or_nan(&st[l]);
            cr_expect_gt(st[l].nonfinite, 0, "%s layer %d: gradients are NaN, nonfinite = %lld",
                         p ? "f32" : "f64", l + 1, st[l].nonfinite);
            cr_expect(isnan(st[l].grad_pre_var), "layer %d grad_pre_var = %g", l + 1, st[l].grad_pre_var);
            cr_expect(isnan(st[l].wgrad_var), "layer %d wgrad_var = %g", l + 1, st[l].wgrad_var);
            if (l >= 2) {
                cr_expect(isnan(st[l].pre_var) && isnan(st[l].post_var) && isnan(st[l].pre_mean) &&
                              isnan(st[l].post_mean) && isnan(st[l].unit_var) && isnan(st[l].unit_sq_mean),
                          "%s layer %d: pre_var %g post_var %g", p ? "f32" : "f64", l + 1, st[l].pre_var, st[l].post_var);
            }
        }
        /* The probe itself is finite: dL/dh^L is reported as a number. */
        cr_expect(isfinite(st[L - 1].grad_post_var));
        /* Layer 1's z is finite and its statistics are real numbers. */
        cr_expect(isfinite(st[0].pre_var) && st[0].pre_var > 0);
        ref_free(&r);
        vp_mlp_free(net.m);
    }
}

Test(mlp_textbook, lsuv_gives_unit_variance)
{
    /* After vp_mlp_lsuv every layer's Var[z^l] on the same batch is within tol of
     * 1 (it is the stopping rule), both with zero biases (one rescaling is exact:
     * Var[s W h] = s^2 Var[W h]) and with N(0, 0.5^2) biases (the bias part does
     * not scale, so it converges geometrically and needs several rounds). */
    const vp_precision precs[2] = { VP_F64, VP_F32 };
    const double bias_sd[2] = { 0.0, 0.5 };
    for (int p = 0; p < 2; p++)
        for (int bs = 0; bs < 2; bs++) {
            const int L = 10, B = 128;
            int w[11];
            for (int i = 0; i <= L; i++) w[i] = 64;
            w[0] = 32;
            vp_init wi = vp_init_default(VP_INIT_LSUV), bi = vp_init_default(VP_INIT_NORMAL);
            bi.p[1] = bias_sd[bs];
            vp_mlp *m;
            vp_err err;
            vp_layer_stats st[10];
            int iters[10];
            double *x = alloc_doubles((size_t)B * 32);
            vp_rng in = vp_rng_make(4, 0, VP_RNG_INPUT);
            vp_rng_normal_fill(&in, 0, x, (size_t)B * 32);
            for (size_t i = 0; i < (size_t)B * 32; i++) x[i] *= 3.0; /* not unit variance to start with */
            cr_assert_eq(vp_mlp_create(&m, L, w, B, precs[p], vp_act_default(VP_ACT_TANH), &err), VP_OK);
            cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 4, &err), VP_OK, "%s", err.msg);
            vp_mlp_set_input(m, x);
            const double tol = 0.01;
            cr_assert_eq(vp_mlp_lsuv(m, tol, 50, iters, &err), VP_OK, "%s", err.msg);
            cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK);
            for (int l = 0; l < L; l++) {
                cr_expect_lt(fabs(st[l].pre_var - 1.0), tol, "%s bias sd %g layer %d: Var[z] = %.6f after LSUV (%d iters)",
                             p ? "f32" : "f64", bias_sd[bs], l + 1, st[l].pre_var, iters[l]);
                cr_expect(iters[l] >= 1 && iters[l] <= 50, "iters %d", iters[l]);
            }
            vp_mlp_free(m);
            free(x);
        }
}

Test(mlp_textbook, dead_and_saturated_fractions)
{
    const int L = 3, B = 64, n = 64;
    int w[4] = { n, n, n, n };
    double *x = alloc_doubles((size_t)B * n);
    vp_rng in = vp_rng_make(6, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&in, 0, x, (size_t)B * n);
    vp_layer_stats st[3];
    vp_err err;
    vp_mlp *m;
    /* relu with bias -100 and xavier weights: z^l < 0 everywhere (|W h| is O(1)),
     * every unit dead, everything downstream exactly 0. */
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_CONSTANT);
    bi.p[0] = -100;
    cr_assert_eq(vp_mlp_create(&m, L, w, B, VP_F64, vp_act_default(VP_ACT_RELU), &err), VP_OK);
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 6, &err), VP_OK);
    vp_mlp_set_input(m, x);
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK);
    cr_assert_eq(vp_mlp_backward(m, 6, st, NULL, &err), VP_OK);
    for (int l = 0; l < L; l++) {
        cr_expect_eq(st[l].dead_frac, 1.0, "layer %d dead_frac %g", l + 1, st[l].dead_frac);
        cr_expect_eq(st[l].post_var, 0.0);
        cr_expect_eq(st[l].grad_pre_var, 0.0);
        cr_expect_eq(st[l].wgrad_var, 0.0);
        cr_expect_eq(st[l].saturated_frac, 0.0, "relu is unbounded: never saturated");
    }
    vp_mlp_free(m);
    /* relu, He, zero bias: a unit of layer 1 is dead only if w.x_b < 0 for all 64
     * independent examples: probability 2^-64 per unit. */
    vp_init he = vp_init_default(VP_INIT_KAIMING_NORMAL), zb = vp_init_default(VP_INIT_ZEROS);
    cr_assert_eq(vp_mlp_create(&m, L, w, B, VP_F64, vp_act_default(VP_ACT_RELU), &err), VP_OK);
    cr_assert_eq(vp_mlp_init_params(m, &he, &zb, 6, &err), VP_OK);
    vp_mlp_set_input(m, x);
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK);
    cr_expect_eq(st[0].dead_frac, 0.0);
    vp_mlp_free(m);
    /* tanh with N(0, 100^2) weights: z has sd 100 sqrt(64) = 800 (input and all
     * later h have squared norm ~64). tanh'(z) < 0.05 = 5% of the peak iff
     * |z| > atanh(sqrt(0.95)) = 2.178, so P(not saturated) <= 2 * 2.178 /
     * (800 sqrt(2 pi)) = 0.0022: ~9 of 4096 entries (sd 3); saturated_frac > 0.99
     * allows 41 (10 sd). The same net with relu reports exactly 0. */
    vp_init big = vp_init_default(VP_INIT_NORMAL);
    big.p[1] = 100.0;
    const vp_act_kind ks[2] = { VP_ACT_TANH, VP_ACT_RELU };
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(vp_mlp_create(&m, L, w, B, VP_F64, vp_act_default(ks[k]), &err), VP_OK);
        cr_assert_eq(vp_mlp_init_params(m, &big, &zb, 6, &err), VP_OK);
        vp_mlp_set_input(m, x);
        cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK);
        for (int l = 0; l < L; l++) {
            cr_log_info("%s layer %d saturated_frac %.5f", vp_act_get(ks[k])->name, l + 1, st[l].saturated_frac);
            if (ks[k] == VP_ACT_TANH) cr_expect_gt(st[l].saturated_frac, 0.99, "tanh layer %d: %g", l + 1, st[l].saturated_frac);
            else cr_expect_eq(st[l].saturated_frac, 0.0, "relu layer %d: %g", l + 1, st[l].saturated_frac);
        }
        vp_mlp_free(m);
    }
    free(x);
}

Test(mlp_textbook, histograms_are_densities)
{
    /* For every layer and quantity: sum(density) * (hi - lo)/bins = 1, and
     * [lo, hi] is the tensor's [min, max] (checked against the reference). */
    ref_net r;
    lib_net net;
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
    bi.p[1] = 0.3;
    int w[4] = { 5, 40, 30, 20 };
    build(&net, &r, 3, w, 16, VP_F64, vp_act_default(VP_ACT_TANH), &wi, &bi, 12);
    enum { BINS = 37 };
    vp_histogram hist[3 * VP_HIST_QUANTITIES];
    double dens[3 * VP_HIST_QUANTITIES][BINS];
    for (int i = 0; i < 3 * VP_HIST_QUANTITIES; i++) {
        hist[i].bins = BINS;
        hist[i].density = dens[i];
    }
    hist[1 * VP_HIST_QUANTITIES + VP_HIST_POST].density = NULL; /* skipped entry */
    run_lib(&net, 12, hist);
    ref_forward(&r);
    ref_backward(&r);
    for (int l = 1; l <= 3; l++)
        for (int q = 0; q < VP_HIST_QUANTITIES; q++) {
            vp_histogram *hg = &hist[(l - 1) * VP_HIST_QUANTITIES + q];
            if (!hg->density) continue;
            double sum = 0;
            for (int k = 0; k < BINS; k++) {
                cr_expect_geq(hg->density[k], 0.0);
                sum += hg->density[k];
            }
            cr_expect_float_eq(sum * (hg->hi - hg->lo) / BINS, 1.0, 1e-12, "layer %d quantity %d: integral %.15g", l, q,
                               sum * (hg->hi - hg->lo) / BINS);
            const double *t = q == VP_HIST_PRE ? r.z[l] : q == VP_HIST_POST ? r.h[l] : r.gz[l];
            double lo = INFINITY, hi = -INFINITY;
            for (int e = 0; e < 16 * r.w[l]; e++) { lo = fmin(lo, t[e]); hi = fmax(hi, t[e]); }
            cr_expect_float_eq(hg->lo, lo, 1e-12 * (fabs(lo) + 1), "layer %d q %d lo", l, q);
            cr_expect_float_eq(hg->hi, hi, 1e-12 * (fabs(hi) + 1), "layer %d q %d hi", l, q);
        }
    ref_free(&r);
    vp_mlp_free(net.m);
}

Test(mlp_api, reused_network_gives_the_numbers_of_a_fresh_one)
{
    /* A network reused for another run (new activation, parameters and probe seed,
     * or the same seed: the probe is kept) reports exactly what a fresh network
     * reports: nothing of the earlier run leaks into the next. */
    const int L = 3, B = 12;
    int w[4] = { 9, 16, 16, 8 };
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_ZEROS);
    const vp_act_kind acts[3] = { VP_ACT_TANH, VP_ACT_RELU, VP_ACT_TANH };
    const uint64_t seeds[3] = { 21, 21, 22 };
    const vp_precision precs[2] = { VP_F64, VP_F32 };
    double *x = alloc_doubles((size_t)B * 9);
    vp_err err;
    for (int p = 0; p < 2; p++) {
        vp_mlp *reused;
        cr_assert_eq(vp_mlp_create(&reused, L, w, B, precs[p], vp_act_default(acts[0]), &err), VP_OK);
        for (int k = 0; k < 3; k++) {
            vp_layer_stats a[3], b[3];
            vp_mlp *fresh;
            vp_rng in = vp_rng_make(seeds[k], 0, VP_RNG_INPUT);
            vp_rng_normal_fill(&in, 0, x, (size_t)B * 9);
            cr_assert_eq(vp_mlp_create(&fresh, L, w, B, precs[p], vp_act_default(acts[k]), &err), VP_OK);
            vp_mlp_set_act(reused, vp_act_default(acts[k]));
            vp_mlp *nets[2] = { reused, fresh };
            vp_layer_stats *st[2] = { a, b };
            for (int q = 0; q < 2; q++) {
                cr_assert_eq(vp_mlp_init_params(nets[q], &wi, &bi, seeds[k], &err), VP_OK);
                vp_mlp_set_input(nets[q], x);
                cr_assert_eq(vp_mlp_forward(nets[q], st[q], NULL, &err), VP_OK);
                cr_assert_eq(vp_mlp_backward(nets[q], seeds[k], st[q], NULL, &err), VP_OK);
            }
            for (int l = 0; l < L; l++) {
                cr_expect(a[l].pre_var == b[l].pre_var && a[l].post_var == b[l].post_var, "run %d layer %d", k, l);
                cr_expect(a[l].grad_pre_var == b[l].grad_pre_var && a[l].grad_post_var == b[l].grad_post_var &&
                              a[l].wgrad_var == b[l].wgrad_var,
                          "run %d layer %d: gradients %.17g vs %.17g", k, l, a[l].grad_post_var, b[l].grad_post_var);
            }
            vp_mlp_free(fresh);
        }
        vp_mlp_free(reused);
    }
    free(x);
}

Test(mlp_api, bytes_linear_in_depth_and_batch)
{
    /* Every block is a sum over layers (depth) and rows (batch): with equal widths
     * the byte count is affine in L and in B, so second differences vanish
     * (the values are integers < 2^53, exact in double). */
    int w[12];
    for (int i = 0; i < 12; i++) w[i] = 100;
    for (int prec = 0; prec < 2; prec++) {
        vp_precision p = prec ? VP_F64 : VP_F32;
        double bl[11], bb[11];
        for (int L = 1; L <= 10; L++) bl[L] = vp_mlp_bytes(L, w, 32, p, vp_act_default(VP_ACT_RELU));
        for (int B = 1; B <= 10; B++) bb[B] = vp_mlp_bytes(4, w, B, p, vp_act_default(VP_ACT_RELU));
        for (int i = 2; i <= 9; i++) {
            cr_expect_eq(bl[i + 1] - 2 * bl[i] + bl[i - 1], 0.0, "depth %d", i);
            cr_expect_eq(bb[i + 1] - 2 * bb[i] + bb[i - 1], 0.0, "batch %d", i);
        }
        cr_expect_gt(bl[2] - bl[1], 0.0);
        cr_expect_gt(bb[2] - bb[1], 0.0);
        /* At least the parameters and activations: L n^2 + L n + B n (L+1) + B n L reals. */
        double rs = p == VP_F64 ? 8 : 4;
        cr_expect_geq(bl[10], rs * (10.0 * 100 * 100 + 10 * 100 + 32.0 * 100 * 11 + 32.0 * 100 * 10));
    }
    cr_expect_gt(vp_mlp_bytes(3, w, 8, VP_F64, vp_act_default(VP_ACT_RELU)), vp_mlp_bytes(3, w, 8, VP_F32, vp_act_default(VP_ACT_RELU)));
}

Test(mlp_api, create_rejects_bad_shapes_and_accessors)
{
    int w[3] = { 4, 5, 6 };
    vp_err err;
    vp_mlp *valid, *m;
    cr_assert_eq(vp_mlp_create(&valid, 2, w, 3, VP_F32, vp_act_default(VP_ACT_RELU), &err), VP_OK);
    cr_expect_eq(vp_mlp_depth(valid), 2);
    for (int l = 0; l <= 2; l++) cr_expect_eq(vp_mlp_width(valid, l), w[l]);
    m = valid; /* a failed create must reset *out to NULL */
    cr_expect_eq(vp_mlp_create(&m, 0, w, 4, VP_F64, vp_act_default(VP_ACT_RELU), &err), VP_ERR_CONFIG);
    cr_expect_null(m);
    m = valid;
    cr_expect_eq(vp_mlp_create(&m, 2, w, 0, VP_F64, vp_act_default(VP_ACT_RELU), &err), VP_ERR_CONFIG);
    cr_expect_null(m);
    m = valid;
    vp_mlp_free(m);
    vp_mlp_free(NULL);
}

/* ---- a single run's strips (mlp.c ew_strips): a pool gives the bits of one thread ---- */

/* One network of width n (input and every layer), batch B, on `pool` (NULL: one
 * thread), forward and backward: its per-layer statistics into st. */
static void strip_run(vp_pool *pool, int L, int n, int B, vp_precision prec, vp_act act, const vp_mlp_memory *mem,
                      int broken, vp_layer_stats *st)
{
    int w[8];
    for (int l = 0; l <= L; l++) w[l] = n;
    vp_init wi = vp_init_default(VP_INIT_XAVIER_NORMAL), bi = vp_init_default(VP_INIT_NORMAL);
    bi.p[1] = 0.1;
    vp_err err;
    vp_mlp *m;
    cr_assert_eq(vp_mlp_create_mem(&m, L, w, B, prec, act, mem, &err), VP_OK, "%s", err.msg);
    vp_mlp_set_pool(m, pool);
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 77, &err), VP_OK, "%s", err.msg);
    double *x = malloc((size_t)B * (size_t)n * sizeof *x);
    cr_assert(x);
    vp_rng in = vp_rng_make(77, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&in, 0, x, (size_t)B * (size_t)n);
    if (broken) {
        x[1] = NAN; /* example 0's z is NaN in every unit from layer 1 on: NaN moments, counted entries */
        if (B > 2) x[(size_t)n + 2] = 3e-39; /* a float32 subnormal in example 1 */
    }
    vp_mlp_set_input(m, x);
    memset(st, 0, (size_t)L * sizeof *st);
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_mlp_backward(m, 77, st, NULL, &err), VP_OK, "%s", err.msg);
    vp_mlp_free(m);
    free(x);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

Test(mlp_strips, a_pool_of_threads_gives_the_bits_of_one_thread)
{
    /* widths around one and two strips (128 units), batches around acc_rows' four rows;
     * tanh (saturation), relu (dead units), hard_tanh (phi' exactly 0 on both sides);
     * float32 and float64; store and recompute mode; and, for the widest case, an input
     * with a NaN (NaN moments, the non-finite counts) and a subnormal entry. */
    vp_pool *pool;
    vp_err err;
    cr_assert_eq(vp_pool_create(&pool, 3, &err), VP_OK, "%s", err.msg);
    const int widths[] = { 255, 256, 257, 700 }, batches[] = { 1, 3, 5, 64 };
    const vp_act_kind acts[] = { VP_ACT_TANH, VP_ACT_RELU, VP_ACT_HARD_TANH };
    const vp_precision precs[] = { VP_F32, VP_F64 };
    const int L = 3;
    vp_layer_stats a[3], b[3];
    int checked = 0;
    for (size_t iw = 0; iw < 4; iw++)
        for (size_t ib = 0; ib < 4; ib++)
            for (size_t ia = 0; ia < 3; ia++)
                for (size_t ip = 0; ip < 2; ip++)
                    for (int var = 0; var < 3; var++) { /* plain, recompute, broken input */
                        if (var && (iw != 3 || ib != 3)) continue; /* the widest case only */
                        vp_mlp_memory mem = { .recompute = var == 1, .every = 2 };
                        vp_act act = vp_act_default(acts[ia]);
                        strip_run(NULL, L, widths[iw], batches[ib], precs[ip], act, &mem, var == 2, a);
                        strip_run(pool, L, widths[iw], batches[ib], precs[ip], act, &mem, var == 2, b);
                        int rc = var == 1;
                        for (int l = 0; l < L; l++) {
#define SAME(f) cr_expect(same_bits(a[l].f, b[l].f), "n %d B %d %s %s%s layer %d: " #f " %.17g vs %.17g", \
                          widths[iw], batches[ib], vp_act_get(acts[ia])->name, ip ? "f64" : "f32", \
                          rc ? " recompute" : "", l + 1, a[l].f, b[l].f)
                            SAME(pre_mean); SAME(pre_var); SAME(pre_corr); SAME(post_mean); SAME(post_var);
                            SAME(grad_pre_var); SAME(grad_post_var); SAME(wgrad_var); SAME(unit_sq_mean);
                            SAME(unit_var); SAME(dead_frac); SAME(saturated_frac);
#undef SAME
                            cr_expect_eq(a[l].nonfinite, b[l].nonfinite);
                            cr_expect_eq(a[l].subnormal, b[l].subnormal);
                        }
                        checked++;
                    }
    cr_expect_eq(checked, 4 * 4 * 3 * 2 + 2 * 3 * 2);
    vp_pool_free(pool);
}
