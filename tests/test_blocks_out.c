/* The outputs of a block network beyond its measurements (issue 15): layers.csv's
 * per-layer labels, shape and params columns and runs.csv's empty fixed-point theory cells (chi1, xi); the
 * report's Network table; the block-type markers of the by-layer charts and the
 * spp_residual chart, each checked against the CSV values they are drawn from; the
 * block columns of layers_train.csv; and a plain stack that gets none of them. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/runner.h"
#include "harness.h"
#include "present/charts.h"
#include "results/table.h"

/* Run cfg into dir/res; with plots, draw dir/plots. */
static void run_cfg(const char *dir, const char *cfg, int plots)
{
    char res[400], pl[400];
    snprintf(res, sizeof res, "%s/res", dir);
    vp_experiment *e;
    vp_err err;
    vp_config_opts co = { 0 };
    cr_assert_eq(vp_config_parse(cfg, strlen(cfg), "blocks", &co, &e, &err), VP_OK, "%s", err.msg);
    vp_runner_opts o = { res, 1, 0, 0, NULL, NULL, NULL, 0, NULL, NULL, NULL };
    vp_runner_result rr;
    cr_assert_eq(vp_runner_run(e, &o, &rr, &err), VP_OK, "%s", err.msg);
    vp_experiment_free(e);
    if (!plots) return;
    snprintf(pl, sizeof pl, "%s/plots", dir);
    cr_assert_eq(vp_charts_draw(res, pl, &err), VP_OK, "%s", err.msg);
}

static vp_table *load(const char *dir, const char *sub, const char *file)
{
    char p[500];
    vp_table *t;
    vp_err err;
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, file);
    cr_assert_eq(vp_table_load(p, &t, &err), VP_OK, "%s", err.msg);
    return t;
}

static const char *cell(const vp_table *t, size_t r, const char *col);

/* Residual stacks with and without a pre-norm (3 and 4 rows a block) and with a post-norm
 * after the add: in the by-layer charts every block's output lines up at its block
 * number (it sat at row 3k in one and 4k in the other); the layers of block k lie in
 * (k-1, k]; the x axis says so. A block list without residual blocks keeps its layer
 * numbers as x. */
Test(blocks_out, residual_blocks_line_up_across_variants, .timeout = 120)
{
    char dir[256], p[500];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blocks-");
    run_cfg(dir, "{\"name\":\"al\",\"seeds\":1,\"network\":{\"input_dim\":8,\"layers\":["
                 "{\"type\":\"repeat\",\"count\":3,\"layers\":[{\"type\":\"residual\",\"branch\":["
                 "{\"type\":\"dense\",\"width\":8},{\"type\":\"dense\",\"width\":8,\"activation\":\"linear\"}]}]}]},"
                 "\"input\":{\"batch\":8},\"sweep\":{\"network.layers[0].layers[0].norm\":[\"none\",\"pre\",\"post\"]}}",
            1);
    snprintf(p, sizeof p, "%s/plots/act_var_post.dat", dir);
    char *dat = vt_slurp_must(p, NULL);
    /* per variant the x of its rows, in order */
    static const double want[3][12] = { { 1 / 3., 2 / 3., 1, 4 / 3., 5 / 3., 2, 7 / 3., 8 / 3., 3 },
                                        { .25, .5, .75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3 },
                                        { .25, .5, .75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3 } };
    static const int rows[3] = { 9, 12, 12 };
    for (int v = 0; v < 3; v++) {
        char head[32];
        snprintf(head, sizeof head, "# index %d:", v);
        char *b = strstr(dat, head);
        cr_assert(b, "%s", dat);
        char *line = strchr(strstr(b, "# position"), '\n') + 1;
        for (int r = 0; r < rows[v]; r++) {
            double x = atof(line);
            cr_expect(fabs(x - want[v][r]) < 1e-8, "variant %d row %d at %g, want %g", v, r + 1, x, want[v][r]);
            line = strchr(line, '\n') + 1;
        }
    }
    free(dat);
    snprintf(p, sizeof p, "%s/plots/act_var_post.gp", dir);
    char *gp = vt_slurp_must(p, NULL);
    cr_expect(strstr(gp, "set xrange [0:3]") && strstr(gp, "its output at"), "the axis: %.300s", gp);
    free(gp);
    vt_rmtree(dir);
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blocks-");
    run_cfg(dir, "{\"name\":\"nores\",\"seeds\":1,\"network\":{\"input_dim\":8,\"layers\":["
                 "{\"type\":\"dense\",\"width\":8},{\"type\":\"layernorm\"},{\"type\":\"dense\",\"width\":4}]},"
                 "\"input\":{\"batch\":8}}", 1);
    snprintf(p, sizeof p, "%s/plots/act_var_post.dat", dir);
    dat = vt_slurp_must(p, NULL);
    cr_expect(strstr(dat, "# layer median min max theory n point_type\n1 ") && strstr(dat, "\n3 "), "%s", dat);
    free(dat);
    vt_rmtree(dir);
}

