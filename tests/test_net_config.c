/* Tests of "network.layers" (src/experiment/net_config.c): the flat list and its
 * paths, defaults, Fixup/SkipInit schemes, sweeps into the list, and config errors
 * that name the block's JSON path and both shapes (exit 2, nothing written: the CLI
 * test at the end). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "experiment/net_config.h"
#include "harness.h"

static vp_status parse(const char *json, vp_experiment **e, vp_err *err)
{
    vp_config_opts o = { 0 };
    return vp_config_parse(json, strlen(json), "cfg.json", &o, e, err);
}

static void bad(const char *json, const char *frag)
{
    vp_experiment *e = NULL;
    vp_err err;
    cr_assert_eq(parse(json, &e, &err), VP_ERR_CONFIG, "accepted: %s", json);
    cr_assert(strstr(err.msg, frag), "message \"%s\" lacks \"%s\"", err.msg, frag);
    vp_experiment_free(e);
}

#define LENET                                                                                                          \
    "{\"type\": \"conv2d\", \"out_channels\": 6, \"kernel\": 3, \"activation\": \"relu\", \"init\": \"he_uniform\", " \
    "\"bias\": \"zeros\"}, {\"type\": \"maxpool2d\", \"size\": 2}, {\"type\": \"flatten\"}, "                          \
    "{\"type\": \"dense\", \"width\": 128, \"activation\": \"relu\"}, {\"type\": \"dense\", \"width\": 10}"

Test(net_config, lenet_flat_list)
{
    vp_experiment *e = NULL;
    vp_err err;
    const char *j = "{\"name\": \"x\", \"network\": {\"input_shape\": [1, 28, 28], \"init\": \"xavier_uniform\", "
                    "\"activation\": \"linear\", \"layers\": [" LENET "]}}";
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    const vp_variant *v = &e->variants[0];
    cr_assert_not_null(v->net);
    cr_assert_eq(v->L, 5);
    int w[] = { 784, 6 * 26 * 26, 6 * 13 * 13, 1014, 128, 10 };
    for (int i = 0; i <= 5; i++) cr_assert_eq(v->widths[i], w[i], "widths[%d] = %d", i, v->widths[i]);
    cr_assert_eq(v->net->ls[0].winit.kind, VP_INIT_KAIMING_UNIFORM);
    cr_assert_eq(v->net->ls[3].winit.kind, VP_INIT_XAVIER_UNIFORM); /* network.init is the default */
    cr_assert_eq(v->net->ls[4].act.kind, VP_ACT_IDENTITY);
    cr_assert_eq(v->net->ls[1].stride, 2);                           /* stride defaults to size */
    cr_assert_str_eq(v->net->ls[3].path, "network.layers[3]");
    vp_experiment_free(e);
}

Test(net_config, repeat_residual_paths_and_sweep)
{
    vp_experiment *e = NULL;
    vp_err err;
    const char *j = "{\"name\": \"x\", \"network\": {\"input_dim\": 16, \"layers\": [{\"type\": \"dense\", \"width\": 8},"
                    "{\"type\": \"repeat\", \"count\": 3, \"layers\": [{\"type\": \"residual\", \"norm\": \"post\", "
                    "\"norm_type\": \"rmsnorm\", \"branch\": [{\"type\": \"dense\", \"width\": 8}]}]}]},"
                    "\"sweep\": {\"network.layers[1].count\": [1, 3]}}";
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 2);
    cr_assert_eq(e->variants[0].L, 1 + 3);
    const vp_variant *v = &e->variants[1];
    cr_assert_eq(v->L, 1 + 3 * 3);
    cr_assert_str_eq(v->net->ls[4].path, "network.layers[1][1].layers[0].branch[0]");
    cr_assert_str_eq(v->net->ls[5].path, "network.layers[1][1].layers[0]");
    cr_assert_eq(v->net->ls[5].kind, VP_LAYER_RESIDUAL);
    cr_assert_eq(v->net->ls[5].skip, 3);
    cr_assert_str_eq(v->net->ls[6].path, "network.layers[1][1].layers[0].norm");
    cr_assert_eq(v->net->ls[6].kind, VP_LAYER_RMSNORM);
    vp_experiment_free(e);
}

#define LONG_REPEAT                                                                                                    \
    "{\"name\": \"x\", \"network\": {\"input_dim\": 4, \"layers\": [{\"type\": \"dense\", \"width\": 4}, " \
    "{\"type\": \"repeat\", \"count\": %d, \"layers\": [{\"type\": \"dense\", \"width\": 4, " \
    "\"activation\": \"tanh\"}, {\"type\": \"residual\", \"norm\": \"pre\", \"branch\": [{\"type\": " \
    "\"dense\", \"width\": 4}, {\"type\": \"repeat\", \"count\": 2, \"layers\": [{\"type\": \"dense\", " \
    "\"width\": 4}]}]}]}]}}"

/* The largest repeat the limit allows, with a residual (its skip index) and a repeat
 * inside: every repetition is the first one's layers at its own place, the last one
 * too; one repetition more is refused. (Repetitions are copied, not parsed again.) */
