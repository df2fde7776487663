/* expect: see expect.h. Closed forms as in neural-tangents (arXiv 1711.09090,
 * docs/reference/papers.md §10); the quadrature of quad.h otherwise.
 * docs/theory.md has the derivations and the measured accuracy. */
#include "theory/expect.h"
#include "theory/mehler.h"
#include "theory/nodes.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "core/normal.h"
#include "core/simd.h"


/* q = 0 is the q -> 0+ limit: E[g(sqrt(q) z)] -> (g(0+) + g(0-))/2 for g with
 * one-sided limits at 0 (a kink at 0 is averaged), read off g at u = +-LIMIT_U
 * (phi, phi^2: the smallest subnormal, so phi(0) = 0 gives exactly 0; phi'
 * powers: 1e-150, so that a formula with x^2 inside, squareplus', stays
 * finite). The slope of the length map is a derivative in q: its limit is taken
 * at q = Q_LIMIT. Every q >= DBL_MIN is computed as it is, to the bottom of the
 * normal double range (there is no floor: docs/theory.md); a subnormal q, whose u^2
 * has no precision left, is taken as 0. */
#define LIMIT_U_PHI DBL_TRUE_MIN
#define LIMIT_U_DPHI 1e-150
#define Q_LIMIT 1e-200
/* Integration range in z of the adaptive rule: N(0,1) mass beyond 12 is 4e-33. */
#define Z_MAX 12.0
/* 96- vs 48-node agreement (relative to E|integrand|) needed to accept Gauss-Hermite. */
#define GH_RTOL 1e-12
/* Gauss-Hermite is tried only for q <= this. Above it the integrands of
 * saturating activations vary on a scale 1/sqrt(q) finer than the nodes'
 * spacing near 0 (~0.3): the rules are then inaccurate, and at very large q
 * the 96- and 48-node rules can even agree on the wrong value (both see a step). */
#define GH_QMAX 4.0

vp_status vp_theory_ctx_init(vp_theory_ctx *ctx, vp_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->n = VP_THEORY_GH_N;
    ctx->n2 = VP_THEORY_GH_N2;
    vp_status st = vp_gh_rule(ctx->n, ctx->x, ctx->w, err);
    if (st == VP_OK) st = vp_gh_rule(ctx->n2, ctx->x2, ctx->w2, err);
    return st;
}

/* ---- closed forms ---- */

/* Phi(x)/pdf(x), the Mills ratio of the lower tail, for x <= -26 (where Phi, < 1e-149,
 * heads for underflow): Laplace's continued fraction R(y) = 1/(y + 1/(y + 2/(y + 3/(y +
 * ...)))), y = -x (Abramowitz & Stegun 26.2.14), whose 40 terms at y >= 26 are exact to
 * rounding. */
static double mills_lower(double x)
{
    double y = -x, f = y;
    for (int k = 40; k >= 1; k--) f = y + k / f;
    return 1.0 / f;
}

/* G = E[e^{mu u} 1{u <= 0}] for u ~ N(0, q), as a function of y = mu sqrt(q) >= 0:
 * e^{y^2/2} Phi(-y) (completing the square), = M(-y)/sqrt(2 pi) with the Mills ratio
 * where Phi(-y) would underflow. */
static double xl_g(double y)
{
    return y < 26.0 ? exp(0.5 * y * y) * (0.5 * erfc(y * M_SQRT1_2)) : mills_lower(-y) * VP_INV_SQRT_2PI;
}

/* The exponential-linear rows' closed forms need the exponential's scale in units of the
 * spread, y = lam sqrt(q), not too small: the 1-D moments from y = XL_YMIN up (below,
 * E[phi^2] = a^2 q/2 + b^2 (G(2 lam) - 2 G(lam) + 1/2) cancels like 1/y^2: ~1e-14 of the
 * value at 0.1), the 2-D expectations' inner integral from lam sqrt(q_bb) = XL_Y2MIN
 * (the difference of two O(1) terms that makes it is ~lam sqrt(q_bb) of its scale:
 * ~2e-14 at 0.01). Below, the quadrature takes over (a celu with a large alpha, a tiny q). */
#define XL_YMIN 0.1
#define XL_Y2MIN 0.01

/* 1-D closed forms for u ~ N(0, q). Positively homogeneous phi(u) = b u (u > 0),
 * a u (u < 0) (ABReLU; the row's slopes): E[u+] = sqrt(q/2pi), E[u^2 1{u>0}] =
 * q/2, P(u>0) = 1/2. Exponential: E[e^{ku}] = e^{k^2 q/2} (log-normal moments).
 * Exponential-linear phi = a u (u > 0), b (e^{lam u} - 1) (u <= 0), lam = 1/kappa (where
 * lam sqrt(q) >= XL_YMIN), with
 * G(mu) = E[e^{mu u} 1{u <= 0}] (xl_g) and the pieces' disjoint supports:
 *   E[phi] = a sqrt(q/2pi) + b (G(lam) - 1/2),  E[phi^2] = a^2 q/2 + b^2 (G(2 lam) - 2 G(lam) + 1/2),
 *   E[phi'^2] = a^2/2 + (b lam)^2 G(2 lam),     E[phi'^4] = a^4/2 + (b lam)^4 G(4 lam),
 *   d/dq E[phi^2] = a^2/2 + b^2 lam^2 (2 G(2 lam) - G(lam))
 * (dG/dq = mu^2 G/2 - mu/(2 sqrt(2 pi q)); the sqrt(q) terms cancel in the derivative). */
