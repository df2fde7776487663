/* optim: the optimizer registry (sgd, adam, adamw) and the learning-rate
 * schedules (constant, step, cosine, with optional linear warm-up).
 *
 * Owns: the parameter-update rules, their per-parameter state (allocated here,
 * freed by vp_optim_state_free) and lr(step). Not owned: the gradients (mlp's
 * backward pass), the loss, the training loop, checkpoints (the state's arrays
 * and step counter are public fields so a checkpoint can save and restore them).
 *
 * Update rules: exactly torch.optim's single-tensor implementations
 * (torch/optim/sgd.py _single_tensor_sgd, adam.py _single_tensor_adam, adamw.py
 * _single_tensor_adamw, PyTorch 1.13 -- the path torch.optim takes on CPU),
 * operation by operation; see docs/reference/residual-norm-conv.md section 8
 * and the comments in optim.c. One flat parameter array and one flat gradient
 * array per step (as llm.c does): the caller lays every weight and bias out
 * contiguously. Float32 parameters keep float32 state (as PyTorch does for
 * float32 tensors) and every elementwise operation rounds to float32 as the
 * corresponding torch op does, fused multiply-adds where torch's CPU kernels fuse
 * (add with alpha, addcmul); the per-step scalars (bias corrections, step size,
 * 1 - lr*wd) are computed in double and rounded once, as PyTorch does with
 * Python floats. Float64 parameters: everything in double. Result: the same bits
 * as torch 1.13's trajectories (tests/test_optim_torch.c).
 *
 * Determinism: every update is elementwise, so the result does not depend on
 * threads, vector width or the order the elements are visited.
 * The tables are static const; the library holds no state of its own.
 */
#ifndef VP_OPTIM_H
#define VP_OPTIM_H

#include <stddef.h>

#include "base/err.h"
#include "base/param.h"

/* ---------------------------------------------------------------- optimizers */

#define VP_OPTIM_MAX_PARAMS 6

typedef enum { VP_OPTIM_SGD, VP_OPTIM_ADAM, VP_OPTIM_ADAMW, VP_OPTIM_COUNT } vp_optim_kind;

/* Parameter indices: every optimizer's parameter 0 is its (base) learning rate. */
enum { VP_OPTIM_LR = 0 };
enum { VP_SGD_LR, VP_SGD_MOMENTUM, VP_SGD_DAMPENING, VP_SGD_WEIGHT_DECAY, VP_SGD_NESTEROV };
enum { VP_ADAM_LR, VP_ADAM_BETA1, VP_ADAM_BETA2, VP_ADAM_EPS, VP_ADAM_WEIGHT_DECAY }; /* adam, adamw */

/* An optimizer with its parameter values (p[i] for the row's params[i]; an enum
 * such as nesterov stores the index of its choice: 0 false, 1 true). */
typedef struct {
    vp_optim_kind kind;
    double p[VP_OPTIM_MAX_PARAMS];
} vp_optim;

/* One update of n parameters. p: the parameter values; lr: this step's learning
 * rate (from the schedule; p[VP_OPTIM_LR] is only the base); t: the step number,
 * 1 for the first update (PyTorch's state['step'] after its increment); state:
 * state_slots(p) arrays, slot k starting at state + k*ld, zero before step 1.
 * Every update is elementwise, so a caller may split the parameters into chunks
 * (threads): chunk [b, e) is step(p, lr, t, e - b, params + b, grads + b,
 * state + b, st->n) with t = st->step after one increment per whole step; the
 * bits do not depend on the split. vp_optim_step_* do the whole array at once. */
typedef void (*vp_optim_step_f32_fn)(const double *p, double lr, long t, size_t n, float *params,
                                     const float *grads, float *state, size_t ld);
typedef void (*vp_optim_step_f64_fn)(const double *p, double lr, long t, size_t n, double *params,
                                     const double *grads, double *state, size_t ld);

typedef struct {
    const char *name;       /* config spelling ("train.optimizer.name") and CSV label */
    const char *aliases;    /* space-separated */
    const char *rule;       /* the update rule, as text */
    const char *origin;     /* library, defaults and what differs elsewhere */
    int nparams;
    vp_param params[VP_OPTIM_MAX_PARAMS];
    const char *state;      /* names of the state arrays, in slot order */
    size_t (*state_slots)(const double *p); /* state arrays of n elements for these values */
    vp_status (*check)(const double *p, vp_err *err); /* constraints between parameters, or NULL */
    vp_optim_step_f32_fn step_f32;
    vp_optim_step_f64_fn step_f64;
} vp_optim_info;

const vp_optim_info *vp_optim_get(vp_optim_kind k); /* k < VP_OPTIM_COUNT, else abort */
vp_optim_kind vp_optim_find(const char *name);      /* VP_OPTIM_COUNT if unknown */
vp_optim vp_optim_default(vp_optim_kind k);         /* every parameter at its default */
int vp_optim_param_index(const vp_optim_info *info, const char *name); /* -1 if none */
void vp_optim_names(char *buf, size_t len);         /* "sgd adam adamw" */
/* Every value in its range and the row's cross-parameter rule (sgd: nesterov needs
 * momentum > 0 and dampening 0, PyTorch's ValueError). VP_ERR_CONFIG naming the
 * optimizer and parameter. */
