/* Tests of the block network (src/core/net.c, conv.c): every layer's forward and
 * backward pass against central finite differences of the probe loss
 * L = sum g . out (float64), the convolution against a direct loop convolution, a
 * dense-only net against the MLP engine (same bits), conv fans and draws,
 * delta-orthogonal kernels, shape errors, Fixup and SkipInit at identity,
 * determinism across thread counts and the linear growth of a pre-norm residual
 * stack. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "core/conv.h"
#include "core/mlp.h"
#include "core/net.h"
#include "core/rng.h"

static double *dalloc(size_t n)
{
    double *x = calloc(n ? n : 1, sizeof *x);
    cr_assert_not_null(x);
    return x;
}

static vp_layer_spec L_(vp_layer_kind k)
{
    vp_layer_spec l = vp_layer_plain(k);
    l.act = vp_act_default(VP_ACT_IDENTITY);
    l.winit = vp_init_default(VP_INIT_KAIMING_NORMAL);
    l.binit = vp_init_default(VP_INIT_ZEROS);
    return l;
}
static vp_layer_spec dense(int n, vp_act_kind a)
{
    vp_layer_spec l = L_(VP_LAYER_DENSE);
    l.out = n;
    l.act = vp_act_default(a);
    return l;
}
static vp_layer_spec conv(int co, int k, int s, int p, vp_act_kind a)
{
    vp_layer_spec l = L_(VP_LAYER_CONV2D);
    l.out = co;
    l.kernel = k;
    l.stride = s;
    l.padding = p;
    l.act = vp_act_default(a);
    return l;
}
static vp_layer_spec pool(vp_layer_kind k, int size, int stride)
{
    vp_layer_spec l = L_(k);
    l.kernel = size;
    l.stride = stride;
    return l;
}
static vp_layer_spec resid(int skip, double alpha)
{
    vp_layer_spec l = L_(VP_LAYER_RESIDUAL);
    l.skip = skip;
    l.alpha = alpha;
    return l;
}

static vp_net *make(const vp_layer_spec *ls, int n, vp_shape in, int B, vp_precision prec, uint64_t seed)
{
    vp_net *t = NULL;
    vp_err e;
    cr_assert_eq(vp_net_create(&t, ls, n, in, B, prec, &e), VP_OK, "%s", e.msg);
    cr_assert_eq(vp_net_init_params(t, seed, &e), VP_OK, "%s", e.msg);
    size_t nx = (size_t)B * vp_shape_size(in);
    double *x = dalloc(nx);
    vp_rng r = vp_rng_make(seed, 7, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, x, nx);
    vp_net_set_input(t, x);
    free(x);
    return t;
}

/* Central differences of L = sum g . out against the backward pass (wscale 1): the
 * input gradient at every entry and the weight gradient of every weighted layer at a
 * few entries. Step h = 1e-5 in float64: truncation O(h^2 |f'''|) and rounding
 * O(eps |L| / h) are both below 1e-7 relative for these O(1) nets; the tolerance
 * 1e-6 (relative to the gradient's scale) leaves an order of magnitude. Kinks (relu,
 * max) are avoided by smooth activations and random inputs (ties have probability 0). */