static int closed_form1(const vp_act *act, vp_theory_exp1 kind, double q, double *out)
{
    double a, b;
    if (vp_act_slopes(act, &a, &b)) {
        switch (kind) {
        case VP_EXP_PHI: *out = (b - a) * sqrt(q) * VP_INV_SQRT_2PI; return 1;
        case VP_EXP_PHI2: *out = 0.5 * (a * a + b * b) * q; return 1;
        case VP_EXP_DPHI2:
        case VP_EXP_SLOPE: *out = 0.5 * (a * a + b * b); return 1;
        case VP_EXP_DPHI4: *out = 0.5 * (a * a * a * a + b * b * b * b); return 1;
        case VP_EXP_COUNT: return 0;
        }
        return 0;
    }
    const vp_act_info *info = vp_act_get(act->kind);
    double xa, xb, k;
    if (info->exp_linear && isfinite(q) && (info->exp_linear(act->p, &xa, &xb, &k), sqrt(q) / k >= XL_YMIN)) {
        double l = 1.0 / k, sq = sqrt(q), g1 = xl_g(l * sq), g2 = xl_g(2.0 * l * sq);
        switch (kind) {
        case VP_EXP_PHI: *out = xa * sq * VP_INV_SQRT_2PI + xb * (g1 - 0.5); return 1;
        case VP_EXP_PHI2: *out = xa * xa * 0.5 * q + xb * xb * ((g2 - 2.0 * g1) + 0.5); return 1;
        case VP_EXP_DPHI2: *out = 0.5 * xa * xa + (xb * l) * (xb * l) * g2; return 1;
        case VP_EXP_DPHI4: *out = 0.5 * xa * xa * xa * xa + pow(xb * l, 4.0) * xl_g(4.0 * l * sq); return 1;
        case VP_EXP_SLOPE: *out = 0.5 * xa * xa + xb * xb * l * l * (2.0 * g2 - g1); return 1;
        case VP_EXP_COUNT: return 0;
        }
        return 0;
    }
    if (vp_act_get(act->kind)->lognormal) {
        switch (kind) {
        case VP_EXP_PHI: *out = exp(0.5 * q); return 1;
        case VP_EXP_PHI2:
        case VP_EXP_DPHI2: *out = exp(2.0 * q); return 1;
        case VP_EXP_DPHI4: *out = exp(8.0 * q); return 1;
        case VP_EXP_SLOPE: *out = 2.0 * exp(2.0 * q); return 1;
        case VP_EXP_COUNT: return 0;
        }
    }
    return 0;
}

/* 2-D closed forms. ABReLU (neural-tangents ABRelu, arXiv 1711.09090), with
 * theta = arccos c and r = sqrt(q_aa q_bb):
 *   E[phi phi]   = r [ (a-b)^2/(2 pi) sin theta + ((a^2+b^2)/2 - (a-b)^2 theta/(2 pi)) c ]
 *   E[phi' phi'] = (a^2+b^2)/2 - (a-b)^2 theta/(2 pi)
 * relu (a = 0, b = 1) gives the arc-cosine kernel r/(2 pi) (sin theta + (pi - theta) c)
 * and (pi - theta)/(2 pi). Exponential: E[e^{u1+u2}] = e^{Var(u1+u2)/2}. */
static int closed_form2(const vp_act *act, vp_theory_exp2 kind, double qa, double qb, double c,
                        double *out)
{
    /* sqrt(qa) sqrt(qb) where the product qa qb underflows (below q ~ 1e-154: a vanishing
     * relu net's correlation map became 0) or overflows (above 1e154); elsewhere the bits
     * of sqrt(qa qb) as before */
    double a, b, pq = qa * qb, r = pq >= DBL_MIN && isfinite(pq) ? sqrt(pq) : sqrt(qa) * sqrt(qb);
    if (vp_act_slopes(act, &a, &b)) {
        double th = acos(c), k = (a - b) * (a - b) / TWO_PI;
        if (kind == VP_EXP2_PHIPHI)
            *out = r * (k * sin(th) + (0.5 * (a * a + b * b) - k * th) * c);
        else
            *out = 0.5 * (a * a + b * b) - k * th;
        return 1;
    }
    if (vp_act_get(act->kind)->lognormal) {
        *out = exp(0.5 * (qa + qb + 2.0 * c * r));
        return 1;
    }
    return 0;
}

/* ---- breakpoints ---- */

/* Points in z where a function of u = alpha z + beta changes character: its
 * kinks, u = 0 and u = +-1, +-4 (the activation's own length scale, so a
 * narrow feature at large q is never stepped over), plus z = 0, +-2, +-5
 * (the normal density's scale), clipped to [-Z_MAX, Z_MAX]. */
typedef struct {
    double p[48];
    int n;
} bpts;

static void bp_add(bpts *bp, double z)
{
    if (isfinite(z) && z > -Z_MAX && z < Z_MAX && bp->n < 48) bp->p[bp->n++] = z;
}

static void bp_add_u(bpts *bp, double alpha, double beta, int nk, const double *kinks)
{
    static const double U[5] = { 0.0, -1.0, 1.0, -4.0, 4.0 };
    if (!(alpha > 0)) return;
    for (int i = 0; i < 5; i++) bp_add(bp, (U[i] - beta) / alpha);
    for (int i = 0; i < nk; i++) bp_add(bp, (kinks[i] - beta) / alpha);
}

static void bp_finish(bpts *bp)
{
    static const double Z[5] = { 0.0, -2.0, 2.0, -5.0, 5.0 };
    for (int i = 0; i < 5; i++) bp_add(bp, Z[i]);
    bp->p[bp->n++] = -Z_MAX;
    bp->p[bp->n++] = Z_MAX;
    qsort(bp->p, (size_t)bp->n, sizeof bp->p[0], vp_cmp_double);
    int m = 0;
    for (int i = 0; i < bp->n; i++)
        if (m == 0 || bp->p[i] > bp->p[m - 1]) bp->p[m++] = bp->p[i];
    bp->n = m;
}

/* ---- integrands ---- */



