/* Tests of the initializer registry (src/core/init*.c) against the library math in
 * docs/reference/initializers.md.
 *
 * Statistical tolerances. For N i.i.d. draws with variance s^2 and fourth central
 * moment m4, the sample mean has standard error sqrt(s^2/N) and the sample
 * (population) variance has standard error sqrt((m4 - s^4)/N) = s^2 sqrt((kappa-1)/N)
 * (kappa = m4/s^4: 1.8 uniform, 3 normal, 2.366 normal truncated at +-2). Both
 * are estimated from the sample itself and every check allows 6 of them
 * (two-sided tail 2e-9 per check), plus 1e-12 relative for rounding. With a
 * 400 x 300 weight and 3 seeds (N = 360000) a normal's variance is checked to
 * 6 sqrt(2/N) = 1.4% relative; the mistakes these tests target are much larger:
 *   missing sqrt(3) in a uniform bound          -> variance x 1/3   (-67%)
 *   fan_in/fan_out mix-up at 400 x 300          -> x 0.75 or x 1.33 (25-33%)
 *   fan_avg vs fan_geo_avg at 800 x 200         -> 500 vs 400       (25%)
 *   Keras truncation without the 0.8796 factor  -> x 0.774          (-23%)
 *   Keras-style correction applied to PyTorch-style trunc_normal -> x 1.29
 *   kurtosis: uniform 1.8 / truncated 2.366 / normal 3, SE <= sqrt(24/N) = 0.008. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/init.h"

#define NSIG 6.0
#define FO 400
#define FI 300
#define NSEEDS 3
#define TRUNC2 0.87962566103423978 /* std of N(0,1) truncated to (-2, 2) */

static double *alloc_doubles(size_t n)
{
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    return x;
}

static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }
static double phi(double x) { return exp(-0.5 * x * x) / sqrt(2.0 * M_PI); }

/* Mean and variance of N(0,1) truncated to [a, b] (independent of init.c). */
static void trunc_mv(double a, double b, double *mean, double *var)
{
    double Z = Phi(b) - Phi(a);
    *mean = (phi(a) - phi(b)) / Z;
    *var = 1.0 + (a * phi(a) - b * phi(b)) / Z - (*mean) * (*mean);
}

/* Kurtosis of N(0,1) truncated to [-c, c]: E x^2 = 1 - 2c phi(c)/Z,
 * E x^4 = 3 E x^2 - 2 c^3 phi(c)/Z (integration by parts). c = 2: 2.366. */
static double trunc_kurtosis(double c)
{
    double Z = 2 * Phi(c) - 1, e2 = 1 - 2 * c * phi(c) / Z, e4 = 3 * e2 - 2 * c * c * c * phi(c) / Z;
    return e4 / (e2 * e2);
}

/* Pooled sample of N entries. */
typedef struct {
    double mean, var, m4, min, max;
    size_t n;
} sample;

static sample stats_of(const double *x, size_t n)
{
    sample s = { 0, 0, 0, INFINITY, -INFINITY, n };
    for (size_t i = 0; i < n; i++) s.mean += x[i];
    s.mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - s.mean;
        s.var += d * d;
        s.m4 += d * d * d * d;
        s.min = fmin(s.min, x[i]);
        s.max = fmax(s.max, x[i]);
    }
    s.var /= (double)n;
    s.m4 /= (double)n;
    return s;
}

static double kurt(const sample *s) { return s->m4 / (s->var * s->var); }

/* NSEEDS weights [fo, fi] from streams (seed k, layer 1, WEIGHT), concatenated. */
static double *draw_pooled(const vp_init *in, size_t fo, size_t fi, int is_bias, size_t *n_out)
{
    size_t per = is_bias ? fo : fo * fi;
    double *x = alloc_doubles(per * NSEEDS);
    for (int k = 0; k < NSEEDS; k++) {
        vp_err err;
        vp_rng r = vp_rng_make(1000 + (uint64_t)k, 1, is_bias ? VP_RNG_BIAS : VP_RNG_WEIGHT);
        vp_status st = is_bias ? vp_init_bias(in, fo, fi, &r, x + per * (size_t)k, &err)
                               : vp_init_weight(in, fo, fi, &r, x + per * (size_t)k, &err);
        cr_assert_eq(st, VP_OK, "draw failed: %s", err.msg);
    }
    *n_out = per * NSEEDS;
    return x;
}

/* Sample mean and variance within 6 standard errors of (mean, var). */
static void expect_moments(const char *what, const sample *s, double mean, double var)
{
    /* Rounding slack: summing N terms loses up to N eps relative (constant rows
     * have zero sampling error, so only this remains). */
    double slack = (1e-12 + (double)s->n * DBL_EPSILON) * (fabs(mean) + sqrt(var) + var + 1e-300);
    double se_mean = sqrt(s->var / (double)s->n);
    double v4 = s->m4 - s->var * s->var;
    double se_var = sqrt((v4 > 0 ? v4 : 0) / (double)s->n);
    cr_expect_leq(fabs(s->mean - mean), NSIG * se_mean + slack, "%s: sample mean %.6g, expected %.6g (tol %.3g)",
                  what, s->mean, mean, NSIG * se_mean + slack);
    cr_expect_leq(fabs(s->var - var), NSIG * se_var + slack, "%s: sample variance %.6g, expected %.6g (tol %.3g)",
                  what, s->var, var, NSIG * se_var + slack);
}

/* Kurtosis within 6 * sqrt(24/N) (the normal's SE, an upper bound for the
 * lighter-tailed uniform and truncated normal). */
static void expect_kurtosis(const char *what, const sample *s, double kappa)
{
    double tol = NSIG * sqrt(24.0 / (double)s->n);
    cr_expect_leq(fabs(kurt(s) - kappa), tol, "%s: kurtosis %.4f, expected %.4f (tol %.3f)", what, kurt(s), kappa, tol);
}

static void label(const vp_init *in, char *buf, size_t len) { vp_init_label(in, buf, len); }

/* ---- the registry ---- */

