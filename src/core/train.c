/* train: see train.h. The hidden stack is a vp_mlp (its parameter, z and h blocks
 * are the trainer's; its statistics passes serve the probe); this file adds the
 * readout, the optimizer state, the checkpoint bytes and the parameter access. The
 * passes (work items on the pool) are in train_pass.c and train_impl.inc; the layout
 * is in train_int.h.
 *
 * Parameter order (the optimizer's flat state, the checkpoint): W^1, b^1, ..., W^L,
 * b^L, W_r, b_r -- nn.Sequential(Linear, act, ..., Linear).parameters()'s order. The
 * parameters themselves live in the mlp's blocks and the readout arrays; each layer's
 * update is the optimizer row's kernel on that layer's chunk with the state at the
 * same flat offset, which optim.h guarantees is the same bits as one flat update. */
#include "core/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/train_int.h"

static size_t real_size(vp_precision p) { return vp_train_real_size(p); }

/* ---- shape ---- */

/* Parameters, the largest layer input (n_0..n_L) and the largest output (n_1..n_L, C). */
static void shape(int L, const int *w, int C, size_t *nparams, size_t *inmax, size_t *outmax)
{
    *nparams = 0;
    *inmax = *outmax = 0;
    for (int l = 1; l <= L + 1; l++) {
        size_t in = (size_t)w[l - 1], out = l <= L ? (size_t)w[l] : (size_t)C;
        *nparams += out * in + out;
        if (in > *inmax) *inmax = in;
        if (out > *outmax) *outmax = out;
    }
}

/* Scratch of one worker: a weight-gradient item [TRAIN_ITEM, inmax] or an
 * input-gradient item [B, TRAIN_ITEM], whichever is larger. */
static size_t scratch_elems(size_t inmax, size_t B)
{
    size_t a = (size_t)TRAIN_ITEM * inmax, b = B * (size_t)TRAIN_ITEM;
    return a > b ? a : b;
}

double vp_trainer_bytes(int L, const int *widths, int max_batch, vp_precision prec, vp_act act,
                        const vp_train_opts *o)
{
    size_t np, inmax, outmax;
    shape(L, widths, o->classes, &np, &inmax, &outmax);
    double rs = (double)real_size(prec), C = (double)o->classes, B = (double)max_batch, nL = (double)widths[L];
    double slots = (double)vp_optim_get(o->optim.kind)->state_slots(o->optim.p);
    double readout = 2.0 * (C * nL + C);                  /* W_r, b_r and the probe's dW_r */
    double scratch = 2.0 * B * C + B * nL + (double)scratch_elems(inmax, (size_t)max_batch);
    /* the work items (at most 2 per TRAIN_BLOCK of each layer's widths), their sums (2 per
     * item), the layers */
    double items = 2.0 * (double)(L + 1) * (2.0 + (double)(inmax + outmax) / TRAIN_BLOCK);
    return vp_mlp_bytes(L, widths, max_batch, prec, act) + rs * (readout + scratch + slots * (double)np) +
           8.0 * 3.0 * (C > nL ? C : nL) + items * (double)(sizeof(titem) + 2 * sizeof(double)) +
           (double)(L + 2) * (double)(sizeof(tlayer) + 3 * sizeof(atomic_int));
}

void vp_trainer_free(vp_trainer *t)
{
    if (!t) return;
    vp_mlp_free(t->m);
    vp_train_free_passes(t);
    free(t->w);
    free(t->lay);
    free(t->Wr);
    free(t->br);
    free(t->logits);
    free(t->dlogits);
    free(t->g);
    free(t->dWr);
    free(t->acc);
    vp_optim_state_free(&t->ost);
    free(t);
}

