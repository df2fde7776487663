/* rng: see rng.h. Philox4x32-10 from Random123 (Salmon et al., SC'11). */
#include "core/rng.h"

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

/* 52 random bits -> (0,1): (k + 0.5) * 2^-52 with k < 2^52 is exact in double, so
 * the result is never 0 or 1 (with 53 bits, k = 2^53 - 1 would round up to 1.0). */
static double u53(uint32_t hi, uint32_t lo)
{
    uint64_t k = (((uint64_t)hi << 32) | lo) >> 12;
    return ((double)k + 0.5) * 0x1.0p-52;
}

void vp_rng_uniform2(const vp_rng *r, uint64_t index, uint32_t draw, double out[2])
{
    philox4x32_ctr_t b = block(r, index, draw);
    out[0] = u53(b.v[0], b.v[1]);
    out[1] = u53(b.v[2], b.v[3]);
}

/* ---- N(0,1): the ziggurat (Marsaglia & Tsang 2000; Doornik 2005 "ZIGNOR") ----
 * Element e of the normal stream (r, draw) takes its first attempt from the 64-bit
 * half (e & 1) of block(e >> 1, draw): the low 7 bits choose one of 128 layers and
 * the top 52 bits give u in (-1, 1). With probability ~0.972, |u| < ratio[layer]
 * and z = u * x[layer] is accepted at once (no transcendental function at all).
 * Otherwise the exact rejection steps (wedge test, or the tail beyond R by
 * Marsaglia's method) draw further uniforms from a per-element substream, whose
 * blocks carry the high bit in the purpose word, so they never collide with
 * first-attempt blocks. The result is an exact N(0,1) sample and, as every number
 * here, a pure function of (seed, layer, purpose, draw, e). */
#include "core/rng_zig.inc"

typedef struct {
    const vp_rng *r;
    uint64_t e;
    uint32_t draw, used;
    philox4x32_ctr_t b;
} substream;

static uint64_t sub_bits(substream *s)
{
    if (s->used % 2 == 0) {
        philox4x32_key_t k = {{ (uint32_t)s->r->seed, (uint32_t)(s->r->seed >> 32) }};
        philox4x32_ctr_t c = {{ (uint32_t)s->e, (uint32_t)(s->e >> 32) ^ (s->draw * 0x9E3779B9u), s->r->layer,
                                s->r->purpose ^ 0x80000000u ^ ((s->used / 2) << 20) }};
        s->b = philox4x32(c, k);
    }
    int h = (int)(s->used++ % 2);
    return ((uint64_t)s->b.v[2 * h] << 32) | s->b.v[2 * h + 1];
}

static double sub_u01(substream *s) { uint64_t b = sub_bits(s); return u53((uint32_t)(b >> 32), (uint32_t)b); }

/* Rejection part of one ziggurat draw, after the first attempt (layer i, u) failed
 * the fast test. */
static double zig_slow(substream *s, int i, double u)
{
    for (;;) {
        if (i == 0) { /* tail beyond R (Marsaglia 1964) */
            double x, y;
            do {
                x = log(sub_u01(s)) / VP_ZIG_R;
                y = log(sub_u01(s));
            } while (-2.0 * y < x * x);
            return u < 0 ? x - VP_ZIG_R : VP_ZIG_R - x;
        }
        double x = u * VP_ZIG_X[i], x2 = x * x;
        double f0 = exp(-0.5 * (VP_ZIG_X[i] * VP_ZIG_X[i] - x2));
        double f1 = exp(-0.5 * (VP_ZIG_X[i + 1] * VP_ZIG_X[i + 1] - x2));
        if (f1 + sub_u01(s) * (f0 - f1) < 1.0) return x; /* under the density in the wedge */
        uint64_t b = sub_bits(s); /* a fresh attempt */
        i = (int)(b & 0x7F);
        u = 2.0 * (((double)(b >> 12) + 0.5) * 0x1.0p-52) - 1.0;
        if (fabs(u) < VP_ZIG_RATIO[i]) return u * VP_ZIG_X[i];
    }
}

