/* Training runs (issue 14, the experiment side): the "train" config object and its
 * errors, the training files, determinism across --threads, divergence, resume after
 * an interruption, a short Fashion-MNIST run that learns, a damaged label file
 * refused before anything is written, and the training charts' .dat files. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/config.h"
#include "harness.h"
#include "results/results.h"
#include "results/table.h"
#include "run_util.h"

/* A small synthetic study: 2 variants x 2 seeds, about 0.1 s a run. */
#define SYNTH_TRAIN                                                                                              \
    "\"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": 16, \"classes\": 4, \"n_train\": 1200, "      \
    "\"n_test\": 300, \"separation\": 6}, \"epochs\": 2, \"batch\": 50, \"optimizer\": {\"name\": \"sgd\", "    \
    "\"lr\": 0.05, \"momentum\": 0.9}, \"track_every\": 8, \"hist_bins\": 10}"
#define SYNTH_CFG                                                                                                \
    "{\"name\": \"t\", \"seeds\": 2, \"network\": {\"depth\": 4, \"width\": 32, \"activation\": \"tanh\"}, "    \
    "\"input\": {\"batch\": 32}, " SYNTH_TRAIN ", \"sweep\": {\"network.init\": [\"xavier_normal\", "           \
    "\"he_normal\"]}}"

static const char *const TRAIN_FILES[] = { VP_FILE_TRAIN, VP_FILE_EVAL, VP_FILE_LAYERS_TRAIN, VP_FILE_HIST_TRAIN,
                                           VP_FILE_LAYERS };

static vp_status parse(const char *text, vp_experiment **e, vp_err *err)
{
    vp_config_opts o = { .max_runs = 0 };
    return vp_config_parse(text, strlen(text), "c.json", &o, e, err);
}

/* ---- config ---- */

Test(train_config, defaults_and_resolved_object)
{
    vp_experiment *e = NULL;
    vp_err err;
    cr_assert_eq(parse("{\"name\": \"d\", \"network\": {\"depth\": 2, \"width\": 8}, \"train\": {}}", &e, &err), VP_OK,
                 "%s", err.msg);
    const vp_train_cfg *t = &e->variants[0].train;
    cr_assert(e->train && t->on);
    cr_expect_eq(t->data.source, VP_DATA_FASHION_MNIST);
    cr_expect_eq(e->variants[0].widths[0], 784, "fashion-mnist fixes the input width");
    cr_expect_eq(t->epochs, 1);
    cr_expect_eq(t->batch, 128);
    cr_expect_eq(t->optim.kind, VP_OPTIM_SGD);
    cr_expect_eq(t->sched.kind, VP_SCHED_CONSTANT);
    cr_expect_eq(t->loss, VP_LOSS_CROSS_ENTROPY);
    cr_expect_eq(t->track_every, 50);
    cr_expect_eq(t->max_steps, 0);
    cr_expect_not(t->has_readout_init);
    cr_expect(strstr(e->resolved_json, "\"train\":"), "config.json holds the resolved train object");
    cr_expect(strstr(e->resolved_json, "\"momentum\":"), "every optimizer parameter is written");
    vp_experiment_free(e);
    /* without "train" nothing changes: no train object in config.json */
    cr_assert_eq(parse("{\"name\": \"d\", \"network\": {\"depth\": 2, \"width\": 8}}", &e, &err), VP_OK, "%s", err.msg);
    cr_expect_not(e->train);
    cr_expect_null(strstr(e->resolved_json, "\"train\""));
    vp_experiment_free(e);
}

