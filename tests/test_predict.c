/* The numbers of a run that depend on the network's shape and the sweep (issue 11,
 * "Numbers that are silently wrong"):
 *  - networks of unequal widths (784 -> 1000 x5 -> 10): depth ratios, verdicts,
 *    xi_grad, theory_chi1 and theory_xi_c are taken over the hidden stack of equal
 *    width, not across the readout (vp_mlp_stack); layers.csv has chi per layer
 *    (theory_chi = sigma_w2(l) E[phi'(sqrt(q^l) z)^2]);
 *  - a prediction that cannot be made leaves empty cells and a note, never a failed run;
 *  - the chi_1 = 1 line is written whichever of sigma_w and sigma_b is swept first. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mlp.h"
#include "experiment/config.h"
#include "experiment/predict.h"
#include "harness.h"
#include "run_util.h"
#include "results/results.h"
#include "results/table.h"
#include "theory/theory.h"

Test(predict_stack, the_hidden_stack_of_a_net)
{
    struct { int L, w[9], first, last; } c[] = {
        { 6, { 784, 1000, 1000, 1000, 1000, 1000, 10 }, 1, 5 },     /* the net: readout left out */
        { 4, { 784, 256, 256, 256, 256 }, 1, 4 },                    /* input of another width: all layers */
        { 3, { 8, 8, 8, 8 }, 1, 3 },                                 /* equal widths */
        { 1, { 5, 7 }, 1, 1 },                                       /* one layer */
        { 4, { 784, 512, 256, 128, 10 }, 1, 4 },                     /* no two layers alike: the whole net */
        { 6, { 10, 20, 20, 5, 5, 5, 3 }, 3, 5 },                     /* the longest run */
        { 5, { 8, 4, 4, 6, 6, 2 }, 1, 2 },                           /* a tie: the first run */
        { 7, { 3, 9, 16, 16, 16, 16, 16, 16 }, 2, 7 },               /* a stem layer of another width */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int a = -1, b = -1;
        vp_mlp_stack(c[i].L, c[i].w, &a, &b);
        cr_expect(a == c[i].first && b == c[i].last, "case %zu: layers %d..%d, want %d..%d", i, a, b, c[i].first,
                  c[i].last);
    }
}

static double cell(const vp_table *t, size_t r, vp_col c)
{
    size_t col;
    vp_err err;
    cr_assert_eq(vp_table_require_col(t, c, &col, &err), VP_OK, "%s", err.msg);
    double v = NAN;
    const char *s = vp_table_cell(t, r, col);
    if (s[0]) cr_assert_eq(vp_table_num(t, r, col, &v, &err), VP_OK, "%s", err.msg);
    return v;
}

static const char *text(const vp_table *t, size_t r, vp_col c)
{
    size_t col;
    vp_err err;
    cr_assert_eq(vp_table_require_col(t, c, &col, &err), VP_OK, "%s", err.msg);
    return vp_table_cell(t, r, col);
}