/* One normal from the 64 bits of its first attempt. */
static inline double zig(const vp_rng *r, uint32_t draw, uint64_t e, uint64_t bits)
{
    int i = (int)(bits & 0x7F);
    double u = 2.0 * (((double)(bits >> 12) + 0.5) * 0x1.0p-52) - 1.0;
    if (fabs(u) < VP_ZIG_RATIO[i]) return u * VP_ZIG_X[i];
    substream s = { r, e, draw, 0, {{0}} };
    return zig_slow(&s, i, u);
}

static inline uint64_t half_bits(const philox4x32_ctr_t *b, int h)
{
    return ((uint64_t)b->v[2 * h] << 32) | b->v[2 * h + 1];
}

/* ---- Philox for LANES consecutive counters at once ----
 * The same function as Random123's philox4x32 (10 rounds, key bumped by the Weyl
 * constants before rounds 2..10) for 8 consecutive counters. Two implementations,
 * both checked against philox4x32() by tests/test_fastpaths.c:
 *  - portable: structure-of-arrays C that GCC vectorizes as it can (SSE2);
 *  - AVX2 (chosen at run time where the CPU has it): each 32x32->64-bit product of
 *    8 lanes is two vpmuludq, one on the even lanes and one on the odd lanes
 *    shifted down, and the high and low halves are put back into place by one
 *    shift and one blend each -- no cross-lane shuffles.
 * Integer arithmetic: both give identical bits. */
#define LANES 8

static void philox_lanes_portable(const vp_rng *r, uint64_t index0, uint32_t draw, uint32_t out[4][LANES])
{
    uint32_t x0[LANES], x1[LANES], x2[LANES], x3[LANES];
    uint32_t k0 = (uint32_t)r->seed, k1 = (uint32_t)(r->seed >> 32);
    for (int i = 0; i < LANES; i++) {
        uint64_t index = index0 + (uint64_t)i;
        x0[i] = (uint32_t)index;
        x1[i] = (uint32_t)(index >> 32) ^ (draw * 0x9E3779B9u);
        x2[i] = r->layer;
        x3[i] = r->purpose;
    }
    for (int round = 0; round < 10; round++) {
        if (round) {
            k0 += PHILOX_W32_0;
            k1 += PHILOX_W32_1;
        }
        for (int i = 0; i < LANES; i++) {
            uint64_t p0 = (uint64_t)PHILOX_M4x32_0 * x0[i];
            uint64_t p1 = (uint64_t)PHILOX_M4x32_1 * x2[i];
            uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1[i] ^ k0;
            uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3[i] ^ k1;
            x1[i] = (uint32_t)p1;
            x3[i] = (uint32_t)p0;
            x0[i] = y0;
            x2[i] = y2;
        }
    }
    for (int i = 0; i < LANES; i++) {
        out[0][i] = x0[i];
        out[1][i] = x1[i];
        out[2][i] = x2[i];
        out[3][i] = x3[i];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define VP_PHILOX_AVX2 1
#include <immintrin.h>

/* hi and lo 32-bit halves of a * m for the 8 lanes of a (m: the multiplier in every lane). */
__attribute__((target("avx2"))) static inline void mulhilo8(__m256i a, __m256i m, __m256i *hi, __m256i *lo)
{
    __m256i even = _mm256_mul_epu32(a, m);                       /* lanes 0,2,4,6: 64-bit products */
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m); /* lanes 1,3,5,7 */
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

__attribute__((target("avx2"))) static void philox_lanes_avx2(const vp_rng *r, uint64_t index0, uint32_t draw,
                                                              uint32_t out[4][LANES])
{
    uint32_t c0[LANES], c1[LANES];
    for (int i = 0; i < LANES; i++) {
        uint64_t index = index0 + (uint64_t)i;
        c0[i] = (uint32_t)index;
        c1[i] = (uint32_t)(index >> 32) ^ (draw * 0x9E3779B9u);
    }
    __m256i x0 = _mm256_loadu_si256((const __m256i *)c0), x1 = _mm256_loadu_si256((const __m256i *)c1);
    __m256i x2 = _mm256_set1_epi32((int)r->layer), x3 = _mm256_set1_epi32((int)r->purpose);
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M4x32_0), m1 = _mm256_set1_epi32((int)PHILOX_M4x32_1);
    uint32_t k0 = (uint32_t)r->seed, k1 = (uint32_t)(r->seed >> 32);
    for (int round = 0; round < 10; round++) {
        if (round) {
            k0 += PHILOX_W32_0;
            k1 += PHILOX_W32_1;
        }
        __m256i hi0, lo0, hi1, lo1;
        mulhilo8(x0, m0, &hi0, &lo0);
        mulhilo8(x2, m1, &hi1, &lo1);
        x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)k0));
        x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)k1));
        x1 = lo1;
        x3 = lo0;
    }
    _mm256_storeu_si256((__m256i *)out[0], x0);
    _mm256_storeu_si256((__m256i *)out[1], x1);
    _mm256_storeu_si256((__m256i *)out[2], x2);
    _mm256_storeu_si256((__m256i *)out[3], x3);
}