Test(train_config, values_reach_the_variant_and_sweep)
{
    vp_experiment *e = NULL;
    vp_err err;
    const char *cfg = "{\"name\": \"d\", \"network\": {\"depth\": 2, \"width\": 8}, \"train\": {\"dataset\": "
                      "{\"name\": \"synthetic\", \"kind\": \"teacher\", \"dim\": 12, \"hidden\": 5}, \"optimizer\": "
                      "{\"name\": \"adamw\", \"lr\": 0.002, \"beta2\": 0.99}, \"schedule\": {\"name\": \"cosine\", "
                      "\"warmup_steps\": 10}, \"loss\": \"mse\", \"readout_init\": \"zeros\"}, "
                      "\"sweep\": {\"train.optimizer.lr\": [0.001, 0.01], \"train.dataset.seed\": [3]}}";
    cr_assert_eq(parse(cfg, &e, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(e->nvariants, 2);
    const vp_train_cfg *t = &e->variants[1].train;
    cr_expect_eq(e->variants[1].widths[0], 12, "the synthetic dim is the default input width");
    cr_expect_eq(t->data.synth.kind, VP_SYNTH_TEACHER);
    cr_expect_eq(t->data.synth.hidden, 5);
    cr_expect_eq(t->data.synth.seed, 3);
    cr_expect_eq(t->optim.kind, VP_OPTIM_ADAMW);
    cr_expect_eq(t->optim.p[VP_OPTIM_LR], 0.01);
    cr_expect_eq(e->variants[0].train.optim.p[VP_OPTIM_LR], 0.001);
    cr_expect_eq(t->optim.p[VP_ADAM_BETA2], 0.99);
    cr_expect_eq(t->sched.kind, VP_SCHED_COSINE);
    cr_expect_eq(t->sched.p[VP_COS_WARMUP], 10);
    cr_expect_eq(t->loss, VP_LOSS_MSE);
    cr_expect(t->has_readout_init);
    cr_expect_str_eq(e->sweep_values[2], "0.01");
    vp_experiment_free(e);
}

/* Every refusal: VP_ERR_CONFIG, the JSON path, and what is allowed or meant. */
Test(train_config, every_error_names_its_path)
{
    static const struct {
        const char *train, *extra, *want1, *want2;
    } cases[] = {
        { "{\"epoch\": 2}", "", "train.epoch", "did you mean \"epochs\"" },
        { "{\"dataset\": \"fashion\"}", "", "train.dataset", "did you mean \"fashion-mnist\"" },
        { "{\"dataset\": 3}", "", "train.dataset", "expected one of" },
        { "{\"dataset\": {\"name\": \"synthetic\", \"n_train\": 0}}", "", "train.dataset.n_train", "out of range" },
        { "{\"dataset\": {\"name\": \"synthetic\", \"hidden\": 3}}", "", "train.dataset.hidden", "teacher" },
        { "{\"dataset\": {\"name\": \"synthetic\", \"dimm\": 3}}", "", "train.dataset.dimm", "did you mean \"dim\"" },
        { "{\"dataset\": {\"format\": \"idx\", \"train_images\": \"a\"}}", "", "train.dataset.train_labels", "missing" },
        { "{\"dataset\": {\"name\": \"fashion-mnist\", \"n_train\": 0}}", "", "train.dataset.n_train", "out of range" },
        { "{\"dataset\": {\"name\": \"fashion-mnist\", \"n_test\": 2.5}}", "", "train.dataset.n_test", "not an integer" },
        { "{\"dataset\": {\"name\": \"fashion-mnist\", \"n_tset\": 9}}", "", "train.dataset.n_tset", "did you mean \"n_test\"" },
        { "{\"dataset\": {\"name\": \"idx\", \"format\": \"idx\"}}", "", "train.dataset.format", "not both" },
        { "{\"epochs\": 0}", "", "train.epochs", "out of range" },
        { "{\"batch\": 1.5}", "", "train.batch", "not an integer" },
        { "{\"optimizer\": \"adamm\"}", "", "train.optimizer", "did you mean \"adam\"" },
        { "{\"optimizer\": {\"name\": \"sgd\", \"lrr\": 1}}", "", "train.optimizer.lrr", "lr" },
        { "{\"optimizer\": {\"name\": \"sgd\", \"lr\": -1}}", "", "train.optimizer.lr", "" },
        { "{\"optimizer\": {\"name\": \"sgd\", \"nesterov\": true}}", "", "train.optimizer", "" },
        { "{\"optimizer\": {\"name\": \"sgd\", \"nesterov\": \"yes\"}}", "", "train.optimizer.nesterov", "" },
        { "{\"schedule\": \"cosin\"}", "", "train.schedule", "did you mean \"cosine\"" },
        { "{\"schedule\": {\"name\": \"step\", \"gamma\": -1}}", "", "train.schedule.gamma", "" },
        { "{\"loss\": \"cross_entrop\"}", "", "train.loss", "did you mean \"cross_entropy\"" },
        { "{\"track_every\": 0}", "", "train.track_every", "out of range" },
        { "{\"hist_bins\": 1}", "", "train.hist_bins", "0 (none) or 2" },
        { "{\"readout_init\": \"lsuv\"}", "", "train.readout_init", "lsuv" },
        { "{\"readout_init\": \"he_normall\"}", "", "train.readout_init", "did you mean" },
        { "[]", "", "train", "expected an object" },
        { "{\"dataset\": \"synthetic\"}", ", \"network\": {\"input_dim\": 10}", "network.input_dim", "must be 32" },
        { "{}", ", \"network\": {\"activation\": \"softmax\"}", "train", "elementwise" },
        { "{}", ", \"sweep\": {\"train.optimizer.lr\": [0.1, \"x\"]}", "sweep[\"train.optimizer.lr\"][1]", "" },
        { "{}", ", \"sweep\": {\"train.epochz\": [1]}", "sweep[\"train.epochz\"][0]", "did you mean \"epochs\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cfg[1024];
        snprintf(cfg, sizeof cfg, "{\"name\": \"e\", \"train\": %s%s}", cases[i].train, cases[i].extra);
        vp_experiment *e = NULL;
        vp_err err;
        vp_status s = parse(cfg, &e, &err);
        cr_expect_eq(s, VP_ERR_CONFIG, "%s: status %d", cfg, s);
        if (s != VP_ERR_CONFIG) { vp_experiment_free(e); continue; }
        cr_expect(strstr(err.msg, cases[i].want1), "%s: '%s' lacks '%s'", cfg, err.msg, cases[i].want1);
        cr_expect(strstr(err.msg, cases[i].want2), "%s: '%s' lacks '%s'", cfg, err.msg, cases[i].want2);
    }
    /* a train.* key swept into a config that does not train */
    vp_experiment *e = NULL;
    vp_err err;
    cr_expect_eq(parse("{\"name\": \"e\", \"sweep\": {\"train.epochs\": [1]}}", &e, &err), VP_ERR_CONFIG);
    cr_expect(strstr(err.msg, "no \"train\" object"), "%s", err.msg);
}

Test(train_config, a_bad_config_exits_2_and_writes_nothing)
{
    char dir[256], out[300];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", "{\"name\": \"e\", \"train\": {\"optimizer\": \"sgdd\"}}");
    snprintf(out, sizeof out, "%s/out", dir);
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "run %s/c.json -o %s --no-plot --quiet", dir, out);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, errs);
    cr_expect(strstr(errs, "did you mean \"sgd\""), "%s", errs);
    cr_expect_not(vt_exists(out), "nothing written");
    free(errs);
    vt_rmtree(dir);
}

/* ---- data files ---- */

/* A damaged label file (a cut gzip) and a missing one: exit 2 naming the file, no
 * results folder, before any training. */
Test(train_data, damaged_or_missing_label_file_exits_2_and_writes_nothing)
{
    char dir[256], cfg[2048], out[300], bad[300];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    snprintf(bad, sizeof bad, "%s/cut-labels.gz", dir);
    size_t n = 0;
    char *good = vt_slurp(VP_FASHION_MNIST_DIR "/" VP_FASHION_MNIST_TRAIN_LABELS, &n);
    cr_assert_not_null(good, "Debian's dataset-fashion-mnist is installed");
    FILE *f = fopen(bad, "wb");
    cr_assert_not_null(f);
    fwrite(good, 1, n / 2, f); /* a gzip stream cut in the middle */
    fclose(f);
    free(good);
    const char *files[2] = { bad, "/nonexistent/train-labels.gz" };
    const char *want[2] = { "cut-labels.gz", "/nonexistent/train-labels.gz" };
    for (int k = 0; k < 2; k++) {
        snprintf(cfg, sizeof cfg, "{\"name\": \"e\", \"network\": {\"depth\": 2, \"width\": 8}, \"train\": "
                 "{\"dataset\": {\"format\": \"idx\", \"train_images\": \"%s/%s\", \"train_labels\": \"%s\", "
                 "\"test_images\": \"%s/%s\", \"test_labels\": \"%s/%s\"}}}", VP_FASHION_MNIST_DIR,
                 VP_FASHION_MNIST_TRAIN_IMAGES, files[k], VP_FASHION_MNIST_DIR, VP_FASHION_MNIST_TEST_IMAGES,
                 VP_FASHION_MNIST_DIR, VP_FASHION_MNIST_TEST_LABELS);
        vt_write_file(dir, "c.json", cfg);
        snprintf(out, sizeof out, "%s/out%d", dir, k);
        char *errs = NULL;
        int rc = vt_run(dir, NULL, &errs, "run %s/c.json -o %s --quiet", dir, out);
        cr_expect_eq(rc, 2, "exit %d: %s", rc, errs);
        cr_expect(strstr(errs, want[k]), "the message names the file: %s", errs);
        cr_expect_not(vt_exists(out), "nothing written (%s)", out);
        free(errs);
    }
    vt_rmtree(dir);
}

/* ---- runs ---- */

/* runs.csv without its wall-time column (the only one that varies). */
static char *runs_without_seconds(const char *path)
{
    vp_table *t = NULL;
    vp_err err;
    cr_assert_eq(vp_table_load(path, &t, &err), VP_OK, "%s", err.msg);
    int cs = vp_table_find_col(t, VP_COL_SECONDS);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t r = 0; r < vp_table_nrows(t); r++)
        for (size_t c = 0; c < vp_table_ncols(t); c++) {
            const char *cell = (int)c == cs ? "" : vp_table_cell(t, r, c);
            if (len + strlen(cell) + 2 >= cap) buf = realloc(buf, cap *= 2);
            len += (size_t)sprintf(buf + len, "%s%c", cell, c + 1 == vp_table_ncols(t) ? '\n' : ',');
        }
    vp_table_free(t);
    return buf;
}

