/* init_dist: see init_dist.h. Truncated normal sampling as PyTorch's
 * trunc_normal_ (PR #174997), its moments from the standard formulas (Johnson,
 * Kotz & Balakrishnan, ch. 13), the Keras/JAX 0.8796 correction and PyTorch
 * sparse_ (docs/reference/initializers.md). */
#include "core/init_dist.h"

#include <math.h>
#include <stdlib.h>

#include "core/init.h"
#include "core/normal.h"
#include "core/simd.h"

/* Std of N(0,1) truncated to (-2, 2): Keras/JAX VarianceScaling divide by it so the
 * post-truncation std is the requested one. sqrt(1 - 4 phi(2)/(2 Phi(2) - 1)). */
#define TRUNC2_STD 0.87962566103423978

/* ---- constructors ---- */

static void set(vp_init_dist *d, vp_init_shape shape, double loc, double scale, double lo, double hi)
{
    *d = (vp_init_dist){ .shape = shape, .loc = loc, .scale = scale, .lo = lo, .hi = hi, .has_moments = 1 };
}

void vp_dist_const(vp_init_dist *d, double value)
{
    set(d, VP_SHAPE_CONST, value, 0.0, 0.0, 0.0);
    d->mean = value;
}

void vp_dist_uniform(vp_init_dist *d, double lo, double hi)
{
    set(d, VP_SHAPE_UNIFORM, 0.0, 0.0, lo, hi);
    d->mean = 0.5 * (lo + hi);
    d->var = (hi - lo) * (hi - lo) / 12.0;
}

/* U(-bound, bound) or N(0, std^2) with the variance the caller's term gives. */
static void sym_uniform(vp_init_dist *d, double bound, double var)
{
    set(d, VP_SHAPE_UNIFORM, 0.0, 0.0, -bound, bound);
    d->var = var;
}
static void zero_normal(vp_init_dist *d, double std, double var)
{
    set(d, VP_SHAPE_NORMAL, 0.0, std, 0.0, 0.0);
    d->var = var;
}

void vp_dist_uniform_std(vp_init_dist *d, double std) { sym_uniform(d, sqrt(3.0) * std, std * std); }
void vp_dist_uniform_var(vp_init_dist *d, double var) { sym_uniform(d, sqrt(3.0 * var), var); }
void vp_dist_uniform_gain(vp_init_dist *d, double gain, double k, double n)
{
    sym_uniform(d, sqrt(3.0) * gain * sqrt(k / n), gain * gain * k / n);
}
void vp_dist_uniform_fan(vp_init_dist *d, double gain, double n)
{
    sym_uniform(d, n > 0 ? gain / sqrt(n) : 0.0, n > 0 ? gain * gain / (3.0 * n) : 0.0);
}

void vp_dist_normal(vp_init_dist *d, double mean, double std)
{
    set(d, VP_SHAPE_NORMAL, mean, std, 0.0, 0.0);
    d->mean = mean;
    d->var = std * std;
}
void vp_dist_normal_var(vp_init_dist *d, double var) { zero_normal(d, sqrt(var), var); }
void vp_dist_normal_gain(vp_init_dist *d, double gain, double k, double n)
{
    zero_normal(d, gain * sqrt(k / n), gain * gain * k / n);
}
void vp_dist_normal_fan(vp_init_dist *d, double gain, double n) { zero_normal(d, gain / sqrt(n), gain * gain / n); }

/* Moments of N(0,1) truncated to [a, b]. */
static void trunc_moments(double a, double b, double *m, double *v)
{
    double Z = vp_normal_cdf(b) - vp_normal_cdf(a);
    double pa = isfinite(a) ? vp_normal_pdf(a) : 0, pb = isfinite(b) ? vp_normal_pdf(b) : 0;
    double apa = isfinite(a) ? a * pa : 0, bpb = isfinite(b) ? b * pb : 0;
    *m = (pa - pb) / Z;
    *v = 1.0 + (apa - bpb) / Z - (*m) * (*m);
}

void vp_dist_trunc(vp_init_dist *d, double mean, double std, double lo, double hi)
{
    double m, v;
    set(d, VP_SHAPE_TRUNC, mean, std, lo, hi);
    trunc_moments(lo, hi, &m, &v);
    d->mean = mean + std * m;
    d->var = std * std * v;
}

void vp_dist_trunc2_var(vp_init_dist *d, double var)
{
    set(d, VP_SHAPE_TRUNC2, 0.0, sqrt(var), 0.0, 0.0);
    d->var = var;
}

/* Zeros per column of PyTorch sparse_: ceil(frac * rows), at most rows. */
static size_t sparse_zeros(double frac, size_t fan_out)
{
    size_t zeros = (size_t)ceil(frac * (double)fan_out);
    return zeros > fan_out ? fan_out : zeros;
}

