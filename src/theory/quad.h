/* quad: the numerical machinery of the theory module -- quadrature rules and
 * bracketed root finding, free of any activation or mean-field meaning.
 *
 *  - Gauss-Hermite rules for the standard normal measure (Golub-Welsch through
 *    LAPACK dstev);
 *  - adaptive Gauss-Kronrod integration (QUADPACK G10/K21 nodes, global
 *    bisection) over a list of breakpoints;
 *  - a safeguarded Illinois (modified regula falsi) root finder on a bracket.
 *
 * Pure functions; the only memory is the Jacobi-matrix scratch of vp_gh_rule
 * (malloc'ed and freed inside the call). Failures are a vp_status with a vp_err
 * message (vp_gh_rule, vp_root_bracket) or a return code (vp_gk_integrate: its
 * callers name the integral in their own message).
 */
#ifndef VP_QUAD_H
#define VP_QUAD_H

#include "base/err.h"

#define VP_GH_MAX 128       /* largest Gauss-Hermite rule a vp_theory_ctx stores */

/* ---- Gauss-Hermite rule ---- */

/* n-point Gauss-Hermite rule for the standard normal measure Dz = N(0,1):
 * sum_i w[i] f(x[i]) ~ E[f(z)], exact for polynomials of degree <= 2n-1.
 * Golub-Welsch: the nodes are the eigenvalues of the Jacobi matrix of the
 * probabilists' Hermite polynomials (zero diagonal, off-diagonal sqrt(k)),
 * the weights the squared first components of the normalised eigenvectors.
 * x, w: caller arrays of length n, 1 <= n <= VP_GH_MAX; x ascending. */
vp_status vp_gh_rule(int n, double *x, double *w, vp_err *err);

/* ---- adaptive Gauss-Kronrod ---- */

typedef double (*vp_quad_fn)(double x, void *arg);

/* Integral of f over [pts[0], pts[np-1]] with breakpoints pts (ascending; empty
 * pieces are skipped). Global adaptive bisection of the piece with the largest
 * error estimate |K21 - G10| until the summed estimate is below
 * 1e-13 * (integral of |f|) + atol, in at most 256 pieces. Returns 0 on success,
 * -1 if even 1e-9 * integral |f| + atol was not reached within that budget or
 * the sum is not finite; *out holds the last sum either way. */
int vp_gk_integrate(vp_quad_fn f, void *arg, const double *pts, int np, double atol, double *out);

/* ---- bracketed root finding ---- */

/* f(arg, x) -> *fx; a failure (vp_status != VP_OK) stops the search. */
typedef vp_status (*vp_root_fn)(void *arg, double x, double *fx, vp_err *err);

/* Root of f in [lo, hi] given f(lo) = flo and f(hi) = fhi of opposite signs:
 * Illinois steps, with a bisection step whenever one stalls (every 4th step or
 * outside the bracket). Stops at an exact zero or when hi - lo <= rtol *
 * max(|lo|, |hi|) + atol, else after 200 steps; *root is then the end with the
 * smaller |f|. Fails only when f does. */
vp_status vp_root_bracket(vp_root_fn f, void *arg, double lo, double hi, double flo, double fhi,
                          double rtol, double atol, double *root, vp_err *err);

#endif
