/* The chi_1 = 1 line of a phase diagram (issue 11, "Numbers that are silently wrong"):
 * critical_line.dat is written whichever of sigma_w and sigma_b is swept first. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/predict.h"
#include "harness.h"
#include "results/results.h"

static vp_experiment *parse(const char *text)
{
    vp_experiment *e = NULL;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(text, strlen(text), "c.json", &co, &e, &err), VP_OK, "%s", err.msg);
    return e;
}

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
    vp_predict_critical_line(e1, c1);
    vp_predict_critical_line(e2, c2);
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
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-predict-");
    vt_write_file(dir, "c.json", bw);
    char *out = NULL, *errs = NULL;
    cr_expect_eq(vt_run(dir, &out, &errs, "run %s/c.json -o %s/out --no-plot --quiet", dir, dir), 0, "%s", errs);
    char path[512];
    snprintf(path, sizeof path, "%s/out/%s", dir, VP_FILE_CRITICAL);
    cr_expect_gt(vt_count_lines(path), 50, "%s", path);
    free(out), free(errs);
    vt_rmtree(dir);
}

