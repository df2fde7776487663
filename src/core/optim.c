/* optim: see optim.h. Update rules: PyTorch 1.13 torch/optim/sgd.py, adam.py,
 * adamw.py (the _single_tensor_* functions, used on CPU when foreach is not set)
 * and the torch.optim docs; schedules: torch/optim/lr_scheduler.py
 * (StepLR._get_closed_form_lr, CosineAnnealingLR._get_closed_form_lr, LinearLR).
 * Summary with the Keras differences: docs/reference/residual-norm-conv.md
 * section 8. The precision-generic kernels are in optim_impl.inc. */
#include "core/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 1e12
#define UNUSED(x) (void)(x)
#define OPT_INLINE static inline __attribute__((always_inline))

/* The fused multiply-adds of PyTorch's CPU kernels (AVX2 and AVX-512 builds):
 *   a.add(b, alpha=s)            a + s*b      -> vec::fmadd(b, s, a): one rounding
 *   a.addcmul(b, c, value=s)     a + s*b*c    -> fma(s*b, c, a): s*b rounded, then fused
 * (addcdiv, mul, div, sqrt and add of a scalar are not fused; which ops fuse was
 * measured against torch 1.13 op by op). fma()/fmaf() are correctly rounded on
 * every CPU, so the result does not depend on the clone or the compiler; with them
 * the trajectories equal torch.optim's bit for bit in float32 and float64
 * (tests/test_optim_torch.c). */
#define AXPY(a, alpha, b) FMA(alpha, b, a)
#define ADDCMUL(a, value, b, c) FMA((value) * (b), c, a)

/* The update loops are compiled for x86-64-v4 (AVX-512), v3 (AVX2 + FMA: fma
 * becomes one vector instruction) and the baseline (where fma is a libm call:
 * correct, slower). simd.h's VP_CLONES has an "avx2" level without FMA, which
 * would make every fma a call; hence this list. Other compilers: one version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OPT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define OPT_CLONES
#endif

#define REAL float
#define FN(x) x##_f32
#define SQRT sqrtf
#define FMA fmaf
#include "core/optim_impl.inc"
#undef REAL
#undef FN
#undef SQRT
#undef FMA
#define REAL double
#define FN(x) x##_f64
#define SQRT sqrt
#define FMA fma
#include "core/optim_impl.inc"
#undef REAL
#undef FN
#undef SQRT
#undef FMA

/* ---- optimizer rows ---- */

static size_t slots_sgd(const double *p) { return p[VP_SGD_MOMENTUM] != 0.0 ? 1 : 0; }
static size_t slots_adam(const double *p) { UNUSED(p); return 2; }

/* PyTorch SGD.__init__: "Nesterov momentum requires a momentum and zero dampening". */
static vp_status check_sgd(const double *p, vp_err *err)
{
    if (p[VP_SGD_NESTEROV] != 0.0 && (p[VP_SGD_MOMENTUM] <= 0.0 || p[VP_SGD_DAMPENING] != 0.0))
        return vp_fail(err, VP_ERR_CONFIG, "optimizer sgd: nesterov requires momentum > 0 and "
                       "dampening 0 (momentum %.10g, dampening %.10g)", p[VP_SGD_MOMENTUM],
                       p[VP_SGD_DAMPENING]);
    return VP_OK;
}

/* Largest double below 1: PyTorch requires 0 <= beta < 1. */
#define BETA_HI 0x1.fffffffffffffp-1

#define P_LR(dflt, who) { .name = "lr", .type = VP_P_NUM, .def = (dflt), .lo = 0, .hi = BIG, \
                         .help = "base learning rate; the schedule scales it (" who ")" }
#define P_WD(dflt, what) { .name = "weight_decay", .type = VP_P_NUM, .def = (dflt), .lo = 0, .hi = BIG, \
                          .help = what }
#define ADAM_PARAMS(wd_def, wd_help)                                                                 \
    P_LR(1e-3, "PyTorch default 1e-3"),                                                              \
    { .name = "beta1", .type = VP_P_NUM, .def = 0.9, .lo = 0, .hi = BETA_HI,                         \
      .help = "first-moment decay, betas[0] in PyTorch; in [0, 1)" },                               \
    { .name = "beta2", .type = VP_P_NUM, .def = 0.999, .lo = 0, .hi = BETA_HI,                       \
      .help = "second-moment decay, betas[1] in PyTorch; in [0, 1)" },                              \
    { .name = "eps", .type = VP_P_NUM, .def = 1e-8, .lo = 0, .hi = BIG,                              \
      .help = "added to sqrt(v_hat) (PyTorch 1e-8; Keras 1e-7 is added to sqrt(v) instead); 0, as PyTorch "  \
              "allows, gives 0/0 = NaN where a gradient entry is exactly 0 (a dead ReLU unit): diverged" },  \
    P_WD(wd_def, wd_help)

