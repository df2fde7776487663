/* theory: see theory.h. Mean-field equations of Poole et al. 2016 / Schoenholz
 * et al. 2017 (docs/reference/papers.md §4), Jacobian moments of Pennington
 * et al. 2017 (§5). The Gaussian expectations are expect.h's, the root finding
 * quad.h's. docs/theory.md has the derivations, conventions and measured accuracy. */
#include "theory/theory.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

/* Fixed-point controls. */
#define QSTAR_MAXIT 20000
#define QSTAR_RTOL 1e-13
#define QSTAR_BIG 1e100   /* q^l beyond this: the length map diverges */
#define QSTAR_SNAP 1e-9   /* q^l < SNAP * max(q0, 1) heading to 0: q* = 0 */

/* ---- maps ---- */

static vp_status check_sigmas(double sw, double sb, vp_err *err)
{
    if (!(sw >= 0) || !isfinite(sw) || !(sb >= 0) || !isfinite(sb))
        return vp_fail(err, VP_ERR_USAGE, "theory: sigma_w2 = %g and sigma_b2 = %g must be finite and >= 0", sw, sb);
    return VP_OK;
}

vp_status vp_theory_qmap(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                         double sigma_b2, double q, double *q_next, vp_err *err)
{
    vp_status st = check_sigmas(sigma_w2, sigma_b2, err);
    double e = 0.0;
    if (st == VP_OK) st = vp_theory_expect(ctx, act, VP_EXP_PHI2, q, &e, err);
    if (st == VP_OK) *q_next = sigma_w2 * e + sigma_b2;
    return st;
}

vp_status vp_theory_cmap(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                         double sigma_b2, double q, double c, double *c_next, vp_err *err)
{
    double qn = 0.0, e = 0.0;
    vp_status st = vp_theory_qmap(ctx, act, sigma_w2, sigma_b2, q, &qn, err);
    if (st == VP_OK) st = vp_theory_expect2(ctx, act, VP_EXP2_PHIPHI, q, q, c, &e, err);
    if (st != VP_OK) return st;
    if (!(qn > 0)) return vp_fail(err, VP_ERR_NUMERIC, "theory: correlation undefined: next length is %g", qn);
    *c_next = (sigma_w2 * e + sigma_b2) / qn;
    return VP_OK;
}

vp_status vp_theory_chi1(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                         double q, double *chi1, vp_err *err)
{
    vp_status st = check_sigmas(sigma_w2, 0.0, err);
    double e = 0.0;
    if (st == VP_OK) st = vp_theory_expect(ctx, act, VP_EXP_DPHI2, q, &e, err);
    if (st == VP_OK) *chi1 = sigma_w2 * e;
    return st;
}

/* ---- fixed point of the length map ---- */

typedef struct {
    const vp_theory_ctx *ctx;
    const vp_act *act;
    double sw, sb;
} qarg;

static vp_status q_resid(void *v, double q, double *f, vp_err *err)
{
    const qarg *r = v;
    double qn = 0.0;
    vp_status st = vp_theory_qmap(r->ctx, r->act, r->sw, r->sb, q, &qn, err);
    *f = qn - q;
    return st;
}

static vp_status q_diverges(const vp_act *act, double sw, double sb, double q0, const char *why, vp_err *err)
{
    char lab[128];
    vp_act_label(act, lab, sizeof lab);
    return vp_fail(err, VP_ERR_NUMERIC,
                   "%s at sigma_w2 = %g, sigma_b2 = %g: the length map diverges from q0 = %g (%s); "
                   "no finite fixed point q*", lab, sw, sb, q0, why);
}

/* Homogeneous phi (identity, the ReLU family): the length map is affine, q' = k q + sb
 * with k = sw (a^2+b^2)/2 (= chi_1 at every q). 1 and *k if act is homogeneous; then
 * *q_star is the fixed point q0 reaches, or +inf when the map diverges from q0
 * (k > 1, or k = 1 with sb > 0). */
