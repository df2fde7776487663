/* expect: Gaussian expectations of an activation -- E[g(u)] over u ~ N(0, q) of
 * phi, phi^2, phi'^2, phi'^4 and the slope of the length map, and the 2-D
 * expectations E[phi(u1) phi(u2)], E[phi'(u1) phi'(u2)] over correlated pairs.
 * These are the only places the mean-field theory (theory.h) touches phi.
 *
 * Methods (docs/theory.md has the accuracy of each):
 *  - closed forms where the act registry row gives one: the positively
 *    homogeneous rows (vp_act_slopes: identity and the ReLU family, arc-cosine
 *    kernel) and the log-normal row (exponential);
 *  - smooth activations (no kinks): the trapezoid rule on a lattice (1-D, and
 *    2-D on the axis lattice or, near |c| = 1, in the pair's principal axes),
 *    accepted when its even sublattice agrees (expect.c, lattice1/lattice2); at
 *    equal lengths E[phi phi] first by Mehler's formula, sum_k a_k^2 c^k with the
 *    Hermite coefficients a_k from one 1-D lattice and a certified truncation
 *    (mehler.c, vp_theory_mehler);
 *    else Gauss-Hermite quadrature (quad.h), accepted only when the 96- and
 *    48-node rules agree to 1e-12 relative and q <= 4; else the adaptive rule below;
 *  - the exponential-linear rows (elu, celu, selu; the registry's exp_linear): the
 *    1-D moments in closed form, and the 2-D expectations' inner integral in closed
 *    form (normal CDF, Mills ratio), the outer adaptive -- both where the
 *    exponential's scale lam sqrt(q) keeps them from cancelling, else as below;
 *  - piecewise activations (and the smooth fallback): adaptive Gauss-Kronrod
 *    (quad.h) on z in [-12, 12], with breakpoints at the kinks, at 0 and on the
 *    activation's own length scale, to ~1e-13 relative.
 *
 * Ownership: vp_theory_ctx is a plain value (no heap memory, nothing to free),
 * filled once by vp_theory_ctx_init and then only read, so one ctx may be
 * shared between threads. No global state.
 */
#ifndef VP_EXPECT_H
#define VP_EXPECT_H

#include "base/err.h"
#include "core/act.h"
#include "theory/quad.h"

#define VP_THEORY_GH_N 96   /* main Gauss-Hermite order */
#define VP_THEORY_GH_N2 48  /* check order: rules must agree to accept GH */

/* ---- context ---- */

typedef struct {
    int n, n2;                        /* VP_THEORY_GH_N and VP_THEORY_GH_N2 */
    double x[VP_GH_MAX], w[VP_GH_MAX];   /* main rule */
    double x2[VP_GH_MAX], w2[VP_GH_MAX]; /* check rule */
    /* 0 (default): closed forms where available. 1: always integrate
     * numerically (used by the tests to validate the quadrature). */
    int force_quadrature;
    /* 0 (default): smooth activations first try the lattice (trapezoid) rule.
     * 1: skip it (the tests compare it with Gauss-Hermite / Gauss-Kronrod). */
    int no_lattice;
    /* 0 (default): E[phi(u1) phi(u2)] at equal lengths tries Mehler's formula first.
     * 1: skip it (the tests compare it with the 2-D lattice). */
    int no_mehler;
    /* 0 (default): the 2-D expectations of the exponential-linear rows (elu, celu,
     * selu) take their inner integral in closed form. 1: by quadrature (the tests
     * compare). */
    int no_semi_closed;
} vp_theory_ctx;

/* Compute the quadrature rules into ctx (a caller-owned value). */
vp_status vp_theory_ctx_init(vp_theory_ctx *ctx, vp_err *err);

/* VP_OK if the theory covers act (an elementwise activation), else VP_ERR_USAGE
 * naming it: the row-wise ones (softmax family, GLU) have no mean-field map here. */
vp_status vp_theory_check_act(const vp_act *act, vp_err *err);

