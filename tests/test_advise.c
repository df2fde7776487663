/* Tests of the iterated maps (src/theory/iterate), the advisor (src/theory/advise)
 * and `varprop theory --iterate`.
 * References: closed forms written here independently of the module (the ReLU
 * arc-cosine correlation map, the ReLU fluctuation law of Hanin & Rolnick 2018), a
 * plain Simpson-rule quadrature of the tanh length map, and SELU's fixed point q* = 1
 * under LeCun init (Klambauer et al. 2017). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/spec.h"
#include "harness.h"
#include "theory/advise.h"
#include "theory/iterate.h"
#include "theory/theory.h"

static vp_theory_ctx make_ctx(int force_quadrature)
{
    vp_theory_ctx ctx;
    vp_err err;
    cr_assert_eq(vp_theory_ctx_init(&ctx, &err), VP_OK, "%s", err.msg);
    ctx.force_quadrature = force_quadrature;
    return ctx;
}

static vp_act act_named(const char *name)
{
    vp_act a;
    vp_err err;
    cr_assert_eq(vp_spec_act(name, &a, &err), VP_OK, "%s", err.msg);
    return a;
}

static int close_rel(double got, double want, double rtol, double atol)
{
    return fabs(got - want) <= rtol * fabs(want) + atol;
}

/* ---- iterate: closed forms and plain references ---- */

/* ReLU at sigma_w2 = 2, sigma_b2 = 0: q^l = 2 q0 for l >= 1, chi^l = 1, and the
 * arc-cosine correlation map c' = (sqrt(1 - c^2) + (pi - arccos c) c) / pi from
 * c^1 = c0 (papers.md §10). Both the closed-form path and the quadrature path. */
Test(iterate, relu_correlation_map_is_the_arc_cosine_closed_form)
{
    enum { L = 12 };
    vp_act a = act_named("relu");
    for (int fq = 0; fq <= 1; fq++) {
        vp_theory_ctx ctx = make_ctx(fq);
        vp_theory_layer it[L + 1];
        vp_err err;
        cr_assert_eq(vp_theory_iterate(&ctx, &a, 2.0, 0.0, 0.7, -0.3, L, it, &err), VP_OK, "%s", err.msg);
        cr_expect(it[0].q == 0.7 && it[0].c == -0.3 && isnan(it[0].chi), "layer 0 is the input");
        double c = -0.3;
        for (int l = 1; l <= L; l++) {
            if (l > 1) c = (sqrt(1.0 - c * c) + (M_PI - acos(c)) * c) / M_PI;
            double tol = fq ? 1e-11 : 1e-15;
            cr_expect(close_rel(it[l].q, 1.4, tol, 0), "quad %d layer %d: q = %.17g, want 1.4", fq, l, it[l].q);
            cr_expect(close_rel(it[l].chi, 1.0, tol, 0), "quad %d layer %d: chi = %.17g, want 1", fq, l, it[l].chi);
            cr_expect(fabs(it[l].c - c) <= (fq ? 1e-10 : 1e-15), "quad %d layer %d: c = %.17g, want %.17g", fq, l,
                      it[l].c, c);
        }
    }
}

/* E[g(sqrt(q) z)] by composite Simpson on z in [-12, 12] (40000 panels): written
 * here, independent of the module's Gauss-Hermite / Gauss-Kronrod rules. */
static double simpson(double (*g)(double), double q)
{
    const int n = 40000;
    const double a = -12.0, h = 24.0 / n;
    double s = 0.0;
    for (int i = 0; i <= n; i++) {
        double z = a + h * i, w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
        s += w * g(sqrt(q) * z) * exp(-0.5 * z * z);
    }
    return s * h / 3.0 / sqrt(2.0 * M_PI);
}
static double tanh2(double u) { return tanh(u) * tanh(u); }
static double dtanh2(double u)
{
    double d = 1.0 - tanh(u) * tanh(u);
    return d * d;
}

/* tanh's length map q^{l+1} = sigma_w2 E[tanh(sqrt(q^l) z)^2] + sigma_b2 and chi^l
 * against the plain quadrature, layer by layer, at two points (ordered and
 * chaotic) and two inputs. */