Test(net_config, the_longest_repeat_holds_every_repetition)
{
    char j[700];
    int count = (100000 - 1) / 6; /* 6 layers a repetition, after the first dense */
    snprintf(j, sizeof j, LONG_REPEAT, count);
    vp_experiment *e = NULL;
    vp_err err;
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    const vp_net_spec *ns = e->variants[0].net;
    cr_assert_eq(ns->n, 1 + 6 * count);
    static const char *const rest[6] = { "layers[0]", "layers[1].norm", "layers[1].branch[0]",
                                         "layers[1].branch[1][0].layers[0]", "layers[1].branch[1][1].layers[0]",
                                         "layers[1]" };
    static const vp_layer_kind kind[6] = { VP_LAYER_DENSE, VP_LAYER_LAYERNORM, VP_LAYER_DENSE, VP_LAYER_DENSE,
                                           VP_LAYER_DENSE, VP_LAYER_RESIDUAL };
    int wrong = -1;
    for (int i = 1; i < ns->n && wrong < 0; i++) {
        int r = (i - 1) / 6, k = (i - 1) % 6;
        char want[160];
        snprintf(want, sizeof want, "network.layers[1][%d].%s", r, rest[k]);
        const vp_layer_spec *l = &ns->ls[i];
        if (strcmp(l->path, want) != 0 || l->kind != kind[k] || (k == 5 && l->skip != 1 + 6 * r) ||
            (kind[k] == VP_LAYER_DENSE && (k == 0) != (l->act.kind == VP_ACT_TANH)))
            wrong = i;
    }
    cr_assert_eq(wrong, -1, "layer %d: %s", wrong, wrong >= 0 ? ns->ls[wrong].path : "");
    cr_assert_eq(e->variants[0].widths[ns->n], 4);
    vp_experiment_free(e);
    snprintf(j, sizeof j, LONG_REPEAT, count + 1);
    bad(j, "network.layers: more than 100000 layers after expanding repeat blocks");
}

Test(net_config, schemes)
{
    vp_experiment *e = NULL;
    vp_err err;
    const char *j = "{\"name\": \"x\", \"network\": {\"input_dim\": 8, \"layers\": [{\"type\": \"repeat\", \"count\": 4, "
                    "\"layers\": [{\"type\": \"residual\", \"scheme\": \"fixup\", \"branch\": [{\"type\": \"dense\", "
                    "\"width\": 8, \"activation\": \"relu\"}, {\"type\": \"dense\", \"width\": 8}]}, {\"type\": "
                    "\"residual\", \"scheme\": \"skipinit\", \"branch\": [{\"type\": \"dense\", \"width\": 8}]}]}]}}";
    cr_assert_eq(parse(j, &e, &err), VP_OK, "%s", err.msg);
    const vp_layer_spec *l = e->variants[0].net->ls;
    cr_assert_float_eq(l[0].wscale, 0.5, 1e-15); /* L = 4 Fixup branches, m = 2: 4^(-1/2) */
    cr_assert_eq(l[1].wscale, 0.0);
    cr_assert_eq(l[4].kind, VP_LAYER_RESIDUAL);
    cr_assert_eq(l[4].alpha, 0.0);
    vp_experiment_free(e);
}

