/* PyTorch agreement of block-network training (src/core/net_train.c), issue 15's
 * training side: a conv net with batchnorm and a pre-layernorm SkipInit residual block,
 *   [2,6,6] -> conv2d(4, 3x3, pad 1, relu) -> batchnorm -> [layernorm -> conv2d(4, 3x3,
 *   pad 1, relu) -> conv2d(4, 3x3, pad 1)] + skip, alpha trained from 0 -> avgpool2d 2
 *   -> flatten -> dense(4)
 * trained 20 steps by SGD with momentum and by Adam from the same initial parameters on
 * the same batches (the last one shorter) gives the same loss curve; then, with
 * batchnorm on its running statistics (eval mode), the same loss on an evaluation
 * batch and the same running means and variances.
 *
 * The C side draws the parameters (vp_net_trainer_init_params) and the batches, writes
 * them as exact decimals to a case file, and tests/torch/net_agree.py trains the same
 * network with torch.optim (BatchNorm2d, LayerNorm, a Parameter alpha).
 *
 * Tolerance, as tests/test_train_torch.c: the two float32 curves are two roundings of
 * one exact trajectory; how far float32 rounding moves it is measured by the C trainer
 * in float32 against float64 from the same start: e_t = max over s <= t of
 * |L32_s - L64_s|, and |torch_t - C_t| <= 4 e_t + 16 u32 (1 + |L_t|); float64 the same
 * scaled by u64/u32. The evaluation loss and the running statistics use the envelope
 * at the end of training (for the statistics their own: max |r32 - r64| over entries).
 *
 * Skipped, with a message, when `/usr/bin/python3 -c 'import torch'` fails. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/net_train.h"
#include "core/rng.h"
#include "harness.h"

#define STEPS 20
#define BATCH 10
#define LAST 7 /* rows of the last batch */
#define EVAL 16
#define DIM 72 /* 2 x 6 x 6 */
#define CLASSES 4
#define NL 9
#define MAXR 64 /* running statistics: 2 x 4 */

static size_t rows_of(int step) { return step == STEPS - 1 ? LAST : BATCH; }

static vp_layer_spec lay(vp_layer_kind k)
{
    vp_layer_spec l = vp_layer_plain(k);
    l.act = vp_act_default(VP_ACT_IDENTITY);
    l.winit = vp_init_default(VP_INIT_KAIMING_NORMAL);
    l.binit = vp_init_default(VP_INIT_NORMAL);
    l.binit.p[1] = 0.1;
    return l;
}
static vp_layer_spec conv(vp_act_kind a)
{
    vp_layer_spec l = lay(VP_LAYER_CONV2D);
    l.out = 4;
    l.kernel = 3;
    l.padding = 1;
    l.act = vp_act_default(a);
    return l;
}

static void net(vp_layer_spec *ls)
{
    ls[0] = conv(VP_ACT_RELU);
    ls[1] = lay(VP_LAYER_BATCHNORM);
    ls[2] = lay(VP_LAYER_LAYERNORM);
    ls[3] = conv(VP_ACT_RELU);
    ls[4] = conv(VP_ACT_IDENTITY);
    ls[5] = lay(VP_LAYER_RESIDUAL);
    ls[5].skip = 1;
    ls[5].alpha = 0.0;
    ls[5].alpha_param = 1; /* SkipInit */
    ls[6] = lay(VP_LAYER_AVGPOOL2D);
    ls[6].kernel = ls[6].stride = 2;
    ls[7] = lay(VP_LAYER_FLATTEN);
    ls[8] = lay(VP_LAYER_DENSE);
    ls[8].out = CLASSES;
}

/* Batch `step` (-1: the evaluation batch): inputs N(0,1) rounded to float32; labels
 * from a fixed linear teacher, argmax_c <x, t_c>. */
static size_t batch(int step, double *x, int32_t *y)
{
    size_t n = step < 0 ? EVAL : rows_of(step);
    vt_teacher_batch(81, (uint32_t)(step + 1), 82, n, DIM, CLASSES, x, y);
    return n;
}