/* Every training file, layers.csv and runs.csv (seconds aside) of two results folders
 * are the same bytes. */
static void expect_same_results(const char *a, const char *b)
{
    for (size_t k = 0; k < sizeof TRAIN_FILES / sizeof TRAIN_FILES[0]; k++) {
        char pa[400], pb[400];
        snprintf(pa, sizeof pa, "%s/%s", a, TRAIN_FILES[k]);
        snprintf(pb, sizeof pb, "%s/%s", b, TRAIN_FILES[k]);
        size_t na, nb;
        char *x = vt_slurp_must(pa, &na), *y = vt_slurp_must(pb, &nb);
        cr_expect(na == nb && memcmp(x, y, na) == 0, "%s differs between %s and %s", TRAIN_FILES[k], a, b);
        free(x);
        free(y);
    }
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/" VP_FILE_RUNS, a);
    snprintf(pb, sizeof pb, "%s/" VP_FILE_RUNS, b);
    char *x = runs_without_seconds(pa), *y = runs_without_seconds(pb);
    cr_expect_str_eq(x, y, "runs.csv differs");
    free(x);
    free(y);
}

static void run_ok(const char *dir, const char *cfg, const char *out, const char *extra)
{
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "run %s/%s -o %s/%s --no-plot --quiet %s", dir, cfg, dir, out, extra);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    free(errs);
}

Test(train_run, files_rows_and_same_bytes_for_any_threads, .timeout = 120)
{
    char dir[256], a[300], b[300], c[300], d[300];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", SYNTH_CFG);
    /* one run alone: the pool path of a single worker */
    vt_write_file(dir, "one.json", "{\"name\": \"o\", \"network\": {\"depth\": 3, \"width\": 300}, " SYNTH_TRAIN "}");
    run_ok(dir, "c.json", "t1", "--threads 1");
    run_ok(dir, "c.json", "t2", "--threads 2");
    run_ok(dir, "one.json", "o1", "--threads 1");
    run_ok(dir, "one.json", "o3", "--threads 3");
    snprintf(a, sizeof a, "%s/t1", dir);
    snprintf(b, sizeof b, "%s/t2", dir);
    snprintf(c, sizeof c, "%s/o1", dir);
    snprintf(d, sizeof d, "%s/o3", dir);
    expect_same_results(a, b);
    expect_same_results(c, d);
    /* rows: 24 steps per epoch (1200 / 50), 2 epochs, 4 runs; eval epochs 0..2; the probe
     * at step 0 and every 8 steps (7 times) on L + 1 = 5 layers; 10 bins x 4 layers */
    char p[400];
    snprintf(p, sizeof p, "%s/" VP_FILE_TRAIN, a);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 48);
    snprintf(p, sizeof p, "%s/" VP_FILE_EVAL, a);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 3);
    snprintf(p, sizeof p, "%s/" VP_FILE_LAYERS_TRAIN, a);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 7 * 5);
    snprintf(p, sizeof p, "%s/" VP_FILE_HIST_TRAIN, a);
    cr_expect_eq(vt_count_lines(p) - 1, 4 * 7 * 4 * 10);
    /* the network learns the separable clusters: nearest-centroid scores >= 97% at
     * separation 6 (docs/training.md), a trained 4-layer tanh net must beat 85% */
    vp_table *ev = NULL;
    vp_err err;
    snprintf(p, sizeof p, "%s/" VP_FILE_EVAL, a);
    cr_assert_eq(vp_table_load(p, &ev, &err), VP_OK, "%s", err.msg);
    size_t ce, ca;
    cr_assert_eq(vp_table_require_col(ev, VP_COL_EPOCH, &ce, &err), VP_OK);
    cr_assert_eq(vp_table_require_col(ev, VP_COL_TEST_ACC, &ca, &err), VP_OK);
    for (size_t r = 0; r < vp_table_nrows(ev); r++) {
        double epoch, acc;
        vp_table_num(ev, r, ce, &epoch, NULL);
        vp_table_num(ev, r, ca, &acc, NULL);
        if (epoch == 0) cr_expect(acc < 0.5, "before training: about chance (0.25), got %g", acc);
        if (epoch == 2) cr_expect(acc > 0.85, "after 2 epochs: %g", acc);
    }
    vp_table_free(ev);
    vt_rmtree(dir);
}

