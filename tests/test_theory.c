/* Tests of the mean-field theory (src/theory: quad, expect, theory). Reference values are
 * closed forms written here independently of the module, published numbers
 * (docs/reference/initializers.md §4.2, papers.md §4-6), and a direct
 * Monte-Carlo simulation of a finite network. */
#include <cblas.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "theory/theory.h"

static vp_theory_ctx make_ctx(int force_quadrature)
{
    vp_theory_ctx ctx;
    vp_err err;
    cr_assert_eq(vp_theory_ctx_init(&ctx, &err), VP_OK, "%s", err.msg);
    ctx.force_quadrature = force_quadrature;
    return ctx;
}

static double expect1(const vp_theory_ctx *ctx, vp_act_kind k, vp_theory_exp1 kind, double q)
{
    vp_act a = vp_act_default(k);
    double v = NAN;
    vp_err err;
    cr_assert_eq(vp_theory_expect(ctx, &a, kind, q, &v, &err), VP_OK, "%s", err.msg);
    return v;
}

static int close_rel(double got, double want, double rtol, double atol)
{
    return fabs(got - want) <= rtol * fabs(want) + atol;
}

/* ---- quadrature rule ---- */

Test(theory, gauss_hermite_moments)
{
    /* An n-point rule integrates z^m exactly for m <= 2n-1:
     * E[z^2k] = (2k-1)!!, odd moments 0. */
    enum { N = 20 };
    double x[N], w[N];
    vp_err err;
    cr_assert_eq(vp_gh_rule(N, x, w, &err), VP_OK, "%s", err.msg);
    double dfact = 1.0; /* (2k-1)!! */
    for (int k = 0; 2 * k <= 2 * N - 1; k++) {
        if (k > 0) dfact *= 2 * k - 1;
        double even = 0.0, odd = 0.0, absodd = 0.0;
        for (int i = 0; i < N; i++) {
            even += w[i] * pow(x[i], 2 * k);
            odd += w[i] * pow(x[i], 2 * k + 1);
            absodd += w[i] * fabs(pow(x[i], 2 * k + 1));
        }
        cr_expect(close_rel(even, dfact, 1e-12, 0), "E[z^%d] = %.17g, want %.17g", 2 * k, even, dfact);
        if (2 * k + 1 <= 2 * N - 1) cr_expect(fabs(odd) <= 1e-14 * absodd, "E[z^%d] = %g", 2 * k + 1, odd);
    }
    for (int i = 1; i < N; i++) cr_expect(x[i] > x[i - 1], "nodes not ascending");
    cr_expect_eq(vp_gh_rule(0, x, w, &err), VP_ERR_USAGE);
    cr_expect_eq(vp_gh_rule(VP_GH_MAX + 1, x, w, &err), VP_ERR_USAGE);
}

static double f_sin(double x, void *arg) { (void)arg; return sin(x); }
static double f_absx(double x, void *arg) { (void)arg; return fabs(x); }
static double f_peak(double x, void *arg) { return exp(-x * x / (2 * *(double *)arg)); }

Test(theory, gauss_kronrod_integrals)
{
    /* Exact integrals: sin over [0, pi] = 2; |x| over [-1, 2] with its kink as a
     * breakpoint = 2.5; a narrow Gaussian e^{-x^2/(2 s)}, s = 1e-4, over [-1, 3]
     * = sqrt(2 pi s) (the adaptive bisection must find the peak from a coarse
     * start); an empty piece is skipped. */
    double out, pi_pts[2] = { 0, M_PI }, abs_pts[4] = { -1, 0, 0, 2 }, peak_pts[2] = { -1, 3 }, s = 1e-4;
    cr_expect_eq(vp_gk_integrate(f_sin, NULL, pi_pts, 2, 0.0, &out), 0);
    cr_expect(close_rel(out, 2.0, 1e-14, 0), "%.17g", out);
    cr_expect_eq(vp_gk_integrate(f_absx, NULL, abs_pts, 4, 0.0, &out), 0);
    cr_expect(close_rel(out, 2.5, 1e-15, 0), "%.17g", out);
    cr_expect_eq(vp_gk_integrate(f_peak, &s, peak_pts, 2, 0.0, &out), 0);
    cr_expect(close_rel(out, sqrt(2 * M_PI * s), 1e-12, 0), "%.17g", out);
}

static vp_status r_cube(void *arg, double x, double *fx, vp_err *err)
{
    (void)err;
    ++*(int *)arg;
    *fx = x * x * x - 2.0;
    return VP_OK;
}
static vp_status r_fails(void *arg, double x, double *fx, vp_err *err)
{
    (void)arg; (void)x; (void)fx;
    return vp_fail(err, VP_ERR_NUMERIC, "no value here");
}

Test(theory, root_bracket)
{
    /* The cube root of 2 on [0, 2] to 1e-15, in far fewer steps than bisection's
     * ~50; a failing function stops the search with its own status. */
    int calls = 0;
    double root = 0;
    vp_err err;
    cr_assert_eq(vp_root_bracket(r_cube, &calls, 0.0, 2.0, -2.0, 6.0, 1e-15, 0.0, &root, &err), VP_OK);
    cr_expect(close_rel(root, cbrt(2.0), 4e-15, 0), "%.17g", root);
    cr_expect_lt(calls, 40, "%d evaluations", calls);
    cr_expect_eq(vp_root_bracket(r_fails, NULL, 0.0, 2.0, -2.0, 6.0, 1e-15, 0.0, &root, &err), VP_ERR_NUMERIC);
    cr_expect_str_eq(err.msg, "no value here");
}

/* ---- closed forms against the general quadrature ---- */

Test(theory, relu_family_closed_forms)
{
    /* E[relu(u)^2] = q/2, E[relu'^2] = 1/2, d/dq E[relu^2] = 1/2,
     * E[relu(u)] = sqrt(q/(2 pi)), E[relu'^4] = 1/2; leaky_relu(s): (1+s^2)/2 ...
     * The closed-form path must give them exactly and the quadrature path
     * (kinks split, adaptive Gauss-Kronrod) to 1e-9 relative. */
    vp_theory_ctx cf = make_ctx(0), nq = make_ctx(1);
    const double qs[5] = { 1e-3, 0.5, 1.0, 7.3, 250.0 };
    for (int i = 0; i < 5; i++) {
        double q = qs[i];
        const double want[VP_EXP_COUNT] = {
            [VP_EXP_PHI] = sqrt(q / (2 * M_PI)), [VP_EXP_PHI2] = q / 2, [VP_EXP_DPHI2] = 0.5,
            [VP_EXP_DPHI4] = 0.5, [VP_EXP_SLOPE] = 0.5 };
        for (int k = 0; k < VP_EXP_COUNT; k++) {
            double c = expect1(&cf, VP_ACT_RELU, (vp_theory_exp1)k, q);
            double n = expect1(&nq, VP_ACT_RELU, (vp_theory_exp1)k, q);
            cr_expect(close_rel(c, want[k], 1e-15, 0), "relu closed kind %d q %g: %.17g vs %.17g", k, q, c, want[k]);
            cr_expect(close_rel(n, want[k], 1e-9, 0), "relu quadrature kind %d q %g: %.17g vs %.17g", k, q, n, want[k]);
        }
        vp_act lr = vp_act_default(VP_ACT_LEAKY_RELU);
        lr.p[0] = 0.2;
        double v = 0.0;
        vp_err err;
        cr_assert_eq(vp_theory_expect(&nq, &lr, VP_EXP_PHI2, q, &v, &err), VP_OK, "%s", err.msg);
        cr_expect(close_rel(v, 0.5 * (1 + 0.04) * q, 1e-9, 0), "leaky_relu(0.2) E[phi^2] = %.17g", v);
    }
}