vp_status vp_train_opts_check(const vp_train_opts *o, vp_err *err)
{
    if (o->classes < 2) return vp_fail(err, VP_ERR_CONFIG, "training: %d classes (at least 2)", o->classes);
    if ((unsigned)o->loss >= VP_LOSS_COUNT) return vp_fail(err, VP_ERR_CONFIG, "training: unknown loss");
    if ((unsigned)o->optim.kind >= VP_OPTIM_COUNT)
        return vp_fail(err, VP_ERR_CONFIG, "training: unknown optimizer");
    if ((unsigned)o->sched.kind >= VP_SCHED_COUNT) return vp_fail(err, VP_ERR_CONFIG, "training: unknown schedule");
    vp_status s = vp_optim_check(&o->optim, err);
    if (!s) s = vp_sched_check(&o->sched, err);
    return s;
}

vp_status vp_trainer_create(vp_trainer **out, int L, const int *widths, int max_batch, vp_precision prec,
                            vp_act act, const vp_train_opts *o, vp_err *err)
{
    *out = NULL;
    const vp_act_info *ai = vp_act_get(act.kind);
    if (vp_act_rowwise(ai))
        return vp_fail(err, VP_ERR_CONFIG, "training: activation %s is row-wise; training supports "
                       "elementwise activations only", ai->name);
    vp_status s = vp_train_opts_check(o, err);
    if (s) return s;
    vp_trainer *t = calloc(1, sizeof *t);
    if (!t) return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    t->L = L;
    t->C = o->classes;
    t->B = max_batch;
    t->prec = prec;
    t->act = act;
    t->o = *o;
    s = vp_mlp_create(&t->m, L, widths, max_batch, prec, act, err);
    if (s) {
        free(t);
        return s;
    }
    size_t np, inmax, outmax, rs = real_size(prec), C = (size_t)o->classes, B = (size_t)max_batch;
    shape(L, widths, o->classes, &np, &inmax, &outmax);
    size_t nL = (size_t)widths[L], racc = C > nL ? C : nL;
    t->w = malloc((size_t)(L + 1) * sizeof *t->w);
    t->lay = calloc((size_t)(L + 2), sizeof *t->lay);
    t->Wr = calloc(C * nL, rs);
    t->br = calloc(C, rs);
    t->logits = malloc(B * C * rs);
    t->dlogits = malloc(B * C * rs);
    t->g = malloc(B * nL * rs);
    t->dWr = malloc(C * nL * rs);
    t->acc = malloc(3 * racc * sizeof *t->acc);
    t->scratch_bytes = scratch_elems(inmax, B) * rs;
    t->scratch = malloc(t->scratch_bytes);
    t->nscratch = t->workers = 1;
    if (!t->w || !t->lay || !t->Wr || !t->br || !t->logits || !t->dlogits || !t->g || !t->dWr || !t->acc ||
        !t->scratch) {
        double mb = vp_trainer_bytes(L, widths, max_batch, prec, act, o) / 1048576.0;
        vp_trainer_free(t);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory allocating a trainer of %.0f MiB", mb);
    }
    memcpy(t->w, widths, (size_t)(L + 1) * sizeof *t->w);
    size_t off = 0;
    for (int l = 1; l <= L + 1; l++) {
        tlayer *ly = &t->lay[l];
        ly->nin = (size_t)widths[l - 1];
        ly->poff = off;
        if (l <= L) {
            vp_mlp_layer_view v;
            vp_mlp_view(t->m, l, &v);
            ly->nout = (size_t)v.fan_out;
            ly->W = v.W, ly->b = v.b, ly->z = v.z, ly->h = v.h, ly->gz = v.z;
        } else {
            ly->nout = C;
            ly->W = t->Wr, ly->b = t->br, ly->z = t->logits, ly->h = NULL, ly->gz = t->dlogits;
        }
        off += ly->nout * ly->nin + ly->nout;
    }
    s = vp_train_build_passes(t, err);
    if (s) {
        vp_trainer_free(t);
        return s;
    }
    s = vp_optim_state_init(&t->ost, &o->optim, np, prec == VP_F32, err);
    if (s) {
        vp_trainer_free(t);
        return s;
    }
    *out = t;
    return VP_OK;
}