/* ---- AVX-512: Philox in 64-bit lanes, and the ziggurat's fast test in vectors ----
 * philox8 is the same function as philox4x32 for 8 consecutive counters, each 32-bit
 * word kept in the low half of a 64-bit lane: vpmuludq reads only the low halves and
 * gives the whole 64-bit product, whose high half is one shift away and whose low
 * half needs no extraction (the upper halves of the lanes carry garbage through the
 * rounds and are dropped at the end; one vpternlogq makes each three-way XOR).
 * normal32_avx512 makes elements e0 .. e0 + 31 (e0 even) of a normal stream: element
 * e0 + 2i takes the 64 bits (w0 << 32 | w1) of counter i and element e0 + 2i + 1 the
 * bits (w2 << 32 | w3), as in the scalar path. The fast test is the scalar one,
 * operation for operation: k = bits >> 12 converts to double exactly (k < 2^52),
 * u = 2 ((k + 1/2) 2^-52) - 1 is exact at every step, |u| < ratio[i] compares the
 * same doubles, z = u x[i] is one rounded product; the two table look-ups are
 * gathers. An element that fails the test (~2.8%) is redone by the scalar zig(),
 * which takes the same slow path. Identical bits, checked against philox4x32 and
 * vp_rng_normal_at by tests/test_fastpaths.c. */
#define VP_AVX512 __attribute__((target("avx512f,avx512dq")))

/* The first-attempt words of the 8 counters index0 + i: even = (w0 << 32 | w1) and
 * odd = (w2 << 32 | w3) of counter i in lane i. */
VP_AVX512 static inline void philox8(const vp_rng *r, uint64_t index0, uint32_t draw, __m512i *even, __m512i *odd)
{
    __m512i idx = _mm512_add_epi64(_mm512_set1_epi64((long long)index0), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    __m512i x0 = idx;
    __m512i x1 = _mm512_xor_si512(_mm512_srli_epi64(idx, 32), _mm512_set1_epi64((long long)(draw * 0x9E3779B9u)));
    __m512i x2 = _mm512_set1_epi64((long long)r->layer), x3 = _mm512_set1_epi64((long long)r->purpose);
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M4x32_0), m1 = _mm512_set1_epi64(PHILOX_M4x32_1);
    uint32_t k0 = (uint32_t)r->seed, k1 = (uint32_t)(r->seed >> 32);
    for (int round = 0; round < 10; round++) {
        if (round) {
            k0 += PHILOX_W32_0;
            k1 += PHILOX_W32_1;
        }
        __m512i p0 = _mm512_mul_epu32(x0, m0), p1 = _mm512_mul_epu32(x2, m1);
        x0 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), x1, _mm512_set1_epi64(k0), 0x96);
        x2 = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3, _mm512_set1_epi64(k1), 0x96);
        x1 = p1;
        x3 = p0;
    }
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFFll);
    *even = _mm512_or_si512(_mm512_slli_epi64(x0, 32), _mm512_and_si512(x1, low));
    *odd = _mm512_or_si512(_mm512_slli_epi64(x2, 32), _mm512_and_si512(x3, low));
}