Test(train_run, a_diverging_variant_stops_and_the_others_go_on, .timeout = 60)
{
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-train-",
                  "{\"name\": \"d\", \"network\": {\"depth\": 3, \"width\": 32, \"input_dim\": 16}, " SYNTH_TRAIN
                  ", \"sweep\": {\"train.optimizer.lr\": [0.05, 1e8]}}");
    vp_table *runs = vt_out_table(dir, VP_FILE_RUNS), *tr = vt_out_table(dir, VP_FILE_TRAIN),
             *ev = vt_out_table(dir, VP_FILE_EVAL);
    size_t cst, cds, cv, cstep, closs;
    vp_err err;
    cr_assert_eq(vp_table_require_col(runs, VP_COL_STATUS, &cst, &err), VP_OK);
    cr_assert_eq(vp_table_require_col(runs, VP_COL_DIVERGED_STEP, &cds, &err), VP_OK, "%s", err.msg);
    cr_expect_str_eq(vp_table_cell(runs, 0, cst), VP_STATUS_OK);
    cr_expect_str_eq(vp_table_cell(runs, 0, cds), "");
    cr_expect_str_eq(vp_table_cell(runs, 1, cst), VP_STATUS_DIVERGED);
    double dstep;
    cr_assert_eq(vp_table_num(runs, 1, cds, &dstep, &err), VP_OK);
    /* train.csv: the diverged run's last row is its first non-finite loss, at diverged_step */
    vp_table_require_col(tr, VP_COL_VARIANT, &cv, NULL);
    vp_table_require_col(tr, VP_COL_STEP, &cstep, NULL);
    vp_table_require_col(tr, VP_COL_LOSS, &closs, NULL);
    long rows1 = 0, rows0 = 0;
    double last_step = 0, last_loss = 0;
    for (size_t r = 0; r < vp_table_nrows(tr); r++) {
        double v, st, loss;
        vp_table_num(tr, r, cv, &v, NULL);
        vp_table_num(tr, r, cstep, &st, NULL);
        vp_table_num(tr, r, closs, &loss, NULL);
        if (v == 0) { rows0++; cr_expect(isfinite(loss)); continue; }
        rows1++;
        if (st < dstep) cr_expect(isfinite(loss), "step %g before the divergence: finite", st);
        last_step = st;
        last_loss = loss;
    }
    cr_expect_eq(rows0, 48, "the other variant trains to the end");
    cr_expect_eq(last_step, dstep);
    cr_expect_not(isfinite(last_loss));
    cr_expect_eq(rows1, (long)dstep);
    /* eval.csv: epoch 0 for both, every epoch for the healthy one only */
    cr_expect_eq(vp_table_nrows(ev), 3 + 1);
    vp_table_free(runs);
    vp_table_free(tr);
    vp_table_free(ev);
    vt_rmtree(dir);
}

/* SIGINT while a run trains: exit 130, the finished runs published; --resume runs the
 * abandoned one again from its start; the files equal an uninterrupted run's. */
Test(train_run, resume_after_an_interruption_gives_the_same_bytes, .timeout = 180)
{
    char dir[256], cfg[300], res[300], ref[300];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    /* 4 runs of ~0.3 s each */
    vt_write_file(dir, "c.json",
                  "{\"name\": \"r\", \"seeds\": 2, \"network\": {\"depth\": 4, \"width\": 128, \"input_dim\": 16}, "
                  "\"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": 16, \"n_train\": 6000, \"n_test\": 200}, "
                  "\"epochs\": 2, \"batch\": 32, \"track_every\": 40, \"hist_bins\": 8}, "
                  "\"sweep\": {\"network.init\": [\"xavier_normal\", \"he_normal\"]}}");
    snprintf(cfg, sizeof cfg, "%s/c.json", dir);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    int pid = vt_spawn_run_until(cfg, res, 0, dir);
    kill(pid, SIGINT);
    int rc = vt_wait_exit(pid, 90);
    cr_assert(rc == 130 || rc == 0, "exit %d", rc);
    char p[400];
    snprintf(p, sizeof p, "%s/" VP_FILE_TRAIN, res);
    if (rc == 130) cr_expect(vt_count_lines(p) - 1 < 4 * 376, "only the finished runs are published");
    run_ok(dir, "c.json", "res", rc == 130 ? "--resume" : "");
    run_ok(dir, "c.json", "ref", "");
    expect_same_results(res, ref);
    vt_rmtree(dir);
}

/* A few hundred steps on the real data: the loss goes down and the test accuracy is far
 * above chance (10%). */
Test(train_run, short_fashion_mnist_run_learns, .timeout = 120)
{
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-train-",
                  "{\"name\": \"f\", \"network\": {\"depth\": 2, \"width\": 64}, \"train\": {\"dataset\": "
                  "\"fashion-mnist\", \"batch\": 64, \"max_steps\": 300, \"optimizer\": {\"name\": \"sgd\", \"lr\": "
                  "0.05, \"momentum\": 0.9}, \"eval_examples\": 2000, \"track_every\": 100}}");
    vp_table *tr = vt_out_table(dir, VP_FILE_TRAIN), *ev = vt_out_table(dir, VP_FILE_EVAL);
    size_t closs, cacc;
    vp_table_require_col(tr, VP_COL_LOSS, &closs, NULL);
    cr_assert_eq(vp_table_nrows(tr), 300);
    double first = 0, last = 0, x;
    for (size_t r = 0; r < 20; r++) {
        vp_table_num(tr, r, closs, &x, NULL);
        first += x / 20;
        vp_table_num(tr, 280 + r, closs, &x, NULL);
        last += x / 20;
    }
    /* ln 10 = 2.30 at the start; a 2-layer net reaches ~0.5 within a few hundred steps */
    cr_expect(first > 1.2, "first 20 steps: mean loss %g", first);
    cr_expect(last < 0.8 && last < 0.5 * first, "last 20 steps: mean loss %g (first %g)", last, first);
    vp_table_require_col(ev, VP_COL_TEST_ACC, &cacc, NULL);
    cr_assert_eq(vp_table_nrows(ev), 2, "epoch 0 and the partial epoch max_steps ends");
    size_t cstep;
    vp_table_require_col(ev, VP_COL_STEP, &cstep, NULL);
    vp_table_num(ev, 1, cstep, &x, NULL);
    cr_expect_eq(x, 300, "eval.csv's step: the partial epoch ended at max_steps (%g)", x);
    vp_table_num(ev, 1, cacc, &x, NULL);
    cr_expect(x > 0.7, "test accuracy after 300 steps: %g", x);
    vp_table_free(tr);
    vp_table_free(ev);
    vt_rmtree(dir);
}

