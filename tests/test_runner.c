/* Runner: runs that share their parameters (same shape, precision, initializers and
 * seed) draw them once per worker and group, and sharing never changes a result:
 * every number of a shared run equals the number of the same run made on its own. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "harness.h"
#include "experiment/runner.h"
#include "results/summary.h"
#include "results/table.h"

/* Run a config in-process into a fresh folder; returns the result, dir gets the path. */
static vp_runner_result run_config_opt(const char *json, int threads, int no_share, char *dir, size_t len)
{
    vt_mktmp(dir, len, "/tmp/varprop-runner-");
    vp_experiment *e;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(json, strlen(json), "t", &co, &e, &err), VP_OK, "%s", err.msg);
    vp_runner_opts o = { dir, threads, 0, 0, NULL, NULL, NULL, no_share, NULL, NULL, NULL };
    vp_runner_result res;
    cr_assert_eq(vp_runner_run(e, &o, &res, &err), VP_OK, "%s", err.msg);
    vp_experiment_free(e);
    return res;
}

static vp_runner_result run_config(const char *json, int threads, char *dir, size_t len)
{
    return run_config_opt(json, threads, 0, dir, len);
}

static char *layers_csv(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/layers.csv", dir);
    return vt_slurp_must(path, NULL);
}

#define SWEEP3 "{\"name\":\"t\",\"seeds\":2,\"theory\":false,\"network\":{\"depth\":6,\"width\":48," \
               "\"init\":\"orthogonal\",\"bias\":{\"name\":\"normal\",\"std\":0.1}},\"input\":{\"batch\":40}," \
               "\"sweep\":{\"network.activation\":[\"tanh\",\"relu\",\"selu\"]}}"

Test(runner, runs_differing_only_in_activation_share_one_draw)
{
    char d1[256], d2[256];
    vp_runner_result r1 = run_config(SWEEP3, 1, d1, sizeof d1);
    cr_expect_eq(r1.done, 6);
    cr_expect_eq(r1.draws, 2, "one worker: one draw per seed, got %d", r1.draws);
    vp_runner_result r2 = run_config(SWEEP3, 2, d2, sizeof d2);
    cr_expect_eq(r2.done, 6);
    /* each worker draws a group at most once: 2 groups x 2 workers */
    cr_expect(r2.draws >= 2 && r2.draws <= 4, "two workers: %d draws", r2.draws);
    char *a = layers_csv(d1), *b = layers_csv(d2);
    cr_expect_str_eq(a, b, "layers.csv differs between 1 and 2 threads");
    free(a);
    free(b);
    vt_rmtree(d1);
    vt_rmtree(d2);
}

/* A shared draw is the draw the run makes alone: every measured column of the
 * sweep's selu rows equals the one-variant experiment's, exactly. */
Test(runner, shared_parameters_give_the_numbers_of_a_run_made_alone)
{
    static const char *cols[] = { "pre_var", "post_var", "grad_pre_var", "grad_post_var", "wgrad_var" };
    char d1[256], d2[256], path[400];
    run_config(SWEEP3, 1, d1, sizeof d1);
    const char *alone = "{\"name\":\"t\",\"seeds\":2,\"theory\":false,\"network\":{\"depth\":6,\"width\":48,"
                        "\"activation\":\"selu\",\"init\":\"orthogonal\",\"bias\":{\"name\":\"normal\",\"std\":0.1}},"
                        "\"input\":{\"batch\":40}}";
    vp_runner_result r = run_config(alone, 1, d2, sizeof d2);
    cr_expect_eq(r.draws, 2);
    vp_table *ts, *ta;
    vp_err err;
    snprintf(path, sizeof path, "%s/layers.csv", d1);
    cr_assert_eq(vp_table_load(path, &ts, &err), VP_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/layers.csv", d2);
    cr_assert_eq(vp_table_load(path, &ta, &err), VP_OK, "%s", err.msg);
    size_t nl = 6, nseeds = 2;
    cr_assert_eq(vp_table_nrows(ts), 3 * nseeds * nl);
    cr_assert_eq(vp_table_nrows(ta), nseeds * nl);
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
        size_t cs, ca;
        cr_assert_eq(vp_table_require(ts, cols[c], &cs, &err), VP_OK);
        cr_assert_eq(vp_table_require(ta, cols[c], &ca, &err), VP_OK);
        for (size_t i = 0; i < nseeds * nl; i++) {
            double vs, va; /* variant 2 (selu) of the sweep: rows 2 * nseeds * nl ... */
            cr_assert_eq(vp_table_num(ts, 2 * nseeds * nl + i, cs, &vs, &err), VP_OK);
            cr_assert_eq(vp_table_num(ta, i, ca, &va, &err), VP_OK);
            cr_expect(vs == va, "%s row %zu: shared %.17g vs alone %.17g", cols[c], i, vs, va);
        }
    }
    vp_table_free(ts);
    vp_table_free(ta);
    vt_rmtree(d1);
    vt_rmtree(d2);
}

