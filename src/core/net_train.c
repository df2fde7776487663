/* net_train: see net_train.h. The passes are core/net.c's; this file holds the loss on
 * the last layer's output, the flat parameter view for core/optim.h, the step counter
 * and the three calls (step, eval, probe). */
#include "core/net_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/loss.h"
#include "core/optim.h"

struct vp_net_trainer {
    vp_net *net;
    int n, B, C;            /* layers, max batch, classes */
    vp_precision prec;
    vp_train_opts o;
    vp_optim_state ost;     /* n = every weight, then every bias; step = updates done */
};

static size_t real_size(vp_precision p) { return p == VP_F64 ? sizeof(double) : sizeof(float); }

vp_status vp_net_trainer_check(const vp_layer_spec *ls, int n, vp_shape in, int classes, vp_err *err)
{
    vp_shape *sh = malloc((size_t)n * sizeof *sh);
    if (!sh) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    vp_status s = vp_net_shapes(ls, n, in, sh, NULL, err);
    if (!s && (!sh[n - 1].flat || vp_shape_size(sh[n - 1]) != (size_t)classes)) {
        char a[64];
        vp_shape_text(sh[n - 1], a, sizeof a);
        s = vp_fail(err, VP_ERR_CONFIG, "%s: the last layer's output %s is the readout; it must be flat with one value "
                    "per class ([%d]: end with {\"type\": \"dense\", \"width\": %d, \"activation\": \"linear\"})",
                    ls[n - 1].path ? ls[n - 1].path : "the last layer", a, classes, classes);
    }
    for (int i = 0; !s && i < n; i++) {
        const char *p = ls[i].path ? ls[i].path : "a layer";
        if (ls[i].kind == VP_LAYER_RESIDUAL && ls[i].alpha == 0.0 && !ls[i].alpha_param)
            s = vp_fail(err, VP_ERR_CONFIG, "%s: a constant alpha = 0 keeps the branch out of the network and its "
                        "weights never move; give alpha != 0, or \"scheme\": \"skipinit\" or \"rezero\" to train "
                        "alpha from 0", p);
    }
    free(sh);
    return s;
}

static size_t param_count(const vp_layer_spec *ls, int n, vp_shape in)
{
    vp_shape *sh = malloc((size_t)n * sizeof *sh);
    size_t np = 0;
    if (!sh || vp_net_shapes(ls, n, in, sh, NULL, NULL)) {
        free(sh);
        return 0;
    }
    for (int i = 0; i < n; i++) np += vp_net_layer_params(&ls[i], i ? sh[i - 1] : in) + vp_net_layer_aux(&ls[i], sh[i]);
    free(sh);
    return np;
}

double vp_net_trainer_bytes(const vp_layer_spec *ls, int n, vp_shape in, int max_batch, vp_precision prec,
                            const vp_train_opts *o)
{
    double slots = (double)vp_optim_get(o->optim.kind)->state_slots(o->optim.p);
    return vp_net_bytes(ls, n, in, max_batch, prec) + slots * (double)param_count(ls, n, in) * (double)real_size(prec);
}

void vp_net_trainer_free(vp_net_trainer *t)
{
    if (!t) return;
    vp_net_free(t->net);
    vp_optim_state_free(&t->ost);
    free(t);
}

vp_status vp_net_trainer_create(vp_net_trainer **out, const vp_layer_spec *ls, int n, vp_shape in, int max_batch,
                                vp_precision prec, const vp_train_opts *o, vp_err *err)
{
    *out = NULL;
    if (n < 1) return vp_fail(err, VP_ERR_USAGE, "a network needs at least one layer");
    vp_status s = vp_train_opts_check(o, err);
    if (!s) s = vp_net_trainer_check(ls, n, in, o->classes, err);
    if (s) return s;
    vp_net_trainer *t = calloc(1, sizeof *t);
    if (!t) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    t->n = n;
    t->B = max_batch;
    t->C = o->classes;
    t->prec = prec;
    t->o = *o;
    s = vp_net_create(&t->net, ls, n, in, max_batch, prec, err);
    if (!s) {
        vp_net_set_input_grad(t->net, 0);
        vp_net_params p = vp_net_param_blocks(t->net);
        s = vp_optim_state_init(&t->ost, &o->optim, p.nw + p.nb + p.na, prec == VP_F32, err);
    }
    if (s) {
        vp_net_trainer_free(t);
        return s;
    }
    *out = t;
    return VP_OK;
}

void vp_net_trainer_set_pool(vp_net_trainer *t, vp_pool *pool) { vp_net_set_pool(t->net, pool); }
long vp_net_trainer_steps(const vp_net_trainer *t) { return t->ost.step; }
vp_net *vp_net_trainer_net(vp_net_trainer *t) { return t->net; }

/* ---- checkpoint: a header, then W, b, a, the running statistics, the optimizer state ---- */

typedef struct {
    char magic[8];
    uint32_t version, prec, optim, layers;
    uint64_t nw, nb, na, nr, slots, state_n;
    int64_t step;
} ckpt_head;

