/* rng: see rng.h. Philox4x32-10 from Random123 (Salmon et al., SC'11). */
#include "rng.h"

#include <math.h>
#include <Random123/philox.h>

static philox4x32_ctr_t block(const vp_rng *r, uint64_t index, uint32_t draw)
{
    philox4x32_key_t k = {{ (uint32_t)r->seed, (uint32_t)(r->seed >> 32) }};
    /* The draw number is mixed into the high index word by an odd multiplier (a
     * bijection mod 2^32), so for index < 2^32 -- every tensor varprop draws --
     * distinct (index, draw) pairs give distinct counters. */
    philox4x32_ctr_t c = {{ (uint32_t)index, (uint32_t)(index >> 32) ^ (draw * 0x9E3779B9u),
                            r->layer, r->purpose }};
    return philox4x32(c, k);
}

/* 53 random bits -> (0,1): (k + 0.5) * 2^-53, never 0 or 1. */
static double u53(uint32_t hi, uint32_t lo)
{
    uint64_t k = ((uint64_t)hi << 21) ^ ((uint64_t)lo >> 11);
    k &= (UINT64_C(1) << 53) - 1;
    return ((double)k + 0.5) * 0x1.0p-53;
}

void vp_rng_uniform2(const vp_rng *r, uint64_t index, uint32_t draw, double out[2])
{
    philox4x32_ctr_t b = block(r, index, draw);
    out[0] = u53(b.v[0], b.v[1]);
    out[1] = u53(b.v[2], b.v[3]);
}

void vp_rng_normal2(const vp_rng *r, uint64_t index, uint32_t draw, double out[2])
{
    double u[2];
    vp_rng_uniform2(r, index, draw, u);
    /* Box-Muller: exact transform of two independent U(0,1) into two N(0,1). */
    double rad = sqrt(-2.0 * log(u[0]));
    double th = 2.0 * M_PI * u[1];
    out[0] = rad * cos(th);
    out[1] = rad * sin(th);
}

void vp_rng_uniform_fill(const vp_rng *r, uint32_t draw, double *out, size_t n)
{
    double u[2];
    for (size_t i = 0; i + 1 < n; i += 2) vp_rng_uniform2(r, i / 2, draw, out + i);
    if (n % 2) { vp_rng_uniform2(r, (n - 1) / 2, draw, u); out[n - 1] = u[0]; }
}

void vp_rng_normal_fill(const vp_rng *r, uint32_t draw, double *out, size_t n)
{
    double z[2];
    for (size_t i = 0; i + 1 < n; i += 2) vp_rng_normal2(r, i / 2, draw, out + i);
    if (n % 2) { vp_rng_normal2(r, (n - 1) / 2, draw, z); out[n - 1] = z[0]; }
}

uint64_t vp_rng_below(const vp_rng *r, uint64_t index, uint32_t draw, uint64_t n)
{
    /* Rejection: accept k < limit where limit is the largest multiple of n in 2^64. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    for (uint32_t attempt = 0;; attempt++) {
        philox4x32_ctr_t b = block(r, index, draw ^ (attempt << 24));
        uint64_t k = ((uint64_t)b.v[0] << 32) | b.v[1];
        if (k < limit) return k % n;
    }
}