static const char *cell(const vp_table *t, size_t r, const char *col)
{
    int c = vp_table_find(t, col);
    cr_assert(c >= 0, "no column %s in %s", col, vp_table_name(t));
    return vp_table_cell(t, r, (size_t)c);
}

/* A pre-norm residual stack of `count` blocks (swept 2, 3), the branch's first dense
 * layer tanh (the network default is relu), 2 seeds. Layers per block: norm, dense,
 * dense, residual; then a readout. */
static const char RES_CFG[] =
    "{\"name\":\"blk\",\"seeds\":2,\"network\":{\"input_dim\":8,\"activation\":\"relu\",\"layers\":["
    "{\"type\":\"repeat\",\"count\":2,\"layers\":[{\"type\":\"residual\",\"norm\":\"pre\",\"branch\":["
    "{\"type\":\"dense\",\"width\":8,\"activation\":\"tanh\"},{\"type\":\"dense\",\"width\":8,\"activation\":\"linear\"}]}]},"
    "{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]},\"input\":{\"batch\":16},"
    "\"sweep\":{\"network.layers[0].count\":[2,3]}}";

Test(blocks_out, csv_report_and_charts, .timeout = 120)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blkout-");
    run_cfg(dir, RES_CFG, 1);
    vp_table *t = load(dir, "res", "layers.csv");
    /* variant 0 seed 0: layers 1..9: ln, dense(tanh), dense(linear), residual, x2, readout */
    cr_assert_str_eq(cell(t, 0, "type"), "layernorm");
    cr_expect_str_eq(cell(t, 0, "activation"), "", "a norm has no activation of its own");
    cr_expect_str_eq(cell(t, 1, "activation"), "tanh", "the block's own activation, not the default relu");
    cr_expect_str_eq(cell(t, 2, "activation"), "identity");
    cr_expect_str_eq(cell(t, 1, "shape"), "[8]");
    cr_expect_str_eq(cell(t, 1, "params"), "72", "8 x 8 weights + 8 biases");
    cr_expect_str_eq(cell(t, 3, "type"), "residual");
    cr_expect_str_eq(cell(t, 3, "params"), "0", "a residual with a constant alpha has no parameter");
    cr_expect_str_eq(cell(t, 0, "params"), "16", "layernorm over 8: gamma and beta, as torch.nn.LayerNorm(8)");
    cr_expect_str_eq(cell(t, 8, "params"), "27", "readout: 8 x 3 + 3");
    cr_expect(cell(t, 3, "theory_pre_var")[0] != '\0', "theory beside a residual row");
    vp_table_free(t);
    vp_table *r = load(dir, "res", "runs.csv");
    /* runs.csv labels a variant by the network's defaults that its layers take: every
     * dense block sets its own activation (so no relu anywhere), while the init is the
     * network's for all of them */
    cr_expect_str_eq(cell(r, 0, "activation"), "per-layer", "no layer takes network.activation (relu)");
    cr_expect_str_eq(cell(r, 0, "init"), cell(r, 2, "init"));
    cr_expect(strcmp(cell(r, 0, "init"), "per-layer") != 0, "every dense layer takes network.init");
    cr_expect_str_eq(cell(r, 0, "theory_chi1"), "", "no fixed point of a block list: empty");
    vp_table_free(r);

    char p[500];
    snprintf(p, sizeof p, "%s/plots/report.md", dir);
    char *md = vt_slurp_must(p, NULL);
    cr_expect(strstr(md, "## Network") != NULL);
    cr_expect(strstr(md, "| 2 | network.layers\\[0\\]\\[0\\].layers\\[0\\].branch\\[0\\] | dense | \\[8\\] | 72 |") != NULL,
              "the dense row of the table:\n%s", md);
    /* per block a layernorm's gamma and beta (2 x 8) and 2 dense x 72, then 27:
     * 2 x 160 + 27 = 347 (PyTorch's parameters() count); variant 1 has 3 blocks: 13 layers, 507 */
    cr_expect(strstr(md, "| | **total** | | | **347** |") != NULL, "the total");
    cr_expect(strstr(md, "variant 1: 13 layers, 507 parameters") != NULL, "the other network:\n%s", md);
    free(md);

    /* act_var_pre.dat: the last column marks the type, layer 1 layernorm (12), 2 dense (7), 4 residual (6);
     * the first is the place along the stream: a block's four rows at 1/4 .. 1, the next block's at
     * 5/4 .. 2, the readout (a main-stream layer) at 3 */
    snprintf(p, sizeof p, "%s/plots/act_var_pre.dat", dir);
    char *dat = vt_slurp_must(p, NULL);
    cr_expect(strstr(dat, "# position median min max theory n point_type\n") != NULL);
    char *b0 = strstr(dat, "# index 0:");
    cr_assert(b0);
    int pts[9] = { 0 };
    double pos[9];
    static const double want_pos[9] = { 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 3 };
    char *line = strchr(strstr(b0, "point_type\n"), '\n') + 1;
    for (int l = 0; l < 9; l++) {
        char *end = strchr(line, '\n');
        cr_assert(end);
        *end = '\0';
        const char *last = strrchr(line, ' ');
        pts[l] = atoi(last + 1);
        pos[l] = atof(line);
        cr_expect(fabs(pos[l] - want_pos[l]) < 1e-8, "row %d at %g, want %g", l + 1, pos[l], want_pos[l]);
        line = end + 1;
    }
    cr_expect(pts[0] == 12 && pts[1] == 7 && pts[2] == 7 && pts[3] == 6, "point types %d %d %d %d", pts[0], pts[1],
              pts[2], pts[3]);
    free(dat);
    snprintf(p, sizeof p, "%s/plots/act_var_pre.gp", dir);
    char *gp = vt_slurp_must(p, NULL);
    cr_expect(strstr(gp, "pt variable") != NULL && strstr(gp, "title 'residual'") != NULL, "markers and their legend");
    free(gp);

    /* spp_residual.dat: block 1 of variant 0, avg channel variance = median (mean of 2) of the
     * two seeds' unit_var on layer 4. */
    t = load(dir, "res", "layers.csv");
    double u[2];
    int k = 0;
    for (size_t i = 0; i < vp_table_nrows(t) && k < 2; i++)
        if (strcmp(cell(t, i, "variant"), "0") == 0 && strcmp(cell(t, i, "layer"), "4") == 0)
            u[k++] = atof(cell(t, i, "unit_var"));
    cr_assert_eq(k, 2);
    vp_table_free(t);
    snprintf(p, sizeof p, "%s/plots/spp_residual.dat", dir);
    dat = vt_slurp_must(p, NULL);
    char *bv = strstr(dat, "# index 2: avg channel variance of variant 0");
    cr_assert(bv, "%s", dat);
    double med = NAN;
    cr_assert_eq(sscanf(strchr(strstr(bv, "# block"), '\n') + 1, "1 %lf", &med), 1);
    cr_expect(fabs(med - (u[0] + u[1]) / 2) <= 1e-8 * fabs(med), "SPP %g, layers.csv %g", med, (u[0] + u[1]) / 2);
    cr_expect(strstr(dat, "\n3 ") != NULL, "variant 1 has a third block");
    free(dat);
    vt_rmtree(dir);
}

