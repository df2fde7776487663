/* act: the activation registry -- one row per activation.
 *
 * Each row carries every property of its activation: the canonical name (CSV
 * label, config spelling), aliases, the formula as text, its parameters with
 * defaults and ranges and the rule among them (check), the scalar function and
 * derivative (double precision, used by theory and tests), fused array kernels
 * (h = phi(z) and phi'(z) in one pass, float and double), the PyTorch
 * calculate_gain value where PyTorch has one (the kaiming initializers' gain
 * too), and metadata used by the statistics (boundedness, peak slope) and the
 * theory module (kink locations, the slopes of the positively homogeneous rows,
 * the log-normal row). No other module restates a row's property in a case list.
 *
 * Semantics follow PyTorch (torch/nn/modules/activation.py) where PyTorch has the
 * activation, including its derivative conventions at kinks (e.g. relu'(0) = 0);
 * Keras/JAX variants are reachable through parameters (see docs/registry.md).
 * The formulas are in act_scalar.h, the row-wise activations in act_rowwise.c.
 * The table is static const: no state, safe to share between threads.
 */
#ifndef VP_ACT_H
#define VP_ACT_H

#include <stddef.h>
#include "base/err.h"
#include "base/param.h"

#define VP_ACT_MAX_PARAMS 3

typedef enum {
    VP_ACT_IDENTITY, VP_ACT_RELU, VP_ACT_RELU6, VP_ACT_LEAKY_RELU, VP_ACT_PRELU,
    VP_ACT_RRELU, VP_ACT_ELU, VP_ACT_CELU, VP_ACT_SELU, VP_ACT_GELU, VP_ACT_GELU_TANH,
    VP_ACT_SILU, VP_ACT_MISH, VP_ACT_SIGMOID, VP_ACT_LOG_SIGMOID, VP_ACT_HARD_SIGMOID,
    VP_ACT_HARD_SWISH, VP_ACT_TANH, VP_ACT_HARD_TANH, VP_ACT_SOFTPLUS, VP_ACT_SOFTSIGN,
    VP_ACT_TANHSHRINK, VP_ACT_SOFTSHRINK, VP_ACT_HARDSHRINK, VP_ACT_THRESHOLD,
    VP_ACT_SQUAREPLUS, VP_ACT_SPARSE_PLUS, VP_ACT_SPARSE_SIGMOID, VP_ACT_EXPONENTIAL,
    /* row-wise (not elementwise): */
    VP_ACT_GLU, VP_ACT_SOFTMAX, VP_ACT_LOG_SOFTMAX, VP_ACT_SOFTMIN, VP_ACT_STANDARDIZE, VP_ACT_SPARSEMAX,
    VP_ACT_COUNT
} vp_act_kind;

typedef double (*vp_scalar_fn)(double x, const double *p);

/* Row-wise activations act on one example's whole pre-activation row: h = F(z),
 * z of in_per_out * n entries for n outputs (GLU halves the width: 2). The backward
 * is the vector-Jacobian product gz = J_F(z)^T gh. Double precision, one row. */
typedef void (*vp_row_fwd)(const double *z, double *h, size_t n, const double *p);
typedef void (*vp_row_bwd)(const double *z, const double *h, const double *gh, double *gz, size_t n,
                           const double *p);

/* Fused kernels: h[i] = phi(z[i]), d[i] = phi'(z[i]). d may alias z (in place). */
typedef void (*vp_act_kernel_f32)(const float *z, float *h, float *d, size_t n, const double *p);
typedef void (*vp_act_kernel_f64)(const double *z, double *h, double *d, size_t n, const double *p);

