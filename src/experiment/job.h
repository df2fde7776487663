/* job: the state of one vp_runner_run shared by the runner's parts (experiment
 * layer; private to runner.c, run.c, fragments.c and summary_print.c -- nothing
 * outside src/experiment/ includes it).
 *
 * The driver (runner.c) fills a vp_job before the workers start; afterwards the
 * workers read e, o, parts, data, theory and tctx without locking, take `lock` to
 * pick a run (todo, groups) and to record a result (finished, draws, status/err),
 * and each writes only its own runs' sums[r].
 */
#ifndef VP_JOB_H
#define VP_JOB_H

#include <pthread.h>
#include <time.h>

#include "base/err.h"
#include "experiment/config.h"
#include "experiment/runner.h"
#include "experiment/share.h"
#include "theory/theory.h"

/* Where a run's fragments go instead of the files in .parts/ (an MPI rank sends them
 * to rank 0, which writes them: experiment/mpi_run.c); NULL in vp_job: the files. */
typedef struct vp_frag_sink vp_frag_sink;
struct vp_frag_sink {
    vp_status (*put)(vp_frag_sink *self, int r, const char *ext, const char *buf, size_t len, vp_err *err);
};

/* Summary of one run, kept in memory (a few numbers per run) for the table. */
typedef struct {
    int done;
    double act_ratio, grad_ratio;
    long long nonfinite, subnormal;
    double xi_grad, theory_chi1, theory_xi_c;
    double xi_c, theory_xi_grad; /* measured correlation depth scale; -1/ln chi_1 */
    double test_acc;             /* a training run's final test accuracy (NaN: none; not a training run) */
    double theory_act_ratio, theory_grad_ratio; /* the mean-field predictions of act_ratio and grad_ratio:
                                    the same quotients of the predicted E[(z^l)^2] and E[(dL/dz^l)^2] (a block
                                    network: of its layer outputs' variances and gradients; NaN: none) */
    double diverged_step;        /* > 0: the training step whose loss was NaN/Inf (runs.csv diverged_step) */
} vp_run_sum;

typedef struct {
    const vp_experiment *e;
    const vp_runner_opts *o;
    char parts[4096];            /* <out>/.parts: the fragments folder */
    const double *data;          /* fashion-mnist pixels [n, 784] or NULL */
    const struct vp_train_data *tdata; /* training data sets (train_run.h), or NULL */
    int theory;                  /* layers.csv has the theory columns */
    vp_theory_ctx tctx;          /* quadrature rules, read-only once made */
    vp_pool *pool;               /* a single worker's threads for its products (else NULL) */
    int *todo;                   /* run indices to execute, runs sharing parameters adjacent */
    int ntodo, finished, draws;
    vp_run_groups groups;        /* groups of todo with the same parameters (share.h) */
    int next_group;              /* first group no worker has started */
    vp_run_sum *sums;            /* per run index */
    vp_status status;            /* first failure */
    vp_err err;
    double t0;
    pthread_mutex_t lock;
    vp_frag_sink *sink;          /* NULL: fragments are files in parts */
} vp_job;

/* The next run for a worker whose last run was of group *g (-1: none), or -1 when every
 * run has started (vp_share_next); call under j->lock. */
static inline int vp_job_next(vp_job *j, int *g) { return vp_share_next(&j->groups, j->todo, &j->next_group, g); }

/* Monotonic wall clock in seconds. */
static inline double vp_job_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