/* A plain stack: no markers, no SPP of residual blocks, no Network section. */
Test(blocks_out, plain_stack_gets_none, .timeout = 120)
{
    char dir[256], p[500];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blkout-");
    run_cfg(dir, "{\"name\":\"mlp\",\"seeds\":1,\"network\":{\"depth\":3,\"width\":8},\"input\":{\"batch\":16}}", 1);
    snprintf(p, sizeof p, "%s/plots/spp_residual.dat", dir);
    cr_expect(!vt_exists(p));
    snprintf(p, sizeof p, "%s/plots/act_var_pre.dat", dir);
    char *dat = vt_slurp_must(p, NULL);
    cr_expect(strstr(dat, "point_type") == NULL);
    free(dat);
    snprintf(p, sizeof p, "%s/plots/report.md", dir);
    char *md = vt_slurp_must(p, NULL);
    cr_expect(strstr(md, "## Network") == NULL);
    free(md);
    vt_rmtree(dir);
}

/* layers_train.csv of a block network: the block columns and the layers' own labels. */
Test(blocks_out, layers_train_block_columns, .timeout = 120)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blkout-");
    run_cfg(dir,
            "{\"name\":\"tr\",\"seeds\":1,\"network\":{\"input_dim\":16,\"activation\":\"relu\",\"layers\":["
            "{\"type\":\"residual\",\"norm\":\"pre\",\"branch\":[{\"type\":\"dense\",\"width\":16,\"activation\":\"tanh\"},"
            "{\"type\":\"dense\",\"width\":16,\"activation\":\"linear\"}]},{\"type\":\"dense\",\"width\":4,\"activation\":\"linear\"}]},"
            "\"input\":{\"batch\":16},\"train\":{\"dataset\":{\"name\":\"synthetic\",\"dim\":16,\"classes\":4,\"n_train\":200,"
            "\"n_test\":50},\"epochs\":1,\"batch\":50,\"optimizer\":{\"name\":\"sgd\",\"lr\":0.01},\"track_every\":2}}",
            0);
    vp_table *t = load(dir, "res", "layers_train.csv");
    cr_assert(vp_table_nrows(t) >= 5);
    cr_expect_str_eq(cell(t, 0, "block"), "network.layers[0].norm");
    cr_expect_str_eq(cell(t, 0, "type"), "layernorm");
    cr_expect_str_eq(cell(t, 1, "activation"), "tanh");
    cr_expect_str_eq(cell(t, 3, "type"), "residual");
    double bv = atof(cell(t, 3, "branch_var")), sv = atof(cell(t, 3, "skip_var"));
    cr_expect(bv > 0 && sv > 0, "branch_var %g, skip_var %g", bv, sv);
    cr_expect(fabs(atof(cell(t, 3, "branch_skip_ratio")) - bv / sv) <= 1e-6 * bv / sv, "ratio = alpha^2 branch/skip");
    cr_expect_str_eq(cell(t, 1, "branch_var"), "", "only residual rows have it");
    vp_table_free(t);
    vt_rmtree(dir);
}