Test(predict_stack, a_readout_of_another_width_does_not_make_a_stable_stack_vanish, .timeout = 120)
{
    /* 32 -> 128 x5 -> 4. The readout (128 -> 4) scales the backward pass by
     * sigma_w2 n_L/n_{L-1} = 2 * 4/128 for He init, so ratios taken across it called
     * a stable ReLU stack's gradients "vanishing" (grad_ratio ~ 0.04), fitted xi_grad
     * ~ 2 layers to a flat profile, and took theory_chi1 at the readout's sigma_w2
     * (xavier_uniform: 2 * 128/132 = 1.94 instead of the stack's 1). Over the stack:
     *  - relu/he_normal is stable both ways, and its gradient profile is flat
     *    (xi_grad far longer than the 5 layers: the mean field says infinite);
     *  - theory_chi1 is chi_1 at the stack's last layer: relu/xavier 0.5 exactly
     *    (sigma_w2 = 1), tanh/xavier 1 (sigma_w2 = 1, q* -> 0, phi'(0) = 1). */
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-predict-",
                  "{\"name\":\"st\",\"seeds\":3,\"network\":{\"widths\":[32,128,128,128,128,128,4]},"
                  "\"input\":{\"batch\":64},\"sweep\":{\"network.activation\":[\"relu\",\"tanh\"],"
                  "\"network.init\":[\"he_normal\",\"xavier_uniform\"]}}");
    vp_table *t = vt_out_table(dir, VP_FILE_RUNS);
    cr_assert_eq(vp_table_nrows(t), 12);
    const char *stable = vp_verdict_word(VP_VERDICT_STABLE);
    for (size_t r = 0; r < 12; r++) {
        const char *act = text(t, r, VP_COL_ACTIVATION), *init = text(t, r, VP_COL_INIT);
        int relu = strcmp(act, "relu") == 0, he = strcmp(init, "he_normal") == 0;
        double chi1 = cell(t, r, VP_COL_THEORY_CHI1);
        if (relu && he) {
            cr_expect_str_eq(text(t, r, VP_COL_ACT_VERDICT), stable, "row %zu", r);
            cr_expect_str_eq(text(t, r, VP_COL_GRAD_VERDICT), stable, "row %zu: grad_ratio %g", r,
                             cell(t, r, VP_COL_GRAD_RATIO));
            cr_expect_gt(cell(t, r, VP_COL_XI_GRAD), 10.0, "row %zu: xi_grad %g", r, cell(t, r, VP_COL_XI_GRAD));
            cr_expect_eq(chi1, 1.0, "row %zu: chi1 %.17g", r, chi1);
        } else if (relu) {
            cr_expect_eq(chi1, 0.5, "relu xavier row %zu: chi1 %.17g", r, chi1);
        } else if (!he) {
            cr_expect(fabs(chi1 - 1.0) < 1e-9, "tanh xavier row %zu: chi1 %.17g", r, chi1);
            cr_expect_str_eq(text(t, r, VP_COL_GRAD_VERDICT), stable, "row %zu", r);
        }
    }
    vp_table_free(t);
    vt_rmtree(dir);
}

Test(predict_stack, theory_chi_is_chi_at_each_layers_q, .timeout = 120)
{
    /* theory_chi at layer l is sigma_w2(l) E[phi'(sqrt(q^l) z)^2] with q^l the
     * theory_pre_var of the same row: recomputed here from the printed q^l (9 digits,
     * so to ~1e-8). tanh from q0 ~ 1 at sigma_w = 1.3, sigma_b = 0.3 converges to q*
     * in a few layers, so the deep layers' chi equals theory_chi1 (chi_1 at q*); the
     * first layers' chi differs from it -- the reason for a per-layer column. */
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-predict-",
                  "{\"name\":\"chi\",\"seeds\":1,\"network\":{\"depth\":30,\"width\":64,\"activation\":"
                  "\"tanh\",\"init\":{\"name\":\"mean_field\",\"sigma_w\":1.3,\"sigma_b\":0.3}},"
                  "\"input\":{\"batch\":32}}");
    vp_table *t = vt_out_table(dir, VP_FILE_LAYERS), *runs = vt_out_table(dir, VP_FILE_RUNS);
    vp_err err;
    double chi1 = cell(runs, 0, VP_COL_THEORY_CHI1);
    vp_table_free(runs);
    vp_theory_ctx ctx;
    cr_assert_eq(vp_theory_ctx_init(&ctx, &err), VP_OK);
    vp_act tanh_act = vp_act_default(VP_ACT_TANH);
    cr_assert_eq(vp_table_nrows(t), 30);
    for (size_t r = 0; r < 30; r++) {
        double q = cell(t, r, VP_COL_THEORY_PRE_VAR), chi = cell(t, r, VP_COL_THEORY_CHI), want;
        cr_assert_eq(vp_theory_chi1(&ctx, &tanh_act, 1.3 * 1.3, q, &want, &err), VP_OK, "%s", err.msg);
        cr_expect(fabs(chi - want) <= 1e-7 * want, "layer %zu: theory_chi %.9g, sigma_w2 E[phi'^2] %.9g", r + 1, chi,
                  want);
        if (r >= 20) cr_expect(fabs(chi - chi1) <= 1e-7 * chi1, "layer %zu: %.9g vs chi1 %.9g", r + 1, chi, chi1);
    }
    cr_expect_gt(fabs(cell(t, 0, VP_COL_THEORY_CHI) - chi1), 1e-3, "layer 1 is not at q* yet");
    vp_table_free(t);
    vt_rmtree(dir);
}

static vp_experiment *parse(const char *text)
{
    vp_experiment *e = NULL;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(text, strlen(text), "c.json", &co, &e, &err), VP_OK, "%s", err.msg);
    return e;
}

