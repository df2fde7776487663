/* act: see act.h. The formulas are act_scalar.h's NAME_f / NAME_df pairs; here
 * the macro ACT_KERNELS turns each pair into the registry's scalar functions and
 * fused array kernels, and the table gives every row its properties. The
 * row-wise activations are act_rowwise.c's. */
#include "core/act.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/act_rowwise.h"
#include "core/act_scalar.h"
#include "core/simd.h"

/* ---- fused array kernels, generated from the scalar pair ----
 * z is read before d is written at the same index, so d may alias z. p points to
 * the VP_ACT_MAX_PARAMS values of a vp_act; the kernels copy them first, so that
 * the compiler need not reload them after every store to h or d (which, being
 * double in the f64 kernel, could otherwise alias p).
 * Each kernel is built for AVX-512 (x86-64-v4), AVX2, SSE4.2 (x86-64-v2) and
 * baseline x86-64, and the loader picks the best the CPU has (VP_CLONES,
 * src/core/simd.h; clang, e.g. the fuzz build, gets the plain function). The loops
 * vectorize from SSE4.2 up (vmath.h, vm_select); the baseline clone is scalar.
 * Measured on a Zen 4 (bench/act_kernels.c), AVX-512 is 1.2-1.5 times faster
 * than AVX2 for the transcendental rows. ISO C means no FMA contraction in any
 * clone, so all of them give the same bits (NaN payloads aside). */
#define ACT_KERNELS(N)                                                                   \
    VP_CLONES                                                                            \
    static void N##_k32(const float *z, float *h, float *d, size_t n, const double *p)  \
    {                                                                                    \
        const double q[VP_ACT_MAX_PARAMS] = { p[0], p[1], p[2] };                        \
        for (size_t i = 0; i < n; i++) {                                                 \
            double x = (double)z[i];                                                     \
            h[i] = (float)N##_f(x, q);                                                   \
            d[i] = (float)N##_df(x, q);                                                  \
        }                                                                                \
    }                                                                                    \
    VP_CLONES                                                                            \
    static void N##_k64(const double *z, double *h, double *d, size_t n, const double *p) \
    {                                                                                    \
        const double q[VP_ACT_MAX_PARAMS] = { p[0], p[1], p[2] };                        \
        for (size_t i = 0; i < n; i++) {                                                 \
            double x = z[i];                                                             \
            h[i] = N##_f(x, q);                                                          \
            d[i] = N##_df(x, q);                                                         \
        }                                                                                \
    }                                                                                    \
    static double N##_fs(double x, const double *p) { return N##_f(x, p); }              \
    static double N##_dfs(double x, const double *p) { return N##_df(x, p); }

ACT_KERNELS(identity) ACT_KERNELS(relu) ACT_KERNELS(relu6) ACT_KERNELS(leaky_relu)
ACT_KERNELS(rrelu) ACT_KERNELS(elu) ACT_KERNELS(celu) ACT_KERNELS(selu) ACT_KERNELS(gelu)
ACT_KERNELS(gelu_tanh) ACT_KERNELS(silu) ACT_KERNELS(mish) ACT_KERNELS(sigmoid)
ACT_KERNELS(log_sigmoid) ACT_KERNELS(hard_sigmoid) ACT_KERNELS(hard_swish) ACT_KERNELS(tanh)
ACT_KERNELS(hard_tanh) ACT_KERNELS(softplus) ACT_KERNELS(softsign) ACT_KERNELS(tanhshrink)
ACT_KERNELS(softshrink) ACT_KERNELS(hardshrink) ACT_KERNELS(threshold) ACT_KERNELS(squareplus)
ACT_KERNELS(sparse_plus) ACT_KERNELS(sparse_sigmoid) ACT_KERNELS(exponential)


#define ROWWISE(N, ipo) .in_per_out = (ipo), .row_fwd = vp_rw_##N##_fwd, .row_bwd = vp_rw_##N##_bwd

#define FNS(N) .f = N##_fs, .df = N##_dfs, .kernel_f32 = N##_k32, .kernel_f64 = N##_k64

/* ---- exponential-linear rows: phi(u) = a u (u > 0), b (e^{u/kappa} - 1) (u <= 0) ---- */
static void x_elu(const double *p, double *a, double *b, double *k) { *a = 1.0, *b = p[0], *k = 1.0; }
static void x_celu(const double *p, double *a, double *b, double *k) { *a = 1.0, *b = p[0], *k = p[0]; }
static void x_selu(const double *p, double *a, double *b, double *k)
{
    UNUSED(p);
    *a = SELU_SCALE, *b = SELU_SCALE * SELU_ALPHA, *k = 1.0;
}

