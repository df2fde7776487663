/* Tests of the optimizers and learning-rate schedules (src/core/optim.c).
 *
 * 1. Registry: names, PyTorch's defaults, range and cross-parameter checks.
 * 2. Hand-computed updates: each optimizer's first 3 steps, written out below
 *    from the update rules of docs/reference/residual-norm-conv.md section 8
 *    (torch.optim.SGD / Adam / AdamW docs), one expression per step -- not a loop
 *    that re-implements the library. Two parameters (x, -x) with gradients (g, -g):
 *    every rule here is odd in (theta, g), so the second must end at minus the
 *    first. Float64 to 1e-14 relative (a handful of roundings apart); float32 to
 *    4e-7 relative (a few float32 roundings; the expectations are double).
 * 3. Schedules at known points (closed forms of StepLR and CosineAnnealingLR,
 *    warm-up factor (step+1)/W).
 * The agreement with torch.optim itself is tests/test_optim_torch.c. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/optim.h"

/* |a - b| <= rel * max(|b|, tiny). */
static int close_rel(double a, double b, double rel)
{
    double s = fabs(b) > 1e-30 ? fabs(b) : 1e-30;
    return fabs(a - b) <= rel * s;
}

/* ---------------------------------------------------------------- registry */

Test(optim_registry, names_and_pytorch_defaults)
{
    cr_assert_eq(vp_optim_find("sgd"), VP_OPTIM_SGD);
    cr_assert_eq(vp_optim_find("adam"), VP_OPTIM_ADAM);
    cr_assert_eq(vp_optim_find("adamw"), VP_OPTIM_ADAMW);
    cr_assert_eq(vp_optim_find("rmsprop"), VP_OPTIM_COUNT);
    char buf[128];
    vp_optim_names(buf, sizeof buf);
    cr_assert_str_eq(buf, "sgd adam adamw");

    vp_optim a = vp_optim_default(VP_OPTIM_ADAM), w = vp_optim_default(VP_OPTIM_ADAMW);
    const double adam_def[] = { 1e-3, 0.9, 0.999, 1e-8, 0.0 }, adamw_def[] = { 1e-3, 0.9, 0.999, 1e-8, 1e-2 };
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(a.p[i], adam_def[i], "adam %s", vp_optim_get(VP_OPTIM_ADAM)->params[i].name);
        cr_assert_eq(w.p[i], adamw_def[i], "adamw %s", vp_optim_get(VP_OPTIM_ADAMW)->params[i].name);
    }
    vp_optim s = vp_optim_default(VP_OPTIM_SGD);
    cr_assert_eq(s.p[VP_SGD_LR], 1e-3);
    cr_assert_eq(s.p[VP_SGD_MOMENTUM], 0.0);
    cr_assert_eq(s.p[VP_SGD_DAMPENING], 0.0);
    cr_assert_eq(s.p[VP_SGD_WEIGHT_DECAY], 0.0);
    cr_assert_eq(s.p[VP_SGD_NESTEROV], 0.0);

    /* The index enums match the rows' parameter order. */
    const vp_optim_info *si = vp_optim_get(VP_OPTIM_SGD), *ai = vp_optim_get(VP_OPTIM_ADAMW);
    cr_assert_eq(vp_optim_param_index(si, "lr"), VP_SGD_LR);
    cr_assert_eq(vp_optim_param_index(si, "momentum"), VP_SGD_MOMENTUM);
    cr_assert_eq(vp_optim_param_index(si, "dampening"), VP_SGD_DAMPENING);
    cr_assert_eq(vp_optim_param_index(si, "weight_decay"), VP_SGD_WEIGHT_DECAY);
    cr_assert_eq(vp_optim_param_index(si, "nesterov"), VP_SGD_NESTEROV);
    cr_assert_eq(vp_optim_param_index(ai, "beta1"), VP_ADAM_BETA1);
    cr_assert_eq(vp_optim_param_index(ai, "beta2"), VP_ADAM_BETA2);
    cr_assert_eq(vp_optim_param_index(ai, "eps"), VP_ADAM_EPS);
    cr_assert_eq(vp_optim_param_index(ai, "weight_decay"), VP_ADAM_WEIGHT_DECAY);
    cr_assert_eq(vp_optim_param_index(ai, "betas"), -1);

    /* State sizes: sgd keeps a buffer only with momentum. */
    cr_assert_eq(si->state_slots(s.p), 0);
    s.p[VP_SGD_MOMENTUM] = 0.9;
    cr_assert_eq(si->state_slots(s.p), 1);
    cr_assert_eq(ai->state_slots(w.p), 2);
}

