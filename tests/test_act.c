/* Tests of the activation registry (src/core/act*.c, act_scalar.h): completeness,
 * name lookup, the row properties the theory reads (slopes, log-normal, the rule
 * among parameters), derivatives against finite differences, fused kernels,
 * PyTorch conventions at kinks, calculate_gain values and reference values; and
 * the base helpers the registries share (base/param.h, base/sort.h). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "core/act.h"

#define SELU_ALPHA_REF 1.6732632423543772848170429916717
#define SELU_SCALE_REF 1.0507009873554804934193349852946

Test(act_registry, rows_complete)
{
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *a = vp_act_get((vp_act_kind)k);
        cr_assert_not_null(a->name, "row %d has no name", k);
        cr_expect_gt(strlen(a->name), 0, "row %d: empty name", k);
        cr_expect_not_null(a->aliases, "%s: aliases NULL (use \"\")", a->name);
        cr_expect(a->formula && a->formula[0], "%s: no formula", a->name);
        cr_expect(a->origin && a->origin[0], "%s: no origin", a->name);
        if (vp_act_rowwise(a)) { /* row-wise: a forward and a vector-Jacobian product, nothing scalar */
            cr_expect_not_null(a->row_bwd, "%s: row_bwd", a->name);
            cr_expect(a->f == NULL && a->df == NULL && a->kernel_f32 == NULL && a->kernel_f64 == NULL,
                      "%s: row-wise rows have no scalar functions", a->name);
        } else {
            cr_expect_not_null(a->f, "%s: f", a->name);
            cr_expect_not_null(a->df, "%s: df", a->name);
            cr_expect_not_null(a->kernel_f32, "%s: kernel_f32", a->name);
            cr_expect_not_null(a->kernel_f64, "%s: kernel_f64", a->name);
        }
        cr_expect(a->nparams >= 0 && a->nparams <= VP_ACT_MAX_PARAMS, "%s: nparams %d", a->name, a->nparams);
        for (int i = 0; i < a->nparams; i++) {
            const vp_param *p = &a->params[i];
            cr_expect(p->name && p->name[0], "%s: parameter %d unnamed", a->name, i);
            cr_expect_eq(p->type, VP_P_NUM, "%s.%s: activation parameters are numbers", a->name, p->name);
            cr_expect(p->lo <= p->def && p->def <= p->hi, "%s.%s: default %g outside [%g, %g]", a->name,
                      p->name, p->def, p->lo, p->hi);
            cr_expect(p->help && p->help[0], "%s.%s: no help", a->name, p->name);
        }
        if (a->bounded) cr_expect_gt(a->dpeak, 0.0, "%s: bounded with dpeak %g", a->name, a->dpeak);
        vp_act d = vp_act_default((vp_act_kind)k);
        cr_expect_eq(d.kind, (vp_act_kind)k);
        for (int i = 0; i < a->nparams; i++) cr_expect_eq(d.p[i], a->params[i].def);
    }
}

Test(act_registry, names_unique_and_found)
{
    /* Every canonical name and alias is one word, unique over the whole table,
     * and vp_act_find maps it back to its own row. */
    char words[4 * VP_ACT_COUNT][64];
    int owner[4 * VP_ACT_COUNT], nw = 0;
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *a = vp_act_get((vp_act_kind)k);
        cr_expect_null(strchr(a->name, ' '), "%s: name with a space", a->name);
        cr_expect_eq(vp_act_find(a->name), (vp_act_kind)k, "find(%s)", a->name);
        snprintf(words[nw], sizeof words[nw], "%s", a->name);
        owner[nw++] = k;
        char w[64];
        for (int i = 0; i < vp_choice_count(a->aliases); i++) {
            vp_choice_word(a->aliases, i, w, sizeof w);
            cr_assert_lt(nw, 4 * VP_ACT_COUNT);
            cr_expect_eq(vp_act_find(w), (vp_act_kind)k, "find(alias %s of %s)", w, a->name);
            snprintf(words[nw], sizeof words[nw], "%s", w);
            owner[nw++] = k;
        }
    }
    for (int i = 0; i < nw; i++)
        for (int j = i + 1; j < nw; j++)
            cr_expect_neq(strcmp(words[i], words[j]), 0, "\"%s\" used by rows %d and %d", words[i], owner[i],
                          owner[j]);
    cr_expect_eq(vp_act_find("no_such_activation"), VP_ACT_COUNT);
    cr_expect_eq(vp_act_find(""), VP_ACT_COUNT);
    cr_expect_eq(vp_act_find("Relu"), VP_ACT_COUNT, "lookup is case-sensitive");
    cr_expect_eq(vp_act_find("rel"), VP_ACT_COUNT, "no prefix matching");
    cr_expect_eq(vp_act_find("swish"), VP_ACT_SILU);
    cr_expect_eq(vp_act_find("hard_silu"), VP_ACT_HARD_SWISH);
    /* The name lists: canonical names in registry order; with aliases, every word. */
    char names[2048], all[2048], w[64];
    vp_act_names(0, names, sizeof names);
    vp_act_names(1, all, sizeof all);
    cr_expect_eq(vp_choice_count(names), VP_ACT_COUNT);
    for (int k = 0; k < VP_ACT_COUNT; k++)
        cr_expect_str_eq(vp_choice_word(names, k, w, sizeof w), vp_act_get((vp_act_kind)k)->name);
    cr_expect_eq(vp_choice_count(all), nw);
    for (int i = 0; i < nw; i++) cr_expect_geq(vp_choice_index(all, words[i]), 0, "%s", words[i]);
    char small[10];
    vp_act_names(1, small, sizeof small);
    cr_expect_lt(strlen(small), sizeof small);
}

