/* Tests of LSUV in training (Mishkin & Matas 2016; experiment/train_run.h
 * vp_train_take_hidden, network.init "lsuv" with a "train" section):
 *  - the trainer takes the measurement network's LSUV-rescaled hidden weights bit for
 *    bit, so its layer outputs on the LSUV batch have the variance LSUV left there
 *    (within tol of 1 at every layer), while its own orthonormal pre-init does not;
 *  - an lsuv training run through the CLI gives the same bytes for --threads 1 and 2,
 *    and differs from a run of the bare orthonormal pre-init (the rescaled weights are
 *    what it trains from).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mlp.h"
#include "core/rng.h"
#include "core/train.h"
#include "experiment/train_run.h"
#include "harness.h"
#include "run_util.h"

#define L 6
#define B 128
static const int WIDTHS[L + 1] = { 24, 48, 48, 48, 48, 48, 48 };

/* A deep ReLU stack whose weights LSUV rescaled on x (B x n_0, N(0, 1)); stats get its
 * forward pass on that batch. */
static vp_mlp *lsuv_net(vp_precision prec, double tol, double *x, vp_layer_stats *stats)
{
    vp_err err = { "" };
    vp_mlp *m = NULL;
    vp_act act = vp_act_default(VP_ACT_RELU);
    cr_assert_eq(vp_mlp_create(&m, L, WIDTHS, B, prec, act, &err), VP_OK, "%s", err.msg);
    vp_init wi = vp_init_default(VP_INIT_LSUV), bi = vp_init_default(VP_INIT_ZEROS);
    cr_assert_eq(vp_mlp_init_params(m, &wi, &bi, 7, &err), VP_OK, "%s", err.msg);
    vp_rng r = vp_rng_make(11, 0, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, x, (size_t)B * WIDTHS[0]);
    vp_mlp_set_input(m, x);
    int iters[L];
    cr_assert_eq(vp_mlp_lsuv(m, tol, 20, iters, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_mlp_forward(m, stats, NULL, &err), VP_OK, "%s", err.msg);
    return m;
}

static vp_trainer *trainer(vp_precision prec)
{
    vp_err err = { "" };
    vp_train_opts o = { .classes = 10, .loss = VP_LOSS_CROSS_ENTROPY, .optim = vp_optim_default(VP_OPTIM_SGD),
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = 10 };
    vp_trainer *t = NULL;
    cr_assert_eq(vp_trainer_create(&t, L, WIDTHS, B, prec, vp_act_default(VP_ACT_RELU), &o, &err), VP_OK, "%s",
                 err.msg);
    /* what train_run.c draws for network.init lsuv: the pre-init, readout included */
    vp_init wi = vp_init_default(VP_INIT_LSUV), bi = vp_init_default(VP_INIT_ZEROS);
    cr_assert_eq(vp_trainer_init_params(t, &wi, &bi, &wi, &bi, 7, &err), VP_OK, "%s", err.msg);
    return t;
}

Test(train_lsuv, the_trainer_starts_from_the_lsuv_weights_with_unit_variance_on_the_lsuv_batch)
{
    /* tol 0.02 (the reference code's Tol_var): LSUV stops once |Var[z^l] - 1| < tol on
     * this batch, so every layer of the trainer, fed the same batch, must be there too
     * -- to rounding, since its weights are the same bits (float64: the two forward
     * passes differ only in summation order, ~1e-15 relative). */
    const double tol = 0.02;
    double *x = malloc((size_t)B * WIDTHS[0] * sizeof *x);
    int32_t y[B];
    for (int b = 0; b < B; b++) y[b] = b % 10;
    vp_layer_stats ms[L], before[L + 1], after[L + 1];
    vp_mlp *m = lsuv_net(VP_F64, tol, x, ms);
    vp_trainer *t = trainer(VP_F64);
    vp_err err = { "" };
    cr_assert_eq(vp_trainer_probe(t, x, y, B, before, NULL, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_train_take_hidden(t, m, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_trainer_probe(t, x, y, B, after, NULL, &err), VP_OK, "%s", err.msg);
    for (int l = 1; l <= L; l++) {
        cr_expect(fabs(ms[l - 1].pre_var - 1) < tol, "layer %d: LSUV left Var[z] = %g", l, ms[l - 1].pre_var);
        cr_expect(fabs(after[l - 1].pre_var - 1) < tol, "layer %d: trainer's Var[z] = %g", l, after[l - 1].pre_var);
        cr_expect(fabs(after[l - 1].pre_var - ms[l - 1].pre_var) <= 1e-12 * ms[l - 1].pre_var,
                  "layer %d: trainer %.17g, measurement net %.17g", l, after[l - 1].pre_var, ms[l - 1].pre_var);
    }
    /* The bare orthonormal pre-init halves the variance per ReLU layer (He et al. 2015,
     * n Var[W] = 1): layer 6 sits near 2^-5 of layer 1, far from LSUV's 1. */
    cr_expect_lt(before[L - 1].pre_var, 0.25, "pre-init layer %d: Var[z] = %g", L, before[L - 1].pre_var);
    vp_trainer_free(t);
    vp_mlp_free(m);
    free(x);
}

Test(train_lsuv, hidden_weights_are_copied_bit_for_bit_in_float32_and_float64)
{
    for (int p = 0; p < 2; p++) {
        vp_precision prec = p ? VP_F32 : VP_F64;
        double *x = malloc((size_t)B * WIDTHS[0] * sizeof *x);
        vp_layer_stats ms[L];
        vp_mlp *m = lsuv_net(prec, 0.1, x, ms);
        vp_trainer *t = trainer(prec);
        vp_err err = { "" };
        cr_assert_eq(vp_train_take_hidden(t, m, &err), VP_OK, "%s", err.msg);
        size_t n = (size_t)WIDTHS[1] * WIDTHS[0] > (size_t)WIDTHS[2] * WIDTHS[1] ? (size_t)WIDTHS[1] * WIDTHS[0]
                                                                                : (size_t)WIDTHS[2] * WIDTHS[1];
        double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        for (int l = 1; l <= L; l++) {
            size_t k = (size_t)WIDTHS[l] * WIDTHS[l - 1];
            vp_mlp_export_layer(m, l, 0, a, NULL);
            vp_trainer_get_layer(t, l, b, NULL);
            cr_expect_eq(memcmp(a, b, k * sizeof *a), 0, "precision %d layer %d: weights differ", p, l);
        }
        free(a);
        free(b);
        vp_trainer_free(t);
        vp_mlp_free(m);
        free(x);
    }
}

Test(train_lsuv, a_depth_mismatch_is_refused)
{
    double *x = malloc((size_t)B * WIDTHS[0] * sizeof *x);
    vp_layer_stats ms[L];
    vp_mlp *m = lsuv_net(VP_F64, 0.1, x, ms);
    vp_err err = { "" };
    vp_train_opts o = { .classes = 10, .loss = VP_LOSS_CROSS_ENTROPY, .optim = vp_optim_default(VP_OPTIM_SGD),
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = 10 };
    vp_trainer *t = NULL;
    cr_assert_eq(vp_trainer_create(&t, L - 1, WIDTHS, B, VP_F64, vp_act_default(VP_ACT_RELU), &o, &err), VP_OK);
    cr_expect_eq(vp_train_take_hidden(t, m, &err), VP_ERR_CONFIG);
    cr_expect(strstr(err.msg, "layers") != NULL, "%s", err.msg);
    vp_trainer_free(t);
    vp_mlp_free(m);
    free(x);
}

/* A small lsuv training on synthetic data (32 inputs), as `varprop run` does it. */
static const char CONFIG[] =
    "{\"name\": \"lsuv_train\", \"seeds\": 2,"
    " \"network\": {\"depth\": 5, \"width\": 32, \"input_dim\": 32, \"activation\": \"relu\", \"init\": \"%s\","
    " \"bias\": \"zeros\"},"
    " \"input\": {\"distribution\": \"normal\", \"batch\": 64},"
    " \"train\": {\"dataset\": {\"name\": \"synthetic\", \"n_train\": 512, \"n_test\": 128}, \"epochs\": 1,"
    " \"batch\": 32, \"optimizer\": {\"name\": \"sgd\", \"lr\": 0.05}, \"track_every\": 4}}";

static char *train_csv(const char *init, int threads, vp_table **layers)
{
    char dir[256], cfg[1024], path[512];
    snprintf(cfg, sizeof cfg, CONFIG, init);
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-lsuv-");
    vt_write_file(dir, "c.json", cfg);
    char *out = NULL, *errs = NULL;
    int rc = vt_run(dir, &out, &errs, "run %s/c.json -o %s/out --no-plot --quiet --threads %d", dir, dir, threads);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    free(out);
    free(errs);
    snprintf(path, sizeof path, "%s/out/train.csv", dir);
    char *text = vt_slurp_text(path);
    cr_assert_not_null(text);
    if (layers) *layers = vt_out_table(dir, "layers.csv");
    vt_rmtree(dir);
    return text;
}

Test(train_lsuv, an_lsuv_training_run_is_the_same_bytes_for_any_threads_and_starts_from_lsuv, .timeout = 300)
{
    vp_table *layers = NULL;
    char *one = train_csv("lsuv", 1, &layers), *two = train_csv("lsuv", 2, NULL), *orth = train_csv("orthogonal", 1, NULL);
    cr_expect_str_eq(one, two, "train.csv differs between --threads 1 and 2");
    /* The same pre-init and data: only LSUV's rescaling tells the two runs apart. */
    cr_expect_str_neq(one, orth, "the lsuv run trained from the bare orthonormal pre-init");
    /* layers.csv: the measurement net LSUV rescaled (default tol 0.1), every layer. */
    size_t cv, cl;
    vp_err err = { "" };
    cr_assert_eq(vp_table_require(layers, "pre_var", &cv, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_table_require(layers, "layer", &cl, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_table_nrows(layers), 10u);
    for (size_t i = 0; i < vp_table_nrows(layers); i++) {
        double v;
        cr_assert_eq(vp_table_num(layers, i, cv, &v, &err), VP_OK, "%s", err.msg);
        cr_expect(fabs(v - 1) < 0.1, "row %zu (layer %s): Var[z] = %g", i, vp_table_cell(layers, i, cl), v);
    }
    vp_table_free(layers);
    free(one);
    free(two);
    free(orth);
}