Test(init_registry, rows_complete_and_names_unique)
{
    char seen[8 * VP_INIT_COUNT][64];
    int ns = 0;
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        cr_assert(info->name && info->name[0], "row %d unnamed", k);
        cr_expect_not_null(info->aliases, "%s", info->name);
        cr_expect(info->formula && info->formula[0], "%s: formula", info->name);
        cr_expect(info->origin && info->origin[0], "%s: origin", info->name);
        cr_expect_not_null(info->dist, "%s: dist", info->name);
        cr_expect(info->weight_ok || info->bias_ok, "%s: usable for nothing", info->name);
        cr_expect(info->nparams >= 0 && info->nparams <= VP_INIT_MAX_PARAMS);
        for (int i = 0; i < info->nparams; i++) {
            const vp_param *p = &info->params[i];
            cr_expect(p->name && p->name[0], "%s: parameter %d", info->name, i);
            cr_expect_eq(vp_init_param_index(info, p->name), i);
            if (p->type == VP_P_ENUM)
                cr_expect(p->choices && p->def >= 0 && p->def < vp_choice_count(p->choices), "%s.%s", info->name, p->name);
            else
                cr_expect(p->lo <= p->def && p->def <= p->hi, "%s.%s default out of range", info->name, p->name);
        }
        cr_expect_eq(vp_init_param_index(info, "no_such_param"), -1);
        cr_expect_eq(vp_init_find(info->name), (vp_init_kind)k, "find(%s)", info->name);
        snprintf(seen[ns++], 64, "%s", info->name);
        char w[64];
        for (int i = 0; i < vp_choice_count(info->aliases); i++) {
            vp_choice_word(info->aliases, i, w, sizeof w);
            cr_expect_eq(vp_init_find(w), (vp_init_kind)k, "find(alias %s)", w);
            cr_assert_lt(ns, 8 * VP_INIT_COUNT);
            snprintf(seen[ns++], 64, "%s", w);
        }
        vp_init d = vp_init_default((vp_init_kind)k);
        cr_expect_eq(d.kind, (vp_init_kind)k);
        cr_expect_eq(d.auto_mask, 0u);
        for (int i = 0; i < info->nparams; i++) cr_expect_eq(d.p[i], info->params[i].def);
    }
    for (int i = 0; i < ns; i++)
        for (int j = i + 1; j < ns; j++) cr_expect_neq(strcmp(seen[i], seen[j]), 0, "duplicate name %s", seen[i]);
    cr_expect_eq(vp_init_find("glorot_uniform"), VP_INIT_XAVIER_UNIFORM);
    cr_expect_eq(vp_init_find("kaiming_normal"), VP_INIT_KAIMING_NORMAL);
    cr_expect_eq(vp_init_find("nope"), VP_INIT_COUNT);
    cr_expect_eq(vp_init_find(""), VP_INIT_COUNT);
}

Test(init_registry, names_lists)
{
    char w[2048], b[2048];
    vp_init_names(0, w, sizeof w);
    vp_init_names(1, b, sizeof b);
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        cr_expect_eq(vp_choice_index(w, info->name) >= 0, info->weight_ok != 0, "weights list vs %s", info->name);
        cr_expect_eq(vp_choice_index(b, info->name) >= 0, info->bias_ok != 0, "bias list vs %s", info->name);
    }
    /* Truncation into a small buffer never overruns and stays terminated. */
    char small[10];
    vp_init_names(0, small, sizeof small);
    cr_expect_lt(strlen(small), sizeof small);
}

Test(init_registry, kaiming_gain_and_auto)
{
    /* calculate_gain over the kaiming nonlinearity choices. */
    const vp_init_info *info = vp_init_get(VP_INIT_KAIMING_NORMAL);
    const char *nl = info->params[vp_init_param_index(info, "nonlinearity")].choices;
    struct { const char *name; double a, g; } c[] = {
        { "linear", 0, 1.0 }, { "sigmoid", 0, 1.0 }, { "tanh", 0, 5.0 / 3.0 }, { "relu", 0, sqrt(2.0) },
        { "leaky_relu", 0, sqrt(2.0) }, { "leaky_relu", 0.2, sqrt(2.0 / 1.04) }, { "leaky_relu", sqrt(5.0), sqrt(1.0 / 3.0) },
        { "selu", 0, 0.75 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int idx = vp_choice_index(nl, c[i].name);
        cr_assert_geq(idx, 0, "%s", c[i].name);
        cr_expect_float_eq(vp_init_kaiming_gain(idx, c[i].a), c[i].g, 1e-15, "%s(a=%g)", c[i].name, c[i].a);
    }
    /* One calculate_gain: every nonlinearity choice is an activation of the act
     * registry, and the kaiming gain is that row's torch_gain, to the bit (a is
     * the negative slope where the activation has one). */
    char w[32];
    for (int i = 0; i < vp_choice_count(nl); i++) {
        vp_act_kind k = vp_act_find(vp_choice_word(nl, i, w, sizeof w));
        cr_assert_neq(k, VP_ACT_COUNT, "nonlinearity %s is an activation", w);
        cr_expect_not_null(vp_act_get(k)->torch_gain, "%s has a PyTorch gain", w);
        vp_act act = vp_act_default(k);
        int slope = vp_act_param_index(vp_act_get(k), "negative_slope");
        if (slope >= 0) act.p[slope] = 0.37;
        cr_expect_eq(vp_init_kaiming_gain(i, 0.37), vp_act_torch_gain(&act), "%s", w);
    }
    /* "auto" gains: unresolved ones are refused; resolve_auto fills them in and
     * marks them resolved, while the label keeps saying "auto" (init.h). */
    vp_init o = vp_init_default(VP_INIT_ORTHOGONAL);
    o.auto_mask = 1u;
    double W[6];
    vp_err err;
    vp_rng r = vp_rng_make(1, 1, VP_RNG_WEIGHT);
    cr_expect_neq(vp_init_weight(&o, 2, 3, &r, W, &err), VP_OK);
    cr_expect_neq(strstr(err.msg, "auto"), NULL, "%s", err.msg);
    vp_init_resolve_auto(&o, 5.0 / 3.0);
    cr_expect(o.auto_resolved);
    cr_expect_eq(o.p[0], 5.0 / 3.0);
    char buf[64];
    vp_init_label(&o, buf, sizeof buf);
    cr_expect_str_eq(buf, "orthogonal(gain=auto)");
    cr_expect_eq(vp_init_weight(&o, 2, 3, &r, W, &err), VP_OK, "%s", err.msg);
    /* The resolved gain is used: rows of the 2 x 3 draw have norm 5/3. */
    for (int i = 0; i < 2; i++)
        cr_expect_float_eq(sqrt(W[3 * i] * W[3 * i] + W[3 * i + 1] * W[3 * i + 1] + W[3 * i + 2] * W[3 * i + 2]), 5.0 / 3.0,
                           1e-14);
    /* Only the bits in auto_mask are replaced. */
    vp_init he = vp_init_default(VP_INIT_KAIMING_NORMAL);
    he.p[0] = 0.3;
    vp_init_resolve_auto(&he, 9.0);
    cr_expect_eq(he.p[0], 0.3);
}

Test(init_registry, parameter_rules_and_names)
{
    /* Every row at its defaults is valid; the rules among parameters use the words
     * of the config errors; ranges are checked first. */
    vp_err err;
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        vp_init in = vp_init_default((vp_init_kind)k);
        cr_expect_eq(vp_init_check(&in, &err), VP_OK, "%s: %s", vp_init_get((vp_init_kind)k)->name, err.msg);
    }
    struct { vp_init_kind k; int lo, hi; const char *msg; } c[] = {
        { VP_INIT_UNIFORM, 0, 1, "uniform needs its lower bound below its upper bound" },
        { VP_INIT_RANDOM_UNIFORM, 0, 1, "random_uniform needs its lower bound below its upper bound" },
        { VP_INIT_TRUNC_NORMAL, 2, 3, "trunc_normal needs its lower cut-off below its upper cut-off" },
        { VP_INIT_TRUNCATED_NORMAL, 2, 3, "truncated_normal needs its lower cut-off below its upper cut-off" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_init in = vp_init_default(c[i].k);
        in.p[c[i].lo] = in.p[c[i].hi] = 0.5;
        cr_expect_eq(vp_init_check(&in, &err), VP_ERR_CONFIG, "%s", c[i].msg);
        cr_expect_str_eq(err.msg, c[i].msg);
        in.p[c[i].lo] = 0.25;
        cr_expect_eq(vp_init_check(&in, &err), VP_OK, "%s", err.msg);
    }
    vp_init sp = vp_init_default(VP_INIT_SPARSE);
    sp.p[0] = 2.0;
    cr_expect_eq(vp_init_check(&sp, &err), VP_ERR_CONFIG);
    cr_expect_neq(strstr(err.msg, "sparse sparsity: 2 is out of range"), NULL, "%s", err.msg);
    vp_init vs = vp_init_default(VP_INIT_VARIANCE_SCALING);
    vs.p[2] = 4; /* no fifth distribution */
    cr_expect_eq(vp_init_check(&vs, &err), VP_ERR_CONFIG);
    cr_expect_neq(strstr(err.msg, "variance_scaling distribution"), NULL, "%s", err.msg);
    /* Parameters by name. */
    vp_init mf = vp_init_default(VP_INIT_MEAN_FIELD);
    mf.p[1] = 0.3;
    cr_expect_eq(vp_init_param(&mf, "sigma_b"), 0.3);
    cr_expect_eq(vp_init_param(&mf, "sigma_w"), 1.0);
    vp_init lsuv = vp_init_default(VP_INIT_LSUV);
    cr_expect_eq(vp_init_param(&lsuv, "max_iter"), 10.0);
}

Test(init_registry, one_formula_gives_draw_moments_and_support)
{
    /* For every row and shape the support bounds every drawn value exactly (the
     * support is the draw's own bound, not a recomputation of it), and a weight
     * and a bias of the same row agree with their moments' "defined" flag. */
    const size_t shapes[][2] = { { 7, 5 }, { 5, 7 }, { 64, 64 }, { 1, 33 } };
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        vp_init in = vp_init_default((vp_init_kind)k);
        if (k == VP_INIT_MEAN_FIELD) in.p[1] = 0.5;
        if (k == VP_INIT_CONSTANT) in.p[0] = -0.25;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int bias = 0; bias < 2; bias++) {
                if (bias ? !(info->bias_ok || info->sets_bias) : !info->weight_ok) continue;
                size_t fo = shapes[s][0], fi = shapes[s][1], n = bias ? fo : fo * fi;
                double *x = alloc_doubles(n), lo, hi, mean, var;
                vp_rng r = vp_rng_make(3, 1, bias ? VP_RNG_BIAS : VP_RNG_WEIGHT);
                vp_err err;
                vp_status st = bias ? vp_init_bias(&in, fo, fi, &r, x, &err) : vp_init_weight(&in, fo, fi, &r, x, &err);
                cr_assert_eq(st, VP_OK, "%s: %s", info->name, err.msg);
                int bounded = vp_init_support(&in, fo, fi, bias, &lo, &hi);
                for (size_t i = 0; i < n; i++)
                    cr_expect(x[i] >= lo && x[i] <= hi, "%s %zux%zu%s: %.17g outside [%.17g, %.17g]", info->name, fo, fi,
                              bias ? " bias" : "", x[i], lo, hi);
                if (!bounded) cr_expect(isinf(lo) && isinf(hi), "%s", info->name);
                int has = vp_init_moments(&in, fo, fi, bias, &mean, &var);
                cr_expect_eq(has, k != VP_INIT_IDENTITY && k != VP_INIT_LSUV, "%s", info->name);
                if (has) cr_expect(var >= 0 && isfinite(var) && isfinite(mean), "%s: %g %g", info->name, mean, var);
                free(x);
            }
    }
}