Test(act_registry, slopes_and_lognormal_rows)
{
    /* A row with slopes is positively homogeneous: phi(u) = pos u above 0 and
     * neg u below, exactly, at its defaults and at other parameter values (the
     * theory's closed forms rely on it); phi' is pos / neg there too. The
     * log-normal row is phi = phi' = e^x. */
    static const double us[] = { 1e-3, 0.3, 1.0, 2.5, 17.0, 1e5 };
    static const double pv[] = { 0.0, 0.2, 0.7, 1.5 };
    int homogeneous = 0, lognormal = 0;
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *info = vp_act_get((vp_act_kind)k);
        vp_act a = vp_act_default((vp_act_kind)k);
        double neg = NAN, pos = NAN;
        cr_expect_eq(vp_act_slopes(&a, &neg, &pos), info->slopes != NULL, "%s", info->name);
        if (info->lognormal)
            for (double x = -30; x <= 30; x += 0.75) { /* vm_exp: <= 1 ulp */
                cr_expect_leq(fabs(vp_act_f(&a, x) - exp(x)), 2 * DBL_EPSILON * exp(x), "%s(%g)", info->name, x);
                cr_expect_eq(vp_act_df(&a, x), vp_act_f(&a, x), "%s'(%g)", info->name, x);
            }
        lognormal += info->lognormal != 0;
        if (!info->slopes) continue;
        homogeneous++;
        cr_expect_not(vp_act_rowwise(info), "%s", info->name);
        for (size_t v = 0; v <= sizeof pv / sizeof pv[0]; v++) {
            if (v > 0) /* every parameter at pv[v-1] (lower <= upper holds for rrelu) */
                for (int i = 0; i < info->nparams; i++) a.p[i] = pv[v - 1];
            cr_assert(vp_act_slopes(&a, &neg, &pos));
            for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
                double u = us[i];
                cr_expect_eq(vp_act_f(&a, u), pos * u, "%s(%g) vs slope %g", info->name, u, pos);
                cr_expect_eq(vp_act_f(&a, -u), neg * -u, "%s(%g) vs slope %g", info->name, -u, neg);
                cr_expect_eq(vp_act_df(&a, u), pos, "%s'(%g)", info->name, u);
                cr_expect_eq(vp_act_df(&a, -u), neg, "%s'(%g)", info->name, -u);
            }
        }
    }
    cr_expect_eq(homogeneous, 5, "identity, relu, leaky_relu, prelu, rrelu");
    cr_expect_eq(lognormal, 1, "exponential");
    vp_act rr = vp_act_default(VP_ACT_RRELU);
    double neg, pos;
    vp_act_slopes(&rr, &neg, &pos);
    cr_expect_eq(neg, 0.5 * (0.125 + 1.0 / 3.0), "rrelu: the evaluation-mode slope (lower + upper)/2");
    vp_act gelu = vp_act_default(VP_ACT_GELU);
    neg = pos = 7.0;
    cr_expect_eq(vp_act_slopes(&gelu, &neg, &pos), 0);
    cr_expect(neg == 7.0 && pos == 7.0, "left untouched");
}

Test(act_registry, parameter_rules_and_names)
{
    /* Every row at its defaults is valid. */
    vp_err err;
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        vp_act a = vp_act_default((vp_act_kind)k);
        cr_expect_eq(vp_act_check(&a, &err), VP_OK, "%s: %s", vp_act_get((vp_act_kind)k)->name, err.msg);
    }
    /* The rules among parameters, in the words config errors use. */
    vp_act ht = vp_act_default(VP_ACT_HARD_TANH);
    ht.p[0] = ht.p[1] = 0.5;
    cr_expect_eq(vp_act_check(&ht, &err), VP_ERR_CONFIG);
    cr_expect_str_eq(err.msg, "hard_tanh needs min_val < max_val");
    vp_act rr = vp_act_default(VP_ACT_RRELU);
    rr.p[0] = rr.p[1] = 0.2;
    cr_expect_eq(vp_act_check(&rr, &err), VP_OK, "lower = upper is allowed");
    rr.p[0] = 0.3;
    cr_expect_eq(vp_act_check(&rr, &err), VP_ERR_CONFIG);
    cr_expect_str_eq(err.msg, "rrelu needs lower <= upper");
    /* Ranges are checked first, naming row and parameter. */
    vp_act celu = vp_act_default(VP_ACT_CELU);
    celu.p[0] = 0.0;
    cr_expect_eq(vp_act_check(&celu, &err), VP_ERR_CONFIG);
    cr_expect_neq(strstr(err.msg, "celu alpha: 0 is out of range"), NULL, "%s", err.msg);
    celu.p[0] = NAN;
    cr_expect_eq(vp_act_check(&celu, &err), VP_ERR_CONFIG);
    /* Parameters by name. */
    vp_act lr = vp_act_default(VP_ACT_LEAKY_RELU);
    cr_expect_eq(vp_act_param(&lr, "negative_slope"), 0.01);
    cr_expect_eq(vp_act_param(&ht, "max_val"), 0.5);
    cr_expect_eq(vp_act_param_index(vp_act_get(VP_ACT_SOFTPLUS), "threshold"), 1);
    cr_expect_eq(vp_act_param_index(vp_act_get(VP_ACT_SOFTPLUS), "alpha"), -1);
    /* calculate_gain through the row, NAN where PyTorch raises. */
    lr.p[0] = 0.2;
    cr_expect_eq(vp_act_torch_gain(&lr), sqrt(2.0 / (1.0 + 0.2 * 0.2)));
    vp_act gelu = vp_act_default(VP_ACT_GELU);
    cr_expect(isnan(vp_act_torch_gain(&gelu)));
}

Test(act_registry, shared_base_helpers)
{
    /* base/param.h: enum values are choice indices; a row's label; by name. */
    vp_param e = { "mode", VP_P_ENUM, 0, 0, 0, "fan_in fan_out", "which fan" };
    vp_err err;
    cr_expect_eq(vp_param_check(&e, 1, "x", &err), VP_OK);
    cr_expect_eq(vp_param_check(&e, 2, "x", &err), VP_ERR_CONFIG);
    cr_expect_neq(strstr(err.msg, "fan_in, fan_out"), NULL, "%s", err.msg);
    cr_expect_eq(vp_param_check(&e, 0.5, "x", &err), VP_ERR_CONFIG);
    vp_param specs[2] = { { "gain", VP_P_GAIN, 1.0, 0, 10, NULL, "g" }, { "b", VP_P_NUM, 2.0, -5, 5, NULL, "b" } };
    double p[2] = { 1.0, 3.0 }, d[2];
    char buf[64];
    vp_param_label("row", specs, 2, p, 0, 0, buf, sizeof buf);
    cr_expect_str_eq(buf, "row(b=3)");
    vp_param_label("row", specs, 2, p, 1u, 0, buf, sizeof buf);
    cr_expect_str_eq(buf, "row(gain=auto,b=3)");
    vp_param_label("row", specs, 2, p, 0, 1u, buf, sizeof buf);
    cr_expect_str_eq(buf, "row(gain=critical,b=3)");
    vp_param_defaults(specs, 2, d);
    cr_expect(d[0] == 1.0 && d[1] == 2.0);
    vp_param_label("row", specs, 2, d, 0, 0, buf, sizeof buf);
    cr_expect_str_eq(buf, "row");
    cr_expect_eq(vp_param_get(specs, 2, p, "b"), 3.0);
    cr_expect_eq(vp_param_find(specs, 2, "gain"), 0);
    cr_expect_eq(vp_param_find(specs, 2, "c"), -1);
    cr_expect_eq(vp_param_check_row("row", specs, 2, p, NULL, &err), VP_OK);
    cr_expect_eq(vp_param_check_row("row", specs, 2, p, "needs more", &err), VP_ERR_CONFIG);
    cr_expect_str_eq(err.msg, "row needs more");
    p[1] = 6.0;
    cr_expect_eq(vp_param_check_row("row", specs, 2, p, "needs more", &err), VP_ERR_CONFIG);
    cr_expect_neq(strstr(err.msg, "row b: 6 is out of range"), NULL, "ranges first: %s", err.msg);
    cr_expect(vp_name_is("silu", "swish", "swish") && vp_name_is("silu", "swish", "silu"));
    cr_expect_not(vp_name_is("silu", "swish", "swis"));
    /* base/sort.h: both orders, equal values kept together. */
    double v[6] = { 3, -1, 2, 2, -7, 0.5 };
    qsort(v, 6, sizeof *v, vp_cmp_double);
    for (int i = 1; i < 6; i++) cr_expect_leq(v[i - 1], v[i]);
    qsort(v, 6, sizeof *v, vp_cmp_double_desc);
    for (int i = 1; i < 6; i++) cr_expect_geq(v[i - 1], v[i]);
    cr_expect_eq(v[0], 3.0);
    cr_expect_eq(v[5], -7.0);
}