Test(optim_registry, checks_name_the_parameter)
{
    vp_err e;
    vp_optim s = vp_optim_default(VP_OPTIM_SGD);
    cr_assert_eq(vp_optim_check(&s, &e), VP_OK);
    s.p[VP_SGD_NESTEROV] = 1; /* nesterov without momentum: PyTorch's ValueError */
    cr_assert_eq(vp_optim_check(&s, &e), VP_ERR_CONFIG);
    cr_assert(strstr(e.msg, "nesterov") && strstr(e.msg, "momentum"), "%s", e.msg);
    s.p[VP_SGD_MOMENTUM] = 0.9;
    cr_assert_eq(vp_optim_check(&s, &e), VP_OK);
    s.p[VP_SGD_DAMPENING] = 0.1; /* ... or with dampening */
    cr_assert_eq(vp_optim_check(&s, &e), VP_ERR_CONFIG);
    s.p[VP_SGD_DAMPENING] = 0;
    s.p[VP_SGD_NESTEROV] = 2; /* not an index of "false true" */
    cr_assert_eq(vp_optim_check(&s, &e), VP_ERR_CONFIG);

    vp_optim a = vp_optim_default(VP_OPTIM_ADAM);
    a.p[VP_ADAM_BETA2] = 1.0; /* PyTorch: 0 <= beta < 1 */
    cr_assert_eq(vp_optim_check(&a, &e), VP_ERR_CONFIG);
    cr_assert(strstr(e.msg, "adam") && strstr(e.msg, "beta2"), "%s", e.msg);
    a = vp_optim_default(VP_OPTIM_ADAM);
    a.p[VP_ADAM_LR] = -1e-3;
    cr_assert_eq(vp_optim_check(&a, &e), VP_ERR_CONFIG);
    a.p[VP_ADAM_LR] = NAN;
    cr_assert_eq(vp_optim_check(&a, &e), VP_ERR_CONFIG);

    /* state_init refuses a bad optimizer and leaves st empty. */
    vp_optim_state st;
    cr_assert_eq(vp_optim_state_init(&st, &a, 4, 1, &e), VP_ERR_CONFIG);
    cr_assert_null(st.state);
    vp_optim_state_free(&st);
}

Test(optim_registry, step_refuses_wrong_precision_and_bad_lr)
{
    vp_err e;
    vp_optim_state st;
    vp_optim a = vp_optim_default(VP_OPTIM_ADAM);
    cr_assert_eq(vp_optim_state_init(&st, &a, 2, 1, &e), VP_OK, "%s", e.msg);
    cr_assert_eq(st.slots, 2);
    cr_assert_not_null(st.state);
    double pd[2] = { 1, 2 }, gd[2] = { 1, 1 };
    float pf[2] = { 1, 2 }, gf[2] = { 1, 1 };
    cr_assert_eq(vp_optim_step_f64(&st, pd, gd, 1e-3, &e), VP_ERR_USAGE);
    cr_assert(strstr(e.msg, "float32"), "%s", e.msg);
    cr_assert_eq(vp_optim_step_f32(&st, pf, gf, -1.0, &e), VP_ERR_USAGE);
    cr_assert_eq(vp_optim_step_f32(&st, pf, gf, NAN, &e), VP_ERR_USAGE);
    cr_assert_eq(vp_optim_step_f32(&st, pf, gf, INFINITY, &e), VP_ERR_USAGE);
    cr_assert_eq(st.step, 0, "a refused step is not counted");
    cr_assert_eq(pf[0], 1.0f);
    cr_assert_eq(vp_optim_step_f32(&st, pf, gf, 0.0, &e), VP_OK); /* lr 0 is allowed (warm-up start) */
    cr_assert_eq(st.step, 1);
    cr_assert_eq(pf[0], 1.0f);
    vp_optim_state_free(&st);
    vp_optim_state_free(&st); /* idempotent */
    cr_assert_null(st.state);
}

