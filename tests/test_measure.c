/* Issue 12, "Controls and measurements": input.std, input.correlation, pre_corr and
 * theory_pre_corr, xi_c and theory_xi_grad, measure.lengths (lengths.csv). Moments are
 * checked against tolerances of 5 standard deviations of their sampling distribution. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/run.h"

static vp_experiment *parse_ok(const char *json)
{
    vp_config_opts o = { 0 };
    vp_experiment *e = NULL;
    vp_err err;
    cr_assert_eq(vp_config_parse(json, strlen(json), "cfg.json", &o, &e, &err), VP_OK, "%s", err.msg);
    return e;
}

static void refused(const char *json, const char *path, const char *words)
{
    vp_config_opts o = { 0 };
    vp_experiment *e = NULL;
    vp_err err;
    cr_assert_eq(vp_config_parse(json, strlen(json), "cfg.json", &o, &e, &err), VP_ERR_CONFIG, "accepted: %s", json);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, words), "message: %s", err.msg);
}

/* Mean square of the batch, and the plain mean pairwise correlation
 * sum_{a != b} <x_a, x_b> / ((B - 1) sum_b ||x_b||^2), pair by pair. */
static void moments(const double *x, int B, int n, double *q, double *c)
{
    double ss = 0, cross = 0;
    for (int a = 0; a < B; a++)
        for (int b = 0; b < B; b++) {
            double d = 0;
            for (int i = 0; i < n; i++) d += x[(size_t)a * n + i] * x[(size_t)b * n + i];
            if (a == b) ss += d;
            else cross += d;
        }
    *q = ss / ((double)B * n);
    *c = cross / ((double)(B - 1) * ss);
}

static double *input_of(const vp_experiment *e, uint64_t seed)
{
    const vp_variant *v = &e->variants[0];
    double *x = malloc((size_t)v->batch * (size_t)v->widths[0] * sizeof *x);
    cr_assert(x);
    vp_make_input(NULL, v, seed, x);
    return x;
}

Test(measure, input_std_scales_every_synthetic_distribution)
{
    /* n = B n0 = 32000 i.i.d. entries of variance s^2 = 9: the mean square has sd
     * s^2 sqrt((kurtosis - 1) / n), kurtosis 3 (normal) or 9/5 (uniform). */
    const char *dist[] = { "normal", "uniform" };
    const double kurt[] = { 3.0, 1.8 };
    for (int k = 0; k < 2; k++) {
        char json[512];
        snprintf(json, sizeof json, "{\"name\":\"s\",\"network\":{\"depth\":2,\"width\":500},"
                 "\"input\":{\"distribution\":\"%s\",\"batch\":64,\"std\":3}}", dist[k]);
        vp_experiment *e = parse_ok(json);
        cr_assert_eq(e->variants[0].in_std, 3.0);
        double *x = input_of(e, 7), q, c;
        moments(x, 64, 500, &q, &c);
        double sd = 9.0 * sqrt((kurt[k] - 1) / 32000.0);
        cr_assert(fabs(q - 9.0) < 5 * sd, "%s: mean square %g, want 9 +- %g", dist[k], q, 5 * sd);
        /* independent examples: correlation 0 +- 5/sqrt(n0 B(B-1)/2) */
        cr_assert(fabs(c) < 5 / sqrt(500.0 * 64 * 63 / 2), "%s: correlation %g", dist[k], c);
        free(x);
        vp_experiment_free(e);
    }
}

Test(measure, input_std_default_is_one_and_bad_values_are_refused)
{
    vp_experiment *e = parse_ok("{\"name\":\"s\"}");
    cr_assert_eq(e->variants[0].in_std, 1.0);
    cr_assert_eq(e->variants[0].has_corr, 0);
    vp_experiment_free(e);
    refused("{\"name\":\"s\",\"input\":{\"std\":0}}", "input.std", "> 0");
    refused("{\"name\":\"s\",\"input\":{\"std\":-1}}", "input.std", "");
    refused("{\"name\":\"s\",\"input\":{\"std\":\"1\"}}", "input.std", "number");
    refused("{\"name\":\"s\",\"input\":{\"correlation\":1}}", "input.correlation", "between -1 and 1");
    refused("{\"name\":\"s\",\"input\":{\"correlation\":-1}}", "input.correlation", "");
    /* a batch of 8 exchangeable vectors: c0 >= -1/7 */
    refused("{\"name\":\"s\",\"input\":{\"batch\":8,\"correlation\":-0.2}}", "input.correlation", "-1/(batch-1) = -0.1428571429");
}

