/* Non-finite values are results, never silently turned into numbers (issue 11,
 * "Numbers that are silently wrong"):
 *  - every activation maps a NaN pre-activation to NaN, in phi and phi', in the
 *    scalar functions and the fused kernels of every vector width, while finite and
 *    infinite inputs give exactly the bits of the old (NaN-dropping) formulas;
 *  - in a network, from the first NaN/Inf entry on every statistic it reaches is
 *    NaN and counted (an overflowing ReLU net, and a NaN input for every row);
 *  - a Jacobian with NaN/Inf entries has NaN singular values and is not an error,
 *    and LAPACK prints nothing (the CLI run of the issue: exit 0, nothing on stderr). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/act_rowwise.h"
#include "core/act_scalar.h"
#include "core/jacobian.h"
#include "core/mlp.h"
#include "core/rng.h"
#include "harness.h"
#include "run_util.h"
#include "results/results.h"
#include "results/table.h"

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static int same_bits_f(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Every elementwise row at its defaults, plus non-default parameters that move the
 * kinks and constants (a zero threshold value and a zero dead zone included). */
static int nan_test_acts(vp_act *out, int cap)
{
    static const vp_act variants[] = {
        { VP_ACT_LEAKY_RELU, { 0.0 } }, { VP_ACT_PRELU, { -0.5 } }, { VP_ACT_RRELU, { 0.1, 0.5 } },
        { VP_ACT_HARD_TANH, { -2.0, 3.0 } }, { VP_ACT_SOFTSHRINK, { 0.0 } }, { VP_ACT_HARDSHRINK, { 0.0 } },
        { VP_ACT_THRESHOLD, { 0.5, -1.0 } }, { VP_ACT_THRESHOLD, { -2.0, 7.0 } }, { VP_ACT_SQUAREPLUS, { 0.0 } },
    };
    int n = 0;
    for (int k = 0; k < VP_ACT_COUNT && n < cap; k++)
        if (!vp_act_rowwise(vp_act_get((vp_act_kind)k))) out[n++] = vp_act_default((vp_act_kind)k);
    for (size_t i = 0; i < sizeof variants / sizeof variants[0] && n < cap; i++) out[n++] = variants[i];
    return n;
}

/* Finite and infinite inputs: signed zeros, subnormals, every kink and its two
 * neighbours, a grid, huge values and the infinities. */
static size_t probe_inputs(const vp_act *a, double *x, size_t cap)
{
    size_t n = 0;
    const double fixed[] = { 0.0, -0.0, DBL_TRUE_MIN, -DBL_TRUE_MIN, DBL_MIN, -DBL_MIN, 1e-300, -1e-300,
                             3.0, -3.0, 6.0, 1.0, -1.0, 0.5, -0.5, 20.0, 88.0, -88.0, 709.0, 710.0, -745.0,
                             1e300, -1e300, DBL_MAX, -DBL_MAX, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) x[n++] = fixed[i];
    for (int i = -400; i <= 400 && n < cap; i++) x[n++] = i * 0.0371;
    const vp_act_info *info = vp_act_get(a->kind);
    double k[4];
    int nk = info->kinks ? info->kinks(a->p, k) : 0;
    for (int i = 0; i < nk && n + 6 < cap; i++) {
        double m = -k[i];
        x[n++] = k[i], x[n++] = nextafter(k[i], INFINITY), x[n++] = nextafter(k[i], -INFINITY);
        x[n++] = m, x[n++] = nextafter(m, INFINITY), x[n++] = nextafter(m, -INFINITY);
    }
    return n;
}

