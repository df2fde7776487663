/* act: see act.h. Each activation is defined once as a pair of static inline
 * scalar functions NAME_f / NAME_df (double precision); the macro ACT_KERNELS
 * turns them into the fused array kernels, so the table, the theory module and
 * the fast path all use the same math. Formulas: PyTorch torch/nn/modules/
 * activation.py and its autograd derivatives, Keras 3 keras/src/activations,
 * JAX jax/_src/nn/functions.py (see ../shared/reference/initializers.md §4).
 *
 * The scalar pairs are branch-free: transcendental functions come from vmath.h
 * (vm_exp, vm_expm1, vm_log1p, vm_tanh, vm_erfc: inline, no calls) and every case
 * split is a select (vm_select), so the kernel loops vectorize. A select computes
 * both arms. The exponential arms get arguments on which they stay finite (see
 * neg_part); a polynomial arm may still overflow for a huge input where the
 * other arm is chosen (x(x+3)/6 at 1e300), which is harmless: the bit-mask
 * select never mixes the two. The kernels and f/df run the same IEEE operations
 * in the same order (ISO C: no FMA contraction), so they agree bit for bit,
 * whatever vector width the compiler picks (tests/test_act.c,
 * act_kernels.fused_equal_scalar). Row-wise activations and the theory module
 * are not speed-critical; the row-wise ones keep libm (glu shares sigm). */
#include "core/act.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "core/vmath.h"

#define UNUSED(x) (void)(x)

/* SELU constants (Klambauer et al. 2017, Eq. 14), identical in PyTorch/Keras/JAX. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SQRT_2_OVER_PI 0.79788456080286535587989211986876
#define GELU_TANH_C 0.044715

/* The scalar pairs must be inlined into the kernel loops for those to vectorize;
 * GCC's inliner would refuse the larger ones (they are used by several kernels
 * and clones), so it is told to. */
#if defined(__GNUC__)
#define ACT_INLINE static inline __attribute__((always_inline))
#else
#define ACT_INLINE static inline
#endif

/* Every case split below is vm_select(c, a, b) = c ? a : b computed as a bit
 * mask (vmath.h says why: with ?: GCC would keep branches and not vectorize).
 * The ternaries left (relu, hardshrink) choose between the input and constants
 * with nothing computed after them, and vectorize as they are. */

/* Numerically stable logistic sigma(x): 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below,
 * both from e = e^-|x| <= 1 so nothing overflows. */
ACT_INLINE double sigm(double x)
{
    double e = vm_exp(-fabs(x));
    return vm_select(x >= 0, 1.0, e) / (1.0 + e);
}
/* softplus(x) = log(1+e^x) = max(x, 0) + log1p(e^-|x|) without overflow (max as a
 * select, so NaN is not dropped: it reaches the sum through e). */
ACT_INLINE double softplus1(double x) { return vm_select(x > 0, x, 0.0) + vm_log1p(vm_exp(-fabs(x))); }
/* min(x, 0) that lets NaN through: the argument of an exponential arm used only
 * for x <= 0, so that arm stays finite when x is large and the other arm wins. */
ACT_INLINE double neg_part(double x) { return vm_select(x > 0, 0.0, x); }

/* ---- piecewise-linear family ---- */
ACT_INLINE double identity_f(double x, const double *p) { UNUSED(p); return x; }
ACT_INLINE double identity_df(double x, const double *p) { UNUSED(p); UNUSED(x); return 1.0; }
ACT_INLINE double relu_f(double x, const double *p) { UNUSED(p); return x > 0 ? x : 0.0; }
ACT_INLINE double relu_df(double x, const double *p) { UNUSED(p); return x > 0 ? 1.0 : 0.0; }
/* relu6 = hardtanh(x, 0, 6): gradient 1 strictly inside (0, 6). */
ACT_INLINE double relu6_f(double x, const double *p) { UNUSED(p); return vm_select(x > 0, vm_select(x < 6, x, 6.0), 0.0); }
ACT_INLINE double relu6_df(double x, const double *p) { UNUSED(p); return vm_select((x > 0) & (x < 6), 1.0, 0.0); }
/* leaky_relu / prelu (at its initial slope) / rrelu (eval mode, slope (l+u)/2). */
ACT_INLINE double leaky_relu_f(double x, const double *p) { return vm_select(x > 0, x, p[0] * x); }
ACT_INLINE double leaky_relu_df(double x, const double *p) { return vm_select(x > 0, 1.0, p[0]); }
ACT_INLINE double rrelu_f(double x, const double *p) { return vm_select(x > 0, x, 0.5 * (p[0] + p[1]) * x); }
ACT_INLINE double rrelu_df(double x, const double *p) { return vm_select(x > 0, 1.0, 0.5 * (p[0] + p[1])); }

