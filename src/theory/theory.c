/* theory: see theory.h. Mean-field equations of Poole et al. 2016 / Schoenholz
 * et al. 2017 (../shared/reference/papers.md §4), Jacobian moments of Pennington
 * et al. 2017 (§5), closed forms as in neural-tangents (§10). docs/theory.md has
 * the derivations, conventions and measured accuracy. */
#include "theory/theory.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (exported by OpenBLAS): symmetric tridiagonal eigenproblem. The
 * trailing size_t is gfortran's hidden length of the CHARACTER argument. */
extern void dstev_(const char *jobz, const int *n, double *d, double *e, double *z,
                   const int *ldz, double *work, int *info, size_t jobz_len);

#define INV_SQRT_2PI 0.39894228040143267793994605993438
#define TWO_PI 6.283185307179586476925286766559

/* q below this is treated as its q -> 0+ limit (a kink at 0 is then averaged). */
#define Q_FLOOR 1e-30
/* Integration range in z of the adaptive rule: N(0,1) mass beyond 12 is 4e-33. */
#define Z_MAX 12.0
/* Relative accuracy targets (relative to E|integrand|). */
#define GH_RTOL 1e-12     /* 96- vs 48-node agreement needed to accept Gauss-Hermite */
#define GK_RTOL 1e-13     /* adaptive Gauss-Kronrod target */
#define GK_RTOL_MIN 1e-9  /* still accepted when the interval budget runs out */
#define GK_MAXI 256       /* interval budget of one adaptive integral */
/* Gauss-Hermite is tried only for q <= this. Above it the integrands of
 * saturating activations vary on a scale 1/sqrt(q) finer than the nodes'
 * spacing near 0 (~0.3): the rules are then inaccurate, and at very large q
 * the 96- and 48-node rules can even agree on the wrong value (both see a step). */
#define GH_QMAX 4.0

/* Fixed-point and root-finding controls. */
#define QSTAR_MAXIT 20000
#define QSTAR_RTOL 1e-13
#define QSTAR_BIG 1e100   /* q^l beyond this: the length map diverges */
#define QSTAR_SNAP 1e-9   /* q^l < SNAP * max(q0, 1) heading to 0: q* = 0 */
#define ROOT_MAXIT 200

/* ---- Gauss-Hermite rule (Golub & Welsch 1969) ---- */

vp_status vp_gh_rule(int n, double *x, double *w, vp_err *err)
{
    if (n < 1 || n > VP_GH_MAX)
        return vp_fail(err, VP_ERR_USAGE, "Gauss-Hermite order %d outside [1, %d]", n, VP_GH_MAX);
    /* Jacobi matrix of the monic probabilists' Hermite polynomials,
     * He_{k+1}(x) = x He_k(x) - k He_{k-1}(x): diagonal 0, off-diagonal sqrt(k).
     * Its eigenvalues are the nodes; the weights are mu_0 v_0^2 with v the unit
     * eigenvector and mu_0 = integral of the weight = 1 for N(0,1). */
    double *z = malloc((size_t)n * (size_t)n * sizeof *z);
    double *work = malloc((size_t)(2 * n) * sizeof *work);
    double *e = malloc((size_t)n * sizeof *e);
    if (!z || !work || !e) {
        free(z), free(work), free(e);
        return vp_fail(err, VP_ERR_NOMEM, "Gauss-Hermite rule: out of memory");
    }
    for (int i = 0; i < n; i++) {
        x[i] = 0.0;
        e[i] = i + 1 < n ? sqrt((double)(i + 1)) : 0.0;
    }
    int info = 0, ldz = n;
    dstev_("V", &n, x, e, z, &ldz, work, &info, 1);
    vp_status st = VP_OK;
    if (info != 0) {
        st = vp_fail(err, VP_ERR_NUMERIC, "Gauss-Hermite rule: LAPACK dstev failed (info = %d)", info);
    } else {
        /* Column j of z (column-major) is eigenvector j; its first entry is z[j*n]. */
        for (int j = 0; j < n; j++) w[j] = z[(size_t)j * (size_t)n] * z[(size_t)j * (size_t)n];
        /* Symmetrize: the exact rule is symmetric about 0; averaging removes
         * O(eps) asymmetry so odd moments vanish to rounding. */
        for (int i = 0; i < n / 2; i++) {
            int k = n - 1 - i;
            double xs = 0.5 * (x[k] - x[i]), ws = 0.5 * (w[i] + w[k]);
            x[i] = -xs, x[k] = xs, w[i] = ws, w[k] = ws;
        }
        if (n % 2) x[n / 2] = 0.0;
    }
    free(z), free(work), free(e);
    return st;
}

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

