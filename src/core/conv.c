/* conv: see conv.h. */
#include "core/conv.h"

#include <stdlib.h>
#include <string.h>

#include "core/init_dist.h" /* the registry's distribution at the conv fans, drawn at the matrix shape */

int vp_conv_out_dim(int in, int k, int stride, int pad)
{
    if (stride < 1) return 0;
    int span = in + 2 * pad - k;
    return span < 0 ? 0 : span / stride + 1;
}

#define IM2COL(NAME, REAL)                                                                                      \
    void NAME(const vp_conv_geom *g, const REAL *x, REAL *col)                                                  \
    {                                                                                                           \
        size_t P = (size_t)g->ho * (size_t)g->wo;                                                               \
        for (int i = 0; i < g->c; i++)                                                                          \
            for (int u = 0; u < g->k; u++)                                                                      \
                for (int v = 0; v < g->k; v++) {                                                                \
                    REAL *row = col + ((size_t)(i * g->k + u) * (size_t)g->k + (size_t)v) * P;                  \
                    for (int y = 0; y < g->ho; y++) {                                                           \
                        int iy = y * g->stride + u - g->pad;                                                    \
                        REAL *r = row + (size_t)y * (size_t)g->wo;                                              \
                        if (iy < 0 || iy >= g->h) {                                                             \
                            memset(r, 0, (size_t)g->wo * sizeof *r);                                            \
                            continue;                                                                           \
                        }                                                                                       \
                        const REAL *xr = x + ((size_t)i * (size_t)g->h + (size_t)iy) * (size_t)g->w;            \
                        for (int xo = 0; xo < g->wo; xo++) {                                                    \
                            int ix = xo * g->stride + v - g->pad;                                               \
                            r[xo] = ix < 0 || ix >= g->w ? (REAL)0 : xr[ix];                                    \
                        }                                                                                       \
                    }                                                                                           \
                }                                                                                               \
    }

/* The walk of col2im: STMT runs for every col entry r[xo] that lands inside the input,
 * at x[i][iy][ix], in a fixed order. */
#define COL2IM_WALK(REAL, STMT)                                                                                 \
    size_t P = (size_t)g->ho * (size_t)g->wo;                                                                   \
    for (int i = 0; i < g->c; i++)                                                                              \
        for (int u = 0; u < g->k; u++)                                                                          \
            for (int v = 0; v < g->k; v++) {                                                                    \
                const REAL *row = col + ((size_t)(i * g->k + u) * (size_t)g->k + (size_t)v) * P;                \
                for (int y = 0; y < g->ho; y++) {                                                               \
                    int iy = y * g->stride + u - g->pad;                                                        \
                    if (iy < 0 || iy >= g->h) continue;                                                         \
                    const REAL *r = row + (size_t)y * (size_t)g->wo;                                            \
                    size_t xrow = ((size_t)i * (size_t)g->h + (size_t)iy) * (size_t)g->w;                       \
                    for (int xo = 0; xo < g->wo; xo++) {                                                        \
                        int ix = xo * g->stride + v - g->pad;                                                   \
                        if (ix >= 0 && ix < g->w) STMT;                                                         \
                    }                                                                                           \
                }                                                                                               \
            }

#define COL2IM(NAME, REAL)                                                                                      \
    void NAME(const vp_conv_geom *g, const REAL *col, REAL *x)                                                  \
    {                                                                                                           \
        COL2IM_WALK(REAL, x[xrow + (size_t)ix] += r[xo])                                                        \
    }

#define COL2IM_SUM(NAME, REAL)                                                                                  \
    double NAME(const vp_conv_geom *g, const REAL *col)                                                         \
    {                                                                                                           \
        double s = 0;                                                                                           \
        COL2IM_WALK(REAL, ((void)xrow, s += (double)r[xo]))                                                     \
        return s;                                                                                               \
    }

IM2COL(vp_im2col_f32, float)
IM2COL(vp_im2col_f64, double)
COL2IM(vp_col2im_add_f32, float)
COL2IM(vp_col2im_add_f64, double)
COL2IM_SUM(vp_col2im_sum_f32, float)
COL2IM_SUM(vp_col2im_sum_f64, double)

