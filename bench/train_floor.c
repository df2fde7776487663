/* train_floor: the GEMM floor of training -- the float32 sgemm calls of one epoch of
 * vp_trainer_step, and nothing else.
 *
 * For every step (ceil(n_train / B) steps, the last one short, as drop_last=False) and
 * every layer l = 1..L+1 (L+1: the readout) it issues the products of the step, same
 * shapes, transposes and leading dimensions as src/core/train_impl.inc:
 *   forward          z^l[n, out]   = h^{l-1}[n, in] W^l[out, in]^T + z^l      (beta = 1)
 *   weight gradient  dW[out, in]   = dz^l[n, out]^T h^{l-1}[n, in]
 *   input gradient   dh[n, in]     = dz^l[n, out] W^l[out, in]                (l > 1)
 * Biases, activations, the loss, the optimizer, data gathering and allocation are not
 * timed: buffers are allocated and filled once before the clock starts.
 *
 * Modes (the floor for T threads is the fastest mode; bench.py reports each):
 *   blocks: each product cut as the trainer cuts it -- items of whole columns (forward,
 *           input gradient) or whole rows (weight gradient) of the result, two full
 *           64-wide units (128) where there are two, else one unit or the tail
 *           (src/core/train_int.h) -- one single-threaded OpenBLAS call per item, one
 *           vp_pool run per product (so it pays the pool's hand-off once per product,
 *           91 times a step, which the trainer pays twice a step)
 *   steps:  the same items, one vp_pool run per step: the T threads take the items of
 *           the step's products in order from atomic counters and wait (spinning, then
 *           yielding) for all of a product's items before taking the next product's --
 *           the trainer's own way of running a pass, with every product a barrier
 *           (the trainer lets weight gradients overlap input gradients)
 *   whole:  each product one OpenBLAS call with T BLAS threads (the bare library)
 *
 * usage: train_floor [--depth L] [--width N] [--input-dim N0] [--classes C] [--batch B]
 *                    [--samples S] [--threads T] [--mode blocks|steps|whole|all] [--reps K]
 * Output: one JSON object per mode: {"mode":..., "threads":..., "steps":..., "samples":...,
 *   "gflop":..., "times":[...], "median":..., "samples_per_s":...}
 */
#include <cblas.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pool.h"

void openblas_set_num_threads(int);

/* The trainer's partition (src/core/train_pass.c, block_count and block_range). */
#define UNIT 64
static int nitems(int d) { int full = d / UNIT; return full / 2 + full % 2 + (d % UNIT != 0); }
static void item_range(int d, int i, int *lo, int *hi)
{
    int full = d / UNIT, pairs = full / 2;
    if (i < pairs) { *lo = i * 2 * UNIT; *hi = *lo + 2 * UNIT; }
    else if (i == pairs && full % 2) { *lo = pairs * 2 * UNIT; *hi = *lo + UNIT; }
    else { *lo = full * UNIT; *hi = d; }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One sgemm: C[M,N] = op(A) op(B) (+ C). */
typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float beta;
    const float *A, *B;
    float *C;
    int split_rows; /* blocks of rows of C (else of columns) */
} prod;

static int nblocks(const prod *p) { return nitems(p->split_rows ? p->M : p->N); }

static void call(const prod *p, int lo, int hi)
{
    size_t aoff = 0, boff = 0, coff;
    int M = p->M, N = p->N;
    if (p->split_rows) {
        aoff = p->ta ? (size_t)lo : (size_t)lo * (size_t)p->lda;
        coff = (size_t)lo * (size_t)p->ldc;
        M = hi - lo;
    } else {
        boff = p->tb ? (size_t)lo * (size_t)p->ldb : (size_t)lo;
        coff = (size_t)lo;
        N = hi - lo;
    }
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans, M, N, p->K,
                1.0f, p->A + aoff, p->lda, p->B + boff, p->ldb, p->beta, p->C + coff, p->ldc);
}

static void block_task(void *arg, int i)
{
    const prod *p = arg;
    int lo, hi;
    item_range(p->split_rows ? p->M : p->N, i, &lo, &hi);
    call(p, lo, hi);
}

/* Mode steps: one step's products, run by every worker in order (see the header). */
typedef struct {
    const prod *p;
    int n;
    atomic_int *next, *done; /* per product: items handed out, items finished */
} step_run;

static void step_worker(void *arg, int w)
{
    (void)w;
    step_run *s = arg;
    for (int k = 0; k < s->n; k++) {
        int nb = nblocks(&s->p[k]);
        for (int i; (i = atomic_fetch_add(&s->next[k], 1)) < nb;) {
            block_task((void *)&s->p[k], i);
            atomic_fetch_add(&s->done[k], 1);
        }
        for (unsigned spins = 0; atomic_load(&s->done[k]) < nb; spins++) {
            if (spins >= 256) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
            else __builtin_ia32_pause();
#endif
        }
    }
}

static void run(const prod *p, vp_pool *pool, int blocks)
{
    if (blocks) vp_pool_run(pool, nblocks(p), block_task, (void *)p);
    else call(p, 0, p->split_rows ? p->M : p->N);
}

