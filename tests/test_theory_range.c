/* The theory over the whole range of its inputs (issue 11, "Numbers that are
 * silently wrong"):
 *  - homogeneous activations whose length map diverges still have chi_1 and a phase
 *    (`varprop theory relu --sigma-w2 2.5`: chi1 = 1.25, q* = inf, chaotic, exit 0);
 *  - the length map is carried down to the bottom of the double range: no constant
 *    floor (the old Q_FLOOR = 1e-30 made every prediction below ~5e-31 a constant);
 *  - activations whose q collapses to ~1e-18 (tanhshrink: q' ~ (5/3) sigma_w2 q^3)
 *    have accurate expectations there (small-q expansion), and a prediction that
 *    cannot be computed leaves empty cells with a note, never a failed run. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "run_util.h"
#include "results/results.h"
#include "results/table.h"
#include "theory/theory.h"

static vp_theory_ctx ctx_of(int force_quadrature)
{
    vp_theory_ctx c;
    vp_err err;
    cr_assert_eq(vp_theory_ctx_init(&c, &err), VP_OK, "%s", err.msg);
    c.force_quadrature = force_quadrature;
    return c;
}

static int rel_close(double got, double want, double rtol)
{
    return fabs(got - want) <= rtol * fabs(want);
}

/* ---- item: homogeneous activations beyond their critical point ---- */