/* The terminal summary says when training diverged, with the first run's step (before:
 * only a '-' in the test acc column); the count comes back from the runs' fragments too,
 * as merge (and --resume) read them: here a shard 1/1 merged. */
Test(train_run, the_summary_says_which_runs_diverged, .timeout = 60)
{
    char dir[256], *o = NULL, *e = NULL;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", "{\"name\": \"d\", \"network\": {\"depth\": 3, \"width\": 32, \"input_dim\": 16}, "
                  SYNTH_TRAIN ", \"sweep\": {\"train.optimizer.lr\": [0.05, 1e8]}}");
    cr_assert_eq(vt_run(dir, &o, &e, "run %s/c.json -o %s/out --no-plot --threads 1", dir, dir), 0, "%s", e);
    vp_table *runs = vt_out_table(dir, VP_FILE_RUNS);
    size_t cds;
    double step;
    cr_assert_eq(vp_table_require_col(runs, VP_COL_DIVERGED_STEP, &cds, NULL), VP_OK);
    cr_assert_eq(vp_table_num(runs, 1, cds, &step, NULL), VP_OK);
    vp_table_free(runs);
    char want[200];
    snprintf(want, sizeof want, "training diverged in 1 of 2 runs (a NaN/Inf loss: status diverged in runs.csv, "
             "diverged_step the step; first: variant 1, seed 0 at step %.0f)", step);
    cr_expect(strstr(o, want), "'%s' not in: %s", want, o);
    free(o), free(e);
    cr_assert_eq(vt_run(dir, &o, &e, "run %s/c.json --shard 1/1 -o %s/sh --quiet --threads 1", dir, dir), 0, "%s", e);
    free(o), free(e);
    cr_assert_eq(vt_run(dir, &o, &e, "merge %s/sh -o %s/merged --no-plot", dir, dir), 0, "%s", e);
    cr_expect(strstr(o, want), "after the merge: '%s' not in: %s", want, o);
    free(o), free(e);
    vt_rmtree(dir);
}

/* Part of Fashion-MNIST (train.dataset n_train, n_test): 2 epochs of the first 3000
 * training examples in batches of 64 are 2 x 47 steps; the test accuracy is a count over
 * the first 700 test examples; config.json keeps the subset. More examples than the file
 * holds: exit 2 naming the key and the file, nothing written. */
Test(train_run, fashion_mnist_subset, .timeout = 120)
{
    char dir[256];
    vt_run_config(dir, sizeof dir, "/tmp/varprop-train-",
                  "{\"name\": \"f\", \"network\": {\"depth\": 2, \"width\": 32}, \"train\": {\"dataset\": "
                  "{\"name\": \"fashion-mnist\", \"n_train\": 3000, \"n_test\": 700}, \"epochs\": 2, \"batch\": 64, "
                  "\"optimizer\": {\"name\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9}, \"track_every\": 100}}");
    vp_table *tr = vt_out_table(dir, VP_FILE_TRAIN), *ev = vt_out_table(dir, VP_FILE_EVAL);
    cr_expect_eq(vp_table_nrows(tr), 2 * 47, "2 epochs of ceil(3000 / 64) steps");
    size_t cacc;
    vp_table_require_col(ev, VP_COL_TEST_ACC, &cacc, NULL);
    cr_assert_eq(vp_table_nrows(ev), 3);
    size_t cstep;
    vp_table_require_col(ev, VP_COL_STEP, &cstep, NULL);
    for (size_t r = 0; r < 3; r++) {
        double x;
        vp_table_num(ev, r, cstep, &x, NULL);
        cr_expect_eq(x, 47.0 * (double)r, "eval.csv row %zu: step %g after %zu epochs of 47", r, x, r);
        vp_table_num(ev, r, cacc, &x, NULL);
        cr_expect(fabs(x * 700 - round(x * 700)) < 1e-6, "epoch %zu: test_acc %.9g is a count over 700", r, x);
    }
    vp_table_free(tr);
    vp_table_free(ev);
    char path[400];
    snprintf(path, sizeof path, "%s/out/config.json", dir);
    char *cj = vt_slurp_must(path, NULL);
    cr_expect(strstr(cj, "\"n_train\":\t3000") || strstr(cj, "\"n_train\": 3000") || strstr(cj, "\"n_train\":3000"),
              "config.json keeps the subset: %.400s", cj);
    free(cj);
    vt_rmtree(dir);

    char out[300], *errs = NULL;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", "{\"name\": \"e\", \"train\": {\"dataset\": {\"name\": \"fashion-mnist\", "
                                 "\"n_train\": 60001}}}");
    snprintf(out, sizeof out, "%s/out", dir);
    int rc = vt_run(dir, NULL, &errs, "run %s/c.json -o %s --no-plot --quiet", dir, out);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, errs);
    cr_expect(strstr(errs, "train.dataset: n_train is 60001, more than the 60000 examples of") &&
              strstr(errs, "train-images-idx3-ubyte"), "%s", errs);
    cr_expect_not(vt_exists(out), "nothing written");
    free(errs);
    vt_rmtree(dir);
}

/* Occurrences of needle in text. */
static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* The training charts' data: one block per variant (loss, accuracy), per variant x
 * quantity x layer (variance), per variant x shown layer (heat map); the accuracy
 * chart's median at each epoch is the median over the seeds of eval.csv. */