Test(nonfinite_act, every_elementwise_row_maps_nan_to_nan)
{
    /* phi(NaN) and phi'(NaN) are NaN in the scalar functions and both fused kernels,
     * and a NaN lane leaves its neighbours' values alone. Before the fix relu(NaN) = 0
     * (max(0, NaN)), threshold(NaN) = value, relu'(NaN) = 0, leaky_relu'(NaN) = slope... */
    vp_act acts[64];
    int na = nan_test_acts(acts, 64);
    for (int i = 0; i < na; i++) {
        const vp_act *a = &acts[i];
        const vp_act_info *info = vp_act_get(a->kind);
        char lbl[128];
        vp_act_label(a, lbl, sizeof lbl);
        cr_expect(isnan(info->f(NAN, a->p)), "%s: phi(NaN) = %g", lbl, info->f(NAN, a->p));
        /* identity: phi' = 1 whatever z (a linear net's gradients do not depend on
         * its input, so a NaN input does not reach them); every other row's phi'
         * depends on z, and a NaN z gives a NaN slope. */
        int dnan = a->kind != VP_ACT_IDENTITY;
        cr_expect(isnan(info->df(NAN, a->p)) == dnan, "%s: phi'(NaN) = %g", lbl, info->df(NAN, a->p));
        double z[37], h[37], d[37];
        float zf[37], hf[37], df[37];
        for (int j = 0; j < 37; j++) z[j] = (j - 18) * 0.37;
        z[5] = NAN, z[30] = -NAN;
        for (int j = 0; j < 37; j++) zf[j] = (float)z[j];
        info->kernel_f64(z, h, d, 37, a->p);
        info->kernel_f32(zf, hf, df, 37, a->p);
        for (int j = 0; j < 37; j++) {
            if (j == 5 || j == 30) {
                cr_expect(isnan(h[j]) && isnan(d[j]) == dnan, "%s f64 kernel: NaN -> (%g, %g)", lbl, h[j], d[j]);
                cr_expect(isnan(hf[j]) && isnan(df[j]) == dnan, "%s f32 kernel: NaN -> (%g, %g)", lbl, hf[j], df[j]);
            } else {
                cr_expect(same_bits(h[j], info->f(z[j], a->p)) && same_bits(d[j], info->df(z[j], a->p)),
                          "%s: lane %d changed by a NaN neighbour", lbl, j);
            }
        }
    }
}

/* ---- the formulas as they were before NaN passed through (commit fdd4bb9) ---- */
static double old_relu_f(double x, const double *p) { UNUSED(p); return x > 0 ? x : 0.0; }
static double old_relu_df(double x, const double *p) { UNUSED(p); return x > 0 ? 1.0 : 0.0; }
static double old_relu6_f(double x, const double *p) { UNUSED(p); return vm_select(x > 0, vm_select(x < 6, x, 6.0), 0.0); }
static double old_relu6_df(double x, const double *p) { UNUSED(p); return vm_select((x > 0) & (x < 6), 1.0, 0.0); }
static double old_leaky_relu_df(double x, const double *p) { return vm_select(x > 0, 1.0, p[0]); }
static double old_rrelu_df(double x, const double *p) { return vm_select(x > 0, 1.0, 0.5 * (p[0] + p[1])); }
static double old_hard_sigmoid_df(double x, const double *p) { UNUSED(p); return vm_select((x > -3) & (x < 3), 1.0 / 6.0, 0.0); }
static double old_hard_swish_df(double x, const double *p) { UNUSED(p); return vm_select(x < -3, 0.0, vm_select(x <= 3, x / 3.0 + 0.5, 1.0)); }
static double old_hard_tanh_df(double x, const double *p) { return vm_select((x > p[0]) & (x < p[1]), 1.0, 0.0); }
static double old_softshrink_f(double x, const double *p) { return vm_select(x > p[0], x - p[0], vm_select(x < -p[0], x + p[0], 0.0)); }
static double old_softshrink_df(double x, const double *p) { return vm_select((x > p[0]) | (x < -p[0]), 1.0, 0.0); }
static double old_hardshrink_f(double x, const double *p) { return (x > p[0] || x < -p[0]) ? x : 0.0; }
static double old_hardshrink_df(double x, const double *p) { return (x > p[0] || x < -p[0]) ? 1.0 : 0.0; }
static double old_threshold_f(double x, const double *p) { return vm_select(x > p[0], x, p[1]); }
static double old_threshold_df(double x, const double *p) { return vm_select(x > p[0], 1.0, 0.0); }
static double old_sparse_sigmoid_df(double x, const double *p) { UNUSED(p); return vm_select((x > -1) & (x < 1), 0.5, 0.0); }

