/* PyTorch agreement of training (src/core/train.c), issue 14's target: the same
 * initial weights and the same batches give the same loss curve, for 20 steps of
 * SGD with momentum and of Adam.
 *
 * The C side draws the weights (vp_trainer_init_params) and the batches, writes them
 * as exact decimals to a case file, and tests/torch/train_agree.py trains the same
 * nn.Sequential(Linear, act, ..., Linear) with torch.optim on them; it prints each
 * step's loss (before the update, as vp_trainer_step reports it). The last batch is
 * shorter than the others (drop_last=False).
 *
 * Tolerance. float32: the two loss curves are two float32 roundings of one exact
 * trajectory; how far float32 rounding moves this trajectory is measured by running
 * the C trainer in float32 and in float64 from the same weights and batches:
 * e_t = max over s <= t of |L32_s - L64_s| (an envelope: the steps' growth of the
 * rounding error so far). Torch's rounding differs from ours in order, not in size, so
 * |torch_t - C_t| <= 4 e_t + 16 u32 (1 + |L_t|) (u32 = 2^-24; the second term covers the
 * loss itself, which torch evaluates in float32 and C in double).
 * float64: the same trajectory with 2^-29 times smaller roundings, so the envelope is
 * scaled by u64/u32 = 2^-29, plus 16 u64 (1 + |L|).
 *
 * Skipped, with a message, when `/usr/bin/python3 -c 'import torch'` fails. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/train.h"
#include "harness.h"

#define STEPS 20
#define BATCH 10
#define LAST 7 /* rows of the last batch */
#define N0 12
#define CLASSES 5
#define L_HIDDEN 3
static const int WIDTHS[L_HIDDEN + 1] = { N0, 16, 16, 16 };

typedef struct {
    const char *name;
    vp_act_kind act;
    vp_loss_kind loss;
    vp_optim opt;
} agree_case;

static size_t rows_of(int step) { return step == STEPS - 1 ? LAST : BATCH; }

/* Batch `step`: inputs N(0,1) rounded to float32 (both precisions train on the same
 * numbers); labels from a fixed linear teacher, argmax_c <x, t_c>, so there is
 * something to learn and the loss curve moves. */
static void batch(int step, double *x, int32_t *y)
{
    vt_teacher_batch(77, (uint32_t)step, 78, rows_of(step), N0, CLASSES, x, y);
}

static vp_trainer *make(const agree_case *c, vp_precision prec)
{
    vp_train_opts o = { .classes = CLASSES, .loss = c->loss, .optim = c->opt,
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = STEPS };
    vp_trainer *t;
    vp_err err = { 0 };
    vp_act act = vp_act_default(c->act);
    cr_assert_eq(vp_trainer_create(&t, L_HIDDEN, WIDTHS, BATCH, prec, act, &o, &err), VP_OK, "%s", err.msg);
    /* PyTorch's own nn.Linear default (kaiming_uniform(a=sqrt 5) = U(+-1/sqrt(fan_in)))
     * for the weights, normal(0, 0.1) for the biases. */
    vp_init wi = vp_init_default(VP_INIT_TORCH_LINEAR), bi = vp_init_default(VP_INIT_NORMAL);
    bi.p[1] = 0.1;
    cr_assert_eq(vp_trainer_init_params(t, &wi, &bi, &wi, &bi, 5, &err), VP_OK, "%s", err.msg);
    return t;
}

static int layer_out(int l) { return l <= L_HIDDEN ? WIDTHS[l] : CLASSES; }

/* Copy every parameter of `from` into `to` (through doubles: exact). */
static void copy_params(const vp_trainer *from, vp_trainer *to)
{
    double W[16 * 16], b[16];
    for (int l = 1; l <= L_HIDDEN + 1; l++) {
        vp_trainer_get_layer(from, l, W, b);
        vp_trainer_set_layer(to, l, W, b);
    }
}

static void train(vp_trainer *t, vp_precision prec, double *loss)
{
    double x[BATCH * N0];
    float xf[BATCH * N0];
    int32_t y[BATCH];
    vp_err err = { 0 };
    for (int s = 0; s < STEPS; s++) {
        batch(s, x, y);
        size_t n = rows_of(s);
        for (size_t i = 0; i < n * N0; i++) xf[i] = (float)x[i];
        vp_train_step_info info;
        cr_assert_eq(vp_trainer_step(t, prec == VP_F64 ? (const void *)x : (const void *)xf, y, n, &info, &err),
                     VP_OK, "%s", err.msg);
        loss[s] = info.loss;
    }
}

static void write_values(FILE *f, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) fprintf(f, " %.17g", v[i]);
    fputc('\n', f);
}