/* ---- exponential-linear family ---- */
/* phi and phi' call vm_expm1 and vm_exp on the same argument: the kernels compute
 * the exponential once (vmath.h, vm_expm1). */
ACT_INLINE double elu_f(double x, const double *p) { return vm_select(x > 0, x, p[0] * vm_expm1(neg_part(x))); }
ACT_INLINE double elu_df(double x, const double *p) { return vm_select(x > 0, 1.0, p[0] * vm_exp(neg_part(x))); }
ACT_INLINE double celu_f(double x, const double *p) { return vm_select(x > 0, x, p[0] * vm_expm1(neg_part(x) / p[0])); }
ACT_INLINE double celu_df(double x, const double *p) { return vm_select(x > 0, 1.0, vm_exp(neg_part(x) / p[0])); }
ACT_INLINE double selu_f(double x, const double *p)
{
    UNUSED(p);
    return SELU_SCALE * vm_select(x > 0, x, SELU_ALPHA * vm_expm1(neg_part(x)));
}
ACT_INLINE double selu_df(double x, const double *p)
{
    UNUSED(p);
    return SELU_SCALE * vm_select(x > 0, 1.0, SELU_ALPHA * vm_exp(neg_part(x)));
}

/* ---- smooth gated family ---- */
/* GELU exact: x Phi(x) = x/2 erfc(-x/sqrt2); phi' = Phi(x) + x N(x). */
ACT_INLINE double gelu_f(double x, const double *p) { UNUSED(p); return 0.5 * x * vm_erfc(-x * M_SQRT1_2); }
ACT_INLINE double gelu_df(double x, const double *p)
{
    UNUSED(p);
    return 0.5 * vm_erfc(-x * M_SQRT1_2) + x * vm_exp(-0.5 * x * x) * (0.5 * M_2_SQRTPI * M_SQRT1_2);
}
/* GELU tanh approximation: x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))). */
ACT_INLINE double gelu_tanh_f(double x, const double *p)
{
    UNUSED(p);
    return 0.5 * x * (1.0 + vm_tanh(SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x)));
}
ACT_INLINE double gelu_tanh_df(double x, const double *p)
{
    UNUSED(p);
    double t = vm_tanh(SQRT_2_OVER_PI * (x + GELU_TANH_C * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_C * x * x);
}
ACT_INLINE double silu_f(double x, const double *p) { UNUSED(p); return x * sigm(x); }
ACT_INLINE double silu_df(double x, const double *p) { UNUSED(p); double s = sigm(x); return s * (1.0 + x * (1.0 - s)); }
/* tanh(softplus(x)) = ((1 + e^x)^2 - 1) / ((1 + e^x)^2 + 1). With e = e^-|x| <= 1
 * that is (1 + 2e) / (1 + 2e + 2e^2) for x >= 0 and e(2 + e) / (e(2 + e) + 2)
 * below: one exponential (shared with sigma) and one division instead of exp,
 * log1p and tanh, nothing overflows, and no cancellation in either form. */
ACT_INLINE double tanh_softplus(double x)
{
    double e = vm_exp(-fabs(x));
    double num = vm_select(x >= 0, 1.0 + 2.0 * e, e * (2.0 + e));
    return num / (num + vm_select(x >= 0, 2.0 * e * e, 2.0));
}
/* mish = x tanh(softplus x); d = tanh(sp) + x sech^2(sp) sigma(x). */
ACT_INLINE double mish_f(double x, const double *p) { UNUSED(p); return x * tanh_softplus(x); }
ACT_INLINE double mish_df(double x, const double *p)
{
    UNUSED(p);
    double t = tanh_softplus(x);
    return t + x * (1.0 - t * t) * sigm(x);
}

/* ---- sigmoid family ---- */
ACT_INLINE double sigmoid_f(double x, const double *p) { UNUSED(p); return sigm(x); }
ACT_INLINE double sigmoid_df(double x, const double *p) { UNUSED(p); double s = sigm(x); return s * (1.0 - s); }
ACT_INLINE double log_sigmoid_f(double x, const double *p) { UNUSED(p); return -softplus1(-x); }
ACT_INLINE double log_sigmoid_df(double x, const double *p) { UNUSED(p); return sigm(-x); }
/* PyTorch Hardsigmoid: relu6(x+3)/6; gradient 1/6 strictly inside (-3, 3). */
ACT_INLINE double hard_sigmoid_f(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x <= -3, 0.0, vm_select(x >= 3, 1.0, x / 6.0 + 0.5));
}
ACT_INLINE double hard_sigmoid_df(double x, const double *p) { UNUSED(p); return vm_select((x > -3) & (x < 3), 1.0 / 6.0, 0.0); }
/* PyTorch Hardswish; its backward uses x/3 + 1/2 on [-3, 3] (closed at 3). */
ACT_INLINE double hard_swish_f(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x <= -3, 0.0, vm_select(x >= 3, x, x * (x + 3.0) / 6.0));
}
ACT_INLINE double hard_swish_df(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x < -3, 0.0, vm_select(x <= 3, x / 3.0 + 0.5, 1.0));
}