/* Ratio estimator r = g^2 S / (g^2 S + a^2 E) + cross terms, S = ||s||^2 / n0,
 * E = mean ||e_b||^2 / n0: sd^2 ~ (c(1-c))^2 2/n0 + 4 c(1-c)/(n0 B) + (1-c)^2 2/(n0 B(B-1)). */
static double corr_sd(double c, int B, int n0)
{
    return sqrt(pow(c * (1 - c), 2) * 2.0 / n0 + 4 * c * (1 - c) / ((double)n0 * B) +
                pow(1 - c, 2) * 2.0 / ((double)n0 * B * (B - 1)));
}

Test(measure, input_correlation_positive_has_that_correlation_and_variance)
{
    const double cs[] = { 0.2, 0.5, 0.9 };
    for (int k = 0; k < 3; k++) {
        char json[512];
        snprintf(json, sizeof json, "{\"name\":\"c\",\"network\":{\"depth\":2,\"width\":4000},"
                 "\"input\":{\"batch\":16,\"std\":2,\"correlation\":%g}}", cs[k]);
        vp_experiment *e = parse_ok(json);
        double *x = input_of(e, 3), q, c;
        moments(x, 16, 4000, &q, &c);
        /* q/std^2 = c S + (1-c) E: sd^2 = c^2 2/n0 + (1-c)^2 2/(n0 B) */
        double sdq = 4 * sqrt(cs[k] * cs[k] * 2.0 / 4000 + pow(1 - cs[k], 2) * 2.0 / (4000.0 * 16));
        cr_assert(fabs(q - 4) < 5 * sdq, "c0 %g: mean square %g, want 4 +- %g", cs[k], q, 5 * sdq);
        double sd = corr_sd(cs[k], 16, 4000);
        cr_assert(fabs(c - cs[k]) < 5 * sd, "c0 %g: correlation %g +- %g", cs[k], c, 5 * sd);
        free(x);
        vp_experiment_free(e);
    }
}

Test(measure, input_correlation_negative_down_to_the_bound)
{
    /* at c0 = -1/(B-1) the construction makes sum_b x_b = 0 exactly: correlation
     * -1/(B-1) up to rounding */
    vp_experiment *e = parse_ok("{\"name\":\"c\",\"network\":{\"depth\":2,\"width\":300},"
                                "\"input\":{\"batch\":8,\"correlation\":-0.14285714285714285}}");
    double *x = input_of(e, 5), q, c;
    moments(x, 8, 300, &q, &c);
    cr_assert(fabs(c + 1.0 / 7) < 1e-12, "correlation %.15g", c);
    for (int i = 0; i < 300; i++) {
        double s = 0;
        for (int b = 0; b < 8; b++) s += x[b * 300 + i];
        cr_assert(fabs(s) < 1e-12);
    }
    free(x);
    vp_experiment_free(e);
    e = parse_ok("{\"name\":\"c\",\"network\":{\"depth\":2,\"width\":4000},"
                 "\"input\":{\"batch\":16,\"correlation\":-0.05}}");
    x = input_of(e, 5);
    moments(x, 16, 4000, &q, &c);
    /* per entry and example the variance is 1; pairs as for independent data */
    cr_assert(fabs(q - 1) < 5 * sqrt(2.0 / (4000 * 16)) * 1.1, "mean square %g", q);
    cr_assert(fabs(c + 0.05) < 5 * sqrt(2.0 / (4000.0 * 16 * 15)) * 1.1, "correlation %g", c);
    free(x);
    vp_experiment_free(e);
}