static void fd_check(const vp_layer_spec *ls, int n, vp_shape in, int B)
{
    vp_net *t = make(ls, n, in, B, VP_F64, 11);
    size_t nin = (size_t)B * vp_shape_size(in), nout = (size_t)B * vp_shape_size(vp_net_shape(t, n - 1));
    double *g = dalloc(nout), *x = dalloc(nin), *gx = dalloc(nin), *out = dalloc(nout);
    vp_rng r = vp_rng_make(3, 0, VP_RNG_PROBE);
    vp_rng_normal_fill(&r, 0, g, nout);
    vp_err e;
    cr_assert_eq(vp_net_forward(t, NULL, &e), VP_OK);
    cr_assert_eq(vp_net_backward_from(t, g, 1.0, NULL, &e), VP_OK);
    vp_net_export(t, -1, x, gx, NULL, NULL, NULL, NULL);
#define LOSS(res)                                                                                                       \
    do {                                                                                                                \
        vp_net_forward(t, NULL, &e);                                                                                    \
        vp_net_export(t, n - 1, out, NULL, NULL, NULL, NULL, NULL);                                                     \
        res = 0;                                                                                                        \
        for (size_t q = 0; q < nout; q++) res += g[q] * out[q];                                                         \
    } while (0)
    const double h = 1e-5;
    double scale = 0;
    for (size_t i = 0; i < nin; i++) scale = fmax(scale, fabs(gx[i]));
    cr_assert(scale > 0, "input gradient identically 0");
    for (size_t i = 0; i < nin; i++) {
        double x0 = x[i], lp, lm;
        x[i] = x0 + h;
        vp_net_set_input(t, x);
        LOSS(lp);
        x[i] = x0 - h;
        vp_net_set_input(t, x);
        LOSS(lm);
        x[i] = x0;
        vp_net_set_input(t, x);
        double fd = (lp - lm) / (2 * h);
        cr_assert(fabs(fd - gx[i]) <= 1e-6 * scale, "%s: dL/dx[%zu] = %.10g, central difference %.10g",
                  ls[n - 1].path ? ls[n - 1].path : "net", i, gx[i], fd);
    }
    for (int l = 0; l < n; l++) {
        if (!vp_layer_has_weights(ls[l].kind)) continue;
        size_t nw = vp_net_layer_params(&ls[l], vp_net_shape(t, l - 1)) - (size_t)ls[l].out;
        double *W = dalloc(nw), *dW = dalloc(nw), *b = dalloc((size_t)ls[l].out), *db = dalloc((size_t)ls[l].out);
        vp_net_forward(t, NULL, &e);
        vp_net_backward_from(t, g, 1.0, NULL, &e);
        vp_net_export(t, l, NULL, NULL, W, b, dW, db);
        double ws = 0;
        for (size_t i = 0; i < nw; i++) ws = fmax(ws, fabs(dW[i]));
        for (size_t i = 0; i < nw; i += 1 + nw / 13) {
            double w0 = W[i], lp, lm;
            W[i] = w0 + h;
            vp_net_import(t, l, W, NULL);
            LOSS(lp);
            W[i] = w0 - h;
            vp_net_import(t, l, W, NULL);
            LOSS(lm);
            W[i] = w0;
            vp_net_import(t, l, W, NULL);
            double fd = (lp - lm) / (2 * h);
            cr_assert(fabs(fd - dW[i]) <= 1e-6 * ws, "layer %d: dL/dW[%zu] = %.10g, central difference %.10g", l, i,
                      dW[i], fd);
        }
        double b0 = b[0], lp, lm;
        b[0] = b0 + h;
        vp_net_import(t, l, NULL, b);
        LOSS(lp);
        b[0] = b0 - h;
        vp_net_import(t, l, NULL, b);
        LOSS(lm);
        b[0] = b0;
        vp_net_import(t, l, NULL, b);
        cr_assert(fabs((lp - lm) / (2 * h) - db[0]) <= 1e-6 * fmax(ws, fabs(db[0])), "layer %d: dL/db[0]", l);
        free(W);
        free(dW);
        free(b);
        free(db);
    }
#undef LOSS
    free(g);
    free(x);
    free(gx);
    free(out);
    vp_net_free(t);
}

static const vp_shape IMG = { 2, 6, 5, 0 };
static const vp_shape FLAT = { 7, 1, 1, 1 };

Test(net_fd, dense) { vp_layer_spec l[] = { dense(5, VP_ACT_TANH), dense(3, VP_ACT_IDENTITY) }; fd_check(l, 2, FLAT, 3); }
Test(net_fd, conv2d_stride_padding)
{
    vp_layer_spec l[] = { conv(3, 3, 2, 1, VP_ACT_TANH), conv(2, 2, 1, 0, VP_ACT_IDENTITY) };
    fd_check(l, 2, IMG, 2);
}
Test(net_fd, maxpool_flatten_dense)
{
    vp_layer_spec l[] = { conv(3, 3, 1, 1, VP_ACT_TANH), pool(VP_LAYER_MAXPOOL2D, 2, 2), L_(VP_LAYER_FLATTEN),
                          dense(4, VP_ACT_TANH) };
    fd_check(l, 4, IMG, 2);
}
Test(net_fd, avgpool) { vp_layer_spec l[] = { pool(VP_LAYER_AVGPOOL2D, 2, 1), conv(2, 1, 1, 0, VP_ACT_TANH) }; fd_check(l, 2, IMG, 2); }
Test(net_fd, layernorm)
{
    vp_layer_spec l[] = { conv(3, 3, 1, 1, VP_ACT_IDENTITY), L_(VP_LAYER_LAYERNORM), dense(0, VP_ACT_TANH) };
    l[2] = L_(VP_LAYER_FLATTEN);
    fd_check(l, 3, IMG, 3);
}
Test(net_fd, rmsnorm) { vp_layer_spec l[] = { dense(6, VP_ACT_IDENTITY), L_(VP_LAYER_RMSNORM), dense(3, VP_ACT_TANH) }; fd_check(l, 3, FLAT, 3); }
Test(net_fd, batchnorm_conv)
{
    vp_layer_spec l[] = { conv(3, 3, 1, 0, VP_ACT_IDENTITY), L_(VP_LAYER_BATCHNORM), conv(2, 1, 1, 0, VP_ACT_TANH) };
    fd_check(l, 3, IMG, 3);
}
Test(net_fd, batchnorm_dense) { vp_layer_spec l[] = { dense(4, VP_ACT_IDENTITY), L_(VP_LAYER_BATCHNORM), dense(2, VP_ACT_TANH) }; fd_check(l, 3, FLAT, 4); }
Test(net_fd, residual_prenorm_and_postnorm)
{
    /* 0 dense; [1 layernorm, 2 dense, 3 dense, 4 residual(skip 0)] pre-norm;
     * [5 dense, 6 residual(skip 4), 7 rmsnorm] post-norm */
    vp_layer_spec l[] = { dense(5, VP_ACT_TANH), L_(VP_LAYER_LAYERNORM), dense(6, VP_ACT_TANH), dense(5, VP_ACT_IDENTITY),
                          resid(0, 0.7), dense(5, VP_ACT_TANH), resid(4, 1.3), L_(VP_LAYER_RMSNORM) };
    fd_check(l, 8, FLAT, 3);
}

