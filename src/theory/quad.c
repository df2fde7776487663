/* quad: see quad.h. Gauss-Hermite by Golub & Welsch (1969); Gauss-Kronrod nodes
 * and weights of QUADPACK qk21 (Piessens et al. 1983); the Illinois variant of
 * regula falsi (Dowell & Jarratt 1971). */
#include "theory/quad.h"

#include <math.h>
#include <stdlib.h>

/* LAPACK (exported by OpenBLAS): symmetric tridiagonal eigenproblem. The
 * trailing size_t is gfortran's hidden length of the CHARACTER argument. */
extern void dstev_(const char *jobz, const int *n, double *d, double *e, double *z,
                   const int *ldz, double *work, int *info, size_t jobz_len);

/* Relative accuracy targets of vp_gk_integrate (relative to the integral of |f|). */
#define GK_RTOL 1e-13     /* adaptive Gauss-Kronrod target */
#define GK_RTOL_MIN 1e-9  /* still accepted when the interval budget runs out */
#define GK_MAXI 256       /* interval budget of one adaptive integral */
#define ROOT_MAXIT 200    /* steps of vp_root_bracket */

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


/* ---- adaptive Gauss-Kronrod (QUADPACK qk21 nodes, global bisection) ---- */

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
static double gk21(vp_quad_fn f, void *arg, double a, double b, double *err, double *absval)
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

/* Global adaptive bisection: the piece with the largest error estimate is
 * halved until the summed estimate is below GK_RTOL * (integral of |f|) + atol;
 * GK_RTOL_MIN is accepted once GK_MAXI pieces are used or a piece cannot be
 * halved any more. */
int vp_gk_integrate(vp_quad_fn f, void *arg, const double *pts, int np, double atol, double *out)
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


/* ---- bracketed root finding ---- */

/* Illinois: after two steps on the same side the function value kept at the
 * other end is halved, so the secant point moves past the root. */
vp_status vp_root_bracket(vp_root_fn f, void *arg, double lo, double hi, double flo, double fhi,
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

