/* gemm: see gemm.h. */
#include "core/gemm.h"

#include <cblas.h>
#include <stddef.h>

/* Blocks along the larger dimension; ties cut the columns (N). */
static bool split_rows(int M, int N) { return M > N; }

int vp_gemm_blocks(int M, int N)
{
    int d = split_rows(M, N) ? M : N;
    int nb = (d + VP_GEMM_BLOCK - 1) / VP_GEMM_BLOCK;
    return nb < 1 ? 1 : nb;
}

/* One product, in either precision: the f32 fields or the f64 fields are used. */
typedef struct {
    bool f64, ta, tb, rows;
    int M, N, K, lda, ldb, ldc;
    float alpha32, beta32;
    double alpha64, beta64;
    const void *A, *B;
    void *C;
} gemm_args;

/* Block i: rows [lo, hi) of C use rows lo..hi-1 of op(A), which are rows of A (no
 * transpose) or its columns (transpose); a block of columns uses the columns of op(B),
 * columns of B (no transpose) or its rows (transpose). Offsets are in elements. */
static void gemm_block(void *vp, int i)
{
    const gemm_args *g = vp;
    int d = g->rows ? g->M : g->N;
    int lo = i * VP_GEMM_BLOCK, hi = lo + VP_GEMM_BLOCK < d ? lo + VP_GEMM_BLOCK : d;
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
    enum CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans, tb = g->tb ? CblasTrans : CblasNoTrans;
    if (g->f64)
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, g->K, g->alpha64, (const double *)g->A + aoff, g->lda,
                    (const double *)g->B + boff, g->ldb, g->beta64, (double *)g->C + coff, g->ldc);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, g->K, g->alpha32, (const float *)g->A + aoff, g->lda,
                    (const float *)g->B + boff, g->ldb, g->beta32, (float *)g->C + coff, g->ldc);
}

void vp_gemm_f32(vp_pool *pool, bool transA, bool transB, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    gemm_args g = { .f64 = false, .ta = transA, .tb = transB, .rows = split_rows(M, N), .M = M, .N = N, .K = K,
                    .lda = lda, .ldb = ldb, .ldc = ldc, .alpha32 = alpha, .beta32 = beta, .A = A, .B = B, .C = C };
    vp_pool_run(pool, vp_gemm_blocks(M, N), gemm_block, &g);
}

void vp_gemm_f64(vp_pool *pool, bool transA, bool transB, int M, int N, int K, double alpha,
                 const double *A, int lda, const double *B, int ldb, double beta, double *C, int ldc)
{
    gemm_args g = { .f64 = true, .ta = transA, .tb = transB, .rows = split_rows(M, N), .M = M, .N = N, .K = K,
                    .lda = lda, .ldb = ldb, .ldc = ldc, .alpha64 = alpha, .beta64 = beta, .A = A, .B = B, .C = C };
    vp_pool_run(pool, vp_gemm_blocks(M, N), gemm_block, &g);
}