/* ---- tanh family ---- */
ACT_INLINE double tanh_f(double x, const double *p) { UNUSED(p); return vm_tanh(x); }
ACT_INLINE double tanh_df(double x, const double *p) { UNUSED(p); double t = vm_tanh(x); return 1.0 - t * t; }
ACT_INLINE double hard_tanh_f(double x, const double *p) { return vm_select(x < p[0], p[0], vm_select(x > p[1], p[1], x)); }
ACT_INLINE double hard_tanh_df(double x, const double *p) { return vm_select((x > p[0]) & (x < p[1]), 1.0, 0.0); }
/* PyTorch Softplus(beta, threshold): linear once beta*x > threshold. The log arm
 * is finite for every x (softplus1 does not overflow; only x = +inf gives inf,
 * where the linear arm is taken). */
ACT_INLINE double softplus_f(double x, const double *p) { return vm_select(p[0] * x > p[1], x, softplus1(p[0] * x) / p[0]); }
ACT_INLINE double softplus_df(double x, const double *p) { return vm_select(p[0] * x > p[1], 1.0, sigm(p[0] * x)); }
ACT_INLINE double softsign_f(double x, const double *p) { UNUSED(p); return x / (1.0 + fabs(x)); }
ACT_INLINE double softsign_df(double x, const double *p) { UNUSED(p); double a = 1.0 + fabs(x); return 1.0 / (a * a); }
ACT_INLINE double tanhshrink_f(double x, const double *p) { UNUSED(p); return x - vm_tanh(x); }
ACT_INLINE double tanhshrink_df(double x, const double *p) { UNUSED(p); double t = vm_tanh(x); return t * t; }

/* ---- shrinkage / threshold ---- */
ACT_INLINE double softshrink_f(double x, const double *p)
{
    return vm_select(x > p[0], x - p[0], vm_select(x < -p[0], x + p[0], 0.0));
}
ACT_INLINE double softshrink_df(double x, const double *p) { return vm_select((x > p[0]) | (x < -p[0]), 1.0, 0.0); }
ACT_INLINE double hardshrink_f(double x, const double *p) { return (x > p[0] || x < -p[0]) ? x : 0.0; }
ACT_INLINE double hardshrink_df(double x, const double *p) { return (x > p[0] || x < -p[0]) ? 1.0 : 0.0; }
ACT_INLINE double threshold_f(double x, const double *p) { return vm_select(x > p[0], x, p[1]); }
ACT_INLINE double threshold_df(double x, const double *p) { return vm_select(x > p[0], 1.0, 0.0); }