/* ---- plain loop references ---- */

/* Direct convolution z[b][o][y][x] = b[o] + sum_{i,u,v} W[o][i][u][v] x[b][i][ys+u-p][xs+v-p]
 * and dW = (1/B) sum_b,y,x gz x (loop), against the im2col + GEMM layer. */
static void conv_vs_loops(vp_precision prec, double tol)
{
    vp_shape in = { 3, 9, 8, 0 };
    vp_layer_spec l[] = { conv(4, 3, 2, 1, VP_ACT_IDENTITY) };
    l[0].binit = vp_init_default(VP_INIT_NORMAL);
    int B = 3, Co = 4, k = 3, s = 2, p = 1, Ci = 3;
    vp_net *t = make(l, 1, in, B, prec, 5);
    vp_err e;
    cr_assert_eq(vp_net_forward(t, NULL, &e), VP_OK);
    cr_assert_eq(vp_net_backward(t, 9, NULL, &e), VP_OK);
    vp_shape o = vp_net_shape(t, 0);
    cr_assert_eq(o.h, 5);
    cr_assert_eq(o.w, 4);
    size_t nx = (size_t)B * vp_shape_size(in), nz = (size_t)B * vp_shape_size(o), nw = (size_t)Co * Ci * k * k;
    double *x = dalloc(nx), *z = dalloc(nz), *gz = dalloc(nz), *W = dalloc(nw), *bb = dalloc((size_t)Co),
           *dW = dalloc(nw), *gx = dalloc(nx);
    vp_net_export(t, -1, x, gx, NULL, NULL, NULL, NULL);
    vp_net_export(t, 0, z, gz, W, bb, dW, NULL);
    double zmax = 0, wmax = 0, xmax = 0;
    double *gxr = dalloc(nx);
    for (int b = 0; b < B; b++)
        for (int oc = 0; oc < Co; oc++)
            for (int y = 0; y < o.h; y++)
                for (int xo = 0; xo < o.w; xo++) {
                    double acc = bb[oc];
                    for (int i = 0; i < Ci; i++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int iy = y * s + u - p, ix = xo * s + v - p;
                                if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                                acc += W[((oc * Ci + i) * k + u) * k + v] * x[((b * Ci + i) * in.h + iy) * in.w + ix];
                            }
                    size_t zi = (((size_t)b * Co + oc) * o.h + y) * o.w + xo;
                    zmax = fmax(zmax, fabs(z[zi] - acc));
                    for (int i = 0; i < Ci; i++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++) {
                                int iy = y * s + u - p, ix = xo * s + v - p;
                                if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                                gxr[((b * Ci + i) * in.h + iy) * in.w + ix] += W[((oc * Ci + i) * k + u) * k + v] * gz[zi];
                            }
                }
    for (int oc = 0; oc < Co; oc++)
        for (int i = 0; i < Ci * k * k; i++) {
            int ii = i / (k * k), u = (i / k) % k, v = i % k;
            double acc = 0;
            for (int b = 0; b < B; b++)
                for (int y = 0; y < o.h; y++)
                    for (int xo = 0; xo < o.w; xo++) {
                        int iy = y * s + u - p, ix = xo * s + v - p;
                        if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
                        acc += gz[(((size_t)b * Co + oc) * o.h + y) * o.w + xo] * x[((b * Ci + ii) * in.h + iy) * in.w + ix];
                    }
            wmax = fmax(wmax, fabs(dW[(size_t)oc * Ci * k * k + i] - acc / B));
        }
    for (size_t i = 0; i < nx; i++) xmax = fmax(xmax, fabs(gx[i] - gxr[i]));
    cr_assert(zmax < tol && wmax < tol && xmax < tol, "conv vs loops: |dz| %g |dW| %g |dx| %g", zmax, wmax, xmax);
    free(x); free(z); free(gz); free(W); free(bb); free(dW); free(gx); free(gxr);
    vp_net_free(t);
}
/* float64: rounding of sums of 27 O(1) products, ~1e-15; float32: ~1e-6 */
Test(net_ref, conv_direct_loops_f64) { conv_vs_loops(VP_F64, 1e-12); }
Test(net_ref, conv_direct_loops_f32) { conv_vs_loops(VP_F32, 1e-4); }