/* E[g(m + sig Z)], Z ~ N(0, 1), sig > 0, for an exponential-linear row, g = phi (deriv 0)
 * or phi' (deriv 1). With t = m/sig, lam = 1/kappa, x = -t - lam sig (completing the square):
 *   E[(m + sig Z) 1{m + sig Z > 0}]       = m Phi(t) + sig pdf(t)
 *   E[e^{lam (m + sig Z)} 1{m + sig Z <= 0}] = e^{lam m + lam^2 sig^2 / 2} Phi(x) = pdf(t) M(x)
 * (the exponent is (x^2 - t^2)/2 <= 338 for x > -26, where the first form is used; below,
 * the second with M = Phi/pdf, mills_lower: nothing overflows or underflows early), so
 *   phi:  a (m Phi(t) + sig pdf(t)) + b (E_exp - Phi(-t)),   phi': a Phi(t) + b lam E_exp.
 * The inner integral of the 2-D expectations of these rows (a kink at 0 and an
 * exponential: nested adaptive quadrature otherwise, milliseconds per value). */
static double expl_smooth(const actfn *a, int deriv, double m, double sig)
{
    double t = m / sig, lam = 1.0 / a->xk, x = -t - lam * sig;
    double Pt = 0.5 * erfc(-t * M_SQRT1_2), Pmt = 0.5 * erfc(t * M_SQRT1_2);
    double ee = x > -26.0 ? exp(lam * m + 0.5 * lam * lam * sig * sig) * (0.5 * erfc(-x * M_SQRT1_2))
                          : vp_normal_pdf(t) * mills_lower(x);
    if (deriv) return a->xa * Pt + a->xb * lam * ee;
    return a->xa * (m * Pt + sig * vp_normal_pdf(t)) + a->xb * (ee - Pmt);
}


/* The 1-D quantity g(u, z) whose expectation a vp_theory_exp1 asks for. */
/* Which of phi, phi' the kind needs. */
static int needs_f(vp_theory_exp1 kind) { return kind != VP_EXP_DPHI2 && kind != VP_EXP_DPHI4; }
static int needs_d(vp_theory_exp1 kind) { return kind != VP_EXP_PHI && kind != VP_EXP_PHI2; }

/* The quantity from f = phi(u), d = phi'(u) at u = sqrt(q) z (only the ones the kind
 * needs are read). */
static double g1_of(vp_theory_exp1 kind, double f, double d, double sq, double z)
{
    switch (kind) {
    case VP_EXP_PHI: return f;
    case VP_EXP_PHI2: return f * f;
    case VP_EXP_DPHI2: return d * d;
    case VP_EXP_DPHI4: d *= d; return d * d;
    /* Stein: d/dq E[phi(sqrt q z)^2] = E[2 phi phi' z/(2 sqrt q)] = E[phi phi' z]/sqrt q. */
    case VP_EXP_SLOPE: return f * d * z / sq;
    case VP_EXP_COUNT: break;
    }
    return NAN;
}

static double g1(const actfn *a, vp_theory_exp1 kind, double sq, double z)
{
    double u = sq * z;
    double f = needs_f(kind) ? a->f(u, a->p) : 0.0, d = needs_d(kind) ? a->df(u, a->p) : 0.0;
    return g1_of(kind, f, d, sq, z);
}

typedef struct {
    const actfn *a;
    vp_theory_exp1 kind;
    double sq;
} arg1;

static double int1(double z, void *v)
{
    const arg1 *r = v;
    return vp_normal_pdf(z) * g1(r->a, r->kind, r->sq, z);
}

/* Phi or phi' at u, for the 2-D products. */
static double fd(const actfn *a, int deriv, double u) { return deriv ? a->df(u, a->p) : a->f(u, a->p); }

/* 2-D nested integral: outer over z1, inner over z2, with
 * u1 = sa z1 and u2 = sb (c z1 + s z2), s = sqrt(1 - c^2). */
typedef struct {
    const actfn *a;
    int deriv;
    double sa, sb, c, s;
    int failed;
    double inner_atol; /* absolute floor of each inner integral (see vp_theory_expect2) */
    int inner_closed;  /* the inner integral in closed form (exponential-linear rows) */
} arg2;

typedef struct {
    const arg2 *o;
    double cz1; /* sb c z1 */
} arg2in;

static double int2_inner(double z2, void *v)
{
    const arg2in *r = v;
    return vp_normal_pdf(z2) * fd(r->o->a, r->o->deriv, r->cz1 + r->o->sb * r->o->s * z2);
}

static double int2_outer(double z1, void *v)
{
    arg2 *o = v;
    double A = fd(o->a, o->deriv, o->sa * z1);
    if (A == 0.0) return 0.0;
    arg2in in = { o, o->sb * o->c * z1 };
    if (o->inner_closed) return vp_normal_pdf(z1) * A * expl_smooth(o->a, o->deriv, in.cz1, o->sb * o->s);
    bpts bp = { .n = 0 };
    bp_add_u(&bp, o->sb * o->s, in.cz1, o->a->nk, o->a->kinks);
    bp_finish(&bp);
    double I;
    if (vp_gk_integrate(int2_inner, &in, bp.p, bp.n, o->inner_atol, &I) != 0) o->failed = 1;
    return vp_normal_pdf(z1) * A * I;
}

/* |c| = 1: one Gaussian, u2 = c sb/sa u1. */
static double int2_line(double z, void *v)
{
    const arg2 *o = v;
    return vp_normal_pdf(z) * fd(o->a, o->deriv, o->sa * z) * fd(o->a, o->deriv, o->c * o->sb * z);
}


/* ---- lattice (trapezoid) rule for smooth activations ---- */