void vp_trainer_set_pool(vp_trainer *t, vp_pool *pool)
{
    t->pool = pool;
    vp_mlp_set_pool(t->m, pool);
    vp_train_set_workers(t, vp_pool_threads(pool));
}

long vp_trainer_steps(const vp_trainer *t) { return t->ost.step; }
int vp_trainer_depth(const vp_trainer *t) { return t->L; }

/* Zero optimizer state, step 0. */
static void reset_optim(vp_trainer *t)
{
    if (t->ost.state) memset(t->ost.state, 0, t->ost.slots * t->ost.n * real_size(t->prec));
    t->ost.step = 0;
}

vp_status vp_trainer_init_params(vp_trainer *t, const vp_init *winit, const vp_init *binit, const vp_init *rinit,
                                 const vp_init *rbinit, uint64_t seed, vp_err *err)
{
    vp_status s = vp_mlp_init_params(t->m, winit, binit, seed, err);
    if (s) return s;
    size_t C = (size_t)t->C, nL = (size_t)t->w[t->L];
    double *tmp = malloc(C * nL * sizeof *tmp);
    if (!tmp) return vp_fail(err, VP_ERR_NOMEM, "out of memory drawing the readout");
    vp_init ri = *rinit;
    ri.single = t->prec == VP_F32;
    vp_rng rw = vp_rng_make(seed, (uint32_t)(t->L + 1), VP_RNG_WEIGHT);
    vp_rng rb = vp_rng_make(seed, (uint32_t)(t->L + 1), VP_RNG_BIAS);
    s = vp_init_weight(&ri, C, nL, &rw, tmp, err);
    if (!s) {
        vp_trainer_set_layer(t, t->L + 1, tmp, NULL);
        const vp_init *bi = vp_init_get(rinit->kind)->sets_bias ? rinit : rbinit;
        s = vp_init_bias(bi, C, nL, &rb, tmp, err);
        if (!s) vp_trainer_set_layer(t, t->L + 1, NULL, tmp);
    }
    free(tmp);
    if (s) {
        vp_err_prefix(err, "initializing the readout");
        return s;
    }
    reset_optim(t);
    return VP_OK;
}

static vp_status check_rows(const vp_trainer *t, size_t n, const char *what, vp_err *err)
{
    if (n < 1 || n > (size_t)t->B)
        return vp_fail(err, VP_ERR_USAGE, "training %s: %zu examples (1..%d per call)", what, n, t->B);
    return VP_OK;
}

vp_status vp_trainer_step(vp_trainer *t, const void *x, const int32_t *y, size_t n, vp_train_step_info *info,
                          vp_err *err)
{
    vp_status s = check_rows(t, n, "step", err);
    if (s) return s;
    double lr = vp_sched_lr(&t->o.sched, t->o.optim.p[VP_OPTIM_LR], t->ost.step, t->o.total_steps);
    if (!(lr >= 0.0) || isinf(lr))
        return vp_fail(err, VP_ERR_USAGE, "training step: learning rate %g is not a finite number >= 0", lr);
    double loss = NAN, gn = NAN;
    s = vp_train_run_step(t, x, y, n, lr, &loss, &gn, err);
    if (s) return s;
    if (info) {
        info->step = t->ost.step;
        info->loss = loss;
        info->lr = lr;
        info->grad_norm = gn;
    }
    return VP_OK;
}

vp_status vp_trainer_eval(vp_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                          long long *correct, vp_err *err)
{
    double total = 0.0;
    long long right = 0;
    size_t rs = real_size(t->prec), n0 = (size_t)t->w[0];
    for (size_t i = 0; i < n; i += (size_t)t->B) {
        size_t rows = n - i < (size_t)t->B ? n - i : (size_t)t->B;
        const char *xc = (const char *)x + i * n0 * rs;
        double l = 0;
        long long c = 0;
        vp_status s = vp_train_run_eval(t, xc, y + i, rows, &l, &c, err);
        if (s) return s;
        total += l * (double)rows;
        right += c;
    }
    *loss = n ? total / (double)n : NAN;
    *correct = right;
    return VP_OK;
}

