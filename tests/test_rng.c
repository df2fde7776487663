/* Tests of the counter-based random numbers (src/core/rng.c).
 *
 * Statistical tolerances: a sample mean of n i.i.d. draws with std sigma has
 * standard error sigma/sqrt(n); a sample variance has standard error
 * ~ sigma^2 sqrt((kappa - 1)/n), kappa the kurtosis (uniform 1.8, normal 3).
 * Every check allows 6 standard errors: a correct generator fails one of them
 * with probability ~2e-9, while every mistake the checks target (a wrong range,
 * a wrong ziggurat table or tail, a stream that ignores a key field) moves the
 * statistic by hundreds of standard errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <Random123/philox.h>

#include "core/rng.h"

#define NSIG 6.0

static double *alloc_doubles(size_t n)
{
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    return x;
}

/* Sample mean, population variance and fourth central moment. */
static void moments(const double *x, size_t n, double *mean, double *var, double *m4)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double m = s / (double)n, s2 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        s2 += d * d;
        s4 += d * d * d * d;
    }
    *mean = m;
    *var = s2 / (double)n;
    *m4 = s4 / (double)n;
}

/* Pearson correlation of two equal-length samples. */
static double correlation(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

Test(rng, uniform_open_interval_and_moments)
{
    /* n = 2^20 uniforms. U(0,1): mean 1/2, sd sqrt(1/12) = 0.2887, so the mean's
     * standard error is 0.2887/1024 = 2.8e-4 (tolerance 6 SE = 1.7e-3). Variance
     * 1/12 with kurtosis 1.8: SE = (1/12) sqrt(0.8/2^20) = 7.3e-5 (tol 4.4e-4).
     * A generator on (0, 1/2) or (-1, 1) misses by >= 0.25 in the mean or 0.06 in
     * the variance: > 100 tolerances. */
    const size_t n = (size_t)1 << 20;
    double *u = alloc_doubles(n);
    vp_rng r = vp_rng_make(42, 3, VP_RNG_WEIGHT);
    vp_rng_uniform_fill(&r, 0, u, n);
    double lo = 1, hi = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(u[i] > 0.0 && u[i] < 1.0, "u[%zu] = %.17g not in the open interval (0,1)", i, u[i]);
        lo = fmin(lo, u[i]);
        hi = fmax(hi, u[i]);
    }
    /* The extremes of 2^20 uniforms are within ~20/n of the ends (P(min > 20/n) = e^-20). */
    cr_expect_lt(lo, 20.0 / (double)n);
    cr_expect_gt(hi, 1.0 - 20.0 / (double)n);
    double mean, var, m4;
    moments(u, n, &mean, &var, &m4);
    double se_mean = sqrt(1.0 / 12.0 / (double)n), se_var = (1.0 / 12.0) * sqrt(0.8 / (double)n);
    cr_expect_leq(fabs(mean - 0.5), NSIG * se_mean, "mean %.6f", mean);
    cr_expect_leq(fabs(var - 1.0 / 12.0), NSIG * se_var, "var %.6f", var);
    /* Kurtosis of U is 1.8 (normal: 3). Its sampling SE for the uniform is below
     * sqrt(24/n) = 4.8e-3 (the normal's); tolerance 6 * 4.8e-3 = 0.029. */
    cr_expect_leq(fabs(m4 / (var * var) - 1.8), NSIG * sqrt(24.0 / (double)n), "kurtosis %.4f", m4 / (var * var));
    free(u);
}

Test(rng, uniform_never_returns_one)
{
    /* Regression test. rng.h promises uniforms in the OPEN interval (0,1). The
     * first rng.c mapped 53 random bits k to (k + 0.5) * 2^-53; for k = 2^53 - 1,
     * k + 0.5 is not representable (doubles in [2^52, 2^53) are spaced by 1) and
     * rounds to even, 2^53, so the result was exactly 1.0 (fixed in ad54c11: 52
     * bits, (k + 0.5) * 2^-52 is exact). The all-ones Philox block that hits that
     * k cannot be found by sampling (2^-53), but Philox is a bijection of the
     * counter for a fixed key: each round is invertible (lo(M c) determines c as M
     * is odd), so inverting the 10 rounds from outputs {ffffffff, ffffffff, x, y}
     * and searching x, y until the counter's purpose word was a valid
     * vp_rng_purpose gave the counter below (seed 12345, purpose MASK). The check
     * re-derives the block with Random123 itself, so the test documents why this
     * counter is the extreme case: both the top and the bottom of the 52/53 bits
     * are all ones. */
    const uint64_t seed = 12345;
    const uint64_t index = ((uint64_t)0x15e95504u << 32) | 0x146e6633u;
    vp_rng r = { seed, 0x19cd0d84u, VP_RNG_MASK };
    philox4x32_ctr_t c = {{ (uint32_t)index, (uint32_t)(index >> 32), r.layer, r.purpose }};
    philox4x32_key_t k = {{ (uint32_t)seed, (uint32_t)(seed >> 32) }};
    philox4x32_ctr_t b = philox4x32(c, k);
    cr_assert_eq(b.v[0], 0xffffffffu);
    cr_assert_eq(b.v[1], 0xffffffffu);
    double u[2];
    vp_rng_uniform2(&r, index, 0, u);
    cr_expect(u[0] > 0.0 && u[0] < 1.0, "uniform2 returned %.17g for the all-ones block, not in (0,1)", u[0]);
    cr_expect_gt(u[0], 1.0 - 1e-15, "the all-ones block is the largest uniform");
    cr_expect(u[1] > 0.0 && u[1] < 1.0, "uniform2 second value %.17g", u[1]);
}