static const vp_optim_info OPTIM_TABLE[VP_OPTIM_COUNT] = {
    [VP_OPTIM_SGD] = {
        .name = "sgd",
        .aliases = "",
        .rule = "g += wd*theta; b = g (step 1) else mu*b + (1-dampening)*g; "
                "g = g + mu*b (nesterov) else b; theta -= lr*g",
        .origin = "torch.optim.SGD (buffer starts as the first gradient, undampened; Keras's "
                  "v = mu*v - lr*g differs when lr varies); lr default 1e-3 as current PyTorch "
                  "(1.13 requires it)",
        .nparams = 5,
        .params = {
            P_LR(1e-3, "PyTorch 1.13: required; current PyTorch: 1e-3"),
            { .name = "momentum", .type = VP_P_NUM, .def = 0, .lo = 0, .hi = 1,
              .help = "momentum factor mu; 0 turns the buffer off" },
            { .name = "dampening", .type = VP_P_NUM, .def = 0, .lo = 0, .hi = 1,
              .help = "dampening tau of the buffer update (not applied at step 1)" },
            P_WD(0, "L2 penalty added to the gradient: g + wd*theta"),
            { .name = "nesterov", .type = VP_P_ENUM, .def = 0, .lo = 0, .hi = 1,
              .choices = "false true", .help = "Nesterov momentum (needs momentum > 0, dampening 0)" },
        },
        .state = "momentum_buffer",
        .state_slots = slots_sgd,
        .check = check_sgd,
        .step_f32 = sgd_step_f32,
        .step_f64 = sgd_step_f64,
    },
    [VP_OPTIM_ADAM] = {
        .name = "adam",
        .aliases = "",
        .rule = "g += wd*theta; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
                "theta -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
        .origin = "torch.optim.Adam (amsgrad off): lr 1e-3, betas (0.9, 0.999), eps 1e-8, "
                  "weight_decay 0 (L2, coupled)",
        .nparams = 5,
        .params = { ADAM_PARAMS(0, "L2 penalty added to the gradient: g + wd*theta") },
        .state = "exp_avg exp_avg_sq",
        .state_slots = slots_adam,
        .check = NULL,
        .step_f32 = adam_step_f32,
        .step_f64 = adam_step_f64,
    },
    [VP_OPTIM_ADAMW] = {
        .name = "adamw",
        .aliases = "",
        .rule = "theta *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
                "theta -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
        .origin = "torch.optim.AdamW (amsgrad off): lr 1e-3, betas (0.9, 0.999), eps 1e-8, "
                  "weight_decay 1e-2 (decoupled, scaled by lr)",
        .nparams = 5,
        .params = { ADAM_PARAMS(1e-2, "decoupled decay: theta *= 1 - lr*wd before the Adam step") },
        .state = "exp_avg exp_avg_sq",
        .state_slots = slots_adam,
        .check = NULL,
        .step_f32 = adamw_step_f32,
        .step_f64 = adamw_step_f64,
    },
};

const vp_optim_info *vp_optim_get(vp_optim_kind k)
{
    if ((unsigned)k >= VP_OPTIM_COUNT) abort(); /* internal invariant: kinds come from vp_optim_find */
    return &OPTIM_TABLE[k];
}

vp_optim_kind vp_optim_find(const char *name)
{
    for (int k = 0; k < VP_OPTIM_COUNT; k++)
        if (strcmp(OPTIM_TABLE[k].name, name) == 0 || vp_choice_index(OPTIM_TABLE[k].aliases, name) >= 0)
            return (vp_optim_kind)k;
    return VP_OPTIM_COUNT;
}

vp_optim vp_optim_default(vp_optim_kind k)
{
    vp_optim o = { .kind = k, .p = {0} };
    const vp_optim_info *info = vp_optim_get(k);
    for (int i = 0; i < info->nparams; i++) o.p[i] = info->params[i].def;
    return o;
}

static int param_index(const vp_param *params, int nparams, const char *name)
{
    for (int i = 0; i < nparams; i++)
        if (strcmp(params[i].name, name) == 0) return i;
    return -1;
}

int vp_optim_param_index(const vp_optim_info *info, const char *name)
{
    return param_index(info->params, info->nparams, name);
}

/* Space-separated canonical names of a table: `name_at(i)` for i < count. */
#define NAMES(TABLE, COUNT)                                                                        \
    do {                                                                                           \
        size_t used = 0;                                                                           \
        if (len) buf[0] = '\0';                                                                    \
        for (int k = 0; k < (COUNT) && used < len; k++)                                            \
            used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? " " : "", TABLE[k].name); \
    } while (0)