Test(init_registry, labels)
{
    char buf[256];
    vp_init he = vp_init_default(VP_INIT_KAIMING_NORMAL);
    label(&he, buf, sizeof buf);
    cr_expect_str_eq(buf, "he_normal");
    he.p[1] = 1; /* mode = fan_out */
    label(&he, buf, sizeof buf);
    cr_expect_str_eq(buf, "he_normal(mode=fan_out)");
    he.p[2] = vp_choice_index(vp_init_get(VP_INIT_KAIMING_NORMAL)->params[2].choices, "tanh");
    label(&he, buf, sizeof buf);
    cr_expect_str_eq(buf, "he_normal(mode=fan_out,nonlinearity=tanh)");
    vp_init o = vp_init_default(VP_INIT_ORTHOGONAL);
    label(&o, buf, sizeof buf);
    cr_expect_str_eq(buf, "orthogonal");
    o.p[0] = sqrt(2.0);
    label(&o, buf, sizeof buf);
    cr_expect_str_eq(buf, "orthogonal(gain=1.4142135623730951)"); /* every digit: labels tell values apart */
    o.auto_mask = 1u;
    label(&o, buf, sizeof buf);
    cr_expect_str_eq(buf, "orthogonal(gain=auto)");
    vp_init vs = vp_init_default(VP_INIT_VARIANCE_SCALING);
    vs.p[0] = 2;
    vs.p[2] = vp_choice_index(vp_init_get(VP_INIT_VARIANCE_SCALING)->params[2].choices, "uniform");
    label(&vs, buf, sizeof buf);
    cr_expect_str_eq(buf, "variance_scaling(scale=2,distribution=uniform)");
    vp_init tn = vp_init_default(VP_INIT_TRUNC_NORMAL);
    tn.p[2] = -0.5;
    label(&tn, buf, sizeof buf);
    cr_expect_str_eq(buf, "trunc_normal(a=-0.5)");
    char small[8];
    label(&vs, small, sizeof small);
    cr_expect_eq(strlen(small), 7, "truncated safely");
}

/* ---- moments of every row ---- */

Test(init_moments, every_row_matches_vp_init_moments)
{
    /* Loop over the whole registry with default parameters at 400 x 300 and 3
     * seeds. identity and lsuv have no closed-form moments (vp_init_moments
     * returns 0); lsuv's draw is its orthogonal pre-init, whose entries have
     * mean 0 and variance exactly 1/max(fo, fi) (sum of squares = min(fo, fi)). */
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        if (!info->weight_ok) continue;
        vp_init in = vp_init_default((vp_init_kind)k);
        double mean, var;
        int has = vp_init_moments(&in, FO, FI, 0, &mean, &var);
        if (k == VP_INIT_IDENTITY) { cr_expect_eq(has, 0); continue; }
        if (k == VP_INIT_LSUV) {
            cr_expect_eq(has, 0);
            mean = 0;
            var = 1.0 / FO;
        } else {
            cr_expect_eq(has, 1, "%s defines its moments", info->name);
        }
        size_t n;
        double *x = draw_pooled(&in, FO, FI, 0, &n);
        sample s = stats_of(x, n);
        expect_moments(info->name, &s, mean, var);
        double lo, hi;
        if (vp_init_support(&in, FO, FI, 0, &lo, &hi)) {
            cr_expect(s.min >= lo && s.max <= hi, "%s: samples in [%.6g, %.6g] outside support [%.6g, %.6g]",
                      info->name, s.min, s.max, lo, hi);
        } else {
            cr_expect(isinf(lo) && isinf(hi), "%s: unbounded support reported as +-inf", info->name);
        }
        free(x);
    }
}

