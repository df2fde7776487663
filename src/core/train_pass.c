/* train_pass: the passes of core/train -- the work items of a forward and a backward
 * pass, the worker loop that runs them on the pool, and the dispatch on precision
 * (the precision-generic items are in train_impl.inc). See train_int.h for the
 * schedule's rules and train.h / docs/training.md for the math. */
#include "core/train_int.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/simd.h"

/* The items of a dimension d (train_int.h): pairs of full units, then the odd full
 * unit, then the tail. */
static int block_count(size_t d)
{
    size_t full = d / TRAIN_BLOCK;
    return (int)(full / 2 + full % 2 + (d % TRAIN_BLOCK != 0));
}
static void block_range(size_t d, int i, size_t *lo, size_t *hi)
{
    size_t full = d / TRAIN_BLOCK, pairs = full / 2, k = (size_t)i;
    if (k < pairs) {
        *lo = k * TRAIN_ITEM;
        *hi = *lo + TRAIN_ITEM;
    } else if (k == pairs && full % 2) {
        *lo = pairs * TRAIN_ITEM;
        *hi = *lo + TRAIN_BLOCK;
    } else {
        *lo = full * TRAIN_BLOCK;
        *hi = d;
    }
}

/* Counters: the items finished of each product of each layer l = 1..L+1. */
static int ctr_forward(const vp_trainer *t, int l) { (void)t; return l; }
static int ctr_input(const vp_trainer *t, int k) { return t->L + 2 + k; }
static int ctr_weight(const vp_trainer *t, int l) { return 2 * (t->L + 2) + l; }

static double run_pass(vp_trainer *t, const tsched *sc, const void *x, size_t rows, double lr);

#define REAL float
#define FN(x) x##_f32
#define GEMM vp_gemm_f32
#define KERNEL kernel_f32
#define LOSS vp_loss_f32
#define CORRECT vp_loss_correct_f32
#define STEP step_f32
#include "core/train_impl.inc"
#define REAL double
#define FN(x) x##_f64
#define GEMM vp_gemm_f64
#define KERNEL kernel_f64
#define LOSS vp_loss_f64
#define CORRECT vp_loss_correct_f64
#define STEP step_f64
#include "core/train_impl.inc"

/* ---- the items of the two passes ---- */

static void add_items(tsched *sc, titem_kind kind, int layer, size_t d, int ctr, int dep, int need)
{
    int blocks = block_count(d);
    for (int i = 0; i < blocks; i++) {
        size_t lo, hi;
        block_range(d, i, &lo, &hi);
        sc->items[sc->n++] = (titem){ .kind = (unsigned char)kind, .units = hi - lo == TRAIN_ITEM ? 2 : 1,
                                      .layer = layer, .block = i, .ctr = ctr, .dep = dep, .need = need };
    }
}

/* Forward: F(1), ..., F(L+1); every block of F(l) waits for all of F(l-1).
 * Backward, in hand-out order A(L+1), A(L), B(L+1), A(L-1), B(L), ..., A(2), B(3), B(2),
 * B(1), with A(k) the input gradient of layer k (dL/dz^{k-1}, k >= 2) and B(l) the
 * weight gradient and update of layer l:
 *   A(k) waits for all of A(k+1) (it reads dL/dz^k; A(L+1) reads the loss gradient);
 *   B(l) waits for all of A(l) (W^l is no longer read, and dL/dz^l, which A(l+1)
 *        wrote, is complete, A(l) having waited for it); B(1) waits for A(2).
 * The input gradients form the critical path, so each is handed out before the
 * weight gradient one layer above it. */
vp_status vp_train_build_passes(vp_trainer *t, vp_err *err)
{
    int L = t->L, nf = 0, nb = 0;
    for (int l = 1; l <= L + 1; l++) {
        nf += block_count(t->lay[l].nout);
        nb += block_count(t->lay[l].nout) + (l >= 2 ? block_count(t->lay[l].nin) : 0);
    }
    t->fwd.items = malloc((size_t)nf * sizeof *t->fwd.items);
    t->bwd.items = malloc((size_t)nb * sizeof *t->bwd.items);
    t->fwd.sq = NULL;
    t->bwd.sq = malloc(2 * (size_t)nb * sizeof *t->bwd.sq);
    t->done = malloc((size_t)(3 * (L + 2)) * sizeof *t->done);
    if (!t->fwd.items || !t->bwd.items || !t->bwd.sq || !t->done)
        return vp_fail(err, VP_ERR_NOMEM, "out of memory (training schedule)");
    for (int k = 0; k < 3 * (L + 2); k++) atomic_init(&t->done[k], 0);
    t->fwd.n = t->bwd.n = 0;
    for (int l = 1; l <= L + 1; l++)
        add_items(&t->fwd, ITEM_FORWARD, l, t->lay[l].nout, ctr_forward(t, l),
                  l > 1 ? ctr_forward(t, l - 1) : -1, l > 1 ? block_count(t->lay[l - 1].nout) : 0);
#define A_ITEMS(k) add_items(&t->bwd, ITEM_INPUT_GRAD, (k), t->lay[k].nin, ctr_input(t, k), \
                             (k) == L + 1 ? -1 : ctr_input(t, (k) + 1), \
                             (k) == L + 1 ? 0 : block_count(t->lay[(k) + 1].nin))
