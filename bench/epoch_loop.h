/* epoch_loop.h: the epoch loop of bench/train_driver.c and bench/lenet_driver.c -- the
 * way the training runner drives a trainer: one shuffled epoch in batches
 * (drop_last=False), each batch gathered into the contiguous block x, y, then one step;
 * after max_steps steps (< 0: no limit) it stops. Header-only: each driver is one
 * translation unit compiled against build/libvarprop.a. */
#ifndef VP_BENCH_EPOCH_LOOP_H
#define VP_BENCH_EPOCH_LOOP_H

#include "core/dataset.h"
#include "core/train.h"

/* One step of a trainer (vp_trainer_step, vp_net_trainer_step). */
typedef vp_status (*bench_step_fn)(void *trainer, const void *x, const int32_t *y, size_t n, vp_train_step_info *info,
                                   vp_err *err);

/* Epochs 0..epochs-1 of d's training split; *steps and *samples count what was done,
 * *info is the last step's. Returns the first failure (shuffling an epoch or a step),
 * with err's message. */
static vp_status bench_epochs(vp_dataset *d, vp_batches *bt, uint64_t seed, int epochs, long max_steps, void *x,
                              int32_t *y, bench_step_fn step, void *trainer, long *steps, size_t *samples,
                              vp_train_step_info *info, vp_err *err)
{
    *steps = 0;
    *samples = 0;
    for (int e = 0; e < epochs && max_steps != 0; e++) {
        vp_status s = vp_batches_epoch(bt, seed, (uint32_t)e, err);
        if (s) return s;
        const uint32_t *idx;
        size_t n;
        while ((n = vp_batches_next(bt, &idx)) > 0) {
            vp_dataset_gather(d, &d->train, idx, n, x, y);
            if ((s = step(trainer, x, y, n, info, err))) return s;
            ++*steps;
            *samples += n;
            if (max_steps > 0 && *steps >= max_steps) return VP_OK;
        }
    }
    return VP_OK;
}

#endif
