/* End to end: the measured per-layer variances of `varprop run` agree with the
 * mean-field predictions written beside them (theory_pre_var, theory_grad_pre_var)
 * for several activations at large width.
 *
 * Statistics: each seed is an independent network and input batch, so the ratios
 * r_s = measured / predicted over S seeds are i.i.d.; their mean is compared with 1
 * using the standard error from the seeds themselves, SE = sd(r)/sqrt(S). With
 * S = 12 the studentized mean has a t distribution with 11 degrees of freedom:
 * P(|t| > 6) = 9e-5 per check, so over the 5 x 4 x 2 = 40 checks a correct
 * implementation fails with probability below 0.4% (and, the runs being
 * deterministic, a passing configuration always passes). Mean-field theory is exact
 * only at infinite width: the finite-width bias of E[r] is O(L/n) (Hanin & Nica),
 * allowed for by a term 4L/n = 3% on top of 6 SE. A wrong factor the tests must
 * catch -- a missing n_l/n_{l-1}, sigma_b^2 left out, the wrong q0 -- moves r by
 * 10% or more, far outside that band. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "experiment/config.h"
#include "harness.h"
#include "experiment/runner.h"
#include "results/table.h"

#define S 12
#define L 4
#define N 512
#define NACT 5

static const char CONFIG[] =
    "{\"name\":\"e2e\",\"seeds\":12,\"network\":{\"widths\":[256,512,512,512,512],"
    "\"init\":{\"name\":\"mean_field\",\"sigma_w\":1.3,\"sigma_b\":0.3}},"
    "\"input\":{\"batch\":96},"
    "\"sweep\":{\"network.activation\":[\"relu\",\"tanh\",\"gelu\",\"selu\",\"sigmoid\"]}}";

Test(theory_e2e, measured_variances_match_the_mean_field_predictions, .timeout = 600)
{
    char dir[256], path[400];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-e2e-");
    vp_experiment *e;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(CONFIG, strlen(CONFIG), "e2e", &co, &e, &err), VP_OK, "%s", err.msg);
    vp_runner_opts o = { dir, 2, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL };
    vp_runner_result res;
    cr_assert_eq(vp_runner_run(e, &o, &res, &err), VP_OK, "%s", err.msg);
    vp_experiment_free(e);

    snprintf(path, sizeof path, "%s/layers.csv", dir);
    vp_table *t;
    cr_assert_eq(vp_table_load(path, &t, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_table_nrows(t), (size_t)NACT * S * L);
    size_t cv, cl, cm[2], cp[2];
    cr_assert_eq(vp_table_require(t, "variant", &cv, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "layer", &cl, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "pre_var", &cm[0], &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "theory_pre_var", &cp[0], &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "grad_pre_var", &cm[1], &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "theory_grad_pre_var", &cp[1], &err), VP_OK);

    double sum[NACT][L][2] = { { { 0 } } }, sq[NACT][L][2] = { { { 0 } } };
    for (size_t r = 0; r < vp_table_nrows(t); r++) {
        double v, l;
        cr_assert_eq(vp_table_num(t, r, cv, &v, &err), VP_OK);
        cr_assert_eq(vp_table_num(t, r, cl, &l, &err), VP_OK);
        for (int q = 0; q < 2; q++) {
            double m, p;
            cr_assert_eq(vp_table_num(t, r, cm[q], &m, &err), VP_OK);
            cr_assert_eq(vp_table_num(t, r, cp[q], &p, &err), VP_OK);
            cr_assert(isfinite(p) && p > 0, "row %zu: no prediction", r);
            double ratio = m / p;
            sum[(int)v][(int)l - 1][q] += ratio;
            sq[(int)v][(int)l - 1][q] += ratio * ratio;
        }
    }
    vp_table_free(t);
    const char *acts[NACT] = { "relu", "tanh", "gelu", "selu", "sigmoid" };
    const char *what[2] = { "Var[z]", "Var[dL/dz]" };
    for (int a = 0; a < NACT; a++)
        for (int l = 0; l < L; l++)
            for (int q = 0; q < 2; q++) {
                double mean = sum[a][l][q] / S;
                double sd = sqrt(fmax(0.0, (sq[a][l][q] - S * mean * mean) / (S - 1)));
                double tol = 6.0 * sd / sqrt((double)S) + 4.0 * L / N;
                cr_expect(fabs(mean - 1.0) <= tol, "%s layer %d %s: measured/theory = %.4f +- %.4f (tolerance %.4f)",
                          acts[a], l + 1, what[q], mean, sd / sqrt((double)S), tol);
            }
    vt_rmtree(dir);
}