Test(theory_range, homogeneous_rows_past_criticality_have_chi1_and_a_phase)
{
    /* phi(u) = pos u (u > 0), neg u (u < 0): E[phi'^2] = (neg^2 + pos^2)/2 at every q,
     * so chi_1 = sigma_w2 (neg^2 + pos^2)/2 whether or not q^l converges. The length
     * map q' = chi_1 q + sigma_b2 diverges for chi_1 > 1 (geometric) and for chi_1 = 1
     * with sigma_b2 > 0 (linear): q* = inf, and the phase is read off chi_1, as for
     * tanh. Before, vp_theory_analyze failed (exit 1, "numerical error"). */
    vp_theory_ctx ctx = ctx_of(0);
    struct { vp_act_kind k; double p0, p1; } rows[] = {
        { VP_ACT_IDENTITY, 0, 0 }, { VP_ACT_RELU, 0, 0 }, { VP_ACT_LEAKY_RELU, 0.2, 0 },
        { VP_ACT_PRELU, -0.5, 0 }, { VP_ACT_RRELU, 0.1, 0.5 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        vp_act a = vp_act_default(rows[i].k);
        int np = vp_act_get(a.kind)->nparams;
        if (np > 0) a.p[0] = rows[i].p0;
        if (np > 1) a.p[1] = rows[i].p1;
        double neg, pos;
        cr_assert(vp_act_slopes(&a, &neg, &pos));
        double m = 0.5 * (neg * neg + pos * pos);
        const char *name = vp_act_get(a.kind)->name;
        /* chaotic: sigma_w2 25% past the critical 1/m, with and without bias */
        for (int b = 0; b < 2; b++) {
            vp_theory_point pt;
            vp_err err;
            double sw = 1.25 / m, sb = b ? 0.3 : 0.0;
            cr_assert_eq(vp_theory_analyze(&ctx, &a, sw, sb, 1.0, &pt, &err), VP_OK, "%s: %s", name, err.msg);
            cr_expect(isinf(pt.q_star) && pt.q_star > 0, "%s: q* = %g", name, pt.q_star);
            cr_expect(rel_close(pt.chi1, 1.25, 1e-15), "%s: chi1 = %.17g", name, pt.chi1);
            cr_expect_eq(pt.phase, VP_PHASE_CHAOTIC, "%s: phase %s", name, vp_theory_phase_name(pt.phase));
            cr_expect(isnan(pt.c_star) && isnan(pt.xi_c), "%s: c* %g xi_c %g", name, pt.c_star, pt.xi_c);
            cr_expect(isinf(pt.xi_q), "%s: xi_q %g", name, pt.xi_q);
        }
        /* critical with a bias: q^l grows linearly, chi_1 = 1 */
        vp_theory_point pt;
        vp_err err;
        cr_assert_eq(vp_theory_analyze(&ctx, &a, 1.0 / m, 0.1, 1.0, &pt, &err), VP_OK, "%s: %s", name, err.msg);
        cr_expect(isinf(pt.q_star), "%s: q* = %g", name, pt.q_star);
        cr_expect_eq(pt.phase, VP_PHASE_CRITICAL, "%s critical: %s (chi1 %.17g)", name,
                     vp_theory_phase_name(pt.phase), pt.chi1);
        /* ordered: a finite fixed point, as before */
        cr_assert_eq(vp_theory_analyze(&ctx, &a, 0.5 / m, 0.1, 1.0, &pt, &err), VP_OK, "%s: %s", name, err.msg);
        cr_expect(rel_close(pt.q_star, 0.2, 1e-14) && pt.phase == VP_PHASE_ORDERED, "%s: q* %g", name, pt.q_star);
    }
    /* A non-homogeneous diverging map is still an error: its chi_1 depends on q. */
    vp_act ex = vp_act_default(VP_ACT_EXPONENTIAL);
    vp_theory_point pt;
    vp_err err;
    cr_expect_eq(vp_theory_analyze(&ctx, &ex, 2.0, 0.0, 1.0, &pt, &err), VP_ERR_NUMERIC);
}

Test(theory_range, cli_relu_past_criticality_exits_0)
{
    /* The command. */
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-theory-range-");
    char *out = NULL, *errs = NULL;
    int rc = vt_run(dir, &out, &errs, "theory relu --sigma-w2 2.5");
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect_str_empty(errs, "%s", errs);
    cr_expect(strstr(out, "chi1   1.25 ") != NULL, "%s", out);
    cr_expect(strstr(out, "q*     inf ") != NULL, "%s", out);
    cr_expect(strstr(out, "phase  chaotic") != NULL, "%s", out);
    free(out), free(errs);
    rc = vt_run(dir, &out, &errs, "theory relu --sigma-w2 2.5 --json");
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect(strstr(out, "\"q_star\":null") && strstr(out, "\"chi1\":1.25,") && strstr(out, "\"phase\":\"chaotic\""),
              "%s", out);
    free(out), free(errs);
    /* leaky_relu: chi1 = 2.5 (1 + 0.01^2)/2 = 1.250125 */
    rc = vt_run(dir, &out, &errs, "theory leaky_relu --sigma-w2 2.5");
    cr_expect_eq(rc, 0, "exit %d: %s", rc, errs);
    cr_expect(strstr(out, "chi1   1.250125 ") && strstr(out, "phase  chaotic"), "%s", out);
    free(out), free(errs);
    vt_rmtree(dir);
}

/* ---- no floor: q to the bottom of the double range ---- */

Test(theory_range, the_length_map_has_no_floor)
{
    /* tanh with sigma_w2 = 0.01, sigma_b2 = 0: q^{l+1} = 0.01 E[tanh(sqrt(q^l) z)^2]
     * = 0.01 q^l (1 - 2 q^l + ...), so once q^l < 1e-20 every layer divides it by
     * 100 exactly (to rounding) -- down to 1e-306, the last value above DBL_MIN. Below
     * that the prediction underflows and is 0. Before, expectations at q < 1e-30 were
     * taken at 1e-30, so every deep layer predicted the same 1e-32. */
    const int L = 200;
    int w[201];
    double sw[200], sb[200], pv[200], gv[200], chi[200];
    for (int l = 0; l <= L; l++) w[l] = 10;
    for (int l = 0; l < L; l++) sw[l] = 0.01, sb[l] = 0.0;
    vp_act t = vp_act_default(VP_ACT_TANH);
    vp_err err;
    cr_assert_eq(vp_theory_layer_predictions(NULL, &t, L, w, sw, sb, 1.0, pv, gv, chi, &err), VP_OK, "%s", err.msg);
    int deep = 0, zeros = 0;
    for (int l = 1; l < L; l++) {
        if (pv[l - 1] < 1e-20 && pv[l - 1] * 0.01 >= DBL_MIN) {
            cr_expect(rel_close(pv[l], 0.01 * pv[l - 1], 1e-13), "layer %d: q %.17g after %.17g", l + 1, pv[l],
                      pv[l - 1]);
            deep++;
        }
        if (pv[l - 1] * 0.01 < DBL_MIN * 0.99) {
            cr_expect_eq(pv[l], 0.0, "layer %d: %g below the double range is 0", l + 1, pv[l]);
            zeros++;
        }
        if (isfinite(pv[l]) && pv[l] < 1e-20) cr_expect(rel_close(chi[l], 0.01, 1e-13), "chi %g", chi[l]);
    }
    cr_expect_gt(deep, 140, "layers followed below 1e-20: %d", deep);
    cr_expect_gt(zeros, 30, "layers at 0: %d", zeros);
    cr_expect(pv[150] > 0 && pv[150] < 1e-290, "layer 151: %g", pv[150]);
}

Test(theory_range, q_zero_is_the_exact_limit_and_tiny_q_is_computed)
{
    /* E[g(sqrt(q) z)] -> (g(0+) + g(0-))/2 as q -> 0: E[phi^2] -> phi(0)^2 (exactly 0
     * when phi(0) = 0; 1/4 for sigmoid), E[phi'^2] -> the mean of the one-sided
     * slopes squared. Before, q = 0 was evaluated at q = 1e-30 (E[tanh^2] = 1e-30). And
     * a tiny q > 0 is computed at that q: E[tanh(sqrt(q) z)^2] = q (1 - 2q + ...). */
    vp_theory_ctx ctx = ctx_of(0), quad = ctx_of(1);
    struct { vp_act_kind k; double p0, phi2, dphi2; } c[] = {
        { VP_ACT_TANH, 0, 0.0, 1.0 }, { VP_ACT_TANHSHRINK, 0, 0.0, 0.0 }, { VP_ACT_GELU, 0, 0.0, 0.25 },
        { VP_ACT_SIGMOID, 0, 0.25, 1.0 / 16 }, { VP_ACT_ELU, 2.0, 0.0, 2.5 }, { VP_ACT_RELU, 0, 0.0, 0.5 },
        { VP_ACT_SELU, 0, 0.0, 1.0507009873554804934 * 1.0507009873554804934 *
                                   (1 + 1.6732632423543772848 * 1.6732632423543772848) / 2 },
        { VP_ACT_HARD_TANH, 0, 0.0, 1.0 }, { VP_ACT_SQUAREPLUS, 0.0, 0.0, 0.5 },
        { VP_ACT_SOFTSHRINK, 0.5, 0.0, 0.0 }, { VP_ACT_THRESHOLD, 0.0, 0.0, 0.5 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_act a = vp_act_default(c[i].k);
        if (vp_act_get(a.kind)->nparams > 0 && c[i].k != VP_ACT_HARD_TANH && c[i].k != VP_ACT_THRESHOLD)
            a.p[0] = c[i].p0;
        const char *name = vp_act_get(a.kind)->name;
        for (int f = 0; f < 2; f++) {
            const vp_theory_ctx *cx = f ? &quad : &ctx;
            double e2, d2;
            vp_err err;
            cr_assert_eq(vp_theory_expect(cx, &a, VP_EXP_PHI2, 0.0, &e2, &err), VP_OK, "%s", err.msg);
            cr_assert_eq(vp_theory_expect(cx, &a, VP_EXP_DPHI2, 0.0, &d2, &err), VP_OK, "%s", err.msg);
            cr_expect(e2 == c[i].phi2, "%s: E[phi^2] at q = 0 is %.17g, want %.17g", name, e2, c[i].phi2);
            cr_expect(rel_close(d2, c[i].dphi2, 1e-14) || d2 == c[i].dphi2, "%s: E[phi'^2] at q = 0 is %.17g, want %.17g",
                      name, d2, c[i].dphi2);
        }
    }
    vp_act t = vp_act_default(VP_ACT_TANH);
    const double qs[] = { 1e-31, 1e-100, 1e-250, 1e-300, 1e-307 };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double e;
        vp_err err;
        cr_assert_eq(vp_theory_expect(&ctx, &t, VP_EXP_PHI2, qs[i], &e, &err), VP_OK, "%s", err.msg);
        cr_expect(rel_close(e, qs[i], 1e-12), "E[tanh^2] at q = %g: %.17g", qs[i], e);
    }
}

/* The correlation map of a homogeneous activation (relu, leaky_relu, ...) does not
 * depend on q: the arc-cosine kernel is E[phi(u1) phi(u2)] = sqrt(q_aa q_bb) k(c). Its
 * closed form took sqrt(q_aa * q_bb), which underflows to 0 below q ~ 1e-154 and
 * overflows above 1e154: relu at orthogonal gain 1e-6 (sigma_w2 = 1e-12), depth 30,
 * predicted theory_pre_corr 0 from layer 15 on (the measured correlation, and the
 * same net at gain 1, stay near 0.9), and gain 1e6 got nan. Now sqrt(q_aa) sqrt(q_bb):
 * the same c^l at every scale, as long as q^l is a normal double. */
Test(theory_range, the_relu_correlation_map_is_the_same_at_every_scale)
{
    const int L = 28;
    int w[29];
    double sb[28], pv[28], gv[28], ref_pv[28], corr[28], ref[28];
    for (int l = 0; l <= L; l++) w[l] = 10;
    for (int l = 0; l < L; l++) sb[l] = 0.0;
    const vp_act_kind kinds[] = { VP_ACT_RELU, VP_ACT_LEAKY_RELU };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        vp_act a = vp_act_default(kinds[k]);
        double sw[28], unit = 2.0;
        vp_err err;
        for (int l = 0; l < L; l++) sw[l] = unit;
        cr_assert_eq(vp_theory_layer_predictions(NULL, &a, L, w, sw, sb, 1.0, ref_pv, gv, NULL, &err), VP_OK, "%s",
                     err.msg);
        cr_assert_eq(vp_theory_corr_predictions(NULL, &a, L, sw, sb, 1.0, 0.3, ref_pv, ref, &err), VP_OK, "%s", err.msg);
        const double scales[] = { 1e-12, 1e12 }; /* q^l down to ~1e-300, up to ~1e300 */
        for (size_t s = 0; s < 2; s++) {
            for (int l = 0; l < L; l++) sw[l] = scales[s];
            cr_assert_eq(vp_theory_layer_predictions(NULL, &a, L, w, sw, sb, 1.0, pv, gv, NULL, &err), VP_OK, "%s",
                         err.msg);
            cr_assert_eq(vp_theory_corr_predictions(NULL, &a, L, sw, sb, 1.0, 0.3, pv, corr, &err), VP_OK, "%s",
                         err.msg);
            int checked = 0;
            for (int l = 1; l < L; l++) {
                if (!(pv[l] >= DBL_MIN && isfinite(pv[l]))) continue;
                cr_expect(rel_close(corr[l], ref[l], 1e-12), "%s at sigma_w2 = %g, layer %d (q = %g): c = %.17g, "
                          "at sigma_w2 = %g: %.17g", vp_act_get(a.kind)->name, scales[s], l + 1, pv[l], corr[l],
                          unit, ref[l]);
                checked++;
            }
            cr_expect_gt(checked, 20, "layers compared: %d", checked);
        }
    }
}