static float *filled(size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)((double)((i * 2654435761u) % 1000) / 1000.0 - 0.5);
    return x;
}

int main(int argc, char **argv)
{
    int L = 30, width = 256, n0 = 784, C = 10, B = 128, threads = 2, reps = 3;
    long samples = 60000;
    const char *mode = "all";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--depth")) L = atoi(v);
        else if (!strcmp(a, "--width")) width = atoi(v);
        else if (!strcmp(a, "--input-dim")) n0 = atoi(v);
        else if (!strcmp(a, "--classes")) C = atoi(v);
        else if (!strcmp(a, "--batch")) B = atoi(v);
        else if (!strcmp(a, "--samples")) samples = atol(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--mode")) mode = v;
        else if (!strcmp(a, "--reps")) reps = atoi(v);
        else { fprintf(stderr, "train_floor: unknown option %s\n", a); return 2; }
    }
    int *w = malloc((size_t)(L + 2) * sizeof *w);
    w[0] = n0;
    for (int l = 1; l <= L; l++) w[l] = width;
    w[L + 1] = C;
    int nmax = n0 > width ? n0 : width;
    float **W = malloc((size_t)(L + 2) * sizeof *W), **H = malloc((size_t)(L + 2) * sizeof *H);
    for (int l = 1; l <= L + 1; l++) W[l] = filled((size_t)w[l] * (size_t)w[l - 1]);
    for (int l = 0; l <= L + 1; l++) H[l] = filled((size_t)B * (size_t)w[l]);
    float *g1 = filled((size_t)B * (size_t)nmax), *g2 = filled((size_t)B * (size_t)nmax);
    float *dW = filled((size_t)nmax * (size_t)nmax);
    long steps = (samples + B - 1) / B;
    double flop = 0;
    for (long s = 0; s < steps; s++) {
        double n = (double)(s == steps - 1 && samples % B ? samples % B : B);
        for (int l = 1; l <= L + 1; l++) flop += 2 * n * w[l] * w[l - 1] * (l > 1 ? 3 : 2);
    }
    int nprod = 3 * (L + 1);
    prod *ps = malloc((size_t)nprod * sizeof *ps);
    atomic_int *ctr = malloc(2 * (size_t)nprod * sizeof *ctr);
    static const char *const names[] = { "blocks", "steps", "whole" };
    for (int m = 0; m < 3; m++) {
        const char *name = names[m];
        if (strcmp(mode, "all") && strcmp(mode, name)) continue;
        vp_pool *pool = NULL;
        vp_err err = { 0 };
        if (m < 2) {
            openblas_set_num_threads(1);
            if (threads > 1 && vp_pool_create(&pool, threads, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        } else {
            openblas_set_num_threads(threads);
        }
        double times[16];
        if (reps > 16) reps = 16;
        for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
            double t0 = now();
            for (long s = 0; s < steps; s++) {
                int n = s == steps - 1 && samples % B ? (int)(samples % B) : B, np = 0;
                for (int l = 1; l <= L + 1; l++)
                    ps[np++] = (prod){ .ta = 0, .tb = 1, .M = n, .N = w[l], .K = w[l - 1], .lda = w[l - 1],
                                       .ldb = w[l - 1], .ldc = w[l], .beta = 1, .A = H[l - 1], .B = W[l], .C = H[l] };
                for (int l = L + 1; l >= 1; l--) {
                    if (l > 1)
                        ps[np++] = (prod){ .ta = 0, .tb = 0, .M = n, .N = w[l - 1], .K = w[l], .lda = w[l],
                                           .ldb = w[l - 1], .ldc = w[l - 1], .beta = 0, .A = g1, .B = W[l], .C = g2 };
                    ps[np++] = (prod){ .ta = 1, .tb = 0, .M = w[l], .N = w[l - 1], .K = n, .lda = w[l],
                                       .ldb = w[l - 1], .ldc = w[l - 1], .beta = 0, .A = g1, .B = H[l - 1], .C = dW,
                                       .split_rows = 1 };
                }
                if (m == 1) {
                    for (int k = 0; k < 2 * np; k++) atomic_init(&ctr[k], 0);
                    step_run sr = { .p = ps, .n = np, .next = ctr, .done = ctr + np };
                    vp_pool_run(pool, threads, step_worker, &sr);
                } else {
                    for (int k = 0; k < np; k++) run(&ps[k], pool, m == 0);
                }
            }
            if (r >= 0) times[r] = now() - t0;
        }
        /* median */
        for (int i = 1; i < reps; i++)
            for (int k = i; k > 0 && times[k] < times[k - 1]; k--) {
                double tmp = times[k]; times[k] = times[k - 1]; times[k - 1] = tmp;
            }
        double med = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
        printf("{\"mode\":\"%s\",\"threads\":%d,\"steps\":%ld,\"samples\":%ld,\"gflop\":%.3f,\"times\":[", name,
               threads, steps, samples, flop / 1e9);
        for (int r = 0; r < reps; r++) printf("%s%.4f", r ? "," : "", times[r]);
        printf("],\"median\":%.4f,\"samples_per_s\":%.1f}\n", med, (double)samples / med);
        vp_pool_free(pool);
    }
    free(ps);
    free(ctr);
    return 0;
}