/* E[f(u1) g(u2)] for analytic f, g (no kinks) by the 2-D trapezoid rule on the
 * lattice h Z^2 in z-space (z1 = u1/sa, z2 = u2/sb, unit variances, correlation c):
 *   T_h = h^2 sum_ij f(sa x_i) g(sb x_j) p(x_i, x_j),  x_i = i h,  |x| <= LAT_Z,
 *   p(z1, z2) = exp(-(z1^2 - 2 c z1 z2 + z2^2) / (2 s^2)) / (2 pi s),  s^2 = 1 - c^2.
 * Why it converges so fast (Poisson summation): the error of the lattice sum is the
 * sum of the integrand's Fourier transform over the dual lattice (2 pi/h) Z^2 \ {0}.
 * The Gaussian part decays as exp(-(2 pi/h)^2 k'Sigma k / 2), smallest over
 * k = (1,0), (1,-1), (1,1): min(1, 2(1-c), 2(1+c)) =: m, so h <= 2 pi sqrt(m / (2 E))
 * leaves e^-E (and e^-E/4 at 2h, which the certification below must see pass); a factor analytic in a strip |Im u| < d (tanh: pi/2, the logistic:
 * pi) contributes ~exp(-2 pi d / h_u) with h_u = h sa the step in u (Trefethen &
 * Weideman, SIAM Review 56 (2014), "The exponentially convergent trapezoidal rule").
 * Certification: the even sublattice (2h Z^2, the same nodes) gives T_2h, whose error
 * is the square root of T_h's under that law (exp(-a/2h) against exp(-a/h)); T_h is
 * accepted when |T_h - T_2h| <= LAT_DELTA * h^2 sum |f g p|, which puts T_h's error near
 * LAT_DELTA^2 of that scale (~1e-14). Activations with kinks converge only
 * algebraically and never come here. Rows: the Gaussian in z2 for a fixed z1 is
 * evaluated by the two-term multiplicative recurrence e_{j+1} = e_j r_j,
 * r_{j+1} = r_j tau, tau = exp(-h^2/s^2) (a few ulps per step, on terms already
 * below the row's peak), stopping below LAT_TINY of the peak.
 * Returns 0 with *out set when certified; -1 (nothing set) to fall back. */
#define LAT_Z 10.0          /* N(0,1) mass beyond 10: 1.5e-23 */
/* LAT_HU, LAT_E, LAT_DELTA, LAT_MAXN: nodes.h (Mehler's rule, mehler.c, shares them) */
#define LAT_TINY 1e-22     /* row terms below this fraction of the row peak are dropped */
#define LAT1_LEVELS 3       /* 1-D: steps h, h/2, h/4 before the other rules */

/* The certification shared by every lattice rule: the sum T over h Z^d is accepted when
 * the even sublattice's T2 agrees to LAT_DELTA of the scale S = sum |terms| (both sums
 * finite); 0 with *out = T, else -1 (fall back). */
static int lattice_accept(double T, double T2, double S, double *out)
{
    if (!isfinite(T) || !isfinite(T2) || !(fabs(T - T2) <= LAT_DELTA * S)) return -1;
    *out = T;
    return 0;
}

/* Rows i and -i of the axis lattice at once: with e_j = exp(-k2 (j h - mu)^2) the
 * Gaussian weights of row i (mu = c x_i), row -i has weight e_j at -j (the density is
 * even: p(-z1, -z2) = p(z1, z2)), so
 *   r[0] = sum_{j = jlo..jhi} B[j] e_j,  r[1] = sum_j B[-j] e_j   (B indexed -n..n),
 * also over even j only (r2; j and -j have one parity) and of |.| (ra). Eight
 * interleaved lanes, lane k taking j = jlo + k + 8t, each by the two-term recurrence
 * e_{j+8} = e_j f_j, f_{j+8} = f_j tau16 (f_j = exp(-k2 (16 d_j h + 64 h^2)), tau16 =
 * exp(-128 k2 h^2)): independent chains the compiler vectorizes. The band starts
 * ~10 sigma below the peak, so a chain's values grow first, then fall, and never leave
 * the normal range; each step costs an ulp or two of relative error in weights whose
 * sum is what matters (~1e-13 of the row at the longest rows measured). */
VP_CLONES
static void lattice_rows(const double *B, int jlo, int jhi, double h, double mu, double k2, double tau,
                         double tau16, double tau28, double r[2], double r2[2], double ra[2])
{
    /* Lane starts from two exp calls: e_{j+1} = e_j rho_j, rho_{j+1} = rho_j tau
     * (rho_j = exp(-k2 (2 d_j h + h^2)), tau = exp(-2 k2 h^2)), and
     * f_j = rho_j rho_{j+1} ... rho_{j+7} = rho_j^8 tau^28 (tau, tau16, tau28 from the caller). */
    double e[8], f[8], ap[8] = { 0 }, am[8] = { 0 }, bp[8] = { 0 }, bm[8] = { 0 };
    double d = jlo * h - mu;
    double ek = exp(-k2 * d * d), rho = exp(-k2 * (2.0 * d * h + h * h));
    for (int k = 0; k < 8; k++) {
        double r8 = rho * rho;
        r8 *= r8;
        e[k] = ek, f[k] = r8 * r8 * tau28;
        ek *= rho, rho *= tau;
    }
    int j = jlo;
    for (; j + 8 <= jhi + 1; j += 8)
        for (int k = 0; k < 8; k++) {
            double tp = B[j + k] * e[k], tm = B[-(j + k)] * e[k];
            ap[k] += tp, bp[k] += fabs(tp);
            am[k] += tm, bm[k] += fabs(tm);
            e[k] *= f[k], f[k] *= tau16;
        }
    for (int k = 0; j + k <= jhi; k++) {
        double tp = B[j + k] * e[k], tm = B[-(j + k)] * e[k];
        ap[k] += tp, bp[k] += fabs(tp);
        am[k] += tm, bm[k] += fabs(tm);
    }
    r[0] = r[1] = r2[0] = r2[1] = ra[0] = ra[1] = 0.0;
    for (int k = 0; k < 8; k++) {
        r[0] += ap[k], r[1] += am[k], ra[0] += bp[k], ra[1] += bm[k];
        if (((jlo + k) & 1) == 0) r2[0] += ap[k], r2[1] += am[k];
    }
}