static int affine_qstar(const vp_act *act, double sw, double sb, double q0, double *k, double *q_star)
{
    double a, b;
    if (!vp_act_slopes(act, &a, &b)) return 0;
    *k = sw * 0.5 * (a * a + b * b);
    if (*k < 1.0 - 4 * DBL_EPSILON) *q_star = sb / (1.0 - *k);
    else if (sb == 0.0 && (fabs(*k - 1.0) <= 4 * DBL_EPSILON || q0 == 0.0)) *q_star = q0;
    else *q_star = INFINITY;
    return 1;
}

vp_status vp_theory_qstar(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                          double sigma_b2, double q0, double *q_star, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st == VP_OK) st = check_sigmas(sigma_w2, sigma_b2, err);
    if (st != VP_OK) return st;
    if (!(q0 >= 0) || !isfinite(q0)) return vp_fail(err, VP_ERR_USAGE, "theory: q0 = %g must be finite and >= 0", q0);
    double sw = sigma_w2, sb = sigma_b2;

    double k, qaff;
    if (affine_qstar(act, sw, sb, q0, &k, &qaff)) {
        if (isfinite(qaff)) { *q_star = qaff; return VP_OK; }
        return q_diverges(act, sw, sb, q0, k > 1.0 ? "geometric growth, slope > 1" : "linear growth: slope 1 with sigma_b2 > 0", err);
    }

    const vp_act_info *info = vp_act_get(act->kind);
    int zero_fixed = sb == 0.0 && info->f(0.0, act->p) == 0.0; /* q = 0 is a fixed point */
    if (zero_fixed && q0 == 0.0) { *q_star = 0.0; return VP_OK; }
    qarg qa = { ctx, act, sw, sb };
    double q = q0, F;
    if ((st = q_resid(&qa, q, &F, err)) != VP_OK) return st;
    for (int it = 0; it < QSTAR_MAXIT; it++) {
        double Qq = q + F;
        if (!isfinite(Qq) || Qq > QSTAR_BIG) return q_diverges(act, sw, sb, q0, "q^l exceeds 1e100", err);
        if (zero_fixed && F <= 0 && q <= QSTAR_SNAP * fmax(q0, 1.0)) { *q_star = 0.0; return VP_OK; }
        if (fabs(F) <= QSTAR_RTOL * fmax(q, Qq)) { *q_star = Qq; return VP_OK; }
        /* Newton on F(q) = Q(q) - q with the exact slope Q'(q) (no phi'' needed);
         * used only where it moves further than plain iteration in the same
         * direction. Any sign change of F brackets a root: finish by bracketing. */
        double S = 0.0, qn = Qq;
        if ((st = vp_theory_expect(ctx, act, VP_EXP_SLOPE, q, &S, err)) != VP_OK) return st;
        S *= sw;
        if (S < 1.0 - 1e-9) {
            double qN = q + F / (1.0 - S);
            if (isfinite(qN) && qN >= 0 && fabs(qN - q) > fabs(F)) qn = qN;
        }
        double Fn;
        if ((st = q_resid(&qa, qn, &Fn, err)) != VP_OK) return st;
        if (Fn != 0.0 && (Fn > 0) != (F > 0)) {
            double lo = fmin(q, qn), hi = fmax(q, qn), flo = q < qn ? F : Fn, fhi = q < qn ? Fn : F;
            return vp_root_bracket(q_resid, &qa, lo, hi, flo, fhi, 1e-15, 1e-300, q_star, err);
        }
        if (Fn == 0.0) { *q_star = qn; return VP_OK; }
        q = qn, F = Fn;
    }
    char lab[128];
    vp_act_label(act, lab, sizeof lab);
    return vp_fail(err, VP_ERR_NUMERIC,
                   "%s at sigma_w2 = %g, sigma_b2 = %g: the length map did not converge within %d "
                   "iterations from q0 = %g (q = %g, still %s): too close to a marginal fixed point "
                   "or diverging slowly", lab, sw, sb, QSTAR_MAXIT, q0, q, F > 0 ? "growing" : "shrinking");
}

/* ---- analysis ---- */