Test(init_moments, non_default_parameters)
{
    /* Every parameterized row with non-default values, checked against
     * vp_init_moments and the support bounds. */
    struct { vp_init_kind k; double p[4]; } c[] = {
        { VP_INIT_CONSTANT, { 0.7 } }, { VP_INIT_UNIFORM, { -3, 5 } }, { VP_INIT_NORMAL, { 2, 0.5 } },
        { VP_INIT_TRUNC_NORMAL, { 0.5, 1, -1, 1.2 } }, { VP_INIT_TRUNC_NORMAL, { 0, 1, 2, 3 } },
        { VP_INIT_TRUNC_NORMAL, { 0, 1, 5, 6 } }, { VP_INIT_TRUNC_NORMAL, { 1, 2, -1, 2 } },
        { VP_INIT_TRUNCATED_NORMAL, { 0.1, 0.3, -1, 3 } }, { VP_INIT_RANDOM_NORMAL, { -1, 0.2 } },
        { VP_INIT_RANDOM_UNIFORM, { 0, 0.01 } }, { VP_INIT_XAVIER_UNIFORM, { 2 } }, { VP_INIT_XAVIER_NORMAL, { 0.5 } },
        { VP_INIT_KAIMING_UNIFORM, { 0.2, 1, 4 } }, { VP_INIT_KAIMING_NORMAL, { 0, 1, 2 } },
        { VP_INIT_ORTHOGONAL, { 2 } }, { VP_INIT_SPARSE, { 0.3, 0.5 } }, { VP_INIT_MEAN_FIELD, { 1.5, 0.3 } },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_init in = vp_init_default(c[i].k);
        for (int j = 0; j < vp_init_get(c[i].k)->nparams; j++) in.p[j] = c[i].p[j];
        char lbl[256];
        label(&in, lbl, sizeof lbl);
        double mean, var, lo, hi;
        cr_assert_eq(vp_init_moments(&in, FO, FI, 0, &mean, &var), 1, "%s", lbl);
        size_t n;
        double *x = draw_pooled(&in, FO, FI, 0, &n);
        sample s = stats_of(x, n);
        expect_moments(lbl, &s, mean, var);
        if (vp_init_support(&in, FO, FI, 0, &lo, &hi))
            cr_expect(s.min >= lo && s.max <= hi, "%s: [%g, %g] outside [%g, %g]", lbl, s.min, s.max, lo, hi);
        free(x);
    }
}

/* ---- the key initializers against initializers.md, written out here ---- */

/* Draw at (fo, fi), compare variance with `var` (and vp_init_moments with it),
 * kurtosis with kappa, support with +-bound (bound 0: unbounded, then the sample
 * must exceed 3.5 sd: P(max |x| < 3.5 sd) = (1 - 4.65e-4)^(3 * 1.2e5) = e^-167). */
static void check_formula(const vp_init *in, size_t fo, size_t fi, double var, double kappa, double bound)
{
    char lbl[256];
    label(in, lbl, sizeof lbl);
    double m, v;
    cr_assert_eq(vp_init_moments(in, fo, fi, 0, &m, &v), 1, "%s", lbl);
    cr_expect_float_eq(v, var, 1e-14 * var, "%s: vp_init_moments var %.10g, formula %.10g", lbl, v, var);
    cr_expect_eq(m, 0.0);
    size_t n;
    double *x = draw_pooled(in, fo, fi, 0, &n);
    sample s = stats_of(x, n);
    expect_moments(lbl, &s, 0.0, var);
    expect_kurtosis(lbl, &s, kappa);
    double amax = fmax(-s.min, s.max), lo, hi;
    if (bound > 0) {
        cr_expect_eq(vp_init_support(in, fo, fi, 0, &lo, &hi), 1, "%s bounded", lbl);
        cr_expect_float_eq(hi, bound, 1e-14 * bound, "%s: support %.10g, formula %.10g", lbl, hi, bound);
        cr_expect_float_eq(lo, -bound, 1e-14 * bound);
        cr_expect_leq(amax, bound, "%s: |x| = %.10g beyond the bound %.10g", lbl, amax, bound);
        /* The extremes approach the bound: the density at the bound is >= 0.054/0.95
         * (truncated at 2 sd, in sd units) times 1/bound, so P(max|x| < bound (1-1e-3))
         * <= (1 - 2 * 0.113 * 1e-3)^N ~ e^-81 for N = 3.6e5; for a uniform it is
         * (1 - 1e-3)^N. A truncation at the wrong place (2 sd instead of 2/0.8796
         * sd) leaves the top 12% of the support empty. */
        cr_expect_geq(amax, bound * (1 - 1e-3), "%s: max |x| = %.10g never approaches the bound %.10g", lbl, amax, bound);
    } else {
        cr_expect_eq(vp_init_support(in, fo, fi, 0, &lo, &hi), 0, "%s is untruncated", lbl);
        cr_expect_gt(amax, 3.5 * sqrt(var), "%s: max |x| = %.4g sd: truncated?", lbl, amax / sqrt(var));
    }
    free(x);
}

Test(init_formula, xavier_he_lecun_torch_linear)
{
    const double fi = FI, fo = FO, k_tr = trunc_kurtosis(2.0);
    /* xavier_uniform: U(+-gain sqrt(6/(fi+fo))), Var = 2/(fi+fo) gain^2. */
    vp_init xu = vp_init_default(VP_INIT_XAVIER_UNIFORM);
    check_formula(&xu, FO, FI, 2.0 / (fi + fo), 1.8, sqrt(6.0 / (fi + fo)));
    xu.p[0] = 1.5;
    check_formula(&xu, FO, FI, 2.25 * 2.0 / (fi + fo), 1.8, 1.5 * sqrt(6.0 / (fi + fo)));
    /* xavier_normal: N(0, 2/(fi+fo)) untruncated (PyTorch; not Keras glorot_normal). */
    vp_init xn = vp_init_default(VP_INIT_XAVIER_NORMAL);
    check_formula(&xn, FO, FI, 2.0 / (fi + fo), 3.0, 0);
    /* he_normal = kaiming_normal_(a=0, fan_in, leaky_relu): N(0, 2/fan_in), untruncated. */
    vp_init hn = vp_init_default(VP_INIT_KAIMING_NORMAL);
    check_formula(&hn, FO, FI, 2.0 / fi, 3.0, 0);
    /* he_uniform: U(+-sqrt(6/fan_in)). */
    vp_init hu = vp_init_default(VP_INIT_KAIMING_UNIFORM);
    check_formula(&hu, FO, FI, 2.0 / fi, 1.8, sqrt(6.0 / fi));
    /* kaiming mode=fan_out, nonlinearity=tanh: std = (5/3)/sqrt(fan_out). */
    const char *nl = vp_init_get(VP_INIT_KAIMING_NORMAL)->params[2].choices;
    hn.p[1] = vp_choice_index(vp_init_get(VP_INIT_KAIMING_NORMAL)->params[1].choices, "fan_out");
    hn.p[2] = vp_choice_index(nl, "tanh");
    check_formula(&hn, FO, FI, 25.0 / 9.0 / fo, 3.0, 0);
    hu.p[1] = hn.p[1];
    hu.p[2] = hn.p[2];
    check_formula(&hu, FO, FI, 25.0 / 9.0 / fo, 1.8, sqrt(3.0) * (5.0 / 3.0) / sqrt(fo));
    /* kaiming_uniform(a = sqrt 5) is nn.Linear's weight init: U(+-1/sqrt(fan_in)). */
    vp_init k5 = vp_init_default(VP_INIT_KAIMING_UNIFORM);
    k5.p[0] = sqrt(5.0);
    check_formula(&k5, FO, FI, 1.0 / (3.0 * fi), 1.8, 1.0 / sqrt(fi));
    /* torch_linear: the same, Var = 1/(3 fan_in). */
    vp_init tl = vp_init_default(VP_INIT_TORCH_LINEAR);
    check_formula(&tl, FO, FI, 1.0 / (3.0 * fi), 1.8, 1.0 / sqrt(fi));
    /* lecun_uniform: U(+-sqrt(3/fan_in)). */
    vp_init lu = vp_init_default(VP_INIT_LECUN_UNIFORM);
    check_formula(&lu, FO, FI, 1.0 / fi, 1.8, sqrt(3.0 / fi));
    /* lecun_normal (Keras/JAX): truncated at +-2 sd of a normal whose sd is
     * sqrt(1/fan_in)/0.8796, so the post-truncation sd is sqrt(1/fan_in) and the
     * support is +-2/0.8796 sqrt(1/fan_in). */
    vp_init ln = vp_init_default(VP_INIT_LECUN_NORMAL);
    check_formula(&ln, FO, FI, 1.0 / fi, k_tr, 2.0 / TRUNC2 * sqrt(1.0 / fi));
}