/* No sharing where the parameters differ or depend on the activation: LSUV rescales W
 * with the activation's own forward pass, GLU has twice the z width, "auto" gains
 * differ between activations (linear and sigmoid both have gain 1 and do share). */
Test(runner, no_sharing_when_the_parameters_differ)
{
    char d[256];
    vp_runner_result r = run_config(
        "{\"name\":\"t\",\"seeds\":1,\"theory\":false,\"network\":{\"depth\":4,\"width\":32,"
        "\"init\":{\"name\":\"lsuv\"}},\"input\":{\"batch\":64},"
        "\"sweep\":{\"network.activation\":[\"tanh\",\"relu\"]}}", 1, d, sizeof d);
    cr_expect_eq(r.draws, 2, "lsuv: %d draws", r.draws);
    vt_rmtree(d);
    r = run_config("{\"name\":\"t\",\"seeds\":1,\"theory\":false,\"network\":{\"depth\":4,\"width\":32,"
                   "\"init\":\"xavier_normal\"},\"input\":{\"batch\":16},"
                   "\"sweep\":{\"network.activation\":[\"relu\",\"glu\"]}}", 1, d, sizeof d);
    cr_expect_eq(r.draws, 2, "glu: %d draws", r.draws);
    vt_rmtree(d);
    r = run_config("{\"name\":\"t\",\"seeds\":1,\"theory\":false,\"network\":{\"depth\":4,\"width\":32,"
                   "\"init\":{\"name\":\"xavier_normal\",\"gain\":\"auto\"}},\"input\":{\"batch\":16},"
                   "\"sweep\":{\"network.activation\":[\"linear\",\"tanh\",\"sigmoid\"]}}", 1, d, sizeof d);
    cr_expect_eq(r.draws, 2, "auto gains 1, 5/3, 1: %d draws", r.draws);
    vt_rmtree(d);
}

/* cfg run 4 ways -- k = 0..3: 1 + k % 2 workers, no_share = k / 2 -- into r[k]; the
 * layers.csv of every way must be the bytes of the first. */
static void sharing_on_off(const char *cfg, vp_runner_result r[4])
{
    char d[4][256];
    for (int k = 0; k < 4; k++) r[k] = run_config_opt(cfg, 1 + k % 2, k / 2, d[k], sizeof d[k]);
    char *ref = layers_csv(d[0]);
    for (int k = 1; k < 4; k++) {
        char *b = layers_csv(d[k]);
        cr_expect_str_eq(b, ref, "layers.csv differs (threads %d, no_share %d)", 1 + k % 2, k / 2);
        free(b);
    }
    free(ref);
    for (int k = 0; k < 4; k++) vt_rmtree(d[k]);
}

/* A sigma_w x sigma_b grid of mean_field with 2 seeds (the runs differ in the scale of
 * their normals: core/mlp keeps each layer's standard normals for the next run of the
 * same seed, vp_mlp_set_unit_cache), biases drawn too: the same bytes with and without
 * sharing (--no-share: every run draws its own normals), on 1 and 2 workers. */
Test(runner, sigma_grid_same_bytes_with_the_unit_cache)
{
    const char *cfg = "{\"name\":\"t\",\"seeds\":2,\"theory\":false,\"network\":{\"depth\":6,\"width\":24,"
                      "\"activation\":\"tanh\",\"init\":{\"name\":\"mean_field\",\"sigma_w\":1,\"sigma_b\":0}},"
                      "\"input\":{\"batch\":20},\"sweep\":{\"network.init.sigma_w\":[0.8,1.3,2.5],"
                      "\"network.init.sigma_b\":[0,0.4]}}";
    vp_runner_result r[4];
    sharing_on_off(cfg, r);
}

/* Sharing on or off, 1 or 2 workers: the same bytes, for a sweep mixing initializers,
 * activations, widths and seeds (groups of several sizes, singletons, steals at the tail). */
Test(runner, same_bytes_with_and_without_sharing)
{
    const char *cfg = "{\"name\":\"t\",\"seeds\":3,\"theory\":false,\"network\":{\"depth\":5,\"width\":40,"
                      "\"bias\":{\"name\":\"normal\",\"std\":0.05}},\"input\":{\"batch\":18},"
                      "\"sweep\":{\"network.init\":[\"he_normal\",\"orthogonal\",\"xavier_uniform\"],"
                      "\"network.activation\":[\"tanh\",\"relu\",\"gelu\",\"selu\"],\"network.width\":[40,24]}}";
    vp_runner_result r[4];
    sharing_on_off(cfg, r);
    cr_expect_eq(r[0].draws, 18, "1 worker, sharing: one draw per (init, width, seed), got %d", r[0].draws);
    cr_expect_eq(r[2].draws, 72, "no sharing: one draw per run, got %d", r[2].draws);
    cr_expect_eq(r[3].draws, 72);
}

/* The summary's theory columns are the theory's act_ratio and grad_ratio: per run the
 * quotients of layers.csv's theory_pre_var (layer L over layer 1) and theory_grad_pre_var
 * (layer 1 over layer L) -- runs.csv's theory_act_ratio and theory_grad_ratio, exactly --
 * the median over the seeds, printed to 4 significant digits. */