Test(optim_registry, nan_gradient_propagates)
{
    for (int k = 0; k < VP_OPTIM_COUNT; k++) {
        vp_err e;
        vp_optim_state st;
        vp_optim o = vp_optim_default((vp_optim_kind)k);
        if (k == VP_OPTIM_SGD) o.p[VP_SGD_MOMENTUM] = 0.9;
        cr_assert_eq(vp_optim_state_init(&st, &o, 2, 1, &e), VP_OK, "%s", e.msg);
        float p[2] = { 1, 1 }, g[2] = { NAN, 0.5f };
        cr_assert_eq(vp_optim_step_f32(&st, p, g, 0.01, &e), VP_OK);
        cr_assert(isnan(p[0]), "%s: NaN gradient must reach the parameter", vp_optim_get(o.kind)->name);
        cr_assert(isfinite(p[1]));
        vp_optim_state_free(&st);
    }
}

/* Elementwise updates: three chunks (as threads would do them) give the bits of
 * one whole-array step, for every optimizer, over 4 steps. */
Test(optim_registry, chunked_steps_equal_whole_steps)
{
    enum { N = 37 };
    for (int k = 0; k < VP_OPTIM_COUNT; k++) {
        vp_err e;
        vp_optim o = vp_optim_default((vp_optim_kind)k);
        if (k == VP_OPTIM_SGD) { o.p[VP_SGD_MOMENTUM] = 0.9; o.p[VP_SGD_WEIGHT_DECAY] = 0.01; }
        const vp_optim_info *info = vp_optim_get(o.kind);
        vp_optim_state whole, parts;
        cr_assert_eq(vp_optim_state_init(&whole, &o, N, 1, &e), VP_OK, "%s", e.msg);
        cr_assert_eq(vp_optim_state_init(&parts, &o, N, 1, &e), VP_OK, "%s", e.msg);
        float a[N], b[N], g[N];
        for (int i = 0; i < N; i++) a[i] = b[i] = (float)sin(i + 1.0);
        const size_t cut[4] = { 0, 5, 22, N };
        for (int t = 0; t < 4; t++) {
            for (int i = 0; i < N; i++) g[i] = (float)cos(0.3 * i + t);
            cr_assert_eq(vp_optim_step_f32(&whole, a, g, 0.01, &e), VP_OK);
            parts.step++;
            for (int c = 0; c < 3; c++)
                info->step_f32(o.p, 0.01, parts.step, cut[c + 1] - cut[c], b + cut[c], g + cut[c],
                               (float *)parts.state + cut[c], parts.n);
            cr_assert(memcmp(a, b, sizeof a) == 0, "%s: chunked step %d differs", info->name, t + 1);
        }
        cr_assert(memcmp(whole.state, parts.state, whole.slots * N * sizeof(float)) == 0);
        vp_optim_state_free(&whole);
        vp_optim_state_free(&parts);
    }
}

/* -------------------------------------------------- hand-computed updates */

/* Runs 3 steps on (x0, -x0) with gradients (g[t], -g[t]) in both precisions and
 * compares with want[t] (and -want[t]). */
static void three_steps(const vp_optim *o, double lr, double x0, const double g[3], const double want[3])
{
    const char *name = vp_optim_get(o->kind)->name;
    vp_err e;
    for (int single = 0; single <= 1; single++) {
        vp_optim_state st;
        cr_assert_eq(vp_optim_state_init(&st, o, 2, single, &e), VP_OK, "%s", e.msg);
        double pd[2] = { x0, -x0 };
        float pf[2] = { (float)x0, (float)-x0 };
        for (int t = 0; t < 3; t++) {
            if (single) {
                float gf[2] = { (float)g[t], (float)-g[t] };
                cr_assert_eq(vp_optim_step_f32(&st, pf, gf, lr, &e), VP_OK, "%s", e.msg);
                pd[0] = pf[0];
                pd[1] = pf[1];
            } else {
                double gd[2] = { g[t], -g[t] };
                cr_assert_eq(vp_optim_step_f64(&st, pd, gd, lr, &e), VP_OK, "%s", e.msg);
            }
            double rel = single ? 4e-7 : 1e-14;
            cr_assert(close_rel(pd[0], want[t], rel), "%s float%d step %d: %.17g, want %.17g", name,
                      single ? 32 : 64, t + 1, pd[0], want[t]);
            cr_assert(close_rel(pd[1], -want[t], rel), "%s float%d step %d (mirror): %.17g, want %.17g",
                      name, single ? 32 : 64, t + 1, pd[1], -want[t]);
        }
        cr_assert_eq(st.step, 3);
        vp_optim_state_free(&st);
    }
}

