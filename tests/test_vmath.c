/* Tests of src/core/vmath.h: every vm_ function against the x87 long-double libm
 * (expl, expm1l, log1pl, tanhl, erfcl). Those carry 64-bit significands and are
 * accurate to a few units of 2^-64, i.e. below 0.002 ulp of a double, so the
 * measured error is the vm_ function's own.
 *
 * Error unit: ulp of the exact result, 2^(e-53) for a result in [2^(e-1), 2^e),
 * and 2^-1074 for a subnormal result. A result whose correctly rounded double
 * is +-inf must be exactly +-inf.
 *
 * The bounds are the ones vmath.h derives for each function:
 *   vm_exp    1 ulp:   1 + p rounds once (0.5) and p carries < 0.8 ulp of
 *                      itself, < 0.4 ulp of 1 + p; scaling by 2^n is exact, or
 *                      one more rounding to a subnormal (0.5 unit of 2^-1074).
 *   vm_expm1  2 ulp:   n = 0: p (< 0.8 ulp); n = 1, r near -ln2/2: p's error
 *                      magnified by 1.41 plus the final rounding (< 1.7 ulp);
 *                      n > 53: vm_exp plus the dropped -1 (< 1.5 ulp).
 *   vm_log1p  1 ulp:   fdlibm s_log1p.c's analysis (< 1 ulp) on [0, 1].
 *   vm_tanh   2.5 ulp: below 0.5493, expm1's error (< 1 ulp) magnified by
 *                      2/(t + 2) <= 1.5 plus two roundings and the change of
 *                      binade between t, t + 2 and the result (musl: "up to
 *                      2ulp error in [0.1,0.2554]"); above, < 1.3 ulp.
 *   vm_erfc   3 ulp:   fdlibm s_erf.c's intervals; each result is a rounded sum
 *                      or quotient (0.5-1 ulp) whose inputs carry the rational
 *                      function's evaluation error. Near x = 0.84 (I1) and 1.25
 *                      (I2) erfc is a difference that magnifies that error ~3
 *                      times; in I3/I4 the absolute error of R/S (|R/S| <= 0.22,
 *                      a few units of 2^-53 relative) becomes a relative error of
 *                      erfc, on top of exp (1 ulp) and the division (0.5 ulp).
 *                      On 10^8 random points the worst seen is 2.8 ulp (I3);
 *                      glibc's own erfc, the same method with its own exp,
 *                      reaches 4.3 ulp on the same grids.
 * A wrong coefficient, a lost correction term or a broken reduction costs
 * hundreds of ulps or more, far beyond these bounds. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/vmath.h"

#define EXP_BOUND 1.0
#define EXPM1_BOUND 2.0
#define LOG1P_BOUND 1.0
#define TANH_BOUND 2.5
#define ERFC_BOUND 3.0

/* Addressable wrappers (the vm_ functions are always_inline). */
static double f_exp(double x) { return vm_exp(x); }
static double f_expm1(double x) { return vm_expm1(x); }
static double f_log1p(double x) { return vm_log1p(x); }
static double f_tanh(double x) { return vm_tanh(x); }
static double f_erfc(double x) { return vm_erfc(x); }

typedef double (*vm_fn)(double);
typedef long double (*ref_fn)(long double);

static double ulp_of(long double ref)
{
    long double a = fabsl(ref);
    if (a < (long double)DBL_MIN) return 0x1p-1074;
    int e;
    frexpl(a, &e); /* a = m 2^e, m in [0.5, 1) */
    return ldexp(1.0, e - 53);
}

/* Error of got in ulps of ref; infinite when got is wrong about overflow or NaN. */
static double ulp_err(double got, long double ref)
{
    if (isnan(ref)) return isnan(got) ? 0.0 : INFINITY;
    double rounded = (double)ref;
    if (isinf(rounded)) return got == rounded ? 0.0 : INFINITY;
    if (!isfinite(got)) return INFINITY;
    return (double)(fabsl((long double)got - ref) / ulp_of(ref));
}