Test(nonfinite_act, finite_and_infinite_inputs_keep_their_bits)
{
    /* Only NaN changed: for every other input (signed zeros, subnormals, kinks and
     * their neighbours, huge values, +-inf) the changed formulas give the very bits
     * of the old ones, in the scalar functions and in both kernels -- so the outputs
     * of every run without NaN are unchanged (tools/golden.sh shows it end to end). */
    struct { vp_act_kind k; vp_scalar_fn f, df; } old[] = {
        { VP_ACT_RELU, old_relu_f, old_relu_df }, { VP_ACT_RELU6, old_relu6_f, old_relu6_df },
        { VP_ACT_LEAKY_RELU, NULL, old_leaky_relu_df }, { VP_ACT_PRELU, NULL, old_leaky_relu_df },
        { VP_ACT_RRELU, NULL, old_rrelu_df }, { VP_ACT_HARD_SIGMOID, NULL, old_hard_sigmoid_df },
        { VP_ACT_HARD_SWISH, NULL, old_hard_swish_df }, { VP_ACT_HARD_TANH, NULL, old_hard_tanh_df },
        { VP_ACT_SOFTSHRINK, old_softshrink_f, old_softshrink_df },
        { VP_ACT_HARDSHRINK, old_hardshrink_f, old_hardshrink_df },
        { VP_ACT_THRESHOLD, old_threshold_f, old_threshold_df },
        { VP_ACT_SPARSE_SIGMOID, NULL, old_sparse_sigmoid_df },
    };
    vp_act acts[64];
    int na = nan_test_acts(acts, 64), compared = 0;
    for (int i = 0; i < na; i++) {
        const vp_act *a = &acts[i];
        const vp_act_info *info = vp_act_get(a->kind);
        size_t o = 0;
        while (o < sizeof old / sizeof old[0] && old[o].k != a->kind) o++;
        if (o == sizeof old / sizeof old[0]) continue;
        char lbl[128];
        vp_act_label(a, lbl, sizeof lbl);
        double x[1000], h[1000], d[1000];
        float xf[1000], hf[1000], df[1000];
        size_t n = probe_inputs(a, x, 1000);
        for (size_t j = 0; j < n; j++) xf[j] = (float)x[j];
        info->kernel_f64(x, h, d, n, a->p);
        info->kernel_f32(xf, hf, df, n, a->p);
        for (size_t j = 0; j < n; j++) {
            double f0 = old[o].f ? old[o].f(x[j], a->p) : info->f(x[j], a->p), d0 = old[o].df(x[j], a->p);
            cr_expect(same_bits(info->f(x[j], a->p), f0) && same_bits(h[j], f0), "%s: phi(%a) = %a, was %a", lbl,
                      x[j], h[j], f0);
            cr_expect(same_bits(info->df(x[j], a->p), d0) && same_bits(d[j], d0), "%s: phi'(%a) = %a, was %a", lbl,
                      x[j], d[j], d0);
            double xd = (double)xf[j];
            float f0f = (float)(old[o].f ? old[o].f(xd, a->p) : info->f(xd, a->p)), d0f = (float)old[o].df(xd, a->p);
            cr_expect(same_bits_f(hf[j], f0f) && same_bits_f(df[j], d0f), "%s f32: (%a) -> (%a, %a), was (%a, %a)",
                      lbl, xd, (double)hf[j], (double)df[j], (double)f0f, (double)d0f);
            compared++;
        }
    }
    cr_expect_gt(compared, 10000);
}