Test(iterate, tanh_length_map_matches_a_plain_quadrature)
{
    static const double pts[][3] = { { 1.5, 0.05, 1.0 }, { 2.5, 0.1, 0.3 }, { 1.0, 0.0, 4.0 } };
    vp_act a = act_named("tanh");
    vp_theory_ctx ctx = make_ctx(0);
    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        double sw = pts[k][0], sb = pts[k][1], q0 = pts[k][2];
        enum { L = 8 };
        vp_theory_layer it[L + 1];
        vp_err err;
        cr_assert_eq(vp_theory_iterate(&ctx, &a, sw, sb, q0, NAN, L, it, &err), VP_OK, "%s", err.msg);
        double q = sw * q0 + sb;
        for (int l = 1; l <= L; l++) {
            cr_expect(close_rel(it[l].q, q, 1e-11, 0), "point %zu layer %d: q = %.17g, want %.17g", k, l, it[l].q, q);
            double chi = sw * simpson(dtanh2, q);
            cr_expect(close_rel(it[l].chi, chi, 1e-11, 0), "point %zu layer %d: chi = %.17g, want %.17g", k, l,
                      it[l].chi, chi);
            cr_expect(isnan(it[l].c), "no correlation asked");
            q = sw * simpson(tanh2, it[l].q) + sb; /* from the module's q^l: no compounding */
        }
    }
}

/* SELU with LeCun init (sigma_w2 = 1, sigma_b2 = 0): q* = 1 is a fixed point
 * (E[selu(z)^2] = 1, Klambauer et al. 2017), so from q0 = 1 every q^l is 1, and from
 * q0 = 0.5 the map reaches it (slope 0.78 at q* = 1: within 1e-9 after 100 layers). */
Test(iterate, selu_fixed_point_under_lecun_init)
{
    enum { L = 100 };
    vp_act a = act_named("selu");
    vp_theory_ctx ctx = make_ctx(0);
    vp_theory_layer it[L + 1];
    vp_err err;
    cr_assert_eq(vp_theory_iterate(&ctx, &a, 1.0, 0.0, 1.0, NAN, L, it, &err), VP_OK, "%s", err.msg);
    for (int l = 1; l <= L; l++) cr_expect(fabs(it[l].q - 1.0) <= 1e-12, "layer %d: q = %.17g", l, it[l].q);
    cr_assert_eq(vp_theory_iterate(&ctx, &a, 1.0, 0.0, 0.5, NAN, L, it, &err), VP_OK, "%s", err.msg);
    cr_expect(fabs(it[L].q - 1.0) <= 1e-9, "q^100 = %.17g from q0 = 0.5", it[L].q);
    cr_expect(it[2].q > it[1].q && it[1].q == 0.5, "q rises from q^1 = 0.5: %g, %g", it[1].q, it[2].q);
}

/* The iterates are vp_theory_layer_predictions' pre_var bit for bit (equal widths),
 * and the copied tail after a repeated state is what recomputing gives. */