/* runs.csv's ratios (run 0) are exactly layers a..b's (layers.csv rows, 0-based): act_ratio
 * = post_var(b) / post_var(a), grad_ratio = grad_post_var(a) / grad_post_var(b) -- exact in
 * float64, whose CSV numbers read back exactly. */
static void expect_ratios_span(const vp_table *t, const vp_table *r, size_t a, size_t b)
{
    double act = strtod(cell(r, 0, "act_ratio"), NULL), grad = strtod(cell(r, 0, "grad_ratio"), NULL);
    double pa = strtod(cell(t, a, "post_var"), NULL), pb = strtod(cell(t, b, "post_var"), NULL);
    double ga = strtod(cell(t, a, "grad_post_var"), NULL), gb = strtod(cell(t, b, "grad_post_var"), NULL);
    cr_expect_eq(act, pb / pa, "act_ratio %.17g, layer %zu over layer %zu %.17g", act, b + 1, a + 1, pb / pa);
    cr_expect_eq(grad, ga / gb, "grad_ratio %.17g, layer %zu over layer %zu %.17g", grad, a + 1, b + 1, ga / gb);
}

/* A block network's ratios span its hidden stack: the longest run of layers of one output
 * shape. Three same-shape convolutions, then an average pooling, a flatten and a readout
 * of 3 (which shrink the signal by the pooling's and the readout's factors, so the old
 * last-over-first ratio called a healthy He conv stack's gradients vanishing): the ratios
 * are exactly layer 3's over layer 1's (float64: the CSV numbers read back exactly). */