/* Activations with default parameters plus parameter variants that move kinks
 * and constants, so the derivative checks see non-default code paths. */
static int test_acts(vp_act *out, int cap)
{
    int n = 0;
    for (int k = 0; k < VP_ACT_COUNT && n < cap; k++)
        if (!vp_act_rowwise(vp_act_get((vp_act_kind)k))) out[n++] = vp_act_default((vp_act_kind)k);
    struct { vp_act_kind k; double p0, p1; } v[] = {
        { VP_ACT_LEAKY_RELU, 0.2, 0 }, { VP_ACT_PRELU, -0.5, 0 }, { VP_ACT_RRELU, 0.1, 0.5 },
        { VP_ACT_ELU, 2.0, 0 }, { VP_ACT_CELU, 0.5, 0 }, { VP_ACT_HARD_TANH, -2.0, 3.0 },
        { VP_ACT_SOFTPLUS, 2.0, 20.0 }, { VP_ACT_SOFTPLUS, 1.0, 5.0 }, { VP_ACT_SOFTSHRINK, 1.5, 0 },
        { VP_ACT_HARDSHRINK, 0.25, 0 }, { VP_ACT_THRESHOLD, 0.5, -1.0 }, { VP_ACT_SQUAREPLUS, 1.0, 0 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0] && n < cap; i++) {
        vp_act a = vp_act_default(v[i].k);
        a.p[0] = v[i].p0;
        if (vp_act_get(v[i].k)->nparams > 1) a.p[1] = v[i].p1;
        out[n++] = a;
    }
    return n;
}

/* Distance from x to the nearest kink of a (inf if none). */
static double kink_distance(const vp_act *a, double x)
{
    const vp_act_info *info = vp_act_get(a->kind);
    if (!info->kinks) return INFINITY;
    double k[4];
    int nk = info->kinks(a->p, k);
    double d = INFINITY;
    for (int i = 0; i < nk; i++) d = fmin(d, fabs(x - k[i]));
    return d;
}

/* The n points of xs followed by a's kinks (at most 4) in out; returns the count. */
static size_t with_kinks(const vp_act *a, const double *xs, size_t n, double *out)
{
    const vp_act_info *info = vp_act_get(a->kind);
    memcpy(out, xs, n * sizeof *out);
    return n + (size_t)(info->kinks ? info->kinks(a->p, out + n) : 0);
}

Test(act_derivative, matches_central_differences)
{
    /* Central difference D = (f(x+h) - f(x-h))/(2h) has truncation error
     * h^2/6 |f'''(xi)| and rounding error <= 2 eps |f| / (2h) per evaluation pair
     * (each f is accurate to ~2 ulp). With h = 1e-5 on [-8, 8]:
     *   |f'''| <= 10 for every row but exponential (tanh''' peaks at 2, squareplus
     *   b=1 at 1.3, softplus beta=2 at 0.4, celu alpha=0.5 at 4) -> 1.7e-10,
     *   exponential: f''' = f -> 1.7e-11 |f|,
     *   rounding: 2 * 2.2e-16 |f| / 1e-5 = 4.4e-11 |f|.
     * So |D - f'| <= 2e-10 (1 + |f|); the tolerance 1e-8 (1 + |f|) leaves a 50x
     * margin while a wrong derivative constant (e.g. 0.044715 vs 3*0.044715 in
     * gelu_tanh, a missing factor alpha in celu, sigma instead of sigma(1-sigma))
     * is off by >= 1e-3. Points within 1e-3 = 100 h of a kink are skipped: there
     * the difference quotient straddles the kink. */
    const double h = 1e-5, step = 0.01373;
    vp_act acts[64];
    int na = test_acts(acts, 64);
    for (int i = 0; i < na; i++) {
        const vp_act *a = &acts[i];
        char lbl[128];
        vp_act_label(a, lbl, sizeof lbl);
        double worst = 0, wx = 0;
        int checked = 0;
        for (double x = -8.0; x <= 8.0; x += step) {
            if (kink_distance(a, x) < 1e-3) continue;
            double fd = (vp_act_f(a, x + h) - vp_act_f(a, x - h)) / (2 * h);
            double err = fabs(fd - vp_act_df(a, x)) / (1.0 + fabs(vp_act_f(a, x)));
            if (err > worst) { worst = err; wx = x; }
            checked++;
        }
        cr_expect_gt(checked, 1000, "%s", lbl);
        cr_expect_leq(worst, 1e-8, "%s: df off by %.3g (relative) at x = %.6f", lbl, worst, wx);
    }
}

Test(act_derivative, kink_list_complete)
{
    /* Every jump of phi' must be listed in kinks (the theory module integrates
     * piecewise between them). On a grid of spacing delta = 1e-3, a smooth phi' moves
     * by at most delta max|phi''| <= delta (4 + 2|phi'|) between neighbours
     * (|phi''| <= 4 for all rows on [-8,8] except exponential, where phi'' = phi'),
     * i.e. <= 4e-3 + 2e-3|phi'|; an unlisted kink jumps by >= 0.25 (prelu) -- the
     * smallest listed jump is celu/elu with alpha != 1 (|1 - alpha| >= 0.5). Pairs
     * that straddle a listed kink are skipped. */
    const double delta = 1e-3;
    vp_act acts[64];
    int na = test_acts(acts, 64);
    for (int i = 0; i < na; i++) {
        const vp_act *a = &acts[i];
        char lbl[128];
        vp_act_label(a, lbl, sizeof lbl);
        for (double x = -8.0; x < 8.0; x += delta) {
            if (kink_distance(a, x) <= delta || kink_distance(a, x + delta) <= delta) continue;
            double d0 = vp_act_df(a, x), d1 = vp_act_df(a, x + delta);
            if (fabs(d1 - d0) > delta * (4.0 + 2.0 * fabs(d0))) {
                cr_expect_fail("%s: phi' jumps from %g to %g near x = %.4f (unlisted kink)", lbl, d0, d1, x);
                break;
            }
        }
    }
}