/* A dense-only block net draws the MLP's streams and runs its products: same bits. */
Test(net_ref, dense_stack_equals_mlp)
{
    int w[] = { 12, 20, 20, 7 };
    vp_layer_spec l[] = { dense(20, VP_ACT_TANH), dense(20, VP_ACT_TANH), dense(7, VP_ACT_TANH) };
    vp_shape in = { 12, 1, 1, 1 };
    int B = 5;
    for (int pi = 0; pi < 2; pi++) {
        vp_precision prec = pi ? VP_F64 : VP_F32;
        vp_net *t = make(l, 3, in, B, prec, 21);
        vp_mlp *m = NULL;
        vp_err e;
        cr_assert_eq(vp_mlp_create(&m, 3, w, B, prec, vp_act_default(VP_ACT_TANH), &e), VP_OK);
        vp_init wi = vp_init_default(VP_INIT_KAIMING_NORMAL), bi = vp_init_default(VP_INIT_ZEROS);
        cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 21, &e), VP_OK);
        double *x = dalloc((size_t)B * 12), *a = dalloc((size_t)B * 7), *bm = dalloc((size_t)B * 7);
        vp_net_export(t, -1, x, NULL, NULL, NULL, NULL, NULL);
        vp_mlp_set_input(m, x);
        vp_layer_stats st[3];
        cr_assert_eq(vp_mlp_forward(m, st, NULL, &e), VP_OK);
        cr_assert_eq(vp_net_forward(t, NULL, &e), VP_OK);
        vp_net_export(t, 2, a, NULL, NULL, NULL, NULL, NULL);
        vp_mlp_layer_view v;
        vp_mlp_view(m, 3, &v);
        for (int i = 0; i < B * 7; i++) bm[i] = pi ? ((double *)v.h)[i] : (double)((float *)v.h)[i];
        cr_assert(memcmp(a, bm, (size_t)B * 7 * sizeof *a) == 0, "block net and MLP differ (%s)", pi ? "f64" : "f32");
        free(x); free(a); free(bm);
        vp_mlp_free(m);
        vp_net_free(t);
    }
}

/* Norms and pools on the reference's worked values (residual-norm-conv.md section 10). */
Test(net_ref, norm_and_pool_values)
{
    vp_shape in = { 4, 1, 1, 1 };
    double x[] = { 1, 2, 3, 4 }, y[4];
    vp_layer_spec ln[] = { L_(VP_LAYER_LAYERNORM) }, rn[] = { L_(VP_LAYER_RMSNORM) };
    vp_net *t = NULL;
    vp_err e;
    cr_assert_eq(vp_net_create(&t, ln, 1, in, 1, VP_F64, &e), VP_OK);
    vp_net_set_input(t, x);
    vp_net_forward(t, NULL, &e);
    vp_net_export(t, 0, y, NULL, NULL, NULL, NULL, NULL);
    cr_assert(fabs(y[0] + 1.3416354) < 1e-6 && fabs(y[2] - 0.4472118) < 1e-6, "layernorm %g %g", y[0], y[2]);
    vp_net_free(t);
    cr_assert_eq(vp_net_create(&t, rn, 1, in, 1, VP_F64, &e), VP_OK);
    vp_net_set_input(t, x);
    vp_net_forward(t, NULL, &e);
    vp_net_export(t, 0, y, NULL, NULL, NULL, NULL, NULL);
    double ref[] = { 0.3651484, 0.7302967, 1.0954451, 1.4605935 };
    for (int i = 0; i < 4; i++) cr_assert(fabs(y[i] - ref[i]) < 1e-7, "rmsnorm[%d] %g", i, y[i]);
    vp_net_free(t);
    /* batchnorm over one channel of 4 examples {1,2,3,4}: the layernorm values */
    vp_shape c1 = { 1, 1, 1, 0 };
    vp_layer_spec bn[] = { L_(VP_LAYER_BATCHNORM) };
    cr_assert_eq(vp_net_create(&t, bn, 1, c1, 4, VP_F64, &e), VP_OK);
    vp_net_set_input(t, x);
    vp_net_forward(t, NULL, &e);
    vp_net_export(t, 0, y, NULL, NULL, NULL, NULL, NULL);
    cr_assert(fabs(y[3] - 1.3416354) < 1e-6 && fabs(y[1] + 0.4472118) < 1e-6, "batchnorm %g %g", y[3], y[1]);
    vp_net_free(t);
}

/* Pooling of i.i.d. N(0,1): AvgPool2d(2) variance 1/4; MaxPool2d(2) mean 1.029375 and
 * variance 0.491715 (reference section 10.15). With 64 x 4 x 16 x 16 inputs there are
 * N = 16384 windows: standard errors sqrt(0.49/N) = 0.0055 for the max's mean, and
 * about 0.01 relative for the variances; 5 standard errors. */