Test(runner, summary_theory_columns_are_the_ratios_of_layers_theory)
{
    const char *json = "{\"name\":\"t\",\"seeds\":3,\"network\":{\"depth\":8,\"width\":32,\"init\":\"xavier_normal\","
                       "\"bias\":{\"name\":\"normal\",\"std\":0.1}},\"input\":{\"batch\":16},"
                       "\"sweep\":{\"network.activation\":[\"tanh\",\"relu\"]}}";
    char dir[256], path[4200], *text = NULL;
    size_t tlen = 0;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-runner-");
    vp_experiment *e;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(json, strlen(json), "t", &co, &e, &err), VP_OK, "%s", err.msg);
    FILE *out = open_memstream(&text, &tlen);
    cr_assert(out);
    vp_runner_opts o = { dir, 2, 0, 0, NULL, out, NULL, 0, NULL, NULL, NULL };
    vp_runner_result res;
    cr_assert_eq(vp_runner_run(e, &o, &res, &err), VP_OK, "%s", err.msg);
    fclose(out);
    vp_experiment_free(e);
    cr_assert(strstr(text, "    theory "), "no theory column: %s", text);
    snprintf(path, sizeof path, "%s/layers.csv", dir);
    vp_table *t;
    cr_assert_eq(vp_table_load(path, &t, &err), VP_OK, "%s", err.msg);
    size_t cv, cs, cl, cp, cg;
    cr_assert_eq(vp_table_require(t, "variant", &cv, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "seed", &cs, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "layer", &cl, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "theory_pre_var", &cp, &err), VP_OK);
    cr_assert_eq(vp_table_require(t, "theory_grad_pre_var", &cg, &err), VP_OK);
    for (int v = 0; v < 2; v++) {
        double ta[3], tg[3], first[2] = { 0, 0 };
        int n = 0;
        for (size_t r = 0; r < vp_table_nrows(t); r++) {
            double var, lay, p, g;
            cr_assert_eq(vp_table_num(t, r, cv, &var, &err), VP_OK);
            cr_assert_eq(vp_table_num(t, r, cl, &lay, &err), VP_OK);
            cr_assert_eq(vp_table_num(t, r, cp, &p, &err), VP_OK);
            cr_assert_eq(vp_table_num(t, r, cg, &g, &err), VP_OK);
            if ((int)var != v) continue;
            if (lay == 1) { first[0] = p; first[1] = g; }
            if (lay == 8) { ta[n] = p / first[0]; tg[n] = first[1] / g; n++; } /* rows: seed by seed, layer 1..L */
        }
        cr_assert_eq(n, 3);
        /* runs.csv: the same quotients, each run's (rows in run order: variant, then seed) */
        snprintf(path, sizeof path, "%s/runs.csv", dir);
        vp_table *rt;
        size_t ra, rg;
        cr_assert_eq(vp_table_load(path, &rt, &err), VP_OK, "%s", err.msg);
        cr_assert_eq(vp_table_require(rt, "theory_act_ratio", &ra, &err), VP_OK);
        cr_assert_eq(vp_table_require(rt, "theory_grad_ratio", &rg, &err), VP_OK);
        for (int s = 0; s < 3; s++) {
            double x, y;
            cr_assert_eq(vp_table_num(rt, (size_t)(3 * v + s), ra, &x, &err), VP_OK);
            cr_assert_eq(vp_table_num(rt, (size_t)(3 * v + s), rg, &y, &err), VP_OK);
            cr_expect_eq(x, ta[s], "variant %d seed %d: runs.csv theory_act_ratio %.17g, layers.csv %.17g", v, s, x, ta[s]);
            cr_expect_eq(y, tg[s], "variant %d seed %d: runs.csv theory_grad_ratio %.17g, layers.csv %.17g", v, s, y, tg[s]);
        }
        vp_table_free(rt);
        double want[2] = { vp_median(ta, 3), vp_median(tg, 3) };
        /* the variant's summary row: var act init act_ratio theory verdict grad_ratio theory verdict */
        char key[16];
        snprintf(key, sizeof key, "\n%d ", v);
        const char *row = strstr(text, key);
        cr_assert(row, "no row for variant %d: %s", v, text);
        char act[32], init[64], va[32], vg[32];
        double ma, mta, mg, mtg;
        cr_assert_eq(sscanf(row, "%*d %31s %63s %lf %lf %31s %lf %lf %31s", act, init, &ma, &mta, va, &mg, &mtg, vg), 8,
                     "%s", row);
        cr_expect(fabs(mta / want[0] - 1) <= 5e-4, "variant %d: theory act ratio %g, layers.csv gives %g", v, mta, want[0]);
        cr_expect(fabs(mtg / want[1] - 1) <= 5e-4, "variant %d: theory grad ratio %g, layers.csv gives %g", v, mtg, want[1]);
    }
    vp_table_free(t);
    free(text);
}
