/* PyTorch agreement of the optimizers and schedules (src/core/optim.c) and of the
 * losses (src/core/loss.c).
 *
 * tests/torch/optim_agree.py prints torch.optim's trajectories -- SGD (momentum +
 * Nesterov + weight decay; momentum + dampening), Adam (defaults; betas, eps and L2
 * weight decay), AdamW (defaults; large decoupled decay) -- in float32 and float64,
 * 20 steps of 19 parameters from fixed gradients spanning five decades, with a
 * zero gradient and a zero parameter; and torch's StepLR, CosineAnnealingLR and
 * LinearLR (as the warm-up) learning rates over 30 steps. The C side replays the
 * same gradients (read from that output, so both sides get identical inputs).
 *
 * Tolerance ("float32 tolerance"): |C - torch| <= 16 eps * scale, eps the
 * precision's machine epsilon and scale = max(|torch|, |x0|, the parameter's path
 * length sum_t |x_t - x_{t-1}|) -- the size of the numbers the updates add up, so
 * a parameter passing through zero is not held to a relative error. Measured on
 * this machine's torch 1.13 (AVX2 kernels): 0 -- every value is the same bits, as
 * optim.c mirrors torch's fused multiply-adds; the tolerance leaves room for a
 * torch built without them (ISO C without the fmas measured at most 3.2 eps).
 * Schedules: 1e-13 relative (torch steps StepLR and CosineAnnealingLR
 * recursively, drifting from the closed form by a few roundings).
 *
 * Losses: `optim_agree.py losses` prints F.cross_entropy and F.mse_loss (on
 * F.one_hot targets, reduction mean) with their autograd gradients in float64,
 * including a row with a 50-wide logit spread; the C value must be within
 * 16 eps * (|L| + max|z|) (the magnitude of the terms a log-sum-exp adds) and each
 * gradient entry within 16 eps * max|dL/dz|.
 *
 * Skipped, with a message, when `/usr/bin/python3 -c 'import torch'` fails. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loss.h"
#include "core/optim.h"
#include "harness.h"

/* The whole output of a command (malloc'ed), or NULL when it could not be run;
 * *status gets pclose's status. */
static char *run_capture(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
    }
    buf[len] = '\0';
    *status = pclose(f);
    return buf;
}

/* Numbers after the first word of a line, into out (at most cap). */
static size_t parse_numbers(char *rest, double *out, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(rest, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *end;
        double v = strtod(tok, &end);
        cr_assert(end != tok && *end == '\0', "bad number \"%s\" in the torch output", tok);
        cr_assert_lt(n, cap);
        out[n++] = v;
    }
    return n;
}

/* Skips the test unless torch imports; then the script's output (malloc'ed). */
static char *torch_output(const char *arg)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        cr_skip_test("PyTorch agreement not checked: `/usr/bin/python3 -c 'import torch'` failed "
                     "(install python3-torch to run it)");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 "
             "'%s/tests/torch/optim_agree.py' %s", vt_root(), arg);
    int status = 0;
    char *out = run_capture(cmd, &status);
    cr_assert_not_null(out, "cannot run %s", cmd);
    cr_assert_eq(status, 0, "%s failed (status %d)", cmd, status);
    return out;
}

#define MAXN 64

/* One optimizer case being replayed. */
typedef struct {
    vp_optim opt;
    vp_optim_state st;
    const char *name;
    int single, steps;
    size_t n;
    double x[MAXN], x0[MAXN], prev[MAXN], path[MAXN], g[MAXN], worst;
    long same, values;
} torch_case;