const char *vp_theory_phase_name(vp_theory_phase ph)
{
    switch (ph) {
    case VP_PHASE_ORDERED: return "ordered";
    case VP_PHASE_CRITICAL: return "critical";
    case VP_PHASE_CHAOTIC: return "chaotic";
    case VP_PHASE_COUNT: break;
    }
    return "unknown";
}

/* The correlation map at the fixed length q = q* as a function of c alone: its next
 * length qn = Q(q*) once, and E[phi phi](c) through one set of Hermite coefficients
 * at q* (vp_theory_mehler; NULL: vp_theory_expect2 every time). */
typedef struct {
    const vp_theory_ctx *ctx;
    const vp_act *act;
    double sw, sb, q, qn;
    vp_theory_mehler *mh;
} carg;

static vp_status c_resid(void *v, double c, double *f, vp_err *err)
{
    const carg *r = v;
    double e = 0.0;
    vp_status st = vp_theory_mehler_phiphi(r->ctx, r->act, r->mh, r->q, c, &e, err);
    *f = (r->sw * e + r->sb) / r->qn - c;
    return st;
}

/* c* of the chaotic phase at q*: the root of c_resid in [0, 1) (see the caller). */
static vp_status chaotic_c_star(carg *ca, double *c_star, int *at_one, vp_err *err)
{
    double g0;
    vp_status st;
    *at_one = 0;
    if ((st = c_resid(ca, 0.0, &g0, err)) != VP_OK) return st;
    if (g0 <= 0.0) {
        *c_star = 0.0;
        return VP_OK;
    }
    double hi = NAN, ghi = 0.0;
    for (double d = 0.5; d >= 1e-12; d *= 0.1) {
        if ((st = c_resid(ca, 1.0 - d, &ghi, err)) != VP_OK) return st;
        if (ghi < 0) { hi = 1.0 - d; break; }
    }
    if (isnan(hi)) {
        *at_one = 1; /* within ~1e-6 of criticality the root cannot be separated from 1 */
        return VP_OK;
    }
    return vp_root_bracket(c_resid, ca, 0.0, hi, g0, ghi, 1e-14, 1e-15, c_star, err);
}

/* ordered / critical / chaotic by chi_1 (VP_THEORY_CRIT_TOL). */
static vp_theory_phase phase_of(double chi1)
{
    return chi1 < 1.0 - VP_THEORY_CRIT_TOL ? VP_PHASE_ORDERED
         : chi1 > 1.0 + VP_THEORY_CRIT_TOL ? VP_PHASE_CHAOTIC : VP_PHASE_CRITICAL;
}

/* -1/log x: the depth over which a perturbation shrinks by e when it is
 * multiplied by x per layer; +inf for |x| >= 1 - 1e-12, 0 for x = 0. */
static double depth_scale(double x)
{
    x = fabs(x);
    /* Within the quadrature accuracy of 1 the decay is not exponential. */
    if (!(x < 1.0 - 1e-12)) return INFINITY;
    return -1.0 / log(x);
}

