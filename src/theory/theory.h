/* theory: mean-field signal propagation through deep MLPs at initialization.
 *
 * Infinite-width theory of Poole et al. 2016 and Schoenholz et al. 2017 (see
 * docs/reference/papers.md §4) for every elementwise activation of the act
 * registry: the length map q -> q', the covariance/correlation map, chi_1, the
 * fixed points q* and c*, the depth scales xi_q and xi_c, the order/chaos phase,
 * the critical line chi_1 = 1, the layer-by-layer predictions for a concrete
 * finite network, and the gains. The Gaussian expectations E_z[g(sqrt(q) z)]
 * these are built from are expect.h's (closed forms and quadrature), the
 * quadrature rules and the root finder quad.h's; this header includes both, so
 * callers of the theory need only theory.h.
 *
 * Conventions: q is a variance (E[z^2] of a pre-activation); sigma_w2 is
 * fan_in * Var[W]; sigma_b2 is Var[b]. Derivatives at kinks never matter (measure
 * zero) except in the q -> 0 limits, which are taken as one-sided averages.
 *
 * No global state; a vp_theory_ctx (expect.h) may be shared between threads.
 * Every function that can fail returns a vp_status and writes a message into
 * the caller's vp_err.
 */
#ifndef VP_THEORY_H
#define VP_THEORY_H

#include "base/err.h"
#include "core/act.h"
#include "theory/expect.h"
#include "theory/quad.h"

/* |chi_1 - 1| <= this counts as critical (expectations are good to ~1e-12). */
#define VP_THEORY_CRIT_TOL 1e-8

/* ---- maps ---- */

/* Length map q' = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2. */
vp_status vp_theory_qmap(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                         double sigma_b2, double q, double *q_next, vp_err *err);

/* Correlation map at equal lengths q: c' = (sigma_w2 E[phi(u1)phi(u2)] + sigma_b2)/q'
 * with q' = qmap(q) (so c' = 1 at c = 1 for any q). */
vp_status vp_theory_cmap(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                         double sigma_b2, double q, double c, double *c_next, vp_err *err);

/* chi_1 = sigma_w2 E[phi'(sqrt(q) z)^2]. */
vp_status vp_theory_chi1(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                         double q, double *chi1, vp_err *err);

/* q* = lim_l q^l of the length map started at q^0 = q0 >= 0 (for a multistable
 * map, the attractor of q0). Iteration with safeguarded Newton acceleration.
 * q* = 0 exactly when q^l -> 0 (only possible with sigma_b2 = 0, phi(0) = 0).
 * If the map is the identity (homogeneous phi at its critical sigma_w2 with
 * sigma_b2 = 0) every q is fixed and q* = q0. A map that diverges (q^l -> inf,
 * e.g. relu with sigma_w2 > 2, exponential with large sigma_w2) or does not
 * converge gives VP_ERR_NUMERIC. */
vp_status vp_theory_qstar(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                          double sigma_b2, double q0, double *q_star, vp_err *err);

/* ---- analysis of one (sigma_w2, sigma_b2) point ---- */

typedef enum { VP_PHASE_ORDERED, VP_PHASE_CRITICAL, VP_PHASE_CHAOTIC, VP_PHASE_COUNT } vp_theory_phase;

/* "ordered", "critical", "chaotic". */
const char *vp_theory_phase_name(vp_theory_phase ph);

typedef struct {
    double sigma_w2, sigma_b2, q0;
    double q_star;   /* fixed point of the length map reached from q0 */
    double chi1;     /* sigma_w2 E[phi'(sqrt(q*) z)^2] */
    double qslope;   /* slope of the length map at q* */
    double xi_q;     /* -1/log|qslope|; +inf when |qslope| >= 1 (algebraic approach) */
    double c_star;   /* 1 in the ordered/critical phase; the stable c* < 1 when chaotic */
    double chi_c;    /* sigma_w2 E[phi'(u1*) phi'(u2*)] at (q*, c*); = chi1 when c* = 1 */
    double xi_c;     /* -1/log chi_c; +inf at criticality */
    vp_theory_phase phase; /* chi1 < 1 - tol ordered, > 1 + tol chaotic, else critical */
} vp_theory_point;

/* Fixed points, chi_1, depth scales and phase at (sigma_w2, sigma_b2) starting
 * from q0 (the CLI uses q0 = 1). For a homogeneous phi (identity, the ReLU family)
 * whose length map diverges (k = sigma_w2 (a^2+b^2)/2 > 1, or k = 1 with sigma_b2 > 0)
 * the point is still known: q_star = +inf, chi1 = qslope = k (the same at every q),
 * xi_q from k, the phase from chi1, and c_star, chi_c, xi_c NaN (no fixed point of the
 * correlation map at finite q). Otherwise VP_ERR_NUMERIC if q* does not exist (see
 * vp_theory_qstar) or c* cannot be found. */
vp_status vp_theory_analyze(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                            double sigma_b2, double q0, vp_theory_point *out, vp_err *err);

/* ---- critical line ---- */