/* Standard normal CDF. */
static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* Inverse of Phi by bisection (for bin edges; 1e-15 accuracy is plenty). */
static double Phi_inv(double p)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (Phi(mid) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Upper 6-sigma quantile of chi-square with k degrees of freedom (Wilson-Hilferty:
 * (X/k)^(1/3) ~ N(1 - 2/(9k), 2/(9k))); P(X > q) ~ 1e-9. */
static double chi2_limit(double k)
{
    double s = 2.0 / (9.0 * k), t = 1.0 - s + NSIG * sqrt(s);
    return k * t * t * t;
}

/* The 128-layer ziggurat's tail start (Doornik 2005; Marsaglia & Tsang 2000). */
#define ZIG_R 3.442619855899

Test(rng, normal_moments_and_tails)
{
    /* n = 2^20 normals (exact ziggurat). Moments: mean SE 1/1024 (tol 5.9e-3);
     * variance SE sqrt(2/n) = 1.4e-3 (tol 8.3e-3); kurtosis SE sqrt(24/n) =
     * 4.8e-3 (tol 0.029); sign: P(z > 0) = 1/2, SE 4.9e-4. Shape: chi-square over
     * 64 equiprobable bins (edges Phi^-1(k/64)), 63 dof, limit at 6 sigma
     * (Wilson-Hilferty) = 130: a ziggurat with a wrong layer table or without the
     * wedge test distorts bins by >= 1%, i.e. chi2 >= n/64 * 64 * 1e-4 ~ 100 per
     * percent^2 -- caught. Tails: beyond R = 3.4426 (the ziggurat's own tail
     * sampler) P = 5.76e-4, ~604 expected, SE 24.6 (tol 148); the conditional mean
     * E[|z| | |z| > R] = phi(R)/(1 - Phi(R)) = 3.70 with SE (sd ~ 0.25)/sqrt(604)
     * = 0.01 (tol 0.06); and the maximum of 2^20 exceeds 4 (P(not) = e^-66). */
    const size_t n = (size_t)1 << 20;
    double *z = alloc_doubles(n);
    vp_rng r = vp_rng_make(7, 1, VP_RNG_INPUT);
    vp_rng_normal_fill(&r, 0, z, n);
    double mean, var, m4;
    moments(z, n, &mean, &var, &m4);
    enum { NB = 64 };
    double edge[NB - 1];
    for (int k = 1; k < NB; k++) edge[k - 1] = Phi_inv((double)k / NB);
    size_t bins[NB] = { 0 }, tail = 0, pos = 0;
    double tail_sum = 0, amax = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(z[i]));
        int lo = 0, hi = NB - 1; /* first edge above z */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (z[i] < edge[mid]) hi = mid;
            else lo = mid + 1;
        }
        bins[lo]++;
        double a = fabs(z[i]);
        if (a > ZIG_R) { tail++; tail_sum += a; }
        pos += z[i] > 0;
        amax = fmax(amax, a);
    }
    double dn = (double)n;
    cr_expect_leq(fabs(mean), NSIG / sqrt(dn), "mean %.6f", mean);
    cr_expect_leq(fabs(var - 1.0), NSIG * sqrt(2.0 / dn), "var %.6f", var);
    cr_expect_leq(fabs(m4 / (var * var) - 3.0), NSIG * sqrt(24.0 / dn), "kurtosis %.4f", m4 / (var * var));
    cr_expect_leq(fabs((double)pos / dn - 0.5), NSIG * sqrt(0.25 / dn), "P(z > 0) = %.5f", (double)pos / dn);
    double e = dn / NB, chi2 = 0;
    for (int k = 0; k < NB; k++) chi2 += ((double)bins[k] - e) * ((double)bins[k] - e) / e;
    cr_expect_leq(chi2, chi2_limit(NB - 1), "chi2 over %d equiprobable bins = %.1f (limit %.1f)", NB, chi2,
                  chi2_limit(NB - 1));
    double pt = 2 * (1 - Phi(ZIG_R));
    cr_expect_leq(fabs((double)tail - dn * pt), NSIG * sqrt(dn * pt * (1 - pt)), "tail count %zu, expected %.0f", tail,
                  dn * pt);
    double cm = exp(-0.5 * ZIG_R * ZIG_R) / sqrt(2 * M_PI) / (1 - Phi(ZIG_R));
    cr_expect_leq(fabs(tail_sum / (double)tail - cm), NSIG * 0.25 / sqrt((double)tail), "E[|z| | tail] = %.4f, expected %.4f",
                  tail_sum / (double)tail, cm);
    cr_expect_gt(amax, 4.0);
    free(z);
}