Test(train_charts, dat_files_hold_the_blocks_and_the_medians, .timeout = 120)
{
    char dir[256], p[400];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", SYNTH_CFG);
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "run %s/c.json -o %s/out --plots %s/plots --quiet", dir, dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    free(errs);
    static const struct { const char *stem; int blocks; } want[] = {
        { "train_loss", 2 }, { "train_acc", 2 }, { "train_var", 2 * 2 * 5 }, { "train_hist", 2 * 4 } };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        snprintf(p, sizeof p, "%s/plots/%s.dat", dir, want[k].stem);
        char *t = vt_slurp_must(p, NULL);
        cr_expect_eq(count_of(t, "# index "), want[k].blocks, "%s.dat: %d blocks", want[k].stem, count_of(t, "# index "));
        free(t);
        snprintf(p, sizeof p, "%s/plots/%s.png", dir, want[k].stem);
        cr_expect(vt_exists(p), "%s drawn", p);
    }
    /* train_acc.dat block 0 (variant 0): "epoch median min max n" for epochs 0, 1, 2 */
    vp_table *ev = vt_out_table(dir, VP_FILE_EVAL);
    size_t ce, ca;
    vp_table_require_col(ev, VP_COL_EPOCH, &ce, NULL);
    vp_table_require_col(ev, VP_COL_TEST_ACC, &ca, NULL);
    snprintf(p, sizeof p, "%s/plots/train_acc.dat", dir);
    char *t = vt_slurp_must(p, NULL);
    const char *b = strstr(t, "# index 0");
    cr_assert_not_null(b);
    b = strchr(strchr(b, '\n') + 1, '\n') + 1; /* past the column line */
    for (int epoch = 0; epoch <= 2; epoch++) {
        double x, med, lo, hi, acc[2];
        int n, k = 0;
        cr_assert_eq(sscanf(b, "%lf %lf %lf %lf %d", &x, &med, &lo, &hi, &n), 5, "%.60s", b);
        for (size_t r = 0; r < vp_table_nrows(ev) && k < 2; r++) { /* variant 0: the first rows, seed-major */
            double e;
            vp_table_num(ev, r, ce, &e, NULL);
            if (e == epoch) vp_table_num(ev, r, ca, &acc[k++], NULL);
        }
        cr_expect_eq(x, epoch);
        cr_expect_eq(n, 2);
        cr_expect(fabs(med - (acc[0] + acc[1]) / 2) < 1e-6, "epoch %d: median %g of %g and %g", epoch, med, acc[0], acc[1]);
        cr_expect(fabs(lo - fmin(acc[0], acc[1])) < 1e-6 && fabs(hi - fmax(acc[0], acc[1])) < 1e-6);
        b = strchr(b, '\n') + 1;
    }
    free(t);
    vp_table_free(ev);
    /* train_loss.dat block 0: 48 steps (1200 / 50 x 2 epochs), so the thick line is the
     * running geometric mean of the median over +-48/40 = 1 step: exp of the mean log
     * of the medians around it (two at the ends, three inside) */
    snprintf(p, sizeof p, "%s/plots/train_loss.dat", dir);
    t = vt_slurp_must(p, NULL);
    b = strstr(t, "# index 0");
    cr_assert_not_null(b);
    b = strchr(strchr(b, '\n') + 1, '\n') + 1;
    double med[48], sm[48];
    int rows = 0;
    for (; rows < 48 && *b && *b != '\n'; rows++, b = strchr(b, '\n') + 1) {
        double x, lo, hi;
        int n;
        cr_assert_eq(sscanf(b, "%lf %lf %lf %lf %d %lf", &x, &med[rows], &lo, &hi, &n, &sm[rows]), 6, "%.80s", b);
    }
    cr_assert_eq(rows, 48);
    for (int i = 0; i < rows; i++) {
        double sum = 0;
        int k = 0;
        for (int j = i - 1; j <= i + 1; j++)
            if (j >= 0 && j < rows) { sum += log(med[j]); k++; }
        cr_expect(fabs(sm[i] / exp(sum / k) - 1) < 1e-8, "step %d: smoothed %.9g, medians around it give %.9g", i + 1,
                  sm[i], exp(sum / k));
    }
    free(t);
    /* the training charts' subtitle gives train.batch (50), not the measurement's input.batch (32) */
    snprintf(p, sizeof p, "%s/plots/train_loss.gp", dir);
    t = vt_slurp_must(p, NULL);
    cr_expect(strstr(t, "batch 50") && !strstr(t, "batch 32"), "train_loss.gp subtitle");
    free(t);
    vt_rmtree(dir);
}

/* The summary table of a training sweep ends each variant's row with its final test
 * accuracy (the median over seeds of eval.csv's last epoch), and "-" for a variant
 * whose every seed diverged. */