/* Arc-cosine kernel (Cho & Saul 2009; neural-tangents Relu):
 * E[relu(u1) relu(u2)] = sqrt(qa qb)/(2 pi) (sin t + (pi - t) c), E[relu' relu'] = (pi - t)/(2 pi). */
static double arccos_kernel(double qa, double qb, double c)
{
    double t = acos(c);
    return sqrt(qa * qb) / (2 * M_PI) * (sin(t) + (M_PI - t) * c);
}

Test(theory, relu_arccos_correlation_map)
{
    vp_theory_ctx cf = make_ctx(0), nq = make_ctx(1);
    vp_act relu = vp_act_default(VP_ACT_RELU), id = vp_act_default(VP_ACT_IDENTITY);
    const double cs[7] = { -1.0, -0.95, -0.3, 0.0, 0.4, 0.9, 0.999 };
    const double qa = 0.7, qb = 2.3;
    vp_err err;
    for (int i = 0; i < 7; i++) {
        double c = cs[i], want = arccos_kernel(qa, qb, c), wantd = (M_PI - acos(c)) / (2 * M_PI);
        double v[2][2];
        for (int m = 0; m < 2; m++) {
            const vp_theory_ctx *ctx = m ? &nq : &cf;
            cr_assert_eq(vp_theory_expect2(ctx, &relu, VP_EXP2_PHIPHI, qa, qb, c, &v[m][0], &err), VP_OK, "%s", err.msg);
            cr_assert_eq(vp_theory_expect2(ctx, &relu, VP_EXP2_DPHIDPHI, qa, qb, c, &v[m][1], &err), VP_OK, "%s", err.msg);
            double tol = m ? 1e-9 : 1e-14, atol = m ? 1e-13 : 1e-16;
            cr_expect(close_rel(v[m][0], want, tol, atol), "path %d c %g: E[relu relu] %.17g vs %.17g", m, c, v[m][0], want);
            cr_expect(close_rel(v[m][1], wantd, tol, atol), "path %d c %g: E[relu' relu'] %.17g vs %.17g", m, c, v[m][1], wantd);
        }
        /* Linear: E[u1 u2] = c sqrt(qa qb) (Gauss-Hermite is exact for it). */
        double lin = 0.0;
        cr_assert_eq(vp_theory_expect2(&nq, &id, VP_EXP2_PHIPHI, qa, qb, c, &lin, &err), VP_OK, "%s", err.msg);
        cr_expect(fabs(lin - c * sqrt(qa * qb)) <= 1e-13, "identity: %.17g vs %.17g", lin, c * sqrt(qa * qb));
    }
    /* Correlation map at sigma_w2 = 2, q = 1: c' = 2 * kernel(1, 1, c) / 1. */
    for (int i = 0; i < 7; i++) {
        double cn = 0.0, want = 2.0 * arccos_kernel(1.0, 1.0, cs[i]);
        cr_assert_eq(vp_theory_cmap(&nq, &relu, 2.0, 0.0, 1.0, cs[i], &cn, &err), VP_OK, "%s", err.msg);
        cr_expect(close_rel(cn, want, 1e-9, 1e-13), "relu c-map(%g) = %.17g vs %.17g", cs[i], cn, want);
    }
}

/* Clamp activations clamp(u, lo, hi) (hard_tanh, relu6) have erf-type closed
 * forms from truncated-normal moments, with a = lo/s, b = hi/s, s = sqrt q:
 *   E[phi]    = lo Phi(a) + s (pdf(a) - pdf(b)) + hi (1 - Phi(b))
 *   E[phi^2]  = lo^2 Phi(a) + q (Phi(b) - Phi(a) + a pdf(a) - b pdf(b)) + hi^2 (1 - Phi(b))
 *   E[phi'^2] = Phi(b) - Phi(a). */
static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double pdf(double x) { return exp(-0.5 * x * x) / sqrt(2 * M_PI); }

static void clamp_moments(double lo, double hi, double q, double out[3])
{
    double s = sqrt(q), a = lo / s, b = hi / s;
    out[0] = lo * Phi(a) + s * (pdf(a) - pdf(b)) + hi * (1 - Phi(b));
    out[1] = lo * lo * Phi(a) + q * (Phi(b) - Phi(a) + a * pdf(a) - b * pdf(b)) + hi * hi * (1 - Phi(b));
    out[2] = Phi(b) - Phi(a);
}

Test(theory, clamp_erf_closed_forms)
{
    vp_theory_ctx ctx = make_ctx(0);
    vp_act acts[3] = { vp_act_default(VP_ACT_HARD_TANH), vp_act_default(VP_ACT_HARD_TANH),
                       vp_act_default(VP_ACT_RELU6) };
    acts[1].p[0] = -0.5, acts[1].p[1] = 2.0;
    const double lohi[3][2] = { { -1, 1 }, { -0.5, 2 }, { 0, 6 } };
    const double qs[5] = { 0.01, 0.3, 1.0, 5.0, 40.0 };
    const vp_theory_exp1 kinds[3] = { VP_EXP_PHI, VP_EXP_PHI2, VP_EXP_DPHI2 };
    vp_err err;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) {
            double want[3];
            clamp_moments(lohi[i][0], lohi[i][1], qs[j], want);
            for (int k = 0; k < 3; k++) {
                double v = 0.0;
                cr_assert_eq(vp_theory_expect(&ctx, &acts[i], kinds[k], qs[j], &v, &err), VP_OK, "%s", err.msg);
                cr_expect(close_rel(v, want[k], 1e-10, 1e-15), "act %d q %g kind %d: %.17g vs %.17g",
                          i, qs[j], k, v, want[k]);
            }
        }
}