/* ---- the same formulas compiled for each vector width ----
 * act.c builds each kernel for AVX-512, AVX2, SSE4.2 and baseline x86-64 and the
 * loader picks one; a machine runs only its own. Here every row's loop is compiled
 * once per level with a target attribute, so the formulas are checked at every
 * width the CPU can run: each lane gives the scalar function's bits, NaN included. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NF_TARGET(t) __attribute__((target(t)))
#define NF_KERNELS(N)                                                                               \
    NF_TARGET("arch=x86-64-v4") static void N##_v4(const double *z, double *h, double *d, size_t n, \
                                                    const double *p)                                \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) h[i] = N##_f(z[i], p), d[i] = N##_df(z[i], p);               \
    }                                                                                               \
    NF_TARGET("avx2") static void N##_v3(const double *z, double *h, double *d, size_t n, const double *p) \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) h[i] = N##_f(z[i], p), d[i] = N##_df(z[i], p);               \
    }                                                                                               \
    NF_TARGET("arch=x86-64-v2") static void N##_v2(const double *z, double *h, double *d, size_t n, \
                                                    const double *p)                                \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) h[i] = N##_f(z[i], p), d[i] = N##_df(z[i], p);               \
    }                                                                                               \
    static void N##_v1(const double *z, double *h, double *d, size_t n, const double *p)            \
    {                                                                                               \
        for (size_t i = 0; i < n; i++) h[i] = N##_f(z[i], p), d[i] = N##_df(z[i], p);               \
    }
#define NF_ROW(K, N) { K, { N##_v1, N##_v2, N##_v3, N##_v4 } }
typedef void (*nf_kernel)(const double *, double *, double *, size_t, const double *);
NF_KERNELS(relu) NF_KERNELS(relu6) NF_KERNELS(leaky_relu) NF_KERNELS(rrelu) NF_KERNELS(hard_sigmoid)
NF_KERNELS(hard_swish) NF_KERNELS(hard_tanh) NF_KERNELS(softshrink) NF_KERNELS(hardshrink)
NF_KERNELS(threshold) NF_KERNELS(sparse_sigmoid) NF_KERNELS(elu) NF_KERNELS(gelu) NF_KERNELS(tanh)
NF_KERNELS(silu) NF_KERNELS(softplus) NF_KERNELS(tanhshrink)

Test(nonfinite_act, every_vector_width_gives_the_scalar_bits)
{
    static const struct { vp_act_kind k; nf_kernel fn[4]; } rows[] = {
        NF_ROW(VP_ACT_RELU, relu), NF_ROW(VP_ACT_RELU6, relu6), NF_ROW(VP_ACT_LEAKY_RELU, leaky_relu),
        NF_ROW(VP_ACT_RRELU, rrelu), NF_ROW(VP_ACT_HARD_SIGMOID, hard_sigmoid), NF_ROW(VP_ACT_HARD_SWISH, hard_swish),
        NF_ROW(VP_ACT_HARD_TANH, hard_tanh), NF_ROW(VP_ACT_SOFTSHRINK, softshrink),
        NF_ROW(VP_ACT_HARDSHRINK, hardshrink), NF_ROW(VP_ACT_THRESHOLD, threshold),
        NF_ROW(VP_ACT_SPARSE_SIGMOID, sparse_sigmoid), NF_ROW(VP_ACT_ELU, elu), NF_ROW(VP_ACT_GELU, gelu),
        NF_ROW(VP_ACT_TANH, tanh), NF_ROW(VP_ACT_SILU, silu), NF_ROW(VP_ACT_SOFTPLUS, softplus),
        NF_ROW(VP_ACT_TANHSHRINK, tanhshrink),
    };
    __builtin_cpu_init();
    int have[4] = { 1, __builtin_cpu_supports("sse4.2"), __builtin_cpu_supports("avx2"),
                    __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") };
    int levels = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        vp_act a = vp_act_default(rows[r].k);
        const vp_act_info *info = vp_act_get(a.kind);
        double x[1000], h[1000], d[1000];
        size_t n = probe_inputs(&a, x, 990);
        x[n++] = NAN, x[n++] = -NAN;
        for (int v = 0; v < 4; v++) {
            if (!have[v]) continue;
            levels += r == 0;
            rows[r].fn[v](x, h, d, n, a.p);
            for (size_t j = 0; j < n; j++) {
                double f = info->f(x[j], a.p), g = info->df(x[j], a.p);
                if (isnan(x[j]))
                    cr_expect(isnan(h[j]) && isnan(d[j]), "%s level %d: NaN -> (%g, %g)", info->name, v, h[j], d[j]);
                else
                    cr_expect(same_bits(h[j], f) && same_bits(d[j], g), "%s level %d: (%a) -> (%a, %a) vs (%a, %a)",
                              info->name, v, x[j], h[j], d[j], f, g);
            }
        }
    }
    cr_log_info("vector levels checked on this CPU: %d of 4", levels);
    cr_expect_geq(levels, 2, "at least the baseline and SSE4.2");
}
#endif

Test(nonfinite_act, rowwise_rows_with_nan_are_nan)
{
    /* softmax, log_softmax, softmin and standardize spread a NaN over the row by
     * arithmetic; sparsemax sorted it and compared with tau, so NaN became 0 -- now
     * the row is NaN (and so is one with an infinite entry: no projection exists),
     * and a NaN in gh or h gives a NaN gz. GLU is per unit pair. */
    const size_t n = 6;
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *info = vp_act_get((vp_act_kind)k);
        if (!vp_act_rowwise(info)) continue;
        vp_act a = vp_act_default((vp_act_kind)k);
        size_t zw = (size_t)vp_act_zwidth(info, (int)n);
        double bad[2] = { NAN, k == VP_ACT_SPARSEMAX ? INFINITY : NAN };
        for (int b = 0; b < 2; b++) {
            double z[12], h[6];
            for (size_t i = 0; i < zw; i++) z[i] = 0.3 * (double)i - 0.7;
            z[1] = bad[b];
            info->row_fwd(z, h, n, a.p);
            for (size_t i = 0; i < n; i++) {
                if (k == VP_ACT_GLU && i != 1) continue;
                cr_expect(isnan(h[i]), "%s: h[%zu] = %g with z[1] = %g", info->name, i, h[i], bad[b]);
            }
        }
        double z[12], h[6], gh[6], gz[12];
        for (size_t i = 0; i < zw; i++) z[i] = 0.3 * (double)i - 0.7;
        info->row_fwd(z, h, n, a.p);
        for (size_t i = 0; i < n; i++) gh[i] = 1.0 - 0.4 * (double)i;
        gh[2] = NAN;
        info->row_bwd(z, h, gh, gz, n, a.p);
        int nans = 0;
        for (size_t i = 0; i < zw; i++) nans += isnan(gz[i]);
        cr_expect_gt(nans, 0, "%s: a NaN in dL/dh vanished in the backward", info->name);
        if (k != VP_ACT_GLU)
            cr_expect_eq(nans, (int)zw, "%s: %d of %zu gradient entries NaN", info->name, nans, zw);
    }
}