void vp_dist_sparse(vp_init_dist *d, double frac, double std, size_t fan_out)
{
    set(d, VP_SHAPE_SPARSE, 0.0, std, 0.0, 0.0);
    d->frac = frac;
    d->var = std * std * (1.0 - (double)sparse_zeros(frac, fan_out) / (double)fan_out);
}

void vp_dist_eye(vp_init_dist *d, double gain)
{
    set(d, VP_SHAPE_EYE, 0.0, gain, 0.0, 0.0);
    d->has_moments = 0;
}

void vp_dist_orthogonal(vp_init_dist *d, double gain, size_t fan_out, size_t fan_in)
{
    set(d, VP_SHAPE_ORTHOGONAL, 0.0, gain, 0.0, 0.0);
    d->var = gain * gain / (double)(fan_out > fan_in ? fan_out : fan_in);
}

/* ---- standard normal truncated to [lo, hi] (standard units) ----
 * Same two regimes as PyTorch's trunc_normal_ (PR #174997): if the interval holds
 * more than 30% of the mass, redraw N(0,1) until inside; otherwise propose
 * U(lo, hi) and accept with probability exp(-x^2/2) / exp(-mode^2/2). Attempt k of
 * element i uses element i of stream k, so the result does not depend on thread count. */
static vp_status trunc_std_normal(const vp_rng *rng, size_t start, size_t n, double lo, double hi, double *out,
                                  vp_err *err)
{
    if (!(lo < hi)) return vp_fail(err, VP_ERR_CONFIG, "truncation bounds must satisfy a < b");
    double mass = vp_normal_cdf(hi) - vp_normal_cdf(lo);
    double mode = lo > 0 ? lo : (hi < 0 ? hi : 0.0);
    const uint32_t max_draws = 1u << 20;
    /* Attempt 0 of every element in one pass (element i of normal stream 0, made a
     * block at a time); only the rejected elements go on to streams 1, 2, ... */
    if (mass > 0.3) vp_rng_normal_range(rng, 0, start, n, out);
    for (size_t i = 0; i < n; i++) {
        if (mass > 0.3 && out[i] >= lo && out[i] <= hi) continue;
        uint32_t k = mass > 0.3 ? 1 : 0;
        for (;; k++) {
            if (k >= max_draws)
                return vp_fail(err, VP_ERR_NUMERIC,
                               "truncated normal: no accepted draw in %u tries (interval [%g, %g] "
                               "standard deviations holds too little mass)", max_draws, lo, hi);
            if (mass > 0.3) {
                double z = vp_rng_normal_at(rng, start + i, k); /* element start + i of normal stream k */
                if (z >= lo && z <= hi) { out[i] = z; break; }
            } else {
                double u[2];
                vp_rng_uniform2(rng, start + i, k, u);
                double x = lo + (hi - lo) * u[0];
                if (log(u[1]) <= -0.5 * (x * x - mode * mode)) { out[i] = x; break; }
            }
        }
    }
    return VP_OK;
}

/* PyTorch sparse_: the N(0, std^2) draw in out, then `zeros` zero rows per column
 * (a partial Fisher-Yates of the rows on the mask stream). */
static vp_status sparsify(const vp_rng *rng, size_t fo, size_t fi, size_t zeros, double *out, vp_err *err)
{
    vp_rng mask = vp_rng_make(rng->seed, rng->layer, VP_RNG_MASK);
    size_t *perm = malloc(fo * sizeof *perm);
    if (!perm) return vp_fail(err, VP_ERR_NOMEM, "sparse init: out of memory");
    for (size_t c = 0; c < fi; c++) {
        /* partial Fisher-Yates: the first `zeros` entries of a random permutation of rows */
        for (size_t r = 0; r < fo; r++) perm[r] = r;
        for (size_t k = 0; k < zeros; k++) {
            size_t j = k + (size_t)vp_rng_below(&mask, (uint64_t)c * fo + k, 0, fo - k);
            size_t t = perm[k]; perm[k] = perm[j]; perm[j] = t;
            out[perm[k] * fi + c] = 0.0;
        }
    }
    free(perm);
    return VP_OK;
}

/* ---- draw and support ---- */

int vp_dist_entrywise(const vp_init_dist *d)
{
    return d->shape != VP_SHAPE_SPARSE && d->shape != VP_SHAPE_ORTHOGONAL;
}

/* The one formula of the normal shapes' entries. */
static inline double normal_entry(const vp_init_dist *d, double z) { return d->loc + d->scale * z; }

/* Both maps run over every weight of a sweep's cached draws (VP_CLONES: AVX-512/AVX2
 * widths, the same bits: ISO C, no contraction of the multiply-add). */
VP_CLONES
void vp_dist_normal_map(const vp_init_dist *d, const double *z, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = normal_entry(d, z[i]);
}

VP_CLONES
void vp_dist_normal_map_f32(const vp_init_dist *d, const double *z, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)normal_entry(d, z[i]);
}

