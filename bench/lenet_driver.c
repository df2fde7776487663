/* lenet_driver: times core/net_train (vp_net_trainer_step) on issue 15's original
 * comparison, the network of experiments/seed_lenet5_xavier_vs_he.json:
 *   [1, 28, 28] -> conv2d(6, 3x3, relu) -> maxpool2d(2) -> flatten -> dense(128, relu)
 *   -> dense(10, linear), zero biases, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-7),
 *   batch 64, Fashion-MNIST, float32,
 * the way the training runner drives it: one shuffled epoch in batches (drop_last=False),
 * each batch gathered into a contiguous block, then one step. Loading the data and the
 * evaluation are timed apart from the epoch (as bench/lenet_peer.py times its loop).
 *
 * usage: lenet_driver [--threads T] [--epochs E] [--init he_uniform|glorot_uniform]
 *                     [--batch B] [--seed S] [--steps K (stop after K steps)]
 * Output: one JSON object on stdout:
 *   {"samples":..., "seconds":..., "samples_per_s":..., "steps":..., "final_loss":...,
 *    "test_loss":..., "test_acc":..., "load_s":..., "eval_s":..., "threads":..., "init":...}
 *
 * Build (bench/lenet_bench.py does this): gcc -O2 -Isrc ... bench/lenet_driver.c
 *   build/libvarprop.a -lcjson -lopenblas -lz -lm -lpthread
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pool.h"
#include "core/dataset.h"
#include "core/net_train.h"
#include "epoch_loop.h"

void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* bench_epochs' step: vp_net_trainer_step */
static vp_status step(void *t, const void *x, const int32_t *y, size_t n, vp_train_step_info *info, vp_err *err)
{
    return vp_net_trainer_step(t, x, y, n, info, err);
}

static void die(const char *what, const vp_err *err)
{
    fprintf(stderr, "lenet_driver: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static vp_layer_spec layer(vp_layer_kind k, int out, int kernel, vp_act_kind act, const vp_init *wi)
{
    vp_layer_spec l = vp_layer_plain(k);
    l.out = out;
    l.kernel = kernel;
    if (k == VP_LAYER_MAXPOOL2D) l.stride = kernel;
    l.act = vp_act_default(act);
    l.winit = *wi;
    l.binit = vp_init_default(VP_INIT_ZEROS);
    return l;
}

int main(int argc, char **argv)
{
    int batch = 64, threads = 2, epochs = 1;
    long max_steps = -1;
    const char *init = "he_uniform";
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { fprintf(stderr, "lenet_driver: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--init")) init = v;
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--steps")) max_steps = atol(v);
        else { fprintf(stderr, "lenet_driver: unknown option %s\n", a); return 2; }
    }
    openblas_set_num_threads(1);
    vp_err err = { 0 };
    double t0 = now();
    vp_dataset d;
    vp_dataset_spec spec = { .source = VP_DATA_FASHION_MNIST };
    if (vp_dataset_load(&d, &spec, VP_F32, &err)) die("loading the data", &err);
    double load_s = now() - t0;

    vp_init wi = vp_init_default(vp_init_find(init));
    vp_act relu = vp_act_default(VP_ACT_RELU);
    vp_init_resolve_auto(&wi, vp_act_torch_gain(&relu));
    vp_layer_spec ls[5] = { layer(VP_LAYER_CONV2D, 6, 3, VP_ACT_RELU, &wi),
                            layer(VP_LAYER_MAXPOOL2D, 0, 2, VP_ACT_IDENTITY, &wi),
                            layer(VP_LAYER_FLATTEN, 0, 0, VP_ACT_IDENTITY, &wi),
                            layer(VP_LAYER_DENSE, 128, 0, VP_ACT_RELU, &wi),
                            layer(VP_LAYER_DENSE, d.classes, 0, VP_ACT_IDENTITY, &wi) };
    vp_shape in = { 1, 28, 28, 0 };
    vp_train_opts o = { .classes = d.classes, .loss = VP_LOSS_CROSS_ENTROPY,
                        .sched = vp_sched_default(VP_SCHED_CONSTANT) };
    o.optim = vp_optim_default(VP_OPTIM_ADAM);
    o.optim.p[VP_ADAM_LR] = 1e-3;
    o.optim.p[VP_ADAM_BETA1] = 0.9;
    o.optim.p[VP_ADAM_BETA2] = 0.999;
    o.optim.p[VP_ADAM_EPS] = 1e-7;
    vp_batches bt;
    if (vp_batches_init(&bt, d.train.n, (size_t)batch, &err)) die("batches", &err);
    o.total_steps = (long)vp_batches_count(&bt) * epochs;
    vp_net_trainer *t;
    if (vp_net_trainer_create(&t, ls, 5, in, batch, VP_F32, &o, &err)) die("creating the trainer", &err);
    vp_pool *pool = NULL;
    if (threads > 1 && vp_pool_create(&pool, threads, &err)) die("pool", &err);
    vp_net_trainer_set_pool(t, pool);
    if (vp_net_trainer_init_params(t, seed, &err)) die("init", &err);

    float *x = malloc((size_t)batch * (size_t)d.dim * sizeof *x);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    vp_train_step_info info = { 0 };
    long steps = 0;
    size_t samples = 0;
    double t1 = now();
    if (bench_epochs(&d, &bt, seed, epochs, max_steps, x, y, step, t, &steps, &samples, &info, &err))
        die("epochs", &err);
    double secs = now() - t1;
    double t2 = now(), test_loss = NAN;
    long long correct = 0;
    if (vp_net_trainer_eval(t, d.test.x32, d.test.y, d.test.n, &test_loss, &correct, &err)) die("eval", &err);
    double eval_s = now() - t2;
    printf("{\"samples\":%zu,\"seconds\":%.6f,\"samples_per_s\":%.1f,\"steps\":%ld,\"final_loss\":%.6f,"
           "\"test_loss\":%.6f,\"test_acc\":%.4f,\"load_s\":%.3f,\"eval_s\":%.3f,\"threads\":%d,"
           "\"init\":\"%s\",\"batch\":%d}\n",
           samples, secs, (double)samples / secs, steps, info.loss, test_loss,
           (double)correct / (double)d.test.n, load_s, eval_s, threads, init, batch);
    free(x);
    free(y);
    vp_net_trainer_free(t);
    vp_pool_free(pool);
    vp_batches_free(&bt);
    vp_dataset_free(&d);
    return 0;
}