static int lattice2_axes(const actfn *a, int deriv, double sa, double sb, double c, double s, double *out)
{
    double m = fmin(1.0, 2.0 * (1.0 - fabs(c)));
    double h = fmin(LAT_HU / fmax(sa, sb), TWO_PI * sqrt(m / (2.0 * LAT_E)));
    if (!(h > 0)) return -1;
    double nd = ceil(LAT_Z / h);
    if (!(nd <= LAT_MAXN)) return -1;
    int n = (int)nd;
    double A[2 * LAT_MAXN + 1], Bs[2 * LAT_MAXN + 1], U[2 * LAT_MAXN + 1], W[2 * LAT_MAXN + 1];
    const double *B = sa == sb ? A : Bs; /* equal lengths (every map): one set of values */
    size_t m2 = (size_t)(2 * n + 1);
    for (size_t k = 0; k < m2; k++) U[k] = sa * (((double)k - n) * h); /* node i = k - n */
    vp_nodes_eval(a, U, deriv ? NULL : A, deriv ? A : NULL, m2, W);
    if (sa != sb) {
        for (size_t k = 0; k < m2; k++) U[k] = sb * (((double)k - n) * h);
        vp_nodes_eval(a, U, deriv ? NULL : Bs, deriv ? Bs : NULL, m2, W);
    }
    double s2 = s * s, k2 = 1.0 / (2.0 * s2);
    /* Half-width of a row's band: the Gaussian is below LAT_TINY of its peak beyond it. */
    int R = (int)ceil(sqrt(-2.0 * log(LAT_TINY)) * s / h) + 1;
    double tau = exp(-2.0 * k2 * h * h), tau16 = exp(-128.0 * k2 * h * h), tau28 = exp(-56.0 * k2 * h * h);
    double T = 0.0, T2 = 0.0, S = 0.0;
    /* Rows i >= 0, each with its mirror -i (lattice_rows). */
    for (int i = 0; i <= n; i++) {
        double x = i * h, Ap = A[i + n], Am = A[n - i];
        if (Ap == 0.0 && Am == 0.0) continue;
        double mu = c * x;                 /* centre of row i's Gaussian in z2 */
        int j0 = (int)lround(mu / h);
        int jlo = j0 - R < -n ? -n : j0 - R, jhi = j0 + R > n ? n : j0 + R;
        double r[2], r2[2], ra[2];         /* rows i and -i: every j, even j, |.| */
        lattice_rows(B + n, jlo, jhi, h, mu, k2, tau, tau16, tau28, r, r2, ra);
        if (i == 0) Am = 0.0;              /* row 0 is its own mirror */
        double w = exp(-0.5 * x * x);
        T += w * (Ap * r[0] + Am * r[1]), S += w * (fabs(Ap) * ra[0] + fabs(Am) * ra[1]);
        if ((i & 1) == 0) T2 += w * (Ap * r2[0] + Am * r2[1]);
    }
    double norm = 1.0 / (TWO_PI * s);
    T *= h * h * norm, T2 *= 4.0 * h * h * norm, S *= h * h * norm;
    return lattice_accept(T, T2, S, out);
}


/* The same rule in the principal axes of the pair, for |c| near 1 where the axis
 * lattice would need a step ~ sqrt(1 - |c|): z1 = al x + be y, z2 = al x - be y with
 * x, y iid N(0,1), al = sqrt((1+c)/2), be = sqrt((1-c)/2) (so Var z = 1, Cov = c).
 * The Gaussian is isotropic (h <= 2 pi / sqrt(2 E) on both axes) and each axis gets
 * the step its direction needs for f, g (LAT_HU over the u-scale along it); the
 * integrand is no longer a product of a function of x and one of y, so f and g are
 * evaluated at every node (within the disc |(x, y)| <= LAT_Z), at most LAT_MAXPTS. */
#define LAT_MAXPTS 60000

static int lattice2_rot(const actfn *a, int deriv, double sa, double sb, double c, double *out)
{
    double al = sqrt(0.5 * (1.0 + c)), be = sqrt(0.5 * (1.0 - c)), smax = fmax(sa, sb);
    double hg = TWO_PI / sqrt(2.0 * LAT_E);
    double hx = fmin(hg, al > 0 ? LAT_HU / (smax * al) : hg), hy = fmin(hg, be > 0 ? LAT_HU / (smax * be) : hg);
    double nxd = ceil(LAT_Z / hx), nyd = ceil(LAT_Z / hy);
    if (!((2 * nxd + 1) * (2 * nyd + 1) * 0.8 <= LAT_MAXPTS)) return -1;
    int nx = (int)nxd, ny = (int)nyd;
    double T = 0.0, T2 = 0.0, S = 0.0, z2max = LAT_Z * LAT_Z;
    double u1[2 * LAT_MAXN + 1], u2[2 * LAT_MAXN + 1], f1[2 * LAT_MAXN + 1], f2[2 * LAT_MAXN + 1];
    double wy[2 * LAT_MAXN + 1], scratch[2 * LAT_MAXN + 1];
    if (ny > LAT_MAXN) return -1;
    for (int j = -ny; j <= ny; j++) wy[j + ny] = exp(-0.5 * (j * hy) * (j * hy));
    for (int i = -nx; i <= nx; i++) {
        double x = i * hx, wx = exp(-0.5 * x * x);
        /* the row's nodes within the disc |(x, y)| <= LAT_Z */
        double ymax = sqrt(fmax(z2max - x * x, 0.0));
        int jm = (int)floor(ymax / hy);
        if (jm > ny) jm = ny;
        size_t m = (size_t)(2 * jm + 1);
        for (int j = -jm; j <= jm; j++) {
            double y = j * hy;
            u1[j + jm] = sa * (al * x + be * y);
            u2[j + jm] = sb * (al * x - be * y);
        }
        vp_nodes_eval(a, u1, deriv ? NULL : f1, deriv ? f1 : NULL, m, scratch);
        vp_nodes_eval(a, u2, deriv ? NULL : f2, deriv ? f2 : NULL, m, scratch);
        double r = 0.0, r2 = 0.0, ra = 0.0;
        for (int j = -jm; j <= jm; j++) {
            double t = f1[j + jm] * f2[j + jm] * wy[j + ny];
            r += t, ra += fabs(t);
            if ((j & 1) == 0) r2 += t;
        }
        T += wx * r, S += wx * ra;
        if ((i & 1) == 0) T2 += wx * r2;
    }
    double norm = hx * hy / TWO_PI;
    T *= norm, T2 *= 4.0 * norm, S *= norm;
    return lattice_accept(T, T2, S, out);
}

