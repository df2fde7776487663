/* train_driver: times core/train (vp_trainer_step) for whole epochs on Fashion-MNIST
 * (or synthetic clusters), the way the training runner drives it: one shuffled epoch
 * in batches (drop_last=False), each batch gathered into a contiguous block, then
 * one step. Loading the data and the evaluation are timed apart from the epoch.
 *
 * usage: train_driver [--depth L] [--width N] [--batch B] [--threads T] [--epochs E]
 *                     [--init he_normal|xavier_uniform|...] [--act relu|...]
 *                     [--optim sgd|adam] [--lr X] [--momentum X] [--seed S]
 *                     [--synthetic] [--f64] [--steps K (stop after K steps)]
 * Output: one JSON object on stdout:
 *   {"samples":..., "seconds":..., "cpu_s": (the epoch loop's user + system CPU),
 *    "samples_per_s":..., "steps":..., "final_loss":...,
 *    "test_loss":..., "test_acc":..., "load_s":..., "eval_s":..., "threads":...}
 *
 * Build (bench.py does this): gcc -O2 -Isrc ... bench/train_driver.c build/libvarprop.a
 *   -lcjson -lopenblas -lz -lm -lpthread
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/pool.h"
#include "core/dataset.h"
#include "core/train.h"
#include "epoch_loop.h"

void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds (user + system) of the whole process so far: on a shared machine the
 * epoch's CPU time is steadier than its wall time (both are reported). */
static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

/* bench_epochs' step: vp_trainer_step */
static vp_status step(void *t, const void *x, const int32_t *y, size_t n, vp_train_step_info *info, vp_err *err)
{
    return vp_trainer_step(t, x, y, n, info, err);
}

static void die(const char *what, const vp_err *err)
{
    fprintf(stderr, "train_driver: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

int main(int argc, char **argv)
{
    int L = 30, width = 256, batch = 128, threads = 2, epochs = 1, synthetic = 0, f64 = 0;
    long max_steps = -1;
    const char *init = "he_normal", *act_name = "relu", *optim = "sgd";
    double lr = 0.01, momentum = 0.9;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--synthetic")) { synthetic = 1; continue; }
        if (!strcmp(a, "--f64")) { f64 = 1; continue; }
        if (!v) { fprintf(stderr, "train_driver: %s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--depth")) L = atoi(v);
        else if (!strcmp(a, "--width")) width = atoi(v);
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--init")) init = v;
        else if (!strcmp(a, "--act")) act_name = v;
        else if (!strcmp(a, "--optim")) optim = v;
        else if (!strcmp(a, "--lr")) lr = atof(v);
        else if (!strcmp(a, "--momentum")) momentum = atof(v);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--steps")) max_steps = atol(v);
        else { fprintf(stderr, "train_driver: unknown option %s\n", a); return 2; }
    }
    openblas_set_num_threads(1);
    vp_err err = { 0 };
    vp_precision prec = f64 ? VP_F64 : VP_F32;
    double t0 = now();
    vp_dataset d;
    vp_dataset_spec spec = { .source = synthetic ? VP_DATA_SYNTHETIC : VP_DATA_FASHION_MNIST };
    spec.synth = vp_synth_default(VP_SYNTH_CLUSTERS);
    if (vp_dataset_load(&d, &spec, prec, &err)) die("loading the data", &err);
    double load_s = now() - t0;

    int *w = malloc((size_t)(L + 1) * sizeof *w);
    w[0] = d.dim;
    for (int l = 1; l <= L; l++) w[l] = width;
    vp_act act = vp_act_default(vp_act_find(act_name));
    vp_train_opts o = { .classes = d.classes, .loss = VP_LOSS_CROSS_ENTROPY,
                        .sched = vp_sched_default(VP_SCHED_CONSTANT) };
    o.optim = vp_optim_default(vp_optim_find(optim));
    o.optim.p[VP_OPTIM_LR] = lr;
    if (o.optim.kind == VP_OPTIM_SGD) o.optim.p[VP_SGD_MOMENTUM] = momentum;
    vp_batches bt;
    if (vp_batches_init(&bt, d.train.n, (size_t)batch, &err)) die("batches", &err);
    o.total_steps = (long)vp_batches_count(&bt) * epochs;
    vp_trainer *t;
    if (vp_trainer_create(&t, L, w, batch, prec, act, &o, &err)) die("creating the trainer", &err);
    vp_pool *pool = NULL;
    if (threads > 1 && vp_pool_create(&pool, threads, &err)) die("pool", &err);
    vp_trainer_set_pool(t, pool);
    vp_init wi = vp_init_default(vp_init_find(init)), bi = vp_init_default(VP_INIT_ZEROS);
    vp_init_resolve_auto(&wi, vp_act_torch_gain(&act));
    if (vp_trainer_init_params(t, &wi, &bi, &wi, &bi, seed, &err)) die("init", &err);

    size_t rs = f64 ? sizeof(double) : sizeof(float);
    void *x = malloc((size_t)batch * (size_t)d.dim * rs);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    vp_train_step_info info = { 0 };
    long steps = 0;
    size_t samples = 0;
    double t1 = now(), c1 = cpu_now();
    if (bench_epochs(&d, &bt, seed, epochs, max_steps, x, y, step, t, &steps, &samples, &info, &err))
        die("epochs", &err);
    double secs = now() - t1, cpu = cpu_now() - c1;
    double t2 = now(), test_loss = NAN;
    long long correct = 0;
    const void *tx = f64 ? (const void *)d.test.x64 : (const void *)d.test.x32;
    if (vp_trainer_eval(t, tx, d.test.y, d.test.n, &test_loss, &correct, &err)) die("eval", &err);
    double eval_s = now() - t2;
    printf("{\"samples\":%zu,\"seconds\":%.6f,\"cpu_s\":%.6f,\"samples_per_s\":%.1f,\"steps\":%ld,\"final_loss\":%.6f,"
           "\"test_loss\":%.6f,\"test_acc\":%.4f,\"load_s\":%.3f,\"eval_s\":%.3f,\"threads\":%d,"
           "\"init\":\"%s\",\"depth\":%d,\"width\":%d,\"batch\":%d}\n",
           samples, secs, cpu, (double)samples / secs, steps, info.loss, test_loss,
           (double)correct / (double)d.test.n, load_s, eval_s, threads, init, L, width, batch);
    free(x);
    free(y);
    free(w);
    vp_trainer_free(t);
    vp_pool_free(pool);
    vp_batches_free(&bt);
    vp_dataset_free(&d);
    return 0;
}