/* ---- PyTorch calculate_gain (torch/nn/init.py) ---- */
static double gain_one(const double *p) { UNUSED(p); return 1.0; }
static double gain_tanh(const double *p) { UNUSED(p); return 5.0 / 3.0; }
static double gain_relu(const double *p) { UNUSED(p); return M_SQRT2; }
static double gain_leaky(const double *p) { return sqrt(2.0 / (1.0 + p[0] * p[0])); }
static double gain_selu(const double *p) { UNUSED(p); return 0.75; }

/* ---- kink locations ---- */
static int k_zero(const double *p, double o[4]) { UNUSED(p); o[0] = 0; return 1; }
static int k_relu6(const double *p, double o[4]) { UNUSED(p); o[0] = 0; o[1] = 6; return 2; }
static int k_pm3(const double *p, double o[4]) { UNUSED(p); o[0] = -3; o[1] = 3; return 2; }
static int k_pm1(const double *p, double o[4]) { UNUSED(p); o[0] = -1; o[1] = 1; return 2; }
static int k_p01(const double *p, double o[4]) { o[0] = p[0]; o[1] = p[1]; return 2; }
static int k_pm_p0(const double *p, double o[4]) { o[0] = -p[0]; o[1] = p[0]; return 2; }
static int k_p0(const double *p, double o[4]) { o[0] = p[0]; return 1; }
static int k_softplus(const double *p, double o[4]) { o[0] = p[1] / p[0]; return 1; }

/* ---- slopes of the positively homogeneous rows (phi(u) = pos u, u > 0; neg u, u < 0) ---- */
static void s_identity(const double *p, double *neg, double *pos) { UNUSED(p); *neg = 1.0, *pos = 1.0; }
static void s_relu(const double *p, double *neg, double *pos) { UNUSED(p); *neg = 0.0, *pos = 1.0; }
static void s_leaky(const double *p, double *neg, double *pos) { *neg = p[0], *pos = 1.0; } /* and prelu */
static void s_rrelu(const double *p, double *neg, double *pos) { *neg = rrelu_slope(p), *pos = 1.0; }

/* ---- phi to full relative accuracy where f cancels (the theory's phi) ---- */
/* x - tanh(x) = x^3/3 - 2x^5/15 + 17x^7/315 - ... (the Taylor series of tanh). Below
 * |x| = 0.2 the series to x^17 is within 5e-15 relative (next term 2.4e-4 x^19);
 * above, x - tanh(x) loses at most log2(3/x^2) < 7 bits, within 3e-14. */
static double tanhshrink_acc(double x, const double *p)
{
    if (!(fabs(x) < 0.2)) return tanhshrink_f(x, p);
    double x2 = x * x;
    double s = -6404582.0 / 10854718875.0;
    s = s * x2 + 929569.0 / 638512875.0;
    s = s * x2 - 21844.0 / 6081075.0;
    s = s * x2 + 1382.0 / 155925.0;
    s = s * x2 - 62.0 / 2835.0;
    s = s * x2 + 17.0 / 315.0;
    s = s * x2 - 2.0 / 15.0;
    s = s * x2 + 1.0 / 3.0;
    return x * x2 * s;
}

/* ---- rules among parameters ---- */
static const char *c_hard_tanh(const double *p) { return p[0] < p[1] ? NULL : "needs min_val < max_val"; }
static const char *c_rrelu(const double *p) { return p[0] <= p[1] ? NULL : "needs lower <= upper"; }

