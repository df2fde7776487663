/* predict: see predict.h.
 *
 * sigma_w^2(l) = fan_in * Var[W^l] from the initializer's formula, or from the drawn
 * weights for data-dependent ones (LSUV); sigma_b^2(l) = Var[b^l]; q0 = mean x^2 of
 * the input batch. Mean-field theory assumes zero-mean i.i.d. random weights and
 * zero-mean biases: for deterministic or non-centred initializers (identity,
 * constant, U[0,1), ...) and for row-wise activations (softmax family, GLU) there
 * is no prediction and the cells stay empty. */
#include "experiment/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "results/results.h"

static int theory_inputs(const vp_variant *var, const vp_mlp *m, double *sw2, double *sb2)
{
    const vp_init_info *wi = vp_init_get(var->winit.kind);
    if (vp_act_rowwise(vp_act_get(var->act.kind))) return 0; /* mean field: elementwise phi only */
    for (int l = 1; l <= var->L; l++) {
        size_t fo = (size_t)var->widths[l], fi = (size_t)var->widths[l - 1];
        double mean, v, bmean, bv;
        if (wi->data_dependent) {
            vp_mlp_weight_moments(m, l, &sw2[l - 1], &sb2[l - 1]);
            continue;
        }
        if (!vp_init_moments(&var->winit, fo, fi, 0, &mean, &v) || mean != 0.0 || v == 0.0) return 0;
        const vp_init *bi = wi->sets_bias ? &var->winit : &var->binit;
        if (!vp_init_moments(bi, fo, fi, 1, &bmean, &bv) || bmean != 0.0) return 0;
        sw2[l - 1] = (double)fi * v;
        sb2[l - 1] = bv;
    }
    return 1;
}

static double mean_square(const double *x, size_t n)
{
    double q = 0;
    for (size_t i = 0; i < n; i++) q += x[i] * x[i];
    return q / (double)n;
}

vp_status vp_predict_run(const vp_theory_ctx *ctx, const vp_variant *var, const vp_mlp *m, const double *x,
                         vp_prediction *out, vp_err *err)
{
    int L = var->L, first, last;
    for (int l = 0; l < L; l++) out->pre[l] = out->grad[l] = out->chi[l] = NAN;
    for (int l = 0; out->corr && l < L; l++) out->corr[l] = NAN;
    out->chi1 = out->xi_c = out->xi_grad = out->c_star = NAN;
    out->partial = 0;
    out->note.msg[0] = '\0';
    double q0 = mean_square(x, (size_t)var->batch * (size_t)var->widths[0]);
    double *sw2 = malloc((size_t)L * sizeof *sw2), *sb2 = malloc((size_t)L * sizeof *sb2);
    vp_status s = VP_OK;
    if (!sw2 || !sb2) s = vp_fail(err, VP_ERR_NOMEM, "out of memory");
    else if (theory_inputs(var, m, sw2, sb2)) {
        vp_status t = vp_theory_layer_predictions(ctx, &var->act, L, var->widths, sw2, sb2, q0, out->pre, out->grad,
                                                  out->chi, &out->note);
        if (t == VP_ERR_NOMEM) s = vp_fail(err, t, "%s", out->note.msg);
        out->partial = t != VP_OK;
        if (out->corr) {
            double c0 = var->has_corr ? var->in_corr : vp_batch_corr(x, var->batch, var->widths[0]);
            vp_err cerr;
            vp_status tc = isfinite(c0) ? vp_theory_corr_predictions(ctx, &var->act, L, sw2, sb2, q0, c0, out->pre,
                                                                     out->corr, &cerr)
                                        : VP_OK;
            if (tc == VP_ERR_NOMEM && !s) s = vp_fail(err, tc, "%s", cerr.msg);
            if (tc != VP_OK && !out->partial) {
                out->partial = 1;
                out->note = cerr;
            }
        }
        vp_mlp_stack(L, var->widths, &first, &last);
        vp_theory_point pt;
        vp_err ignore;
        if (vp_theory_analyze(ctx, &var->act, sw2[last - 1], sb2[last - 1], q0, &pt, &ignore) == VP_OK) {
            out->chi1 = pt.chi1;
            out->xi_c = pt.xi_c;
            out->c_star = pt.c_star;
            double lc = log(pt.chi1);
            out->xi_grad = fabs(lc) < 1e-12 ? INFINITY : -1.0 / lc;
        }
    }
    free(sw2);
    free(sb2);
    return s;
}

void vp_predict_critical_line(const vp_theory_ctx *ctxp, const vp_experiment *e, vp_crit_line *cl)
{
    cl->n = 0;
    cl->s = VP_OK;
    /* The two sigma keys, in either order (the heatmap puts sigma_w across either way). */
    int wb = e->nsweep == 2 && strcmp(e->sweep_keys[0], VP_SWEEP_SIGMA_W) == 0 &&
             strcmp(e->sweep_keys[1], VP_SWEEP_SIGMA_B) == 0;
    int bw = e->nsweep == 2 && strcmp(e->sweep_keys[0], VP_SWEEP_SIGMA_B) == 0 &&
             strcmp(e->sweep_keys[1], VP_SWEEP_SIGMA_W) == 0;
    cl->wanted = (wb || bw) && e->variants[0].winit.kind == VP_INIT_MEAN_FIELD;
    if (!cl->wanted) return;
    double bmin = INFINITY, bmax = -INFINITY;
    for (int v = 0; v < e->nvariants; v++) {
        double b = vp_init_param(&e->variants[v].winit, "sigma_b");
        bmin = b < bmin ? b : bmin;
        bmax = b > bmax ? b : bmax;
    }
    vp_theory_ctx own;
    if (!ctxp && (cl->s = vp_theory_ctx_init(&own, &cl->err))) return;
    const vp_theory_ctx *ctx = ctxp ? ctxp : &own;
    for (int k = 0; k <= VP_CRIT_STEPS; k++) {
        double sb = bmin + (bmax - bmin) * k / VP_CRIT_STEPS, sw2, qs;
        vp_err ignore;
        if (vp_theory_critical(ctx, &e->variants[0].act, sb * sb, &sw2, &qs, &ignore) == VP_OK && isfinite(sw2)) {
            cl->sw[cl->n] = sqrt(sw2);
            cl->sb[cl->n++] = sb;
        }
    }
}

vp_status vp_predict_critical_line_write(const vp_experiment *e, const char *out_dir, const vp_crit_line *cl,
                                         vp_err *err)
{
    if (!cl->wanted) return VP_OK;
    if (cl->s) {
        *err = cl->err;
        return cl->s;
    }
    char path[4200];
    vp_status s = vp_path_join(path, sizeof path, out_dir, VP_FILE_CRITICAL, err);
    if (s) return s;
    vp_afile f;
    if ((s = vp_afile_open(&f, path, err))) return s;
    fprintf(f.fp, "# chi_1 = 1 (order/chaos boundary) for %s: sigma_w sigma_b\n",
            vp_act_get(e->variants[0].act.kind)->name);
    for (int k = 0; k < cl->n; k++) fprintf(f.fp, "%.9g %.9g\n", cl->sw[k], cl->sb[k]);
    return vp_afile_commit(&f, err);
}