Test(init_formula, truncation_constant)
{
    /* The Keras/JAX constant: sd of N(0,1) truncated to (-2,2) = 0.87962566103423978. */
    double m, v;
    trunc_mv(-2, 2, &m, &v);
    cr_expect_float_eq(sqrt(v), TRUNC2, 1e-15);
    cr_expect_float_eq(trunc_kurtosis(2.0), 2.3660, 1e-3);
}

Test(init_formula, variance_scaling_modes_and_distributions)
{
    /* 800 x 200 so that the four fans differ: fan_in 200, fan_out 800,
     * fan_avg 500, fan_geo_avg sqrt(800*200) = 400 (>= 20% apart, i.e. >= 14
     * tolerances at N = 4.8e5). Variance = scale/n for every distribution:
     *   uniform: U(+-sqrt(3 scale/n)), kurtosis 1.8
     *   truncated_normal: +-2/0.8796 sqrt(scale/n), kurtosis 2.366
     *   normal, untruncated_normal: untruncated (JAX meaning of "normal"), kurtosis 3. */
    const size_t fo = 800, fi = 200;
    const double scale = 2.0;
    const vp_init_info *info = vp_init_get(VP_INIT_VARIANCE_SCALING);
    const char *modes = info->params[1].choices, *dists = info->params[2].choices;
    const char *mname[4] = { "fan_in", "fan_out", "fan_avg", "fan_geo_avg" };
    const double fan[4] = { 200, 800, 500, 400 };
    const char *dname[4] = { "uniform", "truncated_normal", "normal", "untruncated_normal" };
    for (int mi = 0; mi < 4; mi++)
        for (int di = 0; di < 4; di++) {
            vp_init in = vp_init_default(VP_INIT_VARIANCE_SCALING);
            in.p[0] = scale;
            in.p[1] = vp_choice_index(modes, mname[mi]);
            in.p[2] = vp_choice_index(dists, dname[di]);
            cr_assert(in.p[1] >= 0 && in.p[2] >= 0, "%s/%s are choices", mname[mi], dname[di]);
            double var = scale / fan[mi], sd = sqrt(var);
            if (di == 0) check_formula(&in, fo, fi, var, 1.8, sqrt(3.0) * sd);
            else if (di == 1) check_formula(&in, fo, fi, var, trunc_kurtosis(2.0), 2.0 / TRUNC2 * sd);
            else check_formula(&in, fo, fi, var, 3.0, 0);
        }
    /* The default is (scale 1, fan_in, truncated_normal) = lecun_normal. */
    vp_init d = vp_init_default(VP_INIT_VARIANCE_SCALING);
    check_formula(&d, fo, fi, 1.0 / 200.0, trunc_kurtosis(2.0), 2.0 / TRUNC2 * sqrt(1.0 / 200.0));
}

Test(init_formula, trunc_normal_absolute_and_relative_bounds)
{
    /* PyTorch trunc_normal_(mean, std, a, b): a, b ABSOLUTE, no variance correction.
     * Moments from the truncated-normal formula written here (trunc_mv). */
    struct { double mean, sd, a, b; } c[] = {
        { 0, 1, -2, 2 },       /* default: var 0.7737 */
        { 0.5, 1, -1, 1.2 },   /* asymmetric */
        { 0, 1, 2, 3 },        /* mass 0.021 < 0.3: the U-proposal branch */
        { 0, 1, 5, 6 },        /* far tail, mass 2.9e-7 */
        { 0, 0.02, -2, 2 },    /* the trap: bounds +-100 sd away, effectively untruncated */
        { 3, 0.5, 2.5, 10 },   /* one-sided */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_init in = vp_init_default(VP_INIT_TRUNC_NORMAL);
        in.p[0] = c[i].mean; in.p[1] = c[i].sd; in.p[2] = c[i].a; in.p[3] = c[i].b;
        char lbl[256];
        label(&in, lbl, sizeof lbl);
        double zm, zv;
        trunc_mv((c[i].a - c[i].mean) / c[i].sd, (c[i].b - c[i].mean) / c[i].sd, &zm, &zv);
        double mean = c[i].mean + c[i].sd * zm, var = c[i].sd * c[i].sd * zv, m, v, lo, hi;
        cr_assert_eq(vp_init_moments(&in, FO, FI, 0, &m, &v), 1);
        cr_expect_float_eq(m, mean, 1e-12 * (fabs(mean) + c[i].sd), "%s: mean %.12g vs %.12g", lbl, m, mean);
        cr_expect_float_eq(v, var, 1e-10 * var, "%s: var %.12g vs %.12g", lbl, v, var);
        cr_expect_eq(vp_init_support(&in, FO, FI, 0, &lo, &hi), 1);
        cr_expect_eq(lo, c[i].a);
        cr_expect_eq(hi, c[i].b);
        size_t n;
        double *x = draw_pooled(&in, FO, FI, 0, &n);
        sample s = stats_of(x, n);
        expect_moments(lbl, &s, mean, var);
        cr_expect(s.min >= c[i].a && s.max <= c[i].b, "%s: [%g, %g]", lbl, s.min, s.max);
        if (i == 4) {
            /* +-2 absolute with sd 0.02 is no truncation: the sample reaches 3.5 sd. */
            cr_expect_gt(fmax(-s.min, s.max), 3.5 * 0.02, "%s", lbl);
        }
        if (i == 0) {
            /* The density at the bounds is phi(2)/0.9545 per sd: P(max < 2 - 2e-3) = e^-40. */
            cr_expect_gt(s.max, 2 - 2e-3);
            cr_expect_lt(s.min, -2 + 2e-3);
        }
        free(x);
    }
    /* Keras TruncatedNormal(mean 0, stddev 0.05): +-2 stddev RELATIVE, no 0.8796
     * correction: support +-0.1, variance 0.05^2 * 0.7737 (a corrected variance
     * 0.0025 would be 29% off). */
    vp_init tk = vp_init_default(VP_INIT_TRUNCATED_NORMAL);
    double m, v, lo, hi, zm, zv;
    trunc_mv(-2, 2, &zm, &zv);
    cr_assert_eq(vp_init_moments(&tk, FO, FI, 0, &m, &v), 1);
    cr_expect_float_eq(v, 0.0025 * zv, 1e-12 * v);
    cr_expect_eq(vp_init_support(&tk, FO, FI, 0, &lo, &hi), 1);
    cr_expect_float_eq(hi, 0.1, 1e-15);
    cr_expect_float_eq(lo, -0.1, 1e-15);
    size_t n;
    double *x = draw_pooled(&tk, FO, FI, 0, &n);
    sample s = stats_of(x, n);
    expect_moments("truncated_normal", &s, 0.0, 0.0025 * zv);
    expect_kurtosis("truncated_normal", &s, trunc_kurtosis(2.0));
    cr_expect_gt(s.max, 0.1 * (1 - 1e-3));
    free(x);
}