/* Positively homogeneous activations phi(u) = b u (u > 0), a u (u < 0): identity
 * and the ReLU family. Returns 1 and the slopes, else 0. */
static int abrelu_slopes(const vp_act *act, double *a, double *b)
{
    *b = 1.0;
    switch (act->kind) {
    case VP_ACT_IDENTITY: *a = 1.0; return 1;
    case VP_ACT_RELU: *a = 0.0; return 1;
    case VP_ACT_LEAKY_RELU:
    case VP_ACT_PRELU: *a = act->p[0]; return 1;
    case VP_ACT_RRELU: *a = 0.5 * (act->p[0] + act->p[1]); return 1;
    case VP_ACT_RELU6: case VP_ACT_ELU: case VP_ACT_CELU: case VP_ACT_SELU: case VP_ACT_GELU:
    case VP_ACT_GELU_TANH: case VP_ACT_SILU: case VP_ACT_MISH: case VP_ACT_SIGMOID:
    case VP_ACT_LOG_SIGMOID: case VP_ACT_HARD_SIGMOID: case VP_ACT_HARD_SWISH: case VP_ACT_TANH:
    case VP_ACT_HARD_TANH: case VP_ACT_SOFTPLUS: case VP_ACT_SOFTSIGN: case VP_ACT_TANHSHRINK:
    case VP_ACT_SOFTSHRINK: case VP_ACT_HARDSHRINK: case VP_ACT_THRESHOLD: case VP_ACT_SQUAREPLUS:
    case VP_ACT_SPARSE_PLUS: case VP_ACT_SPARSE_SIGMOID: case VP_ACT_EXPONENTIAL:
    case VP_ACT_GLU: case VP_ACT_SOFTMAX: case VP_ACT_LOG_SOFTMAX: case VP_ACT_SOFTMIN:
    case VP_ACT_STANDARDIZE: case VP_ACT_SPARSEMAX:
    case VP_ACT_COUNT: break;
    }
    return 0;
}

/* 1-D closed forms for u ~ N(0, q). ABReLU: E[u+] = sqrt(q/2pi), E[u^2 1{u>0}] =
 * q/2, P(u>0) = 1/2. Exponential: E[e^{ku}] = e^{k^2 q/2} (log-normal moments). */