Test(net_ref, pooling_moments)
{
    vp_shape in = { 4, 32, 32, 0 };
    vp_layer_spec mx[] = { pool(VP_LAYER_MAXPOOL2D, 2, 2) }, av[] = { pool(VP_LAYER_AVGPOOL2D, 2, 2) };
    vp_block_stats st;
    vp_err e;
    vp_net *t = make(mx, 1, in, 16, VP_F64, 2);
    vp_net_forward(t, &st, &e);
    cr_assert(fabs(st.s.post_mean - 1.029375) < 5 * 0.0055, "max mean %g", st.s.post_mean);
    cr_assert(fabs(st.s.post_var - 0.491715) < 5 * 0.491715 * 0.012, "max var %g", st.s.post_var);
    vp_net_free(t);
    t = make(av, 1, in, 16, VP_F64, 2);
    vp_net_forward(t, &st, &e);
    cr_assert(fabs(st.s.post_var - 0.25) < 5 * 0.25 * 0.012, "avg var %g", st.s.post_var);
    vp_net_free(t);
}

/* SPP quantities (section 10.1): C = 2, N H W = 2, channel 0 = {1, 3}, channel 1 = {0, 0}:
 * avg_sq_mean 2, avg_var 0.5 (biased), over batch x positions. */
Test(net_ref, spp_per_channel)
{
    vp_shape in = { 2, 1, 2, 0 };
    double x[] = { 1, 3, 0, 0 };
    vp_layer_spec l[] = { L_(VP_LAYER_FLATTEN) };
    l[0].kind = VP_LAYER_AVGPOOL2D;
    l[0].kernel = 1;
    vp_net *t = NULL;
    vp_err e;
    cr_assert_eq(vp_net_create(&t, l, 1, in, 1, VP_F64, &e), VP_OK);
    vp_net_set_input(t, x);
    vp_block_stats st;
    vp_net_forward(t, &st, &e);
    cr_assert_float_eq(st.s.unit_sq_mean, 2.0, 1e-15);
    cr_assert_float_eq(st.s.unit_var, 0.5, 1e-15);
    cr_assert_float_eq(st.s.post_var, 1.5, 1e-15); /* all four entries: mean 1, E x^2 = 2.5 */
    vp_net_free(t);
}

/* ---- initializers ---- */

Test(net_init, conv_fans_and_torch_default)
{
    size_t fi, fo;
    vp_conv_fans(16, 33, 3, &fi, &fo);
    cr_assert_eq(fi, 144);
    cr_assert_eq(fo, 297);
    /* PyTorch Conv2d(16, 33, 3) default: U(+-1/sqrt(fan_in)) = U(+-1/12), Var 1/432.
     * 33 x 144 = 4752 entries: the sample variance has sd Var sqrt(0.8/n) (uniform
     * kurtosis 1.8), 1.3%; 5 sd. */
    vp_init in = vp_init_default(VP_INIT_TORCH_LINEAR);
    double W[33 * 144];
    vp_rng r = vp_rng_make(1, 1, VP_RNG_WEIGHT);
    vp_err e;
    cr_assert_eq(vp_conv_init_weight(&in, 33, 16, 3, &r, W, &e), VP_OK);
    double s2 = 0, mx = 0;
    for (int i = 0; i < 33 * 144; i++) s2 += W[i] * W[i], mx = fmax(mx, fabs(W[i]));
    cr_assert(mx <= 1.0 / 12 && mx > 0.99 / 12, "bound %g", mx);
    cr_assert(fabs(s2 / (33 * 144) - 1.0 / 432) < 5 * 0.013 / 432, "var %g", s2 / (33 * 144));
    /* xavier_uniform on the conv fans: bound sqrt(6 / (144 + 297)) */
    in = vp_init_default(VP_INIT_XAVIER_UNIFORM);
    vp_init_resolve_auto(&in, 1.0);
    cr_assert_eq(vp_conv_init_weight(&in, 33, 16, 3, &r, W, &e), VP_OK);
    mx = 0;
    for (int i = 0; i < 33 * 144; i++) mx = fmax(mx, fabs(W[i]));
    cr_assert(mx <= sqrt(6.0 / 441) && mx > 0.99 * sqrt(6.0 / 441), "xavier bound %g", mx);
    /* eye_ and sparse_ are 2-D only */
    in = vp_init_default(VP_INIT_SPARSE);
    cr_assert_neq(vp_conv_init_weight(&in, 33, 16, 3, &r, W, &e), VP_OK);
    cr_assert(!vp_conv_init_ok(&in, 3) && vp_conv_init_ok(&in, 1));
}