Test(act_kernels, fused_equal_scalar)
{
    /* The fused kernels are the same double math: the f64 kernel equals f/df
     * exactly, the f32 kernel equals (float)f((double)(float)x). Inputs include
     * the kinks exactly, 0, large magnitudes and signed zero; d aliases z in a
     * second call (documented as allowed). */
    double xs[400];
    size_t n = 0;
    for (int i = -150; i <= 150; i++) xs[n++] = i * 0.061;
    const double extra[] = { 0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 20.0, 25.0, -30.0, 30.0, 700.0, -700.0, 1e-300 };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) xs[n++] = extra[i];
    vp_act acts[64];
    int na = test_acts(acts, 64);
    for (int i = 0; i < na; i++) {
        const vp_act *a = &acts[i];
        const vp_act_info *info = vp_act_get(a->kind);
        double x[420];
        size_t m = with_kinks(a, xs, n, x);
        double h[420], d[420], z2[420];
        info->kernel_f64(x, h, d, m, a->p);
        memcpy(z2, x, m * sizeof *x);
        info->kernel_f64(z2, h, z2, m, a->p); /* in place: d aliases z */
        float xf[420], hf[420], df[420];
        for (size_t j = 0; j < m; j++) xf[j] = (float)x[j];
        info->kernel_f32(xf, hf, df, m, a->p);
        for (size_t j = 0; j < m; j++) {
            double f = info->f(x[j], a->p), g = info->df(x[j], a->p);
            cr_expect(h[j] == f || (isnan(h[j]) && isnan(f)), "%s: h(%g) = %.17g vs f %.17g", info->name, x[j], h[j], f);
            cr_expect(d[j] == g || (isnan(d[j]) && isnan(g)), "%s: d(%g) = %.17g vs df %.17g", info->name, x[j], d[j], g);
            cr_expect(z2[j] == g || (isnan(z2[j]) && isnan(g)), "%s: in-place d(%g)", info->name, x[j]);
            double xr = (double)xf[j];
            float ff = (float)info->f(xr, a->p), gf = (float)info->df(xr, a->p);
            cr_expect(hf[j] == ff || (isnan(hf[j]) && isnan(ff)), "%s f32: h(%g)", info->name, xr);
            cr_expect(df[j] == gf || (isnan(df[j]) && isnan(gf)), "%s f32: d(%g)", info->name, xr);
        }
    }
}

/* ---- the libm formulas act.c used before vmath.h (act_scalar.h now), kept as references ----
 * ref_eval gives phi and phi' of a the old way, and for each the magnitude of
 * the terms that are summed (mag): the scale of the rounding errors, which for a
 * difference like x - tanh(x) or 1 + x(1 - s) is larger than the result. mag = 0
 * marks the piecewise-linear rows, whose formulas did not change and must agree
 * bit for bit. Returns 0 for row-wise activations. */