/* ---- Keras/JAX-only ---- */
ACT_INLINE double squareplus_f(double x, const double *p) { return 0.5 * (x + sqrt(x * x + p[0])); }
ACT_INLINE double squareplus_df(double x, const double *p) { return 0.5 * (1.0 + x / sqrt(x * x + p[0])); }
ACT_INLINE double sparse_plus_f(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x <= -1, 0.0, vm_select(x >= 1, x, 0.25 * (x + 1) * (x + 1)));
}
ACT_INLINE double sparse_plus_df(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x <= -1, 0.0, vm_select(x >= 1, 1.0, 0.5 * (x + 1)));
}
ACT_INLINE double sparse_sigmoid_f(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x <= -1, 0.0, vm_select(x >= 1, 1.0, 0.5 * (x + 1)));
}
ACT_INLINE double sparse_sigmoid_df(double x, const double *p) { UNUSED(p); return vm_select((x > -1) & (x < 1), 0.5, 0.0); }
ACT_INLINE double exponential_f(double x, const double *p) { UNUSED(p); return vm_exp(x); }
ACT_INLINE double exponential_df(double x, const double *p) { UNUSED(p); return vm_exp(x); }

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

/* ---- row-wise activations: one example's row at a time ----
 * Each backward is the vector-Jacobian product gz = J^T gh of its forward
 * (tests/test_act.c checks every one against central differences). */

/* GLU(dim=-1), PyTorch nn.GLU / Keras / JAX glu: z = [a | b], h = a * sigmoid(b). */
static void glu_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    for (size_t i = 0; i < n; i++) h[i] = z[i] * sigm(z[n + i]);
}
static void glu_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(h); UNUSED(p);
    for (size_t i = 0; i < n; i++) {
        double s = sigm(z[n + i]);
        gz[i] = gh[i] * s;
        gz[n + i] = gh[i] * z[i] * s * (1.0 - s);
    }
}

/* softmax (shifted by the row maximum so exp never overflows); J = diag(h) - h h^T. */
static void softmax_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    double m = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
    for (size_t i = 0; i < n; i++) sum += h[i] = exp(z[i] - m);
    for (size_t i = 0; i < n; i++) h[i] /= sum;
}
static void softmax_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(z); UNUSED(p);
    double dot = 0;
    for (size_t i = 0; i < n; i++) dot += gh[i] * h[i];
    for (size_t i = 0; i < n; i++) gz[i] = h[i] * (gh[i] - dot);
}
/* softmin(z) = softmax(-z): J = -(diag(h) - h h^T). */
static void softmin_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    double m = INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) m = z[i] < m ? z[i] : m;
    for (size_t i = 0; i < n; i++) sum += h[i] = exp(m - z[i]);
    for (size_t i = 0; i < n; i++) h[i] /= sum;
}
static void softmin_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    softmax_bwd(z, h, gh, gz, n, p);
    for (size_t i = 0; i < n; i++) gz[i] = -gz[i];
}
/* log_softmax = z - logsumexp(z); J = I - 1 softmax(z)^T. */
static void log_softmax_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    double m = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
    for (size_t i = 0; i < n; i++) sum += exp(z[i] - m);
    double lse = m + log(sum);
    for (size_t i = 0; i < n; i++) h[i] = z[i] - lse;
}
static void log_softmax_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(z); UNUSED(p);
    double sg = 0;
    for (size_t i = 0; i < n; i++) sg += gh[i];
    for (size_t i = 0; i < n; i++) gz[i] = gh[i] - exp(h[i]) * sg;
}
/* JAX standardize: y = (z - mean) / sqrt(var + epsilon), population variance over the
 * row; with r = (var + eps)^(-1/2): gz = r (gh - mean(gh) - y mean(gh y)). */