/* Worst error seen so far and where. */
typedef struct {
    double err, x;
} worst;

static void check(worst *w, vm_fn f, ref_fn r, double x)
{
    double e = ulp_err(f(x), r((long double)x));
    if (!(e <= w->err)) { /* also catches NaN */
        w->err = isnan(e) ? INFINITY : e;
        w->x = x;
    }
}

/* Uniform grid of n + 1 points on [lo, hi] plus n random points (fixed LCG) in
 * it, so that the check is not tied to grid-aligned arguments. */
static worst scan(vm_fn f, ref_fn r, double lo, double hi, long n, uint64_t seed)
{
    worst w = { 0, lo };
    for (long i = 0; i <= n; i++) check(&w, f, r, lo + (hi - lo) * ((double)i / (double)n));
    uint64_t s = seed;
    for (long i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        check(&w, f, r, lo + (hi - lo) * ((double)(s >> 11) * 0x1p-53));
    }
    return w;
}

#define EXPECT_SCAN(name, f, r, lo, hi, n, bound)                                                      \
    do {                                                                                               \
        worst w_ = scan(f, r, lo, hi, n, 0x9e3779b97f4a7c15ULL ^ (uint64_t)(n));                     \
        cr_expect_leq(w_.err, bound, "%s on [%g, %g]: %.3f ulp at x = %.17g (bound %.1f)", name,      \
                      (double)(lo), (double)(hi), w_.err, w_.x, (double)(bound));                      \
    } while (0)

/* +-x, x = m 2^k for every binade k in [kmin, kmax] and a few significands:
 * tiny, subnormal and huge arguments in one sweep. */
static worst binades(vm_fn f, ref_fn r, int kmin, int kmax, int both_signs)
{
    worst w = { 0, 0 };
    const double m[] = { 1.0, 1.0000000000000002, 1.2345678901234567, 1.5, 1.9999999999999998 };
    for (int k = kmin; k <= kmax; k++)
        for (size_t j = 0; j < sizeof m / sizeof m[0]; j++) {
            double x = ldexp(m[j], k);
            check(&w, f, r, x);
            if (both_signs) check(&w, f, r, -x);
        }
    return w;
}

/* Worst error at the Cody-Waite reduction boundaries x = (k + 1/2) ln 2, k0 <= k <= k1,
 * where n = round(x / ln 2) changes, and at their neighbouring doubles. */
static worst reduction_seams(vm_fn f, ref_fn r, int k0, int k1)
{
    worst w = { 0, 0 };
    for (int k = k0; k <= k1; k++) {
        double x = (k + 0.5) * M_LN2;
        check(&w, f, r, nextafter(x, -INFINITY));
        check(&w, f, r, x);
        check(&w, f, r, nextafter(x, INFINITY));
    }
    return w;
}

/* ---- exp ---- */

Test(vmath_exp, accurate_on_its_whole_range)
{
    EXPECT_SCAN("exp", f_exp, expl, -2.0, 2.0, 400000, EXP_BOUND);
    EXPECT_SCAN("exp", f_exp, expl, -708.0, 709.0, 400000, EXP_BOUND);
    EXPECT_SCAN("exp (overflow edge)", f_exp, expl, 709.0, 710.0, 100000, EXP_BOUND);
    EXPECT_SCAN("exp (subnormal results)", f_exp, expl, -745.2, -708.0, 200000, EXP_BOUND);
    worst w = binades(f_exp, expl, -1074, 9, 1);
    cr_expect_leq(w.err, EXP_BOUND, "exp(+-m 2^k): %.3f ulp at %.17g", w.err, w.x);
    /* every reduction boundary x = (k + 1/2) ln 2 and its neighbours */
    w = reduction_seams(f_exp, expl, -1076, 1024);
    cr_expect_leq(w.err, EXP_BOUND, "exp at (k + 1/2) ln 2: %.3f ulp at %.17g", w.err, w.x);
}

