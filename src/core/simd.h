/* simd: one macro for the hot loops that are written to auto-vectorize.
 *
 * VP_CLONES compiles a function four times -- for AVX-512 (x86-64-v4), AVX2,
 * SSE4.2 (x86-64-v2) and the x86-64 baseline -- and the loader picks the best
 * the CPU has (GCC target_clones). Every clone gives the same bits: integer
 * arithmetic is exact, and floating-point code is built in ISO C mode (no FMA
 * contraction, even where the target has FMA) without fast-math, so the
 * vectorizer never reassociates -- a clone differs only in vector width.
 * (Why SSE4.2 and not plain SSE2 as the first vector level: src/core/vmath.h,
 * vm_select.) Other compilers (clang in the fuzz build) get one plain version. */
#ifndef VP_SIMD_H
#define VP_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VP_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "arch=x86-64-v2", "default")))
#else
#define VP_CLONES
#endif

#endif