void vp_conv_fans(int c_in, int c_out, int k, size_t *fan_in, size_t *fan_out)
{
    size_t area = (size_t)k * (size_t)k;
    *fan_in = (size_t)c_in * area;
    *fan_out = (size_t)c_out * area;
}

int vp_conv_init_ok(const vp_init *in, int k)
{
    const vp_init_info *info = vp_init_get(in->kind);
    if (info->data_dependent) return 0;
    return k == 1 || (in->kind != VP_INIT_IDENTITY && in->kind != VP_INIT_SPARSE);
}

/* The row's distribution at the conv fans, drawn as a [c_out, c_in k^2] matrix (a
 * bias: c_out entries): PyTorch computes the bound or std from the fans and fills the
 * 4-D tensor, whose row-major order is this matrix's. */
static vp_status conv_draw(const vp_init *in, int c_out, int c_in, int k, int is_bias, const vp_rng *rng,
                           double *out, vp_err *err)
{
    const vp_init_info *info = vp_init_get(in->kind);
    if (!vp_conv_init_ok(in, k))
        return vp_fail(err, VP_ERR_CONFIG, "%s cannot initialize a %dx%d convolution", info->name, k, k);
    if (!is_bias && !info->weight_ok) return vp_fail(err, VP_ERR_CONFIG, "not a weight initializer");
    if (is_bias && !(info->bias_ok || info->sets_bias))
        return vp_fail(err, VP_ERR_CONFIG, "%s cannot initialize biases", info->name);
    if ((in->auto_mask | in->critical_mask) && !in->auto_resolved)
        return vp_fail(err, VP_ERR_CONFIG, "internal: unresolved \"auto\" gain for %s", info->name);
    size_t fi, fo;
    vp_conv_fans(c_in, c_out, k, &fi, &fo);
    vp_init_dist d;
    info->dist(in, fo, fi, is_bias, &d);
    return vp_dist_draw(&d, in->single, (size_t)c_out, fi, is_bias, rng, out, err);
}

vp_status vp_conv_init_weight(const vp_init *in, int c_out, int c_in, int k, const vp_rng *rng, double *W,
                              vp_err *err)
{
    if (k == 1) return vp_init_weight(in, (size_t)c_out, (size_t)c_in, rng, W, err);
    return conv_draw(in, c_out, c_in, k, 0, rng, W, err);
}

vp_status vp_conv_init_bias(const vp_init *in, int c_out, int c_in, int k, const vp_rng *rng, double *b,
                            vp_err *err)
{
    if (k == 1) return vp_init_bias(in, (size_t)c_out, (size_t)c_in, rng, b, err);
    return conv_draw(in, c_out, c_in, k, 1, rng, b, err);
}

vp_status vp_delta_orthogonal(int c_out, int c_in, int k, double gain, int single, const vp_rng *rng, double *W,
                              vp_err *err)
{
    if (c_in > c_out)
        return vp_fail(err, VP_ERR_CONFIG, "delta_orthogonal needs in_channels <= out_channels (got %d > %d)", c_in,
                       c_out);
    double *H = malloc((size_t)c_in * (size_t)c_out * sizeof *H);
    if (!H) return vp_fail(err, VP_ERR_NOMEM, "delta_orthogonal: out of memory");
    vp_status s = vp_init_orthogonal((size_t)c_in, (size_t)c_out, gain, single, rng, H, err);
    if (!s) {
        size_t area = (size_t)k * (size_t)k, centre = (size_t)((k - 1) / 2) * (size_t)k + (size_t)((k - 1) / 2);
        memset(W, 0, (size_t)c_out * (size_t)c_in * area * sizeof *W);
        for (int o = 0; o < c_out; o++)
            for (int i = 0; i < c_in; i++)
                W[((size_t)o * (size_t)c_in + (size_t)i) * area + centre] = H[(size_t)i * (size_t)c_out + (size_t)o];
    }
    free(H);
    return s;
}