Test(vmath_exp, special_values)
{
    cr_expect_eq(vm_exp(0.0), 1.0);
    cr_expect_eq(vm_exp(-0.0), 1.0);
    cr_expect_eq(vm_exp(INFINITY), INFINITY);
    cr_expect(vm_exp(-INFINITY) == 0.0 && !signbit(vm_exp(-INFINITY)), "exp(-inf) = +0");
    cr_expect(isnan(vm_exp(NAN)), "exp(NaN) is NaN");
    cr_expect(isnan(vm_exp(-NAN)), "exp(-NaN) is NaN");
    cr_expect_eq(vm_exp(1e300), INFINITY);
    cr_expect_eq(vm_exp(-1e300), 0.0);
    cr_expect_eq(vm_exp(709.79), INFINITY, "e^709.79 > DBL_MAX");
    cr_expect(isfinite(vm_exp(709.78)) && vm_exp(709.78) > 1.79e308, "e^709.78 is finite");
    cr_expect_eq(vm_exp(-745.14), 0.0, "below 2^-1075 rounds to 0");
    cr_expect_eq(vm_exp(-745.13), 0x1p-1074, "just above 2^-1075 rounds to the least subnormal");
    cr_expect_eq(vm_exp(-708.5), (double)expl(-708.5L), "first subnormal results are rounded once");
    cr_expect_leq(ulp_err(vm_exp(1.0), expl(1.0L)), EXP_BOUND);
}

/* ---- expm1 ---- */

Test(vmath_expm1, accurate_on_its_whole_range)
{
    EXPECT_SCAN("expm1", f_expm1, expm1l, -1.5, 1.5, 400000, EXPM1_BOUND);
    EXPECT_SCAN("expm1", f_expm1, expm1l, -40.0, 40.0, 200000, EXPM1_BOUND);
    EXPECT_SCAN("expm1", f_expm1, expm1l, -746.0, 709.0, 200000, EXPM1_BOUND);
    EXPECT_SCAN("expm1 (overflow edge)", f_expm1, expm1l, 709.0, 710.0, 50000, EXPM1_BOUND);
    worst w = binades(f_expm1, expm1l, -1074, 9, 1);
    cr_expect_leq(w.err, EXPM1_BOUND, "expm1(+-m 2^k): %.3f ulp at %.17g", w.err, w.x);
    w = reduction_seams(f_expm1, expm1l, -60, 1024);
    cr_expect_leq(w.err, EXPM1_BOUND, "expm1 at (k + 1/2) ln 2: %.3f ulp at %.17g", w.err, w.x);
}

Test(vmath_expm1, special_values)
{
    cr_expect(vm_expm1(0.0) == 0.0 && !signbit(vm_expm1(0.0)), "expm1(+0) = +0");
    cr_expect(vm_expm1(-0.0) == 0.0 && signbit(vm_expm1(-0.0)), "expm1(-0) = -0");
    cr_expect_eq(vm_expm1(0x1p-1074), 0x1p-1074, "subnormal in, same out");
    cr_expect_eq(vm_expm1(-0x1p-1074), -0x1p-1074);
    cr_expect_eq(vm_expm1(1e-20), 1e-20);
    cr_expect_eq(vm_expm1(INFINITY), INFINITY);
    cr_expect_eq(vm_expm1(-INFINITY), -1.0);
    cr_expect(isnan(vm_expm1(NAN)), "expm1(NaN) is NaN");
    cr_expect_eq(vm_expm1(-40.0), -1.0);
    cr_expect_eq(vm_expm1(-1e300), -1.0);
    cr_expect_eq(vm_expm1(1e300), INFINITY);
    cr_expect_eq(vm_expm1(709.79), INFINITY);
    cr_expect(isfinite(vm_expm1(709.78)), "expm1(709.78) is finite");
}