Test(net_config, errors_name_the_block)
{
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [1, 28, 28], \"layers\": [{\"type\": \"flatten\"}, "
        "{\"type\": \"conv2d\", \"out_channels\": 4, \"kernel\": 3}]}}",
        "network.layers[1]: conv2d needs an image input [C, H, W], it gets the flat [784]");
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [1, 28, 28], \"layers\": [{\"type\": \"conv2d\", "
        "\"out_channels\": 4, \"kernel\": 3}, {\"type\": \"dense\", \"width\": 3}]}}",
        "network.layers[1]: dense needs a flat input [n], it gets [4, 26, 26]");
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [1, 28, 28], \"layers\": [{\"type\": \"conv2d\", "
        "\"out_channels\": 4, \"kernel\": 0}]}}",
        "network.layers[0].kernel");
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [3, 8, 8], \"layers\": [{\"type\": \"repeat\", \"count\": 2, "
        "\"layers\": [{\"type\": \"residual\", \"branch\": [{\"type\": \"conv2d\", \"out_channels\": 5, \"kernel\": 3, "
        "\"padding\": 1}]}]}]}}",
        "network.layers[0].layers[0]: the branch maps the stream [3, 8, 8] to [5, 8, 8]");
    bad("{\"name\": \"x\", \"network\": {\"input_dim\": 4, \"layers\": [{\"type\": \"dens\", \"width\": 3}]}}",
        "did you mean \"dense\"");
    bad("{\"name\": \"x\", \"network\": {\"input_dim\": 4, \"layers\": [{\"type\": \"dense\", \"width\": 3, "
        "\"kernal\": 3}]}}",
        "network.layers[0]");
    bad("{\"name\": \"x\", \"network\": {\"input_dim\": 4, \"depth\": 3, \"layers\": [{\"type\": \"flatten\"}]}}",
        "network.depth");
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [2, 5, 5], \"layers\": [{\"type\": \"conv2d\", "
        "\"out_channels\": 4, \"kernel\": 3, \"init\": \"sparse\"}]}}",
        "network.layers[0].init: sparse draws 2-D weights only");
    bad("{\"name\": \"x\", \"network\": {\"input_dim\": 4, \"layers\": [{\"type\": \"residual\", \"scheme\": \"fixup\", "
        "\"branch\": [{\"type\": \"dense\", \"width\": 4}]}]}}",
        "network.layers[0]: Fixup");
    bad("{\"name\": \"x\", \"network\": {\"layers\": [{\"type\": \"flatten\"}]}}", "input_shape");
    /* delta_orthogonal's in_channels <= out_channels, at parse time (it failed in the run,
       after the earlier variants' results were staged); a swept combination names the sweep */
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [8, 6, 6], \"layers\": [{\"type\": \"conv2d\", "
        "\"out_channels\": 4, \"kernel\": 3, \"init\": \"delta_orthogonal\"}]}}",
        "network.layers[0]: delta_orthogonal needs in_channels <= out_channels");
    bad("{\"name\": \"x\", \"network\": {\"input_shape\": [8, 6, 6], \"layers\": [{\"type\": \"conv2d\", "
        "\"out_channels\": 16, \"kernel\": 3, \"init\": \"delta_orthogonal\"}]}, "
        "\"sweep\": {\"network.layers[0].out_channels\": [16, 4]}}",
        "network.layers[0] (with sweep[\"network.layers[0].out_channels\"][1]): delta_orthogonal needs in_channels <= "
        "out_channels (an orthogonal 4 x 8 centre tap keeps every input direction); got 8 > 4");
    /* batchnorm standardizes over the batch and positions: one value per channel (a dense
       layer's output at input.batch 1) is 0 after it, every ratio 0/0 (PyTorch refuses it);
       at 2 x 2 positions, or a batch of 2, it is a variance */
    bad("{\"name\": \"x\", \"network\": {\"input_dim\": 8, \"layers\": [{\"type\": \"dense\", \"width\": 8}, "
        "{\"type\": \"batchnorm\"}]}, \"input\": {\"batch\": 1}}",
        "network.layers[1]: batchnorm over one value per channel (input.batch 1 at 1 x 1 positions)");
    /* the same in training: a training batch of 1 (PyTorch: "Expected more than 1 value per
       channel when training") */
    bad("{\"name\": \"x\", \"network\": {\"input_dim\": 32, \"layers\": [{\"type\": \"dense\", \"width\": 16}, "
        "{\"type\": \"batchnorm\"}, {\"type\": \"dense\", \"width\": 10}]}, \"input\": {\"batch\": 8}, \"train\": "
        "{\"dataset\": {\"name\": \"synthetic\", \"kind\": \"clusters\", \"dim\": 32, \"classes\": 10, "
        "\"n_train\": 100, \"n_test\": 50}, \"epochs\": 1, \"batch\": 1}}",
        "train.batch: 1 gives the batchnorm block network.layers[1] one value per channel in training");
    static const char *const fine[] = {
        "{\"name\": \"x\", \"network\": {\"input_dim\": 8, \"layers\": [{\"type\": \"dense\", \"width\": 8}, "
        "{\"type\": \"batchnorm\"}]}, \"input\": {\"batch\": 2}}",
        "{\"name\": \"x\", \"network\": {\"input_shape\": [2, 4, 4], \"layers\": [{\"type\": \"conv2d\", "
        "\"out_channels\": 4, \"kernel\": 3}, {\"type\": \"batchnorm\"}]}, \"input\": {\"batch\": 1}}" };
    for (size_t k = 0; k < 2; k++) {
        vp_experiment *e = NULL;
        vp_err err;
        cr_assert_eq(parse(fine[k], &e, &err), VP_OK, "%s", err.msg);
        vp_experiment_free(e);
    }
    /* block networks keep their weights: recompute mode is refused, naming the key */
    bad("{\"name\": \"x\", \"memory\": \"recompute\", \"network\": {\"input_dim\": 4, \"layers\": "
        "[{\"type\": \"dense\", \"width\": 3}]}}",
        "network.layers: not available with \"memory\": \"recompute\"");
}

/* exit 2, the message on stderr, nothing written */
Test(net_config, cli_exit_2)
{
    char tmp[256], *o, *e, cfg[300], out[300];
    vt_mktmp(tmp, sizeof tmp, "/tmp/varprop-netcfg-");
    vt_write_file(tmp, "bad.json", "{\"name\": \"x\", \"network\": {\"input_shape\": [1, 28, 28], \"layers\": "
                                   "[{\"type\": \"flatten\"}, {\"type\": \"maxpool2d\", \"size\": 2}]}}");
    snprintf(cfg, sizeof cfg, "%s/bad.json", tmp);
    snprintf(out, sizeof out, "%s/never", tmp);
    cr_assert_eq(vt_run(tmp, &o, &e, "run %s -o %s", cfg, out), 2);
    cr_assert(strstr(e, "network.layers[1]: maxpool2d needs an image input"), "%s", e);
    cr_assert(!vt_exists(out));
    free(o);
    free(e);
    vt_rmtree(tmp);
}
