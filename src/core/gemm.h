/* gemm: every matrix product of the numeric core goes through here (core layer;
 * the one place that calls cblas_?gemm for networks).
 *
 *   C = alpha op(A) op(B) + beta C,   row-major, op = transpose or not, C is M x N.
 *
 * Reproducibility: C is cut into blocks of whole rows or whole columns -- the larger
 * of M and N in pieces of VP_GEMM_BLOCK (the last piece takes the remainder) -- and
 * each block is one single-threaded OpenBLAS call. The partition depends on the shape
 * only, so the bytes of C are the same whatever the number of threads that run the
 * blocks (vp_pool), including none. OpenBLAS itself must run one thread per call
 * (openblas_set_num_threads(1), which the runner sets): its own threading splits the
 * work by thread count, and LAPACK's blocked QR then gives thread-dependent bits.
 * Every element of a block is the full K-long dot product, so cutting C into blocks
 * costs only the repeated packing of the shared operand (about 1/VP_GEMM_BLOCK of the
 * flops).
 */
#ifndef VP_GEMM_H
#define VP_GEMM_H

#include <stdbool.h>
#include "base/pool.h"

#define VP_GEMM_BLOCK 256

/* Number of blocks vp_gemm_* cuts an M x N result into (a function of M, N only). */
int vp_gemm_blocks(int M, int N);

void vp_gemm_f32(vp_pool *pool, bool transA, bool transB, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void vp_gemm_f64(vp_pool *pool, bool transA, bool transB, int M, int N, int K, double alpha,
                 const double *A, int lda, const double *B, int ldb, double beta, double *C, int ldc);

#endif