Test(iterate, agrees_with_layer_predictions_and_the_tail_is_exact)
{
    enum { L = 300 };
    vp_act a = act_named("tanh");
    vp_theory_ctx ctx = make_ctx(0);
    static vp_theory_layer it[L + 1];
    int widths[L + 1];
    static double sw[L], sb[L], pv[L], gv[L];
    for (int l = 0; l <= L; l++) widths[l] = 100;
    for (int l = 0; l < L; l++) sw[l] = 1.7, sb[l] = 0.2;
    vp_err err;
    cr_assert_eq(vp_theory_iterate(&ctx, &a, 1.7, 0.2, 1.3, 0.4, L, it, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_theory_layer_predictions(&ctx, &a, L, widths, sw, sb, 1.3, pv, gv, &err), VP_OK, "%s", err.msg);
    for (int l = 1; l <= L; l++) cr_expect(it[l].q == pv[l - 1], "layer %d: %.17g vs %.17g", l, it[l].q, pv[l - 1]);
    for (int l = 150; l < L; l += 37) {
        double qn, cn, chi;
        cr_assert_eq(vp_theory_qmap(&ctx, &a, 1.7, 0.2, it[l].q, &qn, &err), VP_OK);
        cr_assert_eq(vp_theory_cmap(&ctx, &a, 1.7, 0.2, it[l].q, it[l].c, &cn, &err), VP_OK);
        cr_assert_eq(vp_theory_chi1(&ctx, &a, 1.7, it[l + 1].q, &chi, &err), VP_OK);
        cr_expect(qn == it[l + 1].q && fmin(cn, 1.0) == it[l + 1].c && chi == it[l + 1].chi, "tail layer %d", l + 1);
    }
}

Test(iterate, diverging_map_and_bad_arguments)
{
    enum { L = 3000 };
    vp_act a = act_named("relu");
    vp_theory_ctx ctx = make_ctx(0);
    static vp_theory_layer it[L + 1];
    vp_err err;
    /* relu at sigma_w2 = 3: q^l = 1.5^(l-1) 3 overflows near l = 1750; not an error. */
    cr_assert_eq(vp_theory_iterate(&ctx, &a, 3.0, 0.0, 1.0, 0.5, L, it, &err), VP_OK, "%s", err.msg);
    cr_expect(isfinite(it[1000].q) && close_rel(it[1000].q, 3.0 * pow(1.5, 999), 1e-12, 0));
    cr_expect(isinf(it[L].q) && isnan(it[L].c) && isnan(it[L].chi));
    cr_expect_eq(vp_theory_iterate(&ctx, &a, 2.0, 0.0, 1.0, 1.5, 3, it, &err), VP_ERR_USAGE);
    cr_expect_eq(vp_theory_iterate(&ctx, &a, -1.0, 0.0, 1.0, NAN, 3, it, &err), VP_ERR_USAGE);
    cr_expect_eq(vp_theory_iterate(&ctx, &a, 1.0, 0.0, -1.0, NAN, 3, it, &err), VP_ERR_USAGE);
    vp_act sm = act_named("softmax");
    cr_expect_eq(vp_theory_iterate(&ctx, &sm, 1.0, 0.0, 1.0, NAN, 3, it, &err), VP_ERR_USAGE);
    cr_expect(strstr(err.msg, "softmax") != NULL, "%s", err.msg);
}

/* ---- advise: the rule and the fluctuation model ---- */

static vp_advice advise(const char *name, int L, int n, int B, double sb2)
{
    vp_act a = act_named(name);
    vp_theory_ctx ctx = make_ctx(0);
    vp_advise_net net = { L, n, B, 1.0 };
    vp_advice r;
    vp_err err;
    cr_assert_eq(vp_advise(&ctx, &a, &net, sb2, &r, &err), VP_OK, "%s: %s", name, err.msg);
    return r;
}

/* ReLU: sigma_w2 = 2, sigma_b2 = 0 (any sigma_b2 > 0 makes q grow linearly), mean-field
 * ratios 1 at every depth, and the Hanin & Rolnick variance in closed form: kappa_f =
 * E[relu^4]/E[relu^2]^2 - 1 = 5 per layer, plus the two end samples (2/n each);
 * backward kappa_b = E[relu'^4]/E[relu'^2]^2 - 1 = 1, plus 2 (kappa_b + 1)/B. */
Test(advise, relu_is_he_init_with_the_hanin_rolnick_spread)
{
    const int L = 100, n = 1024, B = 32;
    vp_advice r = advise("relu", L, n, B, NAN);
    cr_expect(r.sigma_w2 == 2.0 && r.sigma_b2 == 0.0 && r.sigma_b == 0.0, "%g %g", r.sigma_w2, r.sigma_b2);
    cr_expect(r.sigma_w == 1.41421356, "%.17g", r.sigma_w);
    cr_expect(isnan(r.q_star), "every q is a fixed point");
    cr_expect(fabs(r.fwd - 1.0) < 1e-8 * L && fabs(r.bwd - 1.0) < 1e-8 * L, "%.17g %.17g", r.fwd, r.bwd);
    cr_expect(close_rel(r.var_fwd, (5.0 * (L - 1) + 4.0) / n, 1e-4, 0), "%.10g", r.var_fwd);
    cr_expect(close_rel(r.var_bwd, (L - 1) * (1.0 + 4.0 / B) / n, 1e-9, 0), "%.10g", r.var_bwd);
}

/* The chosen point is on the line (chi1 = 1 up to the 9-digit rounding), has
 * sigma_b2 >= 0, and no neighbour along the line, nor the sigma_b2 = 0 point, is
 * predicted better. */
static void expect_line_optimum(const char *name, int L, int n)
{
    vp_act a = act_named(name);
    vp_theory_ctx ctx = make_ctx(0);
    vp_advise_net net = { L, n, 64, 1.0 };
    vp_advice r = advise(name, L, n, 64, NAN), o;
    vp_err err;
    cr_expect(fabs(r.chi1 - 1.0) < 1e-7, "%s: chi1 = %.12g", name, r.chi1);
    cr_expect(r.sigma_b2 >= 0 && r.qslope <= 1.0, "%s: sigma_b2 = %g, slope %g", name, r.sigma_b2, r.qslope);
    for (int s = -1; s <= 1; s += 2) {
        double q = r.q_star * pow(1.15, s), e2, d2;
        cr_assert_eq(vp_theory_expect(&ctx, &a, VP_EXP_PHI2, q, &e2, &err), VP_OK);
        cr_assert_eq(vp_theory_expect(&ctx, &a, VP_EXP_DPHI2, q, &d2, &err), VP_OK);
        if (q - e2 / d2 < 0) continue;
        cr_assert_eq(vp_advise_eval(&ctx, &a, &net, 1.0 / d2, q - e2 / d2, &o, &err), VP_OK, "%s", err.msg);
        cr_expect(o.rms >= r.rms - 1e-6, "%s: q* %g has rms %g < the advice's %g at q* %g", name, q, o.rms, r.rms,
                  r.q_star);
    }
    double sw2, qs;
    if (vp_theory_critical(&ctx, &a, 0.0, &sw2, &qs, &err) == VP_OK) {
        cr_assert_eq(vp_advise_eval(&ctx, &a, &net, sw2, 0.0, &o, &err), VP_OK, "%s", err.msg);
        cr_expect(o.rms >= r.rms - 1e-6, "%s: the sigma_b2 = 0 point is better", name);
    }
}

Test(advise, the_advice_is_the_best_point_of_the_line)
{
    expect_line_optimum("tanh", 100, 1024);
    expect_line_optimum("selu", 100, 1024);
    expect_line_optimum("gelu", 100, 1024);
    expect_line_optimum("tanh", 30, 256);
}

/* tanh at sigma_b2 = 0 is critical only in the q* -> 0 limit: from q0 = 1 the signal
 * decays as 1/(2l), so at depth 100 the advice moves off sigma_b = 0. SELU's sigma_b2
 * = 0 point (sigma_w2 = 0.477, q* -> 0) decays too; its advice sits near the LeCun
 * fixed point q* = 1 (where E[selu^2] = 1 = E[x^2]: the net starts at q*). At depth 1
 * every point ties (both ratios are 1 exactly) and the sigma_b2 = 0 point wins. */
Test(advise, sigma_b_moves_off_zero_only_where_depth_needs_it)
{
    vp_advice t = advise("tanh", 100, 1024, 64, NAN);
    cr_expect(t.sigma_b2 > 0.1 && t.q_star > 1.0, "tanh: sigma_b2 = %g, q* = %g", t.sigma_b2, t.q_star);
    vp_advice s = advise("selu", 100, 1024, 64, NAN);
    cr_expect(s.q_star > 0.8 && s.q_star < 1.5 && s.sigma_b2 > 0, "selu: q* = %g, sigma_b2 = %g", s.q_star,
              s.sigma_b2);
    vp_advice t1 = advise("tanh", 1, 1024, 64, NAN);
    cr_expect(t1.sigma_b2 == 0.0 && t1.sigma_w2 == 1.0 && t1.q_star == 0.0, "tanh depth 1: %g %g %g", t1.sigma_w2,
              t1.sigma_b2, t1.q_star);
    cr_expect(t1.fwd == 1.0 && t1.bwd == 1.0 && t1.var_fwd == 0.0 && t1.var_bwd == 0.0);
    /* A given sigma_b2: the critical point there (docs/theory.md: tanh 1.76095464 at 0.05). */
    vp_advice g = advise("tanh", 100, 1024, 64, 0.05);
    cr_expect(g.rule == VP_ADVISE_GIVEN_SB && g.sigma_b2 == 0.05 && fabs(g.sigma_w2 - 1.76095464) < 1e-8,
              "tanh at 0.05: %.10g", g.sigma_w2);
}

/* GELU has no critical point at sigma_b = 0 (q = 0 repels), and from unit-variance
 * inputs the stable part of its line starts at q* ~ 3.4, which the first layer (q^1 =
 * sigma_w2 + sigma_b2 ~ 2.2) reaches only slowly: the best point keeps the ratios
 * within the run's stable band but not within a factor 2 at depth 100. */
Test(advise, gelu_gets_sigma_b_above_zero)
{
    vp_advice r = advise("gelu", 100, 1024, 64, NAN);
    cr_expect(r.sigma_b2 > 0.1 && r.qslope < 1.0, "gelu: sigma_b2 = %g slope %g", r.sigma_b2, r.qslope);
    cr_expect(r.fwd > 2.0 && r.fwd < 10.0 && r.bwd > 0.1 && r.bwd < 1.0, "gelu: %g %g", r.fwd, r.bwd);
}

/* Every activation of the registry: an advice on the line, "no point" (VP_ERR_NUMERIC
 * with that reason), or, row-wise, VP_ERR_USAGE. */
Test(advise, every_activation_of_the_registry, .timeout = 300)
{
    vp_theory_ctx ctx = make_ctx(0);
    vp_advise_net net = { 12, 256, 64, 1.0 };
    int advised = 0, none = 0, rowwise = 0;
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        vp_act a = vp_act_default((vp_act_kind)k);
        const char *nm = vp_act_get(a.kind)->name;
        vp_advice r;
        vp_err err;
        vp_status st = vp_advise(&ctx, &a, &net, NAN, &r, &err);
        if (vp_act_rowwise(vp_act_get(a.kind))) {
            cr_expect_eq(st, VP_ERR_USAGE, "%s", nm);
            rowwise++;
        } else if (st == VP_ERR_NUMERIC) {
            cr_expect(strstr(err.msg, "no point of the critical line") != NULL, "%s: %s", nm, err.msg);
            none++;
        } else {
            cr_assert_eq(st, VP_OK, "%s: %s", nm, err.msg);
            cr_expect(fabs(r.chi1 - 1.0) < 1e-6 && r.sigma_b2 >= 0 && r.sigma_w > 0, "%s: chi1 %.10g", nm, r.chi1);
            cr_expect(isfinite(r.rms), "%s", nm);
            advised++;
        }
    }
    cr_expect(rowwise == 6 && advised >= 20, "%d advised, %d without a point, %d row-wise", advised, none, rowwise);
}