/* Delta-orthogonal, c_in 16, c_out 32, k 3, gain sqrt(1.05) (section 10.11): only the
 * centre tap is nonzero, H H^T = gain^2 I, and every output position of the conv
 * (padding 1, any position) has ||y|| = gain ||x||. */
Test(net_init, delta_orthogonal)
{
    int ci = 16, co = 32, k = 3;
    double gain = sqrt(1.05), *W = dalloc((size_t)co * ci * k * k);
    vp_rng r = vp_rng_make(4, 1, VP_RNG_WEIGHT);
    vp_err e;
    cr_assert_eq(vp_delta_orthogonal(co, ci, k, gain, 0, &r, W, &e), VP_OK);
    for (int o = 0; o < co; o++)
        for (int i = 0; i < ci; i++)
            for (int t = 0; t < k * k; t++)
                if (t != 4) cr_assert_eq(W[(o * ci + i) * k * k + t], 0.0);
    for (int a = 0; a < ci; a++)
        for (int b = 0; b < ci; b++) {
            double s = 0;
            for (int o = 0; o < co; o++) s += W[(o * ci + a) * 9 + 4] * W[(o * ci + b) * 9 + 4];
            cr_assert(fabs(s - (a == b ? 1.05 : 0.0)) < 1e-12, "H H^T[%d][%d] = %g", a, b, s);
        }
    cr_assert_neq(vp_delta_orthogonal(ci, co, k, gain, 0, &r, W, &e), VP_OK); /* c_in > c_out */
    vp_layer_spec l[] = { conv(co, 3, 1, 1, VP_ACT_IDENTITY) };
    l[0].wdraw = VP_WDRAW_DELTA_ORTHOGONAL;
    l[0].delta_gain = gain;
    vp_shape in = { ci, 5, 5, 0 };
    vp_net *t = make(l, 1, in, 2, VP_F64, 4);
    vp_net_forward(t, NULL, &e);
    double *x = dalloc(2 * 16 * 25), *y = dalloc(2 * 32 * 25);
    vp_net_export(t, -1, x, NULL, NULL, NULL, NULL, NULL);
    vp_net_export(t, 0, y, NULL, NULL, NULL, NULL, NULL);
    for (int b = 0; b < 2; b++)
        for (int p = 0; p < 25; p++) {
            double nx = 0, ny = 0;
            for (int i = 0; i < ci; i++) nx += x[(b * ci + i) * 25 + p] * x[(b * ci + i) * 25 + p];
            for (int o = 0; o < co; o++) ny += y[(b * co + o) * 25 + p] * y[(b * co + o) * 25 + p];
            cr_assert(fabs(sqrt(ny / nx) - 1.0246951) < 1e-7, "||y||/||x|| = %g at %d", sqrt(ny / nx), p);
        }
    free(x); free(y); free(W);
    vp_net_free(t);
}

/* SkipInit (alpha = 0) and Fixup (last branch layer zero): the block's output is its
 * input, bit for bit; the branch weights are scaled by L^(-1/(2m-2)). */
Test(net_init, fixup_and_skipinit_identity)
{
    vp_layer_spec l[] = { dense(8, VP_ACT_RELU), dense(8, VP_ACT_RELU), dense(8, VP_ACT_IDENTITY), resid(0, 1.0),
                          dense(8, VP_ACT_RELU), dense(8, VP_ACT_IDENTITY), resid(3, 0.0) };
    l[3].fixup = 1;
    l[6].fixup = 1;
    vp_err e;
    int bad = -1;
    vp_layer_spec one[] = { dense(8, VP_ACT_RELU), dense(8, VP_ACT_RELU), resid(0, 1.0) };
    one[2].fixup = 1;
    cr_assert_neq(vp_net_fixup(one, 3, &bad, &e), VP_OK);
    cr_assert_eq(bad, 2);
    cr_assert_eq(vp_net_fixup(l, 7, &bad, &e), VP_OK);
    cr_assert_float_eq(l[1].wscale, pow(2.0, -0.5), 1e-15); /* L = 2, m = 2 */
    cr_assert_eq(l[2].wscale, 0.0);
    cr_assert_eq(l[5].wscale, 0.0);
    l[6].fixup = 0; /* the second block: SkipInit with an ordinary branch */
    l[5].wscale = 1.0;
    vp_shape in = { 8, 1, 1, 1 };
    for (int pi = 0; pi < 2; pi++) {
        vp_net *t = make(l, 7, in, 4, pi ? VP_F64 : VP_F32, 8);
        vp_block_stats st[7];
        vp_net_forward(t, st, &e);
        double a[32], b[32], c[32];
        vp_net_export(t, 0, a, NULL, NULL, NULL, NULL, NULL);
        vp_net_export(t, 3, b, NULL, NULL, NULL, NULL, NULL);
        vp_net_export(t, 6, c, NULL, NULL, NULL, NULL, NULL);
        cr_assert(memcmp(a, b, sizeof a) == 0, "Fixup block is not the identity");
        cr_assert(memcmp(a, c, sizeof a) == 0, "SkipInit block is not the identity");
        cr_assert_eq(st[3].branch_var, 0.0);
        cr_assert(st[6].branch_var > 0 && st[6].branch_skip_ratio == 0.0);
        vp_net_free(t);
    }
}