vp_status vp_optim_check(const vp_optim *o, vp_err *err);

/* An optimizer's state for one flat parameter array. Plain value owned by the
 * caller; vp_optim_state_init allocates `state`, vp_optim_state_free releases it. */
typedef struct {
    vp_optim opt;
    int single;     /* 1: float32 parameters and state; 0: float64 */
    size_t n;       /* parameters */
    size_t slots;   /* state arrays (sgd: 1 with momentum, else 0; adam/adamw: 2) */
    long step;      /* updates done so far (PyTorch's state['step']) */
    void *state;    /* slots * n floats (single) or doubles, slot k at k * n; NULL if slots == 0 */
} vp_optim_state;

/* Checks o (vp_optim_check), then allocates zeroed state for n parameters of the
 * given precision; step = 0. On failure st is left empty (safe to free). */
vp_status vp_optim_state_init(vp_optim_state *st, const vp_optim *o, size_t n, int single,
                              vp_err *err);
void vp_optim_state_free(vp_optim_state *st); /* idempotent; leaves st empty */

/* One update params -= f(grads, state) at learning rate lr, in place; st->step is
 * incremented first (so the update is step st->step). Fails (VP_ERR_USAGE, nothing
 * changed) when the precision does not match st->single or lr is not a finite
 * number >= 0. NaN/Inf gradients are not checked: they propagate into the
 * parameters as in PyTorch (the runner stops on a non-finite loss). */
vp_status vp_optim_step_f32(vp_optim_state *st, float *params, const float *grads, double lr,
                            vp_err *err);
vp_status vp_optim_step_f64(vp_optim_state *st, double *params, const double *grads, double lr,
                            vp_err *err);

/* ----------------------------------------------------------------- schedules */

#define VP_SCHED_MAX_PARAMS 3

typedef enum { VP_SCHED_CONSTANT, VP_SCHED_STEP, VP_SCHED_COSINE, VP_SCHED_COUNT } vp_sched_kind;

/* Parameter indices. warmup_steps is the last parameter of every row. */
enum { VP_CONST_WARMUP };
enum { VP_STEP_STEP_SIZE, VP_STEP_GAMMA, VP_STEP_WARMUP };
enum { VP_COS_T_MAX, VP_COS_ETA_MIN, VP_COS_WARMUP };

typedef struct {
    vp_sched_kind kind;
    double p[VP_SCHED_MAX_PARAMS];
} vp_sched;

typedef struct {
    const char *name;       /* config spelling ("train.schedule.name") */
    const char *aliases;
    const char *formula;    /* lr(step), as text */
    const char *origin;
    int nparams;
    vp_param params[VP_SCHED_MAX_PARAMS];
    int warmup_index;       /* index of warmup_steps in params */
    /* The schedule without warm-up: lr at `step` from base_lr; total_steps only
     * resolves cosine's t_max = 0. */
    double (*lr)(const double *p, double base_lr, long step, long total_steps);
} vp_sched_info;

const vp_sched_info *vp_sched_get(vp_sched_kind k); /* k < VP_SCHED_COUNT, else abort */
vp_sched_kind vp_sched_find(const char *name);      /* VP_SCHED_COUNT if unknown */
vp_sched vp_sched_default(vp_sched_kind k);
int vp_sched_param_index(const vp_sched_info *info, const char *name); /* -1 if none */
void vp_sched_names(char *buf, size_t len);         /* "constant step cosine" */
vp_status vp_sched_check(const vp_sched *s, vp_err *err); /* every value in its range */

/* The learning rate of the update made after `step` earlier updates (step = 0 for
 * the first update, i.e. the scheduler's last_epoch when it is stepped once per
 * optimizer step), from the optimizer's base_lr. A pure function:
 *   constant  base_lr
 *   step      base_lr * gamma^floor(step / step_size)          (StepLR's closed form)
 *   cosine    eta_min + (base_lr - eta_min) (1 + cos(pi step / T)) / 2, T = t_max, or
 *             total_steps when t_max is 0 (CosineAnnealingLR's closed form; past T it
 *             rises again, as that closed form does)
 * then, with warmup_steps W > 0 and step < W, multiplied by (step + 1) / W: the
 * first update uses lr/W, update W (step = W-1) the full lr. The warm-up does not
 * delay the schedule: it multiplies the schedule's value at the same step
 * (LinearLR(start_factor=1/W, total_iters=W-1)'s factor). total_steps is read only
 * by cosine with t_max = 0 (then it must be >= 1; a smaller value counts as 1). */
double vp_sched_lr(const vp_sched *s, double base_lr, long step, long total_steps);

#endif
