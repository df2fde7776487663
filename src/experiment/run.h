/* run: one run of an experiment -- one variant with one seed (experiment layer,
 * part of the runner): its input batch, its network's parameters, the forward
 * pass, the Jacobian spectrum, the backward pass, the run's statistics and the
 * theory beside them, then, with "train", its training (train_run.h), saved as
 * fragments (fragments.h).
 */
#ifndef VP_RUN_H
#define VP_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/mlp.h"
#include "experiment/job.h"

/* What a worker keeps between runs: its network (with the parameters of group
 * net_group, or -1) and the input batch of its last run (x_ok), keyed by what the
 * input depends on. Start from vp_worker_init; vp_worker_release frees it. */
typedef struct {
    vp_mlp *net;
    int net_group;
    double *x;
    size_t xcap;
    int x_ok, x_input, x_batch, x_n0;
    uint64_t x_seed;
    double x_std, x_corr;      /* input.std, input.correlation of the batch held */
    int x_has_corr;
} vp_worker;

/* The input batch of variant var for seed (B x n0, row b = example b): the input
 * distribution (fashion-mnist: the first B images of data, standardized), with
 * input.correlation c0 between examples and per-entry variance input.std^2 (run.c
 * says how). */
void vp_make_input(const double *data, const vp_variant *var, uint64_t seed, double *x);

void vp_worker_init(vp_worker *w);
void vp_worker_release(vp_worker *w);

/* Run r. w->net is the worker's network, kept between runs of the same shape so
 * a sweep does not allocate (and page in) a network per run. With params_ready
 * the network already holds this run's weights and biases (the worker's previous
 * run was of the same parameter group) and they are not drawn again; *drew says
 * whether they were. On success j->sums[r] holds the run's summary. */
vp_status vp_run_one(vp_job *j, int r, vp_worker *w, int params_ready, int *drew, vp_err *err);

#endif
