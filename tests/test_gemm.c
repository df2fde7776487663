/* Tests of the blocked products (src/core/gemm.c) and the thread pool under them
 * (src/base/pool.c): every transpose combination on shapes that are not multiples of
 * the block, against a plain triple loop in long double, and the same bits whatever the
 * pool's thread count -- the property that makes single runs reproducible. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "core/gemm.h"

/* op(X)[i][k] for row-major X with leading dimension ld. */
static double at(const double *X, int ld, int trans, int i, int k) { return trans ? X[k * ld + i] : X[i * ld + k]; }

/* Shapes straddling VP_GEMM_BLOCK in M, N and both, and a thin one. */
enum { BK = VP_GEMM_BLOCK };
static const int SHAPES[][3] = { { 3, 5, 7 },          { BK + 44, 17, 40 },         { 17, BK + 1, 33 },
                                 { BK + 1, BK, 9 },    { BK + 88, BK + 188, 5 },    { 1, 2 * BK + 6, 64 } };

Test(vp_gemm, matches_the_triple_loop_in_both_precisions)
{
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++) {
        int M = SHAPES[s][0], N = SHAPES[s][1], K = SHAPES[s][2];
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1;
            int lda = ta ? M : K, ldb = tb ? K : N;
            double *A = malloc(sizeof *A * (size_t)M * K), *B = malloc(sizeof *B * (size_t)K * N);
            double *C = malloc(sizeof *C * (size_t)M * N), *C0 = malloc(sizeof *C0 * (size_t)M * N);
            float *Af = malloc(sizeof *Af * (size_t)M * K), *Bf = malloc(sizeof *Bf * (size_t)K * N);
            float *Cf = malloc(sizeof *Cf * (size_t)M * N);
            cr_assert(A && B && C && C0 && Af && Bf && Cf);
            unsigned x = 12345u + (unsigned)s * 7u + (unsigned)t;
            for (int i = 0; i < M * K; i++) { x = x * 1103515245u + 12345u; Af[i] = (float)(A[i] = (double)(x >> 8) / 16777216.0 - 0.5); }
            for (int i = 0; i < K * N; i++) { x = x * 1103515245u + 12345u; Bf[i] = (float)(B[i] = (double)(x >> 8) / 16777216.0 - 0.5); }
            for (int i = 0; i < M * N; i++) { Cf[i] = (float)(C[i] = C0[i] = (double)(i % 7) - 3.0); }
            double alpha = 0.75, beta = -0.5;
            vp_gemm_f64(NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N);
            vp_gemm_f32(NULL, ta, tb, M, N, K, (float)alpha, Af, lda, Bf, ldb, (float)beta, Cf, N);
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    long double acc = 0, mag = 0;
                    for (int k = 0; k < K; k++) {
                        long double p = (long double)at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
                        acc += p;
                        mag += fabsl(p);
                    }
                    double want = (double)(alpha * acc + beta * C0[(size_t)i * N + j]);
                    /* a K-term dot product in precision u errs by at most K u sum|a_k b_k|
                     * (Higham, Accuracy and Stability, eq. 3.5), plus the final scaling */
                    double bound64 = (K + 2) * 0x1p-53 * (double)(alpha * mag + fabs(beta * C0[(size_t)i * N + j]));
                    double bound32 = (K + 2) * 0x1p-24 * (double)(alpha * mag + fabs(beta * C0[(size_t)i * N + j]));
                    cr_assert_leq(fabs(C[(size_t)i * N + j] - want), bound64 + 1e-300, "f64 %dx%dx%d t%d (%d,%d)", M, N, K, t, i, j);
                    cr_assert_leq(fabs(Cf[(size_t)i * N + j] - want), bound32 + 1e-30, "f32 %dx%dx%d t%d (%d,%d)", M, N, K, t, i, j);
                }
            free(A); free(B); free(C); free(C0); free(Af); free(Bf); free(Cf);
        }
    }
}

Test(vp_gemm, same_bits_for_every_thread_count)
{
    int M = 2 * VP_GEMM_BLOCK + 88, N = 530, K = 70;
    float *A = malloc(sizeof *A * (size_t)M * K), *B = malloc(sizeof *B * (size_t)N * K);
    float *ref = malloc(sizeof *ref * (size_t)M * N), *C = malloc(sizeof *C * (size_t)M * N);
    cr_assert(A && B && ref && C);
    for (int i = 0; i < M * K; i++) A[i] = (float)sin(i * 0.37);
    for (int i = 0; i < N * K; i++) B[i] = (float)cos(i * 0.11);
    vp_gemm_f32(NULL, false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, ref, N);
    cr_assert_eq(vp_gemm_blocks(M, N), 3, "M rows in three blocks, the last one short");
    for (int threads = 1; threads <= 5; threads++) {
        vp_pool *p = NULL;
        vp_err err;
        cr_assert_eq(vp_pool_create(&p, threads, &err), VP_OK);
        cr_assert_eq(vp_pool_threads(p), threads);
        for (int rep = 0; rep < 20; rep++) { /* many loops on one pool: wake-ups and hand-off */
            memset(C, 0xff, sizeof *C * (size_t)M * N);
            vp_gemm_f32(p, false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
            cr_assert_eq(memcmp(C, ref, sizeof *C * (size_t)M * N), 0, "threads %d rep %d", threads, rep);
        }
        vp_pool_free(p);
    }
    free(A); free(B); free(ref); free(C);
}

static void count_block(void *arg, int i) { __atomic_fetch_add(&((int *)arg)[i], 1, __ATOMIC_RELAXED); }

Test(vp_pool, runs_every_block_exactly_once)
{
    vp_pool *p = NULL;
    vp_err err;
    cr_assert_eq(vp_pool_create(&p, 3, &err), VP_OK);
    for (int n = 0; n < 200; n += 7) {
        int hits[200] = {0};
        vp_pool_run(p, n, count_block, hits);
        for (int i = 0; i < 200; i++) cr_assert_eq(hits[i], i < n ? 1 : 0, "n %d block %d", n, i);
    }
    vp_pool_free(p);
    vp_pool_free(NULL);
    cr_assert_eq(vp_pool_create(&p, 0, &err), VP_ERR_USAGE);
}