static int lattice2(const actfn *a, int deriv, double sa, double sb, double c, double s, double *out)
{
    if (lattice2_axes(a, deriv, sa, sb, c, s, out) == 0) return 0;
    return lattice2_rot(a, deriv, sa, sb, c, out);
}



/* T = sum t[k], S = sum |t[k]| and T2 = the sum over k of parity par (the even
 * sublattice: node i = k - n is even when k has n's parity) of t[0..m), in eight
 * interleaved lanes (a fixed order: the same bits on every clone). */
VP_CLONES
static void lane_sums(const double *restrict t, int m, int par, double *T, double *T2, double *S)
{
    double a[8] = { 0 }, b[8] = { 0 }, e[8] = { 0 };
    int k = 0;
    for (; k + 8 <= m; k += 8)
        for (int j = 0; j < 8; j++) {
            double v = t[k + j];
            a[j] += v, b[j] += fabs(v);
            e[j] += ((k + j) & 1) == par ? v : 0.0;
        }
    for (int j = 0; k + j < m; j++) {
        double v = t[k + j];
        a[j] += v, b[j] += fabs(v);
        e[j] += ((k + j) & 1) == par ? v : 0.0;
    }
    double r = 0.0, r2 = 0.0, ra = 0.0;
    for (int j = 0; j < 8; j++) r += a[j], r2 += e[j], ra += b[j];
    *T = r, *T2 = r2, *S = ra;
}

/* 1-D: E[g(sqrt(q) z)] by the trapezoid rule on h Z, |z| <= LAT_Z, for analytic g
 * (the same error laws as lattice2: Gaussian aliasing exp(-(2 pi/h)^2/2) and
 * exp(-2 pi d/(h sqrt q)) from g's strip), certified by the even sublattice as there.
 * Several kinds at one q share the nodes (phi and phi' are evaluated once); each is
 * certified on its own, and each gives the same bits as when asked for alone.
 * ok[k] = 1 with out[k] set where certified, else 0 (fall back). */
static void lattice1_many(const actfn *a, const vp_theory_exp1 *kinds, int nk, double sq, double *out, int *ok)
{
    for (int k = 0; k < nk; k++) ok[k] = 0;
    double h0 = fmin(LAT_HU / sq, TWO_PI / sqrt(2.0 * LAT_E));
    /* A kind whose even sublattice disagrees is tried again at h/2 and h/4 (the rule at
     * h then serves as the check): the error laws above are asymptotic, and a pole of
     * phi near the real axis (tanh's at |Im u| = pi/2, where the Gaussian weight grows
     * like e^{(Im z)^2/2}) can keep the step 2h out of that regime at small q. */
    for (int lev = 0, left = nk; lev < LAT1_LEVELS && left > 0; lev++) {
        double h = ldexp(h0, -lev), nd = ceil(LAT_Z / h);
        if (!(nd <= LAT_MAXN)) return;
        int n = (int)nd, need_f = 0, need_d = 0;
        for (int k = 0; k < nk; k++)
            if (!ok[k]) need_f |= needs_f(kinds[k]), need_d |= needs_d(kinds[k]);
        double U[2 * LAT_MAXN + 1], F[2 * LAT_MAXN + 1], D[2 * LAT_MAXN + 1], W[LAT_MAXN + 1];
        size_t m = (size_t)(2 * n + 1);
        for (size_t k = 0; k < m; k++) U[k] = sq * (((double)k - n) * h); /* node i = k - n */
        vp_nodes_eval(a, U, need_f ? F : NULL, need_d ? D : NULL, m, need_f ? D : F);
        vp_nodes_gauss(h, n + 1, 1.0, W);
        double norm = h * VP_INV_SQRT_2PI;
        for (int k = 0; k < nk; k++) {
            if (ok[k]) continue;
            double T, T2, S;
            for (int i = -n; i <= n; i++)
                U[i + n] = g1_of(kinds[k], need_f ? F[i + n] : 0.0, need_d ? D[i + n] : 0.0, sq, i * h) *
                           W[i < 0 ? -i : i];
            lane_sums(U, (int)m, n & 1, &T, &T2, &S);
            T *= norm, T2 *= 2.0 * norm, S *= norm;
            ok[k] = lattice_accept(T, T2, S, &out[k]) == 0;
            left -= ok[k];
        }
    }
}

/* ---- Mehler's formula (mehler.c) behind the public object ---- */

vp_theory_mehler *vp_theory_mehler_new(const vp_theory_ctx *ctx, const vp_act *act, double q)
{
    double t;
    if (!ctx || vp_theory_check_act(act, NULL) != VP_OK || ctx->no_lattice || ctx->no_mehler || ctx->force_quadrature ||
        !(q >= DBL_MIN) || !isfinite(q) || closed_form2(act, VP_EXP2_PHIPHI, q, q, 0.5, &t))
        return NULL;
    actfn a;
    vp_nodes_act(act, &a);
    return a.nk == 0 ? vp_mehler_make(&a, q) : NULL;
}

void vp_theory_mehler_free(vp_theory_mehler *mh) { free(mh); }

