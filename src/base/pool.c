/* pool: see pool.h. A generation counter wakes the workers for each loop; blocks
 * are handed out by a counter under the mutex (a loop has a few to a few dozen
 * blocks of at least a 256-wide product each, so the lock is not contended). */
#include "base/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct vp_pool {
    int threads;                 /* counting the caller */
    int started;                 /* workers running */
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen;           /* incremented for every loop */
    int quit;
    /* the current loop */
    void (*fn)(void *, int);
    void *arg;
    int n, next, busy;           /* blocks, next to hand out, workers inside the loop */
};

/* Take blocks until none is left. Called with p->mu held; returns with it held. */
static void drain(vp_pool *p)
{
    while (p->next < p->n) {
        void (*fn)(void *, int) = p->fn;
        void *arg = p->arg;
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        fn(arg, i);
        pthread_mutex_lock(&p->mu);
    }
}

static void *worker(void *vp)
{
    vp_pool *p = vp;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        p->busy++;
        drain(p);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

vp_status vp_pool_create(vp_pool **out, int threads, vp_err *err)
{
    *out = NULL;
    if (threads < 1) return vp_fail(err, VP_ERR_USAGE, "a thread pool needs at least 1 thread (got %d)", threads);
    vp_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->tid = calloc((size_t)threads, sizeof *p->tid))) {
        free(p);
        return vp_fail(err, VP_ERR_NOMEM, "out of memory");
    }
    p->threads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int t = 0; t + 1 < threads; t++) {
        if (pthread_create(&p->tid[t], NULL, worker, p) != 0) break;
        p->started++;
    }
    /* Fewer workers than asked (thread limit) is not an error: the caller and the
     * workers that did start run every block, with the same results. */
    *out = p;
    return VP_OK;
}

void vp_pool_free(vp_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->started; t++) pthread_join(p->tid[t], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

int vp_pool_threads(const vp_pool *p) { return p ? p->threads : 1; }

void vp_pool_run(vp_pool *p, int n, void (*fn)(void *arg, int i), void *arg)
{
    if (!p || p->started == 0 || n <= 1) {
        for (int i = 0; i < n; i++) fn(arg, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->next = 0;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    drain(p);
    /* every block is handed out; wait for the workers still inside one */
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