vp_status vp_trainer_probe(vp_trainer *t, const void *x, const int32_t *y, size_t n, vp_layer_stats *stats,
                           vp_histogram *hist, vp_err *err)
{
    vp_status s = check_rows(t, n, "probe", err);
    if (s) return s;
    vp_mlp_set_rows(t->m, (int)n);
    vp_mlp_layer_view v0;
    vp_mlp_view(t->m, 0, &v0);
    memcpy(v0.h, x, n * (size_t)t->w[0] * real_size(t->prec));
    s = vp_mlp_forward(t->m, stats, hist, err);
    if (!s) s = vp_train_probe_readout(t, y, n, &stats[t->L], err);
    if (!s) {
        stats[t->L].layer = t->L + 1;
        stats[t->L].fan_in = t->w[t->L];
        stats[t->L].fan_out = t->C;
        s = vp_mlp_backward_from(t->m, t->g, 1.0, stats, hist, err);
    }
    vp_mlp_set_rows(t->m, t->B);
    return s;
}

/* ---- parameters ---- */

/* Layer l's W and b pointers and shape (l = 1..L+1). */
static void layer_ptrs(const vp_trainer *t, int l, void **W, void **b, size_t *nout, size_t *nin)
{
    *W = t->lay[l].W;
    *b = t->lay[l].b;
    *nout = t->lay[l].nout;
    *nin = t->lay[l].nin;
}

/* n values between the trainer's precision and doubles. */
static void copy_out(vp_precision prec, double *dst, const void *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = prec == VP_F64 ? ((const double *)src)[i] : (double)((const float *)src)[i];
}
static void copy_in(vp_precision prec, void *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (prec == VP_F64) ((double *)dst)[i] = src[i];
        else ((float *)dst)[i] = (float)src[i];
    }
}

void vp_trainer_get_layer(const vp_trainer *t, int l, double *W, double *b)
{
    void *pw, *pb;
    size_t nout, nin;
    layer_ptrs(t, l, &pw, &pb, &nout, &nin);
    if (W) copy_out(t->prec, W, pw, nout * nin);
    if (b) copy_out(t->prec, b, pb, nout);
}

void vp_trainer_set_layer(vp_trainer *t, int l, const double *W, const double *b)
{
    void *pw, *pb;
    size_t nout, nin;
    layer_ptrs(t, l, &pw, &pb, &nout, &nin);
    if (W) copy_in(t->prec, pw, W, nout * nin);
    if (b) copy_in(t->prec, pb, b, nout);
}

/* ---- checkpoint ----
 * Layout (native endianness): the header below, widths n_0..n_L (int32), then every
 * parameter in flat order, then each optimizer state slot (n parameters each), in
 * the trainer's precision. */
#define CKPT_MAGIC "VPTRAIN1"

typedef struct {
    char magic[8];
    int32_t version, prec, L, classes, act, optim, loss, pad;
    uint64_t nparams, slots;
    int64_t step;
    double act_p[VP_ACT_MAX_PARAMS];
} ckpt_header;

/* The parameters (flat order), then the optimizer state: into the checkpoint bytes at
 * dst, or (dst NULL) from the bytes at src into the trainer. */
static void move_state(const vp_trainer *t, char *dst, const char *src)
{
    size_t rs = real_size(t->prec);
    for (int l = 1; l <= t->L + 1; l++) {
        size_t nw = t->lay[l].nout * t->lay[l].nin * rs, nb = t->lay[l].nout * rs;
        if (dst) {
            memcpy(dst, t->lay[l].W, nw);
            memcpy(dst + nw, t->lay[l].b, nb);
            dst += nw + nb;
        } else {
            memcpy(t->lay[l].W, src, nw);
            memcpy(t->lay[l].b, src + nw, nb);
            src += nw + nb;
        }
    }
    size_t ns = t->ost.slots * t->ost.n * rs;
    if (ns && dst) memcpy(dst, t->ost.state, ns);
    if (ns && !dst) memcpy(t->ost.state, src, ns);
}

