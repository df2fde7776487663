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
 * flops) -- in flops; in time, each single-threaded call also streams the shared
 * operand through the caches again. Block 512 (not 256, until session 8): workload 4's
 * products (B 512, width 1024) on 2 threads took 1.22 s in blocks of 256 and 1.12 s in
 * blocks of 512, the time of OpenBLAS's own two threads (1.11 s; bench/gemm_floor.c
 * --mode pool with BLOCK 256 / 512 against --mode seq), and a sweep's 512-wide layers
 * are one call instead of two. The price: a single run keeps at most d / 512 threads
 * busy in a product whose larger side is d (2 for width 1024). The partition is still a
 * function of the shape alone, but OpenBLAS's bits depend on it: where a side is cut
 * differently the products differ in their last bits (`make golden`: the 1000-wide
 * glorot2010_fashion_mnist by <= 2e-8 relative; workloads 2 and 4 and every other
 * golden config, byte-identical).
 */
#ifndef VP_GEMM_H
#define VP_GEMM_H

#include <stdbool.h>
#include "base/pool.h"

#define VP_GEMM_BLOCK 512

/* Number of blocks vp_gemm_* cuts an M x N result into (a function of M, N only). */
int vp_gemm_blocks(int M, int N);

void vp_gemm_f32(vp_pool *pool, bool transA, bool transB, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
void vp_gemm_f64(vp_pool *pool, bool transA, bool transB, int M, int N, int K, double alpha,
                 const double *A, int lda, const double *B, int ldb, double beta, double *C, int ldc);

#endif