/* ---- networks ---- */

/* Statistics of one pass of an L-layer, width-w net with activation a and weights
 * N(0, std^2); the input is N(0,1) with entry nan_at (if >= 0) set to NaN. */
static void one_pass(vp_act a, vp_precision prec, int L, int w, double std, long nan_at, vp_layer_stats *st)
{
    const int B = 8;
    int widths[121];
    cr_assert_leq(L, 120);
    for (int l = 0; l <= L; l++) widths[l] = w;
    vp_mlp *m = NULL;
    vp_err err;
    cr_assert_eq(vp_mlp_create(&m, L, widths, B, prec, a, &err), VP_OK, "%s", err.msg);
    vp_init wi = vp_init_default(VP_INIT_NORMAL), bi = vp_init_default(VP_INIT_ZEROS);
    wi.p[vp_init_param_index(vp_init_get(VP_INIT_NORMAL), "std")] = std;
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 3, &err), VP_OK, "%s", err.msg);
    size_t nin = (size_t)B * (size_t)w;
    double *x = malloc(nin * sizeof *x);
    cr_assert_not_null(x);
    vp_rng r = vp_rng_make(3, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, x, nin);
    if (nan_at >= 0) x[nan_at] = NAN;
    vp_mlp_set_input(m, x);
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_mlp_backward(m, 3, st, NULL, &err), VP_OK, "%s", err.msg);
    free(x);
    vp_mlp_free(m);
}

/* Every statistic of a layer whose forward tensors hold a NaN/Inf: NaN, and counted.
 * The gradient statistics are checked separately (the probe itself is finite). */
static void expect_forward_nan(const char *what, int l, const vp_layer_stats *s)
{
    cr_expect(isnan(s->pre_mean) && isnan(s->pre_var) && isnan(s->post_mean) && isnan(s->post_var) &&
                  isnan(s->unit_sq_mean) && isnan(s->unit_var),
              "%s layer %d: moments pre %g/%g post %g/%g", what, l, s->pre_mean, s->pre_var, s->post_mean, s->post_var);
    cr_expect(isnan(s->dead_frac) && isnan(s->saturated_frac), "%s layer %d: dead_frac %g saturated_frac %g", what,
              l, s->dead_frac, s->saturated_frac);
    cr_expect_gt(s->nonfinite, 0, "%s layer %d: nonfinite 0", what, l);
}