int vp_theory_mehler_eval(vp_theory_mehler *mh, double c, double *out) { return mh ? vp_mehler_eval(mh, c, out) : -1; }

double vp_theory_mehler_q(const vp_theory_mehler *mh) { return mh ? vp_mehler_q(mh) : NAN; }

vp_status vp_theory_mehler_phiphi(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_mehler *mh, double q,
                                  double c, double *out, vp_err *err)
{
    if (mh && vp_mehler_q(mh) == q && vp_mehler_eval(mh, c, out) == 0) return VP_OK;
    return vp_theory_expect2(ctx, act, VP_EXP2_PHIPHI, q, q, c, out, err);
}

/* ---- expectations ---- */

vp_status vp_theory_check_act(const vp_act *act, vp_err *err)
{
    if (!act || !vp_act_get(act->kind)) return vp_fail(err, VP_ERR_USAGE, "no such activation");
    if (vp_act_rowwise(vp_act_get(act->kind)))
        return vp_fail(err, VP_ERR_USAGE, "%s is not elementwise; mean-field theory here covers "
                       "elementwise activations", vp_act_get(act->kind)->name);
    return VP_OK;
}

static vp_status quad_fail(const vp_act *act, const char *what, double q, vp_err *err)
{
    char lab[128];
    vp_act_label(act, lab, sizeof lab);
    return vp_fail(err, VP_ERR_NUMERIC,
                   "%s: Gaussian integral %s did not reach 1e-9 relative accuracy at q = %g", lab, what, q);
}

static const char *EXP1_NAME[VP_EXP_COUNT] = {
    [VP_EXP_PHI] = "E[phi]", [VP_EXP_PHI2] = "E[phi^2]", [VP_EXP_DPHI2] = "E[phi'^2]",
    [VP_EXP_DPHI4] = "E[phi'^4]", [VP_EXP_SLOPE] = "E[phi phi' z]/sqrt(q)" };

vp_status vp_theory_expect(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_exp1 kind,
                           double q, double *out, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    if ((unsigned)kind >= VP_EXP_COUNT) return vp_fail(err, VP_ERR_USAGE, "theory: bad expectation kind");
    if (!(q >= 0) || !isfinite(q)) return vp_fail(err, VP_ERR_USAGE, "theory: variance q = %g is not a finite number >= 0", q);
    if (q < DBL_MIN) q = 0.0; /* subnormal: no precision left in u^2; its limit */
    if (q == 0.0 && kind == VP_EXP_SLOPE) q = Q_LIMIT;
    if (!ctx->force_quadrature && closed_form1(act, kind, q, out)) return VP_OK;

    actfn a;
    vp_nodes_act(act, &a);
    if (q == 0.0) { /* the q -> 0+ limit, (g(0+) + g(0-))/2 */
        double t = kind == VP_EXP_PHI || kind == VP_EXP_PHI2 ? LIMIT_U_PHI : LIMIT_U_DPHI;
        *out = 0.5 * (g1(&a, kind, 1.0, t) + g1(&a, kind, 1.0, -t));
        return VP_OK;
    }
    double sq = sqrt(q);
    if (a.nk == 0 && !ctx->no_lattice) {
        int ok;
        lattice1_many(&a, &kind, 1, sq, out, &ok);
        if (ok) return VP_OK;
    }
    if (a.nk == 0 && q <= GH_QMAX) {
        /* Smooth: Gauss-Hermite, accepted if the 48-node rule agrees. */
        double I = 0.0, I2 = 0.0, scale = 0.0;
        for (int i = 0; i < ctx->n; i++) {
            double g = g1(&a, kind, sq, ctx->x[i]);
            I += ctx->w[i] * g, scale += ctx->w[i] * fabs(g);
        }
        for (int i = 0; i < ctx->n2; i++) I2 += ctx->w2[i] * g1(&a, kind, sq, ctx->x2[i]);
        if (isfinite(I) && fabs(I - I2) <= GH_RTOL * scale) {
            *out = I;
            return VP_OK;
        }
    }
    /* Piecewise (or GH not converged): adaptive Gauss-Kronrod split at the kinks. */
    arg1 r = { &a, kind, sq };
    bpts bp = { .n = 0 };
    bp_add_u(&bp, sq, 0.0, a.nk, a.kinks);
    bp_finish(&bp);
    if (vp_gk_integrate(int1, &r, bp.p, bp.n, 0.0, out) != 0) return quad_fail(act, EXP1_NAME[kind], q, err);
    return VP_OK;
}

vp_status vp_theory_expect_many(const vp_theory_ctx *ctx, const vp_act *act, double q, int nk,
                                const vp_theory_exp1 *kinds, double *out, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    if (nk < 0 || nk > VP_EXP_COUNT) return vp_fail(err, VP_ERR_USAGE, "theory: %d expectations at once (at most %d)", nk, VP_EXP_COUNT);
    int ok[VP_EXP_COUNT] = { 0 }, closed = 0;
    for (int k = 0; k < nk; k++) {
        if ((unsigned)kinds[k] >= VP_EXP_COUNT) return vp_fail(err, VP_ERR_USAGE, "theory: bad expectation kind");
        double t;
        closed |= !ctx->force_quadrature && closed_form1(act, kinds[k], q, &t);
    }
    actfn a;
    vp_nodes_act(act, &a);
    /* The shared lattice only where vp_theory_expect would reach it (a normal q, no
     * closed form), so that every value has the bits of the single call. */
    if (a.nk == 0 && !ctx->no_lattice && !closed && q >= DBL_MIN && isfinite(q))
        lattice1_many(&a, kinds, nk, sqrt(q), out, ok);
    for (int k = 0; k < nk; k++)
        if (!ok[k] && (st = vp_theory_expect(ctx, act, kinds[k], q, &out[k], err)) != VP_OK) return st;
    return VP_OK;
}