/* Fast test of 8 first attempts; *ok: the lanes it accepted. */
VP_AVX512 static inline __m512d zig8(__m512i bits, __mmask8 *ok)
{
    __m512i layer = _mm512_and_si512(bits, _mm512_set1_epi64(0x7F));
    __m512d k = _mm512_cvtepu64_pd(_mm512_srli_epi64(bits, 12));
    __m512d u = _mm512_mul_pd(_mm512_add_pd(k, _mm512_set1_pd(0.5)), _mm512_set1_pd(0x1.0p-52));
    u = _mm512_sub_pd(_mm512_mul_pd(_mm512_set1_pd(2.0), u), _mm512_set1_pd(1.0));
    __m512d ratio = _mm512_i64gather_pd(layer, VP_ZIG_RATIO, 8);
    __m512d x = _mm512_i64gather_pd(layer, VP_ZIG_X, 8);
    *ok = _mm512_cmp_pd_mask(_mm512_abs_pd(u), ratio, _CMP_LT_OQ);
    return _mm512_mul_pd(u, x);
}

/* The first-attempt bits of elements e0 .. e0 + 31 (e0 even) of stream (r, draw):
 * even[h][i] of element e0 + 16h + 2i, odd[h][i] of element e0 + 16h + 2i + 1. */
VP_AVX512 static inline void bits32(const vp_rng *r, uint32_t draw, uint64_t e0, __m512i even[2], __m512i odd[2])
{
    philox8(r, e0 >> 1, draw, &even[0], &odd[0]);
    philox8(r, (e0 >> 1) + 8, draw, &even[1], &odd[1]);
}

/* out[0..15] = e[0], o[0], e[1], o[1], ..., e[7], o[7]. */
VP_AVX512 static inline void store_interleaved(double *out, __m512d e, __m512d o)
{
    _mm512_storeu_pd(out, _mm512_permutex2var_pd(e, _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), o));
    _mm512_storeu_pd(out + 8, _mm512_permutex2var_pd(e, _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15), o));
}

/* Elements e0 .. e0 + 31 (e0 even) of the normal stream (r, draw). */
VP_AVX512 static void normal32_avx512(const vp_rng *r, uint32_t draw, uint64_t e0, double *out)
{
    __m512i be[2], bo[2];
    bits32(r, draw, e0, be, bo);
    for (int half = 0; half < 2; half++) {
        __mmask8 oke, oko;
        __m512d ze = zig8(be[half], &oke), zo = zig8(bo[half], &oko);
        double *o = out + 16 * half;
        store_interleaved(o, ze, zo);
        if ((__mmask8)(oke & oko) != 0xFF) {
            uint64_t bits[2][8];
            _mm512_storeu_si512(bits[0], be[half]);
            _mm512_storeu_si512(bits[1], bo[half]);
            for (int i = 0; i < 8; i++)
                for (int h = 0; h < 2; h++)
                    if (!(((h ? oko : oke) >> i) & 1)) {
                        uint64_t e = e0 + 16 * (uint64_t)half + 2 * (uint64_t)i + (uint64_t)h;
                        o[2 * i + h] = zig(r, draw, e, bits[h][i]);
                    }
        }
    }
}

/* u53 of 8 words: ((bits >> 12) + 1/2) 2^-52, exact as in the scalar u53. */
VP_AVX512 static inline __m512d u53x8(__m512i bits)
{
    __m512d k = _mm512_cvtepu64_pd(_mm512_srli_epi64(bits, 12));
    return _mm512_mul_pd(_mm512_add_pd(k, _mm512_set1_pd(0.5)), _mm512_set1_pd(0x1.0p-52));
}

/* Elements e0 .. e0 + 31 (e0 even) of the uniform stream (r, draw). */
VP_AVX512 static void uniform32_avx512(const vp_rng *r, uint32_t draw, uint64_t e0, double *out)
{
    __m512i be[2], bo[2];
    bits32(r, draw, e0, be, bo);
    for (int half = 0; half < 2; half++) store_interleaved(out + 16 * half, u53x8(be[half]), u53x8(bo[half]));
}

static int have_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}
#else
#define VP_PHILOX_AVX2 0
#endif

static void philox_lanes(const vp_rng *r, uint64_t index0, uint32_t draw, uint32_t out[4][LANES])
{
#if VP_PHILOX_AVX2
    if (__builtin_cpu_supports("avx2")) {
        philox_lanes_avx2(r, index0, draw, out);
        return;
    }
#endif
    philox_lanes_portable(r, index0, draw, out);
}

