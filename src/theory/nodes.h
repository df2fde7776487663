/* nodes (private to src/theory/: expect.c, mehler.c): the activation as the Gaussian
 * quadrature rules see it, evaluated at an array of nodes, the Gaussian weights of a
 * lattice, and the lattice constants that expect.c's lattice rules and mehler.c's
 * series share (their derivation: expect.c, "lattice (trapezoid) rule"). */
#ifndef VP_THEORY_NODES_H
#define VP_THEORY_NODES_H

#include <stddef.h>

#include "core/act.h"

#define TWO_PI 6.283185307179586476925286766559
#define LAT_HU 0.2          /* step in u: tanh's strip d = pi/2 leaves exp(-2 pi d/h) ~ 2e-22 at h, 2e-11 at 2h */
#define LAT_E 80.0          /* Gaussian aliasing e^-80 at h, e^-20 ~ 2e-9 at 2h (the law is exp(-a/h^2)) */
#define LAT_DELTA 1e-6      /* the even sublattice must agree to this fraction of the scale */
#define LAT_MAXN 1024       /* nodes per side at most (2 LAT_MAXN + 1 in all) */

/* The activation as the quadrature rules see it (a plain value; p borrowed from the
 * vp_act it was made from). */
typedef struct {
    vp_scalar_fn f, df;
    vp_act_kernel_f64 kernel; /* phi and phi' of an array at once (SIMD); NULL where the
                                 theory's phi is the row's f_accurate, which has none */
    const double *p;
    int nk;
    double kinks[4];
    int xl;                /* exponential-linear row: phi = xa u (u > 0), xb (e^{u/xk} - 1) */
    double xa, xb, xk;
} actfn;

void vp_nodes_act(const vp_act *act, actfn *a);

/* phi (f) and phi' (d) at u[0..n) -- either output may be NULL -- through the row's
 * vector kernel where the theory may use it (the same phi as a->f), else one by one.
 * scratch: n doubles, used when an output is NULL. */
void vp_nodes_eval(const actfn *a, const double *u, double *f, double *d, size_t n, double *scratch);

/* w[i] = scale exp(-(i h)^2 / 2), i = 0..m-1, through vmath.h's vm_exp (<= 1 ulp,
 * branch-free: the loop vectorizes; the same bits on every clone). */
void vp_nodes_gauss(double h, int m, double scale, double *restrict w);

#endif