Test(train_run, the_summary_shows_the_final_test_accuracy, .timeout = 60)
{
    char dir[256], *o = NULL, *e = NULL;
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json",
                  "{\"name\": \"acc\", \"network\": {\"depth\": 3, \"width\": 32, \"input_dim\": 16}, " SYNTH_TRAIN
                  ", \"sweep\": {\"train.optimizer.lr\": [0.05, 1e8]}}");
    int rc = vt_run(dir, &o, &e, "run %s/c.json -o %s/out --no-plot --threads 1", dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, e);
    vp_table *ev = vt_out_table(dir, VP_FILE_EVAL);
    size_t cv, cep, cacc;
    vp_err err;
    cr_assert_eq(vp_table_require_col(ev, VP_COL_VARIANT, &cv, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_table_require_col(ev, VP_COL_EPOCH, &cep, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_table_require_col(ev, VP_COL_TEST_ACC, &cacc, &err), VP_OK, "%s", err.msg);
    double best_ep = -1, acc = NAN;
    for (size_t r = 0; r < vp_table_nrows(ev); r++) {
        double v, ep, a;
        vp_table_num(ev, r, cv, &v, NULL);
        vp_table_num(ev, r, cep, &ep, NULL);
        vp_table_num(ev, r, cacc, &a, NULL);
        if (v == 0 && ep > best_ep) best_ep = ep, acc = a;
    }
    cr_assert_eq(best_ep, 2, "variant 0 trained both epochs");
    char want[64];
    snprintf(want, sizeof want, " %9.4f\n", acc);
    const char *row0 = strstr(o, "\n0 "), *row1 = strstr(o, "\n1 ");
    cr_assert(strstr(o, "test acc") && row0 && row1, "%s", o);
    const char *end0 = strchr(row0 + 1, '\n');
    cr_expect(end0 && (size_t)(end0 - row0) + 1 >= strlen(want) && strncmp(end0 + 1 - strlen(want), want, strlen(want)) == 0,
              "variant 0's row ends with its final test accuracy %s: %s", want, o);
    const char *end1 = strchr(row1 + 1, '\n');
    cr_expect(end1 && end1[-1] == '-', "the diverged variant shows -: %s", o);
    vp_table_free(ev);
    free(o);
    free(e);
    vt_rmtree(dir);
}

/* report.md's Training table names the variants as the summary does (a swept training
 * setting is a column) and leaves diverged seeds out of the accuracies: a variant whose
 * every seed diverged shows '–', not the accuracy of its untrained net (its last
 * evaluation, from before the divergence). */
Test(train_charts, report_training_table_names_swept_keys_and_skips_diverged_seeds, .timeout = 120)
{
    char dir[256], p[400];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "lr.json",
                  "{\"name\": \"lr\", \"seeds\": 2, \"network\": {\"depth\": 4, \"width\": 32}, \"input\": {\"batch\": 64}, "
                  "\"train\": {\"dataset\": {\"name\": \"synthetic\", \"kind\": \"clusters\", \"dim\": 32, \"classes\": 4, "
                  "\"n_train\": 400, \"n_test\": 100}, \"epochs\": 1, \"batch\": 50, \"optimizer\": {\"name\": \"sgd\", "
                  "\"lr\": 0.05}}, \"sweep\": {\"train.optimizer.lr\": [0.05, 1000]}}");
    char *errs = NULL;
    int rc = vt_run(dir, NULL, &errs, "run %s/lr.json -o %s/out --plots %s/plots --quiet", dir, dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    free(errs);
    snprintf(p, sizeof p, "%s/plots/report.md", dir);
    char *md = vt_slurp_must(p, NULL), *tr = strstr(md, "## Training");
    cr_assert_not_null(tr);
    cr_assert(strstr(tr, "| # | activation | initializer | train.optimizer.lr | epochs | test accuracy |"), "%s", tr);
    cr_assert(strstr(tr, "| 1 | relu | he\\_normal | 1000 | 0 | – | – | 2 of 2 |"), "lr 1000 diverged in both seeds: %s", tr);
    cr_assert(strstr(tr, "| 0 | relu | he\\_normal | 0.05 | 1 | 0."), "%s", tr);
    free(md);
    vt_rmtree(dir);
}

/* Config `cfg` run into a fresh DIR (one thread) with its charts drawn into DIR/plots;
 * returns the script DIR/plots/<stem>.gp. */
static char *chart_script(char dir[256], const char *cfg, const char *stem)
{
    char p[400], *errs = NULL;
    vt_mktmp(dir, 256, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", cfg);
    int rc = vt_run(dir, NULL, &errs, "run %s/c.json -o %s/out --plots %s/plots --quiet --threads 1", dir, dir, dir);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, errs);
    free(errs);
    snprintf(p, sizeof p, "%s/plots/%s.gp", dir, stem);
    return vt_slurp_must(p, NULL);
}

/* A 6-layer tanh study of 3 initializers, one seed, one epoch (a few tenths of a
 * second): its train_var and train_hist charts (train_hist's 3 rows of 4 panels) are
 * drawn into DIR/plots; returns train_hist.gp or train_var.gp, as `stem` asks. */
static char *train_charts_of_three(char dir[256], const char *stem)
{
    return chart_script(dir,
                        "{\"name\": \"t3\", \"seeds\": 1, \"network\": {\"depth\": 6, \"width\": 16, \"activation\": \"tanh\"}, "
                        "\"input\": {\"batch\": 16}, \"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": 16, "
                        "\"classes\": 4, \"n_train\": 400, \"n_test\": 100, \"separation\": 6}, \"epochs\": 1, \"batch\": 50, "
                        "\"optimizer\": {\"name\": \"sgd\", \"lr\": 0.05}, \"track_every\": 2, \"hist_bins\": 10}, "
                        "\"sweep\": {\"network.init\": [\"xavier_normal\", {\"name\": \"normal\", \"std\": 0.01}, "
                        "{\"name\": \"orthogonal\", \"gain\": \"auto\"}]}}",
                        stem);
}

/* train_hist's colour bar is named beside it, as the line charts' bar is: its label
 * was a cblabel lifted by 'offset 0,2.2' onto the bar itself (a new user's find). The
 * name ends left of the bar, at the bar's height. */
Test(train_charts, the_colour_bar_name_is_beside_the_bar, .timeout = 60)
{
    char dir[256];
    char *gp = train_charts_of_three(dir, "train_hist");
    const char *box = strstr(gp, "set colorbox horizontal user origin screen ");
    cr_assert_not_null(box);
    double x, y, w, h, lx, ly;
    cr_assert_eq(sscanf(box, "set colorbox horizontal user origin screen %lf, screen %lf size screen %lf, screen %lf",
                        &x, &y, &w, &h), 4);
    cr_assert_null(strstr(gp, "set cblabel"), "no label under (or over) the bar");
    const char *name = strstr(box, "'log_{10} density' at screen ");
    cr_assert_not_null(name, "the bar is named");
    cr_assert_eq(sscanf(name, "'log_{10} density' at screen %lf, screen %lf right", &lx, &ly), 2, "%.80s", name);
    cr_assert(lx < x && ly >= y && ly <= y + h, "the name ends at %g, %g; the bar spans x %g.., y %g..%g", lx, ly, x, y,
              y + h);
    free(gp);
    vt_rmtree(dir);
}

/* The panel titles wrote 'h^1' and 'Var[z^l]' with raw carets (noenhanced: they hold the
 * config's names); they now write superscripts as the other charts' titles do, in
 * Unicode ('Var[zˡ]' in draw.c): 'h¹', 'Var[∂L/∂zˡ]'. */
Test(train_charts, panel_titles_write_superscripts, .timeout = 60)
{
    static const char *const stems[2] = { "train_var", "train_hist" };
    static const char *const want[2][2] = { { "— Var[zˡ]'", "— Var[∂L/∂zˡ]'" }, { "— h¹'", "— h⁶'" } };
    for (int k = 0; k < 2; k++) {
        char dir[256];
        char *gp = train_charts_of_three(dir, stems[k]);
        int titles = 0;
        for (const char *t = strstr(gp, "set title '"); t; t = strstr(t + 1, "set title '"), titles++) {
            const char *end = strchr(t, '\n');
            cr_assert(!memchr(t, '^', (size_t)(end - t)), "%s: %.*s", stems[k], (int)(end - t), t);
        }
        cr_assert_geq(titles, 4, "%s", stems[k]);
        cr_assert(strstr(gp, want[k][0]) && strstr(gp, want[k][1]), "%s", stems[k]);
        free(gp);
        vt_rmtree(dir);
    }
}

/* Titles wrapped unevenly (a new user's train_var: the gradient panels' titles broke
 * into two small lines, the activation panels' stayed one large line, and the next
 * took the small font anyway) and ran into each other or off the page (train_hist's
 * last column, 'tanh / orthogonal(gain=auto) — h⁶'). Now a chart's titles break
 * alike, and every line stays on the page, clear of its neighbours. */
Test(train_charts, panel_titles_break_alike_and_stay_clear, .timeout = 60)
{
    static const char *const stems[2] = { "train_var", "train_hist" };
    for (int k = 0; k < 2; k++) {
        char dir[256];
        char *gp = train_charts_of_three(dir, stems[k]);
        vt_check_panel_titles(gp, stems[k]);
        free(gp);
        vt_rmtree(dir);
    }
}

/* The training charts' subtitle with a swept optimizer: "optimizer swept, lr 0.01" (it read
 * "swept lr 0.01", as if the lr were swept). */
Test(train_charts, a_swept_optimizer_is_named_in_the_subtitle, .timeout = 60)
{
    char dir[256];
    char *gp = chart_script(dir, "{\"name\":\"os\",\"seeds\":1,\"network\":{\"depth\":2,\"width\":16},\"input\":{\"batch\":16},"
                                 "\"train\":{\"dataset\":{\"name\":\"synthetic\",\"dim\":16,\"classes\":3,\"n_train\":64,"
                                 "\"n_test\":16},\"epochs\":1,\"batch\":16,\"optimizer\":{\"lr\":0.01}},"
                                 "\"sweep\":{\"train.optimizer.name\":[\"sgd\",\"adam\"]}}",
                            "train_loss");
    cr_expect(strstr(gp, "optimizer swept, lr 0.01") && !strstr(gp, "swept lr"), "%.600s", gp);
    free(gp);
    vt_rmtree(dir);
}

/* A training loss on a log axis spanning less than a decade (Fashion-MNIST, 2.9 down to
 * 0.5) is labelled at its 1-2-5 values or finer ones, below 1 too (a linear step gave 2
 * and 4 only). */
Test(train_charts, a_loss_within_a_decade_gets_log_labels, .timeout = 60)
{
    char dir[256];
    char *gp = chart_script(dir, "{\"name\":\"fm\",\"seeds\":1,\"network\":{\"depth\":3,\"width\":64},\"input\":{\"batch\":64},"
                                 "\"train\":{\"dataset\":{\"name\":\"fashion-mnist\",\"n_train\":2000,\"n_test\":500},"
                                 "\"epochs\":2,\"batch\":64,\"optimizer\":{\"name\":\"sgd\",\"lr\":0.05,\"momentum\":0.9}}}",
                            "train_loss");
    double lo = 0, hi = 0;
    const char *yr = strstr(gp, "set yrange [");
    cr_assert(yr && sscanf(yr, "set yrange [%lf:%lf]", &lo, &hi) == 2, "%.400s", gp);
    cr_assert(hi < 10 * lo, "this loss spans less than a decade: %g .. %g", lo, hi);
    const char *yt = strstr(gp, "set ytics (");
    cr_assert(yt, "%.600s", gp);
    int n = 0, below1 = 0;
    for (const char *q = yt + 11; *q && *q != ')';) {
        char *end;
        if (*q == '\'') q = strchr(q + 1, '\'') + 1; /* its label, then the value */
        double v = strtod(q, &end);
        if (end == q) break;
        n++;
        below1 += v < 1;
        q = end;
        while (*q == ',' || *q == ' ') q++;
    }
    cr_expect(n >= 3 && below1 >= 1, "%d labels, %d below 1: %.80s", n, below1, yt);
    free(gp);
    vt_rmtree(dir);
}

/* The probe runs at step 0, every track_every steps and at the last step: 8 steps with
 * track_every 3 are probed at 0, 3, 6 and 8 (the end state was missing; a training shorter
 * than track_every had step 0 only, and its train_var chart was blank). */
Test(train_run, the_probe_tracks_the_last_step, .timeout = 60)
{
    char dir[256], p[400];
    vt_mktmp(dir, sizeof dir, "/tmp/varprop-train-");
    vt_write_file(dir, "c.json", "{\"name\": \"tr\", \"network\": {\"depth\": 2, \"width\": 8}, \"input\": {\"batch\": 8},"
                                 " \"train\": {\"dataset\": {\"name\": \"synthetic\", \"dim\": 8, \"n_train\": 64,"
                                 " \"n_test\": 16}, \"epochs\": 2, \"batch\": 16, \"track_every\": 3}}");
    run_ok(dir, "c.json", "r", "--threads 1");
    snprintf(p, sizeof p, "%s/r/" VP_FILE_LAYERS_TRAIN, dir);
    vp_table *t = NULL;
    vp_err err;
    cr_assert_eq(vp_table_load(p, &t, &err), VP_OK, "%s", err.msg);
    size_t cs;
    cr_assert_eq(vp_table_require_col(t, VP_COL_STEP, &cs, &err), VP_OK, "%s", err.msg);
    const double want[] = { 0, 3, 6, 8 };
    size_t k = 0;
    double last = -1;
    for (size_t r = 0; r < vp_table_nrows(t); r++) {
        double step;
        vp_table_num(t, r, cs, &step, NULL);
        if (step == last) continue; /* the layers of one probe */
        cr_assert_lt(k, 4, "a probe at step %g", step);
        cr_assert_eq(step, want[k], "probe %zu at step %g, not %g", k, step, want[k]);
        last = step, k++;
    }
    cr_assert_eq(k, 4, "%zu probes", k);
    vp_table_free(t);
    /* train_hist: the last probe's cells span as far as the one before (6 -> 8: 2 steps), not a
       1-step sliver; its .dat rows give the cell's centre and half span */
    char *errs = NULL;
    cr_assert_eq(vt_run(dir, NULL, &errs, "plot %s/r -o %s/p", dir, dir), 0, "%s", errs);
    free(errs);
    snprintf(p, sizeof p, "%s/p/train_hist.dat", dir);
    char *dat = vt_slurp_must(p, NULL);
    int ends = 0, sliver = 0;
    for (char *line = dat; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        double x, y, hx;
        if (line[0] == '#' || sscanf(line, "%lf %lf %lf", &x, &y, &hx) != 3) continue;
        ends += x == 9 && hx == 1;
        sliver += x == 8.5 && hx == 0.5;
    }
    cr_assert(ends > 0 && !sliver, "last cells %d, slivers %d", ends, sliver);
    free(dat);
    vt_rmtree(dir);
}