/* ---- log1p (domain [0, 1]) ---- */

Test(vmath_log1p, accurate_on_its_domain)
{
    EXPECT_SCAN("log1p", f_log1p, log1pl, 0.0, 1.0, 1000000, LOG1P_BOUND);
    EXPECT_SCAN("log1p (k = 0 / 1 switch)", f_log1p, log1pl, 0.40, 0.43, 200000, LOG1P_BOUND);
    worst w = binades(f_log1p, log1pl, -1074, -1, 0);
    cr_expect_leq(w.err, LOG1P_BOUND, "log1p(m 2^k): %.3f ulp at %.17g", w.err, w.x);
    /* softplus's use: u = e^-|x| */
    w = (worst){ 0, 0 };
    for (double x = 0; x < 745; x += 0.01) check(&w, f_log1p, log1pl, exp(-x));
    cr_expect_leq(w.err, LOG1P_BOUND, "log1p(e^-x): %.3f ulp at u = %.17g", w.err, w.x);
}

Test(vmath_log1p, special_values)
{
    cr_expect(vm_log1p(0.0) == 0.0 && !signbit(vm_log1p(0.0)), "log1p(0) = +0");
    cr_expect_eq(vm_log1p(0x1p-1074), 0x1p-1074);
    cr_expect_eq(vm_log1p(DBL_MIN), DBL_MIN);
    cr_expect_eq(vm_log1p(1e-20), 1e-20);
    cr_expect_eq(vm_log1p(1.0), M_LN2);
    cr_expect(isnan(vm_log1p(NAN)), "log1p(NaN) is NaN");
}

/* ---- tanh ---- */

Test(vmath_tanh, accurate_on_its_whole_range)
{
    EXPECT_SCAN("tanh", f_tanh, tanhl, -1.0, 1.0, 400000, TANH_BOUND);
    EXPECT_SCAN("tanh", f_tanh, tanhl, -25.0, 25.0, 400000, TANH_BOUND);
    EXPECT_SCAN("tanh", f_tanh, tanhl, -400.0, 400.0, 50000, TANH_BOUND);
    worst w = binades(f_tanh, tanhl, -1074, 1023, 1);
    cr_expect_leq(w.err, TANH_BOUND, "tanh(+-m 2^k): %.3f ulp at %.17g", w.err, w.x);
    /* the switch between the two forms and the clamp at 20, both sides */
    const double edges[] = { 0x1.193ebp-1, 20.0 };
    w = (worst){ 0, 0 };
    for (size_t i = 0; i < 2; i++) {
        double x = edges[i];
        for (int k = 0; k < 64; k++) x = nextafter(x, 0.0);
        for (int k = 0; k < 128; k++, x = nextafter(x, INFINITY)) {
            check(&w, f_tanh, tanhl, x);
            check(&w, f_tanh, tanhl, -x);
        }
    }
    cr_expect_leq(w.err, TANH_BOUND, "tanh at its interval edges: %.3f ulp at %.17g", w.err, w.x);
}

Test(vmath_tanh, special_values_and_symmetry)
{
    cr_expect(vm_tanh(0.0) == 0.0 && !signbit(vm_tanh(0.0)), "tanh(+0) = +0");
    cr_expect(vm_tanh(-0.0) == 0.0 && signbit(vm_tanh(-0.0)), "tanh(-0) = -0");
    cr_expect_eq(vm_tanh(0x1p-1074), 0x1p-1074);
    cr_expect_eq(vm_tanh(-0x1p-1074), -0x1p-1074);
    cr_expect_eq(vm_tanh(1e-30), 1e-30);
    cr_expect_eq(vm_tanh(INFINITY), 1.0);
    cr_expect_eq(vm_tanh(-INFINITY), -1.0);
    cr_expect_eq(vm_tanh(20.0), 1.0, "1 - 8.5e-18 rounds to 1");
    cr_expect_eq(vm_tanh(1e300), 1.0);
    cr_expect_eq(vm_tanh(-1e300), -1.0);
    cr_expect(isnan(vm_tanh(NAN)), "tanh(NaN) is NaN");
    /* odd: the sign is applied last, so tanh(-x) = -tanh(x) bit for bit */
    for (double x = 1e-3; x < 30; x *= 1.0137) cr_expect_eq(vm_tanh(-x), -vm_tanh(x), "x = %g", x);
}

