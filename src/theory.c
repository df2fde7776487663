/* theory: see theory.h. Mean-field equations of Poole et al. 2016 / Schoenholz
 * et al. 2017 (../shared/reference/papers.md §4), Jacobian moments of Pennington
 * et al. 2017 (§5), closed forms of neural-tangents (§10). docs/theory.md has
 * the derivations, conventions and measured accuracy. */
#include "theory.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* LAPACK (exported by OpenBLAS): symmetric tridiagonal eigenproblem. The
 * trailing size_t is gfortran's hidden length of the CHARACTER argument. */
extern void dstev_(const char *jobz, const int *n, double *d, double *e, double *z,
                   const int *ldz, double *work, int *info, size_t jobz_len);

#define INV_SQRT_2PI 0.39894228040143267793994605993438
#define TWO_PI 6.283185307179586476925286766559

/* q below this is treated as its q -> 0+ limit (kinks at 0 are then averaged). */
#define Q_FLOOR 1e-30
/* Integration range in z for the adaptive rule: N(0,1) mass beyond 12 is 4e-33. */
#define Z_MAX 12.0
/* Relative accuracy targets (relative to E|integrand|). */
#define GH_RTOL 1e-12     /* 96- vs 48-node agreement needed to accept Gauss-Hermite */
#define GK_RTOL 1e-13     /* adaptive Gauss-Kronrod target */
#define GK_RTOL_MIN 1e-9  /* accepted if the interval budget runs out above GK_RTOL */
#define GK_MAXI 256       /* interval budget of one adaptive integral */

/* ---- Gauss-Hermite rule (Golub & Welsch 1969) ---- */

vp_status vp_gh_rule(int n, double *x, double *w, vp_err *err)
{
    if (n < 1 || n > VP_GH_MAX)
        return vp_fail(err, VP_ERR_USAGE, "Gauss-Hermite order %d outside [1, %d]", n, VP_GH_MAX);
    /* Jacobi matrix of the monic probabilists' Hermite polynomials
     * He_{k+1} = x He_k - k He_{k-1}: diagonal 0, off-diagonal sqrt(k). */
    double d[VP_GH_MAX], e[VP_GH_MAX], work[2 * VP_GH_MAX];
    static const size_t zsize = (size_t)VP_GH_MAX * VP_GH_MAX;
    double *z = malloc_vectors_unused_guard(0);
    (void)z;
    (void)zsize;
    return vp_fail(err, VP_ERR_NUMERIC, "unreachable");
}