Test(blocks_out, ratios_span_the_run_of_one_shape, .timeout = 120)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blkout-");
    run_cfg(dir,
            "{\"name\":\"cs\",\"seeds\":1,\"precision\":\"float64\",\"network\":{\"input_shape\":[2,6,6],"
            "\"activation\":\"relu\",\"init\":\"he_normal\",\"layers\":[{\"type\":\"repeat\",\"count\":3,\"layers\":["
            "{\"type\":\"conv2d\",\"out_channels\":4,\"kernel\":3,\"padding\":1}]},{\"type\":\"avgpool2d\",\"size\":2},"
            "{\"type\":\"flatten\"},{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]},\"input\":{\"batch\":8}}",
            0);
    vp_table *t = load(dir, "res", "layers.csv"), *r = load(dir, "res", "runs.csv");
    cr_assert_eq(vp_table_nrows(t), 6);
    expect_ratios_span(t, r, 0, 2);
    double a = strtod(cell(r, 0, "act_ratio"), NULL);
    double p1 = strtod(cell(t, 0, "post_var"), NULL), p6 = strtod(cell(t, 5, "post_var"), NULL);
    cr_expect_neq(a, p6 / p1, "not the readout over the first layer");
    vp_table_free(t);
    vp_table_free(r);
    vt_rmtree(dir);
}

/* A residual stack whose branch is wider than the stream (a bottleneck's 4x): the hidden
 * stack is the stream of residual outputs, not cut by the wide layers inside the branches,
 * so the ratios grow with the number of blocks (before the rule skipped branches they
 * spanned 3 layers inside one block, the same for 2 and 6 blocks). */
/* A post-norm block's output is its norm's: LN(x + f(x)). The ratios run from the first
 * norm output to the last (about 1: the stream is reset every block), not from the first
 * add x + f(x), whose variance is ~3 (that gave 1/3 for a flat post-norm stack). */
Test(blocks_out, post_norm_ratios_span_the_norm_outputs, .timeout = 120)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blkout-");
    run_cfg(dir,
            "{\"name\":\"pn\",\"seeds\":1,\"precision\":\"float64\",\"network\":{\"input_dim\":64,\"layers\":["
            "{\"type\":\"repeat\",\"count\":4,\"layers\":[{\"type\":\"residual\",\"norm\":\"post\",\"branch\":["
            "{\"type\":\"dense\",\"width\":64,\"activation\":\"relu\",\"init\":\"he_normal\"},"
            "{\"type\":\"dense\",\"width\":64,\"activation\":\"linear\",\"init\":\"he_normal\"}]}]}]},"
            "\"input\":{\"batch\":32}}",
            0);
    vp_table *t = load(dir, "res", "layers.csv"), *r = load(dir, "res", "runs.csv");
    cr_assert_eq(vp_table_nrows(t), 16, "4 x (dense, dense, residual, layernorm)");
    cr_assert_str_eq(cell(t, 3, "type"), "layernorm");
    cr_assert_str_eq(cell(t, 15, "type"), "layernorm");
    expect_ratios_span(t, r, 3, 15); /* the first block's norm output to the last */
    double act = strtod(cell(r, 0, "act_ratio"), NULL);
    cr_expect(fabs(act - 1) < 0.05, "a reset stream is flat: %g", act);
    vp_table_free(t);
    vp_table_free(r);
    vt_rmtree(dir);
}