vp_status vp_theory_analyze(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                            double sigma_b2, double q0, vp_theory_point *out, vp_err *err)
{
    vp_theory_point r = { .sigma_w2 = sigma_w2, .sigma_b2 = sigma_b2, .q0 = q0 };
    vp_status st = vp_theory_qstar(ctx, act, sigma_w2, sigma_b2, q0, &r.q_star, err);
    double k = 0.0, qa = 0.0;
    if (st == VP_ERR_NUMERIC && affine_qstar(act, sigma_w2, sigma_b2, q0, &k, &qa) && isinf(qa)) {
        /* Homogeneous phi whose length map diverges (relu at sigma_w2 > 2): q* = inf,
         * but chi_1 = k at every q, so the phase is known; the correlation map has no
         * fixed point at finite q (c*, chi_c, xi_c: NaN). */
        r.q_star = INFINITY;
        r.chi1 = r.qslope = k;
        r.xi_q = depth_scale(k);
        r.c_star = r.chi_c = r.xi_c = NAN;
        r.phase = phase_of(k);
        *out = r;
        return VP_OK;
    }
    double e = 0.0;
    if (st == VP_OK) st = vp_theory_chi1(ctx, act, sigma_w2, r.q_star, &r.chi1, err);
    if (st == VP_OK) st = vp_theory_expect(ctx, act, VP_EXP_SLOPE, r.q_star, &e, err);
    if (st != VP_OK) return st;
    /* Slope of the length map at q*: |q^l - q*| ~ |slope|^l = e^{-l/xi_q}. */
    r.qslope = sigma_w2 * e;
    r.xi_q = depth_scale(r.qslope);
    r.phase = phase_of(r.chi1);
    double sa, sb_;
    if (r.phase != VP_PHASE_CHAOTIC && r.q_star == 0.0 && vp_act_slopes(act, &sa, &sb_) && sa != sb_) {
        /* A homogeneous phi with a kink (relu, leaky relu): its correlation map does not
         * depend on q, so q* = 0 changes nothing there: c* = 1 with slope 1 (the arc-cosine
         * map's power law), as at any sigma_w2. (Without a kink, phi is linear and its map
         * is c -> c: the case below.) */
        r.c_star = 1.0;
        r.chi_c = 1.0;
        r.xi_c = INFINITY;
        *out = r;
        return VP_OK;
    }
    if (r.phase != VP_PHASE_CHAOTIC && r.q_star == 0.0) {
        /* Ordered with q* = 0 (sigma_b2 = 0, the length map contracting to 0): Poole's
         * slope chi_1 at c = 1 divides by q* and multiplies by it again, and its limit is
         * not the map's: the correlation map c^{l+1} = (sigma_w2 E[phi(u1) phi(u2)]) /
         * q^{l+1} tends to c -> c for a phi linear at 0 (tanh: c^l settles near c^0;
         * homogeneous phi are handled above). So no c* and chi_c, and xi_c = +inf,
         * depth_scale's word for an approach that is not exponential; the per-layer
         * iterate (theory_pre_corr) still follows c^l. */
        r.c_star = r.chi_c = NAN;
        r.xi_c = INFINITY;
        *out = r;
        return VP_OK;
    }
    if (r.phase != VP_PHASE_CHAOTIC) {
        /* c* = 1 is stable and the c-map slope there is chi_1 (Poole Eq. 7). */
        r.c_star = 1.0;
        r.chi_c = r.chi1;
        r.xi_c = r.phase == VP_PHASE_CRITICAL ? INFINITY : depth_scale(r.chi1);
        *out = r;
        return VP_OK;
    }
    if (r.q_star == 0.0) {
        /* Chaotic with q* = 0 only when started exactly at the unstable q = 0:
         * every input maps to 0 and no correlation is defined. */
        r.c_star = r.chi_c = r.xi_c = NAN;
        *out = r;
        return VP_OK;
    }
    /* Chaotic: c = 1 is unstable; c(c) - c is convex on [0, 1] (nonnegative
     * Hermite coefficients), >= 0 at c = 0 and < 0 just below 1, so it has a
     * single root c* in between. */
    carg ca = { ctx, act, sigma_w2, sigma_b2, r.q_star, 0.0, NULL };
    if ((st = vp_theory_qmap(ctx, act, sigma_w2, sigma_b2, r.q_star, &ca.qn, err)) != VP_OK) return st;
    if (!(ca.qn > 0)) return vp_fail(err, VP_ERR_NUMERIC, "theory: correlation undefined: next length is %g", ca.qn);
    ca.mh = vp_theory_mehler_new(ctx, act, r.q_star);
    int at_one;
    st = chaotic_c_star(&ca, &r.c_star, &at_one, err);
    vp_theory_mehler_free(ca.mh);
    if (st != VP_OK) return st;
    if (at_one) {
        r.c_star = 1.0, r.chi_c = r.chi1, r.xi_c = INFINITY;
        *out = r;
        return VP_OK;
    }
    if ((st = vp_theory_expect2(ctx, act, VP_EXP2_DPHIDPHI, r.q_star, r.q_star, r.c_star, &e, err)) != VP_OK)
        return st;
    r.chi_c = sigma_w2 * e;
    r.xi_c = depth_scale(r.chi_c);
    *out = r;
    return VP_OK;
}