static vp_net_trainer *make(vp_optim opt, vp_precision prec)
{
    vp_layer_spec ls[NL];
    net(ls);
    vp_train_opts o = { .classes = CLASSES, .loss = VP_LOSS_CROSS_ENTROPY, .optim = opt,
                        .sched = vp_sched_default(VP_SCHED_CONSTANT), .total_steps = STEPS };
    vp_net_trainer *t;
    vp_err err = { 0 };
    cr_assert_eq(vp_net_trainer_create(&t, ls, NL, (vp_shape){ 2, 6, 6, 0 }, EVAL, prec, &o, &err), VP_OK, "%s",
                 err.msg);
    cr_assert_eq(vp_net_trainer_init_params(t, 6, &err), VP_OK, "%s", err.msg);
    return t;
}

/* Copy the weights and biases of `from` into `to` (through doubles: exact); gamma, beta
 * and alpha start at 1, 0 and 0 in both. */
static void copy_params(vp_net_trainer *from, vp_net_trainer *to)
{
    double W[4 * 36 * 4], b[4];
    for (int i = 0; i < NL; i++) {
        vp_net_export(vp_net_trainer_net(from), i, NULL, NULL, W, b, NULL, NULL);
        vp_net_import(vp_net_trainer_net(to), i, W, b);
    }
}

/* Train STEPS steps (loss[s]); then the evaluation loss and the running statistics. */
static void train(vp_net_trainer *t, vp_precision prec, double *loss, double *ev, double *run, size_t *nr)
{
    double x[EVAL * DIM];
    float xf[EVAL * DIM];
    int32_t y[EVAL];
    vp_err err = { 0 };
    for (int s = 0; s <= STEPS; s++) {
        size_t n = batch(s == STEPS ? -1 : s, x, y);
        for (size_t i = 0; i < n * DIM; i++) xf[i] = (float)x[i];
        const void *xp = prec == VP_F64 ? (const void *)x : (const void *)xf;
        if (s == STEPS) {
            long long c;
            cr_assert_eq(vp_net_trainer_eval(t, xp, y, n, ev, &c, &err), VP_OK, "%s", err.msg);
            break;
        }
        vp_train_step_info info;
        cr_assert_eq(vp_net_trainer_step(t, xp, y, n, &info, &err), VP_OK, "%s", err.msg);
        loss[s] = info.loss;
    }
    const void *r = vp_net_running(vp_net_trainer_net(t), nr);
    cr_assert_leq(*nr, MAXR);
    for (size_t k = 0; k < *nr; k++)
        run[k] = prec == VP_F64 ? ((const double *)r)[k] : (double)((const float *)r)[k];
}

static void write_values(FILE *f, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) fprintf(f, " %.17g", v[i]);
    fputc('\n', f);
}

static void write_batch(FILE *f, const char *xk, const char *yk, int step)
{
    double x[EVAL * DIM];
    int32_t y[EVAL];
    size_t n = batch(step, x, y);
    fprintf(f, "%s %zu", xk, n);
    write_values(f, x, n * DIM);
    fprintf(f, "%s %zu", yk, n);
    for (size_t i = 0; i < n; i++) fprintf(f, " %d", (int)y[i]);
    fputc('\n', f);
}