static double ref_sigm(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
static double ref_softplus1(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

static int ref_eval(const vp_act *a, double x, double *f, double *fmag, double *df, double *dfmag)
{
    const double *p = a->p;
    const double c_gelu = 0.5 * M_2_SQRTPI * M_SQRT1_2, c_tanh = 0.79788456080286535587989211986876, k = 0.044715;
    double s, t, u;
    *fmag = *dfmag = 0;
    switch (a->kind) {
    case VP_ACT_IDENTITY: *f = x; *df = 1.0; return 1;
    case VP_ACT_RELU: *f = x > 0 ? x : 0.0; *df = x > 0 ? 1.0 : 0.0; return 1;
    case VP_ACT_RELU6: *f = x > 0 ? (x < 6 ? x : 6.0) : 0.0; *df = (x > 0 && x < 6) ? 1.0 : 0.0; return 1;
    case VP_ACT_LEAKY_RELU:
    case VP_ACT_PRELU: *f = x > 0 ? x : p[0] * x; *df = x > 0 ? 1.0 : p[0]; return 1;
    case VP_ACT_RRELU: *f = x > 0 ? x : 0.5 * (p[0] + p[1]) * x; *df = x > 0 ? 1.0 : 0.5 * (p[0] + p[1]); return 1;
    case VP_ACT_HARD_SIGMOID:
        *f = x <= -3 ? 0.0 : (x >= 3 ? 1.0 : x / 6.0 + 0.5);
        *df = (x > -3 && x < 3) ? 1.0 / 6.0 : 0.0;
        return 1;
    case VP_ACT_HARD_SWISH:
        *f = x <= -3 ? 0.0 : (x >= 3 ? x : x * (x + 3.0) / 6.0);
        *df = x < -3 ? 0.0 : (x <= 3 ? x / 3.0 + 0.5 : 1.0);
        return 1;
    case VP_ACT_HARD_TANH: *f = x < p[0] ? p[0] : (x > p[1] ? p[1] : x); *df = (x > p[0] && x < p[1]) ? 1.0 : 0.0; return 1;
    case VP_ACT_SOFTSIGN: *f = x / (1.0 + fabs(x)); *df = 1.0 / ((1.0 + fabs(x)) * (1.0 + fabs(x))); return 1;
    case VP_ACT_SOFTSHRINK:
        *f = x > p[0] ? x - p[0] : (x < -p[0] ? x + p[0] : 0.0);
        *df = (x > p[0] || x < -p[0]) ? 1.0 : 0.0;
        return 1;
    case VP_ACT_HARDSHRINK: *f = (x > p[0] || x < -p[0]) ? x : 0.0; *df = (x > p[0] || x < -p[0]) ? 1.0 : 0.0; return 1;
    case VP_ACT_THRESHOLD: *f = x > p[0] ? x : p[1]; *df = x > p[0] ? 1.0 : 0.0; return 1;
    case VP_ACT_SQUAREPLUS: *f = 0.5 * (x + sqrt(x * x + p[0])); *df = 0.5 * (1.0 + x / sqrt(x * x + p[0])); return 1;
    case VP_ACT_SPARSE_PLUS:
        *f = x <= -1 ? 0.0 : (x >= 1 ? x : 0.25 * (x + 1) * (x + 1));
        *df = x <= -1 ? 0.0 : (x >= 1 ? 1.0 : 0.5 * (x + 1));
        return 1;
    case VP_ACT_SPARSE_SIGMOID:
        *f = x <= -1 ? 0.0 : (x >= 1 ? 1.0 : 0.5 * (x + 1));
        *df = (x > -1 && x < 1) ? 0.5 : 0.0;
        return 1;
    /* transcendental rows */
    case VP_ACT_ELU:
        *f = x > 0 ? x : p[0] * expm1(x); *df = x > 0 ? 1.0 : p[0] * exp(x);
        *fmag = fabs(*f); *dfmag = fabs(*df);
        return 1;
    case VP_ACT_CELU:
        *f = x > 0 ? x : p[0] * expm1(x / p[0]); *df = x > 0 ? 1.0 : exp(x / p[0]);
        *fmag = fabs(*f); *dfmag = fabs(*df);
        return 1;
    case VP_ACT_SELU:
        *f = SELU_SCALE_REF * (x > 0 ? x : SELU_ALPHA_REF * expm1(x));
        *df = SELU_SCALE_REF * (x > 0 ? 1.0 : SELU_ALPHA_REF * exp(x));
        *fmag = fabs(*f); *dfmag = fabs(*df);
        return 1;
    case VP_ACT_GELU:
        u = erfc(-x * M_SQRT1_2);
        t = x * exp(-0.5 * x * x) * c_gelu;
        *f = 0.5 * x * u; *df = 0.5 * u + t;
        *fmag = fabs(*f); *dfmag = 0.5 * u + fabs(t);
        return 1;
    case VP_ACT_GELU_TANH:
        t = tanh(c_tanh * (x + k * x * x * x));
        u = 0.5 * x * (1.0 - t * t) * c_tanh * (1.0 + 3.0 * k * x * x);
        *f = 0.5 * x * (1.0 + t); *df = 0.5 * (1.0 + t) + u;
        *fmag = 0.5 * fabs(x) * (1.0 + fabs(t));
        *dfmag = 0.5 * (1.0 + fabs(t)) + 0.5 * fabs(x) * (1.0 + t * t) * c_tanh * (1.0 + 3.0 * k * x * x);
        return 1;
    case VP_ACT_SILU:
        s = ref_sigm(x);
        *f = x * s; *df = s * (1.0 + x * (1.0 - s));
        *fmag = fabs(*f); *dfmag = s * (1.0 + fabs(x) * (1.0 + s));
        return 1;
    case VP_ACT_MISH:
        t = tanh(ref_softplus1(x)); s = ref_sigm(x);
        *f = x * t; *df = t + x * (1.0 - t * t) * s;
        *fmag = fabs(*f); *dfmag = fabs(t) + fabs(x) * (1.0 + t * t) * s;
        return 1;
    case VP_ACT_SIGMOID:
        s = ref_sigm(x);
        *f = s; *df = s * (1.0 - s);
        *fmag = s; *dfmag = s * (1.0 + s);
        return 1;
    case VP_ACT_LOG_SIGMOID:
        *f = -ref_softplus1(-x); *df = ref_sigm(-x);
        *fmag = fabs(*f); *dfmag = *df;
        return 1;
    case VP_ACT_TANH:
        t = tanh(x);
        *f = t; *df = 1.0 - t * t;
        *fmag = fabs(t); *dfmag = 1.0 + t * t;
        return 1;
    case VP_ACT_SOFTPLUS:
        *f = p[0] * x > p[1] ? x : ref_softplus1(p[0] * x) / p[0];
        *df = p[0] * x > p[1] ? 1.0 : ref_sigm(p[0] * x);
        *fmag = fabs(*f); *dfmag = *df;
        return 1;
    case VP_ACT_TANHSHRINK:
        t = tanh(x);
        *f = x - t; *df = t * t;
        *fmag = fabs(x) + fabs(t); *dfmag = t * t;
        return 1;
    case VP_ACT_EXPONENTIAL:
        *f = *df = exp(x);
        *fmag = *dfmag = *f;
        return 1;
    case VP_ACT_GLU: case VP_ACT_SOFTMAX: case VP_ACT_LOG_SOFTMAX: case VP_ACT_SOFTMIN:
    case VP_ACT_STANDARDIZE: case VP_ACT_SPARSEMAX: case VP_ACT_COUNT:
        return 0;
    }
    return 0;
}

Test(act_reference, matches_the_libm_formulas)
{
    /* phi and phi' now come from vmath.h (vm_exp <= 1 ulp, vm_expm1 <= 2, vm_log1p
     * <= 1, vm_tanh <= 2.5, vm_erfc <= 3; tests/test_vmath.c), the references from
     * glibc (exp/expm1/log1p < 1 ulp, tanh <= 2.2 and erfc <= 4.3 ulp measured on
     * the same grids). Both evaluate the same arguments with the same operations
     * around the transcendental calls, so they differ by at most the two
     * functions' errors, times 2 where a result enters 1 - t^2 (tanh rows), plus
     * a few differently rounded operations: (2.5 + 2.2) ulp * 2 = 9.4 ulp
     * = 18.8 u (u = 2^-53, 1 ulp <= 2u) plus 4 u of roundings, below K = 24 u of
     * the terms' magnitude (erfc rows: (3 + 4.3) * 2 u + 4 u = 18.6 u). Results
     * near the subnormal range get an absolute floor of a few units of 2^-1074,
     * scaled by |x| (gelu multiplies a subnormal erfc by x/2). A wrong constant
     * or formula is off by >= 1e-6 relative, 10^9 times more. Piecewise-linear
     * rows (mag = 0) must agree exactly: their formulas only moved from ?: to
     * vm_select. */
    const double K = 24.0;
    static double xs[12000], pts[12004];
    size_t n = 0;
    for (double x = -40.0; x <= 40.0; x += 0.00731) xs[n++] = x;
    const double extra[] = { 0.0, -0.0, 1e-300, -1e-300, 1e-10, -1e-10, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, 20.0,
                             -20.0, 100.0, -100.0, 700.0, -700.0 };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) xs[n++] = extra[i];
    vp_act acts[64];
    int na = test_acts(acts, 64);
    for (int i = 0; i < na; i++) {
        const vp_act *a = &acts[i];
        char lbl[128];
        vp_act_label(a, lbl, sizeof lbl);
        size_t m = with_kinks(a, xs, n, pts);
        double worst = 0, wx = 0;
        int bad = 0;
        for (size_t j = 0; j < m; j++) {
            double x = pts[j];
            double f = 0, fmag = 0, g = 0, gmag = 0;
            cr_assert(ref_eval(a, x, &f, &fmag, &g, &gmag), "%s has a reference", lbl);
            double got_f = vp_act_f(a, x), got_g = vp_act_df(a, x);
            double floor_ = 4.0 * (1.0 + fabs(x)) * DBL_TRUE_MIN;
            double ef = fabs(got_f - f), eg = fabs(got_g - g);
            int ok_f = fmag == 0 ? (got_f == f || (isnan(got_f) && isnan(f))) : ef <= K * 0x1p-53 * fmag + floor_;
            int ok_g = gmag == 0 ? (got_g == g || (isnan(got_g) && isnan(g))) : eg <= K * 0x1p-53 * gmag + floor_;
            if (fmag > 0 && ef / fmag > worst) { worst = ef / fmag; wx = x; }
            if (gmag > 0 && eg / gmag > worst) { worst = eg / gmag; wx = x; }
            if ((!ok_f || !ok_g) && bad++ < 3)
                cr_expect_fail("%s at x = %.17g: phi %.17g vs libm %.17g, phi' %.17g vs libm %.17g", lbl, x, got_f,
                               f, got_g, g);
        }
        cr_expect_eq(bad, 0, "%s: %d points off the libm formulas (worst %.2f u of the terms at x = %g)", lbl, bad,
                     worst / 0x1p-53, wx);
    }
}

Test(act_kernels, finite_for_large_inputs)
{
    /* Numerically stable forms: no NaN/Inf for |x| <= 700 except exponential
     * (e^700 ~ 1e304 is still finite). sigmoid/silu/log_sigmoid/softplus/mish
     * written naively overflow exp(-x) at x = -710 -> here |x| = 700 must be exact. */
    const double xs[] = { -700, -100, -40, 40, 100, 700 };
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        if (vp_act_rowwise(vp_act_get((vp_act_kind)k))) continue; /* see act_rowwise below */
        vp_act a = vp_act_default((vp_act_kind)k);
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            double f = vp_act_f(&a, xs[i]), g = vp_act_df(&a, xs[i]);
            cr_expect(isfinite(f) && isfinite(g), "%s(%g): f = %g, df = %g", vp_act_get(a.kind)->name, xs[i], f, g);
        }
    }
    vp_act s = vp_act_default(VP_ACT_SIGMOID), ls = vp_act_default(VP_ACT_LOG_SIGMOID);
    cr_expect_eq(vp_act_f(&s, 800.0), 1.0);
    cr_expect_eq(vp_act_f(&s, -800.0), 0.0);
    cr_expect_eq(vp_act_f(&ls, -800.0), -800.0, "log_sigmoid(-800) = -800 (no log(0))");
    cr_expect_eq(vp_act_df(&ls, -800.0), 1.0);
}