/* ---- critical line ---- */

typedef struct {
    const vp_theory_ctx *ctx;
    const vp_act *act;
    double sb;
} crarg;

/* g(q) = q - E[phi^2]/E[phi'^2] - sb: zero where (sigma_w2 = 1/E[phi'^2], q)
 * is a fixed point of the length map with chi_1 = 1. */
static vp_status crit_resid(void *v, double q, double *g, vp_err *err)
{
    const crarg *r = v;
    static const vp_theory_exp1 K[2] = { VP_EXP_PHI2, VP_EXP_DPHI2 };
    double ev[2];
    vp_status st = vp_theory_expect_many(r->ctx, r->act, q, 2, K, ev, err);
    if (st != VP_OK) return st;
    double e2 = ev[0], d2 = ev[1];
    *g = d2 > 0 ? q - e2 / d2 - r->sb : -INFINITY;
    return VP_OK;
}

/* Slope of the length map at q for sigma_w2 = sw. */
static vp_status qmap_slope(const vp_theory_ctx *ctx, const vp_act *act, double sw, double q,
                            double *slope, vp_err *err)
{
    double e = 0.0;
    vp_status st = vp_theory_expect(ctx, act, VP_EXP_SLOPE, q, &e, err);
    *slope = sw * e;
    return st;
}

vp_status vp_theory_critical(const vp_theory_ctx *ctx, const vp_act *act, double sigma_b2,
                             double *sigma_w2, double *q_star, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st == VP_OK) st = check_sigmas(0.0, sigma_b2, err);
    if (st != VP_OK) return st;
    char lab[128];
    vp_act_label(act, lab, sizeof lab);
    double a, b, d2 = 0.0;
    if (vp_act_slopes(act, &a, &b)) {
        double m = 0.5 * (a * a + b * b);
        if (!(m > 0)) return vp_fail(err, VP_ERR_NUMERIC, "%s: phi' = 0 almost everywhere: chi_1 = 0 for every sigma_w2", lab);
        *sigma_w2 = 1.0 / m;
        *q_star = sigma_b2 == 0.0 ? NAN : INFINITY;
        return VP_OK;
    }
    const vp_act_info *info = vp_act_get(act->kind);
    if (sigma_b2 == 0.0 && info->f(0.0, act->p) == 0.0) {
        /* q* -> 0 limit: E[phi^2]/E[phi'^2] = q + o(q), so q* = 0 is on the line
         * with sigma_w2 = 1/lim E[phi'(sqrt q z)^2] (one-sided average at a kink),
         * provided phi'(0) != 0 and q = 0 attracts: Q(q) <= q just above 0
         * (tanh: Q = q - 2q^2 + ..., yes; gelu: Q = q + O(q^2) > q, no). */
        if ((st = vp_theory_expect(ctx, act, VP_EXP_DPHI2, 0.0, &d2, err)) != VP_OK) return st;
        if (d2 > 1e-12) {
            const double qt = 1e-4;
            double qn = 0.0;
            if ((st = vp_theory_qmap(ctx, act, 1.0 / d2, 0.0, qt, &qn, err)) != VP_OK) return st;
            if (qn <= qt * (1.0 + 1e-10)) {
                *sigma_w2 = 1.0 / d2;
                *q_star = 0.0;
                return VP_OK;
            }
        }
    }
    /* Smallest root q >= sigma_b2 of g at which the length map is stable
     * (slope <= 1): scan q = sigma_b2 + 10^(k/4), bracket each sign change. */
    crarg cr = { ctx, act, sigma_b2 };
    double qprev = sigma_b2, gprev = 0.0;
    int unstable = 0;
    if (sigma_b2 > 0 && (st = crit_resid(&cr, qprev, &gprev, err)) != VP_OK) return st;
    for (int k = -40; k <= 40; k++) {
        double q = sigma_b2 + pow(10.0, 0.25 * k), g, slope = 0.0;
        if (q <= qprev) continue;
        if ((st = crit_resid(&cr, q, &g, err)) != VP_OK) return st;
        /* g = q - (a ratio that is q + o(q) as q -> 0): near 0 only its sign
         * above the quadrature noise (1e-10 q) means anything. */
        if (fabs(g) <= 1e-10 * q) continue;
        if (gprev != 0.0 && (g > 0) != (gprev > 0)) {
            double root = q;
            st = vp_root_bracket(crit_resid, &cr, qprev, q, gprev, g, 1e-14, 1e-300, &root, err);
            if (st != VP_OK) return st;
            if ((st = vp_theory_expect(ctx, act, VP_EXP_DPHI2, root, &d2, err)) != VP_OK) return st;
            if ((st = qmap_slope(ctx, act, 1.0 / d2, root, &slope, err)) != VP_OK) return st;
            if (slope <= 1.0 + 1e-9) {
                *sigma_w2 = 1.0 / d2;
                *q_star = root;
                return VP_OK;
            }
            unstable = 1;
        }
        qprev = q, gprev = g;
    }
    return vp_fail(err, VP_ERR_NUMERIC,
                   "%s: no point with chi_1 = 1 at sigma_b2 = %g: %s", lab, sigma_b2,
                   unstable ? "chi_1 = 1 only at fixed points q* that the length map repels"
                            : "sigma_w2 = 1/E[phi'^2] has no fixed point q* <= 1e10");
}