/* ---- Gaussian expectations ---- */

/* One-dimensional expectations over u = sqrt(q) z, z ~ N(0,1). */
typedef enum {
    VP_EXP_PHI,    /* E[phi(u)] */
    VP_EXP_PHI2,   /* E[phi(u)^2] */
    VP_EXP_DPHI2,  /* E[phi'(u)^2] (mu_1 of Pennington et al.) */
    VP_EXP_DPHI4,  /* E[phi'(u)^4] (mu_2) */
    VP_EXP_SLOPE,  /* d/dq E[phi(u)^2] = E[phi(u) phi'(u) z] / sqrt(q) (Stein) */
    VP_EXP_COUNT
} vp_theory_exp1;

/* E over u ~ N(0, q), q >= 0. Every q >= DBL_MIN is computed as it is, down to the
 * bottom of the normal double range (results that underflow are 0); q = 0, and a
 * subnormal q, give the q -> 0+ limit (one-sided averages at a kink at 0). phi is the registry's f_accurate where the
 * row has one (f cancels near 0), else f. */
vp_status vp_theory_expect(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_exp1 kind,
                           double q, double *out, vp_err *err);

/* out[k] = vp_theory_expect(kinds[k]) for k < nk (nk <= VP_EXP_COUNT), the same
 * bits, with phi and phi' evaluated once on the shared lattice nodes where that
 * rule applies. On failure the first failing kind's status and message. */
vp_status vp_theory_expect_many(const vp_theory_ctx *ctx, const vp_act *act, double q, int nk,
                                const vp_theory_exp1 *kinds, double *out, vp_err *err);

/* Two-dimensional expectations over u1 = sqrt(q_aa) z1,
 * u2 = sqrt(q_bb) (c z1 + sqrt(1-c^2) z2), z1, z2 iid N(0,1). */
typedef enum {
    VP_EXP2_PHIPHI,    /* E[phi(u1) phi(u2)] */
    VP_EXP2_DPHIDPHI,  /* E[phi'(u1) phi'(u2)] */
    VP_EXP2_COUNT
} vp_theory_exp2;

/* q_aa, q_bb >= 0, c in [-1, 1]. */
vp_status vp_theory_expect2(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_exp2 kind,
                            double q_aa, double q_bb, double c, double *out, vp_err *err);

/* E[phi(u1) phi(u2)] at one length q for many c (a root search over c): the Hermite
 * coefficients of phi at q (Mehler's formula, mehler.c) are computed once, with the
 * step that serves every c, and extended as the correlations ask. Owned by the caller
 * (vp_theory_mehler_free); used by one thread at a time (evaluation extends it).
 * vp_theory_mehler_new returns NULL -- no error: vp_theory_mehler_phiphi then calls
 * vp_theory_expect2 -- where the rule does not apply (closed forms, kinks, the ctx's
 * switches, too many nodes) or memory is short. */
typedef struct vp_theory_mehler vp_theory_mehler;
vp_theory_mehler *vp_theory_mehler_new(const vp_theory_ctx *ctx, const vp_act *act, double q);
void vp_theory_mehler_free(vp_theory_mehler *mh);
/* The rule alone: 0 with *out = E[phi(u1) phi(u2)] at mh's q and correlation c when
 * the series certifies (its truncation bound and the even sublattice), -1 otherwise
 * (|c| near 1 with slowly decaying coefficients, or mh NULL). */
int vp_theory_mehler_eval(vp_theory_mehler *mh, double c, double *out);
/* mh's q (NAN for NULL). */
double vp_theory_mehler_q(const vp_theory_mehler *mh);
/* vp_theory_expect2(VP_EXP2_PHIPHI, q, q, c) to the same accuracy: through mh where its
 * q is q and the series certifies at c, else vp_theory_expect2 itself. */
vp_status vp_theory_mehler_phiphi(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_mehler *mh, double q,
                                  double c, double *out, vp_err *err);

#endif