Test(rng, normal_range_at_and_pairs_agree)
{
    /* Element e of the normal stream (r, draw) is the same number whichever entry
     * point produces it: fill, range (odd and even starts), at, pair. */
    enum { N = 301 };
    double all[N], part[N], p[2];
    vp_rng r = vp_rng_make(31, 2, VP_RNG_WEIGHT);
    vp_rng_normal_fill(&r, 5, all, N);
    for (size_t start = 0; start < 6; start++) {
        vp_rng_normal_range(&r, 5, start, N - start, part);
        cr_expect_eq(memcmp(part, all + start, (N - start) * sizeof *part), 0, "range from %zu", start);
    }
    for (size_t e = 0; e < N; e++) {
        cr_expect_eq(vp_rng_normal_at(&r, e, 5), all[e], "at(%zu)", e);
        vp_rng_normal2(&r, e / 2, 5, p);
        cr_expect_eq(p[e % 2], all[e], "pair %zu", e / 2);
    }
}

Test(rng, fill_is_elementwise_and_matches_pairs)
{
    /* out[i] depends only on (r, i, draw): element i is component i%2 of pair i/2,
     * so fills of different lengths agree on their common prefix (odd n too). */
    vp_rng r = vp_rng_make(99, 5, VP_RNG_PROBE);
    double a[9], b[8], p[2];
    vp_rng_normal_fill(&r, 3, a, 9);
    vp_rng_normal_fill(&r, 3, b, 8);
    for (size_t i = 0; i < 9; i++) {
        vp_rng_normal2(&r, i / 2, 3, p);
        cr_expect_eq(a[i], p[i % 2], "normal element %zu", i);
        if (i < 8) cr_expect_eq(a[i], b[i]);
    }
    vp_rng_uniform_fill(&r, 3, a, 9);
    vp_rng_uniform_fill(&r, 3, b, 8);
    for (size_t i = 0; i < 9; i++) {
        vp_rng_uniform2(&r, i / 2, 3, p);
        cr_expect_eq(a[i], p[i % 2], "uniform element %zu", i);
        if (i < 8) cr_expect_eq(a[i], b[i]);
    }
    /* Pure function: calling again gives the same numbers. */
    double c[9];
    vp_rng_uniform_fill(&r, 3, c, 9);
    cr_expect_eq(memcmp(a, c, sizeof a), 0);
}

