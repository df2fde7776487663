/* predict_net: mean-field theory beside a block-network run (experiment layer) -- what
 * theory/blocks.h needs, read off the variant's layer list and the run's input batch:
 * sigma_w^2 and sigma_b^2 of every dense/conv2d layer (the initializer's formula with
 * PyTorch's conv fans, fan_in = C_in k^2, times the layer's wscale^2; delta_orthogonal:
 * gain^2 C_in / C_out at its centre tap), and the input's second moment and mean per
 * position. As predict.c for MLPs: a draw that is not zero-mean i.i.d. (identity,
 * constant, U[0,1), ...) has no prediction, so its layer (and what depends on it) is
 * an empty cell. */
#include "experiment/predict.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "experiment/net_config.h"
#include "theory/blocks.h"

/* sigma_w^2, sigma_b^2 of layer l with input shape a; NaN where the theory has none. */
static vp_theory_wvar layer_wvar(const vp_layer_spec *l, vp_shape a)
{
    vp_theory_wvar w = { NAN, NAN };
    if (!vp_layer_has_weights(l->kind)) return w;
    size_t k2 = l->kind == VP_LAYER_CONV2D ? (size_t)l->kernel * (size_t)l->kernel : 1;
    size_t fi = l->kind == VP_LAYER_CONV2D ? (size_t)a.c * k2 : vp_shape_size(a), fo = (size_t)l->out * k2;
    const vp_init_info *wi = vp_init_get(l->winit.kind);
    const vp_init *bi = l->wdraw == VP_WDRAW_REGISTRY && wi->sets_bias ? &l->winit : &l->binit;
    double mean, v, bmean, bv;
    if (!vp_init_moments(bi, fo, fi, 1, &bmean, &bv) || bmean != 0.0) return w;
    w.sigma_b2 = bv;
    if (l->wdraw == VP_WDRAW_DELTA_ORTHOGONAL)
        w.sigma_w2 = l->delta_gain * l->delta_gain * (double)a.c / (double)l->out;
    else if (vp_init_moments(&l->winit, fo, fi, 0, &mean, &v) && mean == 0.0 && v != 0.0)
        w.sigma_w2 = (double)fi * v * l->wscale * l->wscale;
    return w;
}

vp_status vp_predict_net(const vp_theory_ctx *ctx, const vp_variant *var, const double *x, vp_prediction *out,
                         vp_err *err)
{
    const vp_net_spec *ns = var->net;
    int n = ns->n, B = var->batch, P = ns->in.h * ns->in.w, C = ns->in.c;
    for (int l = 0; l < n; l++) out->pre[l] = out->grad[l] = out->chi[l] = NAN;
    for (int l = 0; out->post && l < n; l++) out->post[l] = NAN;
    for (int l = 0; out->gpost && l < n; l++) out->gpost[l] = NAN;
    for (int l = 0; out->corr && l < n; l++) out->corr[l] = NAN; /* no correlation map through blocks */
    out->chi1 = out->xi_c = out->xi_grad = out->c_star = NAN;     /* no fixed point of a block list */
    out->partial = 0;
    out->note.msg[0] = '\0';
    vp_shape *sh = malloc((size_t)n * sizeof *sh);
    vp_theory_wvar *w = malloc((size_t)n * sizeof *w);
    double *s = calloc((size_t)P, sizeof *s), *mu = calloc((size_t)P, sizeof *mu);
    vp_status st = VP_OK;
    int bad;
    vp_err e2;
    if (!sh || !w || !s || !mu) {
        st = vp_fail(err, VP_ERR_NOMEM, "out of memory");
        goto end;
    }
    if (vp_net_shapes(ns->ls, n, ns->in, sh, &bad, &e2)) { /* the config checked them */
        st = vp_fail(err, VP_ERR_USAGE, "internal: %s", e2.msg);
        goto end;
    }
    for (int l = 0; l < n; l++) w[l] = layer_wvar(&ns->ls[l], l ? sh[l - 1] : ns->in);
    /* x: B x (C H W), channel-major: entry (b, c, p) at b C P + c P + p. */
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < P; p++) {
                double v = x[((size_t)b * (size_t)C + (size_t)c) * (size_t)P + (size_t)p];
                s[p] += v * v;
                mu[p] += v;
            }
    for (int p = 0; p < P; p++) {
        s[p] /= (double)B * C;
        mu[p] /= (double)B * C;
    }
    vp_theory_net_in in = { .ls = ns->ls, .n = n, .in = ns->in, .shapes = sh, .w = w, .batch = B,
                            .rms_eps = var->prec == VP_F32 ? (double)FLT_EPSILON : DBL_EPSILON,
                            .in_s = s, .in_mu = mu };
    vp_status t = vp_theory_net_predictions(ctx, &in, out->pre, out->grad, out->chi, out->post, out->gpost, &out->note);
    if (t == VP_ERR_NOMEM) st = vp_fail(err, t, "%s", out->note.msg);
    out->partial = t != VP_OK;
end:
    free(sh);
    free(w);
    free(s);
    free(mu);
    return st;
}