Test(act_conventions, pytorch_derivatives_at_kinks)
{
    /* PyTorch autograd conventions (aten/src/ATen/native activation backward):
     * relu: threshold_backward(x <= 0 -> 0); hardtanh/relu6: gradient only strictly
     * inside (min, max); hardswish_backward: x < -3 -> 0, x <= 3 -> x/3 + 1/2, so
     * 1.5 at 3 and -0.5 at -3; hardsigmoid: 1/6 strictly inside (-3, 3);
     * leaky_relu: x > 0 ? 1 : slope; elu: x <= 0 -> alpha e^x; softshrink/
     * hardshrink: 0 on the closed [-l, l]; threshold: 0 at x = threshold;
     * softplus: linear only when beta x > threshold (strict). */
    struct { vp_act_kind k; double x, want; } c[] = {
        { VP_ACT_RELU, 0.0, 0.0 }, { VP_ACT_RELU, -0.0, 0.0 }, { VP_ACT_RELU6, 0.0, 0.0 },
        { VP_ACT_RELU6, 6.0, 0.0 }, { VP_ACT_RELU6, 5.999, 1.0 }, { VP_ACT_HARD_TANH, 1.0, 0.0 },
        { VP_ACT_HARD_TANH, -1.0, 0.0 }, { VP_ACT_HARD_TANH, 0.999, 1.0 }, { VP_ACT_HARD_SWISH, 3.0, 1.5 },
        { VP_ACT_HARD_SWISH, -3.0, -0.5 }, { VP_ACT_HARD_SWISH, -3.001, 0.0 }, { VP_ACT_HARD_SWISH, 3.001, 1.0 },
        { VP_ACT_HARD_SIGMOID, 3.0, 0.0 }, { VP_ACT_HARD_SIGMOID, -3.0, 0.0 },
        { VP_ACT_HARD_SIGMOID, 0.0, 1.0 / 6.0 }, { VP_ACT_LEAKY_RELU, 0.0, 0.01 }, { VP_ACT_PRELU, 0.0, 0.25 },
        { VP_ACT_ELU, 0.0, 1.0 }, { VP_ACT_SELU, 0.0, SELU_SCALE_REF * SELU_ALPHA_REF },
        { VP_ACT_SOFTSHRINK, 0.5, 0.0 }, { VP_ACT_SOFTSHRINK, -0.5, 0.0 }, { VP_ACT_HARDSHRINK, 0.5, 0.0 },
        { VP_ACT_HARDSHRINK, -0.5, 0.0 }, { VP_ACT_THRESHOLD, 0.0, 0.0 }, { VP_ACT_RRELU, 0.0, (0.125 + 1.0 / 3.0) / 2 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_act a = vp_act_default(c[i].k);
        cr_expect_float_eq(vp_act_df(&a, c[i].x), c[i].want, 1e-15, "%s'(%g) = %.17g, PyTorch gives %.17g",
                           vp_act_get(c[i].k)->name, c[i].x, vp_act_df(&a, c[i].x), c[i].want);
    }
    /* Values at the kinks (continuity conventions). */
    vp_act hs = vp_act_default(VP_ACT_HARD_SWISH), sp = vp_act_default(VP_ACT_SOFTPLUS);
    cr_expect_eq(vp_act_f(&hs, 3.0), 3.0);
    cr_expect_eq(vp_act_f(&hs, -3.0), 0.0);
    /* Softplus(beta=1, threshold=20): at exactly 20 the log form is used
     * (log1p(e^20) = 20 + 2.06e-9), above it the identity. */
    cr_expect_float_eq(vp_act_f(&sp, 20.0), 20.0 + log1p(exp(-20.0)), 1e-13);
    cr_expect_neq(vp_act_f(&sp, 20.0), 20.0);
    cr_expect_eq(vp_act_f(&sp, 20.5), 20.5);
    cr_expect_eq(vp_act_df(&sp, 20.5), 1.0);
    cr_expect_float_eq(vp_act_df(&sp, 20.0), 1.0 / (1.0 + exp(-20.0)), 1e-16);
    /* beta = 2: threshold applies to beta*x: x = 10.5 linear, x = 9 uses log form. */
    sp.p[0] = 2.0;
    cr_expect_eq(vp_act_f(&sp, 10.5), 10.5);
    cr_expect_float_eq(vp_act_f(&sp, 9.0), log1p(exp(18.0)) / 2.0, 1e-13);
    cr_expect_float_eq(vp_act_f(&sp, -1.0), log1p(exp(-2.0)) / 2.0, 1e-16);
}

Test(act_conventions, torch_gain_values)
{
    /* torch.nn.init.calculate_gain: linear/identity 1, sigmoid 1, tanh 5/3, relu
     * sqrt 2, leaky_relu sqrt(2/(1+s^2)) with s the activation's slope, selu 3/4;
     * ValueError (NULL here) for everything else. */
    struct { vp_act_kind k; double g; } has[] = {
        { VP_ACT_IDENTITY, 1.0 }, { VP_ACT_SIGMOID, 1.0 }, { VP_ACT_TANH, 5.0 / 3.0 },
        { VP_ACT_RELU, 1.4142135623730951 }, { VP_ACT_LEAKY_RELU, 1.4141428569978354 }, { VP_ACT_SELU, 0.75 },
    };
    int with_gain[VP_ACT_COUNT] = { 0 };
    for (size_t i = 0; i < sizeof has / sizeof has[0]; i++) {
        const vp_act_info *info = vp_act_get(has[i].k);
        vp_act a = vp_act_default(has[i].k);
        cr_assert_not_null(info->torch_gain, "%s has a PyTorch gain", info->name);
        cr_expect_float_eq(info->torch_gain(a.p), has[i].g, 1e-15, "%s gain %.17g", info->name, info->torch_gain(a.p));
        with_gain[has[i].k] = 1;
    }
    /* leaky_relu gain follows the slope parameter: s = 0.2 -> sqrt(2/1.04). */
    vp_act lr = vp_act_default(VP_ACT_LEAKY_RELU);
    lr.p[0] = 0.2;
    cr_expect_float_eq(vp_act_get(VP_ACT_LEAKY_RELU)->torch_gain(lr.p), sqrt(2.0 / 1.04), 1e-15);
    for (int k = 0; k < VP_ACT_COUNT; k++)
        if (!with_gain[k])
            cr_expect_null(vp_act_get((vp_act_kind)k)->torch_gain, "%s: PyTorch calculate_gain raises for it",
                           vp_act_get((vp_act_kind)k)->name);
}

Test(act_values, reference_values)
{
    /* Values computed independently (mpmath, 30 digits, rounded to double). */
    struct { vp_act_kind k; double x, want; } c[] = {
        { VP_ACT_GELU, 1.0, 0.8413447460685429 },      /* Phi(1) */
        { VP_ACT_GELU, -1.0, -0.15865525393145707 },   /* -Phi(-1) */
        { VP_ACT_GELU_TANH, 1.0, 0.8411919906082768 },
        { VP_ACT_MISH, 1.0, 0.8650983882673103 },
        { VP_ACT_SILU, 1.0, 0.7310585786300049 },      /* sigma(1) */
        { VP_ACT_SOFTPLUS, 0.0, 0.6931471805599453 },  /* log 2 */
        { VP_ACT_SOFTSIGN, 3.0, 0.75 },
        { VP_ACT_SELU, 1.0, 1.0507009873554805 },
        { VP_ACT_SELU, -1.0, -1.1113307378125628 },    /* scale*alpha*(e^-1 - 1) */
        { VP_ACT_CELU, -1.0, -0.6321205588285577 },
        { VP_ACT_ELU, -2.0, -0.8646647167633873 },
        { VP_ACT_LOG_SIGMOID, 0.0, -0.6931471805599453 },
        { VP_ACT_HARD_SIGMOID, 1.5, 0.75 },
        { VP_ACT_HARD_SWISH, 1.0, 2.0 / 3.0 },
        { VP_ACT_TANHSHRINK, 1.0, 0.2384058440442351 },
        { VP_ACT_SQUAREPLUS, 0.0, 1.0 },               /* (0 + sqrt 4)/2 */
        { VP_ACT_SPARSE_PLUS, 0.0, 0.25 },
        { VP_ACT_SPARSE_SIGMOID, 0.5, 0.75 },
        { VP_ACT_SOFTSHRINK, 0.7, 0.2 },
        { VP_ACT_HARDSHRINK, 0.7, 0.7 },
        { VP_ACT_HARDSHRINK, 0.3, 0.0 },
        { VP_ACT_RELU6, 7.5, 6.0 },
        { VP_ACT_LEAKY_RELU, -2.0, -0.02 },
        { VP_ACT_EXPONENTIAL, 1.0, 2.718281828459045 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vp_act a = vp_act_default(c[i].k);
        double got = vp_act_f(&a, c[i].x);
        /* 4 ulp of slack for libm differences (erfc, tanh, log1p are < 1 ulp). */
        cr_expect_leq(fabs(got - c[i].want), 4 * DBL_EPSILON * fabs(c[i].want) + 1e-300, "%s(%g) = %.17g, want %.17g",
                      vp_act_get(c[i].k)->name, c[i].x, got, c[i].want);
    }
    /* SELU constants to the last double digit: f(x) -> -scale*alpha as x -> -inf,
     * f'(x) = scale for x > 0. */
    vp_act selu = vp_act_default(VP_ACT_SELU);
    cr_expect_float_eq(vp_act_f(&selu, -60.0), -SELU_SCALE_REF * SELU_ALPHA_REF, 1e-15);
    cr_expect_eq(vp_act_df(&selu, 2.0), SELU_SCALE_REF);
    cr_expect_eq(vp_act_f(&selu, 1.0), SELU_SCALE_REF);
}

Test(act_values, bounded_rows_dpeak)
{
    /* dpeak (used for saturated_frac = |phi'| < 5% of the peak) must be the max of
     * |phi'|: the grid below contains every maximiser (0 for sigmoid, tanh, softsign;
     * the flat interiors for the piecewise-linear rows). Bounded rows also stay
     * bounded: |phi(+-1e6)| <= 6 (relu6 is the largest). */
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *info = vp_act_get((vp_act_kind)k);
        if (!info->bounded) continue;
        vp_act a = vp_act_default((vp_act_kind)k);
        double mx = 0;
        for (int i = -20000; i <= 20000; i++) mx = fmax(mx, fabs(vp_act_df(&a, i * 5e-4)));
        cr_expect_float_eq(mx, info->dpeak, 1e-12, "%s: max |phi'| = %.15g, dpeak = %.15g", info->name, mx,
                           info->dpeak);
        cr_expect_leq(fabs(vp_act_f(&a, 1e6)), 6.0, "%s", info->name);
        cr_expect_leq(fabs(vp_act_f(&a, -1e6)), 6.0, "%s", info->name);
    }
}

Test(act_values, labels)
{
    char buf[128];
    vp_act a = vp_act_default(VP_ACT_LEAKY_RELU);
    vp_act_label(&a, buf, sizeof buf);
    cr_expect_str_eq(buf, "leaky_relu");
    a.p[0] = 0.2;
    vp_act_label(&a, buf, sizeof buf);
    cr_expect_str_eq(buf, "leaky_relu(negative_slope=0.2)");
    vp_act ht = vp_act_default(VP_ACT_HARD_TANH);
    ht.p[0] = -2;
    vp_act_label(&ht, buf, sizeof buf);
    cr_expect_str_eq(buf, "hard_tanh(min_val=-2)", "only non-default parameters: %s", buf);
    ht.p[1] = 3;
    vp_act_label(&ht, buf, sizeof buf);
    cr_expect_str_eq(buf, "hard_tanh(min_val=-2,max_val=3)");
    vp_act g = vp_act_default(VP_ACT_GELU);
    vp_act_label(&g, buf, sizeof buf);
    cr_expect_str_eq(buf, "gelu");
    /* Truncation never overruns. */
    char small[6];
    vp_act_label(&ht, small, sizeof small);
    cr_expect_eq(strlen(small), 5);
}

/* ---- row-wise activations (softmax family, GLU) ---- */

/* L(z) = sum_i gh_i F(z)_i for one row. */
static double row_loss(const vp_act *a, const double *z, const double *gh, size_t n, double *h)
{
    vp_act_get(a->kind)->row_fwd(z, h, n, a->p);
    double L = 0;
    for (size_t i = 0; i < n; i++) L += gh[i] * h[i];
    return L;
}

/* The backward of every row-wise activation is the gradient of L(z) = <gh, F(z)>:
 * central differences with step 1e-6 have truncation error O(step^2) times the third
 * derivative (~1e-12) and rounding error ~ eps |L| / step ~ 1e-10 for |L| ~ 1, so 1e-7
 * absolute is > 100x the expected error, while a wrong term (a missing -h h^T, a
 * dropped 1/n, the wrong half of GLU) is O(0.1). Inputs avoid sparsemax's kinks. */
Test(act_rowwise, backward_is_the_gradient_of_the_forward)
{
    enum { N = 7 };
    double z[2 * N], zp[2 * N], gh[N], gz[2 * N], h[2 * N], hp[2 * N];
    for (int k = 0; k < VP_ACT_COUNT; k++) {
        const vp_act_info *info = vp_act_get((vp_act_kind)k);
        if (!vp_act_rowwise(info)) continue;
        vp_act a = vp_act_default((vp_act_kind)k);
        size_t zw = (size_t)vp_act_zwidth(info, N);
        for (int trial = 0; trial < 3; trial++) {
            for (size_t i = 0; i < zw; i++) z[i] = 1.7 * sin(1.3 * (double)i + 0.7 * trial) + 0.1 * (double)i;
            for (size_t i = 0; i < N; i++) gh[i] = cos(0.9 * (double)i + trial);
            info->row_fwd(z, h, N, a.p);
            info->row_bwd(z, h, gh, gz, N, a.p);
            for (size_t i = 0; i < zw; i++) {
                const double step = 1e-6;
                memcpy(zp, z, zw * sizeof *z);
                zp[i] = z[i] + step;
                double up = row_loss(&a, zp, gh, N, hp);
                zp[i] = z[i] - step;
                double down = row_loss(&a, zp, gh, N, hp);
                double fd = (up - down) / (2 * step);
                cr_expect(fabs(fd - gz[i]) < 1e-7, "%s trial %d: dL/dz_%zu = %.12g, finite difference %.12g",
                          info->name, trial, i, gz[i], fd);
            }
        }
    }
}

/* What each row-wise forward is, on values worked out by hand. */
Test(act_rowwise, known_values)
{
    double z[4] = { 1.0, 2.0, 3.0, 0.5 }, h[4];
    vp_act sm = vp_act_default(VP_ACT_SOFTMAX), lsm = vp_act_default(VP_ACT_LOG_SOFTMAX);
    vp_act smin = vp_act_default(VP_ACT_SOFTMIN), glu = vp_act_default(VP_ACT_GLU);
    vp_act st = vp_act_default(VP_ACT_STANDARDIZE), sp = vp_act_default(VP_ACT_SPARSEMAX);
    double e = exp(1.0) + exp(2.0) + exp(3.0);
    vp_act_get(sm.kind)->row_fwd(z, h, 3, sm.p);
    cr_expect_float_eq(h[2], exp(3.0) / e, 1e-15);
    cr_expect_float_eq(h[0] + h[1] + h[2], 1.0, 1e-15);
    vp_act_get(lsm.kind)->row_fwd(z, h, 3, lsm.p);
    cr_expect_float_eq(h[0], 1.0 - log(e), 1e-14);
    vp_act_get(smin.kind)->row_fwd(z, h, 3, smin.p);
    cr_expect_float_eq(h[0], exp(-1.0) / (exp(-1.0) + exp(-2.0) + exp(-3.0)), 1e-15);
    vp_act_get(glu.kind)->row_fwd(z, h, 2, glu.p); /* a = (1, 2), b = (3, 0.5) */
    cr_expect_float_eq(h[0], 1.0 / (1.0 + exp(-3.0)), 1e-15);
    cr_expect_float_eq(h[1], 2.0 / (1.0 + exp(-0.5)), 1e-15);
    vp_act_get(st.kind)->row_fwd(z, h, 3, st.p); /* mean 2, population variance 2/3 */
    cr_expect_float_eq(h[2], 1.0 / sqrt(2.0 / 3.0 + 1e-5), 1e-13);
    double zs[3] = { 0.1, 1.2, 0.4 };
    vp_act_get(sp.kind)->row_fwd(zs, h, 3, sp.p); /* support {1.2, 0.4}: tau = (1.6 - 1)/2 = 0.3 */
    cr_expect_float_eq(h[0] + h[1] + h[2], 1.0, 1e-15);
    cr_expect_float_eq(h[0], 0.0, 0.0);
    cr_expect_float_eq(h[1], 0.9, 1e-15);
    cr_expect_float_eq(h[2], 0.1, 1e-15);
    double zt[2] = { 3.0, 0.0 };
    vp_act_get(sp.kind)->row_fwd(zt, h, 2, sp.p); /* far apart: one-hot */
    cr_expect_float_eq(h[0], 1.0, 0.0);
    cr_expect_float_eq(h[1], 0.0, 0.0);
}