static void case_begin(torch_case *c, char *args)
{
    char *save = NULL, *name = strtok_r(args, " ", &save), *dtype = strtok_r(NULL, " ", &save);
    cr_assert(name && dtype);
    vp_optim_kind k = vp_optim_find(name);
    cr_assert_neq(k, VP_OPTIM_COUNT, "unknown optimizer %s", name);
    vp_optim o = vp_optim_default(k);
    const vp_optim_info *info = vp_optim_get(k);
    for (char *kv = strtok_r(NULL, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        cr_assert_not_null(eq);
        *eq = '\0';
        int i = vp_optim_param_index(info, kv);
        cr_assert_geq(i, 0, "%s has no parameter %s", name, kv);
        o.p[i] = strtod(eq + 1, NULL);
    }
    c->name = info->name;
    c->single = strcmp(dtype, "float32") == 0;
    c->steps = 0;
    c->worst = 0;
    c->same = c->values = 0;
    c->opt = o;
}

/* The worst error of a finished case, in the log. */
static void case_end(torch_case *c)
{
    if (!c->name) return;
    cr_log_info("torch agreement %-5s float%d: %d steps, worst %.2f eps, %ld of %ld values the same bits",
                c->name, c->single ? 32 : 64, c->steps, c->worst, c->same, c->values);
    cr_assert_eq(c->steps, 20);
    vp_optim_state_free(&c->st);
}

static void case_step(torch_case *c, const double *want, size_t n)
{
    cr_assert_eq(n, c->n);
    vp_err e;
    double lr = c->st.opt.p[VP_OPTIM_LR];
    if (c->single) {
        float xf[MAXN], gf[MAXN];
        for (size_t i = 0; i < n; i++) { xf[i] = (float)c->x[i]; gf[i] = (float)c->g[i]; }
        cr_assert_eq(vp_optim_step_f32(&c->st, xf, gf, lr, &e), VP_OK, "%s", e.msg);
        for (size_t i = 0; i < n; i++) c->x[i] = xf[i];
    } else {
        cr_assert_eq(vp_optim_step_f64(&c->st, c->x, c->g, lr, &e), VP_OK, "%s", e.msg);
    }
    c->steps++;
    double eps = c->single ? FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < n; i++) {
        c->path[i] += fabs(want[i] - c->prev[i]);
        c->prev[i] = want[i];
        double scale = fmax(fmax(fabs(want[i]), fabs(c->x0[i])), c->path[i]);
        double err = fabs(c->x[i] - want[i]) / (eps * scale);
        c->same += c->x[i] == want[i];
        c->values++;
        if (err > c->worst) c->worst = err;
        cr_assert(err <= 16, "%s float%d step %d parameter %zu: C %.9g, torch %.9g (%.1f eps)", c->name,
                  c->single ? 32 : 64, c->steps, i, c->x[i], want[i], err);
    }
}

/* torch.optim.SGD / Adam / AdamW trajectories and the schedulers' learning rates. */
Test(optim_torch, agrees_with_torch_optim, .timeout = 120)
{
    char *out = torch_output("");
    torch_case c = { .name = NULL };
    vp_sched sched = { .kind = VP_SCHED_COUNT };
    double base_lr = 0, nums[MAXN];
    int cases = 0, scheds = 0, lrs = 0, ended = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        char *rest = sp ? sp + 1 : line + strlen(line);
        if (sp) *sp = '\0';
        if (strcmp(line, "case") == 0) {
            case_end(&c);
            case_begin(&c, rest);
            cases++;
        } else if (strcmp(line, "init") == 0) {
            c.n = parse_numbers(rest, c.x, MAXN);
            memcpy(c.x0, c.x, sizeof c.x);
            memcpy(c.prev, c.x, sizeof c.x);
            memset(c.path, 0, sizeof c.path);
            vp_err e;
            cr_assert_eq(vp_optim_state_init(&c.st, &c.opt, c.n, c.single, &e), VP_OK, "%s", e.msg);
        } else if (strcmp(line, "grad") == 0) {
            cr_assert_eq(parse_numbers(rest, c.g, MAXN), c.n);
        } else if (strcmp(line, "param") == 0) {
            size_t n = parse_numbers(rest, nums, MAXN);
            case_step(&c, nums, n);
        } else if (strcmp(line, "sched") == 0) {
            case_end(&c);
            c.name = NULL;
            char *s2 = NULL, *name = strtok_r(rest, " ", &s2);
            vp_sched_kind k = vp_sched_find(name);
            cr_assert_neq(k, VP_SCHED_COUNT, "unknown schedule %s", name);
            sched = vp_sched_default(k);
            const vp_sched_info *info = vp_sched_get(k);
            for (char *kv = strtok_r(NULL, " ", &s2); kv; kv = strtok_r(NULL, " ", &s2)) {
                char *eq = strchr(kv, '=');
                cr_assert_not_null(eq);
                *eq = '\0';
                if (strcmp(kv, "base_lr") == 0) { base_lr = strtod(eq + 1, NULL); continue; }
                int i = vp_sched_param_index(info, kv);
                cr_assert_geq(i, 0, "%s has no parameter %s", name, kv);
                sched.p[i] = strtod(eq + 1, NULL);
            }
            scheds++;
        } else if (strcmp(line, "lr") == 0) {
            cr_assert_eq(parse_numbers(rest, nums, MAXN), 2);
            long step = (long)nums[0];
            double mine = vp_sched_lr(&sched, base_lr, step, 0);
            /* torch steps its schedulers recursively (lr *= ratio), so it drifts from
             * the closed form by a few roundings per step */
            cr_assert(fabs(mine - nums[1]) <= 1e-13 * base_lr, "%s lr(%ld): %.17g, torch %.17g",
                      vp_sched_get(sched.kind)->name, step, mine, nums[1]);
            lrs++;
        } else if (strcmp(line, "end") == 0) {
            ended = 1;
        } else {
            cr_assert_fail("unexpected line \"%s\" in the torch output", line);
        }
    }
    case_end(&c);
    free(out);
    cr_assert(ended, "the torch output stops early");
    cr_assert_eq(cases, 12);
    cr_assert_eq(scheds, 3);
    cr_assert_eq(lrs, 90);
}