void vp_optim_names(char *buf, size_t len) { NAMES(OPTIM_TABLE, VP_OPTIM_COUNT); }

/* Every value against its spec; an enum must be the index of one of its choices. */
static vp_status check_values(const char *what, const char *name, const vp_param *params,
                              int nparams, const double *p, vp_err *err)
{
    for (int i = 0; i < nparams; i++) {
        char where[160];
        snprintf(where, sizeof where, "%s %s: %s", what, name, params[i].name);
        if (params[i].type == VP_P_ENUM) {
            int count = vp_choice_count(params[i].choices);
            if (!(p[i] >= 0 && p[i] < count && p[i] == floor(p[i])))
                return vp_fail(err, VP_ERR_CONFIG, "%s: %g is not the index of a choice", where, p[i]);
            continue;
        }
        vp_status s = vp_param_check(&params[i], p[i], where, err);
        if (s) return s;
    }
    return VP_OK;
}

vp_status vp_optim_check(const vp_optim *o, vp_err *err)
{
    const vp_optim_info *info = vp_optim_get(o->kind);
    vp_status s = check_values("optimizer", info->name, info->params, info->nparams, o->p, err);
    if (s) return s;
    return info->check ? info->check(o->p, err) : VP_OK;
}

vp_status vp_optim_state_init(vp_optim_state *st, const vp_optim *o, size_t n, int single,
                              vp_err *err)
{
    memset(st, 0, sizeof *st);
    vp_status s = vp_optim_check(o, err);
    if (s) return s;
    const vp_optim_info *info = vp_optim_get(o->kind);
    size_t slots = info->state_slots(o->p), elem = single ? sizeof(float) : sizeof(double);
    void *state = NULL;
    if (slots && n) {
        if (n > (size_t)-1 / elem / slots)
            return vp_fail(err, VP_ERR_NOMEM, "optimizer %s: state for %zu parameters overflows",
                           info->name, n);
        state = calloc(slots * n, elem); /* all-zero bits are 0.0 in IEEE 754 */
        if (!state)
            return vp_fail(err, VP_ERR_NOMEM, "optimizer %s: cannot allocate %zu x %zu state values",
                           info->name, slots, n);
    }
    st->opt = *o;
    st->single = single ? 1 : 0;
    st->n = n;
    st->slots = slots;
    st->step = 0;
    st->state = state;
    return VP_OK;
}

void vp_optim_state_free(vp_optim_state *st)
{
    if (!st) return;
    free(st->state);
    memset(st, 0, sizeof *st);
}

static vp_status step_check(const vp_optim_state *st, int single, double lr, vp_err *err)
{
    const char *name = vp_optim_get(st->opt.kind)->name;
    if (st->single != single)
        return vp_fail(err, VP_ERR_USAGE, "optimizer %s: state is float%d, parameters are float%d",
                       name, st->single ? 32 : 64, single ? 32 : 64);
    if (!(lr >= 0.0) || isinf(lr))
        return vp_fail(err, VP_ERR_USAGE, "optimizer %s: learning rate %g is not a finite number >= 0",
                       name, lr);
    return VP_OK;
}

vp_status vp_optim_step_f32(vp_optim_state *st, float *params, const float *grads, double lr,
                            vp_err *err)
{
    vp_status s = step_check(st, 1, lr, err);
    if (s) return s;
    st->step++;
    vp_optim_get(st->opt.kind)->step_f32(st->opt.p, lr, st->step, st->n, params, grads, st->state, st->n);
    return VP_OK;
}

vp_status vp_optim_step_f64(vp_optim_state *st, double *params, const double *grads, double lr,
                            vp_err *err)
{
    vp_status s = step_check(st, 0, lr, err);
    if (s) return s;
    st->step++;
    vp_optim_get(st->opt.kind)->step_f64(st->opt.p, lr, st->step, st->n, params, grads, st->state, st->n);
    return VP_OK;
}

/* ---- learning-rate schedules (torch/optim/lr_scheduler.py closed forms) ---- */

static double lr_constant(const double *p, double base_lr, long step, long total_steps)
{
    UNUSED(p); UNUSED(step); UNUSED(total_steps);
    return base_lr;
}

/* StepLR._get_closed_form_lr: base_lr * gamma ** (last_epoch // step_size). */
static double lr_step(const double *p, double base_lr, long step, long total_steps)
{
    UNUSED(total_steps);
    long k = step / (long)p[VP_STEP_STEP_SIZE];
    return base_lr * pow(p[VP_STEP_GAMMA], (double)k);
}

/* CosineAnnealingLR._get_closed_form_lr:
 * eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2. */