Test(blocks_out, ratios_follow_the_residual_stream_past_wide_branches, .timeout = 120)
{
    char dir[256];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blkout-");
    run_cfg(dir,
            "{\"name\":\"wb\",\"seeds\":1,\"precision\":\"float64\",\"network\":{\"input_dim\":8,\"activation\":\"relu\","
            "\"layers\":[{\"type\":\"repeat\",\"count\":5,\"layers\":[{\"type\":\"residual\",\"norm\":\"pre\",\"branch\":["
            "{\"type\":\"dense\",\"width\":32},{\"type\":\"dense\",\"width\":8,\"activation\":\"linear\"}]}]},"
            "{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]},\"input\":{\"batch\":16}}",
            0);
    vp_table *t = load(dir, "res", "layers.csv"), *r = load(dir, "res", "runs.csv");
    cr_assert_eq(vp_table_nrows(t), 21, "5 x (norm, dense, dense, residual) + readout");
    cr_assert_str_eq(cell(t, 3, "type"), "residual");
    cr_assert_str_eq(cell(t, 19, "type"), "residual");
    expect_ratios_span(t, r, 3, 19); /* the first residual output to the last */
    vp_table_free(t);
    vp_table_free(r);
    vt_rmtree(dir);
}

/* A block network's training config as config.json resolves it runs again: hist_bins is
 * written 0 (not tracked for block networks; it said 40, which the parser refuses) and
 * readout_init null is accepted (the default). The re-run gives the same CSV bytes. */
Test(blocks_out, a_resolved_training_config_runs_again, .timeout = 120)
{
    char dir[256], p[600], *o = NULL, *e = NULL;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blocks-");
    vt_write_file(dir, "c.json",
                  "{\"name\":\"bt\",\"seeds\":1,\"network\":{\"input_dim\":8,\"layers\":[{\"type\":\"dense\",\"width\":16},"
                  "{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]},\"input\":{\"batch\":16},"
                  "\"train\":{\"dataset\":{\"name\":\"synthetic\",\"kind\":\"clusters\",\"dim\":8,\"classes\":3,"
                  "\"n_train\":64,\"n_test\":16},\"epochs\":1,\"batch\":16}}");
    cr_assert_eq(vt_run(dir, &o, &e, "run %s/c.json -o %s/a --no-plot --quiet --threads 1", dir, dir), 0, "%s", e);
    free(o), free(e);
    snprintf(p, sizeof p, "%s/a/config.json", dir);
    char *cj = vt_slurp_must(p, NULL);
    cJSON *root = cJSON_Parse(cj);
    free(cj);
    cr_assert_not_null(root);
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "train");
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(tr, "hist_bins")->valuedouble, 0, "hist_bins as it ran");
    cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(tr, "readout_init")));
    cJSON_DeleteItemFromObjectCaseSensitive(root, "varprop_version");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "variants");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "source"); /* the resolved keys alone, as a config */
    char *again = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    vt_write_file(dir, "again.json", again);
    free(again);
    cr_assert_eq(vt_run(dir, &o, &e, "run %s/again.json -o %s/b --no-plot --quiet --threads 1", dir, dir), 0, "%s", e);
    free(o), free(e);
    static const char *const files[] = { "layers.csv", "train.csv", "eval.csv", "layers_train.csv" };
    for (int f = 0; f < 4; f++) {
        char pa[600], pb[600];
        snprintf(pa, sizeof pa, "%s/a/%s", dir, files[f]);
        snprintf(pb, sizeof pb, "%s/b/%s", dir, files[f]);
        char *ta = vt_slurp_must(pa, NULL), *tb = vt_slurp_must(pb, NULL);
        cr_expect_str_eq(ta, tb, "%s differs", files[f]);
        free(ta), free(tb);
    }
    vt_rmtree(dir);
}