/* ---- shapes ---- */

static void shape_err(const vp_layer_spec *l, int n, vp_shape in, int want_bad, const char *needle)
{
    vp_shape out[8];
    int bad = -1;
    vp_err e;
    cr_assert_eq(vp_net_shapes(l, n, in, out, &bad, &e), VP_ERR_CONFIG);
    cr_assert_eq(bad, want_bad);
    cr_assert(strstr(e.msg, needle), "message \"%s\" lacks \"%s\"", e.msg, needle);
}

Test(net_shape, errors_name_both_shapes)
{
    vp_shape mn = { 1, 28, 28, 0 };
    vp_layer_spec a[] = { L_(VP_LAYER_FLATTEN), conv(6, 3, 1, 0, VP_ACT_RELU) };
    shape_err(a, 2, mn, 1, "[784]");
    vp_layer_spec b[] = { conv(6, 3, 1, 0, VP_ACT_RELU), dense(10, VP_ACT_RELU) };
    shape_err(b, 2, mn, 1, "[6, 26, 26]");
    vp_layer_spec c[] = { conv(6, 30, 1, 0, VP_ACT_RELU) };
    shape_err(c, 1, mn, 0, "[1, 28, 28]");
    vp_layer_spec d[] = { conv(6, 3, 1, 1, VP_ACT_RELU), conv(8, 3, 1, 1, VP_ACT_RELU), resid(0, 1) };
    shape_err(d, 3, mn, 2, "[6, 28, 28] to [8, 28, 28]");
    /* the LeNet-like net of the issue: 1x28x28 -> 6x26x26 -> 6x13x13 -> 1014 -> 128 -> 10 */
    vp_layer_spec le[] = { conv(6, 3, 1, 0, VP_ACT_RELU), pool(VP_LAYER_MAXPOOL2D, 2, 2), L_(VP_LAYER_FLATTEN),
                           dense(128, VP_ACT_RELU), dense(10, VP_ACT_IDENTITY) };
    vp_shape out[5];
    vp_err e;
    cr_assert_eq(vp_net_shapes(le, 5, mn, out, NULL, &e), VP_OK);
    cr_assert_eq(out[1].h, 13);
    cr_assert_eq(out[2].c, 1014);
    cr_assert_eq(vp_net_layer_params(&le[0], mn), 60);
    cr_assert_eq(vp_net_layer_params(&le[3], out[2]), 1014 * 128 + 128);
}

/* ---- determinism ---- */

Test(net_det, bytes_equal_across_threads)
{
    vp_layer_spec l[] = { conv(40, 3, 1, 1, VP_ACT_RELU), L_(VP_LAYER_BATCHNORM), pool(VP_LAYER_MAXPOOL2D, 2, 2),
                          L_(VP_LAYER_FLATTEN), dense(300, VP_ACT_TANH), L_(VP_LAYER_LAYERNORM), dense(300, VP_ACT_RELU),
                          resid(5, 0.5), dense(10, VP_ACT_IDENTITY) };
    vp_shape in = { 3, 20, 20, 0 };
    vp_block_stats s0[9], s1[9];
    size_t n = 300 * 64;
    double *a0 = dalloc(n), *a1 = dalloc(n), *g0 = dalloc(3 * 400 * 64), *g1 = dalloc(3 * 400 * 64);
    vp_err e;
    for (int k = 0; k < 2; k++) {
        vp_pool *p = NULL;
        if (k) cr_assert_eq(vp_pool_create(&p, 3, &e), VP_OK);
        vp_net *t = make(l, 9, in, 64, VP_F32, 12);
        vp_net_set_pool(t, p);
        vp_net_forward(t, k ? s1 : s0, &e);
        vp_net_backward(t, 12, k ? s1 : s0, &e);
        vp_net_export(t, 6, k ? a1 : a0, NULL, NULL, NULL, NULL, NULL);
        vp_net_export(t, -1, NULL, k ? g1 : g0, NULL, NULL, NULL, NULL);
        vp_net_free(t);
        vp_pool_free(p);
    }
    cr_assert(memcmp(a0, a1, n * sizeof *a0) == 0);
    cr_assert(memcmp(g0, g1, 3 * 400 * 64 * sizeof *g0) == 0);
    cr_assert(memcmp(s0, s1, sizeof s0) == 0);
    free(a0); free(a1); free(g0); free(g1);
}