void vp_rng_philox_lanes_check(const vp_rng *r, uint64_t index0, uint32_t draw, int impl, uint32_t out[4][8])
{
#if VP_PHILOX_AVX2
    if (impl == 1 && __builtin_cpu_supports("avx2")) {
        philox_lanes_avx2(r, index0, draw, out);
        return;
    }
#endif
    if (impl == 0) philox_lanes_portable(r, index0, draw, out);
    else philox_lanes(r, index0, draw, out);
}

void vp_rng_normal_range(const vp_rng *r, uint32_t draw, uint64_t start, size_t n, double *out)
{
    size_t t = 0;
#if VP_PHILOX_AVX2
    /* whole blocks of 32 elements through the AVX-512 path, where the CPU has it */
    if (n >= 32 && (start & 1) == 0 && have_avx512())
        for (; t + 32 <= n; t += 32) normal32_avx512(r, draw, start + t, out + t);
#endif
    /* whole blocks of 2*LANES elements through the lane-parallel Philox */
    if (n - t >= 2 * LANES && (start & 1) == 0) {
        uint32_t w[4][LANES];
        for (; t + 2 * LANES <= n; t += 2 * LANES) {
            uint64_t e0 = start + t;
            philox_lanes(r, e0 >> 1, draw, w);
            for (int i = 0; i < LANES; i++) {
                out[t + 2 * (size_t)i] = zig(r, draw, e0 + 2 * (uint64_t)i, ((uint64_t)w[0][i] << 32) | w[1][i]);
                out[t + 2 * (size_t)i + 1] = zig(r, draw, e0 + 2 * (uint64_t)i + 1, ((uint64_t)w[2][i] << 32) | w[3][i]);
            }
        }
    }
    while (t < n) {
        uint64_t e = start + t;
        philox4x32_ctr_t b = block(r, e >> 1, draw);
        for (int h = (int)(e & 1); h < 2 && t < n; h++, t++, e++) out[t] = zig(r, draw, e, half_bits(&b, h));
    }
}

double vp_rng_normal_at(const vp_rng *r, uint64_t e, uint32_t draw)
{
    philox4x32_ctr_t b = block(r, e >> 1, draw);
    return zig(r, draw, e, half_bits(&b, (int)(e & 1)));
}

void vp_rng_normal2(const vp_rng *r, uint64_t index, uint32_t draw, double out[2])
{
    vp_rng_normal_range(r, draw, 2 * index, 2, out);
}

void vp_rng_uniform_range(const vp_rng *r, uint32_t draw, uint64_t start, size_t n, double *out)
{
    size_t t = 0;
#if VP_PHILOX_AVX2
    /* whole blocks of 32 elements through the AVX-512 path, where the CPU has it */
    if (n >= 32 && (start & 1) == 0 && have_avx512())
        for (; t + 32 <= n; t += 32) uniform32_avx512(r, draw, start + t, out + t);
#endif
    /* whole blocks of 2*LANES elements through the lane-parallel Philox */
    if (n - t >= 2 * LANES && (start & 1) == 0) {
        uint32_t w[4][LANES];
        for (; t + 2 * LANES <= n; t += 2 * LANES) {
            philox_lanes(r, (start + t) >> 1, draw, w);
            for (int l = 0; l < LANES; l++) {
                out[t + 2 * (size_t)l] = u53(w[0][l], w[1][l]);
                out[t + 2 * (size_t)l + 1] = u53(w[2][l], w[3][l]);
            }
        }
    }
    while (t < n) {
        uint64_t e = start + t;
        double u[2];
        vp_rng_uniform2(r, e >> 1, draw, u);
        for (int h = (int)(e & 1); h < 2 && t < n; h++, t++) out[t] = u[h];
    }
}

void vp_rng_uniform_fill(const vp_rng *r, uint32_t draw, double *out, size_t n)
{
    vp_rng_uniform_range(r, draw, 0, n, out);
}

void vp_rng_normal_fill(const vp_rng *r, uint32_t draw, double *out, size_t n)
{
    vp_rng_normal_range(r, draw, 0, n, out);
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
