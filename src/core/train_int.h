/* train_int.h: private to core/train (train.c, train_pass.c, train_impl.inc) -- the
 * trainer's layout and the work items of its passes. Nothing outside core/train
 * includes it.
 *
 * The passes (train_pass.c): a forward or backward pass is a list of work items, each
 * one block of TRAIN_BLOCK whole columns or rows of one product plus that block's
 * elementwise work, in a fixed hand-out order with one dependency each (a count of
 * finished items of an earlier product). One pool run per pass: every worker takes
 * the next item, waits until its dependency is met, runs it and counts it finished.
 * Items and dependencies are functions of the shapes only, every item writes its own
 * outputs, and the per-item sums are added in item order afterwards, so the bits do
 * not depend on the number of workers (one worker runs the items in order and never
 * waits). */
#ifndef VP_TRAIN_INT_H
#define VP_TRAIN_INT_H

#include <stdatomic.h>

#include "core/train.h"

/* The partition of a product's result into work items, in units of TRAIN_BLOCK whole
 * columns (rows): a dimension d is d / TRAIN_BLOCK full units and a narrower tail;
 * an item is two full units (TRAIN_ITEM wide), the one full unit left over when
 * their number is odd, or the tail. So a 256-wide layer is 2 items of 128: OpenBLAS
 * packs the operand the blocks share once per item, and 128-wide items pack it half
 * as often as 64-wide ones (single-threaded, the copies were 15% of an epoch with
 * 64-wide items). Only full units are paired because OpenBLAS's results (0.3.21,
 * its Cooperlake kernels, here) are the same bits for two full 64-wide blocks as
 * for the one 128-wide block they make, but not for a full block and a tail taken
 * together (checked on float32 and float64 widths 100 to 448): so every layer's bits
 * are those of the 64-wide partition this replaced. (Either way the partition is a
 * function of the shapes only, so the bits never depend on the thread count.) The squared-gradient-norm sums are still taken
 * per unit (two per item) and added in unit order, for the same reason. */
#define TRAIN_BLOCK 64
#define TRAIN_ITEM (2 * TRAIN_BLOCK)

/* Layer l = 1..L+1 (L+1: the readout) as the passes see it; pointers in the trainer's
 * precision, into the mlp's blocks (hidden) or the trainer's arrays (readout). */
typedef struct {
    size_t nin, nout;   /* W is [nout, nin] */
    size_t poff;        /* flat parameter offset of W (b follows it) */
    void *W, *b;
    void *z;            /* z^l [B, nout]: phi'(z^l) after the forward, then dL/dz^l in the
                           backward (hidden layers); the logits (readout) */
    void *h;            /* h^l [B, nout] (hidden layers; NULL for the readout) */
    const void *gz;     /* dL/dz^l: z (hidden) or the loss gradient (readout) */
} tlayer;

typedef enum { ITEM_FORWARD, ITEM_INPUT_GRAD, ITEM_WEIGHT_GRAD } titem_kind;

typedef struct {
    unsigned char kind;  /* titem_kind */
    unsigned char units; /* 2: TRAIN_ITEM wide; 1: one unit or the tail */
    int layer, block;
    int ctr;             /* counter this item adds 1 to when finished */
    int dep, need;       /* wait until counter dep reaches need (dep < 0: no wait) */
} titem;

typedef struct {
    titem *items;
    int n;
    double *sq;          /* 2 per item: squared gradient norm of each unit (weight-gradient items) */
} tsched;

/* One pass's arguments. */
typedef struct {
    const void *x;       /* h^0 [rows, n_0] */
    size_t rows;
    double lr;
} tpass;

struct vp_trainer {
    int L, C, B;            /* hidden depth, classes, max_batch */
    int *w;                 /* widths n_0..n_L */
    vp_precision prec;
    vp_act act;
    vp_train_opts o;
    vp_mlp *m;              /* the hidden stack (owned) */
    vp_pool *pool;          /* borrowed */
    int workers;            /* worker loops per pass: min(pool threads, nscratch) */
    int nscratch;           /* workers with a scratch block */
    size_t scratch_bytes;   /* per worker: a weight-gradient block or an input-gradient block */
    void *scratch;          /* nscratch * scratch_bytes */
    tlayer *lay;            /* [L + 2], index 1..L+1 */
    tsched fwd, bwd;        /* the two passes' items */
    atomic_int *done;       /* 3 (L + 2) counters: forward, input and weight gradient of each layer */
    void *Wr, *br;          /* readout [C, n_L], [C] */
    void *logits, *dlogits; /* [B, C] */
    void *g;                /* [B, n_L]: the probe's dL/dh^L */
    void *dWr;              /* [C, n_L]: the probe's readout weight gradient */
    double *acc;            /* 3 max(n_L, C) doubles: the probe's readout statistics */
    vp_optim_state ost;     /* n = every parameter; step = updates done */
};

static inline size_t vp_train_real_size(vp_precision p) { return p == VP_F64 ? sizeof(double) : sizeof(float); }

/* train_pass.c */
/* Build the two passes' item lists and counters from t->lay (after it is set). */
vp_status vp_train_build_passes(vp_trainer *t, vp_err *err);
void vp_train_free_passes(vp_trainer *t);
/* Scratch for `workers` worker loops (kept when it cannot grow: fewer workers, same bits). */
void vp_train_set_workers(vp_trainer *t, int workers);
/* One step: forward, loss (dL/dlogits into t->dlogits), step counter + 1, backward
 * with the updates at lr; *loss, *grad_norm. */
vp_status vp_train_run_step(vp_trainer *t, const void *x, const int32_t *y, size_t n, double lr, double *loss,
                            double *grad_norm, vp_err *err);
/* Forward and the loss (chunk mean) and correct count of n <= B rows. */
vp_status vp_train_run_eval(vp_trainer *t, const void *x, const int32_t *y, size_t n, double *loss,
                            long long *correct, vp_err *err);
/* The probe's readout after vp_mlp_forward on n rows: logits, loss gradient, the
 * readout's weight gradient and statistics into st, dL/dh^L into t->g. */
vp_status vp_train_probe_readout(vp_trainer *t, const int32_t *y, size_t n, vp_layer_stats *st, vp_err *err);

#endif