static void write_case(const char *name, vp_optim opt, vp_net_trainer *t, const char *dtype, char *path, size_t len)
{
    snprintf(path, len, "/tmp/varprop-net-agree-%ld-%s-%s.txt", (long)getpid(), name, dtype);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "net %s 2 6 6 %d\n", dtype, CLASSES);
    if (opt.kind == VP_OPTIM_SGD) fprintf(f, "optim sgd %.17g %.17g\n", opt.p[VP_SGD_LR], opt.p[VP_SGD_MOMENTUM]);
    else fprintf(f, "optim adam %.17g\n", opt.p[VP_ADAM_LR]);
    vp_net *nt = vp_net_trainer_net(t);
    for (int i = 0; i < NL; i++) {
        const vp_layer_spec *l = vp_net_layer(nt, i);
        const char *an = l->act.kind == VP_ACT_RELU ? "relu" : "linear";
        switch (l->kind) {
        case VP_LAYER_CONV2D: fprintf(f, "layer %d conv2d %d %d %d %s\n", i, l->out, l->kernel, l->padding, an); break;
        case VP_LAYER_DENSE: fprintf(f, "layer %d dense %d %s\n", i, l->out, an); break;
        case VP_LAYER_AVGPOOL2D:
        case VP_LAYER_MAXPOOL2D: fprintf(f, "layer %d %s %d\n", i, vp_layer_kind_name(l->kind), l->kernel); break;
        case VP_LAYER_RESIDUAL: fprintf(f, "layer %d residual %d %.17g %d\n", i, l->skip, l->alpha, l->alpha_param); break;
        case VP_LAYER_BATCHNORM:
        case VP_LAYER_LAYERNORM:
        case VP_LAYER_RMSNORM:
        case VP_LAYER_FLATTEN:
        case VP_LAYER_KIND_COUNT: fprintf(f, "layer %d %s\n", i, vp_layer_kind_name(l->kind)); break;
        }
        if (!vp_layer_has_weights(l->kind)) continue;
        double W[4 * 36 * 4], b[4];
        size_t nw = vp_net_layer_params(l, vp_net_shape(nt, i - 1)) - (size_t)l->out;
        vp_net_export(nt, i, NULL, NULL, W, b, NULL, NULL);
        fprintf(f, "W %d", i);
        write_values(f, W, nw);
        fprintf(f, "b %d", i);
        write_values(f, b, (size_t)l->out);
    }
    for (int s = 0; s < STEPS; s++) write_batch(f, "x", "y", s);
    write_batch(f, "ex", "ey", -1);
    cr_assert_eq(fclose(f), 0);
}

typedef struct {
    double loss[STEPS], ev, run[MAXR];
    size_t nr;
} outcome;

static void torch_run(const char *path, outcome *o)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 '%s/tests/torch/net_agree.py' '%s'",
             vt_root(), path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    static char line[1 << 16];
    int got = 0, ev = 0;
    o->nr = 0;
    while (fgets(line, sizeof line, p)) {
        int step, li, off;
        double v;
        char which[8];
        if (sscanf(line, "loss %d %lf", &step, &v) == 2) {
            cr_assert(step >= 1 && step <= STEPS);
            o->loss[step - 1] = v;
            got++;
        } else if (sscanf(line, "eval %lf", &v) == 1) {
            o->ev = v;
            ev = 1;
        } else if (sscanf(line, "running %d %7s%n", &li, which, &off) == 2) {
            const char *q = line + off;
            char *end;
            for (double r = strtod(q, &end); end != q; q = end, r = strtod(q, &end)) {
                cr_assert_lt(o->nr, MAXR);
                o->run[o->nr++] = r;
            }
        }
    }
    int status = pclose(p);
    cr_assert_eq(status, 0, "%s failed (status %d)", cmd, status);
    cr_assert_eq(got, STEPS, "torch printed %d of %d losses", got, STEPS);
    cr_assert(ev, "torch printed no evaluation loss");
}

