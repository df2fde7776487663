/* normal: the standard normal distribution N(0, 1) -- its density, its
 * distribution function and 1/sqrt(2 pi) -- written once for the initializers
 * (truncated normals, core/init*.c), the activations (GELU, core/act.c) and the
 * Gaussian expectations of the theory (theory/expect.c). libm based, static
 * inline (the theory calls the density inside its quadrature loops). */
#ifndef VP_NORMAL_H
#define VP_NORMAL_H

#include <math.h>

/* 1/sqrt(2 pi), the normal density at 0. */
#define VP_INV_SQRT_2PI 0.39894228040143267793994605993438

/* phi(x) = exp(-x^2/2) / sqrt(2 pi). */
static inline double vp_normal_pdf(double x) { return VP_INV_SQRT_2PI * exp(-0.5 * x * x); }

/* Phi(x) = P(Z <= x) = erfc(-x/sqrt 2)/2 (no cancellation in the lower tail). */
static inline double vp_normal_cdf(double x) { return 0.5 * erfc(-x * M_SQRT1_2); }

#endif