Test(nonfinite_net, a_nan_input_reaches_every_statistic_for_every_activation)
{
    /* One NaN in the input batch. It is in z^1 of its example, and, whatever the
     * activation, in h^1, z^2, ... and in every gradient (the backward pass goes
     * through phi'(NaN)). Before the fix, relu-like rows turned it into 0 at layer 1
     * and every later statistic was a number computed as if nothing happened. */
    const vp_precision precs[2] = { VP_F64, VP_F32 };
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        vp_act a = vp_act_default((vp_act_kind)k);
        for (int p = 0; p < 2; p++) {
            char what[96];
            snprintf(what, sizeof what, "%s %s", vp_act_get(a.kind)->name, p ? "f32" : "f64");
            const int L = 5;
            vp_layer_stats st[5];
            one_pass(a, precs[p], L, 12, 1.0 / sqrt(12.0), 17, st);
            for (int l = 0; l < L; l++) {
                expect_forward_nan(what, l + 1, &st[l]);
                /* dL/dW = (1/B) gz^T h^{l-1} meets the NaN example in h^{l-1} (layer 1:
                 * in x) for every activation; dL/dz only through phi'(z), which is
                 * constant for identity: a linear net's backward never sees its input. */
                cr_expect(isnan(st[l].wgrad_var), "%s layer %d: wgrad %g", what, l + 1, st[l].wgrad_var);
                if (a.kind == VP_ACT_IDENTITY) continue;
                cr_expect(isnan(st[l].grad_pre_var), "%s layer %d: grad %g", what, l + 1, st[l].grad_pre_var);
                if (l < L - 1) cr_expect(isnan(st[l].grad_post_var), "%s layer %d", what, l + 1);
            }
        }
    }
}

Test(nonfinite_net, an_overflowing_relu_net_is_nan_from_the_first_overflow_on)
{
    /* The case: ReLU with N(0, 1000^2) weights overflows float32 after ~10
     * layers; then inf - inf = NaN, and max(0, NaN) was 0, so the later layers
     * reported variance 0, nonfinite 0, dead_frac 1, and grad_pre_var 0 everywhere.
     * Now: from the first layer with a non-finite entry on, every forward statistic
     * is NaN and counted; the gradient goes back through those layers, so it is NaN
     * at every layer, the finite ones included. Layers before stay numbers. */
    const vp_precision precs[2] = { VP_F32, VP_F64 };
    const int L[2] = { 16, 120 };
    for (int p = 0; p < 2; p++) {
        vp_layer_stats st[120];
        one_pass(vp_act_default(VP_ACT_RELU), precs[p], L[p], 64, 1000.0, -1, st);
        /* The first layer with an inf/NaN entry in z or h: its moments are NaN (a
         * variance that merely overflows the double range is inf, not NaN). */
        int first = -1;
        for (int l = 0; l < L[p] && first < 0; l++)
            if (isnan(st[l].pre_mean) || isnan(st[l].post_mean)) first = l;
        cr_assert_geq(first, 2, "%s: the net should overflow, but not at once (first = %d)", p ? "f64" : "f32", first);
        for (int l = 0; l < L[p]; l++) {
            cr_expect(isnan(st[l].grad_pre_var) && st[l].nonfinite > 0, "layer %d: grad_pre_var %g nonfinite %lld",
                      l + 1, st[l].grad_pre_var, st[l].nonfinite);
            if (l < first)
                cr_expect(!isnan(st[l].pre_mean) && st[l].pre_var > 0 && isfinite(st[l].dead_frac),
                          "layer %d before the overflow: pre_var %g", l + 1, st[l].pre_var);
            else
                expect_forward_nan(p ? "relu f64" : "relu f32", l + 1, &st[l]);
        }
    }
}

/* ---- the Jacobian ---- */

Test(nonfinite_jacobian, nan_or_inf_entries_give_nan_singular_values)
{
    /* A NaN or an infinite phi' (or weight) makes J non-finite: the SVD does not
     * exist, every singular value is NaN and the call succeeds. Before, LAPACK
     * dgesdd rejected the matrix (info = -4, "On entry to DLASCL ...") and the run
     * failed. A finite J still gets its singular values. */
    const int widths[3] = { 3, 4, 2 };
    double W1[12], W2[8], D1[4] = { 1, 0.5, 2, 1 }, D2[2] = { 1, 1 };
    for (int i = 0; i < 12; i++) W1[i] = 0.1 * (i + 1) - 0.55;
    for (int i = 0; i < 8; i++) W2[i] = 0.2 * (i + 1) - 0.85;
    const double *W[2] = { W1, W2 }, *D[2] = { D1, D2 };
    const double bad[3] = { NAN, INFINITY, -INFINITY };
    double sv[2];
    vp_err err;
    cr_assert_eq(vp_jacobian_svals(2, widths, W, D, sv, &err), VP_OK, "%s", err.msg);
    cr_expect(isfinite(sv[0]) && sv[0] > 0 && isfinite(sv[1]));
    for (int b = 0; b < 3; b++) {
        D1[2] = bad[b];
        cr_expect_eq(vp_jacobian_svals(2, widths, W, D, sv, &err), VP_OK, "phi' = %g: %s", bad[b], err.msg);
        cr_expect(isnan(sv[0]) && isnan(sv[1]), "phi' = %g: singular values %g %g", bad[b], sv[0], sv[1]);
        D1[2] = 2;
        W2[3] = bad[b];
        cr_expect_eq(vp_jacobian_svals(2, widths, W, D, sv, &err), VP_OK, "W = %g: %s", bad[b], err.msg);
        cr_expect(isnan(sv[0]) && isnan(sv[1]), "W = %g: singular values %g %g", bad[b], sv[0], sv[1]);
        W2[3] = 0.2 * 4 - 0.85;
    }
}