/* One VP_P_NUM parameter spec. */
#define NUM(name, def, lo, hi, help) { name, VP_P_NUM, def, lo, hi, NULL, help }
#define BIG 1e6
static const vp_act_info ACT_TABLE[VP_ACT_COUNT] = {
    [VP_ACT_IDENTITY] = { .name = "identity", .aliases = "linear", .formula = "x",
        .origin = "PyTorch Identity, Keras linear, JAX identity",
        FNS(identity), .torch_gain = gain_one, .slopes = s_identity },
    [VP_ACT_RELU] = { .name = "relu", .aliases = "", .formula = "max(0, x)", .origin = "all three; relu'(0) = 0",
        FNS(relu), .torch_gain = gain_relu, .kinks = k_zero, .slopes = s_relu },
    [VP_ACT_RELU6] = { .name = "relu6", .aliases = "", .formula = "min(max(0, x), 6)", .origin = "all three",
        FNS(relu6), .bounded = 1, .dpeak = 1.0, .kinks = k_relu6 },
    [VP_ACT_LEAKY_RELU] = { .name = "leaky_relu", .aliases = "", .formula = "x if x > 0 else negative_slope*x",
        .origin = "PyTorch/JAX default slope 0.01 (Keras: 0.2, layers.LeakyReLU 0.3)",
        .nparams = 1, .params = { NUM("negative_slope", 0.01, 0, BIG, "slope for x <= 0") },
        FNS(leaky_relu), .torch_gain = gain_leaky, .kinks = k_zero, .slopes = s_leaky },
    [VP_ACT_PRELU] = { .name = "prelu", .aliases = "", .formula = "x if x > 0 else a*x, a at its initial value",
        .origin = "PyTorch PReLU(init=0.25) at initialization (Keras alpha init 0, Flax 0.01)",
        .nparams = 1, .params = { NUM("init", 0.25, -BIG, BIG, "initial slope a") },
        FNS(leaky_relu), .kinks = k_zero, .slopes = s_leaky },
    [VP_ACT_RRELU] = { .name = "rrelu", .aliases = "", .formula = "x if x > 0 else ((lower+upper)/2)*x (eval mode)",
        .origin = "PyTorch RReLU(1/8, 1/3), evaluation-mode slope",
        .nparams = 2, .params = { NUM("lower", 0.125, 0, BIG, "lower slope bound"),
                                  NUM("upper", 1.0 / 3.0, 0, BIG, "upper slope bound") },
        FNS(rrelu), .kinks = k_zero, .slopes = s_rrelu, .check = c_rrelu },
    [VP_ACT_ELU] = { .name = "elu", .aliases = "", .formula = "x if x > 0 else alpha*(exp(x)-1)",
        .origin = "all three, alpha = 1",
        .nparams = 1, .params = { NUM("alpha", 1.0, 0, BIG, "negative saturation -alpha") },
        FNS(elu), .kinks = k_zero, .exp_linear = x_elu },
    [VP_ACT_CELU] = { .name = "celu", .aliases = "", .formula = "max(0,x) + min(0, alpha*(exp(x/alpha)-1))",
        .origin = "all three, alpha = 1",
        .nparams = 1, .params = { NUM("alpha", 1.0, 1e-12, BIG, "scale, > 0") },
        FNS(celu), .kinks = k_zero, .exp_linear = x_celu },
    [VP_ACT_SELU] = { .name = "selu", .aliases = "",
        .formula = "scale*(x if x > 0 else alpha*(exp(x)-1)), alpha=1.67326, scale=1.05070",
        .origin = "Klambauer et al. 2017; PyTorch gain 3/4 (empirical)",
        FNS(selu), .torch_gain = gain_selu, .kinks = k_zero, .exp_linear = x_selu,
        /* torch.nn.init.calculate_gain's docstring */
        .gain_note = "PyTorch's 3/4 is empirical and gives up self-normalization: its docs say to use "
                     "nonlinearity='linear' (gain 1, lecun_normal) for self-normalizing networks; at 3/4 the "
                     "variance settles far below 1 (varprop theory selu --sigma-w2 0.5625)" },
    [VP_ACT_GELU] = { .name = "gelu", .aliases = "", .formula = "x*Phi(x) = x/2*erfc(-x/sqrt(2))",
        .origin = "exact GELU: PyTorch default, Keras activations.gelu default", FNS(gelu) },
    [VP_ACT_GELU_TANH] = { .name = "gelu_tanh", .aliases = "", .formula = "x/2*(1+tanh(sqrt(2/pi)*(x+0.044715x^3)))",
        .origin = "PyTorch GELU('tanh'); JAX gelu() default", FNS(gelu_tanh) },
    [VP_ACT_SILU] = { .name = "silu", .aliases = "swish", .formula = "x*sigmoid(x)", .origin = "all three", FNS(silu) },
    [VP_ACT_MISH] = { .name = "mish", .aliases = "", .formula = "x*tanh(softplus(x))", .origin = "all three", FNS(mish) },
    [VP_ACT_SIGMOID] = { .name = "sigmoid", .aliases = "logistic", .formula = "1/(1+exp(-x))", .origin = "all three",
        FNS(sigmoid), .torch_gain = gain_one, .bounded = 1, .dpeak = 0.25 },
    [VP_ACT_LOG_SIGMOID] = { .name = "log_sigmoid", .aliases = "logsigmoid", .formula = "-softplus(-x)",
        .origin = "all three", FNS(log_sigmoid) },
    [VP_ACT_HARD_SIGMOID] = { .name = "hard_sigmoid", .aliases = "hardsigmoid", .formula = "0 if x<=-3, 1 if x>=3, else x/6+1/2",
        .origin = "PyTorch Hardsigmoid = Keras 3 = JAX (Keras 2 used 0.2x+0.5)",
        FNS(hard_sigmoid), .bounded = 1, .dpeak = 1.0 / 6.0, .kinks = k_pm3 },
    [VP_ACT_HARD_SWISH] = { .name = "hard_swish", .aliases = "hardswish hard_silu",
        .formula = "0 if x<=-3, x if x>=3, else x(x+3)/6", .origin = "PyTorch Hardswish, Keras/JAX hard_silu",
        FNS(hard_swish), .kinks = k_pm3 },
    [VP_ACT_TANH] = { .name = "tanh", .aliases = "", .formula = "tanh(x)", .origin = "all three",
        FNS(tanh), .torch_gain = gain_tanh, .bounded = 1, .dpeak = 1.0 },
    [VP_ACT_HARD_TANH] = { .name = "hard_tanh", .aliases = "hardtanh", .formula = "clamp(x, min_val, max_val)",
        .origin = "PyTorch Hardtanh(-1, 1)",
        .nparams = 2, .params = { NUM("min_val", -1.0, -BIG, BIG, "lower clamp"),
                                  NUM("max_val", 1.0, -BIG, BIG, "upper clamp (> min_val)") },
        FNS(hard_tanh), .bounded = 1, .dpeak = 1.0, .kinks = k_p01, .check = c_hard_tanh },
    [VP_ACT_SOFTPLUS] = { .name = "softplus", .aliases = "", .formula = "log(1+exp(beta*x))/beta, x once beta*x > threshold",
        .origin = "PyTorch Softplus(beta=1, threshold=20); Keras/JAX have no threshold",
        .nparams = 2, .params = { NUM("beta", 1.0, 1e-12, BIG, "sharpness, > 0"),
                                  NUM("threshold", 20.0, 0, BIG, "linear above beta*x > threshold") },
        FNS(softplus), .kinks = k_softplus },
    [VP_ACT_SOFTSIGN] = { .name = "softsign", .aliases = "soft_sign", .formula = "x/(1+|x|)",
        .origin = "all three; Glorot & Bengio 2010", FNS(softsign), .bounded = 1, .dpeak = 1.0, .kinks = k_zero },
    [VP_ACT_TANHSHRINK] = { .name = "tanhshrink", .aliases = "tanh_shrink", .formula = "x - tanh(x)",
        .origin = "PyTorch, Keras", FNS(tanhshrink), .f_accurate = tanhshrink_acc },
    [VP_ACT_SOFTSHRINK] = { .name = "softshrink", .aliases = "soft_shrink", .formula = "x-l if x>l, x+l if x<-l, else 0",
        .origin = "PyTorch Softshrink(0.5), Keras soft_shrink(0.5)",
        .nparams = 1, .params = { NUM("lambd", 0.5, 0, BIG, "dead-zone half width") },
        FNS(softshrink), .kinks = k_pm_p0 },
    [VP_ACT_HARDSHRINK] = { .name = "hardshrink", .aliases = "hard_shrink", .formula = "x if |x|>l else 0",
        .origin = "PyTorch Hardshrink(0.5), Keras hard_shrink(0.5)",
        .nparams = 1, .params = { NUM("lambd", 0.5, 0, BIG, "dead-zone half width") },
        FNS(hardshrink), .kinks = k_pm_p0 },
    [VP_ACT_THRESHOLD] = { .name = "threshold", .aliases = "", .formula = "x if x > threshold else value",
        .origin = "PyTorch Threshold(threshold, value), Keras threshold",
        .nparams = 2, .params = { NUM("threshold", 0.0, -BIG, BIG, "cut-off"),
                                  NUM("value", 0.0, -BIG, BIG, "output below the cut-off") },
        FNS(threshold), .kinks = k_p0 },
    [VP_ACT_SQUAREPLUS] = { .name = "squareplus", .aliases = "", .formula = "(x + sqrt(x^2 + b))/2",
        .origin = "Keras/JAX squareplus(b=4)",
        .nparams = 1, .params = { NUM("b", 4.0, 0, BIG, "smoothing, >= 0") }, FNS(squareplus) },
    [VP_ACT_SPARSE_PLUS] = { .name = "sparse_plus", .aliases = "", .formula = "0 if x<=-1, (x+1)^2/4 if |x|<1, x if x>=1",
        .origin = "Keras/JAX", FNS(sparse_plus), .kinks = k_pm1 },
    [VP_ACT_SPARSE_SIGMOID] = { .name = "sparse_sigmoid", .aliases = "",
        .formula = "0 if x<=-1, (x+1)/2 if |x|<1, 1 if x>=1", .origin = "Keras/JAX",
        FNS(sparse_sigmoid), .bounded = 1, .dpeak = 0.5, .kinks = k_pm1 },
    [VP_ACT_EXPONENTIAL] = { .name = "exponential", .aliases = "exp", .formula = "exp(x)", .origin = "Keras exponential",
        FNS(exponential), .lognormal = 1 },
    /* row-wise: one example's whole row at a time (act_rowwise.c) */
    [VP_ACT_GLU] = { .name = "glu", .aliases = "", .formula = "a*sigmoid(b), z = [a | b] (halves the width)",
        .origin = "PyTorch GLU(dim=-1), Keras/JAX glu; the layer's weight has fan_out 2n", ROWWISE(glu, 2) },
    [VP_ACT_SOFTMAX] = { .name = "softmax", .aliases = "", .formula = "exp(z_i)/sum_j exp(z_j) over the row",
        .origin = "PyTorch Softmax(dim=-1), Keras/JAX softmax", ROWWISE(softmax, 1) },
    [VP_ACT_LOG_SOFTMAX] = { .name = "log_softmax", .aliases = "logsoftmax",
        .formula = "z_i - log sum_j exp(z_j) over the row", .origin = "PyTorch LogSoftmax, Keras/JAX log_softmax",
        ROWWISE(log_softmax, 1) },
    [VP_ACT_SOFTMIN] = { .name = "softmin", .aliases = "", .formula = "softmax(-z) over the row",
        .origin = "PyTorch Softmin(dim=-1)", ROWWISE(softmin, 1) },
    [VP_ACT_STANDARDIZE] = { .name = "standardize", .aliases = "",
        .formula = "(z - mean(z))/sqrt(var(z) + epsilon) over the row", .origin = "JAX nn.standardize(epsilon=1e-5)",
        .nparams = 1, .params = { NUM("epsilon", 1e-5, 0, BIG, "added to the variance") },
        ROWWISE(standardize, 1) },
    [VP_ACT_SPARSEMAX] = { .name = "sparsemax", .aliases = "", .formula = "max(z - tau, 0), the projection onto the simplex",
        .origin = "Keras sparsemax (Martins & Astudillo 2016)", ROWWISE(sparsemax, 1) },
};