#define B_ITEMS(l, a) add_items(&t->bwd, ITEM_WEIGHT_GRAD, (l), t->lay[l].nout, ctr_weight(t, l), \
                                ctr_input(t, a), block_count(t->lay[a].nin))
    for (int k = L + 1; k >= 2; k--) {
        A_ITEMS(k);
        if (k + 1 <= L + 1) B_ITEMS(k + 1, k + 1);
    }
    B_ITEMS(2, 2);
    B_ITEMS(1, 2);
#undef A_ITEMS
#undef B_ITEMS
    return VP_OK;
}

void vp_train_free_passes(vp_trainer *t)
{
    free(t->fwd.items);
    free(t->bwd.items);
    free(t->bwd.sq);
    free((void *)t->done);
    free(t->scratch);
}

void vp_train_set_workers(vp_trainer *t, int workers)
{
    if (workers < 1) workers = 1;
    if (workers > t->nscratch) {
        void *s = realloc(t->scratch, (size_t)workers * t->scratch_bytes);
        if (s) {
            t->scratch = s;
            t->nscratch = workers;
        }
    }
    t->workers = workers < t->nscratch ? workers : t->nscratch;
}

/* ---- running a pass ---- */

typedef struct {
    vp_trainer *t;
    const tsched *sc;
    tpass ps;
    atomic_int next;
} trun;

/* Wait until *c >= need: spin briefly (the other worker is usually a few microseconds
 * from done), then yield the core (the machine may be shared). */
static void wait_for(atomic_int *c, int need)
{
    for (unsigned spins = 0; atomic_load_explicit(c, memory_order_acquire) < need; spins++) {
        if (spins >= 256) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
}

/* Worker w: take items in order until none is left. The release on finishing an item
 * and the acquire in wait_for make its outputs visible to the items that wait for it. */
static void worker(void *arg, int w)
{
    trun *r = arg;
    vp_trainer *t = r->t;
    void *scratch = (char *)t->scratch + (size_t)w * t->scratch_bytes;
    for (;;) {
        int i = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
        if (i >= r->sc->n) return;
        const titem *it = &r->sc->items[i];
        if (it->dep >= 0) wait_for(&t->done[it->dep], it->need);
        double *sq = r->sc->sq ? &r->sc->sq[2 * (size_t)i] : NULL;
        if (t->prec == VP_F64) run_item_f64(t, &r->ps, it, scratch, sq);
        else run_item_f32(t, &r->ps, it, scratch, sq);
        atomic_fetch_add_explicit(&t->done[it->ctr], 1, memory_order_release);
    }
}

/* One pass on the pool; returns the sum of the weight-gradient items' squared norms,
 * added in item order and, within an item, in unit order (0 for the forward). */
static double run_pass(vp_trainer *t, const tsched *sc, const void *x, size_t rows, double lr)
{
    for (int k = 0; k < 3 * (t->L + 2); k++) atomic_store_explicit(&t->done[k], 0, memory_order_relaxed);
    trun r = { .t = t, .sc = sc, .ps = { .x = x, .rows = rows, .lr = lr } };
    atomic_init(&r.next, 0);
    vp_pool_run(t->pool, t->workers, worker, &r);
    double sq = 0;
    if (sc->sq)
        for (int i = 0; i < sc->n; i++)
            if (sc->items[i].kind == ITEM_WEIGHT_GRAD)
                for (int u = 0; u < sc->items[i].units; u++) sq += sc->sq[2 * i + u];
    return sq;
}

/* ---- dispatch on precision ---- */

vp_status vp_train_run_step(vp_trainer *t, const void *x, const int32_t *y, size_t n, double lr, double *loss,
                            double *grad_norm, vp_err *err)
{
    return t->prec == VP_F64 ? train_step_f64(t, x, y, n, lr, loss, grad_norm, err)
                             : train_step_f32(t, x, y, n, lr, loss, grad_norm, err);
}

vp_status vp_train_run_eval(vp_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                            long long *correct, vp_err *err)
{
    return t->prec == VP_F64 ? eval_chunk_f64(t, x, y, n, loss, correct, err)
                             : eval_chunk_f32(t, x, y, n, loss, correct, err);
}

vp_status vp_train_probe_readout(vp_trainer *t, const int32_t *y, size_t n, vp_layer_stats *st, vp_err *err)
{
    return t->prec == VP_F64 ? probe_readout_f64(t, y, n, st, err) : probe_readout_f32(t, y, n, st, err);
}
