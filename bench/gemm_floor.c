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
 * Two ways to spend T threads (the floor for T threads is the better of both):
 *   seq:  the runs one after another, OpenBLAS with T threads
 *   conc: T worker threads take runs from a shared counter, OpenBLAS with 1 thread
 *         (what varprop's runner does when a sweep has >= 2 runs)
 *
 * usage: gemm_floor --runs R --depth L --width N [--input-dim N0] --batch B
 *                   [--threads T] [--mode seq|conc|both] [--reps K] [--warmup 0|1]
 *        gemm_floor --info      (OpenBLAS config, core name and default threads, then exit)
 * Output: one JSON object per mode on stdout:
 *   {"mode":"seq","threads":2,"runs":84,"gflop":...,"times":[...],"median":...}
 *
 * Build: gcc -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/gemm_floor.c \
 *            -o bench/gemm_floor -lopenblas -lpthread
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

/* One run: the forward GEMMs, then the backward GEMMs, as in mlp_impl.inc. */
static void one_run(net *m)
{
    for (int l = 1; l <= L; l++) {
        int nin = width(l - 1), nout = width(l);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, nout, nin, 1.0f, m->H[l - 1], nin,
                    m->W[l], nin, 1.0f, m->Z[l], nout);
    }
    float *g = m->g1, *gnext = m->g2;
    for (int l = L; l >= 1; l--) {
        int n = width(l), nin = width(l - 1);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, nin, B, (float)(1.0 / (double)B), g, n,
                    m->H[l - 1], nin, 0.0f, m->dW, nin);
        if (l > 1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nin, n, 1.0f, g, n, m->W[l], nin,
                        0.0f, gnext, nin);
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
        one_run(m);
    }
    return NULL;
}

static double time_seq(void)
{
    openblas_set_num_threads(T);
    double t0 = now();
    for (int r = 0; r < R; r++) one_run(&NETS[0]);
    return now() - t0;
}

static double time_conc(void)
{
    openblas_set_num_threads(1);
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
    for (int l = 1; l <= L; l++) {
        double fwd = 2.0 * B * width(l) * width(l - 1);
        gflop += fwd * (l > 1 ? 3.0 : 2.0);
    }
    gflop *= (double)R / 1e9;
    double *s = malloc((size_t)REPS * sizeof *s);
    memcpy(s, t, (size_t)REPS * sizeof *s);
    qsort(s, (size_t)REPS, sizeof *s, cmpd);
    double med = REPS % 2 ? s[REPS / 2] : 0.5 * (s[REPS / 2 - 1] + s[REPS / 2]);
    printf("{\"mode\":\"%s\",\"threads\":%d,\"runs\":%d,\"depth\":%d,\"width\":%d,\"input_dim\":%d,"
           "\"batch\":%d,\"gflop\":%.3f,\"times\":[", mode, threads, R, L, N, N0, B, gflop);
    for (int i = 0; i < REPS; i++) printf("%s%.6f", i ? "," : "", t[i]);
    printf("],\"median\":%.6f,\"min\":%.6f,\"max\":%.6f,\"gflops_at_median\":%.2f}\n", med, s[0],
           s[REPS - 1], gflop / med);
    fflush(stdout);
    free(s);
}

static void usage(void)
{
    fprintf(stderr, "usage: gemm_floor --runs R --depth L --width N [--input-dim N0] --batch B "
                    "[--threads T] [--mode seq|conc|both] [--reps K] [--warmup 0|1]\n");
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
    int do_seq = !strcmp(mode, "seq") || !strcmp(mode, "both");
    int do_conc = !strcmp(mode, "conc") || !strcmp(mode, "both");
    if (!do_seq && !do_conc) usage();
    int nnets = do_conc ? (T < R ? T : R) : 1;
    NETS = calloc((size_t)nnets, sizeof *NETS);
    for (int i = 0; i < nnets; i++) net_make(&NETS[i], (unsigned)i + 1u);
    pthread_mutex_init(&SH.lock, NULL);
    double *t = malloc((size_t)REPS * sizeof *t);
    if (do_seq) {
        if (WARMUP) { openblas_set_num_threads(T); one_run(&NETS[0]); }
        for (int k = 0; k < REPS; k++) t[k] = time_seq();
        report("seq", T, t);
    }
    if (do_conc) {
        if (WARMUP) { int keep = R; R = nnets; time_conc(); R = keep; }
        for (int k = 0; k < REPS; k++) t[k] = time_conc();
        report("conc", T, t);
    }
    free(t);
    for (int i = 0; i < nnets; i++) net_free(&NETS[i]);
    free(NETS);
    return 0;
}