vp_status vp_theory_expect2(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_exp2 kind,
                            double q_aa, double q_bb, double c, double *out, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    if ((unsigned)kind >= VP_EXP2_COUNT) return vp_fail(err, VP_ERR_USAGE, "theory: bad expectation kind");
    if (!(q_aa >= 0) || !(q_bb >= 0) || !isfinite(q_aa) || !isfinite(q_bb))
        return vp_fail(err, VP_ERR_USAGE, "theory: variances (%g, %g) must be finite and >= 0", q_aa, q_bb);
    if (!(c >= -1.0 && c <= 1.0)) return vp_fail(err, VP_ERR_USAGE, "theory: correlation %g outside [-1, 1]", c);
    /* A zero (or subnormal) length: its q -> 0+ limit, taken at Q_LIMIT (only the
     * correlation maps at q* > 0 ask for these). */
    if (q_aa < DBL_MIN) q_aa = Q_LIMIT;
    if (q_bb < DBL_MIN) q_bb = Q_LIMIT;
    if (!ctx->force_quadrature && closed_form2(act, kind, q_aa, q_bb, c, out)) return VP_OK;
    int deriv = kind == VP_EXP2_DPHIDPHI;
    /* c = 1 with equal lengths is exactly the 1-D E[phi^2] / E[phi'^2]: route it
     * there so the correlation map is 1 at c = 1 to the last bit. */
    if (c == 1.0 && q_aa == q_bb)
        return vp_theory_expect(ctx, act, deriv ? VP_EXP_DPHI2 : VP_EXP_PHI2, q_aa, out, err);

    actfn a;
    vp_nodes_act(act, &a);
    if (a.nk == 0 && q_aa == q_bb && !deriv && !ctx->no_lattice && !ctx->no_mehler &&
        vp_mehler_one(&a, q_aa, c, out) == 0)
        return VP_OK;
    /* s = sqrt(1 - c^2) as sqrt((1-c)(1+c)): no cancellation near |c| = 1. */
    arg2 o = { &a, deriv, sqrt(q_aa), sqrt(q_bb), c, sqrt((1.0 - c) * (1.0 + c)), 0, 0.0,
               a.xl && !ctx->no_semi_closed && sqrt(q_bb) / a.xk >= XL_Y2MIN };
    if (a.nk == 0 && o.s > 0 && !ctx->no_lattice && lattice2(&a, deriv, o.sa, o.sb, c, o.s, out) == 0)
        return VP_OK;
    if (a.nk == 0 && o.s > 0 && q_aa <= GH_QMAX && q_bb <= GH_QMAX) {
        double I = 0.0, I2 = 0.0, scale = 0.0;
        for (int i = 0; i < ctx->n; i++) {
            double A = fd(&a, deriv, o.sa * ctx->x[i]);
            for (int j = 0; j < ctx->n; j++) {
                double g = A * fd(&a, deriv, o.sb * (c * ctx->x[i] + o.s * ctx->x[j]));
                I += ctx->w[i] * ctx->w[j] * g, scale += ctx->w[i] * ctx->w[j] * fabs(g);
            }
        }
        for (int i = 0; i < ctx->n2; i++) {
            double A = fd(&a, deriv, o.sa * ctx->x2[i]);
            for (int j = 0; j < ctx->n2; j++)
                I2 += ctx->w2[i] * ctx->w2[j] * A * fd(&a, deriv, o.sb * (c * ctx->x2[i] + o.s * ctx->x2[j]));
        }
        if (isfinite(I) && fabs(I - I2) <= GH_RTOL * scale) {
            *out = I;
            return VP_OK;
        }
    }
    bpts bp = { .n = 0 };
    bp_add_u(&bp, o.sa, 0.0, a.nk, a.kinks);
    int rc;
    if (o.s == 0.0) {
        bp_add_u(&bp, o.sb, 0.0, a.nk, a.kinks); /* u2 = +-sb z: kinks mirror for c = -1 */
        if (c < 0) for (int i = 0; i < a.nk; i++) bp_add(&bp, -a.kinks[i] / o.sb);
        bp_finish(&bp);
        rc = vp_gk_integrate(int2_line, &o, bp.p, bp.n, 0.0, out);
    } else {
        /* The inner integrals carry errors ~1e-13 of their own |integrand|, so
         * the outer one cannot resolve below that noise when the result is
         * small (e.g. c ~ 0 with E[phi] ~ 0). Absolute floor: 1e-12 of
         * sqrt(E[A(u1)^2] E[B(u2)^2]), the Cauchy-Schwarz bound of E|A B|. */
        double ea = 0.0, eb = 0.0;
        vp_theory_exp1 k1 = deriv ? VP_EXP_DPHI2 : VP_EXP_PHI2;
        vp_status s1 = vp_theory_expect(ctx, act, k1, q_aa, &ea, err);
        if (s1 == VP_OK) s1 = vp_theory_expect(ctx, act, k1, q_bb, &eb, err);
        if (s1 != VP_OK) return s1;
        bp_finish(&bp);
        /* An inner integral E[B(u2) | z1] is at most sqrt(E[B^2]) in size where it
         * matters; where it is far smaller (B ~ 0 in a saturated region) a relative
         * target is unreachable and pointless: its error is weighted by
         * vp_normal_pdf(z1) |A| <= sqrt(E[A^2]) in the outer sum, so an absolute floor of
         * 1e-14 sqrt(E[B^2]) stays below the outer floor above. */
        o.inner_atol = 1e-14 * sqrt(eb);
        rc = vp_gk_integrate(int2_outer, &o, bp.p, bp.n, 1e-12 * sqrt(ea * eb), out);
    }
    if (rc != 0 || o.failed)
        return quad_fail(act, deriv ? "E[phi'(u1) phi'(u2)]" : "E[phi(u1) phi(u2)]", q_aa, err);
    return VP_OK;
}