static int closed_form1(const vp_act *act, vp_theory_exp1 kind, double q, double *out)
{
    double a, b;
    if (abrelu_slopes(act, &a, &b)) {
        switch (kind) {
        case VP_EXP_PHI: *out = (b - a) * sqrt(q) * INV_SQRT_2PI; return 1;
        case VP_EXP_PHI2: *out = 0.5 * (a * a + b * b) * q; return 1;
        case VP_EXP_DPHI2:
        case VP_EXP_SLOPE: *out = 0.5 * (a * a + b * b); return 1;
        case VP_EXP_DPHI4: *out = 0.5 * (a * a * a * a + b * b * b * b); return 1;
        case VP_EXP_COUNT: return 0;
        }
        return 0;
    }
    if (act->kind == VP_ACT_EXPONENTIAL) {
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
    double a, b, r = sqrt(qa * qb);
    if (abrelu_slopes(act, &a, &b)) {
        double th = acos(c), k = (a - b) * (a - b) / TWO_PI;
        if (kind == VP_EXP2_PHIPHI)
            *out = r * (k * sin(th) + (0.5 * (a * a + b * b) - k * th) * c);
        else
            *out = 0.5 * (a * a + b * b) - k * th;
        return 1;
    }
    if (act->kind == VP_ACT_EXPONENTIAL) {
        *out = exp(0.5 * (qa + qb + 2.0 * c * r));
        return 1;
    }
    return 0;
}

/* ---- adaptive Gauss-Kronrod (QUADPACK qk21 nodes, global bisection) ---- */

typedef double (*gk_fn)(double z, void *arg);

/* Kronrod abscissae on [-1, 1] (positive half, descending; x[10] = 0); the
 * 10-point Gauss nodes are xgk[1], xgk[3], ..., xgk[9]. Piessens et al., QUADPACK. */
static const double XGK[11] = {
    0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
    0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
    0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
    0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
    0.294392862701460198131126603103866, 0.148874338981631210884826001129720, 0.0 };
static const double WGK[11] = {
    0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
    0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
    0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
    0.123491976262065851077208245006581, 0.134709217311473325928054001771707,
    0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
    0.149445554002916905664936468389821 };
static const double WG[5] = {
    0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
    0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
    0.295524224714752870173892994651338 };

/* K21 on [a, b]; *err = |K21 - G10| (a pessimistic estimate of K21's error),
 * *absval = K21 of |f|. */
static double gk21(gk_fn f, void *arg, double a, double b, double *err, double *absval)
{
    double c = 0.5 * (a + b), h = 0.5 * (b - a);
    double fc = f(c, arg);
    double rk = WGK[10] * fc, rg = 0.0, ra = WGK[10] * fabs(fc);
    for (int j = 0; j < 10; j++) {
        double dx = h * XGK[j];
        double f1 = f(c - dx, arg), f2 = f(c + dx, arg);
        rk += WGK[j] * (f1 + f2);
        ra += WGK[j] * (fabs(f1) + fabs(f2));
        if (j % 2 == 1) rg += WG[j / 2] * (f1 + f2);
    }
    *err = fabs((rk - rg) * h);
    *absval = ra * fabs(h);
    return rk * h;
}

/* Integral of f over [pts[0], pts[np-1]] with breakpoints pts (ascending).
 * Global adaptive bisection of the interval with the largest error estimate
 * until the summed estimate is below GK_RTOL * (integral of |f|) + atol.
 * Returns 0 on success, -1 if even GK_RTOL_MIN * integral |f| + atol was not
 * reached within GK_MAXI intervals. */
static int gk_integrate(gk_fn f, void *arg, const double *pts, int np, double atol, double *out)
{
    double ia[GK_MAXI], ib[GK_MAXI], ir[GK_MAXI], ie[GK_MAXI], iabs[GK_MAXI];
    int n = 0;
    for (int i = 0; i + 1 < np && n < GK_MAXI; i++) {
        if (!(pts[i + 1] > pts[i])) continue;
        ia[n] = pts[i], ib[n] = pts[i + 1];
        ir[n] = gk21(f, arg, ia[n], ib[n], &ie[n], &iabs[n]);
        n++;
    }
    for (;;) {
        double tot = 0.0, etot = 0.0, atot = 0.0;
        int worst = -1;
        for (int i = 0; i < n; i++) {
            tot += ir[i], etot += ie[i], atot += iabs[i];
            if (worst < 0 || ie[i] > ie[worst]) worst = i;
        }
        *out = tot;
        if (!isfinite(tot)) return -1;
        /* Rounding floor: K21 cannot resolve below ~eps of the local |f| mass. */
        if (etot <= GK_RTOL * atot + atol + 1e-300) return 0;
        if (n >= GK_MAXI) return etot <= GK_RTOL_MIN * atot + atol ? 0 : -1;
        double a = ia[worst], b = ib[worst], m = 0.5 * (a + b);
        if (!(m > a && m < b)) return etot <= GK_RTOL_MIN * atot + atol ? 0 : -1;
        ib[worst] = m;
        ir[worst] = gk21(f, arg, a, m, &ie[worst], &iabs[worst]);
        ia[n] = m, ib[n] = b;
        ir[n] = gk21(f, arg, m, b, &ie[n], &iabs[n]);
        n++;
    }
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bp_finish(bpts *bp)
{
    static const double Z[5] = { 0.0, -2.0, 2.0, -5.0, 5.0 };
    for (int i = 0; i < 5; i++) bp_add(bp, Z[i]);
    bp->p[bp->n++] = -Z_MAX;
    bp->p[bp->n++] = Z_MAX;
    qsort(bp->p, (size_t)bp->n, sizeof bp->p[0], cmp_double);
    int m = 0;
    for (int i = 0; i < bp->n; i++)
        if (m == 0 || bp->p[i] > bp->p[m - 1]) bp->p[m++] = bp->p[i];
    bp->n = m;
}

/* ---- integrands ---- */

static double npdf(double z) { return INV_SQRT_2PI * exp(-0.5 * z * z); }

typedef struct {
    vp_scalar_fn f, df;
    const double *p;
    int nk;
    double kinks[4];
} actfn;

static void actfn_make(const vp_act *act, actfn *a)
{
    const vp_act_info *info = vp_act_get(act->kind);
    a->f = info->f, a->df = info->df, a->p = act->p;
    a->nk = info->kinks ? info->kinks(act->p, a->kinks) : 0;
}

/* The 1-D quantity g(u, z) whose expectation a vp_theory_exp1 asks for. */
static double g1(const actfn *a, vp_theory_exp1 kind, double sq, double z)
{
    double u = sq * z;
    switch (kind) {
    case VP_EXP_PHI: return a->f(u, a->p);
    case VP_EXP_PHI2: { double v = a->f(u, a->p); return v * v; }
    case VP_EXP_DPHI2: { double d = a->df(u, a->p); return d * d; }
    case VP_EXP_DPHI4: { double d = a->df(u, a->p); d *= d; return d * d; }
    /* Stein: d/dq E[phi(sqrt q z)^2] = E[2 phi phi' z/(2 sqrt q)] = E[phi phi' z]/sqrt q. */
    case VP_EXP_SLOPE: return a->f(u, a->p) * a->df(u, a->p) * z / sq;
    case VP_EXP_COUNT: break;
    }
    return NAN;
}

typedef struct {
    const actfn *a;
    vp_theory_exp1 kind;
    double sq;
} arg1;

static double int1(double z, void *v)
{
    const arg1 *r = v;
    return npdf(z) * g1(r->a, r->kind, r->sq, z);
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
} arg2;

typedef struct {
    const arg2 *o;
    double cz1; /* sb c z1 */
} arg2in;

static double int2_inner(double z2, void *v)
{
    const arg2in *r = v;
    return npdf(z2) * fd(r->o->a, r->o->deriv, r->cz1 + r->o->sb * r->o->s * z2);
}

static double int2_outer(double z1, void *v)
{
    arg2 *o = v;
    double A = fd(o->a, o->deriv, o->sa * z1);
    if (A == 0.0) return 0.0;
    arg2in in = { o, o->sb * o->c * z1 };
    bpts bp = { .n = 0 };
    bp_add_u(&bp, o->sb * o->s, in.cz1, o->a->nk, o->a->kinks);
    bp_finish(&bp);
    double I;
    if (gk_integrate(int2_inner, &in, bp.p, bp.n, o->inner_atol, &I) != 0) o->failed = 1;
    return npdf(z1) * A * I;
}

/* |c| = 1: one Gaussian, u2 = c sb/sa u1. */
static double int2_line(double z, void *v)
{
    const arg2 *o = v;
    return npdf(z) * fd(o->a, o->deriv, o->sa * z) * fd(o->a, o->deriv, o->c * o->sb * z);
}

/* ---- expectations ---- */

static vp_status check_act(const vp_act *act, vp_err *err)
{
    if (!act || !vp_act_get(act->kind)) return vp_fail(err, VP_ERR_USAGE, "theory: no such activation");
    if (vp_act_rowwise(vp_act_get(act->kind)))
        return vp_fail(err, VP_ERR_USAGE, "theory: %s is not elementwise; mean-field theory here covers "
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
    vp_status st = check_act(act, err);
    if (st != VP_OK) return st;
    if ((unsigned)kind >= VP_EXP_COUNT) return vp_fail(err, VP_ERR_USAGE, "theory: bad expectation kind");
    if (!(q >= 0) || !isfinite(q)) return vp_fail(err, VP_ERR_USAGE, "theory: variance q = %g is not a finite number >= 0", q);
    if (q < Q_FLOOR) q = Q_FLOOR;
    if (!ctx->force_quadrature && closed_form1(act, kind, q, out)) return VP_OK;

    actfn a;
    actfn_make(act, &a);
    double sq = sqrt(q);
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
    if (gk_integrate(int1, &r, bp.p, bp.n, 0.0, out) != 0) return quad_fail(act, EXP1_NAME[kind], q, err);
    return VP_OK;
}

vp_status vp_theory_expect2(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_exp2 kind,
                            double q_aa, double q_bb, double c, double *out, vp_err *err)
{
    vp_status st = check_act(act, err);
    if (st != VP_OK) return st;
    if ((unsigned)kind >= VP_EXP2_COUNT) return vp_fail(err, VP_ERR_USAGE, "theory: bad expectation kind");
    if (!(q_aa >= 0) || !(q_bb >= 0) || !isfinite(q_aa) || !isfinite(q_bb))
        return vp_fail(err, VP_ERR_USAGE, "theory: variances (%g, %g) must be finite and >= 0", q_aa, q_bb);
    if (!(c >= -1.0 && c <= 1.0)) return vp_fail(err, VP_ERR_USAGE, "theory: correlation %g outside [-1, 1]", c);
    if (q_aa < Q_FLOOR) q_aa = Q_FLOOR;
    if (q_bb < Q_FLOOR) q_bb = Q_FLOOR;
    if (!ctx->force_quadrature && closed_form2(act, kind, q_aa, q_bb, c, out)) return VP_OK;
    int deriv = kind == VP_EXP2_DPHIDPHI;
    /* c = 1 with equal lengths is exactly the 1-D E[phi^2] / E[phi'^2]: route it
     * there so the correlation map is 1 at c = 1 to the last bit. */
    if (c == 1.0 && q_aa == q_bb)
        return vp_theory_expect(ctx, act, deriv ? VP_EXP_DPHI2 : VP_EXP_PHI2, q_aa, out, err);

    actfn a;
    actfn_make(act, &a);
    /* s = sqrt(1 - c^2) as sqrt((1-c)(1+c)): no cancellation near |c| = 1. */
    arg2 o = { &a, deriv, sqrt(q_aa), sqrt(q_bb), c, sqrt((1.0 - c) * (1.0 + c)), 0, 0.0 };
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
        rc = gk_integrate(int2_line, &o, bp.p, bp.n, 0.0, out);
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
         * npdf(z1) |A| <= sqrt(E[A^2]) in the outer sum, so an absolute floor of
         * 1e-14 sqrt(E[B^2]) stays below the outer floor above. */
        o.inner_atol = 1e-14 * sqrt(eb);
        rc = gk_integrate(int2_outer, &o, bp.p, bp.n, 1e-12 * sqrt(ea * eb), out);
    }
    if (rc != 0 || o.failed)
        return quad_fail(act, deriv ? "E[phi'(u1) phi'(u2)]" : "E[phi(u1) phi(u2)]", q_aa, err);
    return VP_OK;
}

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

/* ---- bracketed root finding ---- */

typedef vp_status (*root_fn)(void *arg, double x, double *fx, vp_err *err);

/* Root of f in [lo, hi] given f(lo), f(hi) of opposite signs: Illinois
 * (modified regula falsi), with a bisection step whenever it stalls. Stops at
 * hi - lo <= rtol * max(|lo|, |hi|) + atol or an exact zero. */
static vp_status root_bracket(root_fn f, void *arg, double lo, double hi, double flo, double fhi,
                              double rtol, double atol, double *root, vp_err *err)
{
    int side = 0;
    for (int it = 0; it < ROOT_MAXIT; it++) {
        if (hi - lo <= rtol * fmax(fabs(lo), fabs(hi)) + atol) break;
        double x = (lo * fhi - hi * flo) / (fhi - flo);
        if (!(x > lo && x < hi) || it % 4 == 3) x = 0.5 * (lo + hi); /* guaranteed shrink */
        double fx;
        vp_status st = f(arg, x, &fx, err);
        if (st != VP_OK) return st;
        if (fx == 0.0) { *root = x; return VP_OK; }
        if ((fx > 0) == (fhi > 0)) {
            hi = x, fhi = fx;
            if (side == 1) flo *= 0.5;
            side = 1;
        } else {
            lo = x, flo = fx;
            if (side == -1) fhi *= 0.5;
            side = -1;
        }
    }
    *root = fabs(flo) < fabs(fhi) ? lo : hi;
    return VP_OK;
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

vp_status vp_theory_qstar(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2,
                          double sigma_b2, double q0, double *q_star, vp_err *err)
{
    vp_status st = check_act(act, err);
    if (st == VP_OK) st = check_sigmas(sigma_w2, sigma_b2, err);
    if (st != VP_OK) return st;
    if (!(q0 >= 0) || !isfinite(q0)) return vp_fail(err, VP_ERR_USAGE, "theory: q0 = %g must be finite and >= 0", q0);
    double sw = sigma_w2, sb = sigma_b2;

    double a, b;
    if (abrelu_slopes(act, &a, &b)) {
        /* Homogeneous phi: the map is affine, q' = k q + sb with k = sw (a^2+b^2)/2. */
        double k = sw * 0.5 * (a * a + b * b);
        if (k < 1.0 - 4 * DBL_EPSILON) { *q_star = sb / (1.0 - k); return VP_OK; }
        if (sb == 0.0 && (fabs(k - 1.0) <= 4 * DBL_EPSILON || q0 == 0.0)) { *q_star = q0; return VP_OK; }
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
            return root_bracket(q_resid, &qa, lo, hi, flo, fhi, 1e-15, 1e-300, q_star, err);
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

typedef struct {
    const vp_theory_ctx *ctx;
    const vp_act *act;
    double sw, sb, q;
} carg;

static vp_status c_resid(void *v, double c, double *f, vp_err *err)
{
    const carg *r = v;
    double cn = 0.0;
    vp_status st = vp_theory_cmap(r->ctx, r->act, r->sw, r->sb, r->q, c, &cn, err);
    *f = cn - c;
    return st;
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
    double e = 0.0;
    if (st == VP_OK) st = vp_theory_chi1(ctx, act, sigma_w2, r.q_star, &r.chi1, err);
    if (st == VP_OK) st = vp_theory_expect(ctx, act, VP_EXP_SLOPE, r.q_star, &e, err);
    if (st != VP_OK) return st;
    /* Slope of the length map at q*: |q^l - q*| ~ |slope|^l = e^{-l/xi_q}. */
    r.qslope = sigma_w2 * e;
    r.xi_q = depth_scale(r.qslope);
    r.phase = r.chi1 < 1.0 - VP_THEORY_CRIT_TOL ? VP_PHASE_ORDERED
            : r.chi1 > 1.0 + VP_THEORY_CRIT_TOL ? VP_PHASE_CHAOTIC : VP_PHASE_CRITICAL;
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
    carg ca = { ctx, act, sigma_w2, sigma_b2, r.q_star };
    double g0;
    if ((st = c_resid(&ca, 0.0, &g0, err)) != VP_OK) return st;
    if (g0 <= 0.0) {
        r.c_star = 0.0;
    } else {
        double hi = NAN, ghi = 0.0;
        for (double d = 0.5; d >= 1e-12; d *= 0.1) {
            if ((st = c_resid(&ca, 1.0 - d, &ghi, err)) != VP_OK) return st;
            if (ghi < 0) { hi = 1.0 - d; break; }
        }
        if (isnan(hi)) {
            /* Within ~1e-6 of criticality the root cannot be separated from 1. */
            r.c_star = 1.0, r.chi_c = r.chi1, r.xi_c = INFINITY;
            *out = r;
            return VP_OK;
        }
        st = root_bracket(c_resid, &ca, 0.0, hi, g0, ghi, 1e-14, 1e-15, &r.c_star, err);
        if (st != VP_OK) return st;
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
    double e2 = 0.0, d2 = 0.0;
    vp_status st = vp_theory_expect(r->ctx, r->act, VP_EXP_PHI2, q, &e2, err);
    if (st == VP_OK) st = vp_theory_expect(r->ctx, r->act, VP_EXP_DPHI2, q, &d2, err);
    if (st != VP_OK) return st;
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
    vp_status st = check_act(act, err);
    if (st == VP_OK) st = check_sigmas(0.0, sigma_b2, err);
    if (st != VP_OK) return st;
    char lab[128];
    vp_act_label(act, lab, sizeof lab);
    double a, b, d2 = 0.0;
    if (abrelu_slopes(act, &a, &b)) {
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
            st = root_bracket(crit_resid, &cr, qprev, q, gprev, g, 1e-14, 1e-300, &root, err);
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

vp_status vp_theory_layer_predictions(const vp_theory_ctx *ctxp, const vp_act *act, int L, const int *widths,
                                      const double *sigma_w2, const double *sigma_b2, double q0,
                                      double *pre_var, double *grad_pre_var, vp_err *err)
{
    vp_status st = check_act(act, err);
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

    /* Forward: no phi on the input, then the length map layer by layer. */
    pre_var[0] = sigma_w2[0] * q0 + sigma_b2[0];
    for (int l = 1; l < L; l++) {
        double e = 0.0;
        if (isfinite(pre_var[l - 1])) {
            if ((st = vp_theory_expect(&ctx, act, VP_EXP_PHI2, pre_var[l - 1], &e, err)) != VP_OK) return st;
        } else {
            e = INFINITY;
        }
        pre_var[l] = sigma_w2[l] * e + sigma_b2[l];
    }
    /* Backward (gradient independence): E[(dL/dz^l)^2] = E[(dL/dh^l)^2] E[phi'(z^l)^2],
     * E[(dL/dh^{l-1})^2] = n_l Var[W^l] E[(dL/dz^l)^2] = sigma_w2 (n_l/n_{l-1}) E[(dL/dz^l)^2]. */
    double gh = 1.0; /* E[(dL/dh^L)^2] of the N(0,1) probe */
    for (int l = L; l >= 1; l--) {
        double d = 0.0;
        if (!isfinite(pre_var[l - 1]))
            d = NAN;
        else if ((st = vp_theory_expect(&ctx, act, VP_EXP_DPHI2, pre_var[l - 1], &d, err)) != VP_OK)
            return st;
        grad_pre_var[l - 1] = gh * d;
        gh = sigma_w2[l - 1] * ((double)widths[l] / (double)widths[l - 1]) * grad_pre_var[l - 1];
    }
    return VP_OK;
}

/* ---- gains ---- */

vp_status vp_theory_gains_of(const vp_theory_ctx *ctx, const vp_act *act, vp_theory_gains *out,
                             vp_err *err)
{
    vp_status st = check_act(act, err);
    if (st != VP_OK) return st;
    const vp_act_info *info = vp_act_get(act->kind);
    out->torch = info->torch_gain ? info->torch_gain(act->p) : NAN;
    double e2 = 0.0;
    if ((st = vp_theory_expect(ctx, act, VP_EXP_PHI2, 1.0, &e2, err)) != VP_OK) return st;
    out->var_preserving = e2 > 0 ? 1.0 / sqrt(e2) : INFINITY;
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
    vp_status st = check_act(act, err);
    if (st != VP_OK) return st;
    const vp_act_info *info = vp_act_get(act->kind);
    if (info->torch_gain) {
        *gain = info->torch_gain(act->p);
        return VP_OK;
    }
    vp_theory_ctx ctx;
    double e2 = 0.0;
    if ((st = vp_theory_ctx_init(&ctx, err)) != VP_OK) return st;
    if ((st = vp_theory_expect(&ctx, act, VP_EXP_PHI2, 1.0, &e2, err)) != VP_OK) return st;
    if (!(e2 > 0)) {
        char lab[128];
        vp_act_label(act, lab, sizeof lab);
        return vp_fail(err, VP_ERR_NUMERIC, "%s: E[phi(z)^2] = 0, no variance-preserving gain", lab);
    }
    *gain = 1.0 / sqrt(e2);
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