/* SGD, momentum mu = 0.9, weight decay 0.1, Nesterov, lr 0.1, theta0 = 1:
 *   d_t = g_t + wd theta;  b_1 = d_1, b_t = mu b_{t-1} + d_t;  theta -= lr (d_t + mu b_t). */
Test(optim_hand, sgd_nesterov_weight_decay)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    o.p[VP_SGD_MOMENTUM] = 0.9;
    o.p[VP_SGD_WEIGHT_DECAY] = 0.1;
    o.p[VP_SGD_NESTEROV] = 1;
    const double g[3] = { 0.5, -0.25, 1.0 };
    double th0 = 1.0;
    double d1 = 0.5 + 0.1 * th0, b1 = d1, th1 = th0 - 0.1 * (d1 + 0.9 * b1);            /* 0.886 */
    double d2 = -0.25 + 0.1 * th1, b2 = 0.9 * b1 + d2, th2 = th1 - 0.1 * (d2 + 0.9 * b2); /* 0.868066 */
    double d3 = 1.0 + 0.1 * th2, b3 = 0.9 * b2 + d3, th3 = th2 - 0.1 * (d3 + 0.9 * b3);   /* 0.630906146 */
    cr_assert(fabs(th1 - 0.886) < 1e-15 && fabs(th2 - 0.868066) < 1e-15 && fabs(th3 - 0.630906146) < 1e-15);
    const double want[3] = { th1, th2, th3 };
    three_steps(&o, 0.1, th0, g, want);
}

/* SGD, mu = 0.9, dampening 0.5, lr 0.1, theta0 = 1, g = 1, 1, 1: the buffer starts
 * as the undampened gradient (b_1 = 1, theta_1 = 0.9; a dampened start would give 0.95),
 * then b_t = 0.9 b_{t-1} + 0.5 g_t: b_2 = 1.4, b_3 = 1.76. */
Test(optim_hand, sgd_first_buffer_is_undampened)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    o.p[VP_SGD_MOMENTUM] = 0.9;
    o.p[VP_SGD_DAMPENING] = 0.5;
    const double g[3] = { 1, 1, 1 }, want[3] = { 1 - 0.1 * 1.0, 0.9 - 0.1 * 1.4, 0.76 - 0.1 * 1.76 };
    three_steps(&o, 0.1, 1.0, g, want);
}

/* Plain SGD (no momentum): theta -= lr g. */
Test(optim_hand, sgd_plain)
{
    vp_optim o = vp_optim_default(VP_OPTIM_SGD);
    const double g[3] = { 0.5, -0.25, 1.0 };
    const double want[3] = { 2 - 0.05 * 0.5, 2 - 0.05 * 0.5 + 0.05 * 0.25, 2 - 0.05 * 0.5 + 0.05 * 0.25 - 0.05 };
    three_steps(&o, 0.05, 2.0, g, want);
}

/* Adam, PyTorch's code form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * theta -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps). Defaults
 * b1 0.9, b2 0.999, eps 1e-8, lr 0.1 here; weight_decay wd adds wd theta to g. */
static double adam_update(double th, double m, double v, int t, double lr)
{
    return th - (lr / (1 - pow(0.9, t))) * m / (sqrt(v) / sqrt(1 - pow(0.999, t)) + 1e-8);
}