/* ---- tanhshrink: q collapses like q^3 ---- */

Test(theory_range, tanhshrink_is_accurate_at_small_q)
{
    /* tanhshrink(x) = x - tanh(x) = x^3/3 - 2x^5/15 + ..., so E[phi(sqrt(q) z)^2] =
     * (5/3) q^3 - (28/3) q^4 + ... and E[phi'^2] = E[tanh^4] = 3 q^2 - ...; a net's q
     * falls as q' ~ (5/3) sigma_w2 q^3 and reaches 6e-18 within a few layers. There
     * x - tanh(x) is rounding noise (relative error ~1e-16/x^2), the Gaussian rules
     * disagreed, and the run failed ("did not reach 1e-9 relative accuracy at q =
     * 5.95e-18"). The theory now uses the registry's f_accurate (the series below
     * |x| = 0.2), checked here against 50-digit values, and the expectations follow
     * the series to the bottom of the range. */
    const vp_act_info *info = vp_act_get(VP_ACT_TANHSHRINK);
    cr_assert_not_null(info->f_accurate);
    vp_act a = vp_act_default(VP_ACT_TANHSHRINK);
    struct { double x, v; } ref[] = {
        { 1e-3, 3.3333320000005396823e-10 }, { 1e-9, 3.333333333333333332e-28 }, { 0.19, 0.00225379413171459229 },
        { 0.2, 0.0026246797750959992618 }, { 0.21, 0.0030335002705474134052 }, { -0.05, -0.000041625042120027801614 },
        { 1e-100, 3.3333333333333333333e-301 },
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        cr_expect(rel_close(info->f_accurate(ref[i].x, a.p), ref[i].v, 5e-14), "tanhshrink(%g) = %.17g, want %.17g",
                  ref[i].x, info->f_accurate(ref[i].x, a.p), ref[i].v);
    cr_expect(isnan(info->f_accurate(NAN, a.p)));
    vp_theory_ctx ctx = ctx_of(0);
    const double qs[] = { 1e-8, 5.95e-18, 1.94895e-23, 1e-60, 1e-100 };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double q = qs[i], e2, d2;
        vp_err err;
        cr_assert_eq(vp_theory_expect(&ctx, &a, VP_EXP_PHI2, q, &e2, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(vp_theory_expect(&ctx, &a, VP_EXP_DPHI2, q, &d2, &err), VP_OK, "%s", err.msg);
        double want2 = 5.0 / 3.0 * q * q * q * (1 - 28.0 / 5.0 * q), wantd = 3 * q * q;
        cr_expect(rel_close(e2, want2, 1e-9 + 60 * q * q), "E[phi^2] at q = %g: %.17g, want %.17g", q, e2, want2);
        cr_expect(rel_close(d2, wantd, 1e-9 + 10 * q), "E[phi'^2] at q = %g: %.17g, want %.17g", q, d2, wantd);
    }
}

Test(theory_range, every_activation_at_depth_30_runs_with_its_theory, .timeout = 300)
{
    /* Every elementwise activation x {he_normal, xavier_uniform, normal std 1} at
     * depth 30: the sweep completes (exit 0, nothing on stderr) and every layer has
     * its predictions -- a number, 0 where it underflowed, inf where q overflowed --
     * never an empty cell for want of accuracy. The only empty cells are those that
     * an overflowed q^l leaves undefined: chi^l at an infinite q^l, and the gradients
     * of a run whose q^l overflowed somewhere (the backward recursion starts at the
     * last layer). Before, tanhshrink's theory failed at q ~ 1e-18 and the whole sweep
     * exited 1. */
    char names[2048], list[4096] = "";
    vp_act_names(0, names, sizeof names);
    size_t n = 0;
    int nact = 0;
    for (char *tok = strtok(names, " "); tok; tok = strtok(NULL, " ")) {
        if (vp_act_rowwise(vp_act_get(vp_act_find(tok)))) continue;
        n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", n ? "," : "", tok);
        nact++;
    }
    char cfg[6000];
    snprintf(cfg, sizeof cfg,
             "{\"name\":\"all\",\"seeds\":1,\"network\":{\"depth\":30,\"width\":32},\"input\":{\"batch\":16},"
             "\"sweep\":{\"network.activation\":[%s],\"network.init\":[\"he_normal\",\"xavier_uniform\","
             "{\"name\":\"normal\",\"std\":1}]}}",
             list);
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-theory-range-", cfg);
    vp_table *t = vt_out_table(dir, VP_FILE_LAYERS);
    vp_err err;
    cr_expect_eq(vp_table_nrows(t), (size_t)nact * 3 * 30);
    size_t cp, cg, cc, ca;
    cr_assert_eq(vp_table_require_col(t, VP_COL_THEORY_PRE_VAR, &cp, &err), VP_OK);
    cr_assert_eq(vp_table_require_col(t, VP_COL_THEORY_GRAD_PRE_VAR, &cg, &err), VP_OK);
    cr_assert_eq(vp_table_require_col(t, VP_COL_THEORY_CHI, &cc, &err), VP_OK);
    cr_assert_eq(vp_table_require_col(t, VP_COL_ACTIVATION, &ca, &err), VP_OK);
    int inf_run = 0, infs = 0;
    for (size_t r = 0; r < vp_table_nrows(t); r++) {
        const size_t cols[3] = { cp, cg, cc };
        if (r % 30 == 0) { /* a new run: did its q^l overflow anywhere? */
            inf_run = 0;
            for (size_t k = r; k < r + 30 && k < vp_table_nrows(t); k++) inf_run |= strcmp(vp_table_cell(t, k, cp), "inf") == 0;
            infs += inf_run;
        }
        int qinf = strcmp(vp_table_cell(t, r, cp), "inf") == 0;
        for (int k = 0; k < 3; k++) {
            double v;
            const char *s = vp_table_cell(t, r, cols[k]);
            int may_be_empty = (k == 1 && inf_run) || (k == 2 && qinf);
            cr_expect(s[0] != '\0' || may_be_empty, "row %zu (%s): empty %s", r, vp_table_cell(t, r, ca),
                      vp_table_colname(t, cols[k]));
            if (s[0]) {
                cr_expect_eq(vp_table_num(t, r, cols[k], &v, &err), VP_OK);
                cr_expect(v >= 0, "row %zu (%s): %s = %s", r, vp_table_cell(t, r, ca), vp_table_colname(t, cols[k]), s);
            }
        }
    }
    cr_expect_leq(infs, 3, "runs whose theory overflowed: %d (exponential only)", infs);
    vp_table_free(t);
    vt_rmtree(dir);
}