Test(init_formula, kurtosis_tells_uniform_from_normal)
{
    /* Same variance 1/300: lecun_uniform (kurtosis 1.8), he_normal with
     * nonlinearity linear (kurtosis 3), lecun_normal (2.366). The three kurtoses
     * are >= 0.57 apart; the tolerance is 6 sqrt(24/N) = 0.049. */
    vp_init u = vp_init_default(VP_INIT_LECUN_UNIFORM), nrm = vp_init_default(VP_INIT_KAIMING_NORMAL),
            t = vp_init_default(VP_INIT_LECUN_NORMAL);
    nrm.p[2] = vp_choice_index(vp_init_get(VP_INIT_KAIMING_NORMAL)->params[2].choices, "linear");
    const vp_init *ins[3] = { &u, &nrm, &t };
    const double kap[3] = { 1.8, 3.0, trunc_kurtosis(2.0) };
    for (int i = 0; i < 3; i++) {
        size_t n;
        double *x = draw_pooled(ins[i], FO, FI, 0, &n);
        sample s = stats_of(x, n);
        char lbl[128];
        label(ins[i], lbl, sizeof lbl);
        expect_moments(lbl, &s, 0.0, 1.0 / FI);
        expect_kurtosis(lbl, &s, kap[i]);
        for (int j = 0; j < 3; j++)
            if (j != i) cr_expect_gt(fabs(kurt(&s) - kap[j]), 0.3, "%s looks like the other family", lbl);
        free(x);
    }
}

Test(init_formula, sparse_zero_count_per_column)
{
    /* PyTorch sparse_: N(0, std^2), then ceil(sparsity * rows) zeros in EVERY
     * column (exact count, not a fraction on average); non-zeros keep sd std. */
    const double sp[] = { 0.1, 0.33, 0.5, 0.999, 1.0, 0.0 };
    const size_t fo = 200, fi = 150;
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
        vp_init in = vp_init_default(VP_INIT_SPARSE);
        in.p[0] = sp[i];
        in.p[1] = 0.5;
        double *W = alloc_doubles(fo * fi);
        vp_rng r = vp_rng_make(3, 2, VP_RNG_WEIGHT);
        vp_err err;
        cr_assert_eq(vp_init_weight(&in, fo, fi, &r, W, &err), VP_OK, "%s", err.msg);
        size_t want = (size_t)ceil(sp[i] * (double)fo), first_col_pattern_repeats = 0;
        double s2 = 0;
        size_t nz = 0;
        for (size_t c = 0; c < fi; c++) {
            size_t zeros = 0, same_as_col0 = 1;
            for (size_t rr = 0; rr < fo; rr++) {
                zeros += W[rr * fi + c] == 0.0;
                if ((W[rr * fi + c] == 0.0) != (W[rr * fi] == 0.0)) same_as_col0 = 0;
                if (W[rr * fi + c] != 0.0) { s2 += W[rr * fi + c] * W[rr * fi + c]; nz++; }
            }
            cr_expect_eq(zeros, want, "sparsity %g, column %zu: %zu zeros, want ceil(%g*%zu) = %zu", sp[i], c, zeros,
                         sp[i], fo, want);
            if (c > 0) first_col_pattern_repeats += same_as_col0;
        }
        /* Zero rows are drawn per column: with 0 < zeros < fo no two columns should
         * share a pattern (probability 1/C(200,20) each). */
        if (want > 0 && want < fo) cr_expect_eq(first_col_pattern_repeats, 0, "sparsity %g: same mask in every column", sp[i]);
        if (nz > 1000) {
            /* sd of the non-zeros: variance SE sqrt(2/nz) relative. */
            double v = s2 / (double)nz;
            cr_expect_leq(fabs(v - 0.25), NSIG * 0.25 * sqrt(2.0 / (double)nz), "sparsity %g: non-zero var %g", sp[i], v);
        }
        double m, var;
        vp_init_moments(&in, fo, fi, 0, &m, &var);
        cr_expect_float_eq(var, 0.25 * (1.0 - (double)want / (double)fo), 1e-15, "moments: %g", var);
        free(W);
    }
}

/* ---- structured initializers ---- */

/* max |W W^T - g^2 I| (wide) or |W^T W - g^2 I| (tall). */
static double ortho_error(const double *W, size_t rows, size_t cols, double gain)
{
    int wide = rows <= cols;
    size_t k = wide ? rows : cols, len = wide ? cols : rows;
    double worst = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t t = 0; t < len; t++)
                s += wide ? W[i * cols + t] * W[j * cols + t] : W[t * cols + i] * W[t * cols + j];
            worst = fmax(worst, fabs(s - (i == j ? gain * gain : 0.0)));
        }
    return worst;
}