Test(optim_hand, adam)
{
    vp_optim o = vp_optim_default(VP_OPTIM_ADAM);
    const double g[3] = { 0.5, -0.25, 1.0 };
    double th0 = 1.0;
    double m1 = 0.1 * 0.5, v1 = 0.001 * 0.25;
    double th1 = adam_update(th0, m1, v1, 1, 0.1); /* m_hat = g: 1 - 0.1 * 0.5 / (0.5 + 1e-8) */
    double m2 = 0.9 * m1 + 0.1 * -0.25, v2 = 0.999 * v1 + 0.001 * 0.0625;
    double th2 = adam_update(th1, m2, v2, 2, 0.1);
    double m3 = 0.9 * m2 + 0.1 * 1.0, v3 = 0.999 * v2 + 0.001 * 1.0;
    double th3 = adam_update(th2, m3, v3, 3, 0.1);
    cr_assert(fabs(th1 - (1 - 0.1 / (1 + 2e-8))) < 1e-15, "first Adam step is lr * sign(g): %.17g", th1);
    const double want[3] = { th1, th2, th3 };
    three_steps(&o, 0.1, th0, g, want);
}

Test(optim_hand, adam_l2_weight_decay)
{
    vp_optim o = vp_optim_default(VP_OPTIM_ADAM);
    o.p[VP_ADAM_WEIGHT_DECAY] = 0.5;
    const double g[3] = { 0.5, -0.25, 1.0 };
    double th0 = 1.0;
    double q1 = 0.5 + 0.5 * th0, m1 = 0.1 * q1, v1 = 0.001 * q1 * q1;
    double th1 = adam_update(th0, m1, v1, 1, 0.1);
    double q2 = -0.25 + 0.5 * th1, m2 = 0.9 * m1 + 0.1 * q2, v2 = 0.999 * v1 + 0.001 * q2 * q2;
    double th2 = adam_update(th1, m2, v2, 2, 0.1);
    double q3 = 1.0 + 0.5 * th2, m3 = 0.9 * m2 + 0.1 * q3, v3 = 0.999 * v2 + 0.001 * q3 * q3;
    double th3 = adam_update(th2, m3, v3, 3, 0.1);
    const double want[3] = { th1, th2, th3 };
    three_steps(&o, 0.1, th0, g, want);
}

/* AdamW: theta *= 1 - lr wd first (wd 0.01 by default), then the Adam step on the
 * raw gradient. */
Test(optim_hand, adamw)
{
    vp_optim o = vp_optim_default(VP_OPTIM_ADAMW);
    const double g[3] = { 0.5, -0.25, 1.0 }, lr = 0.1, decay = 1 - 0.1 * 0.01;
    double th0 = 1.0;
    double m1 = 0.1 * 0.5, v1 = 0.001 * 0.25;
    double th1 = adam_update(th0 * decay, m1, v1, 1, lr);
    double m2 = 0.9 * m1 + 0.1 * -0.25, v2 = 0.999 * v1 + 0.001 * 0.0625;
    double th2 = adam_update(th1 * decay, m2, v2, 2, lr);
    double m3 = 0.9 * m2 + 0.1 * 1.0, v3 = 0.999 * v2 + 0.001 * 1.0;
    double th3 = adam_update(th2 * decay, m3, v3, 3, lr);
    const double want[3] = { th1, th2, th3 };
    three_steps(&o, lr, th0, g, want);
}

/* ----------------------------------------------------------------- schedules */

Test(optim_sched, registry)
{
    cr_assert_eq(vp_sched_find("constant"), VP_SCHED_CONSTANT);
    cr_assert_eq(vp_sched_find("step"), VP_SCHED_STEP);
    cr_assert_eq(vp_sched_find("cosine"), VP_SCHED_COSINE);
    cr_assert_eq(vp_sched_find("linear"), VP_SCHED_COUNT);
    char buf[128];
    vp_sched_names(buf, sizeof buf);
    cr_assert_str_eq(buf, "constant step cosine");
    for (int k = 0; k < VP_SCHED_COUNT; k++) {
        const vp_sched_info *info = vp_sched_get((vp_sched_kind)k);
        cr_assert_eq(vp_sched_param_index(info, "warmup_steps"), info->warmup_index);
        vp_sched s = vp_sched_default((vp_sched_kind)k);
        vp_err e;
        cr_assert_eq(vp_sched_check(&s, &e), VP_OK, "%s", e.msg);
    }
    vp_sched s = vp_sched_default(VP_SCHED_STEP);
    cr_assert_eq(s.p[VP_STEP_GAMMA], 0.1); /* StepLR's default */
    s.p[VP_STEP_STEP_SIZE] = 0;
    vp_err e;
    cr_assert_eq(vp_sched_check(&s, &e), VP_ERR_CONFIG);
    cr_assert(strstr(e.msg, "step_size"), "%s", e.msg);
    s = vp_sched_default(VP_SCHED_STEP);
    s.p[VP_STEP_WARMUP] = 2.5;
    cr_assert_eq(vp_sched_check(&s, &e), VP_ERR_CONFIG);
}