static ckpt_head head_of(const vp_net_trainer *t)
{
    ckpt_head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "VPNETCK", 8);
    vp_net_params p = vp_net_param_blocks(t->net);
    size_t nr;
    vp_net_running(t->net, &nr);
    h.version = 1;
    h.prec = (uint32_t)t->prec;
    h.optim = (uint32_t)t->ost.opt.kind;
    h.layers = (uint32_t)t->n;
    h.nw = p.nw;
    h.nb = p.nb;
    h.na = p.na;
    h.nr = nr;
    h.slots = t->ost.state ? t->ost.slots : 0;
    h.state_n = t->ost.n;
    h.step = t->ost.step;
    return h;
}

size_t vp_net_trainer_checkpoint_size(const vp_net_trainer *t)
{
    ckpt_head h = head_of(t);
    return sizeof h + (h.nw + h.nb + h.na + h.nr + h.slots * h.state_n) * real_size(t->prec);
}

/* The blocks in checkpoint order (pointer, element count). */
static int blocks_of(vp_net_trainer *t, void **ptr, size_t *cnt)
{
    vp_net_params p = vp_net_param_blocks(t->net);
    size_t nr;
    void *r = vp_net_running(t->net, &nr);
    ptr[0] = p.W, cnt[0] = p.nw;
    ptr[1] = p.b, cnt[1] = p.nb;
    ptr[2] = p.a, cnt[2] = p.na;
    ptr[3] = r, cnt[3] = nr;
    ptr[4] = t->ost.state, cnt[4] = t->ost.state ? t->ost.slots * t->ost.n : 0;
    return 5;
}

vp_status vp_net_trainer_checkpoint(const vp_net_trainer *t, void *buf, size_t len, vp_err *err)
{
    size_t need = vp_net_trainer_checkpoint_size(t), rs = real_size(t->prec);
    if (len < need) return vp_fail(err, VP_ERR_USAGE, "checkpoint: a buffer of %zu bytes, %zu needed", len, need);
    ckpt_head h = head_of(t);
    memcpy(buf, &h, sizeof h);
    char *o = (char *)buf + sizeof h;
    void *ptr[5];
    size_t cnt[5];
    int nb = blocks_of((vp_net_trainer *)t, ptr, cnt);
    for (int k = 0; k < nb; k++) {
        if (cnt[k]) memcpy(o, ptr[k], cnt[k] * rs);
        o += cnt[k] * rs;
    }
    return VP_OK;
}

vp_status vp_net_trainer_restore(vp_net_trainer *t, const void *buf, size_t len, vp_err *err)
{
    ckpt_head h = head_of(t), g;
    size_t rs = real_size(t->prec);
    if (len < sizeof g) return vp_fail(err, VP_ERR_DATA, "checkpoint: %zu bytes, too short for its header", len);
    memcpy(&g, buf, sizeof g);
    if (memcmp(g.magic, h.magic, sizeof h.magic) != 0 || g.version != h.version)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: not a block-network training checkpoint (version %u)", h.version);
    if (g.prec != h.prec || g.optim != h.optim || g.layers != h.layers || g.nw != h.nw || g.nb != h.nb ||
        g.na != h.na || g.nr != h.nr || g.slots != h.slots || g.state_n != h.state_n)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: written for another network, precision or optimizer "
                       "(%u layers, %llu+%llu+%llu parameters; this trainer: %u layers, %llu+%llu+%llu)", g.layers,
                       (unsigned long long)g.nw, (unsigned long long)g.nb, (unsigned long long)g.na, h.layers,
                       (unsigned long long)h.nw, (unsigned long long)h.nb, (unsigned long long)h.na);
    if (len != vp_net_trainer_checkpoint_size(t) || g.step < 0)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: %zu bytes, %zu expected", len, vp_net_trainer_checkpoint_size(t));
    const char *o = (const char *)buf + sizeof g;
    void *ptr[5];
    size_t cnt[5];
    int nb = blocks_of(t, ptr, cnt);
    for (int k = 0; k < nb; k++) {
        if (cnt[k]) memcpy(ptr[k], o, cnt[k] * rs);
        o += cnt[k] * rs;
    }
    t->ost.step = (long)g.step;
    return VP_OK;
}

vp_status vp_net_trainer_init_params(vp_net_trainer *t, uint64_t seed, vp_err *err)
{
    vp_status s = vp_net_init_params(t->net, seed, err);
    if (s) return s;
    if (t->ost.state) memset(t->ost.state, 0, t->ost.slots * t->ost.n * real_size(t->prec));
    t->ost.step = 0;
    return VP_OK;
}

/* Forward on n rows of x (no statistics), batchnorm in `mode`; the logits are the last
 * layer's output. */
static vp_status forward(vp_net_trainer *t, const void *x, size_t n, vp_bn_mode mode, const char *what, vp_err *err)
{
    if (n < 1 || n > (size_t)t->B)
        return vp_fail(err, VP_ERR_USAGE, "training %s: %zu examples (1..%d per call)", what, n, t->B);
    vp_status s = vp_net_set_batch(t->net, (int)n, err);
    if (s) return s;
    vp_net_set_input_raw(t->net, x);
    vp_net_set_bn_mode(t->net, mode);
    return vp_net_forward(t->net, NULL, err);
}