/* The case file for train_agree.py; returns its path in buf. */
static void write_case(const agree_case *c, const vp_trainer *t, const char *dtype, char *path, size_t len)
{
    snprintf(path, len, "/tmp/varprop-train-agree-%ld-%s-%s.txt", (long)getpid(), c->name, dtype);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "net %s %s %s", dtype, vp_act_get(c->act)->name, vp_loss_get(c->loss)->name);
    for (int l = 0; l <= L_HIDDEN; l++) fprintf(f, " %d", WIDTHS[l]);
    fprintf(f, " %d\n", CLASSES);
    if (c->opt.kind == VP_OPTIM_SGD)
        fprintf(f, "optim sgd %.17g %.17g\n", c->opt.p[VP_SGD_LR], c->opt.p[VP_SGD_MOMENTUM]);
    else
        fprintf(f, "optim adam %.17g\n", c->opt.p[VP_ADAM_LR]);
    double W[16 * 16], b[16];
    for (int l = 1; l <= L_HIDDEN + 1; l++) {
        vp_trainer_get_layer(t, l, W, b);
        fprintf(f, "W %d", l);
        write_values(f, W, (size_t)layer_out(l) * (size_t)WIDTHS[l - 1]);
        fprintf(f, "b %d", l);
        write_values(f, b, (size_t)layer_out(l));
    }
    double x[BATCH * N0];
    int32_t y[BATCH];
    for (int s = 0; s < STEPS; s++) {
        batch(s, x, y);
        size_t n = rows_of(s);
        fprintf(f, "x %zu", n);
        write_values(f, x, n * N0);
        fprintf(f, "y %zu", n);
        for (size_t i = 0; i < n; i++) fprintf(f, " %d", (int)y[i]);
        fputc('\n', f);
    }
    cr_assert_eq(fclose(f), 0);
}

/* torch's loss curve for the case file. */
static void torch_losses(const char *path, double *loss)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 '%s/tests/torch/train_agree.py' '%s'",
             vt_root(), path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    char line[1 << 16];
    int got = 0;
    while (fgets(line, sizeof line, p)) {
        int step;
        double v;
        if (sscanf(line, "loss %d %lf", &step, &v) == 2) {
            cr_assert(step >= 1 && step <= STEPS);
            loss[step - 1] = v;
            got++;
        }
    }
    int status = pclose(p);
    cr_assert_eq(status, 0, "%s failed (status %d)", cmd, status);
    cr_assert_eq(got, STEPS, "torch printed %d of %d losses", got, STEPS);
}

static void agree(const agree_case *c)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        cr_skip_test("PyTorch agreement not checked: `/usr/bin/python3 -c 'import torch'` failed "
                     "(install python3-torch to run it)");
    vp_trainer *t32 = make(c, VP_F32), *t64 = make(c, VP_F64);
    copy_params(t32, t64); /* the float32 weights, exactly, in both */
    char p32[256], p64[256];
    write_case(c, t32, "float32", p32, sizeof p32);
    write_case(c, t64, "float64", p64, sizeof p64);
    double c32[STEPS], c64[STEPS], k32[STEPS], k64[STEPS];
    train(t32, VP_F32, c32);
    train(t64, VP_F64, c64);
    torch_losses(p32, k32);
    torch_losses(p64, k64);
    unlink(p32);
    unlink(p64);
    const double u32 = 0x1p-24, u64 = 0x1p-53;
    double env = 0, worst32 = 0, worst64 = 0;
    for (int s = 0; s < STEPS; s++) {
        env = fmax(env, fabs(c32[s] - c64[s]));
        double tol32 = 4 * env + 16 * u32 * (1 + fabs(c64[s]));
        double tol64 = 4 * env * (u64 / u32) + 16 * u64 * (1 + fabs(c64[s]));
        cr_assert(fabs(k32[s] - c32[s]) <= tol32, "%s float32 step %d: torch %.9g, varprop %.9g (tolerance %.3g)",
                  c->name, s + 1, k32[s], c32[s], tol32);
        cr_assert(fabs(k64[s] - c64[s]) <= tol64, "%s float64 step %d: torch %.17g, varprop %.17g (tolerance %.3g)",
                  c->name, s + 1, k64[s], c64[s], tol64);
        worst32 = fmax(worst32, fabs(k32[s] - c32[s]) / tol32);
        worst64 = fmax(worst64, fabs(k64[s] - c64[s]) / tol64);
    }
    /* The curve must move: a training that does nothing would agree trivially. */
    cr_assert(fabs(c64[STEPS - 2] - c64[0]) > 0.05 * fabs(c64[0]), "%s: loss %g -> %g hardly moved", c->name,
              c64[0], c64[STEPS - 2]);
    cr_log_info("%s: worst |torch - varprop| / tolerance: float32 %.3f, float64 %.3f", c->name, worst32, worst64);
    vp_trainer_free(t32);
    vp_trainer_free(t64);
}

static vp_optim sgd_momentum(void)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    o.p[VP_SGD_LR] = 0.05;
    o.p[VP_SGD_MOMENTUM] = 0.9;
    return o;
}

static vp_optim adam(void)
{
    vp_optim o = vp_optim_default(VP_OPTIM_ADAM);
    o.p[VP_ADAM_LR] = 3e-3;
    return o;
}

Test(train_torch, sgd_momentum_relu_cross_entropy, .timeout = 120)
{
    agree_case c = { "sgd_relu_ce", VP_ACT_RELU, VP_LOSS_CROSS_ENTROPY, sgd_momentum() };
    agree(&c);
}

Test(train_torch, adam_tanh_cross_entropy, .timeout = 120)
{
    agree_case c = { "adam_tanh_ce", VP_ACT_TANH, VP_LOSS_CROSS_ENTROPY, adam() };
    agree(&c);
}

Test(train_torch, sgd_momentum_tanh_mse, .timeout = 120)
{
    agree_case c = { "sgd_tanh_mse", VP_ACT_TANH, VP_LOSS_MSE, sgd_momentum() };
    agree(&c);
}

Test(train_torch, adam_relu_mse, .timeout = 120)
{
    agree_case c = { "adam_relu_mse", VP_ACT_RELU, VP_LOSS_MSE, adam() };
    agree(&c);
}