/* Entries [start, start + n) of an entrywise shape's draw of a matrix with fi
 * columns: each writes entry i from (rng, i) alone (rng.h: element i of a stream;
 * trunc: attempt k of element i), so any range of a weight can be drawn by itself with
 * the bits of the whole draw. */
static vp_status draw_range(const vp_init_dist *d, size_t fi, size_t start, size_t n, const vp_rng *rng,
                            double *out, vp_err *err)
{
    vp_status s = VP_OK;
    switch (d->shape) {
    case VP_SHAPE_CONST:
        for (size_t i = 0; i < n; i++) out[i] = d->loc;
        return VP_OK;
    case VP_SHAPE_UNIFORM:
        vp_rng_uniform_range(rng, 0, start, n, out);
        for (size_t i = 0; i < n; i++) out[i] = d->lo + (d->hi - d->lo) * out[i];
        return VP_OK;
    case VP_SHAPE_NORMAL:
        vp_rng_normal_range(rng, 0, start, n, out);
        vp_dist_normal_map(d, out, n, out);
        return VP_OK;
    case VP_SHAPE_TRUNC:
        s = trunc_std_normal(rng, start, n, d->lo, d->hi, out, err);
        for (size_t i = 0; !s && i < n; i++) out[i] = d->loc + d->scale * out[i];
        return s;
    case VP_SHAPE_TRUNC2:
        s = trunc_std_normal(rng, start, n, -2.0, 2.0, out, err);
        for (size_t i = 0; !s && i < n; i++) out[i] *= d->scale / TRUNC2_STD;
        return s;
    case VP_SHAPE_EYE:
        for (size_t i = 0; i < n; i++) out[i] = ((start + i) / fi == (start + i) % fi) ? d->scale : 0.0;
        return VP_OK;
    case VP_SHAPE_SPARSE:
    case VP_SHAPE_ORTHOGONAL:
        break;
    }
    return vp_fail(err, VP_ERR_USAGE, "this initializer draws the whole matrix at once");
}

/* Entries [0, n) of the draw (n: the whole weight or bias). */
static vp_status draw_n(const vp_init_dist *d, int single, size_t fo, size_t fi, size_t n,
                        const vp_rng *rng, double *out, vp_err *err)
{
    switch (d->shape) {
    case VP_SHAPE_SPARSE:
        vp_rng_normal_fill(rng, 0, out, n);
        vp_dist_normal_map(d, out, n, out);
        return sparsify(rng, fo, fi, sparse_zeros(d->frac, fo), out, err);
    case VP_SHAPE_ORTHOGONAL:
        return vp_init_orthogonal(fo, fi, d->scale, single, rng, out, err);
    case VP_SHAPE_CONST:
    case VP_SHAPE_UNIFORM:
    case VP_SHAPE_NORMAL:
    case VP_SHAPE_TRUNC:
    case VP_SHAPE_TRUNC2:
    case VP_SHAPE_EYE:
        return draw_range(d, fi, 0, n, rng, out, err);
    }
    return vp_fail(err, VP_ERR_CONFIG, "internal: unknown initializer shape %d", (int)d->shape);
}

vp_status vp_dist_draw(const vp_init_dist *d, int single, size_t fo, size_t fi, int is_bias,
                       const vp_rng *rng, double *out, vp_err *err)
{
    return draw_n(d, single, fo, fi, is_bias ? fo : fo * fi, rng, out, err);
}

vp_status vp_dist_draw_range(const vp_init_dist *d, size_t fo, size_t fi, int is_bias, size_t start, size_t k,
                             const vp_rng *rng, double *out, vp_err *err)
{
    if (!vp_dist_entrywise(d)) return vp_fail(err, VP_ERR_USAGE, "this initializer draws the whole matrix at once");
    size_t n = is_bias ? fo : fo * fi;
    if (start >= n) return VP_OK;
    return draw_range(d, fi, start, k < n - start ? k : n - start, rng, out, err);
}

int vp_dist_support(const vp_init_dist *d, double *lo, double *hi)
{
    *lo = -INFINITY;
    *hi = INFINITY;
    switch (d->shape) {
    case VP_SHAPE_CONST: *lo = *hi = d->loc; return 1;
    case VP_SHAPE_UNIFORM: *lo = d->lo; *hi = d->hi; return 1;
    case VP_SHAPE_TRUNC: *lo = d->loc + d->scale * d->lo; *hi = d->loc + d->scale * d->hi; return 1;
    case VP_SHAPE_TRUNC2: *hi = 2.0 * d->scale / TRUNC2_STD; *lo = -*hi; return 1;
    case VP_SHAPE_EYE: *lo = d->scale < 0 ? d->scale : 0; *hi = d->scale > 0 ? d->scale : 0; return 1;
    case VP_SHAPE_ORTHOGONAL: *hi = d->scale; *lo = -*hi; return 1; /* |Q_ij| <= 1 */
    case VP_SHAPE_NORMAL:
    case VP_SHAPE_SPARSE: break;
    }
    return 0;
}