static double lr_cosine(const double *p, double base_lr, long step, long total_steps)
{
    double t_max = p[VP_COS_T_MAX] > 0 ? p[VP_COS_T_MAX] : (double)(total_steps > 1 ? total_steps : 1);
    double eta_min = p[VP_COS_ETA_MIN];
    return eta_min + (base_lr - eta_min) * (1.0 + cos(M_PI * (double)step / t_max)) / 2.0;
}

#define P_WARMUP { .name = "warmup_steps", .type = VP_P_INT, .def = 0, .lo = 0, .hi = BIG, \
                   .help = "linear warm-up: update s < W uses the schedule's lr at s times (s+1)/W; 0 = none" }

static const vp_sched_info SCHED_TABLE[VP_SCHED_COUNT] = {
    [VP_SCHED_CONSTANT] = {
        .name = "constant",
        .aliases = "none",
        .formula = "base_lr",
        .origin = "no scheduler (torch.optim.lr_scheduler.ConstantLR with factor 1)",
        .nparams = 1,
        .params = { P_WARMUP },
        .warmup_index = VP_CONST_WARMUP,
        .lr = lr_constant,
    },
    [VP_SCHED_STEP] = {
        .name = "step",
        .aliases = "step_lr steplr",
        .formula = "base_lr * gamma^floor(step / step_size)",
        .origin = "torch.optim.lr_scheduler.StepLR (closed form), stepped once per update",
        .nparams = 3,
        .params = {
            { .name = "step_size", .type = VP_P_INT, .def = 1000, .lo = 1, .hi = BIG,
              .help = "updates between decays (PyTorch: required, counted in scheduler steps)" },
            { .name = "gamma", .type = VP_P_NUM, .def = 0.1, .lo = 0, .hi = BIG,
              .help = "multiplicative decay (PyTorch default 0.1)" },
            P_WARMUP,
        },
        .warmup_index = VP_STEP_WARMUP,
        .lr = lr_step,
    },
    [VP_SCHED_COSINE] = {
        .name = "cosine",
        .aliases = "cosine_annealing",
        .formula = "eta_min + (base_lr - eta_min) * (1 + cos(pi * step / t_max)) / 2",
        .origin = "torch.optim.lr_scheduler.CosineAnnealingLR (closed form), stepped once per update",
        .nparams = 3,
        .params = {
            { .name = "t_max", .type = VP_P_INT, .def = 0, .lo = 0, .hi = BIG,
              .help = "half-period in updates; 0 = the run's total number of updates "
                      "(PyTorch: T_max, required)" },
            { .name = "eta_min", .type = VP_P_NUM, .def = 0, .lo = 0, .hi = BIG,
              .help = "learning rate at step t_max (PyTorch default 0)" },
            P_WARMUP,
        },
        .warmup_index = VP_COS_WARMUP,
        .lr = lr_cosine,
    },
};

const vp_sched_info *vp_sched_get(vp_sched_kind k)
{
    if ((unsigned)k >= VP_SCHED_COUNT) abort(); /* internal invariant: kinds come from vp_sched_find */
    return &SCHED_TABLE[k];
}

vp_sched_kind vp_sched_find(const char *name)
{
    for (int k = 0; k < VP_SCHED_COUNT; k++)
        if (strcmp(SCHED_TABLE[k].name, name) == 0 || vp_choice_index(SCHED_TABLE[k].aliases, name) >= 0)
            return (vp_sched_kind)k;
    return VP_SCHED_COUNT;
}

vp_sched vp_sched_default(vp_sched_kind k)
{
    vp_sched s = { .kind = k, .p = {0} };
    const vp_sched_info *info = vp_sched_get(k);
    for (int i = 0; i < info->nparams; i++) s.p[i] = info->params[i].def;
    return s;
}

int vp_sched_param_index(const vp_sched_info *info, const char *name)
{
    return param_index(info->params, info->nparams, name);
}

void vp_sched_names(char *buf, size_t len) { NAMES(SCHED_TABLE, VP_SCHED_COUNT); }

vp_status vp_sched_check(const vp_sched *s, vp_err *err)
{
    const vp_sched_info *info = vp_sched_get(s->kind);
    return check_values("schedule", info->name, info->params, info->nparams, s->p, err);
}

double vp_sched_lr(const vp_sched *s, double base_lr, long step, long total_steps)
{
    const vp_sched_info *info = vp_sched_get(s->kind);
    if (step < 0) step = 0;
    double lr = info->lr(s->p, base_lr, step, total_steps);
    double warmup = s->p[info->warmup_index];
    if (warmup > 0 && (double)step < warmup) lr *= (double)(step + 1) / warmup;
    return lr;
}