static void standardize_moments(const double *z, size_t n, double eps, double *mean, double *r)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += z[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (z[i] - m) * (z[i] - m);
    *mean = m;
    *r = 1.0 / sqrt(v / (double)n + eps);
}
static void standardize_fwd(const double *z, double *h, size_t n, const double *p)
{
    double m, r;
    standardize_moments(z, n, p[0], &m, &r);
    for (size_t i = 0; i < n; i++) h[i] = (z[i] - m) * r;
}
static void standardize_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    double m, r, mg = 0, mgy = 0;
    standardize_moments(z, n, p[0], &m, &r);
    for (size_t i = 0; i < n; i++) {
        mg += gh[i];
        mgy += gh[i] * h[i];
    }
    mg /= (double)n;
    mgy /= (double)n;
    for (size_t i = 0; i < n; i++) gz[i] = r * (gh[i] - mg - h[i] * mgy);
}
/* sparsemax (Martins & Astudillo 2016; Keras ops.sparsemax): the Euclidean projection
 * of z onto the simplex, h = max(z - tau, 0). Sorting uses h as scratch. On the
 * support S = {h > 0}: gz = gh - mean_S(gh); off it gz = 0. */
static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}
static void sparsemax_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    memcpy(h, z, n * sizeof *h);
    qsort(h, n, sizeof *h, cmp_desc);
    double cum = 0, tau = h[0] - 1.0;
    for (size_t k = 0; k < n; k++) {
        cum += h[k];
        if (1.0 + (double)(k + 1) * h[k] > cum) tau = (cum - 1.0) / (double)(k + 1);
    }
    for (size_t i = 0; i < n; i++) h[i] = z[i] > tau ? z[i] - tau : 0.0;
}
static void sparsemax_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(z); UNUSED(p);
    double sum = 0;
    size_t support = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i] > 0) { sum += gh[i]; support++; }
    double mean = support ? sum / (double)support : 0.0;
    for (size_t i = 0; i < n; i++) gz[i] = h[i] > 0 ? gh[i] - mean : 0.0;
}

#define ROWWISE(N, ipo) .in_per_out = (ipo), .row_fwd = N##_fwd, .row_bwd = N##_bwd

#define FNS(N) .f = N##_fs, .df = N##_dfs, .kernel_f32 = N##_k32, .kernel_f64 = N##_k64

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