Test(predict_run, a_prediction_that_cannot_be_made_leaves_empty_cells_and_a_note)
{
    /* The theory beside a run never fails the run: what it cannot compute is NaN (an
     * empty cell) with a note, and vp_predict_run succeeds. No activation's
     * expectation fails any more (theory_range::every_activation_...), so the case
     * here is an input batch with a NaN: q0 is not a number. */
    vp_experiment *e = parse("{\"name\":\"p\",\"network\":{\"depth\":4,\"width\":8,\"activation\":\"tanh\"},"
                             "\"input\":{\"batch\":2}}");
    const vp_variant *var = &e->variants[0];
    double x[16], pre[4], grad[4], chi[4];
    for (int i = 0; i < 16; i++) x[i] = 0.1 * i - 0.8;
    vp_theory_ctx ctx;
    vp_err err;
    cr_assert_eq(vp_theory_ctx_init(&ctx, &err), VP_OK);
    vp_prediction p = { .pre = pre, .grad = grad, .chi = chi };
    cr_assert_eq(vp_predict_run(&ctx, var, NULL, x, &p, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(p.partial, 0);
    for (int l = 0; l < 4; l++) cr_expect(isfinite(pre[l]) && isfinite(grad[l]) && isfinite(chi[l]), "layer %d", l + 1);
    x[5] = NAN;
    cr_assert_eq(vp_predict_run(&ctx, var, NULL, x, &p, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(p.partial, 1);
    cr_expect(strstr(p.note.msg, "q0") != NULL, "note: %s", p.note.msg);
    for (int l = 0; l < 4; l++) cr_expect(isnan(pre[l]) && isnan(grad[l]) && isnan(chi[l]), "layer %d", l + 1);
    cr_expect(isnan(p.chi1) && isnan(p.xi_c));
    vp_experiment_free(e);
}

/* ---- the critical line ---- */

Test(predict_critical_line, either_sweep_order_gives_the_same_line)
{
    /* A sigma_b x sigma_w sweep (sigma_b first) is the same phase diagram as
     * sigma_w x sigma_b; before, only the latter got critical_line.dat. */
    const char *wb = "{\"name\":\"p\",\"network\":{\"depth\":3,\"width\":8,\"activation\":\"tanh\",\"init\":\"mean_field\"},"
                     "\"sweep\":{\"network.init.sigma_w\":[1.0,1.5,2.0],\"network.init.sigma_b\":[0.0,0.2,0.4]}}";
    const char *bw = "{\"name\":\"p\",\"network\":{\"depth\":3,\"width\":8,\"activation\":\"tanh\",\"init\":\"mean_field\"},"
                     "\"sweep\":{\"network.init.sigma_b\":[0.0,0.2,0.4],\"network.init.sigma_w\":[1.0,1.5,2.0]}}";
    vp_experiment *e1 = parse(wb), *e2 = parse(bw);
    vp_crit_line *c1 = calloc(1, sizeof *c1), *c2 = calloc(1, sizeof *c2);
    cr_assert(c1 && c2);
    /* one with the quadrature rules it makes itself, one with the runner's (the same line) */
    vp_theory_ctx ctx;
    vp_err cerr;
    cr_assert_eq(vp_theory_ctx_init(&ctx, &cerr), VP_OK, "%s", cerr.msg);
    vp_predict_critical_line(NULL, e1, c1);
    vp_predict_critical_line(&ctx, e2, c2);
    cr_expect(c1->wanted && c2->wanted, "wanted: %d (w, b) %d (b, w)", c1->wanted, c2->wanted);
    cr_expect_eq(c1->s, VP_OK);
    cr_expect_eq(c2->s, VP_OK);
    cr_expect_gt(c1->n, 50);
    cr_expect_eq(c1->n, c2->n);
    for (int k = 0; k < c1->n && k < c2->n; k++)
        cr_expect(c1->sw[k] == c2->sw[k] && c1->sb[k] == c2->sb[k], "point %d", k);
    /* tanh at sigma_b = 0: sigma_w = 1 on the line */
    cr_expect(fabs(c2->sw[0] - 1.0) < 1e-9 && c2->sb[0] == 0.0, "(%g, %g)", c2->sw[0], c2->sb[0]);
    free(c1), free(c2);
    vp_experiment_free(e1);
    vp_experiment_free(e2);

    /* and the CLI writes the file */
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-predict-", bw);
    char path[512];
    snprintf(path, sizeof path, "%s/out/%s", dir, VP_FILE_CRITICAL);
    cr_expect_gt(vt_count_lines(path), 50, "%s", path);
    vt_rmtree(dir);
}
