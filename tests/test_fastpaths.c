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

Test(fastpaths, normal_stream_is_the_same_made_in_blocks_or_one_by_one)
{
    vp_rng r = vp_rng_make(42, 3, VP_RNG_PROBE);
    enum { N = 5000 };
    double *all = malloc(N * sizeof *all), *part = malloc(N * sizeof *part);
    vp_rng_normal_fill(&r, 2, all, N);
    for (size_t e = 0; e < N; e++) cr_assert_eq(all[e], vp_rng_normal_at(&r, e, 2), "element %zu", e);
    const size_t starts[] = { 0, 1, 15, 16, 17, 999 }, lens[] = { 1, 2, 15, 16, 33, 1000 };
    for (size_t a = 0; a < 6; a++)
        for (size_t b = 0; b < 6; b++) {
            vp_rng_normal_range(&r, 2, starts[a], lens[b], part);
            for (size_t i = 0; i < lens[b]; i++)
                cr_assert_eq(part[i], all[starts[a] + i], "start %zu len %zu i %zu", starts[a], lens[b], i);
        }
    free(all);
    free(part);
}

Test(fastpaths, uniform_fill_equals_pairs)
{
    vp_rng r = vp_rng_make(9, 1, VP_RNG_INPUT);
    enum { N = 101 };
    double u[N], pair[2];
    vp_rng_uniform_fill(&r, 0, u, N);
    for (size_t i = 0; i < N; i++) {
        vp_rng_uniform2(&r, i / 2, 0, pair);
        cr_assert_eq(u[i], pair[i % 2], "element %zu", i);
    }
}