typedef struct {
    const char *name;      /* canonical name: config spelling and CSV label */
    const char *aliases;   /* space-separated other accepted names, "" if none */
    const char *formula;   /* phi(x) as text */
    const char *origin;    /* which library/paper defines it, defaults' source */
    int nparams;
    vp_param params[VP_ACT_MAX_PARAMS]; /* all VP_P_NUM */
    vp_scalar_fn f;        /* phi(x) */
    vp_scalar_fn df;       /* phi'(x), library convention at kinks */
    vp_act_kernel_f32 kernel_f32;
    vp_act_kernel_f64 kernel_f64;
    double (*torch_gain)(const double *p); /* calculate_gain; NULL where PyTorch raises */
    const char *gain_note; /* what a user of torch_gain ("gain": "auto") should know, or NULL */
    int bounded;           /* range bounded on both sides (has flat saturating regions) */
    double dpeak;          /* max |phi'| over x (bounded activations only) */
    /* Points where phi or phi' is not smooth (for piecewise quadrature); returns count. */
    int (*kinks)(const double *p, double out[4]);
    /* Row-wise activations only (f, df and the kernels are NULL for them): */
    int in_per_out;        /* pre-activations per output unit (GLU: 2); 0 means 1 */
    vp_row_fwd row_fwd;
    vp_row_bwd row_bwd;
    /* Positively homogeneous rows only (identity, the ReLU family): phi(u) = pos*u
     * for u > 0 and neg*u for u < 0; the theory has closed forms for them. */
    void (*slopes)(const double *p, double *neg, double *pos);
    int lognormal;         /* phi = phi' = e^x: Gaussian expectations are log-normal moments */
    /* Exponential-linear rows only (elu, celu, selu): phi(u) = a*u for u > 0 and
     * b*(e^{u/kappa} - 1) for u <= 0; the theory smooths phi and phi' by a Gaussian in
     * closed form (normal CDF and Mills ratio) instead of by quadrature. */
    void (*exp_linear)(const double *p, double *a, double *b, double *kappa);
    /* phi to full relative accuracy for the theory, where f (the library's formula,
     * which the kernels share) cancels near 0: tanhshrink's x - tanh(x) has a
     * relative error of about 1e-16/x^2 (1e-4 at x = 1e-6, none of its digits
     * below 1e-8). NULL: f is accurate everywhere. */
    vp_scalar_fn f_accurate;
    /* The rule among the parameters that their ranges cannot say (hard_tanh:
     * min_val < max_val): NULL if p satisfies it, else the reason, a phrase that
     * follows the row's name ("needs min_val < max_val"). NULL: no rule. */
    const char *(*check)(const double *p);
} vp_act_info;

/* 1 for the row-wise (non-elementwise) activations. */
static inline int vp_act_rowwise(const vp_act_info *a) { return a->row_fwd != NULL; }
/* Width of z for a layer of n outputs. */
static inline int vp_act_zwidth(const vp_act_info *a, int n) { return a->in_per_out > 1 ? a->in_per_out * n : n; }

/* The row for kind k (k < VP_ACT_COUNT, else abort: an internal error). Borrowed
 * pointer into a static table. */
const vp_act_info *vp_act_get(vp_act_kind k);

/* Look a name or alias up; returns VP_ACT_COUNT if unknown. */
vp_act_kind vp_act_find(const char *name);

/* Space-separated canonical names of every row in registry order, with each
 * row's aliases after its name when with_aliases (the candidates of a "did you
 * mean"). Truncated to len. */
void vp_act_names(int with_aliases, char *buf, size_t len);

/* An activation with its parameter values (defaults filled in). Plain value. */
typedef struct {
    vp_act_kind kind;
    double p[VP_ACT_MAX_PARAMS];
} vp_act;

/* Activation `k` with every parameter at its default. */
vp_act vp_act_default(vp_act_kind k);

/* Index of the row's parameter called `name`, or -1. */
int vp_act_param_index(const vp_act_info *info, const char *name);

/* The value of a's parameter called `name`; a name the row does not have is an
 * internal error (abort), so callers name parameters that exist. */
double vp_act_param(const vp_act *a, const char *name);

/* VP_OK if every parameter of a is in its range and the row's rule holds; else
 * VP_ERR_CONFIG with a message that names the row ("hard_tanh needs min_val <
 * max_val", "rrelu lower: 2 is out of range [...]"). */
vp_status vp_act_check(const vp_act *a, vp_err *err);

/* PyTorch's calculate_gain for a; NAN where PyTorch raises (no torch_gain). */
double vp_act_torch_gain(const vp_act *a);

/* 1 and the two slopes (phi(u) = pos*u above 0, neg*u below) if a's row is
 * positively homogeneous, else 0 (neg and pos untouched). */
int vp_act_slopes(const vp_act *a, double *neg, double *pos);

static inline double vp_act_f(const vp_act *a, double x) { return vp_act_get(a->kind)->f(x, a->p); }
static inline double vp_act_df(const vp_act *a, double x) { return vp_act_get(a->kind)->df(x, a->p); }

/* Label with non-default parameters, e.g. "leaky_relu(negative_slope=0.2)". */
void vp_act_label(const vp_act *a, char *buf, size_t len);

#endif