Test(theory, published_second_moments)
{
    /* initializers.md §4.2: E[phi(z)^2] at z ~ N(0,1), printed to 6 decimals
     * (so +-5e-7), and 1/sqrt(E[phi^2]) to 4 decimals. */
    vp_theory_ctx ctx = make_ctx(0);
    const struct { vp_act_kind k; double e2; } tab[] = {
        { VP_ACT_RELU, 0.5 }, { VP_ACT_TANH, 0.394294 }, { VP_ACT_SIGMOID, 0.293379 },
        { VP_ACT_ELU, 0.644945 }, { VP_ACT_SELU, 1.000000 }, { VP_ACT_GELU, 0.425221 },
        { VP_ACT_GELU_TANH, 0.425194 }, { VP_ACT_SILU, 0.355776 }, { VP_ACT_MISH, 0.452342 },
        { VP_ACT_SOFTPLUS, 0.921246 }, { VP_ACT_SOFTSIGN, 0.183014 } };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        double v = expect1(&ctx, tab[i].k, VP_EXP_PHI2, 1.0);
        cr_expect(fabs(v - tab[i].e2) <= 5e-7 + 1e-12, "%s: E[phi^2] = %.9f, table %.6f",
                  vp_act_get(tab[i].k)->name, v, tab[i].e2);
    }
    const struct { vp_act_kind k; double g; } gains[] = {
        { VP_ACT_RELU, 1.4142 }, { VP_ACT_TANH, 1.5925 }, { VP_ACT_SIGMOID, 1.8462 },
        { VP_ACT_ELU, 1.2452 }, { VP_ACT_SOFTSIGN, 2.3375 } };
    for (size_t i = 0; i < sizeof gains / sizeof gains[0]; i++) {
        vp_act a = vp_act_default(gains[i].k);
        vp_theory_gains g;
        vp_err err;
        cr_assert_eq(vp_theory_gains_of(&ctx, &a, &g, &err), VP_OK, "%s", err.msg);
        cr_expect(fabs(g.var_preserving - gains[i].g) <= 5e-5 + 1e-12, "%s: gain %.6f, table %.4f",
                  vp_act_get(gains[i].k)->name, g.var_preserving, gains[i].g);
    }
}

/* ---- fixed points, chi_1, phases ---- */

Test(theory, selu_self_normalizing_fixed_point)
{
    /* Klambauer et al. 2017 (papers.md §6): with alpha_01, lambda_01, E[selu(z)] = 0
     * and E[selu(z)^2] = 1 (to the rounding of the double constants), so with
     * sigma_w2 = 1, sigma_b2 = 0 the length map has q* = 1; its slope there is
     * d nu~/d nu = 0.782648 (their Jacobian J(0,1), Eq. 6, printed to 6 digits). */
    vp_theory_ctx ctx = make_ctx(0);
    cr_expect(fabs(expect1(&ctx, VP_ACT_SELU, VP_EXP_PHI, 1.0)) <= 1e-9, "E[selu] = %g",
              expect1(&ctx, VP_ACT_SELU, VP_EXP_PHI, 1.0));
    cr_expect(fabs(expect1(&ctx, VP_ACT_SELU, VP_EXP_PHI2, 1.0) - 1.0) <= 1e-9, "E[selu^2] - 1 = %g",
              expect1(&ctx, VP_ACT_SELU, VP_EXP_PHI2, 1.0) - 1.0);
    vp_act selu = vp_act_default(VP_ACT_SELU);
    vp_theory_point pt;
    vp_err err;
    cr_assert_eq(vp_theory_analyze(&ctx, &selu, 1.0, 0.0, 2.5, &pt, &err), VP_OK, "%s", err.msg);
    cr_expect(fabs(pt.q_star - 1.0) <= 1e-9, "q* = %.15g", pt.q_star);
    cr_expect(fabs(pt.qslope - 0.782648) <= 5e-7 + 1e-9, "q-map slope at q* = %.9f", pt.qslope);
}

/* The note `varprop gain selu` prints (the registry's gain_note) holds: at PyTorch's gain
 * 3/4 (sigma_w2 = 9/16) selu's length map settles far below the self-normalized q* = 1
 * of gain 1; no other activation carries a note. */
Test(theory, selu_torch_gain_note_holds)
{
    vp_theory_ctx ctx = make_ctx(0);
    vp_act selu = vp_act_default(VP_ACT_SELU);
    double g = vp_act_torch_gain(&selu);
    cr_assert_eq(g, 0.75);
    vp_theory_point pt;
    vp_err err;
    cr_assert_eq(vp_theory_analyze(&ctx, &selu, g * g, 0.0, 1.0, &pt, &err), VP_OK, "%s", err.msg);
    cr_expect(pt.q_star > 0 && pt.q_star < 0.05, "q* at gain 3/4 = %g", pt.q_star);
    cr_assert(vp_act_get(VP_ACT_SELU)->gain_note && strstr(vp_act_get(VP_ACT_SELU)->gain_note, "far below 1"));
    for (int k = 0; k < VP_ACT_COUNT; k++)
        if (k != VP_ACT_SELU) cr_expect_null(vp_act_get((vp_act_kind)k)->gain_note, "%s", vp_act_get((vp_act_kind)k)->name);
}