Test(init_structured, orthogonal)
{
    /* Rows orthonormal (x gain) for wide matrices, columns for tall ones. Householder
     * QR is backward stable: |Q^T Q - I| ~ c n u with u the unit roundoff of the
     * precision it ran in (double, or float32 for `single`, as for float32 nets);
     * tolerance 30 max(rows, cols) u gain^2 (for double: <= 5e-13 here). */
    struct { size_t r, c; double g; } c[] = { { 60, 150, 1 }, { 150, 60, 1 }, { 100, 100, 2 }, { 1, 10, 0.5 },
                                              { 10, 1, 1 }, { 7, 8, 1.4142135623730951 } };
    for (int single = 0; single < 2; single++)
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_init in = vp_init_default(VP_INIT_ORTHOGONAL);
        in.p[0] = c[i].g;
        in.single = single;
        double *W = alloc_doubles(c[i].r * c[i].c);
        vp_rng r = vp_rng_make(11, 3, VP_RNG_WEIGHT);
        vp_err err;
        cr_assert_eq(vp_init_weight(&in, c[i].r, c[i].c, &r, W, &err), VP_OK, "%s", err.msg);
        double e = ortho_error(W, c[i].r, c[i].c, c[i].g), u = single ? 0x1p-24 : 0x1p-53;
        double tol = 30.0 * (double)(c[i].r > c[i].c ? c[i].r : c[i].c) * u * c[i].g * c[i].g;
        cr_expect_leq(e, tol, "%s %zu x %zu gain %g: max deviation %.3g", single ? "float32" : "double", c[i].r, c[i].c,
                      c[i].g, e);
        if (single && c[i].r * c[i].c > 10) /* and it really ran in float32: not exact to double precision */
            cr_expect_gt(e, 1e-12, "float32 QR: deviation %.3g looks like a double-precision QR", e);
        double lo, hi;
        vp_init_support(&in, c[i].r, c[i].c, 0, &lo, &hi);
        for (size_t j = 0; j < c[i].r * c[i].c; j++) cr_expect(W[j] >= lo && W[j] <= hi);
        free(W);
    }
    /* lsuv's pre-init is the same orthogonal draw with gain 1. */
    vp_init lsuv = vp_init_default(VP_INIT_LSUV), orth = vp_init_default(VP_INIT_ORTHOGONAL);
    double A[40 * 30], B[40 * 30];
    vp_rng r = vp_rng_make(5, 1, VP_RNG_WEIGHT);
    vp_err err;
    cr_assert_eq(vp_init_weight(&lsuv, 40, 30, &r, A, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_init_weight(&orth, 40, 30, &r, B, &err), VP_OK, "%s", err.msg);
    cr_expect_eq(memcmp(A, B, sizeof A), 0);
    cr_expect_leq(ortho_error(A, 40, 30, 1.0), 1e-12);
}

Test(init_structured, orthogonal_is_haar_sign_corrected)
{
    /* Mezzadri's sign correction (q *= sign(diag r)) makes Q Haar-distributed; a
     * Haar Q has a sign-symmetric diagonal. Without it, LAPACK's Householder QR
     * gives R_jj = -sign(a_jj)|.|, so Q_11 < 0 always. Over 200 seeds x 6 diagonal
     * entries (N = 1200) the positive fraction is 1/2 with SE sqrt(1/4/N) = 0.014:
     * tolerance 0.087. Checked for tall, wide and square shapes. */
    const size_t shapes[3][2] = { { 6, 6 }, { 6, 9 }, { 9, 6 } };
    for (int single = 0; single < 2; single++)
    for (int sh = 0; sh < 3; sh++) {
        size_t rows = shapes[sh][0], cols = shapes[sh][1], pos = 0, tot = 0, pos11 = 0;
        double W[54];
        for (uint64_t seed = 0; seed < 200; seed++) {
            vp_rng r = vp_rng_make(seed, 1, VP_RNG_WEIGHT);
            vp_err err;
            cr_assert_eq(vp_init_orthogonal(rows, cols, 1.0, single, &r, W, &err), VP_OK, "%s", err.msg);
            for (size_t j = 0; j < 6; j++) { pos += W[j * cols + j] > 0; tot++; }
            pos11 += W[0] > 0;
        }
        double f = (double)pos / (double)tot;
        cr_expect_leq(fabs(f - 0.5), NSIG * sqrt(0.25 / (double)tot), "%zu x %zu: %.3f of diagonal entries positive", rows,
                      cols, f);
        cr_expect_leq(fabs((double)pos11 / 200.0 - 0.5), NSIG * sqrt(0.25 / 200.0), "%zu x %zu: Q_11 > 0 in %zu/200", rows,
                      cols, pos11);
    }
}

Test(init_structured, identity)
{
    /* gain * eye(fan_out, fan_in), rectangular allowed (PyTorch eye_, Keras Identity). */
    const size_t sh[3][2] = { { 3, 5 }, { 5, 3 }, { 4, 4 } };
    const double gains[2] = { 1.0, 2.5 };
    for (int s = 0; s < 3; s++)
        for (int g = 0; g < 2; g++) {
            vp_init in = vp_init_default(VP_INIT_IDENTITY);
            in.p[0] = gains[g];
            double W[25];
            vp_rng r = vp_rng_make(1, 1, VP_RNG_WEIGHT);
            vp_err err;
            cr_assert_eq(vp_init_weight(&in, sh[s][0], sh[s][1], &r, W, &err), VP_OK);
            for (size_t i = 0; i < sh[s][0]; i++)
                for (size_t j = 0; j < sh[s][1]; j++)
                    cr_expect_eq(W[i * sh[s][1] + j], i == j ? gains[g] : 0.0, "%zux%zu [%zu][%zu]", sh[s][0], sh[s][1], i, j);
        }
}

/* ---- reproducibility ---- */

Test(init_repro, same_stream_same_numbers_other_stream_other_numbers)
{
    /* Every draw is a pure function of (init, shape, rng): the same stream twice
     * gives identical bits; another seed or layer gives no common non-zero value
     * for the random rows (continuous distributions: a coincidence has
     * probability ~N^2 2^-53). */
    const size_t fo = 50, fi = 40, n = fo * fi;
    double *a = alloc_doubles(n), *b = alloc_doubles(n), *c = alloc_doubles(n), *d = alloc_doubles(n);
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        if (!info->weight_ok) continue;
        vp_init in = vp_init_default((vp_init_kind)k);
        vp_rng r1 = vp_rng_make(1, 2, VP_RNG_WEIGHT), r2 = vp_rng_make(2, 2, VP_RNG_WEIGHT),
               r3 = vp_rng_make(1, 3, VP_RNG_WEIGHT);
        vp_err err;
        cr_assert_eq(vp_init_weight(&in, fo, fi, &r1, a, &err), VP_OK, "%s: %s", info->name, err.msg);
        cr_assert_eq(vp_init_weight(&in, fo, fi, &r1, b, &err), VP_OK);
        cr_assert_eq(vp_init_weight(&in, fo, fi, &r2, c, &err), VP_OK);
        cr_assert_eq(vp_init_weight(&in, fo, fi, &r3, d, &err), VP_OK);
        cr_expect_eq(memcmp(a, b, n * sizeof *a), 0, "%s: same stream, different numbers", info->name);
        int deterministic = k == VP_INIT_ZEROS || k == VP_INIT_ONES || k == VP_INIT_CONSTANT || k == VP_INIT_IDENTITY;
        size_t same_seed = 0, same_layer = 0;
        for (size_t i = 0; i < n; i++) {
            same_seed += a[i] != 0.0 && a[i] == c[i];
            same_layer += a[i] != 0.0 && a[i] == d[i];
        }
        if (deterministic) {
            cr_expect_eq(memcmp(a, c, n * sizeof *a), 0, "%s", info->name);
        } else {
            cr_expect_eq(same_seed, 0, "%s: %zu equal entries for seeds 1 and 2", info->name, same_seed);
            cr_expect_eq(same_layer, 0, "%s: %zu equal entries for layers 2 and 3", info->name, same_layer);
        }
    }
    /* The sparse mask depends on seed and layer too. */
    vp_init sp = vp_init_default(VP_INIT_SPARSE);
    sp.p[0] = 0.5;
    vp_rng r1 = vp_rng_make(1, 2, VP_RNG_WEIGHT), r3 = vp_rng_make(1, 3, VP_RNG_WEIGHT);
    vp_err err;
    cr_assert_eq(vp_init_weight(&sp, fo, fi, &r1, a, &err), VP_OK);
    cr_assert_eq(vp_init_weight(&sp, fo, fi, &r3, d, &err), VP_OK);
    size_t mask_diff = 0;
    for (size_t i = 0; i < n; i++) mask_diff += (a[i] == 0.0) != (d[i] == 0.0);
    cr_expect_gt(mask_diff, n / 10, "sparse masks of layers 2 and 3 barely differ (%zu)", mask_diff);
    free(a);
    free(b);
    free(c);
    free(d);
}