static void agree(const char *name, vp_optim opt)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        cr_skip_test("PyTorch agreement not checked: `/usr/bin/python3 -c 'import torch'` failed "
                     "(install python3-torch to run it)");
    vp_net_trainer *t32 = make(opt, VP_F32), *t64 = make(opt, VP_F64);
    copy_params(t32, t64); /* the float32 weights, exactly, in both */
    char p32[256], p64[256];
    write_case(name, opt, t32, "float32", p32, sizeof p32);
    write_case(name, opt, t64, "float64", p64, sizeof p64);
    outcome c32, c64, k32, k64;
    train(t32, VP_F32, c32.loss, &c32.ev, c32.run, &c32.nr);
    train(t64, VP_F64, c64.loss, &c64.ev, c64.run, &c64.nr);
    torch_run(p32, &k32);
    torch_run(p64, &k64);
    unlink(p32);
    unlink(p64);
    const double u32 = 0x1p-24, u64 = 0x1p-53, sc = u64 / u32;
    double env = 0, worst32 = 0, worst64 = 0;
    for (int s = 0; s < STEPS; s++) {
        env = fmax(env, fabs(c32.loss[s] - c64.loss[s]));
        double tol32 = 4 * env + 16 * u32 * (1 + fabs(c64.loss[s]));
        double tol64 = 4 * env * sc + 16 * u64 * (1 + fabs(c64.loss[s]));
        cr_assert(fabs(k32.loss[s] - c32.loss[s]) <= tol32, "%s float32 step %d: torch %.9g, varprop %.9g (tol %.3g)",
                  name, s + 1, k32.loss[s], c32.loss[s], tol32);
        cr_assert(fabs(k64.loss[s] - c64.loss[s]) <= tol64, "%s float64 step %d: torch %.17g, varprop %.17g (tol %.3g)",
                  name, s + 1, k64.loss[s], c64.loss[s], tol64);
        worst32 = fmax(worst32, fabs(k32.loss[s] - c32.loss[s]) / tol32);
        worst64 = fmax(worst64, fabs(k64.loss[s] - c64.loss[s]) / tol64);
    }
    /* evaluation with the running statistics, after training */
    double ee = fmax(env, fabs(c32.ev - c64.ev));
    cr_assert(fabs(k32.ev - c32.ev) <= 4 * ee + 16 * u32 * (1 + fabs(c64.ev)), "%s float32 eval: torch %.9g, varprop "
              "%.9g", name, k32.ev, c32.ev);
    cr_assert(fabs(k64.ev - c64.ev) <= 4 * ee * sc + 16 * u64 * (1 + fabs(c64.ev)), "%s float64 eval: torch %.17g, "
              "varprop %.17g", name, k64.ev, c64.ev);
    cr_assert_eq(k32.nr, c32.nr, "running statistics: torch %zu values, varprop %zu", k32.nr, c32.nr);
    cr_assert_eq(k64.nr, c64.nr);
    double er = 0;
    for (size_t k = 0; k < c32.nr; k++) er = fmax(er, fabs(c32.run[k] - c64.run[k]));
    for (size_t k = 0; k < c32.nr; k++) {
        cr_assert(fabs(k32.run[k] - c32.run[k]) <= 4 * er + 16 * u32 * (1 + fabs(c64.run[k])),
                  "%s float32 running statistic %zu: torch %.9g, varprop %.9g", name, k, k32.run[k], c32.run[k]);
        cr_assert(fabs(k64.run[k] - c64.run[k]) <= 4 * er * sc + 16 * u64 * (1 + fabs(c64.run[k])),
                  "%s float64 running statistic %zu: torch %.17g, varprop %.17g", name, k, k64.run[k], c64.run[k]);
    }
    /* The curve must move, the running statistics must have left (0, 1), and alpha must
     * have left 0: a training that does nothing would agree trivially. */
    cr_assert(fabs(c64.loss[STEPS - 2] - c64.loss[0]) > 0.05 * fabs(c64.loss[0]), "%s: loss %g -> %g hardly moved",
              name, c64.loss[0], c64.loss[STEPS - 2]);
    cr_assert(fabs(c64.run[0]) > 1e-3 && fabs(c64.run[c64.nr / 2] - 1) > 1e-3, "%s: running statistics unmoved", name);
    double al;
    vp_net_export_aux(vp_net_trainer_net(t64), 5, &al, NULL);
    cr_assert(fabs(al) > 1e-4, "%s: alpha stayed at %g", name, al);
    cr_log_info("%s: worst |torch - varprop| / tolerance over the curve: float32 %.3f, float64 %.3f; alpha %.4g",
                name, worst32, worst64, al);
    vp_net_trainer_free(t32);
    vp_net_trainer_free(t64);
}

Test(net_torch, sgd_momentum_batchnorm_skipinit, .timeout = 120)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    o.p[VP_SGD_LR] = 0.05;
    o.p[VP_SGD_MOMENTUM] = 0.9;
    agree("sgd", o);
}

Test(net_torch, adam_batchnorm_skipinit, .timeout = 120)
{
    vp_optim o = vp_optim_default(VP_OPTIM_ADAM);
    o.p[VP_ADAM_LR] = 3e-3;
    agree("adam", o);
}
