/* share: runs that share their parameters (experiment layer, part of the runner).
 *
 * A run's weights and biases are a pure function of its shape, precision, weight
 * and bias initializers and seed (init.h, rng.h): runs that differ only in the
 * activation or the input draw exactly the same numbers. The runner puts such
 * runs next to each other (a group) and a worker that runs several runs of a
 * group in a row draws the parameters once; the network keeps them, since the
 * passes never write W or b. Results do not depend on the grouping: a shared
 * draw is bit for bit the draw the run would have made. Data-dependent
 * initializers (LSUV rescales W with the activation's own forward pass) and
 * networks whose z width differs (GLU) never share.
 */
#ifndef VP_SHARE_H
#define VP_SHARE_H

#include "base/err.h"
#include "experiment/config.h"

/* Groups of runs with the same parameters over a list of run indices (todo):
 * group g is todo[beg[g] .. beg[g+1]); next[g] is its next run not yet started
 * (the scheduler advances it). Ownership: vp_share_group allocates beg and next,
 * vp_share_groups_free releases them. */
typedef struct {
    int ngroups;
    int *beg;       /* ngroups + 1 entries */
    int *next;      /* ngroups entries */
} vp_run_groups;

/* 1 if runs of this variant can share a parameter draw with other runs. */
int vp_share_params(const vp_variant *var);

/* Reorder todo[0..n) into groups of runs with the same parameters, groups in the
 * order of their first run, runs in run order within a group; fill g. */
vp_status vp_share_group(const vp_experiment *e, int *todo, int n, vp_run_groups *g, vp_err *err);
void vp_share_groups_free(vp_run_groups *g);

/* The scheduler: the next run (from todo) for a worker whose last run was of group *g
 * (-1: none) -- the same group while it has runs left, else the first group no worker
 * has started (*next_group, advanced), else the group with the most runs left -- or -1
 * when every run has started. Not thread-safe: the caller holds its lock. */
int vp_share_next(vp_run_groups *gr, const int *todo, int *next_group, int *g);

#endif
