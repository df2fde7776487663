/* simd: one macro for the hot loops that are written to auto-vectorize.
 *
 * VP_CLONES compiles a function twice, for AVX2 and for the x86-64 baseline (SSE2),
 * and picks the clone at load time (GCC target_clones). Every clone gives the same
 * bits: integer arithmetic is exact, and floating-point code is built in ISO C mode
 * (no FMA contraction; "avx2" does not enable FMA anyway) without fast-math, so the
 * vectorizer never reassociates -- a clone differs only in vector width.
 * Other compilers (clang in the fuzz build) get one plain version. */
#ifndef VP_SIMD_H
#define VP_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VP_CLONES
#endif

#endif