/* F.cross_entropy and F.mse_loss (one-hot targets), value and autograd gradient. */
Test(optim_torch, losses_agree_with_torch_nn, .timeout = 120)
{
    char *out = torch_output("losses");
    enum { MAXZ = 256 };
    double z[MAXZ], want_d[MAXZ], d[MAXZ], labels_d[MAXZ], want_loss = 0, loss;
    int32_t labels[MAXZ];
    size_t b = 0, c = 0;
    vp_loss_kind kind = VP_LOSS_COUNT;
    int cases = 0, ended = 0;
    char *save = NULL, name[64] = "";
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        char *rest = sp ? sp + 1 : line + strlen(line);
        if (sp) *sp = '\0';
        if (strcmp(line, "loss") == 0) {
            cr_assert_eq(sscanf(rest, "%63s %zu %zu", name, &b, &c), 3);
            kind = vp_loss_find(name);
            cr_assert_neq(kind, VP_LOSS_COUNT, "unknown loss %s", name);
            cr_assert_leq(b * c, (size_t)MAXZ);
        } else if (strcmp(line, "logits") == 0) {
            cr_assert_eq(parse_numbers(rest, z, MAXZ), b * c);
        } else if (strcmp(line, "labels") == 0) {
            cr_assert_eq(parse_numbers(rest, labels_d, MAXZ), b);
            for (size_t i = 0; i < b; i++) labels[i] = (int32_t)labels_d[i];
        } else if (strcmp(line, "value") == 0) {
            cr_assert_eq(parse_numbers(rest, &want_loss, 1), 1);
        } else if (strcmp(line, "dlogits") == 0) {
            cr_assert_eq(parse_numbers(rest, want_d, MAXZ), b * c);
            vp_err e;
            cr_assert_eq(vp_loss_f64(kind, z, labels, b, c, &loss, d, &e), VP_OK, "%s", e.msg);
            double zmax = 0, dmax = 0, worst_d = 0;
            for (size_t i = 0; i < b * c; i++) {
                zmax = fmax(zmax, fabs(z[i]));
                dmax = fmax(dmax, fabs(want_d[i]));
            }
            double tol_l = 16 * DBL_EPSILON * (fabs(want_loss) + zmax), tol_d = 16 * DBL_EPSILON * dmax;
            cr_assert(fabs(loss - want_loss) <= tol_l, "%s %zux%zu: loss %.17g, torch %.17g", name, b, c,
                      loss, want_loss);
            for (size_t i = 0; i < b * c; i++) {
                worst_d = fmax(worst_d, fabs(d[i] - want_d[i]));
                cr_assert(fabs(d[i] - want_d[i]) <= tol_d, "%s %zux%zu: dlogits[%zu] %.17g, torch %.17g", name,
                          b, c, i, d[i], want_d[i]);
            }
            cr_log_info("torch agreement %s %zux%zu: loss off by %.2g (tolerance %.2g), gradient by %.2g "
                        "(tolerance %.2g)", name, b, c, fabs(loss - want_loss), tol_l, worst_d, tol_d);
            cases++;
        } else if (strcmp(line, "end") == 0) {
            ended = 1;
        } else {
            cr_assert_fail("unexpected line \"%s\" in the torch output", line);
        }
    }
    free(out);
    cr_assert(ended, "the torch output stops early");
    cr_assert_eq(cases, 4);
}