const vp_act_info *vp_act_get(vp_act_kind k)
{
    if ((unsigned)k >= VP_ACT_COUNT) abort(); /* internal invariant: kinds come from vp_act_find */
    return &ACT_TABLE[k];
}

vp_act_kind vp_act_find(const char *name)
{
    for (int k = 0; k < VP_ACT_COUNT; k++)
        if (vp_name_is(ACT_TABLE[k].name, ACT_TABLE[k].aliases, name)) return (vp_act_kind)k;
    return VP_ACT_COUNT;
}

void vp_act_names(int with_aliases, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < VP_ACT_COUNT && used < len; k++) {
        const vp_act_info *a = &ACT_TABLE[k];
        int al = with_aliases && a->aliases[0];
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s", used ? " " : "", a->name, al ? " " : "",
                                 al ? a->aliases : "");
    }
}

vp_act vp_act_default(vp_act_kind k)
{
    vp_act a = { k, {0} };
    const vp_act_info *info = vp_act_get(k);
    vp_param_defaults(info->params, info->nparams, a.p);
    return a;
}

int vp_act_param_index(const vp_act_info *info, const char *name)
{
    return vp_param_find(info->params, info->nparams, name);
}

double vp_act_param(const vp_act *a, const char *name)
{
    const vp_act_info *info = vp_act_get(a->kind);
    return vp_param_get(info->params, info->nparams, a->p, name);
}

vp_status vp_act_check(const vp_act *a, vp_err *err)
{
    const vp_act_info *info = vp_act_get(a->kind);
    const char *why = info->check ? info->check(a->p) : NULL;
    return vp_param_check_row(info->name, info->params, info->nparams, a->p, why, err);
}

double vp_act_torch_gain(const vp_act *a)
{
    const vp_act_info *info = vp_act_get(a->kind);
    return info->torch_gain ? info->torch_gain(a->p) : NAN;
}

int vp_act_slopes(const vp_act *a, double *neg, double *pos)
{
    const vp_act_info *info = vp_act_get(a->kind);
    if (!info->slopes) return 0;
    info->slopes(a->p, neg, pos);
    return 1;
}

void vp_act_label(const vp_act *a, char *buf, size_t len)
{
    const vp_act_info *info = vp_act_get(a->kind);
    vp_param_label(info->name, info->params, info->nparams, a->p, 0, 0, buf, len);
}
