/* act_scalar: the formulas of the elementwise activations -- one pair of static
 * inline scalar functions NAME_f / NAME_df (double precision) per row of the act
 * registry, and the shared pieces (stable logistic, softplus). Internal to the
 * act module: act.c turns each pair into the registry's scalar functions and
 * fused array kernels (ACT_KERNELS), act_rowwise.c takes the logistic for GLU,
 * so the table, the theory module and the fast path all use the same math.
 * Formulas: PyTorch torch/nn/modules/activation.py and its autograd
 * derivatives, Keras 3 keras/src/activations, JAX jax/_src/nn/functions.py (see
 * docs/reference/initializers.md §4).
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
 * act_kernels.fused_equal_scalar). */
#ifndef VP_ACT_SCALAR_H
#define VP_ACT_SCALAR_H

#include <math.h>

#include "core/normal.h"
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
 * with nothing computed after them, and vectorize as they are.
 *
 * NaN in, NaN out, for phi and phi' alike: a NaN pre-activation is an overflow
 * upstream, and a statistic it reaches must say so (README "What is measured").
 * Every comparison with NaN is false, so a case split that ends in a constant
 * (relu's 0, threshold's value, a clamp's flat derivative) would turn NaN into a
 * number; those rows pass the input through with keep_nan, and the splits that
 * end in the input or in arithmetic on it (NaN already) need nothing. For every
 * other input keep_nan returns its second argument unchanged, so finite and
 * infinite inputs give the same bits as without it (tests/test_nonfinite.c). */

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
/* y, or x itself when x is NaN (x != x only for NaN). */
ACT_INLINE double keep_nan(double x, double y) { return vm_select(x != x, x, y); }

/* ---- piecewise-linear family ---- */
ACT_INLINE double identity_f(double x, const double *p) { UNUSED(p); return x; }
ACT_INLINE double identity_df(double x, const double *p) { UNUSED(p); UNUSED(x); return 1.0; }
/* !(x <= 0) is x > 0 or NaN: the input passes, and max(0, NaN) is NaN. */
ACT_INLINE double relu_f(double x, const double *p) { UNUSED(p); return !(x <= 0) ? x : 0.0; }
ACT_INLINE double relu_df(double x, const double *p) { UNUSED(p); return keep_nan(x, x > 0 ? 1.0 : 0.0); }
/* relu6 = hardtanh(x, 0, 6): gradient 1 strictly inside (0, 6). */
ACT_INLINE double relu6_f(double x, const double *p) { UNUSED(p); return vm_select(x <= 0, 0.0, vm_select(x >= 6, 6.0, x)); }
ACT_INLINE double relu6_df(double x, const double *p) { UNUSED(p); return keep_nan(x, vm_select((x > 0) & (x < 6), 1.0, 0.0)); }
/* leaky_relu / prelu (at its initial slope) / rrelu (eval mode, slope (l+u)/2). */
ACT_INLINE double leaky_relu_f(double x, const double *p) { return vm_select(x > 0, x, p[0] * x); }
ACT_INLINE double leaky_relu_df(double x, const double *p) { return keep_nan(x, vm_select(x > 0, 1.0, p[0])); }
/* rrelu's evaluation-mode slope (lower + upper)/2 (the registry's slopes too). */
ACT_INLINE double rrelu_slope(const double *p) { return 0.5 * (p[0] + p[1]); }
ACT_INLINE double rrelu_f(double x, const double *p) { return vm_select(x > 0, x, rrelu_slope(p) * x); }
ACT_INLINE double rrelu_df(double x, const double *p) { return keep_nan(x, vm_select(x > 0, 1.0, rrelu_slope(p))); }

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
    return 0.5 * vm_erfc(-x * M_SQRT1_2) + x * vm_exp(-0.5 * x * x) * VP_INV_SQRT_2PI;
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
ACT_INLINE double hard_sigmoid_df(double x, const double *p)
{
    UNUSED(p);
    return keep_nan(x, vm_select((x > -3) & (x < 3), 1.0 / 6.0, 0.0));
}
/* PyTorch Hardswish; its backward uses x/3 + 1/2 on [-3, 3] (closed at 3). */
ACT_INLINE double hard_swish_f(double x, const double *p)
{
    UNUSED(p);
    return vm_select(x <= -3, 0.0, vm_select(x >= 3, x, x * (x + 3.0) / 6.0));
}
ACT_INLINE double hard_swish_df(double x, const double *p)
{
    UNUSED(p);
    return keep_nan(x, vm_select(x < -3, 0.0, vm_select(x <= 3, x / 3.0 + 0.5, 1.0)));
}

/* ---- tanh family ---- */
ACT_INLINE double tanh_f(double x, const double *p) { UNUSED(p); return vm_tanh(x); }
ACT_INLINE double tanh_df(double x, const double *p) { UNUSED(p); double t = vm_tanh(x); return 1.0 - t * t; }
ACT_INLINE double hard_tanh_f(double x, const double *p) { return vm_select(x < p[0], p[0], vm_select(x > p[1], p[1], x)); }
ACT_INLINE double hard_tanh_df(double x, const double *p) { return keep_nan(x, vm_select((x > p[0]) & (x < p[1]), 1.0, 0.0)); }
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
    return keep_nan(x, vm_select(x > p[0], x - p[0], vm_select(x < -p[0], x + p[0], 0.0)));
}
ACT_INLINE double softshrink_df(double x, const double *p) { return keep_nan(x, vm_select((x > p[0]) | (x < -p[0]), 1.0, 0.0)); }
/* !(-l <= x <= l) is |x| > l or NaN: the input passes. */
ACT_INLINE double hardshrink_f(double x, const double *p) { return !(x >= -p[0] && x <= p[0]) ? x : 0.0; }
ACT_INLINE double hardshrink_df(double x, const double *p) { return keep_nan(x, (x > p[0] || x < -p[0]) ? 1.0 : 0.0); }
ACT_INLINE double threshold_f(double x, const double *p) { return vm_select(x <= p[0], p[1], x); }
ACT_INLINE double threshold_df(double x, const double *p) { return keep_nan(x, vm_select(x > p[0], 1.0, 0.0)); }

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
ACT_INLINE double sparse_sigmoid_df(double x, const double *p) { UNUSED(p); return keep_nan(x, vm_select((x > -1) & (x < 1), 0.5, 0.0)); }
ACT_INLINE double exponential_f(double x, const double *p) { UNUSED(p); return vm_exp(x); }
ACT_INLINE double exponential_df(double x, const double *p) { UNUSED(p); return vm_exp(x); }

#endif