#define BIG 1e6
static const vp_act_info ACT_TABLE[VP_ACT_COUNT] = {
    [VP_ACT_IDENTITY] = { "identity", "linear", "x", "PyTorch Identity, Keras linear, JAX identity",
        0, {{0}}, FNS(identity), gain_one, 0, 0, NULL },
    [VP_ACT_RELU] = { "relu", "", "max(0, x)", "all three; relu'(0) = 0", 0, {{0}}, FNS(relu),
        gain_relu, 0, 0, k_zero },
    [VP_ACT_RELU6] = { "relu6", "", "min(max(0, x), 6)", "all three", 0, {{0}}, FNS(relu6),
        NULL, 1, 1.0, k_relu6 },
    [VP_ACT_LEAKY_RELU] = { "leaky_relu", "", "x if x > 0 else negative_slope*x",
        "PyTorch/JAX default slope 0.01 (Keras: 0.2, layers.LeakyReLU 0.3)",
        1, {{ "negative_slope", VP_P_NUM, 0.01, 0, BIG, NULL, "slope for x <= 0" }}, FNS(leaky_relu),
        gain_leaky, 0, 0, k_zero },
    [VP_ACT_PRELU] = { "prelu", "", "x if x > 0 else a*x, a at its initial value",
        "PyTorch PReLU(init=0.25) at initialization (Keras alpha init 0, Flax 0.01)",
        1, {{ "init", VP_P_NUM, 0.25, -BIG, BIG, NULL, "initial slope a" }}, FNS(leaky_relu), NULL, 0, 0, k_zero },
    [VP_ACT_RRELU] = { "rrelu", "", "x if x > 0 else ((lower+upper)/2)*x (eval mode)",
        "PyTorch RReLU(1/8, 1/3), evaluation-mode slope",
        2, {{ "lower", VP_P_NUM, 0.125, 0, BIG, NULL, "lower slope bound" }, { "upper", VP_P_NUM, 1.0 / 3.0, 0, BIG, NULL, "upper slope bound" }},
        FNS(rrelu), NULL, 0, 0, k_zero },
    [VP_ACT_ELU] = { "elu", "", "x if x > 0 else alpha*(exp(x)-1)", "all three, alpha = 1",
        1, {{ "alpha", VP_P_NUM, 1.0, 0, BIG, NULL, "negative saturation -alpha" }}, FNS(elu), NULL, 0, 0, k_zero },
    [VP_ACT_CELU] = { "celu", "", "max(0,x) + min(0, alpha*(exp(x/alpha)-1))", "all three, alpha = 1",
        1, {{ "alpha", VP_P_NUM, 1.0, 1e-12, BIG, NULL, "scale, > 0" }}, FNS(celu), NULL, 0, 0, k_zero },
    [VP_ACT_SELU] = { "selu", "", "scale*(x if x > 0 else alpha*(exp(x)-1)), alpha=1.67326, scale=1.05070",
        "Klambauer et al. 2017; PyTorch gain 3/4 (empirical)", 0, {{0}}, FNS(selu), gain_selu, 0, 0, k_zero },
    [VP_ACT_GELU] = { "gelu", "", "x*Phi(x) = x/2*erfc(-x/sqrt(2))",
        "exact GELU: PyTorch default, Keras activations.gelu default", 0, {{0}}, FNS(gelu), NULL, 0, 0, NULL },
    [VP_ACT_GELU_TANH] = { "gelu_tanh", "", "x/2*(1+tanh(sqrt(2/pi)*(x+0.044715x^3)))",
        "PyTorch GELU('tanh'); JAX gelu() default", 0, {{0}}, FNS(gelu_tanh), NULL, 0, 0, NULL },
    [VP_ACT_SILU] = { "silu", "swish", "x*sigmoid(x)", "all three", 0, {{0}}, FNS(silu), NULL, 0, 0, NULL },
    [VP_ACT_MISH] = { "mish", "", "x*tanh(softplus(x))", "all three", 0, {{0}}, FNS(mish), NULL, 0, 0, NULL },
    [VP_ACT_SIGMOID] = { "sigmoid", "logistic", "1/(1+exp(-x))", "all three", 0, {{0}}, FNS(sigmoid),
        gain_one, 1, 0.25, NULL },
    [VP_ACT_LOG_SIGMOID] = { "log_sigmoid", "logsigmoid", "-softplus(-x)", "all three", 0, {{0}},
        FNS(log_sigmoid), NULL, 0, 0, NULL },
    [VP_ACT_HARD_SIGMOID] = { "hard_sigmoid", "hardsigmoid", "0 if x<=-3, 1 if x>=3, else x/6+1/2",
        "PyTorch Hardsigmoid = Keras 3 = JAX (Keras 2 used 0.2x+0.5)", 0, {{0}}, FNS(hard_sigmoid),
        NULL, 1, 1.0 / 6.0, k_pm3 },
    [VP_ACT_HARD_SWISH] = { "hard_swish", "hardswish hard_silu", "0 if x<=-3, x if x>=3, else x(x+3)/6",
        "PyTorch Hardswish, Keras/JAX hard_silu", 0, {{0}}, FNS(hard_swish), NULL, 0, 0, k_pm3 },
    [VP_ACT_TANH] = { "tanh", "", "tanh(x)", "all three", 0, {{0}}, FNS(tanh), gain_tanh, 1, 1.0, NULL },
    [VP_ACT_HARD_TANH] = { "hard_tanh", "hardtanh", "clamp(x, min_val, max_val)", "PyTorch Hardtanh(-1, 1)",
        2, {{ "min_val", VP_P_NUM, -1.0, -BIG, BIG, NULL, "lower clamp" }, { "max_val", VP_P_NUM, 1.0, -BIG, BIG, NULL, "upper clamp (> min_val)" }},
        FNS(hard_tanh), NULL, 1, 1.0, k_p01 },
    [VP_ACT_SOFTPLUS] = { "softplus", "", "log(1+exp(beta*x))/beta, x once beta*x > threshold",
        "PyTorch Softplus(beta=1, threshold=20); Keras/JAX have no threshold",
        2, {{ "beta", VP_P_NUM, 1.0, 1e-12, BIG, NULL, "sharpness, > 0" }, { "threshold", VP_P_NUM, 20.0, 0, BIG, NULL, "linear above beta*x > threshold" }},
        FNS(softplus), NULL, 0, 0, k_softplus },
    [VP_ACT_SOFTSIGN] = { "softsign", "soft_sign", "x/(1+|x|)", "all three; Glorot & Bengio 2010", 0, {{0}},
        FNS(softsign), NULL, 1, 1.0, k_zero },
    [VP_ACT_TANHSHRINK] = { "tanhshrink", "tanh_shrink", "x - tanh(x)", "PyTorch, Keras", 0, {{0}},
        FNS(tanhshrink), NULL, 0, 0, NULL },
    [VP_ACT_SOFTSHRINK] = { "softshrink", "soft_shrink", "x-l if x>l, x+l if x<-l, else 0",
        "PyTorch Softshrink(0.5), Keras soft_shrink(0.5)",
        1, {{ "lambd", VP_P_NUM, 0.5, 0, BIG, NULL, "dead-zone half width" }}, FNS(softshrink), NULL, 0, 0, k_pm_p0 },
    [VP_ACT_HARDSHRINK] = { "hardshrink", "hard_shrink", "x if |x|>l else 0",
        "PyTorch Hardshrink(0.5), Keras hard_shrink(0.5)",
        1, {{ "lambd", VP_P_NUM, 0.5, 0, BIG, NULL, "dead-zone half width" }}, FNS(hardshrink), NULL, 0, 0, k_pm_p0 },
    [VP_ACT_THRESHOLD] = { "threshold", "", "x if x > threshold else value",
        "PyTorch Threshold(threshold, value), Keras threshold",
        2, {{ "threshold", VP_P_NUM, 0.0, -BIG, BIG, NULL, "cut-off" }, { "value", VP_P_NUM, 0.0, -BIG, BIG, NULL, "output below the cut-off" }},
        FNS(threshold), NULL, 0, 0, k_p0 },
    [VP_ACT_SQUAREPLUS] = { "squareplus", "", "(x + sqrt(x^2 + b))/2", "Keras/JAX squareplus(b=4)",
        1, {{ "b", VP_P_NUM, 4.0, 0, BIG, NULL, "smoothing, >= 0" }}, FNS(squareplus), NULL, 0, 0, NULL },
    [VP_ACT_SPARSE_PLUS] = { "sparse_plus", "", "0 if x<=-1, (x+1)^2/4 if |x|<1, x if x>=1", "Keras/JAX",
        0, {{0}}, FNS(sparse_plus), NULL, 0, 0, k_pm1 },
    [VP_ACT_SPARSE_SIGMOID] = { "sparse_sigmoid", "", "0 if x<=-1, (x+1)/2 if |x|<1, 1 if x>=1", "Keras/JAX",
        0, {{0}}, FNS(sparse_sigmoid), NULL, 1, 0.5, k_pm1 },
    [VP_ACT_EXPONENTIAL] = { "exponential", "exp", "exp(x)", "Keras exponential", 0, {{0}},
        FNS(exponential), NULL, 0, 0, NULL, 0, NULL, NULL },
    /* row-wise: one example's whole row at a time */
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
        .nparams = 1, .params = {{ "epsilon", VP_P_NUM, 1e-5, 0, BIG, NULL, "added to the variance" }},
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
        if (strcmp(ACT_TABLE[k].name, name) == 0 || vp_choice_index(ACT_TABLE[k].aliases, name) >= 0)
            return (vp_act_kind)k;
    return VP_ACT_COUNT;
}

vp_act vp_act_default(vp_act_kind k)
{
    vp_act a = { k, {0} };
    const vp_act_info *info = vp_act_get(k);
    for (int i = 0; i < info->nparams; i++) a.p[i] = info->params[i].def;
    return a;
}

void vp_act_label(const vp_act *a, char *buf, size_t len)
{
    const vp_act_info *info = vp_act_get(a->kind);
    size_t used = (size_t)snprintf(buf, len, "%s", info->name);
    int first = 1;
    for (int i = 0; i < info->nparams && used < len; i++) {
        if (a->p[i] == info->params[i].def) continue;
        char v[64];
        vp_param_format(&info->params[i], a->p[i], v, sizeof v);
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", first ? "(" : ",", info->params[i].name, v);
        first = 0;
    }
    if (!first && used < len) snprintf(buf + used, len - used, ")");
}