/* ---- finite-network predictions ---- */

/* A prediction below the normal double range has lost its precision: it is 0 (it
 * underflowed), never a subnormal number or a floor. */
static double flush_subnormal(double v) { return fabs(v) < DBL_MIN ? 0.0 * v : v; }

vp_status vp_theory_layer_predictions(const vp_theory_ctx *ctxp, const vp_act *act, int L, const int *widths,
                                      const double *sigma_w2, const double *sigma_b2, double q0,
                                      double *pre_var, double *grad_pre_var, double *chi, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    if (L < 1 || !widths || !sigma_w2 || !sigma_b2 || !pre_var || !grad_pre_var)
        return vp_fail(err, VP_ERR_USAGE, "theory: layer predictions need L >= 1 and all arrays");
    for (int l = 0; l <= L; l++)
        if (widths[l] < 1) return vp_fail(err, VP_ERR_USAGE, "theory: width n_%d = %d must be >= 1", l, widths[l]);
    for (int l = 0; l < L; l++)
        if ((st = check_sigmas(sigma_w2[l], sigma_b2[l], err)) != VP_OK) {
            vp_err_prefix(err, "layer %d", l + 1);
            return st;
        }
    if (!(q0 >= 0) || !isfinite(q0)) return vp_fail(err, VP_ERR_USAGE, "theory: q0 = %g must be finite and >= 0", q0);
    vp_theory_ctx own;
    if (!ctxp) {
        if ((st = vp_theory_ctx_init(&own, err)) != VP_OK) return st;
        ctxp = &own;
    }
    const vp_theory_ctx ctx = *ctxp;
    for (int l = 0; l < L; l++) {
        pre_var[l] = grad_pre_var[l] = NAN;
        if (chi) chi[l] = NAN;
    }

    /* Forward: no phi on the input, then the length map layer by layer. A layer whose
     * expectation cannot be computed to accuracy stops it: that layer and the later
     * ones stay NaN (no prediction), the earlier ones stand. */
    int nq = L; /* layers with a prediction of q^l */
    pre_var[0] = flush_subnormal(sigma_w2[0] * q0 + sigma_b2[0]);
    /* E[phi'^2] at the same q comes with E[phi^2] from one pass over the nodes
     * (vp_theory_expect_many) and waits in grad_pre_var for the loop below; where the
     * pair fails, the single calls decide which of the two did. */
    static const vp_theory_exp1 PAIR[2] = { VP_EXP_PHI2, VP_EXP_DPHI2 };
    for (int l = 1; l < L && st == VP_OK; l++) {
        double e = INFINITY, v[2];
        vp_err perr;
        if (isfinite(pre_var[l - 1]) && vp_theory_expect_many(&ctx, act, pre_var[l - 1], 2, PAIR, v, &perr) == VP_OK)
            e = v[0], grad_pre_var[l - 1] = v[1];
        else if (isfinite(pre_var[l - 1]) &&
                 (st = vp_theory_expect(&ctx, act, VP_EXP_PHI2, pre_var[l - 1], &e, err)) != VP_OK) {
            nq = l;
            continue;
        }
        pre_var[l] = flush_subnormal(sigma_w2[l] * e + sigma_b2[l]);
    }
    /* mu^l = E[phi'(sqrt(q^l) z)^2], kept in grad_pre_var until the backward pass
     * below turns it into the gradient prediction, in place. chi^l = sigma_w2(l) mu^l
     * is the mean squared singular value of D^l W^l (Pennington et al. 2017); at a
     * fixed point it is chi_1. */
    vp_status sd = VP_OK;
    vp_err derr;
    int nd = 0; /* layers 1..nd have mu^l */
    for (; nd < nq; nd++) {
        double d = grad_pre_var[nd]; /* NaN unless the pair above gave it */
        if (isnan(d) && isfinite(pre_var[nd]) &&
            (sd = vp_theory_expect(&ctx, act, VP_EXP_DPHI2, pre_var[nd], &d, &derr)) != VP_OK)
            break;
        grad_pre_var[nd] = d;
    }
    for (int l = 0; chi && l < nd; l++) chi[l] = flush_subnormal(sigma_w2[l] * grad_pre_var[l]);
    /* Backward (gradient independence): E[(dL/dz^l)^2] = E[(dL/dh^l)^2] mu^l,
     * E[(dL/dh^{l-1})^2] = n_l Var[W^l] E[(dL/dz^l)^2] = sigma_w2 (n_l/n_{l-1}) E[(dL/dz^l)^2].
     * It starts at the last layer, so it needs every layer's mu. */
    double gh = 1.0; /* E[(dL/dh^L)^2] of the N(0,1) probe */
    for (int l = L; l >= 1; l--) {
        double g = nd == L ? gh * grad_pre_var[l - 1] : NAN;
        gh = sigma_w2[l - 1] * ((double)widths[l] / (double)widths[l - 1]) * g;
        grad_pre_var[l - 1] = flush_subnormal(g);
    }
    if (st == VP_OK && sd != VP_OK) {
        st = sd;
        if (err) *err = derr;
    }
    if (st != VP_OK) vp_err_prefix(err, "layer %d", nd < nq ? nd + 1 : nq + 1);
    return st;
}