/* The loss of the n rows and (dl != 0) dL/dlogits into the last layer's gradient. */
static vp_status loss_of(vp_net_trainer *t, const int32_t *y, size_t n, int dl, double *loss, vp_err *err)
{
    void *z = vp_net_data(t->net, t->n - 1), *g = dl ? vp_net_grad_data(t->net, t->n - 1) : NULL;
    if (t->prec == VP_F64) return vp_loss_f64(t->o.loss, z, y, n, (size_t)t->C, loss, g, err);
    return vp_loss_f32(t->o.loss, z, y, n, (size_t)t->C, loss, g, err);
}

/* sum x_i^2 in double, in index order. */
static double sumsq(const void *x, size_t n, vp_precision prec)
{
    double s = 0.0;
    if (prec == VP_F64)
        for (size_t i = 0; i < n; i++) s += ((const double *)x)[i] * ((const double *)x)[i];
    else
        for (size_t i = 0; i < n; i++) s += (double)((const float *)x)[i] * (double)((const float *)x)[i];
    return s;
}

/* The optimizer row's kernel on `count` parameters at flat offset `off` (optim.h: the
 * same bits as one update of the whole array). */
static void update(vp_net_trainer *t, size_t off, void *params, const void *grads, size_t count, double lr)
{
    const vp_optim_info *oi = vp_optim_get(t->ost.opt.kind);
    size_t rs = real_size(t->prec);
    void *state = t->ost.state ? (char *)t->ost.state + off * rs : NULL;
    if (t->prec == VP_F64) oi->step_f64(t->ost.opt.p, lr, t->ost.step, count, params, grads, state, t->ost.n);
    else oi->step_f32(t->ost.opt.p, lr, t->ost.step, count, params, grads, state, t->ost.n);
}

vp_status vp_net_trainer_step(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, vp_train_step_info *info,
                              vp_err *err)
{
    double lr = vp_sched_lr(&t->o.sched, t->o.optim.p[VP_OPTIM_LR], t->ost.step, t->o.total_steps);
    if (!(lr >= 0.0) || isinf(lr))
        return vp_fail(err, VP_ERR_USAGE, "training step: learning rate %g is not a finite number >= 0", lr);
    double loss;
    vp_status s = forward(t, x, n, VP_BN_BATCH_UPDATE, "step", err);
    if (!s) s = loss_of(t, y, n, 1, &loss, err);
    if (!s) s = vp_net_backward_given(t->net, 1.0, NULL, err);
    if (s) return s;
    vp_net_params p = vp_net_param_blocks(t->net);
    double gn = sqrt(sumsq(p.dW, p.nw, t->prec) + sumsq(p.db, p.nb, t->prec) + sumsq(p.da, p.na, t->prec));
    t->ost.step++;
    update(t, 0, p.W, p.dW, p.nw, lr);
    update(t, p.nw, p.b, p.db, p.nb, lr);
    if (p.na) update(t, p.nw + p.nb, p.a, p.da, p.na, lr);
    if (info) *info = (vp_train_step_info){ .step = t->ost.step, .loss = loss, .lr = lr, .grad_norm = gn };
    return VP_OK;
}

vp_status vp_net_trainer_eval(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                              long long *correct, vp_err *err)
{
    size_t rs = real_size(t->prec), dim = vp_shape_size(vp_net_shape(t->net, -1));
    double sum = 0;
    long long ok = 0;
    for (size_t r = 0; r < n; r += (size_t)t->B) {
        size_t m = n - r < (size_t)t->B ? n - r : (size_t)t->B;
        double l;
        vp_status s = forward(t, (const char *)x + r * dim * rs, m, VP_BN_RUNNING, "eval", err);
        if (!s) s = loss_of(t, y + r, m, 0, &l, err);
        if (s) return s;
        const void *z = vp_net_data(t->net, t->n - 1);
        ok += (long long)(t->prec == VP_F64 ? vp_loss_correct_f64(z, y + r, m, (size_t)t->C)
                                            : vp_loss_correct_f32(z, y + r, m, (size_t)t->C));
        sum += l * (double)m;
    }
    *loss = n ? sum / (double)n : NAN;
    *correct = ok;
    return VP_OK;
}

vp_status vp_net_trainer_probe(vp_net_trainer *t, const void *x, const int32_t *y, size_t n, vp_block_stats *stats,
                               vp_err *err)
{
    if (n < 1 || n > (size_t)t->B)
        return vp_fail(err, VP_ERR_USAGE, "training probe: %zu examples (1..%d per call)", n, t->B);
    vp_status s = vp_net_set_batch(t->net, (int)n, err);
    if (s) return s;
    vp_net_set_input_raw(t->net, x);
    vp_net_set_bn_mode(t->net, VP_BN_BATCH);
    double loss;
    s = vp_net_forward(t->net, stats, err);
    if (!s) s = loss_of(t, y, n, 1, &loss, err);
    if (!s) s = vp_net_backward_given(t->net, 1.0, stats, err);
    return s;
}