/* The point of the critical line chi_1 = 1 at bias variance sigma_b2 >= 0:
 * on it sigma_w2 = 1/E[phi'(sqrt(q*) z)^2] and q* = sigma_w2 E[phi(sqrt(q*) z)^2]
 * + sigma_b2 (papers.md §4, ghliu/brain-research `sw_sb`), so q* is the smallest
 * root q >= sigma_b2 of q - E[phi^2]/E[phi'^2] - sigma_b2. With sigma_b2 = 0 and
 * phi(0) = 0 that root is q* = 0 and sigma_w2 = 1/phi'(0)^2 (the q -> 0 limit,
 * e.g. tanh: 1). For homogeneous phi (identity, relu family) chi_1 does not
 * depend on q: sigma_w2 = 1/E[phi'(z)^2], and q* is NAN ("every q", sigma_b2 = 0)
 * or +INFINITY (the length map diverges, sigma_b2 > 0).
 * VP_ERR_NUMERIC with a reason if chi_1 = 1 is unreachable at this sigma_b2. */
vp_status vp_theory_critical(const vp_theory_ctx *ctx, const vp_act *act, double sigma_b2,
                             double *sigma_w2, double *q_star, vp_err *err);

/* ---- predictions for a finite network ---- */

/* Per-layer mean-field predictions for an MLP with h^0 = x, z^l = h^{l-1} W^lT + b^l,
 * h^l = phi(z^l), W^l of shape [n_l, n_{l-1}] with zero-mean entries of variance
 * sigma_w2[l-1]/n_{l-1}, b^l of variance sigma_b2[l-1], input entries with
 * E[x^2] = q0, and a backward probe dL/dh^L = g ~ N(0,1) iid:
 *   q^1 = sigma_w2(1) q0 + sigma_b2(1),  q^l = sigma_w2(l) E[phi(sqrt(q^{l-1}) z)^2] + sigma_b2(l)
 *   chi^l = sigma_w2(l) E[phi'(sqrt(q^l) z)^2]   (chi_1 at a fixed point; the mean
 *           squared singular value of D^l W^l)
 *   E[(dL/dz^L)^2] = E[phi'(sqrt(q^L) z)^2]
 *   E[(dL/dh^{l-1})^2] = sigma_w2(l) (n_l/n_{l-1}) E[(dL/dz^l)^2]
 *   E[(dL/dz^{l-1})^2] = E[(dL/dh^{l-1})^2] E[phi'(sqrt(q^{l-1}) z)^2]
 * widths: n_0..n_L (L+1 entries); sigma_w2, sigma_b2, pre_var, grad_pre_var, chi: L
 * entries (chi may be NULL). pre_var[l-1] = q^l = E[(z^l)^2]; grad_pre_var[l-1] =
 * E[(dL/dz^l)^2]; chi[l-1] = chi^l. q^l is carried to the bottom of the double range:
 * a value that underflows (below DBL_MIN, where it would have lost its precision) is
 * 0, never a floor; values may overflow to +inf for exploding maps. Neither is an error.
 * ctx may be NULL (then the quadrature rules are made for this call).
 * VP_ERR_NUMERIC when an expectation cannot be computed to accuracy at some layer: the
 * arrays then hold every prediction that could be made (q^l up to that layer, chi^l
 * where E[phi'^2] is known, the gradients only when every layer's is) and NaN elsewhere,
 * and the message names the layer. */
vp_status vp_theory_layer_predictions(const vp_theory_ctx *ctx, const vp_act *act, int L, const int *widths,
                                      const double *sigma_w2, const double *sigma_b2, double q0,
                                      double *pre_var, double *grad_pre_var, double *chi, vp_err *err);

/* The correlation map iterated through a finite network (papers.md §4): inputs with
 * E[x^2] = q0 and pairwise correlation c0, lengths q^l = pre_var[l-1] (from
 * vp_theory_layer_predictions), then
 *   c^1 = (sigma_w2(1) q0 c0 + sigma_b2(1)) / (sigma_w2(1) q0 + sigma_b2(1))
 *   c^l = cmap(q^{l-1}, c^{l-1}) = (sigma_w2(l) E[phi(u1) phi(u2)] + sigma_b2(l)) / q^l
 * corr[l-1] = c^l (L entries); NaN from the first layer where q^l is not a positive
 * finite number or the expectation cannot be computed (VP_ERR_NUMERIC then, the
 * message naming the layer; the entries before it stand). ctx may be NULL. */
vp_status vp_theory_corr_predictions(const vp_theory_ctx *ctx, const vp_act *act, int L, const double *sigma_w2,
                                     const double *sigma_b2, double q0, double c0, const double *pre_var,
                                     double *corr, vp_err *err);

/* ---- gains ---- */

typedef struct {
    double torch;          /* PyTorch calculate_gain; NAN where PyTorch raises */
    double var_preserving; /* 1/sqrt(E[phi(z)^2]) at q = 1: E[h^2] fixed with zero bias */
    double critical;       /* sqrt(sigma_w2) on the critical line at sigma_b2 = 0; NAN if none */
    double critical_q_star;/* its q* (see vp_theory_critical); NAN if none or "any q" */
} vp_theory_gains;

/* All three gains of act. A missing critical gain is not an error (NAN). */
vp_status vp_theory_gains_of(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_gains *out,
                             vp_err *err);

/* The gain used for "gain": "auto": PyTorch's calculate_gain when PyTorch has
 * one for act, else the variance-preserving gain. */
vp_status vp_theory_auto_gain(const vp_act *act, double *gain, vp_err *err);

/* The gain used for "gain": "critical": sqrt(sigma_w2) on the critical line
 * chi_1 = 1 at sigma_b2 = 0 (tanh 1, relu sqrt 2). VP_ERR_NUMERIC with a message
 * when act never reaches chi_1 = 1 there (e.g. gelu). */
vp_status vp_theory_critical_gain(const vp_act *act, double *gain, vp_err *err);

#endif