/* ---- gains ---- */

/* 1/sqrt(E[phi(z)^2]) at q = 1, the gain that keeps E[h^2] with zero bias;
 * +inf when E[phi^2] = 0. */
static vp_status var_preserving_gain(const vp_theory_ctx *ctx, const vp_act *act, double *gain, vp_err *err)
{
    double e2 = 0.0;
    vp_status st = vp_theory_expect(ctx, act, VP_EXP_PHI2, 1.0, &e2, err);
    if (st == VP_OK) *gain = e2 > 0 ? 1.0 / sqrt(e2) : INFINITY;
    return st;
}

vp_status vp_theory_gains_of(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_gains *out,
                             vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    out->torch = vp_act_torch_gain(act);
    if ((st = var_preserving_gain(ctx, act, &out->var_preserving, err)) != VP_OK) return st;
    double sw = NAN, qs = NAN;
    vp_err e;
    st = vp_theory_critical(ctx, act, 0.0, &sw, &qs, &e);
    if (st == VP_OK) {
        out->critical = sqrt(sw);
        out->critical_q_star = qs;
    } else if (st == VP_ERR_NUMERIC) {
        out->critical = out->critical_q_star = NAN; /* no critical point: not an error */
    } else {
        if (err) *err = e;
        return st;
    }
    return VP_OK;
}

