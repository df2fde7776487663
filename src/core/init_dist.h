/* init_dist: the distribution of one entry of an initializer's draw -- its
 * shape (constant, uniform, normal, truncated normal, ...) and parameters --
 * and everything derived from it: the draw, the exact mean and variance, the
 * support. Internal to the init module.
 *
 * Each row of the init registry writes its formula once, as a `dist` function
 * (init.c) that calls one constructor below; which constructor says which
 * quantity the formula defines -- the variance (variance_scaling: scale/n),
 * the standard deviation (kaiming: gain/sqrt(fan)) or the bounds (uniform,
 * torch_linear) -- and the constructor derives the rest from that quantity
 * alone. The draw then uses exactly the arithmetic the formula gives (a bound
 * sqrt(3 var) from a variance, sqrt(3) std from a std), so every draw is the
 * same bits as when each row had its own draw function.
 *
 * Weights have PyTorch layout [fan_out, fan_in], row-major; a bias (is_bias) is
 * fan_out entries. Pure functions of their arguments; no state.
 */
#ifndef VP_INIT_DIST_H
#define VP_INIT_DIST_H

#include <stddef.h>

#include "base/err.h"
#include "core/rng.h"

typedef enum {
    VP_SHAPE_CONST,      /* every entry is loc */
    VP_SHAPE_UNIFORM,    /* U[lo, hi) */
    VP_SHAPE_NORMAL,     /* N(loc, scale^2) */
    VP_SHAPE_TRUNC,      /* loc + scale z, z ~ N(0, 1) truncated to [lo, hi] (units of scale) */
    VP_SHAPE_TRUNC2,     /* Keras/JAX: z ~ N(0, 1) truncated to [-2, 2], times scale/0.8796...:
                            the standard deviation after truncation is scale */
    VP_SHAPE_SPARSE,     /* N(0, scale^2), then ceil(frac * fan_out) zeros per column */
    VP_SHAPE_EYE,        /* scale * eye(fan_out, fan_in): structure, no i.i.d. moments */
    VP_SHAPE_ORTHOGONAL, /* scale * Q, Q with orthonormal rows or columns */
} vp_init_shape;

struct vp_init_dist {
    vp_init_shape shape;
    double loc, scale, lo, hi, frac; /* as the shape says */
    int has_moments;                  /* mean and var are the exact moments of one entry */
    double mean, var;
};
typedef struct vp_init_dist vp_init_dist;

/* ---- constructors: the quantity a row's formula defines -> the distribution ----
 * Several name the same law (a uniform, a normal) in different terms; each keeps
 * the arithmetic of its term, so the moments are exact for it: Var = std^2 from
 * a std, var itself from a variance, gain^2 k/n from a variance-scaling triple. */
void vp_dist_const(vp_init_dist *d, double value);
/* U[lo, hi): mean (lo + hi)/2, variance (hi - lo)^2/12. */
void vp_dist_uniform(vp_init_dist *d, double lo, double hi);
/* U(-sqrt(3) std, sqrt(3) std): variance std^2. */
void vp_dist_uniform_std(vp_init_dist *d, double std);
/* U(-sqrt(3 var), sqrt(3 var)). */
void vp_dist_uniform_var(vp_init_dist *d, double var);
/* Variance gain^2 k/n: U(+-sqrt(3) gain sqrt(k/n)). */
void vp_dist_uniform_gain(vp_init_dist *d, double gain, double k, double n);
/* U(+-gain/sqrt(n)): variance gain^2/(3 n); n = 0 gives the point 0. */
void vp_dist_uniform_fan(vp_init_dist *d, double gain, double n);
/* N(mean, std^2). */
void vp_dist_normal(vp_init_dist *d, double mean, double std);
/* N(0, var), std sqrt(var). */
void vp_dist_normal_var(vp_init_dist *d, double var);
/* Variance gain^2 k/n: N(0, var), std gain sqrt(k/n). */
void vp_dist_normal_gain(vp_init_dist *d, double gain, double k, double n);
/* N(0, gain^2/n), std gain/sqrt(n). */
void vp_dist_normal_fan(vp_init_dist *d, double gain, double n);
/* mean + std z, z ~ N(0, 1) truncated to [lo, hi] (lo < hi, in units of std);
 * moments of the truncated normal. */
void vp_dist_trunc(vp_init_dist *d, double mean, double std, double lo, double hi);
/* Keras/JAX truncated normal (+-2 std before the correction) of variance var. */
void vp_dist_trunc2_var(vp_init_dist *d, double var);
/* PyTorch sparse_: N(0, std^2) with ceil(frac * fan_out) zeros per column. */
void vp_dist_sparse(vp_init_dist *d, double frac, double std, size_t fan_out);
void vp_dist_eye(vp_init_dist *d, double gain);
/* gain * Q for a [fan_out, fan_in] weight: variance gain^2/max(fan_out, fan_in). */
void vp_dist_orthogonal(vp_init_dist *d, double gain, size_t fan_out, size_t fan_in);

/* ---- what derives from a distribution ---- */

/* The normal shapes' entries from standard normals z: loc + scale z (z may be out). The
 * one formula of draw_n and of core/init's unit-draw cache (vp_init_draw_cached), so a
 * cached z gives the bits of a fresh draw. */
void vp_dist_normal_map(const vp_init_dist *d, const double *z, size_t n, double *out);
/* The same entries rounded once to float32 (the bits of vp_dist_normal_map, then a
 * float store). */
void vp_dist_normal_map_f32(const vp_init_dist *d, const double *z, size_t n, float *out);
/* Draw fan_out x fan_in entries (a weight) or fan_out (is_bias) into out.
 * `single`: an orthogonal draw may run its QR in float32 (vp_init.single). */
vp_status vp_dist_draw(const vp_init_dist *d, int single, size_t fan_out, size_t fan_in, int is_bias,
                       const vp_rng *rng, double *out, vp_err *err);

/* 1 if entry i of a draw depends only on (rng, i) and the distribution, so the first
 * k entries can be drawn alone (every shape but sparse and orthogonal, whose entries
 * depend on their column or on the whole matrix). */
int vp_dist_entrywise(const vp_init_dist *d);

/* Entries [start, start + k) (row-major; clipped to the draw) of what vp_dist_draw
 * would write, the same bits, without drawing the rest; VP_ERR_USAGE for a shape that
 * is not entrywise. */
vp_status vp_dist_draw_range(const vp_init_dist *d, size_t fan_out, size_t fan_in, int is_bias, size_t start,
                             size_t k, const vp_rng *rng, double *out, vp_err *err);

/* [lo, hi] of one entry; 1 if bounded, else 0 with -inf, +inf. */
int vp_dist_support(const vp_init_dist *d, double *lo, double *hi);

#endif