Test(theory, tanh_critical_at_unit_weight_variance)
{
    /* tanh, sigma_b2 = 0: q = 0 is the fixed point for sigma_w2 <= 1 and
     * chi_1(q* = 0) = sigma_w2 tanh'(0)^2 = sigma_w2: critical at sigma_w2 = 1
     * (Saxe et al. §4: g_c = 1); ordered below, chaotic above with c* = 0 (odd phi). */
    vp_theory_ctx ctx = make_ctx(0);
    vp_act t = vp_act_default(VP_ACT_TANH);
    vp_theory_point pt;
    vp_err err;
    cr_assert_eq(vp_theory_analyze(&ctx, &t, 1.0, 0.0, 1.0, &pt, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(pt.q_star, 0.0, "q* = %g", pt.q_star);
    cr_expect(fabs(pt.chi1 - 1.0) <= 1e-9, "chi_1 = %.17g", pt.chi1);
    cr_expect_eq(pt.phase, VP_PHASE_CRITICAL);
    cr_expect(isinf(pt.xi_c) && isinf(pt.xi_q), "xi_c = %g, xi_q = %g", pt.xi_c, pt.xi_q);
    /* Ordered with q* = 0: chi_1 = sigma_w2 is the gradients' rate, but not the slope of
     * the correlation map, which at q -> 0 is c -> c for tanh (c^l keeps c^0: the
     * iterate below), so no c* (before: c* = 1 and xi_c = -1/log 0.9 = 9.5, which no
     * run showed) and xi_c = inf (no exponential approach). */
    cr_assert_eq(vp_theory_analyze(&ctx, &t, 0.9, 0.0, 1.0, &pt, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(pt.phase, VP_PHASE_ORDERED);
    cr_expect(fabs(pt.chi1 - 0.9) <= 1e-9 && isnan(pt.c_star), "chi_1 = %g, c* = %g", pt.chi1, pt.c_star);
    cr_expect(isinf(pt.xi_c), "ordered q* = 0: xi_c = %g", pt.xi_c);
    /* the iterate from c0 = 0.2: c^{l+1} - c^l = O(q^l), summable, so c^l settles near c0
     * (at 0.177) as q^l -> 0, instead of approaching 1 */
    double q = 1.0, c = 0.2, step = 1.0;
    for (int l = 0; l < 60; l++) {
        double qn, e2;
        cr_assert_eq(vp_theory_qmap(&ctx, &t, 0.9, 0.0, q, &qn, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(vp_theory_expect2(&ctx, &t, VP_EXP2_PHIPHI, q, q, c, &e2, &err), VP_OK, "%s", err.msg);
        step = fabs(0.9 * e2 / qn - c);
        c = 0.9 * e2 / qn;
        q = qn;
    }
    cr_expect(q < 1e-3 && fabs(c - 0.2) < 0.05 && step < 1e-4, "q^60 = %g, c^60 = %g (last step %g) from c0 = 0.2", q,
              c, step);
    /* relu's correlation map does not depend on q: at q* = 0 (sigma_w2 = 1) as at He's 2,
     * c* = 1 with slope 1 (a power law: xi_c = inf); the identity's map is c -> c: no c* */
    vp_act relu = vp_act_default(VP_ACT_RELU), id = vp_act_default(VP_ACT_IDENTITY);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(vp_theory_analyze(&ctx, &relu, k ? 2.0 : 1.0, 0.0, 1.0, &pt, &err), VP_OK, "%s", err.msg);
        cr_expect(pt.c_star == 1.0 && pt.chi_c == 1.0 && isinf(pt.xi_c), "relu sigma_w2 %g: c* %g chi_c %g xi_c %g",
                  k ? 2.0 : 1.0, pt.c_star, pt.chi_c, pt.xi_c);
    }
    cr_assert_eq(vp_theory_analyze(&ctx, &id, 0.5, 0.0, 1.0, &pt, &err), VP_OK, "%s", err.msg);
    cr_expect(pt.q_star == 0.0 && isnan(pt.c_star) && isinf(pt.xi_c), "identity: q* %g c* %g", pt.q_star, pt.c_star);
    cr_assert_eq(vp_theory_analyze(&ctx, &t, 1.5, 0.0, 1.0, &pt, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(pt.phase, VP_PHASE_CHAOTIC);
    cr_expect(pt.q_star > 0 && fabs(pt.c_star) <= 1e-9, "q* = %g, c* = %g", pt.q_star, pt.c_star);
    cr_expect(pt.chi_c < 1.0 && isfinite(pt.xi_c), "chi_c = %g", pt.chi_c);
}

Test(theory, map_iteration_matches_fixed_points)
{
    /* Iterating the maps must land on q* and c*; the analytic slope E[phi phi' z]/sqrt q
     * must match a central difference of E[phi^2]. */
    vp_theory_ctx ctx = make_ctx(0);
    const struct { vp_act_kind k; double sw, sb; } cases[] = {
        { VP_ACT_TANH, 2.5, 0.1 }, { VP_ACT_ELU, 1.2, 0.05 }, { VP_ACT_HARD_TANH, 1.5, 0.05 },
        { VP_ACT_SIGMOID, 4.0, 0.2 }, { VP_ACT_SELU, 1.0, 0.0 } };
    vp_err err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vp_act a = vp_act_default(cases[i].k);
        const char *name = vp_act_get(cases[i].k)->name;
        vp_theory_point pt;
        cr_assert_eq(vp_theory_analyze(&ctx, &a, cases[i].sw, cases[i].sb, 1.0, &pt, &err), VP_OK, "%s", err.msg);
        double q = 1.0;
        for (int it = 0; it < 3000; it++)
            cr_assert_eq(vp_theory_qmap(&ctx, &a, cases[i].sw, cases[i].sb, q, &q, &err), VP_OK, "%s", err.msg);
        cr_expect(close_rel(q, pt.q_star, 1e-10, 0), "%s: iterated q = %.15g, q* = %.15g", name, q, pt.q_star);
        double qn = 0.0;
        cr_assert_eq(vp_theory_qmap(&ctx, &a, cases[i].sw, cases[i].sb, pt.q_star, &qn, &err), VP_OK, "%s", err.msg);
        cr_expect(close_rel(qn, pt.q_star, 1e-12, 0), "%s: Q(q*) = %.15g, q* = %.15g", name, qn, pt.q_star);
        double h = 1e-4 * pt.q_star;
        double ep = expect1(&ctx, cases[i].k, VP_EXP_PHI2, pt.q_star + h);
        double em = expect1(&ctx, cases[i].k, VP_EXP_PHI2, pt.q_star - h);
        double fd = cases[i].sw * (ep - em) / (2 * h);
        cr_expect(close_rel(pt.qslope, fd, 1e-6, 0), "%s: slope %.12g, central difference %.12g", name, pt.qslope, fd);
        if (pt.phase == VP_PHASE_CHAOTIC) {
            /* |c^l - c*| ~ e^{-l/xi_c}: 40 xi_c iterations leave e^-40. */
            double c = 0.5;
            int n = (int)(40 * pt.xi_c) + 1;
            for (int it = 0; it < n; it++)
                cr_assert_eq(vp_theory_cmap(&ctx, &a, cases[i].sw, cases[i].sb, pt.q_star, c, &c, &err), VP_OK, "%s", err.msg);
            cr_expect(fabs(c - pt.c_star) <= 1e-9, "%s: iterated c = %.15g, c* = %.15g", name, c, pt.c_star);
        }
    }
}

Test(theory, critical_line_and_gains)
{
    vp_theory_ctx ctx = make_ctx(0);
    vp_err err;
    /* ReLU: chi_1 = sigma_w2/2 for every q, so the critical gain is sqrt 2 (He et al.). */
    vp_act relu = vp_act_default(VP_ACT_RELU), t = vp_act_default(VP_ACT_TANH), gelu = vp_act_default(VP_ACT_GELU);
    vp_theory_gains g;
    cr_assert_eq(vp_theory_gains_of(&ctx, &relu, &g, &err), VP_OK, "%s", err.msg);
    cr_expect(fabs(g.critical - sqrt(2.0)) <= 1e-14 && fabs(g.torch - sqrt(2.0)) <= 1e-15, "relu critical %g", g.critical);
    cr_expect(isnan(g.critical_q_star), "relu: every q is fixed at the critical point");
    /* tanh: critical at sigma_w2 = 1 with q* -> 0; PyTorch's 5/3. */
    cr_assert_eq(vp_theory_gains_of(&ctx, &t, &g, &err), VP_OK, "%s", err.msg);
    cr_expect(fabs(g.critical - 1.0) <= 1e-9 && g.critical_q_star == 0.0, "tanh critical %g q* %g", g.critical, g.critical_q_star);
    cr_expect(fabs(g.torch - 5.0 / 3.0) <= 1e-15);
    /* gelu: no PyTorch gain, so auto = variance-preserving; no critical point at sigma_b2 = 0. */
    double auto_gain = 0.0;
    cr_assert_eq(vp_theory_gains_of(&ctx, &gelu, &g, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_theory_auto_gain(&gelu, &auto_gain, &err), VP_OK, "%s", err.msg);
    cr_expect(isnan(g.torch) && isnan(g.critical), "gelu torch %g critical %g", g.torch, g.critical);
    cr_expect(fabs(auto_gain - 1.0 / sqrt(0.425221)) <= 2e-6, "gelu auto gain %g", auto_gain);
    cr_assert_eq(vp_theory_auto_gain(&t, &auto_gain, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(auto_gain, 5.0 / 3.0);
    /* A point of the critical line is critical when analyzed, with the same q*. */
    const double sbs[3] = { 0.01, 0.05, 0.3 };
    for (int i = 0; i < 3; i++) {
        double sw = 0.0, qs = 0.0;
        vp_theory_point pt;
        cr_assert_eq(vp_theory_critical(&ctx, &t, sbs[i], &sw, &qs, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(vp_theory_analyze(&ctx, &t, sw, sbs[i], 1.0, &pt, &err), VP_OK, "%s", err.msg);
        cr_expect(close_rel(pt.q_star, qs, 1e-8, 0), "sb %g: q* %.12g vs %.12g", sbs[i], pt.q_star, qs);
        cr_expect(fabs(pt.chi1 - 1.0) <= 1e-9 && pt.phase == VP_PHASE_CRITICAL, "sb %g: chi1 - 1 = %g", sbs[i], pt.chi1 - 1.0);
        if (i) cr_expect(sw > 1.0, "critical sigma_w2 grows with sigma_b2");
    }
}

Test(theory, diverging_maps_report_numeric_error)
{
    vp_theory_ctx ctx = make_ctx(0);
    vp_act relu = vp_act_default(VP_ACT_RELU), ex = vp_act_default(VP_ACT_EXPONENTIAL);
    double q = 0.0;
    vp_err err;
    cr_expect_eq(vp_theory_qstar(&ctx, &relu, 3.0, 0.0, 1.0, &q, &err), VP_ERR_NUMERIC);
    cr_expect(strstr(err.msg, "diverges") != NULL, "%s", err.msg);
    cr_expect_eq(vp_theory_qstar(&ctx, &ex, 1.0, 0.0, 1.0, &q, &err), VP_ERR_NUMERIC);
    cr_expect(strstr(err.msg, "diverges") != NULL, "%s", err.msg);
    /* ReLU at sigma_w2 = 2, sigma_b2 = 0: the map is the identity, q* = q0. */
    cr_assert_eq(vp_theory_qstar(&ctx, &relu, 2.0, 0.0, 3.7, &q, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(q, 3.7);
    /* Small exponential weights: stable lower fixed point q = sw e^{2q}. */
    cr_assert_eq(vp_theory_qstar(&ctx, &ex, 0.1, 0.0, 1.0, &q, &err), VP_OK, "%s", err.msg);
    cr_expect(close_rel(q, 0.1 * exp(2 * q), 1e-12, 0), "exponential q* = %g", q);
    cr_expect_eq(vp_theory_expect(&ctx, &relu, VP_EXP_PHI2, -1.0, &q, &err), VP_ERR_USAGE);
}

/* ---- per-layer predictions ---- */

Test(theory, layer_predictions_linear_closed_form)
{
    /* Linear net: q^l = sw_l q^{l-1} + sb_l, gradients multiply by sw_l n_l/n_{l-1}. */
    vp_act id = vp_act_default(VP_ACT_IDENTITY);
    const int widths[4] = { 10, 20, 5, 40 };
    const double sw[3] = { 1.5, 0.5, 2.0 }, sb[3] = { 0.1, 0.0, 0.3 };
    double pv[3], gv[3];
    vp_err err;
    cr_assert_eq(vp_theory_layer_predictions(NULL, &id, 3, widths, sw, sb, 2.0, pv, gv, NULL, &err), VP_OK, "%s", err.msg);
    double q = 2.0;
    for (int l = 0; l < 3; l++) {
        q = sw[l] * q + sb[l];
        cr_expect(close_rel(pv[l], q, 1e-15, 0), "pre_var[%d] = %g, want %g", l, pv[l], q);
    }
    cr_expect_eq(gv[2], 1.0);
    cr_expect(close_rel(gv[1], 2.0 * 40.0 / 5.0, 1e-15, 0), "grad[1] = %g", gv[1]);
    cr_expect(close_rel(gv[0], 0.5 * 5.0 / 20.0 * 16.0, 1e-15, 0), "grad[0] = %g", gv[0]);
}

/* One finite tanh network (replicate `seed`): per-layer mean of z^2 and of
 * (dL/dz)^2 over all B x n_l entries. W^l ~ N(0, sw_l/n_{l-1}), b^l ~ N(0, sb_l),
 * x ~ N(0, q0), probe g ~ N(0, 1). Forward Z = H W^T + b (cblas_dgemm), backward
 * dH = dZ W. */
enum { MC_L = 4, MC_B = 32, MC_R = 8 };
static const int MC_W[MC_L + 1] = { 800, 2000, 1200, 2000, 1000 };
static const double MC_SW[MC_L] = { 1.5, 2.0, 1.2, 1.8 }, MC_SB[MC_L] = { 0.05, 0.0, 0.1, 0.02 };
static const double MC_Q0 = 1.0;

static void mc_network(uint64_t seed, double *zvar, double *gvar)
{
    double *W[MC_L], *Z[MC_L + 1];
    for (int l = 0; l <= MC_L; l++) {
        Z[l] = malloc((size_t)MC_B * (size_t)MC_W[l] * sizeof *Z[l]);
        cr_assert_not_null(Z[l]);
    }
    /* Z[0] holds the input x; Z[l] (l >= 1) the pre-activations, later phi'. */
    vp_rng rin = vp_rng_make(seed, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&rin, 0, Z[0], (size_t)MC_B * MC_W[0]);
    for (size_t i = 0; i < (size_t)MC_B * MC_W[0]; i++) Z[0][i] *= sqrt(MC_Q0);
    double *H = malloc((size_t)MC_B * 2000 * sizeof *H), *G = malloc((size_t)MC_B * 2000 * sizeof *G);
    double b[2000];
    memcpy(H, Z[0], (size_t)MC_B * MC_W[0] * sizeof *H);
    for (int l = 1; l <= MC_L; l++) {
        int ni = MC_W[l - 1], no = MC_W[l];
        size_t nw = (size_t)no * (size_t)ni;
        W[l - 1] = malloc(nw * sizeof *W[l - 1]);
        cr_assert_not_null(W[l - 1]);
        vp_rng rw = vp_rng_make(seed, (uint32_t)l, VP_RNG_WEIGHT), rb = vp_rng_make(seed, (uint32_t)l, VP_RNG_BIAS);
        vp_rng_normal_fill(&rw, 0, W[l - 1], nw);
        vp_rng_normal_fill(&rb, 0, b, (size_t)no);
        double sw = sqrt(MC_SW[l - 1] / ni), sb = sqrt(MC_SB[l - 1]);
        for (size_t i = 0; i < nw; i++) W[l - 1][i] *= sw;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, MC_B, no, ni, 1.0, H, ni, W[l - 1], ni, 0.0, Z[l], no);
        double s = 0.0;
        for (int r = 0; r < MC_B; r++)
            for (int j = 0; j < no; j++) {
                double z = Z[l][(size_t)r * no + j] + sb * b[j];
                s += z * z;
                double t = tanh(z);
                H[(size_t)r * no + j] = t;
                Z[l][(size_t)r * no + j] = 1.0 - t * t; /* keep phi'(z) for the backward pass */
            }
        zvar[l - 1] = s / ((double)MC_B * no);
    }
    vp_rng rp = vp_rng_make(seed, MC_L, VP_RNG_PROBE);
    vp_rng_normal_fill(&rp, 0, G, (size_t)MC_B * MC_W[MC_L]); /* dL/dh^L */
    for (int l = MC_L; l >= 1; l--) {
        int no = MC_W[l], ni = MC_W[l - 1];
        double s = 0.0;
        for (size_t i = 0; i < (size_t)MC_B * no; i++) {
            G[i] *= Z[l][i]; /* dL/dz^l */
            s += G[i] * G[i];
        }
        gvar[l - 1] = s / ((double)MC_B * no);
        if (l > 1) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, MC_B, ni, no, 1.0, G, no, W[l - 1], ni, 0.0, H, ni);
            memcpy(G, H, (size_t)MC_B * ni * sizeof *G); /* dL/dh^{l-1} */
        }
    }
    for (int l = 0; l < MC_L; l++) free(W[l]);
    for (int l = 0; l <= MC_L; l++) free(Z[l]);
    free(H), free(G);
}

Test(theory, layer_predictions_match_simulation, .timeout = 300)
{
    /* Tolerance from the sample size: MC_R = 8 independent networks (width up to
     * 2000, batch 32) give replicate means m_r of each per-layer statistic; the
     * standard error of their average is SE = sd(m_r)/sqrt(8). A correct theory
     * is within 6 SE except with probability ~5e-4 per check (Student t with 7
     * degrees of freedom), up to the O(1/n) finite-width bias of the mean-field
     * limit, for which we add 2/n_min (relative) on top. SE here is ~0.1-0.3 %
     * of the value, so a wrong factor (n_l/n_{l-1}, sigma_w2 of the wrong layer,
     * q instead of sqrt q) is caught. */
    vp_act t = vp_act_default(VP_ACT_TANH);
    double pv[MC_L], gv[MC_L], zs[MC_R][MC_L], gs[MC_R][MC_L];
    vp_err err;
    cr_assert_eq(vp_theory_layer_predictions(NULL, &t, MC_L, MC_W, MC_SW, MC_SB, MC_Q0, pv, gv, NULL, &err), VP_OK, "%s", err.msg);
    for (int r = 0; r < MC_R; r++) mc_network(1000 + (uint64_t)r, zs[r], gs[r]);
    double bias = 2.0 / 800.0;
    for (int l = 0; l < MC_L; l++) {
        for (int which = 0; which < 2; which++) {
            double m = 0.0, v = 0.0, pred = which ? gv[l] : pv[l];
            for (int r = 0; r < MC_R; r++) m += (which ? gs[r][l] : zs[r][l]) / MC_R;
            for (int r = 0; r < MC_R; r++) {
                double d = (which ? gs[r][l] : zs[r][l]) - m;
                v += d * d / (MC_R - 1);
            }
            double se = sqrt(v / MC_R), tol = 6.0 * se + bias * pred;
            cr_expect(fabs(m - pred) <= tol, "layer %d %s: simulated %.6g +- %.2g (SE), theory %.6g, tol %.3g",
                      l + 1, which ? "E[(dL/dz)^2]" : "E[z^2]", m, se, pred, tol);
        }
    }
}

/* E[phi phi] and E[phi' phi'] at lengths (q, qb) and each correlation of cs by two
 * contexts (a rule under test, and its reference) agree within 2e-12 of
 * sqrt(E[A^2] E[B^2]), the reference's documented accuracy (docs/theory.md); what names
 * the rule under test in the messages. */
static void expect2_agree(const vp_theory_ctx *got, const vp_theory_ctx *ref, const vp_act *a, const char *label,
                          const char *what, double q, double qb, const double *cs, size_t nc)
{
    vp_err err;
    for (int d = 0; d < 2; d++) {
        double ea, eb;
        vp_theory_exp1 k1 = d ? VP_EXP_DPHI2 : VP_EXP_PHI2;
        cr_assert_eq(vp_theory_expect(ref, a, k1, q, &ea, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(vp_theory_expect(ref, a, k1, qb, &eb, &err), VP_OK, "%s", err.msg);
        double scale = sqrt(ea * eb);
        for (size_t ci = 0; ci < nc; ci++) {
            double v1, v2;
            vp_theory_exp2 kind = d ? VP_EXP2_DPHIDPHI : VP_EXP2_PHIPHI;
            cr_assert_eq(vp_theory_expect2(got, a, kind, q, qb, cs[ci], &v1, &err), VP_OK, "%s", err.msg);
            cr_assert_eq(vp_theory_expect2(ref, a, kind, q, qb, cs[ci], &v2, &err), VP_OK, "%s", err.msg);
            cr_expect(fabs(v1 - v2) <= 2e-12 * scale, "%s q=%g c=%g %s: %s %.17g, reference %.17g", label, q, cs[ci],
                      d ? "E[phi'phi']" : "E[phi phi]", what, v1, v2);
        }
    }
}

/* ---- the lattice rule against the older rules ---- */

/* Smooth activations go to the trapezoid rule on a lattice first (expect.c). The
 * reference is the same expectation with the lattice switched off (no_lattice: 96/48
 * Gauss-Hermite where accepted, else nested Gauss-Kronrod), whose documented
 * accuracy is ~1e-12 of sqrt(E[A^2] E[B^2]) (docs/theory.md); the lattice's certified
 * error is far below that, so the two must agree within 2e-12 of that scale -- the
 * reference's tolerance plus the lattice's. Covered: both axis and principal-axis
 * lattices (c up to 0.9999), unequal lengths, q from 1e-3 to 30, E[phi phi] and
 * E[phi' phi'], and the 1-D moments (reference: 1e-12 relative, GH or GK). */
Test(theory, lattice_rule_agrees_with_quadrature, .timeout = 120)
{
    vp_theory_ctx lat = make_ctx(1), ref = make_ctx(1);
    ref.no_lattice = 1;
    static const char *acts[] = { "tanh", "sigmoid", "gelu", "silu", "mish", "gelu_tanh", "log_sigmoid", "tanhshrink" };
    static const double qs[] = { 1e-3, 0.5, 3.0, 30.0 };
    static const double cs[] = { -0.7, 0.0, 0.6, 0.995, 0.9999 };
    vp_err err;
    for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++) {
        vp_act a = vp_act_default(vp_act_find(acts[ai]));
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
            double q = qs[qi], qb = 1.7 * q;
            for (int k = 0; k < VP_EXP_COUNT; k++) {
                double v1, v2;
                cr_assert_eq(vp_theory_expect(&lat, &a, (vp_theory_exp1)k, q, &v1, &err), VP_OK, "%s", err.msg);
                cr_assert_eq(vp_theory_expect(&ref, &a, (vp_theory_exp1)k, q, &v2, &err), VP_OK, "%s", err.msg);
                /* E[phi] may be 0 (odd phi): its floor is 1e-13 of sqrt(E[phi^2]), the
                 * reference's own noise level on a cancelling integral. */
                double floor = 0.0;
                if (k == VP_EXP_PHI) {
                    cr_assert_eq(vp_theory_expect(&ref, &a, VP_EXP_PHI2, q, &floor, &err), VP_OK, "%s", err.msg);
                    floor = 1e-13 * sqrt(floor);
                }
                cr_expect(close_rel(v1, v2, 1e-12, floor), "%s q=%g kind %d: lattice %.17g, reference %.17g",
                          acts[ai], q, k, v1, v2);
            }
            expect2_agree(&lat, &ref, &a, acts[ai], "lattice", q, qb, cs, sizeof cs / sizeof *cs);
        }
    }
}

/* Mehler's formula (expect.c) against the 2-D lattice it replaces at equal lengths.
 * The series is certified to MEH_TOL = 1e-13 of E[phi^2] in truncation and by its even
 * sublattice; the lattice agrees with the older rules to 2e-12 of that scale (the test
 * above), so the two must agree within 2e-12 E[phi^2] as well. The rule must actually
 * run here: vp_theory_mehler_eval has to certify every c with |c| <= 0.8 (|c|^129 <=
 * 3e-13 bounds the tail whatever the coefficients) and the shared object must give the
 * one-shot values of vp_theory_expect2 to the same tolerance. */
Test(theory, mehler_series_agrees_with_the_2d_lattice, .timeout = 120)
{
    vp_theory_ctx meh = make_ctx(0), ref = make_ctx(0);
    ref.no_mehler = 1;
    static const char *acts[] = { "tanh", "sigmoid", "gelu", "silu", "mish", "gelu_tanh", "log_sigmoid", "tanhshrink" };
    static const double qs[] = { 1e-3, 0.3, 1.0, 3.0, 30.0 };
    static const double cs[] = { -0.8, -0.3, 0.0, 0.002, 0.4, 0.8, 0.95, 0.999 };
    vp_err err;
    for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++) {
        vp_act a = vp_act_default(vp_act_find(acts[ai]));
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
            double q = qs[qi], e2;
            cr_assert_eq(vp_theory_expect(&ref, &a, VP_EXP_PHI2, q, &e2, &err), VP_OK, "%s", err.msg);
            vp_theory_mehler *mh = vp_theory_mehler_new(&meh, &a, q);
            cr_assert(mh, "%s q=%g: the rule applies to a smooth activation", acts[ai], q);
            cr_expect_eq(vp_theory_mehler_q(mh), q);
            for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++) {
                double c = cs[ci], v1, v2, v3, v4;
                cr_assert_eq(vp_theory_expect2(&meh, &a, VP_EXP2_PHIPHI, q, q, c, &v1, &err), VP_OK, "%s", err.msg);
                cr_assert_eq(vp_theory_expect2(&ref, &a, VP_EXP2_PHIPHI, q, q, c, &v2, &err), VP_OK, "%s", err.msg);
                cr_expect(fabs(v1 - v2) <= 2e-12 * e2, "%s q=%g c=%g: Mehler %.17g, lattice %.17g", acts[ai], q, c, v1, v2);
                int ok = vp_theory_mehler_eval(mh, c, &v3) == 0;
                if (fabs(c) <= 0.8) cr_expect(ok, "%s q=%g c=%g: the series must certify", acts[ai], q, c);
                if (ok) cr_expect(fabs(v3 - v2) <= 2e-12 * e2, "%s q=%g c=%g: shared %.17g, lattice %.17g", acts[ai], q, c, v3, v2);
                cr_assert_eq(vp_theory_mehler_phiphi(&meh, &a, mh, q, c, &v4, &err), VP_OK, "%s", err.msg);
                cr_expect(fabs(v4 - v2) <= 2e-12 * e2, "%s q=%g c=%g: via the object %.17g, lattice %.17g", acts[ai], q, c, v4, v2);
            }
            vp_theory_mehler_free(mh);
        }
    }
    /* Where the rule does not apply the object is NULL and the calls fall back. */
    vp_act relu = vp_act_default(vp_act_find("relu")), tanh_ = vp_act_default(vp_act_find("tanh"));
    cr_expect_null(vp_theory_mehler_new(&meh, &relu, 1.0), "relu has a closed form");
    cr_expect_null(vp_theory_mehler_new(&ref, &tanh_, 1.0), "no_mehler switches it off");
}

/* The exponential-linear rows (elu, celu, selu) have their 1-D moments in closed form
 * and take the inner integral of their 2-D expectations in closed form (expect.c,
 * closed_form1 and expl_smooth), where lam sqrt(q) is not so small that they cancel
 * (celu(1e6): lam = 1e-6, the quadrature everywhere; no NaN from 1e600 x 0). Reference: the nested adaptive
 * rule (no_semi_closed), good to ~1e-12 of sqrt(E[A^2] E[B^2]) (docs/theory.md); the
 * closed form adds only rounding, so the two agree within 2e-12 of that scale. c = 0.999
 * and q = 2000 reach the continued-fraction branch of the Mills ratio (x <= -26; at
 * q = 2000 and c = 0 the direct form would be e^{1000} times 0). */
Test(theory, exp_linear_inner_closed_form_agrees_with_quadrature, .timeout = 240)
{
    vp_theory_ctx cl = make_ctx(0), ref = make_ctx(0), quad = make_ctx(1);
    ref.no_semi_closed = 1;
    static const struct { const char *name; double alpha; } rows[] = {
        { "selu", NAN }, { "elu", 1.0 }, { "elu", 0.3 }, { "celu", 2.0 }, { "celu", 0.5 }, { "celu", 1e6 } };
    static const double qs[] = { 1e-3, 0.3, 3.0, 30.0, 2000.0 };
    static const double cs[] = { -0.9, 0.0, 0.5, 0.999 };
    vp_err err;
    for (size_t ri = 0; ri < sizeof rows / sizeof *rows; ri++) {
        vp_act a = vp_act_default(vp_act_find(rows[ri].name));
        if (!isnan(rows[ri].alpha)) a.p[0] = rows[ri].alpha;
        /* The 1-D moments' closed forms (q >= 1e-2) against the adaptive rule
         * (force_quadrature, ~1e-13 relative): within 1e-12 relative, E[phi] (which may
         * cancel) within 1e-12 of sqrt(E[phi^2]). */
        static const double q1[] = { 1e-2, 0.3, 3.0, 30.0, 2000.0 };
        for (size_t qi = 0; qi < sizeof q1 / sizeof *q1; qi++)
            for (int k = 0; k < VP_EXP_COUNT; k++) {
                double v1, v2, e2;
                cr_assert_eq(vp_theory_expect(&cl, &a, (vp_theory_exp1)k, q1[qi], &v1, &err), VP_OK, "%s", err.msg);
                cr_assert_eq(vp_theory_expect(&quad, &a, (vp_theory_exp1)k, q1[qi], &v2, &err), VP_OK, "%s", err.msg);
                cr_assert_eq(vp_theory_expect(&quad, &a, VP_EXP_PHI2, q1[qi], &e2, &err), VP_OK, "%s", err.msg);
                cr_expect(close_rel(v1, v2, 1e-12, k == VP_EXP_PHI ? 1e-12 * sqrt(e2) : 0.0),
                          "%s(%g) q=%g kind %d: closed form %.17g, quadrature %.17g", rows[ri].name, a.p[0], q1[qi], k, v1, v2);
            }
        /* At q = 1e6 the exponential piece of phi'^2 lives within 1e-3 of u = 0, finer than
         * the adaptive rule resolves (it is 1e-7 off there); the reference is the Mills
         * ratio's asymptotic series instead: E[phi'^2] = a^2/2 + (b lam)^2 G(2 lam),
         * G = (1 - 1/y^2 + 3/y^4 - 15/y^6)/(y sqrt(2 pi)), y = 2 lam sqrt(q) (the next term,
         * 105/y^8, is below 1e-26 of G). */
        {
            double q = 1e6, v, xa = a.kind == VP_ACT_SELU ? 1.0507009873554804934 : 1.0;
            double xb = a.kind == VP_ACT_SELU ? 1.0507009873554804934 * 1.6732632423543772848 : a.p[0];
            double lam = a.kind == VP_ACT_CELU ? 1.0 / a.p[0] : 1.0, y = 2.0 * lam * sqrt(q), y2 = y * y;
            double G = (1.0 - 1.0 / y2 + 3.0 / (y2 * y2) - 15.0 / (y2 * y2 * y2)) / (y * sqrt(2.0 * M_PI));
            double want = 0.5 * xa * xa + (xb * lam) * (xb * lam) * G;
            cr_assert_eq(vp_theory_expect(&cl, &a, VP_EXP_DPHI2, q, &v, &err), VP_OK, "%s", err.msg);
            if (y >= 100) /* the series' range (celu(1e6) has y = 2e-3) */
                cr_expect(close_rel(v, want, 1e-14, 0.0), "%s(%g) q=1e6 E[phi'^2]: %.17g, series %.17g", rows[ri].name,
                          a.p[0], v, want);
        }
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
            double q = qs[qi], qb = 1.7 * q;
            char label[64];
            snprintf(label, sizeof label, "%s(%g)", rows[ri].name, a.p[0]);
            expect2_agree(&cl, &ref, &a, label, "closed inner", q, qb, cs, sizeof cs / sizeof *cs);
        }
    }
}

/* vp_theory_expect_many promises the bits of one vp_theory_expect per kind (expect.h):
 * it only shares the lattice nodes. Checked for every elementwise activation (closed
 * forms, lattice, the h/2 and h/4 retries at small q, Gauss-Hermite and Gauss-Kronrod
 * fallbacks, q = 0 limits) with all five kinds at once and a pair. */
Test(theory, expect_many_gives_the_single_calls_bits, .timeout = 120)
{
    vp_theory_ctx ctx = make_ctx(0);
    static const double qs[] = { 0.0, 1e-300, 1e-6, 0.04, 0.25, 1.0, 7.0, 300.0, 1e5 };
    static const vp_theory_exp1 all[VP_EXP_COUNT] = { VP_EXP_PHI, VP_EXP_PHI2, VP_EXP_DPHI2, VP_EXP_DPHI4, VP_EXP_SLOPE };
    static const vp_theory_exp1 pair[2] = { VP_EXP_DPHI2, VP_EXP_PHI2 };
    vp_err err;
    int compared = 0;
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        if (vp_act_rowwise(vp_act_get((vp_act_kind)k))) continue;
        vp_act a = vp_act_default((vp_act_kind)k);
        for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
            double one[VP_EXP_COUNT], many[VP_EXP_COUNT], two[2];
            int ok = 1;
            for (int j = 0; j < VP_EXP_COUNT; j++) ok &= vp_theory_expect(&ctx, &a, all[j], qs[qi], &one[j], &err) == VP_OK;
            if (!ok) { /* an expectation that diverges (exponential at huge q): both report it */
                cr_expect_neq(vp_theory_expect_many(&ctx, &a, qs[qi], VP_EXP_COUNT, all, many, &err), VP_OK);
                continue;
            }
            cr_assert_eq(vp_theory_expect_many(&ctx, &a, qs[qi], VP_EXP_COUNT, all, many, &err), VP_OK, "%s", err.msg);
            cr_assert_eq(vp_theory_expect_many(&ctx, &a, qs[qi], 2, pair, two, &err), VP_OK, "%s", err.msg);
            for (int j = 0; j < VP_EXP_COUNT; j++)
                cr_expect(memcmp(&one[j], &many[j], sizeof(double)) == 0, "%s q=%g kind %d: single %.17g, many %.17g",
                          vp_act_get(a.kind)->name, qs[qi], j, one[j], many[j]);
            cr_expect(memcmp(&one[2], &two[0], sizeof(double)) == 0 && memcmp(&one[1], &two[1], sizeof(double)) == 0,
                      "%s q=%g: the pair differs from the single calls", vp_act_get(a.kind)->name, qs[qi]);
            compared++;
        }
    }
    cr_expect_gt(compared, 200, "only %d activation-q points compared", compared);
}