vp_status vp_theory_auto_gain(const vp_act *act, double *gain, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    double torch = vp_act_torch_gain(act);
    if (!isnan(torch)) {
        *gain = torch;
        return VP_OK;
    }
    vp_theory_ctx ctx;
    double g = INFINITY;
    if ((st = vp_theory_ctx_init(&ctx, err)) != VP_OK) return st;
    if ((st = var_preserving_gain(&ctx, act, &g, err)) != VP_OK) return st;
    if (isinf(g)) {
        char lab[128];
        vp_act_label(act, lab, sizeof lab);
        return vp_fail(err, VP_ERR_NUMERIC, "%s: E[phi(z)^2] = 0, no variance-preserving gain", lab);
    }
    *gain = g;
    return VP_OK;
}

vp_status vp_theory_critical_gain(const vp_act *act, double *gain, vp_err *err)
{
    vp_theory_ctx ctx;
    vp_theory_gains g;
    vp_status st = vp_theory_ctx_init(&ctx, err);
    if (st == VP_OK) st = vp_theory_gains_of(&ctx, act, &g, err);
    if (st != VP_OK) return st;
    if (!isfinite(g.critical))
        return vp_fail(err, VP_ERR_NUMERIC, "%s never reaches chi_1 = 1 at sigma_b^2 = 0 (see `varprop gain %s`)",
                       vp_act_get(act->kind)->name, vp_act_get(act->kind)->name);
    *gain = g.critical;
    return VP_OK;
}

vp_status vp_theory_corr_predictions(const vp_theory_ctx *ctxp, const vp_act *act, int L, const double *sigma_w2,
                                     const double *sigma_b2, double q0, double c0, const double *pre_var,
                                     double *corr, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    if (L < 1 || !sigma_w2 || !sigma_b2 || !pre_var || !corr)
        return vp_fail(err, VP_ERR_USAGE, "theory: correlation predictions need L >= 1 and all arrays");
    for (int l = 0; l < L; l++) corr[l] = NAN;
    if (!(c0 >= -1 && c0 <= 1)) return vp_fail(err, VP_ERR_USAGE, "theory: c0 = %g must be in [-1, 1]", c0);
    vp_theory_ctx own;
    if (!ctxp) {
        if ((st = vp_theory_ctx_init(&own, err)) != VP_OK) return st;
        ctxp = &own;
    }
    double q1 = sigma_w2[0] * q0 + sigma_b2[0];
    if (!(q1 > 0) || !isfinite(q1)) return VP_OK; /* no correlation of zero or infinite lengths */
    corr[0] = (sigma_w2[0] * q0 * c0 + sigma_b2[0]) / q1;
    for (int l = 1; l < L; l++) {
        double q = pre_var[l - 1], qn = pre_var[l], e = NAN;
        if (!(q > 0) || !isfinite(q) || !(qn > 0) || !isfinite(qn)) break;
        double c = corr[l - 1] > 1 ? 1 : corr[l - 1] < -1 ? -1 : corr[l - 1];
        /* No quadrature where the answer is known (each 2-D expectation costs
         * milliseconds): c = 1 maps to 1 exactly (u1 = u2), and a c within 1e-12 (the
         * expectations' accuracy) of 1 that is still rising towards it (ordered
         * approach; a chaotic net moves away from 1 and is computed) is taken as 1; a
         * layer with the previous layer's sigmas, q and c repeats its c (a fixed point
         * reached to rounding). */
        if (c >= 1 || (c >= 1 - 1e-12 && l >= 2 && corr[l - 1] >= corr[l - 2])) {
            corr[l] = 1;
            continue;
        }
        if (l >= 2 && sigma_w2[l] == sigma_w2[l - 1] && sigma_b2[l] == sigma_b2[l - 1] && q == pre_var[l - 2] &&
            qn == q && fabs(c - corr[l - 2]) <= 1e-15) {
            corr[l] = c;
            continue;
        }
        if ((st = vp_theory_expect2(ctxp, act, VP_EXP2_PHIPHI, q, q, c, &e, err)) != VP_OK) {
            vp_err_prefix(err, "layer %d", l + 1);
            return st;
        }
        corr[l] = (sigma_w2[l] * e + sigma_b2[l]) / qn;
    }
    return VP_OK;
}
