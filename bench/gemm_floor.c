/* gemm_floor: the OpenBLAS sgemm calls of a varprop sweep, and nothing else.
 *
 * For every run (variant x seed) and every layer l = 1..L it issues exactly the
 * float32 GEMMs varprop's hot path issues (src/core/mlp_impl.inc), same shapes, same
 * transposes, same leading dimensions, same alpha/beta:
 *   forward          z^l[B,n_l]      = h^{l-1}[B,n_{l-1}] W^l[n_l,n_{l-1}]^T + z^l   (beta = 1)
 *   weight gradient  dW[n_l,n_{l-1}] = (1/B) g[B,n_l]^T h^{l-1}[B,n_{l-1}]
 *   input gradient   g'[B,n_{l-1}]   = g[B,n_l] W^l                               (l > 1 only)
 * Activations, statistics, RNG, allocation and I/O are not timed: buffers are
 * allocated and filled once per worker before the clock starts.
 *
 * Three ways to spend T threads on the same products (the floor for T threads is
 * the best of the modes that apply; bench.py reports each):
 *   seq:  the runs one after another, each product one OpenBLAS call with T BLAS
 *         threads (OpenBLAS splits the product by the thread count: the bare
 *         library's best for a single run, what varprop did before its products
 *         were blocked)
 *   conc: T worker threads take runs from a shared counter, OpenBLAS with 1 thread
 *         (what varprop's runner does when a sweep has >= 2 runs)
 *   pool: the runs one after another, OpenBLAS with 1 thread per call; every product
 *         cut into fixed blocks of 512 whole rows of C (if M > N) or whole columns
 *         (otherwise; ties cut the columns), one single-threaded OpenBLAS call per
 *         block, the blocks run on a pool of T threads (the caller and T - 1 workers;
 *         mutex, condition variables, a generation counter). This is what varprop
 *         does for a single run (src/core/gemm.c + src/base/pool.c): the same bytes
 *         for any --threads. pool vs seq is the price of that blocking (smaller
 *         calls, edge kernels, the hand-off per product), before any of varprop's
 *         own work.
 *
 * usage: gemm_floor --runs R --depth L --width N [--input-dim N0] --batch B
 *                   [--threads T] [--mode M[,M...]] [--reps K] [--warmup 0|1]
 *        M: seq, conc, pool; "both" = seq,conc; "all" = seq,conc,pool
 *        gemm_floor --info      (OpenBLAS config, core name and default threads, then exit)
 * Output: one JSON object per mode on stdout:
 *   {"mode":"seq","threads":2,"runs":84,"gflop":...,"calls":...,"times":[...],"median":...}
 *   ("calls": OpenBLAS calls per repetition: one per product, or one per block in pool)
 *
 * Build: gcc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/gemm_floor.c \
 *            -o bench/gemm_floor -lopenblas -lpthread -lm
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int R = 1, L = 20, N = 256, N0 = -1, B = 256, T = 1, REPS = 3, WARMUP = 1;

typedef struct {
    float **W, **Z, **H; /* per layer, like varprop's blocks */
    float *g1, *g2, *dW;
} net;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int width(int l) { return l == 0 ? N0 : N; }