/* ---- a pre-norm residual stack grows linearly ----
 * x_{l+1} = x_l + W2 relu(W1 LN(x_l)), He-normal weights, zero biases: LN(x) has
 * mean square 1, so Var(W1 LN x) = 2, E relu^2 = 1 and the branch adds Var 2:
 * Var(x_l) = Var(x_0) + 2 l (linear, not 2^l; Yang & Schoenholz 2017, pre-norm).
 * Width 256, batch 64: each branch variance is an average over 256 units whose
 * weight rows fluctuate by ~sqrt(2/256) = 9%; over 16 blocks the stream variance
 * has a relative spread of a few percent. Tolerance 10% per depth. */
Test(net_theory, prenorm_stack_linear)
{
    enum { D = 16, N = 256 };
    vp_layer_spec l[4 * D];
    for (int d = 0; d < D; d++) {
        l[4 * d] = L_(VP_LAYER_LAYERNORM);
        l[4 * d + 1] = dense(N, VP_ACT_RELU);
        l[4 * d + 2] = dense(N, VP_ACT_IDENTITY);
        l[4 * d + 3] = resid(4 * d - 1, 1.0);
    }
    vp_shape in = { N, 1, 1, 1 };
    vp_net *t = make(l, 4 * D, in, 64, VP_F64, 31);
    vp_block_stats st[4 * D];
    vp_err e;
    vp_net_forward(t, st, &e);
    for (int d = 0; d < D; d++) {
        double v = st[4 * d + 3].s.post_var, want = 1.0 + 2.0 * (d + 1);
        cr_assert(fabs(v / want - 1) < 0.10, "block %d: Var %g, theory %g", d + 1, v, want);
        cr_assert(fabs(st[4 * d + 3].branch_var / 2.0 - 1) < 0.25, "block %d: branch Var %g", d + 1,
                  st[4 * d + 3].branch_var);
    }
    vp_net_free(t);
}

#if !defined(__SANITIZE_ADDRESS__) /* ASan's allocator does not report mallinfo2 */
#include <malloc.h>

/* The memory estimate of a block network (the runner's refusal, vp_net_bytes) is what
 * vp_net_create allocates plus vp_net_init_params' draw buffer: one layer's weights in
 * double, the largest. It counted a double for every weight of the network (16 dense
 * layers of 2048^2: 1252 MiB estimated, 752 MiB used, and runs that fit were refused). */
Test(net_bytes, the_estimate_is_the_allocation)
{
    /* widths 64, 96, 256, 96, 128: layer 3 (256 x 96) is the largest weight matrix, twice the next
       (128 x 96): an estimate of the draw buffer by any other layer is off by >= 98 KB */
    vp_layer_spec ls[6];
    ls[0] = dense(64, VP_ACT_RELU);
    ls[1] = dense(96, VP_ACT_RELU);
    ls[2] = dense(256, VP_ACT_RELU);
    ls[3] = L_(VP_LAYER_LAYERNORM);
    ls[4] = dense(96, VP_ACT_RELU);
    ls[5] = dense(128, VP_ACT_IDENTITY);
    vp_shape in = { 48, 1, 1, 1 };
    for (int p = 0; p < 2; p++) {
        vp_precision prec = p ? VP_F64 : VP_F32;
        struct mallinfo2 a = mallinfo2();
        vp_net *t = NULL;
        vp_err e;
        cr_assert_eq(vp_net_create(&t, ls, 6, in, 32, prec, &e), VP_OK, "%s", e.msg);
        struct mallinfo2 b = mallinfo2();
        double got = ((double)b.uordblks + (double)b.hblkhd) - ((double)a.uordblks + (double)a.hblkhd);
        double est = vp_net_bytes(ls, 6, in, 32, prec), scratch = 8.0 * 256 * 96;
        vp_net_free(t);
        /* not estimated: the layer list, shapes, offsets and paths (a few hundred bytes), malloc's headers
           and the page rounding of the ~8 arrays above malloc's mmap threshold (< 4 KiB each) */
        cr_expect(fabs(est - scratch - got) <= 8 * 4096, "estimated %.0f bytes (%.0f draw buffer), allocated %.0f", est,
                  scratch, got);
    }
    /* an orthogonal layer's QR works on a copy (float32: and the Gaussian draw in double) beside the draw
       buffer: at least 12 (8) bytes an element of the largest orthogonal matrix more */
    vp_layer_spec lo[6];
    memcpy(lo, ls, sizeof lo);
    lo[2].winit = vp_init_default(VP_INIT_ORTHOGONAL);
    cr_expect_geq(vp_net_bytes(lo, 6, in, 32, VP_F32) - vp_net_bytes(ls, 6, in, 32, VP_F32), 12.0 * 256 * 96);
    cr_expect_geq(vp_net_bytes(lo, 6, in, 32, VP_F64) - vp_net_bytes(ls, 6, in, 32, VP_F64), 8.0 * 256 * 96);
}
#endif