Test(nonfinite_jacobian, an_overflowing_run_with_the_jacobian_completes_silently)
{
    /* The run: exponential, normal std 1, depth 4, width 24, measure.jacobian.
     * It overflows; the sweep must finish with exit 0, print nothing on stderr (no
     * LAPACK message), write one nan row per singular value, and count them: the run
     * is non-finite in runs.csv. */
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-nonfinite-",
                  "{\"name\":\"jac\",\"seeds\":2,\"network\":{\"depth\":4,\"width\":24,\"activation\":\"exponential\","
                  "\"init\":{\"name\":\"normal\",\"std\":1}},\"input\":{\"batch\":16},\"measure\":{\"jacobian\":true}}");
    vp_table *j = vt_out_table(dir, VP_FILE_JACOBIAN), *r = vt_out_table(dir, VP_FILE_RUNS);
    size_t csv, cnf, cverd;
    vp_err err;
    cr_assert_eq(vp_table_require_col(j, VP_COL_SINGULAR_VALUE, &csv, &err), VP_OK);
    cr_expect_eq(vp_table_nrows(j), 2 * 24);
    for (size_t i = 0; i < vp_table_nrows(j); i++) {
        double v;
        cr_expect_eq(vp_table_num(j, i, csv, &v, &err), VP_OK);
        cr_expect(isnan(v), "row %zu: %g", i, v);
    }
    cr_assert_eq(vp_table_require_col(r, VP_COL_NONFINITE, &cnf, &err), VP_OK);
    cr_assert_eq(vp_table_require_col(r, VP_COL_ACT_VERDICT, &cverd, &err), VP_OK);
    cr_expect_eq(vp_table_nrows(r), 2);
    for (size_t i = 0; i < vp_table_nrows(r); i++) {
        double nf;
        cr_expect_eq(vp_table_num(r, i, cnf, &nf, &err), VP_OK);
        cr_expect_geq(nf, 24, "run %zu: nonfinite %g", i, nf);
        cr_expect_str_eq(vp_table_cell(r, i, cverd), vp_verdict_word(VP_VERDICT_NONFINITE));
    }
    vp_table_free(j);
    vp_table_free(r);
    vt_rmtree(dir);
}

/* Blow-up is a result to chart, not a failure: a sweep in which one variant overflows
 * in every seed (every gradient nan, so nothing positive to draw and no curve in the
 * legend) draws every chart and exits 0. It failed inside gnuplot before ("plot , NaN
 * ..." from a legend with no curve entries). */
Test(nonfinite_net, charts_of_an_all_nan_variant_are_drawn)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-nanplot-");
    vt_write_file(dir, "c.json",
                  "{\"name\":\"allnan\",\"seeds\":2,\"network\":{\"depth\":40,\"width\":64,\"activation\":\"relu\","
                  "\"init\":{\"name\":\"normal\",\"std\":40}},\"input\":{\"batch\":32}}");
    char *err = NULL;
    int rc = vt_run(dir, NULL, &err, "run '%s/c.json' -o '%s/r' --plots '%s/p' --quiet", dir, dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    free(err);
    const char *charts[] = { "act_var_pre", "act_var_post", "grad_var", "wgrad_var", "overview" };
    for (size_t i = 0; i < sizeof charts / sizeof *charts; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/p/%s.png", dir, charts[i]);
        cr_expect(vt_exists(path), "%s.png not drawn", charts[i]);
    }
    vt_rmtree(dir);
}
