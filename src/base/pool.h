/* pool: a fixed set of worker threads that run the blocks of one parallel loop
 * (base layer; used by core/gemm to spread the blocks of a product over threads).
 *
 * vp_pool_run(p, n, fn, arg) calls fn(arg, i) once for every block i in [0, n) and
 * returns when all have returned; the calling thread works too, so a pool of T
 * threads starts T - 1 workers. Which thread runs which block varies from call to
 * call, so fn must write disjoint outputs per block: then the result does not depend
 * on the thread count (the caller's partition into blocks must not depend on it
 * either -- core/gemm's blocks are a function of the shape only).
 * One vp_pool_run at a time per pool (the runner gives each pool to one network).
 * Ownership: vp_pool_create allocates, vp_pool_free joins the workers and frees
 * (NULL-safe). A NULL pool runs every block in the calling thread.
 */
#ifndef VP_POOL_H
#define VP_POOL_H

#include "base/err.h"

typedef struct vp_pool vp_pool;

/* A pool of `threads` (>= 1) threads counting the caller. */
vp_status vp_pool_create(vp_pool **out, int threads, vp_err *err);
void vp_pool_free(vp_pool *p);
/* Threads of the pool counting the caller (1 for NULL). */
int vp_pool_threads(const vp_pool *p);
/* fn(arg, i) for i = 0..n-1, spread over the pool; returns when all are done. */
void vp_pool_run(vp_pool *p, int n, void (*fn)(void *arg, int i), void *arg);

#endif