/* A block network's training setup errors are config errors before the banner, with the
 * config's name (they came after "varprop: e: 1 variant x 1 seed", without it): a readout
 * of the wrong width, a constant alpha = 0. Exit 2, nothing written. */
Test(blocks_out, training_setup_errors_come_before_the_banner, .timeout = 60)
{
    static const char *const cfgs[2][2] = {
        { "{\"name\":\"e\",\"network\":{\"input_dim\":8,\"layers\":[{\"type\":\"dense\",\"width\":16},"
          "{\"type\":\"dense\",\"width\":5,\"activation\":\"linear\"}]},",
          "network.layers[1]: the last layer's output [5] is the readout" },
        { "{\"name\":\"e\",\"network\":{\"input_dim\":8,\"layers\":[{\"type\":\"residual\",\"alpha\":0,\"branch\":["
          "{\"type\":\"dense\",\"width\":8}]},{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]},",
          "network.layers[0]: a constant alpha = 0 keeps the branch out of the network" },
    };
    for (int k = 0; k < 2; k++) {
        char dir[256], text[1200], *o = NULL, *e = NULL, out[300];
        vt_mktmp(dir, sizeof dir, "/tmp/varprop-blocks-");
        snprintf(text, sizeof text, "%s\"train\":{\"dataset\":{\"name\":\"synthetic\",\"dim\":8,\"classes\":3,"
                 "\"n_train\":64,\"n_test\":16},\"epochs\":1,\"batch\":16}}", cfgs[k][0]);
        vt_write_file(dir, "c.json", text);
        snprintf(out, sizeof out, "%s/out", dir);
        cr_expect_eq(vt_run(dir, &o, &e, "run %s/c.json -o %s --no-plot --threads 1", dir, out), 2, "%s", e);
        char want[300];
        snprintf(want, sizeof want, "c.json: %s", cfgs[k][1]);
        cr_expect(strstr(e, want), "'%s' not in: %s", want, e);
        cr_expect(!strstr(o, " runs") && !strstr(o, " run,"), "before the banner: %s", o);
        cr_expect_not(vt_exists(out));
        free(o), free(e);
        vt_rmtree(dir);
    }
    /* in a sweep: the layer's config path (no repetition index) and the values that made the variant */
    char dir[256], *o = NULL, *e = NULL;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-blocks-");
    vt_write_file(dir, "c.json", "{\"name\":\"e\",\"network\":{\"input_dim\":8,\"layers\":[{\"type\":\"repeat\",\"count\":2,"
                                 "\"layers\":[{\"type\":\"dense\",\"width\":16}]},{\"type\":\"repeat\",\"count\":1,\"layers\":["
                                 "{\"type\":\"dense\",\"width\":3,\"activation\":\"linear\"}]}]},\"train\":{\"dataset\":{\"name\":"
                                 "\"synthetic\",\"dim\":8,\"classes\":3,\"n_train\":64,\"n_test\":16},\"epochs\":1,\"batch\":16},"
                                 "\"sweep\":{\"network.layers[1].layers[0].width\":[3,5]}}");
    cr_expect_eq(vt_run(dir, &o, &e, "run %s/c.json -o %s/out --no-plot --threads 1", dir, dir), 2, "%s", e);
    cr_expect(strstr(e, "c.json: network.layers[1].layers[0] (variant 1: sweep[\"network.layers[1].layers[0].width\"] = 5): "
                        "the last layer's output [5] is the readout"), "%s", e);
    free(o), free(e);
    vt_rmtree(dir);
}
