/* The fast paths must give exactly the numbers of the plain definitions they
 * replace: lane-parallel Philox = Random123's philox4x32, and a normal stream made
 * in blocks = the same stream element by element (any start, any length). */
#include <criterion/criterion.h>
#include <Random123/philox.h>
#include <stdlib.h>

#include "core/rng.h"

Test(fastpaths, philox_lanes_equal_random123)
{
    /* impl 0: portable C, 1: AVX2 (where the CPU has it), 2: what the library uses */
    const uint64_t seeds[] = { 0, 1, 0xFFFFFFFFFFFFFFFFull, 0x123456789ABCDEFull };
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (uint32_t draw = 0; draw < 3; draw++) {
            vp_rng r = vp_rng_make(seeds[s], 7u + draw, VP_RNG_WEIGHT);
            uint64_t index0 = (uint64_t)s * 0x100000001ull + draw;
            uint32_t w[4][8];
            for (int impl = 0; impl < 3; impl++) {
            vp_rng_philox_lanes_check(&r, index0, draw, impl, w);
            for (int i = 0; i < 8; i++) {
                uint64_t idx = index0 + (uint64_t)i;
                philox4x32_key_t k = {{ (uint32_t)r.seed, (uint32_t)(r.seed >> 32) }};
                philox4x32_ctr_t c = {{ (uint32_t)idx, (uint32_t)(idx >> 32) ^ (draw * 0x9E3779B9u), r.layer, r.purpose }};
                philox4x32_ctr_t b = philox4x32(c, k);
                for (int word = 0; word < 4; word++)
                    cr_assert_eq(w[word][i], b.v[word], "impl %d seed %zu draw %u lane %d word %d", impl, s, draw, i,
                                 word);
            }
            }
        }
}

/* Every range [start, start + len) of a stream, made by `range`, equals the same
 * elements of `all` (the whole stream): the 32-element (AVX-512), 16-element and
 * one-by-one paths meet at any start, odd or even, and any length. */
typedef void range_fn(const vp_rng *r, uint32_t draw, uint64_t start, size_t n, double *out);
static void check_ranges(range_fn *range, const vp_rng *r, uint32_t draw, const double *all)
{
    const size_t starts[] = { 0, 1, 15, 16, 17, 32, 99, 999 }, lens[] = { 1, 2, 15, 16, 31, 32, 33, 47, 1000 };
    double part[1000];
    for (size_t a = 0; a < sizeof starts / sizeof *starts; a++)
        for (size_t b = 0; b < sizeof lens / sizeof *lens; b++) {
            range(r, draw, starts[a], lens[b], part);
            for (size_t i = 0; i < lens[b]; i++)
                cr_assert_eq(part[i], all[starts[a] + i], "start %zu len %zu i %zu", starts[a], lens[b], i);
        }
}

Test(fastpaths, normal_stream_is_the_same_made_in_blocks_or_one_by_one)
{
    vp_rng r = vp_rng_make(42, 3, VP_RNG_PROBE);
    /* 200,000 elements: ~5,500 fail the ziggurat's fast test (2.8%; the vector paths
     * redo those one by one) and ~110 of them are in the base layer (the tail beyond R). */
    enum { N = 200000 };
    double *all = malloc(N * sizeof *all);
    vp_rng_normal_fill(&r, 2, all, N);
    for (size_t e = 0; e < N; e++) cr_assert_eq(all[e], vp_rng_normal_at(&r, e, 2), "element %zu", e);
    check_ranges(vp_rng_normal_range, &r, 2, all);
    free(all);
}

Test(fastpaths, uniform_fill_equals_pairs)
{
    vp_rng r = vp_rng_make(9, 1, VP_RNG_INPUT);
    enum { N = 2001 };
    double u[N], pair[2];
    vp_rng_uniform_fill(&r, 0, u, N);
    for (size_t i = 0; i < N; i++) {
        vp_rng_uniform2(&r, i / 2, 0, pair);
        cr_assert_eq(u[i], pair[i % 2], "element %zu", i);
    }
    check_ranges(vp_rng_uniform_range, &r, 0, u);
}