/* ---- command line ---- */

static char tmpdir[256];
static void mk(void) { vt_mktmp(tmpdir, sizeof tmpdir, "/tmp/varprop-advise-"); }
static void rm(void) { vt_rmtree(tmpdir); }

TestSuite(advise_cli, .init = mk, .fini = rm);

Test(advise_cli, theory_iterate_csv_json_and_sigma_forms)
{
    char *o, *e;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory relu --sigma-w2 2 --iterate 3 --c0 0.5 --csv"), 0, "%s", e);
    double q, c, chi;
    int l;
    const char *p = strstr(o, "\n3,");
    cr_assert(strncmp(o, "layer,q,c,chi\n0,1,0.5,\n", 23) == 0, "%s", o);
    cr_assert(p && sscanf(p + 1, "%d,%lf,%lf,%lf", &l, &q, &c, &chi) == 4, "%s", o);
    double c2 = (sqrt(1 - 0.25) + (M_PI - acos(0.5)) * 0.5) / M_PI, c3 = (sqrt(1 - c2 * c2) + (M_PI - acos(c2)) * c2) / M_PI;
    cr_expect(q == 2 && chi == 1 && fabs(c - c3) < 1e-15, "%s", o);
    free(o), free(e);

    char *o2;
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --sigma-w 1.5 --sigma-b 0.5 --iterate 4 --json"), 0, "%s", e);
    cr_assert_eq(vt_run(tmpdir, &o2, &e, "theory tanh --sigma-w2 2.25 --sigma-b2 0.25 --iterate 4 --json"), 0);
    cr_expect_str_eq(o, o2);
    cJSON *j = cJSON_Parse(o);
    cr_assert(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "layers")) == 5, "%s", o);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "layers"), 0), "chi")));
    cJSON_Delete(j);
    free(o), free(o2), free(e);

    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --sigma-w 1 --sigma-w2 1 --iterate 3"), 2);
    cr_expect(strstr(e, "give --sigma-w2 or --sigma-w, not both") != NULL, "%s", e);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --sigma-b 1 --sigma-b2 1"), 2);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --c0 0.5"), 2);
    cr_expect(strstr(e, "--iterate") != NULL, "%s", e);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --iterate 3 --c0 1.5"), 2);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --csv"), 2);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --critical --iterate 3"), 2);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --critical --sigma-w 1"), 2);
    free(o), free(e);
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory softmax --iterate 3"), 2);
    free(o), free(e);
    /* --sigma-b also sets --critical's bias: the same line point as --sigma-b2. */
    cr_assert_eq(vt_run(tmpdir, &o, &e, "theory tanh --critical --sigma-b 0.5 --json"), 0);
    cr_assert_eq(vt_run(tmpdir, &o2, &e, "theory tanh --critical --sigma-b2 0.25 --json"), 0);
    cr_expect_str_eq(o, o2);
    free(o), free(o2), free(e);
}