/* ---- biases ---- */

Test(init_bias, bias_draws_match_moments)
{
    /* Bias of length fan_out = 120000 for a layer with fan_in = 50 (so fan-based
     * bias rules that used fan_out instead of fan_in would be off by 2400x). */
    const size_t fo = 120000, fi = 50;
    for (int k = 0; k < VP_INIT_COUNT; k++) {
        const vp_init_info *info = vp_init_get((vp_init_kind)k);
        vp_init in = vp_init_default((vp_init_kind)k);
        if (k == VP_INIT_MEAN_FIELD) in.p[1] = 0.3;
        vp_err err;
        vp_rng r = vp_rng_make(4, 1, VP_RNG_BIAS);
        if (!(info->bias_ok || info->sets_bias)) {
            double b[4];
            err.msg[0] = '\0';
            cr_expect_eq(vp_init_bias(&in, 4, 3, &r, b, &err), VP_ERR_CONFIG, "%s is no bias initializer", info->name);
            cr_expect_neq(strstr(err.msg, info->name), NULL, "message names %s: %s", info->name, err.msg);
            continue;
        }
        size_t n;
        double *x = draw_pooled(&in, fo, fi, 1, &n);
        double mean, var;
        cr_assert_eq(vp_init_moments(&in, fo, fi, 1, &mean, &var), 1, "%s", info->name);
        sample s = stats_of(x, n);
        expect_moments(info->name, &s, mean, var);
        free(x);
    }
    /* torch_linear bias: U(+-1/sqrt(fan_in)), Var 1/(3 fan_in) (nn.Linear). */
    vp_init tl = vp_init_default(VP_INIT_TORCH_LINEAR);
    double mean, var, lo, hi;
    vp_init_moments(&tl, fo, fi, 1, &mean, &var);
    cr_expect_float_eq(var, 1.0 / 150.0, 1e-15);
    cr_expect_eq(vp_init_support(&tl, fo, fi, 1, &lo, &hi), 1);
    cr_expect_float_eq(hi, 1.0 / sqrt(50.0), 1e-15);
    size_t n;
    double *x = draw_pooled(&tl, fo, fi, 1, &n);
    sample s = stats_of(x, n);
    expect_moments("torch_linear bias", &s, 0.0, 1.0 / 150.0);
    cr_expect(s.max <= hi && s.min >= lo && s.max > hi * (1 - 1e-3));
    free(x);
}

Test(init_bias, mean_field_weights_and_biases)
{
    /* Poole et al.: W ~ N(0, sigma_w^2/fan_in), b ~ N(0, sigma_b^2). */
    vp_init mf = vp_init_default(VP_INIT_MEAN_FIELD);
    mf.p[0] = 1.5;
    mf.p[1] = 0.3;
    cr_expect(vp_init_get(VP_INIT_MEAN_FIELD)->sets_bias);
    check_formula(&mf, FO, FI, 2.25 / FI, 3.0, 0);
    size_t n;
    double *b = draw_pooled(&mf, 100000, FI, 1, &n);
    sample s = stats_of(b, n);
    expect_moments("mean_field bias", &s, 0.0, 0.09);
    free(b);
    /* Default sigma_b = 0: zero biases. */
    vp_init d = vp_init_default(VP_INIT_MEAN_FIELD);
    double z[16];
    vp_rng r = vp_rng_make(1, 1, VP_RNG_BIAS);
    vp_err err;
    cr_assert_eq(vp_init_bias(&d, 16, 8, &r, z, &err), VP_OK);
    for (int i = 0; i < 16; i++) cr_expect_eq(z[i], 0.0);
}

/* The unit-draw cache (vp_init_draw_cached): a normal initializer with the stream and
 * shape of the cached draw takes its standard normals from the cache (hit) and gives
 * exactly the bits vp_init_weight / vp_init_bias draw; another stream, another shape
 * or a non-normal initializer draws (no hit, and a non-normal one leaves the cache as
 * it was). Weights and biases of mean_field at two sigma pairs, kaiming_normal and
 * kaiming_uniform beside it. */
Test(init_cache, unit_draws_give_the_bits_of_a_fresh_draw)
{
    enum { FO_ = 24, FI_ = 18 };
    double got[FO_ * FI_], want[FO_ * FI_];
    vp_unit_draw uw = { .valid = 0 }, ub = { .valid = 0 };
    vp_err err;
    int hit;
    vp_init a = vp_init_default(VP_INIT_MEAN_FIELD), b = a, he = vp_init_default(VP_INIT_KAIMING_NORMAL),
            hu = vp_init_default(VP_INIT_KAIMING_UNIFORM);
    a.p[0] = 1.5, a.p[1] = 0.3;
    b.p[0] = 2.25, b.p[1] = 0.05;
    struct { const vp_init *in; uint64_t seed; int is_bias, want_hit; } steps[] = {
        { &a, 7, 0, 0 }, { &b, 7, 0, 1 }, { &he, 7, 0, 1 }, { &hu, 7, 0, 0 }, { &b, 7, 0, 1 },
        { &b, 8, 0, 0 }, { &a, 8, 0, 1 }, { &a, 8, 1, 0 }, { &b, 8, 1, 1 }, { &a, 9, 1, 0 },
    };
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
        int bias = steps[k].is_bias;
        vp_rng r = vp_rng_make(steps[k].seed, 3, bias ? VP_RNG_BIAS : VP_RNG_WEIGHT);
        size_t n = bias ? FO_ : (size_t)FO_ * FI_;
        cr_assert_eq(vp_init_draw_cached(steps[k].in, FO_, FI_, bias, &r, bias ? &ub : &uw, got, &hit, &err), VP_OK,
                     "%s", err.msg);
        vp_status s = bias ? vp_init_bias(steps[k].in, FO_, FI_, &r, want, &err)
                           : vp_init_weight(steps[k].in, FO_, FI_, &r, want, &err);
        cr_assert_eq(s, VP_OK, "%s", err.msg);
        cr_expect_eq(hit, steps[k].want_hit, "step %zu: hit %d", k, hit);
        cr_expect_eq(memcmp(got, want, n * sizeof *got), 0, "step %zu: not the bits of a fresh draw", k);
    }
    /* no cache: the plain draw */
    vp_rng r = vp_rng_make(7, 3, VP_RNG_WEIGHT);
    cr_assert_eq(vp_init_draw_cached(&a, FO_, FI_, 0, &r, NULL, got, &hit, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_init_weight(&a, FO_, FI_, &r, want, &err), VP_OK, "%s", err.msg);
    cr_expect(hit == 0 && memcmp(got, want, sizeof got) == 0);
    vp_unit_draw_free(&uw);
    vp_unit_draw_free(&ub);
}
