/* rng: counter-based random numbers (Random123 Philox4x32-10).
 *
 * Every random number in varprop is a pure function of
 *   (seed, layer, purpose, element index, draw)
 * so results never depend on thread count, scheduling or call order.
 * Philox key = the 64-bit seed; counter = {index lo, index hi ^ draw<<32.., layer, purpose}.
 * One Philox call yields 4x32 random bits = 2 uniform doubles (52-bit), or the
 * first ziggurat attempts of 2 normals.
 *
 * vp_rng is a small value type (no allocation, nothing to free).
 */
#ifndef VP_RNG_H
#define VP_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    VP_RNG_WEIGHT = 1,  /* weight matrices */
    VP_RNG_BIAS,        /* bias vectors */
    VP_RNG_INPUT,       /* synthetic input batch */
    VP_RNG_PROBE,       /* backward probe g ~ N(0,1) */
    VP_RNG_MASK,        /* sparse-init masks, permutations */
    VP_RNG_TRAIN,       /* training: batch order, dropout... */
} vp_rng_purpose;

typedef struct {
    uint64_t seed;
    uint32_t layer;
    uint32_t purpose;
} vp_rng;

static inline vp_rng vp_rng_make(uint64_t seed, uint32_t layer, vp_rng_purpose purpose)
{
    vp_rng r = { seed, layer, (uint32_t)purpose };
    return r;
}

/* Two uniform doubles in the open interval (0,1) for counter (index, draw). */
void vp_rng_uniform2(const vp_rng *r, uint64_t index, uint32_t draw, double out[2]);

/* N(0,1) streams: element e of the normal stream (r, draw) is an exact N(0,1)
 * sample (128-layer ziggurat, Doornik 2005) depending only on (r, draw, e).
 * vp_rng_normal2 gives elements 2*index and 2*index+1. */
void vp_rng_normal2(const vp_rng *r, uint64_t index, uint32_t draw, double out[2]);
double vp_rng_normal_at(const vp_rng *r, uint64_t e, uint32_t draw);
/* Elements [start, start + n) of the normal stream (r, draw). */
void vp_rng_normal_range(const vp_rng *r, uint32_t draw, uint64_t start, size_t n, double *out);

/* Element i of a stream: U(0,1) resp. N(0,1); out[i] depends only on (r, i, draw). */
void vp_rng_uniform_fill(const vp_rng *r, uint32_t draw, double *out, size_t n);
/* Elements [start, start + n) of the uniform stream (r, draw). */
void vp_rng_uniform_range(const vp_rng *r, uint32_t draw, uint64_t start, size_t n, double *out);
void vp_rng_normal_fill(const vp_rng *r, uint32_t draw, double *out, size_t n);

/* Philox4x32-10 of the 8 counters (index0 + i, draw), as used internally by the
 * lane-parallel fast path: out[w][i] is word w of counter i (for tests). impl 0:
 * the portable C; 1: the AVX2 version where the CPU has AVX2 (else the portable
 * one); 2: whichever the library uses on this CPU. */
void vp_rng_philox_lanes_check(const vp_rng *r, uint64_t index0, uint32_t draw, int impl, uint32_t out[4][8]);

/* Uniform integer in [0, n) for counter (index, draw); unbiased (Lemire-free
 * rejection on 64-bit words). n must be > 0. */
uint64_t vp_rng_below(const vp_rng *r, uint64_t index, uint32_t draw, uint64_t n);

#endif