Test(optim_sched, known_points)
{
    vp_sched c = vp_sched_default(VP_SCHED_CONSTANT);
    cr_assert_eq(vp_sched_lr(&c, 0.3, 0, 100), 0.3);
    cr_assert_eq(vp_sched_lr(&c, 0.3, 99999, 100), 0.3);

    vp_sched s = vp_sched_default(VP_SCHED_STEP);
    s.p[VP_STEP_STEP_SIZE] = 3;
    s.p[VP_STEP_GAMMA] = 0.5;
    const double step_want[] = { 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025 };
    for (long t = 0; t < 7; t++)
        cr_assert_eq(vp_sched_lr(&s, 0.1, t, 0), step_want[t], "step lr(%ld)", t);

    /* cosine, T = 10: base at 0, the midpoint at 5, eta_min at 10, base again at 20. */
    vp_sched k = vp_sched_default(VP_SCHED_COSINE);
    k.p[VP_COS_T_MAX] = 10;
    cr_assert_eq(vp_sched_lr(&k, 0.1, 0, 0), 0.1);
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 5, 0), 0.05, 1e-15));
    cr_assert(fabs(vp_sched_lr(&k, 0.1, 10, 0)) < 1e-17);
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 20, 0), 0.1, 1e-15));
    k.p[VP_COS_ETA_MIN] = 0.01;
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 5, 0), 0.01 + 0.09 * 0.5, 1e-15));
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 10, 0), 0.01, 1e-15));
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 15, 0), 0.01 + 0.09 * 0.5, 1e-14));
    /* t_max 0: the run's total number of updates. */
    k.p[VP_COS_T_MAX] = 0;
    k.p[VP_COS_ETA_MIN] = 0;
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 50, 100), 0.05, 1e-15));
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 25, 100), 0.05 * (1 + sqrt(0.5)), 1e-15));
}

Test(optim_sched, warmup)
{
    /* W = 4: lr/4, lr/2, 3lr/4, lr, then the schedule. */
    vp_sched c = vp_sched_default(VP_SCHED_CONSTANT);
    c.p[VP_CONST_WARMUP] = 4;
    const double want[] = { 0.025, 0.05, 0.075, 0.1, 0.1, 0.1 };
    for (long t = 0; t < 6; t++)
        cr_assert(close_rel(vp_sched_lr(&c, 0.1, t, 0), want[t], 1e-15), "warm-up lr(%ld) = %.17g", t,
                  vp_sched_lr(&c, 0.1, t, 0));
    /* W = 1 is no warm-up. */
    c.p[VP_CONST_WARMUP] = 1;
    cr_assert_eq(vp_sched_lr(&c, 0.1, 0, 0), 0.1);
    /* The warm-up multiplies the schedule at the same step (no delay). */
    vp_sched k = vp_sched_default(VP_SCHED_COSINE);
    k.p[VP_COS_T_MAX] = 8;
    k.p[VP_COS_WARMUP] = 4;
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 2, 0), 0.75 * 0.05 * (1 + cos(M_PI * 2 / 8)), 1e-15));
    cr_assert(close_rel(vp_sched_lr(&k, 0.1, 4, 0), 0.05, 1e-15));
    vp_sched s = vp_sched_default(VP_SCHED_STEP);
    s.p[VP_STEP_STEP_SIZE] = 2;
    s.p[VP_STEP_WARMUP] = 3;
    cr_assert(close_rel(vp_sched_lr(&s, 1.0, 2, 0), 0.1, 1e-15)); /* 1 * 0.1^1 * 3/3 */
    cr_assert(close_rel(vp_sched_lr(&s, 1.0, 1, 0), 2.0 / 3.0, 1e-15));
}