/* ---- erfc ---- */

Test(vmath_erfc, accurate_on_each_interval)
{
    EXPECT_SCAN("erfc I1", f_erfc, erfcl, -0.84375, 0.84375, 300000, ERFC_BOUND);
    EXPECT_SCAN("erfc I2", f_erfc, erfcl, 0.84375, 1.25, 300000, ERFC_BOUND);
    EXPECT_SCAN("erfc I2 (x < 0)", f_erfc, erfcl, -1.25, -0.84375, 100000, ERFC_BOUND);
    EXPECT_SCAN("erfc I3", f_erfc, erfcl, 1.25, 0x1.6db6dp+1, 300000, ERFC_BOUND);
    EXPECT_SCAN("erfc I4", f_erfc, erfcl, 0x1.6db6dp+1, 26.5, 300000, ERFC_BOUND);
    EXPECT_SCAN("erfc (x < -1.25)", f_erfc, erfcl, -7.0, -1.25, 100000, ERFC_BOUND);
    EXPECT_SCAN("erfc (subnormal results)", f_erfc, erfcl, 26.5, 27.5, 50000, ERFC_BOUND);
    worst w = binades(f_erfc, erfcl, -1074, 4, 1);
    cr_expect_leq(w.err, ERFC_BOUND, "erfc(+-m 2^k): %.3f ulp at %.17g", w.err, w.x);
}

Test(vmath_erfc, interval_edges)
{
    /* s_erf.c's interval switches and the sub-cases of I1, each side, both signs */
    const double edges[] = { 0.25, 0.5, 0.84375, 1.25, 0x1.6db6dp+1, 6.0, 28.0 };
    worst w = { 0, 0 };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        double x = edges[i];
        for (int k = 0; k < 64; k++) x = nextafter(x, 0.0);
        for (int k = 0; k < 128; k++, x = nextafter(x, INFINITY)) {
            check(&w, f_erfc, erfcl, x);
            check(&w, f_erfc, erfcl, -x);
        }
    }
    cr_expect_leq(w.err, ERFC_BOUND, "erfc at its interval edges: %.3f ulp at %.17g", w.err, w.x);
}

Test(vmath_erfc, special_values)
{
    cr_expect_eq(vm_erfc(0.0), 1.0);
    cr_expect_eq(vm_erfc(-0.0), 1.0);
    cr_expect_eq(vm_erfc(0x1p-1074), 1.0);
    cr_expect_eq(vm_erfc(INFINITY), 0.0);
    cr_expect_eq(vm_erfc(-INFINITY), 2.0);
    cr_expect(isnan(vm_erfc(NAN)), "erfc(NaN) is NaN");
    cr_expect_eq(vm_erfc(-6.0), 2.0, "2 - 2e-17 rounds to 2");
    cr_expect_eq(vm_erfc(-1e300), 2.0);
    cr_expect_eq(vm_erfc(27.5), 0.0, "erfc(27.5) < 2^-1075");
    cr_expect_eq(vm_erfc(1e300), 0.0);
    cr_expect(vm_erfc(26.6) > 0.0 && vm_erfc(26.6) < DBL_MIN, "erfc(26.6) is a subnormal");
    /* erfc(x) + erfc(-x) = 2 up to the rounding of the two results */
    for (double x = 0.01; x < 6; x += 0.0173)
        cr_expect_leq(fabs(vm_erfc(x) + vm_erfc(-x) - 2.0), 4 * DBL_EPSILON, "x = %g", x);
}