size_t vp_trainer_checkpoint_size(const vp_trainer *t)
{
    return sizeof(ckpt_header) + (size_t)(t->L + 1) * sizeof(int32_t) +
           (1 + t->ost.slots) * t->ost.n * real_size(t->prec);
}

static ckpt_header make_header(const vp_trainer *t)
{
    ckpt_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CKPT_MAGIC, 8);
    h.version = 1;
    h.prec = (int32_t)t->prec;
    h.L = t->L;
    h.classes = t->C;
    h.act = (int32_t)t->act.kind;
    h.optim = (int32_t)t->ost.opt.kind;
    h.loss = (int32_t)t->o.loss;
    h.nparams = t->ost.n;
    h.slots = t->ost.slots;
    h.step = t->ost.step;
    memcpy(h.act_p, t->act.p, sizeof h.act_p);
    return h;
}

vp_status vp_trainer_checkpoint(const vp_trainer *t, void *buf, size_t len, vp_err *err)
{
    size_t need = vp_trainer_checkpoint_size(t);
    if (len < need) return vp_fail(err, VP_ERR_USAGE, "checkpoint: buffer of %zu bytes, %zu needed", len, need);
    char *p = buf;
    ckpt_header h = make_header(t);
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    for (int l = 0; l <= t->L; l++) {
        int32_t w = t->w[l];
        memcpy(p, &w, sizeof w);
        p += sizeof w;
    }
    move_state(t, p, NULL);
    return VP_OK;
}

vp_status vp_trainer_restore(vp_trainer *t, const void *buf, size_t len, vp_err *err)
{
    size_t need = vp_trainer_checkpoint_size(t);
    if (len != need)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: %zu bytes, this network's checkpoint has %zu", len, need);
    const char *p = buf;
    ckpt_header h, mine = make_header(t);
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    if (memcmp(h.magic, CKPT_MAGIC, 8) != 0 || h.version != 1)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: not a varprop training checkpoint (version 1)");
    if (h.prec != mine.prec || h.L != mine.L || h.classes != mine.classes || h.nparams != mine.nparams)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: network float%d, depth %d, %d classes, %llu parameters; "
                       "this one float%d, depth %d, %d classes, %llu parameters", h.prec == VP_F64 ? 64 : 32,
                       (int)h.L, (int)h.classes, (unsigned long long)h.nparams, mine.prec == VP_F64 ? 64 : 32,
                       (int)mine.L, (int)mine.classes, (unsigned long long)mine.nparams);
    if (h.act != mine.act || memcmp(h.act_p, mine.act_p, sizeof h.act_p) != 0 || h.loss != mine.loss)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: made with another activation or loss");
    if (h.optim != mine.optim || h.slots != mine.slots)
        return vp_fail(err, VP_ERR_DATA, "checkpoint: optimizer %s with %llu state arrays; this one %s with %llu",
                       (unsigned)h.optim < VP_OPTIM_COUNT ? vp_optim_get((vp_optim_kind)h.optim)->name : "?",
                       (unsigned long long)h.slots, vp_optim_get(t->ost.opt.kind)->name,
                       (unsigned long long)mine.slots);
    if (h.step < 0) return vp_fail(err, VP_ERR_DATA, "checkpoint: negative step count %lld", (long long)h.step);
    for (int l = 0; l <= t->L; l++) {
        int32_t w;
        memcpy(&w, p, sizeof w);
        p += sizeof w;
        if (w != t->w[l])
            return vp_fail(err, VP_ERR_DATA, "checkpoint: layer %d has width %d, this network %d", l, (int)w, t->w[l]);
    }
    move_state(t, NULL, p);
    t->ost.step = (long)h.step;
    return VP_OK;
}