static float *falloc(size_t n, unsigned *state, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p) { fprintf(stderr, "gemm_floor: out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) { /* xorshift: values in (-scale, scale) */
        *state ^= *state << 13; *state ^= *state >> 17; *state ^= *state << 5;
        p[i] = scale * ((float)(*state >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
    return p;
}

static void net_make(net *m, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1u;
    size_t nmax = (size_t)(N > N0 ? N : N0);
    m->W = calloc((size_t)L + 1, sizeof *m->W);
    m->Z = calloc((size_t)L + 1, sizeof *m->Z);
    m->H = calloc((size_t)L + 1, sizeof *m->H);
    m->H[0] = falloc((size_t)B * (size_t)N0, &s, 1.0f);
    for (int l = 1; l <= L; l++) {
        /* U(+-sqrt(3/fan_in)): keeps the chained input gradients O(1) (no inf/denormals) */
        float a = 1.7320508f / sqrtf((float)width(l - 1));
        m->W[l] = falloc((size_t)width(l) * (size_t)width(l - 1), &s, a);
        m->Z[l] = falloc((size_t)B * (size_t)width(l), &s, 0.0f);
        m->H[l] = falloc((size_t)B * (size_t)width(l), &s, 1.0f);
    }
    m->g1 = falloc((size_t)B * nmax, &s, 1.0f);
    m->g2 = falloc((size_t)B * nmax, &s, 1.0f);
    m->dW = falloc(nmax * nmax, &s, 0.0f);
}

static void net_free(net *m)
{
    for (int l = 0; l <= L; l++) { free(m->W[l]); free(m->Z[l]); free(m->H[l]); }
    free(m->W); free(m->Z); free(m->H);
    free(m->g1); free(m->g2); free(m->dW);
}

/* ---- pool mode: varprop's blocked products (src/core/gemm.c, src/base/pool.c) ---- */
#define BLOCK 512 /* = VP_GEMM_BLOCK (src/core/gemm.h) */

typedef struct {
    int ta, tb, rows, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_args;

/* A fixed set of T - 1 workers plus the caller: a generation counter wakes the
 * workers for each product, blocks are handed out by a counter under the mutex. */
typedef struct {
    int started;
    pthread_t tid[256];
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen;
    int quit;
    const gemm_args *job;
    int n, next, busy;
} pool;

/* Blocks along the larger dimension of C; ties cut the columns (as core/gemm.c). */
static int split_rows(int M, int N) { return M > N; }

static int nblocks(int M, int N)
{
    int d = split_rows(M, N) ? M : N;
    int nb = (d + BLOCK - 1) / BLOCK;
    return nb < 1 ? 1 : nb;
}

/* Block i: rows [lo, hi) of C (rows of A, or its columns if transposed), or columns
 * [lo, hi) of C (columns of B, or its rows if transposed); one 1-thread sgemm. */
static void gemm_block(const gemm_args *g, int i)
{
    int d = g->rows ? g->M : g->N;
    int lo = i * BLOCK, hi = lo + BLOCK < d ? lo + BLOCK : d;
    size_t aoff = 0, boff = 0, coff;
    int M = g->M, N = g->N;
    if (g->rows) {
        aoff = g->ta ? (size_t)lo : (size_t)lo * (size_t)g->lda;
        coff = (size_t)lo * (size_t)g->ldc;
        M = hi - lo;
    } else {
        boff = g->tb ? (size_t)lo * (size_t)g->ldb : (size_t)lo;
        coff = (size_t)lo;
        N = hi - lo;
    }
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, M, N, g->K,
                g->alpha, g->A + aoff, g->lda, g->B + boff, g->ldb, g->beta, g->C + coff, g->ldc);
}

/* Take blocks until none is left; called and returns with p->mu held. */
static void drain(pool *p)
{
    while (p->next < p->n) {
        const gemm_args *g = p->job;
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        gemm_block(g, i);
        pthread_mutex_lock(&p->mu);
    }
}

static void *pool_worker(void *vp)
{
    pool *p = vp;
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

static pool *pool_make(int threads)
{
    pool *p = calloc(1, sizeof *p);
    if (!p) { fprintf(stderr, "gemm_floor: out of memory\n"); exit(1); }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int t = 0; t + 1 < threads; t++) {
        if (pthread_create(&p->tid[t], NULL, pool_worker, p) != 0) break;
        p->started++;
    }
    return p;
}

static void pool_free(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->started; t++) pthread_join(p->tid[t], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* C = alpha op(A) op(B) + beta C: one OpenBLAS call (p NULL), or the fixed blocks on the pool. */
static void gemm(pool *p, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *Bm, int ldb, float beta, float *C, int ldc)
{
    if (!p) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                    A, lda, Bm, ldb, beta, C, ldc);
        return;
    }
    gemm_args g = { ta, tb, split_rows(M, N), M, N, K, lda, ldb, ldc, alpha, beta, A, Bm, C };
    int n = nblocks(M, N);
    if (p->started == 0 || n <= 1) {
        for (int i = 0; i < n; i++) gemm_block(&g, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->job = &g;
    p->n = n;
    p->next = 0;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    drain(p);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* One run: the forward GEMMs, then the backward GEMMs, as in mlp_impl.inc. */
static void one_run(net *m, pool *p)
{
    for (int l = 1; l <= L; l++) {
        int nin = width(l - 1), nout = width(l);
        gemm(p, 0, 1, B, nout, nin, 1.0f, m->H[l - 1], nin, m->W[l], nin, 1.0f, m->Z[l], nout);
    }
    float *g = m->g1, *gnext = m->g2;
    for (int l = L; l >= 1; l--) {
        int n = width(l), nin = width(l - 1);
        gemm(p, 1, 0, n, nin, B, (float)(1.0 / (double)B), g, n, m->H[l - 1], nin, 0.0f, m->dW, nin);
        if (l > 1) {
            gemm(p, 0, 0, B, nin, n, 1.0f, g, n, m->W[l], nin, 0.0f, gnext, nin);
            float *t = g; g = gnext; gnext = t;
        }
    }
}

typedef struct {
    int next;
    pthread_mutex_t lock;
    pthread_barrier_t start;
    int id;
} shared;

static shared SH;
static net *NETS;

static void *worker(void *arg)
{
    net *m = arg;
    pthread_barrier_wait(&SH.start);
    for (;;) {
        pthread_mutex_lock(&SH.lock);
        int r = SH.next < R ? SH.next++ : -1;
        pthread_mutex_unlock(&SH.lock);
        if (r < 0) break;
        one_run(m, NULL);
    }
    return NULL;
}

/* OpenBLAS's own pool: after a multi-threaded call its threads spin on sched_yield
 * for ~0.1 s before sleeping. With 1 BLAS thread per call it has nothing to do, so it
 * is stopped, as varprop's runner does (OpenBLAS restarts it before a threaded call). */
extern int blas_thread_shutdown_(void);

static void blas_single(void)
{
    openblas_set_num_threads(1);
    blas_thread_shutdown_();
}

static double time_seq(void)
{
    openblas_set_num_threads(T);
    double t0 = now();
    for (int r = 0; r < R; r++) one_run(&NETS[0], NULL);
    return now() - t0;
}

static double time_pool(pool *p)
{
    double t0 = now();
    for (int r = 0; r < R; r++) one_run(&NETS[0], p);
    return now() - t0;
}

static double time_conc(void)
{
    int workers = T < R ? T : R;
    pthread_t tid[256];
    SH.next = 0;
    pthread_barrier_init(&SH.start, NULL, (unsigned)workers + 1);
    for (int t = 0; t < workers; t++) pthread_create(&tid[t], NULL, worker, &NETS[t]);
    pthread_barrier_wait(&SH.start);
    double t0 = now();
    for (int t = 0; t < workers; t++) pthread_join(tid[t], NULL);
    double dt = now() - t0;
    pthread_barrier_destroy(&SH.start);
    return dt;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *mode, int threads, double *t)
{
    double gflop = 0;
    long calls = 0, blocked = 0; /* OpenBLAS calls per run: one per product, or one per block */
    for (int l = 1; l <= L; l++) {
        int nin = width(l - 1), nout = width(l);
        double fwd = 2.0 * B * nout * nin;
        gflop += fwd * (l > 1 ? 3.0 : 2.0);
        calls += l > 1 ? 3 : 2;
        blocked += nblocks(B, nout) + nblocks(nout, nin) + (l > 1 ? nblocks(B, nin) : 0);
    }
    gflop *= (double)R / 1e9;
    calls = (long)R * (!strcmp(mode, "pool") ? blocked : calls);
    double *s = malloc((size_t)REPS * sizeof *s);
    memcpy(s, t, (size_t)REPS * sizeof *s);
    qsort(s, (size_t)REPS, sizeof *s, cmpd);
    double med = REPS % 2 ? s[REPS / 2] : 0.5 * (s[REPS / 2 - 1] + s[REPS / 2]);
    printf("{\"mode\":\"%s\",\"threads\":%d,\"runs\":%d,\"depth\":%d,\"width\":%d,\"input_dim\":%d,"
           "\"batch\":%d,\"gflop\":%.3f,\"calls\":%ld,\"times\":[", mode, threads, R, L, N, N0, B, gflop, calls);
    for (int i = 0; i < REPS; i++) printf("%s%.6f", i ? "," : "", t[i]);
    printf("],\"median\":%.6f,\"min\":%.6f,\"max\":%.6f,\"gflops_at_median\":%.2f}\n", med, s[0],
           s[REPS - 1], gflop / med);
    fflush(stdout);
    free(s);
}

static void usage(void)
{
    fprintf(stderr, "usage: gemm_floor --runs R --depth L --width N [--input-dim N0] --batch B "
                    "[--threads T] [--mode M[,M...]] [--reps K] [--warmup 0|1]\n"
                    "  M: seq, conc, pool; both = seq,conc; all = seq,conc,pool\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *mode = "both";
    if (argc == 2 && !strcmp(argv[1], "--info")) {
        printf("{\"openblas_config\":\"%s\",\"openblas_corename\":\"%s\",\"openblas_threads\":%d}\n",
               openblas_get_config(), openblas_get_corename(), openblas_get_num_threads());
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--runs")) R = atoi(v);
        else if (!strcmp(a, "--depth")) L = atoi(v);
        else if (!strcmp(a, "--width")) N = atoi(v);
        else if (!strcmp(a, "--input-dim")) N0 = atoi(v);
        else if (!strcmp(a, "--batch")) B = atoi(v);
        else if (!strcmp(a, "--threads")) T = atoi(v);
        else if (!strcmp(a, "--mode")) mode = v;
        else if (!strcmp(a, "--reps")) REPS = atoi(v);
        else if (!strcmp(a, "--warmup")) WARMUP = atoi(v);
        else usage();
    }
    if (N0 < 0) N0 = N;
    if (R < 1 || L < 1 || N < 1 || N0 < 1 || B < 1 || T < 1 || T > 256 || REPS < 1) usage();
    int do_seq = 0, do_conc = 0, do_pool = 0;
    for (const char *m = mode; *m;) {
        size_t n = strcspn(m, ",");
        if (n == 3 && !strncmp(m, "seq", n)) do_seq = 1;
        else if (n == 4 && !strncmp(m, "conc", n)) do_conc = 1;
        else if (n == 4 && !strncmp(m, "pool", n)) do_pool = 1;
        else if (n == 4 && !strncmp(m, "both", n)) do_seq = do_conc = 1;
        else if (n == 3 && !strncmp(m, "all", n)) do_seq = do_conc = do_pool = 1;
        else usage();
        m += n + (m[n] == ',');
    }
    if (!do_seq && !do_conc && !do_pool) usage();
    int nnets = do_conc ? (T < R ? T : R) : 1;
    NETS = calloc((size_t)nnets, sizeof *NETS);
    for (int i = 0; i < nnets; i++) net_make(&NETS[i], (unsigned)i + 1u);
    pthread_mutex_init(&SH.lock, NULL);
    double *t = malloc((size_t)REPS * sizeof *t);
    if (do_seq) {
        if (WARMUP) { openblas_set_num_threads(T); one_run(&NETS[0], NULL); }
        for (int k = 0; k < REPS; k++) t[k] = time_seq();
        report("seq", T, t);
    }
    if (do_conc) {
        blas_single();
        if (WARMUP) { int keep = R; R = nnets; time_conc(); R = keep; }
        for (int k = 0; k < REPS; k++) t[k] = time_conc();
        report("conc", T, t);
    }
    if (do_pool) {
        blas_single();
        pool *p = pool_make(T);
        if (WARMUP) one_run(&NETS[0], p);
        for (int k = 0; k < REPS; k++) t[k] = time_pool(p);
        report("pool", T, t);
        pool_free(p);
    }
    free(t);
    for (int i = 0; i < nnets; i++) net_free(&NETS[i]);
    free(NETS);
    return 0;
}