Test(rng, streams_are_distinct_and_uncorrelated)
{
    /* Streams that differ in exactly one of (seed, layer, purpose, draw) must give
     * different numbers (no shared values at all among 2^18 doubles with 53 random
     * bits) and be uncorrelated: the sample correlation of independent streams has
     * SE 1/sqrt(n) = 2e-3, tolerance 6/sqrt(n) = 0.0117. A field that is ignored
     * in the counter or key gives correlation exactly 1. */
    const size_t n = (size_t)1 << 18;
    double *base = alloc_doubles(n), *other = alloc_doubles(n);
    vp_rng r0 = vp_rng_make(2024, 4, VP_RNG_WEIGHT);
    vp_rng_normal_fill(&r0, 0, base, n);
    struct { vp_rng r; uint32_t draw; const char *what; } var[] = {
        { vp_rng_make(2025, 4, VP_RNG_WEIGHT), 0, "seed + 1" },
        { vp_rng_make(2024 + ((uint64_t)1 << 32), 4, VP_RNG_WEIGHT), 0, "seed high word" },
        { vp_rng_make(2024, 5, VP_RNG_WEIGHT), 0, "layer" },
        { vp_rng_make(2024, 4, VP_RNG_BIAS), 0, "purpose" },
        { vp_rng_make(2024, 4, VP_RNG_WEIGHT), 1, "draw" },
    };
    for (size_t v = 0; v < sizeof var / sizeof var[0]; v++) {
        vp_rng_normal_fill(&var[v].r, var[v].draw, other, n);
        size_t same = 0;
        for (size_t i = 0; i < n; i++) same += base[i] == other[i];
        cr_expect_eq(same, 0, "%s: %zu equal values", var[v].what, same);
        double rho = correlation(base, other, n);
        cr_expect_leq(fabs(rho), NSIG / sqrt((double)n), "%s: correlation %.5f", var[v].what, rho);
    }
    /* Within a stream: lag-1 correlation, and the two elements made from the two
     * halves of one Philox block are independent: same tolerance (n/2 pairs). */
    cr_expect_leq(fabs(correlation(base, base + 1, n - 1)), NSIG / sqrt((double)(n - 1)));
    double *c0 = alloc_doubles(n / 2), *c1 = alloc_doubles(n / 2);
    for (size_t i = 0; i < n / 2; i++) { c0[i] = base[2 * i]; c1[i] = base[2 * i + 1]; }
    cr_expect_leq(fabs(correlation(c0, c1, n / 2)), NSIG / sqrt((double)(n / 2)));
    /* Squares too: the two elements of a block share no bits, so z0^2 and z1^2
     * are independent; a generator that derived both from one radius-like
     * quantity would correlate them. For independent variables the sample
     * correlation has SE 1/sqrt(m) whatever the marginals. */
    for (size_t i = 0; i < n / 2; i++) { c0[i] *= c0[i]; c1[i] *= c1[i]; }
    cr_expect_leq(fabs(correlation(c0, c1, n / 2)), NSIG / sqrt((double)(n / 2)));
    free(c0);
    free(c1);
    free(base);
    free(other);
}

Test(rng, below_in_range_and_unbiased)
{
    vp_rng r = vp_rng_make(5, 0, VP_RNG_MASK);
    /* n = 1: always 0. */
    for (uint64_t i = 0; i < 100; i++) cr_expect_eq(vp_rng_below(&r, i, 0, 1), 0);
    /* Small n: chi-square goodness of fit with N = 10^6 draws in k = n bins. */
    const uint64_t ns[] = { 2, 3, 7, 10, 97 };
    const size_t N = 1000000;
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        uint64_t n = ns[t];
        size_t cnt[97] = { 0 };
        for (size_t i = 0; i < N; i++) {
            uint64_t k = vp_rng_below(&r, i, (uint32_t)t, n);
            cr_assert_lt(k, n);
            cnt[k]++;
        }
        double e = (double)N / (double)n, chi2 = 0;
        for (uint64_t j = 0; j < n; j++) chi2 += ((double)cnt[j] - e) * ((double)cnt[j] - e) / e;
        cr_expect_leq(chi2, chi2_limit((double)(n - 1)), "n = %llu: chi2 = %.2f (limit %.2f)",
                      (unsigned long long)n, chi2, chi2_limit((double)(n - 1)));
    }
    /* Large n = 0xAAAA...AA ~ (2/3) 2^64: a plain k % n (no rejection) would map
     * the 2^64 words so that results below 2^64 - n ~ n/2 are twice as likely:
     * P(result < n/2) = 2/3 instead of 1/2. Rejection also runs here (1/3 of the
     * words are refused), exercising the retry path. N = 10^5: SE of a proportion
     * sqrt(1/4/N) = 1.6e-3, tolerance 9.5e-3 << 1/6. */
    const uint64_t big = UINT64_C(0xAAAAAAAAAAAAAAAA);
    const size_t NB = 100000;
    size_t low = 0, bins[10] = { 0 };
    for (size_t i = 0; i < NB; i++) {
        uint64_t k = vp_rng_below(&r, i, 77, big);
        cr_assert_lt(k, big);
        low += k < big / 2;
        size_t bin = (size_t)((double)k / (double)big * 10.0);
        bins[bin < 10 ? bin : 9]++;
    }
    cr_expect_leq(fabs((double)low / (double)NB - 0.5), NSIG * sqrt(0.25 / (double)NB), "P(k < n/2) = %.4f",
                  (double)low / (double)NB);
    double e = (double)NB / 10.0, chi2 = 0;
    for (int j = 0; j < 10; j++) chi2 += ((double)bins[j] - e) * ((double)bins[j] - e) / e;
    cr_expect_leq(chi2, chi2_limit(9.0), "big n: chi2 over 10 bins = %.2f", chi2);
    /* Pure function of (r, index, draw). */
    cr_expect_eq(vp_rng_below(&r, 123, 4, 1000), vp_rng_below(&r, 123, 4, 1000));
}
