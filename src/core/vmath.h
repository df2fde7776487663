/* vmath: branch-free double-precision exp, expm1, log1p, tanh and erfc that GCC
 * auto-vectorizes, for the fused activation kernels (src/core/act.c).
 *
 * Why: a loop that calls libm's exp/erfc/tanh/... cannot vectorize (one call per
 * element, 10-20 ns). These functions are static inline (always inlined) and
 * contain no calls, no branches and no table look-ups: every case split is a
 * vm_select on values computed for all inputs, and every 2^n is built from
 * integer bit operations. A plain loop over arrays that calls them vectorizes
 * when compiled for SSE4.2, AVX2 or AVX-512 (GCC 12; baseline SSE2 code stays
 * scalar, though still branch-free: see vm_select).
 *
 * Determinism: each function is a fixed sequence of IEEE-754 double operations
 * (+ - * / with round-to-nearest, plus exact bit manipulations). In ISO C mode GCC
 * does not contract a*b+c into an FMA and without -ffast-math it does not
 * reassociate, so a scalar call and every lane of every vector width return the
 * same bits. Do not build with -ffast-math or -ffp-contract=fast.
 *
 * Accuracy, measured against the long-double libm (tests/test_vmath.c states the
 * error analysis behind each bound and checks it on dense grids):
 *   vm_exp    <= 1 ulp     all x
 *   vm_expm1  <= 2 ulp     all x
 *   vm_log1p  <= 1 ulp     u in [0, 1], its documented domain
 *   vm_tanh   <= 2.5 ulp   all x
 *   vm_erfc   <= 3 ulp     all x (glibc's erfc, the same method: 4.3 ulp)
 * An ulp of a subnormal result is 2^-1074.
 * Special values follow C99 Annex F: NaN in -> NaN out, exp(+inf) = +inf,
 * exp(-inf) = 0, overflow gives +inf, results below DBL_MIN are correctly
 * scaled subnormals (gradual underflow), expm1 and tanh keep the sign of -0,
 * erfc(-inf) = 2, erfc(+inf) = 0 (log1p: see its domain).
 * No floating-point exception flags are promised (varprop never reads them).
 *
 * Sources: Cody-Waite argument reduction and the fdlibm split of ln 2 (Sun
 * fdlibm e_exp.c, as in FreeBSD msun and musl); the exp polynomial of SLEEF
 * (shibatch/sleef src/libm/sleefdp.c, xexp; Boost Software License 1.0); log1p,
 * tanh and erfc follow FreeBSD msun s_log1p.c, s_tanh.c and s_erf.c (musl
 * src/math/log1p.c, tanh.c, erf.c) with their coefficients, rewritten without
 * branches. Each function says how.
 */
#ifndef VP_VMATH_H
#define VP_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The functions must be inlined into the loops for those to vectorize. */
#if defined(__GNUC__)
#define VM_INLINE static inline __attribute__((always_inline))
#else
#define VM_INLINE static inline
#endif

/* ---- bit access (memcpy: defined behaviour, and GCC vectorizes it as a no-op) ---- */
VM_INLINE uint64_t vm__bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
VM_INLINE double vm__double(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* c ? a : b for doubles, as a bit mask: (a & m) | (b & ~m), m all ones when c.
 * Why not a plain ternary: C's ?: evaluates only the chosen arm; GCC moves the
 * arithmetic of each arm into its branch, and under the default -ftrapping-math
 * it will not execute floating-point operations speculatively, so it cannot
 * if-convert the loop and leaves it scalar. Here both arms are ordinary values
 * computed before the call and the choice is integer arithmetic. The mask
 * (a double comparison widened to 64 bits) vectorizes with SSE4.2 and later,
 * hence the x86-64-v2, AVX2 and AVX-512 clones in src/core/act.c (GCC 12 cannot
 * widen the mask with plain SSE2, so baseline code stays scalar). With
 * -fno-trapping-math, which changes no result, plain ternaries would
 * if-convert too; the Makefile does not use it. Every select in this file goes
 * through vm_select, even between constants: after a ternary such as
 * x < -746 ? -746 : x, GCC's jump threading specializes the code that follows
 * for the constant and the loop has branches again.
 * Callers must make both arms safe to compute: no arm may divide by zero or
 * overflow for the inputs where the other arm is chosen, unless the result is
 * only thrown away (it is: the mask never mixes bits of the two). */
VM_INLINE double vm_select(int c, double a, double b)
{
    uint64_t m = c ? ~UINT64_C(0) : 0;
    return vm__double((vm__bits(a) & m) | (vm__bits(b) & ~m));
}

/* ---- constants ---- */
/* ln 2 = VM_LN2_HI + VM_LN2_LO (fdlibm e_exp.c, s_expm1.c, s_log1p.c). VM_LN2_HI has
 * 32 significant bits, so n * VM_LN2_HI is exact for |n| < 2^21. */
#define VM_LN2_HI 6.93147180369123816490e-01   /* 0x3fe62e42 fee00000 */
#define VM_LN2_LO 1.90821492927058770002e-10   /* 0x3dea39ef 35793c76 */
#define VM_INV_LN2 1.44269504088896338700e+00  /* 0x3ff71547 652b82fe */
/* Adding 1.5 * 2^52 to |y| < 2^51 rounds y to the nearest integer n (ties to even)
 * and leaves n in the low bits: bits(y + VM_SHIFT) = VM_SHIFT_BITS + n. */
#define VM_SHIFT 0x1.8p52
#define VM_SHIFT_BITS UINT64_C(0x4338000000000000)

/* ---- exp kernel pieces ---- */

/* e^(r + c) - 1 for |r| <= ln2/2 (slightly beyond is fine) and a correction
 * |c| <= ulp(r): r + (r^2 P(r) + c), P the degree-10 minimax polynomial of SLEEF's
 * xexp, coefficients verbatim, evaluated like SLEEF: Estrin's scheme (its POLY10
 * macro) for the upper nine terms, then one Horner step for the constant 1/2.
 * (Estrin rather than Horner: the dependency chain drops from 11 multiply-adds
 * to about 5, and the polynomial alone ran 1.5 times faster here.) On
 * |r| <= 0.3467 the approximation error of r + r^2 P(r) is below 2^-59.9
 * relative (measured in long double with these double coefficients), far under
 * the rounding errors: 0.5 ulp for the final addition plus < 0.3 ulp for
 * r^2 P(r) + c, whose magnitude is at most 0.17 |r|. c carries the rounding
 * error of the reduced argument r, which would otherwise add another 0.5 ulp of
 * r. Plain multiply and add (no FMA). */
VM_INLINE double vm__expm1_poly(double r, double c)
{
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double lo = r2 * (r * 0.00138888888889774492207962 + 0.00833333333331652721664984) +
                (r * 0.0416666666666665047591422 + 0.166666666666666851703837);
    double mid = r2 * (r * 2.75573911234900471893338e-07 + 2.75572362911928827629423e-06) +
                 (r * 2.4801587159235472998791e-05 + 0.000198412698960509205564975);
    double hi = r * 2.08860621107283687536341e-09 + 2.51112930892876518610661e-08;
    double u = r8 * hi + (r4 * mid + lo);
    u = u * r + 0.5;
    return r + (r2 * u + c);
}

/* Cody-Waite reduction x = n ln2 + r + c with n = round(x / ln2), |r| <= ln2/2 +
 * tiny and c the rounding error of r (fdlibm s_expm1.c's "c = (hi - x) - lo").
 * hi = x - n*VM_LN2_HI is exact (the product is exact and, as |x - n ln2| <= ln2/2,
 * Sterbenz's lemma applies); r = hi - lo with lo = n*VM_LN2_LO, and c recovers the
 * rounding of that subtraction (Fast2Sum, |hi| >= |lo| whenever it matters).
 * Returns r; *nb = VM_SHIFT_BITS + n (input of vm__ldexp), *nd = n as a double.
 * Needs |x| < 2^51 ln 2 (callers clamp x first). */
VM_INLINE double vm__reduce(double x, double *nd, uint64_t *nb, double *c)
{
    double kd = x * VM_INV_LN2 + VM_SHIFT;
    *nb = vm__bits(kd);
    *nd = kd - VM_SHIFT;
    double hi = x - *nd * VM_LN2_HI;
    double lo = *nd * VM_LN2_LO;
    double r = hi - lo;
    *c = (hi - r) - lo;
    return r;
}

/* y * 2^n, n = nb - VM_SHIFT_BITS (wrapping), for n in [-2044, 2047] and y within
 * a factor 2 of 1. 2^n is applied as 2^floor(n/2) * 2^ceil(n/2), two normal
 * powers of two built in the exponent field: the first product is exact, so the
 * only rounding is the last one. Hence a result below DBL_MIN is the correctly
 * rounded subnormal of y 2^n (gradual underflow) and one above DBL_MAX is +inf.
 * Only unsigned adds and shifts: they vectorize with SSE2. */
VM_INLINE double vm__ldexp(double y, uint64_t nb)
{
    uint64_t m = nb - VM_SHIFT_BITS + 2048;             /* n + 2048 > 0 */
    uint64_t h = m >> 1;                                /* floor(n/2) + 1024 */
    double lo = vm__double((h - 1) << 52);              /* exponent field floor(n/2) + 1023 */
    double hi = vm__double((m - h - 1) << 52);          /* exponent field ceil(n/2) + 1023 */
    return y * lo * hi;
}

/* ---- exp ---- */

/* e^x = 2^n (1 + expm1(r)) after the Cody-Waite reduction. Error: 1 + p rounds
 * once (0.5 ulp) and p carries < 0.8 ulp of itself, i.e. < 0.4 ulp of 1 + p, so
 * < 1 ulp in all (plus the 0.5 unit of 2^-1074 of gradual underflow). Outside
 * [-746, 710] e^x rounds to 0 or overflows; clamping there keeps n inside
 * vm__ldexp's range without changing the result. NaN fails both comparisons and
 * passes through. */
VM_INLINE double vm_exp(double x)
{
    x = vm_select(x < -746.0, -746.0, x);
    x = vm_select(x > 710.0, 710.0, x);
    double nd, c;
    uint64_t nb;
    double r = vm__reduce(x, &nd, &nb, &c);
    return vm__ldexp(1.0 + vm__expm1_poly(r, c), nb);
}

/* e^(hi + lo) where hi is a multiple of 2^-40 with |hi| < 1024 and |lo| < 1/2:
 * the two-part argument lets vm_erfc pass -x^2 without rounding it. n is taken
 * from hi + lo; r1 = hi - n*VM_LN2_HI is then a multiple of 2^-40 below 1 in
 * magnitude, hence exact; r2 = lo - n*VM_LN2_LO rounds once (< 2^-56 absolute),
 * and the rounding error of r = r1 + r2 is kept in c (Knuth's 2Sum, exact
 * whatever the magnitudes). */
VM_INLINE double vm__exp_hilo(double hi, double lo)
{
    double kd = (hi + lo) * VM_INV_LN2 + VM_SHIFT;
    uint64_t nb = vm__bits(kd);
    double nd = kd - VM_SHIFT;
    double r1 = hi - nd * VM_LN2_HI; /* exact */
    double r2 = lo - nd * VM_LN2_LO;
    double r = r1 + r2;
    double b = r - r1;                /* 2Sum (Knuth): c = exact rounding error of r */
    double c = (r1 - (r - b)) + (r2 - b);
    return vm__ldexp(1.0 + vm__expm1_poly(r, c), nb);
}

/* ---- expm1 ---- */

/* e^x - 1 = 2^n expm1(r) + (2^n - 1) with t = 2^n: t*p is exact and t - 1 is exact
 * for -53 <= n <= 53, so the sum rounds once. n = 0 (|x| < 0.3466) returns p
 * itself (< 0.8 ulp). The worst case is n = 1 with r near -ln2/2, where the sum
 * cancels down to 0.414 from terms of 0.586 and 1: p's error is magnified by
 * 0.586/0.414 = 1.41, giving < 1.41 * 0.8 + 0.5 < 1.7 ulp; for n <= -1 the
 * magnification is below 0.71. For n > 53 the -1 is below half an ulp of e^x and
 * e^x itself is returned (vm_exp's formula: < 1 + 0.5 ulp). For n < -60 the
 * result rounds to -1. The clamping and reduction are vm_exp's, on purpose: when
 * a kernel needs both e^x and e^x - 1 of the same x (ELU's phi and phi'), GCC
 * computes the reduction and the polynomial once. Lanes whose arm is not
 * selected may hold inf or NaN (t for n outside [-1022, 1023]); they are
 * discarded, never combined. */
VM_INLINE double vm_expm1(double x)
{
    double xc = vm_select(x < -746.0, -746.0, x);
    xc = vm_select(xc > 710.0, 710.0, xc);
    double nd, c;
    uint64_t nb;
    double r = vm__reduce(xc, &nd, &nb, &c);
    double p = vm__expm1_poly(r, c);
    double t = vm__double((nb - VM_SHIFT_BITS + 1023) << 52); /* 2^n, valid for -1022 <= n <= 1023 */
    double y = vm_select(nd > 53.0, vm__ldexp(1.0 + p, nb), t * p + (t - 1.0));
    y = vm_select(nd < -60.0, -1.0, y);
    return vm_select(x == 0.0, x, y); /* expm1(-0) = -0 (r = -0 gives p = +0) */
}

/* ---- log1p ---- */

/* log(1 + u) for u in [0, 1] (what softplus needs: u = e^-|x|), FreeBSD msun
 * s_log1p.c as in musl src/math/log1p.c, coefficients Lg1..Lg7 of e_log.c, with
 * its branches turned into selects and the argument reduction specialised to
 * this domain, where 1 + u = 2^k (1 + f) has k = 0 or 1:
 *   u < 0.4142 (musl's threshold, just below sqrt(2) - 1): k = 0, f = u exactly;
 *   otherwise k = 1, v = fl(1 + u), f = v/2 - 1 (exact: v/2 is in [0.707, 1]),
 *   and the rounding error of v, c = u - (v - 1) (exact), enters as c/v.
 *   Then log(1 + f) = f - hfsq + s (hfsq + R(s^2)) with s = f/(2 + f),
 *   hfsq = f^2/2, R the Remez polynomial of e_log.c (|error| < 2^-58.45), and
 *   log1p(u) = k ln2_hi + (f - hfsq + s (hfsq + R) + (k ln2_lo + c)).
 * fdlibm's error analysis gives < 1 ulp. NaN gives NaN; outside [0, 1] (and for
 * -0, which gives +0) the result is not specified. */
#define VM_LG1 6.666666666666735130e-01 /* 3FE55555 55555593 */
#define VM_LG2 3.999999999940941908e-01 /* 3FD99999 9997FA04 */
#define VM_LG3 2.857142874366239149e-01 /* 3FD24924 94229359 */
#define VM_LG4 2.222219843214978396e-01 /* 3FCC71C5 1D8E78AF */
#define VM_LG5 1.818357216161805012e-01 /* 3FC74664 96CB03DE */
#define VM_LG6 1.531383769920937332e-01 /* 3FC39A09 D078C69F */
#define VM_LG7 1.479819860511658591e-01 /* 3FC2F112 DF3E5244 */
VM_INLINE double vm_log1p(double u)
{
    int k1 = u >= 0x1.a827ap-2; /* musl: high word of u >= 0x3fda827a */
    double v = 1.0 + u;
    double f = vm_select(k1, 0.5 * v - 1.0, u);
    double c = vm_select(k1, (u - (v - 1.0)) / v, 0.0);
    double dk = vm_select(k1, 1.0, 0.0);
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double t1 = w * (VM_LG2 + w * (VM_LG4 + w * VM_LG6));
    double t2 = z * (VM_LG1 + w * (VM_LG3 + w * (VM_LG5 + w * VM_LG7)));
    double R = t2 + t1;
    return s * (hfsq + R) + (dk * VM_LN2_LO + c) - hfsq + f + dk * VM_LN2_HI;
}

/* ---- tanh ---- */

/* tanh of a = |x| from y = -2a <= 0, the sign restored at the end, following
 * FreeBSD msun s_tanh.c (musl src/math/tanh.c) without its branches:
 *   a < log(3)/2 ~ 0.5493:  t = expm1(-2a), tanh a = -t / (t + 2)   (s_tanh.c)
 *   otherwise:             tanh a = 1 - 2/(expm1(2a) + 2), written with
 *                          e = e^-2a as 1 - 2e / (1 + e)       (same number)
 * (0.5493 is musl's switch to the second form.) Both forms need only e^y - 1
 * and e^y of one y in [-40, 0], so they share one reduction and polynomial:
 * with y = n ln2 + r, e^y - 1 = 2^n p + (2^n - 1) and e^y = 2^n (1 + p), where
 * 2^n (n in [-58, 0]) is one exponent-field write: no overflow or subnormal is
 * possible here. For a > 20, tanh a rounds to 1; y is clamped to -40 there.
 * Error: in the first form t's relative error (< 1 ulp: n <= 0, no cancellation
 * beyond a factor 0.71, see vm_expm1) is magnified by 2/(t + 2) <= 1.5 and the
 * sum and quotient add 0.5 ulp each; with the binade changes between t, t + 2
 * and the result the bound is 2.5 ulp, reached near a = 0.22 (musl: "up to
 * 2ulp error in [0.1,0.2554]"). In the second form q = 2e/(1 + e) <= 1/2 has
 * < 1.5 ulp of itself, a quarter to a half ulp of 1 - q: < 1.3 ulp. NaN passes
 * (every comparison is false). */
VM_INLINE double vm_tanh(double x)
{
    double a = fabs(x);
    double y = vm_select(a > 20.0, -40.0, -2.0 * a);
    double nd, c;
    uint64_t nb;
    double r = vm__reduce(y, &nd, &nb, &c);
    double p = vm__expm1_poly(r, c);
    double s = vm__double((nb - VM_SHIFT_BITS + 1023) << 52); /* 2^n */
    double t = s * p + (s - 1.0);                             /* e^y - 1 */
    double e = s * (1.0 + p);                                 /* e^y */
    int top = a >= 0x1.193ebp-1; /* musl: high word of a > 0x3fe193ea */
    double q = vm_select(top, 2.0 * e, -t) / vm_select(top, 1.0 + e, t + 2.0);
    return copysign(vm_select(top, 1.0 - q, q), x);
}

/* ---- erfc ---- */

/* FreeBSD msun s_erf.c (musl src/math/erf.c), erfc part, coefficients verbatim.
 * Its five cases by a = |x|:
 *   I1 a < 0.84375:   erfc = 1 - (x + x P/Q), P, Q in z = x^2  (x >= 1/4:
 *                     0.5 - (x P/Q + (x - 0.5)) for accuracy)
 *   I2 a < 1.25:      s = a - 1, erfc = (1 - erx) - P/Q (x > 0), 1 + (erx + P/Q)
 *   I3 a < 1/0.35,    erfc(a) = exp(-a^2 - 0.5625 + R/S) / a, R, S in 1/a^2,
 *   I4 a < 28:        erfc(-a) = 2 - erfc(a)
 *   a >= 28:          0 or 2 (I3/I4's formula underflows to 0 there anyway)
 * Branch-free form: the four rational functions are evaluated for every element,
 * side by side, and one division serves the interval the element is in. (Sharing
 * one evaluation per pair of intervals, with the coefficients selected per element
 * and zero-padded, gives the same bits but was measured slower with AVX2 and
 * AVX-512: a select per coefficient costs about what the second Horner chain does.)
 * I3/I4's R/S is evaluated in w = a^2 instead of 1/a^2:
 * with deg S = deg R + 1 in both intervals, R(1/w)/S(1/w) = w R~(w) / S~(w),
 * where R~ and S~ have the coefficients in reverse order -- the same rational
 * function, one division fewer. The I3/I4 lanes run on a clamped to [1.25, 28]
 * (NaN passes) so that nothing overflows in lanes that end up discarded.
 * -a^2 is split as in s_erf.c: z = a with the low 32 bits cleared, z*z is exact,
 * -a^2 = -z*z + (z - a)(z + a), and one vm__exp_hilo takes -z*z - 0.5625 (exact)
 * and the small rest, where musl multiplies two exp() calls.
 * Error (I1, I2 < 1 ulp in fdlibm; here the same operations): I2 near a = 1.25
 * cancels (0.155 - 0.078) and doubles P/Q's error: < 2 ulp. I3/I4: R/S within
 * 2^-61.5, its evaluation error (< 2 ulp of |R/S| <= 0.22) and r's rounding add
 * < 0.6 ulp to vm_exp's < 1 ulp, and the division 0.5 ulp: < 2.2 ulp. */
VM_INLINE double vm_erfc(double x)
{
    /* s_erf.c's constants, under its names */
    const double erx = 8.45062911510467529297e-01; /* 0x3FEB0AC1 60000000 */
    /* I1: erf on [0, 0.84375] */
    const double pp0 = 1.28379167095512558561e-01, pp1 = -3.25042107247001499370e-01,
                 pp2 = -2.84817495755985104766e-02, pp3 = -5.77027029648944159157e-03,
                 pp4 = -2.37630166566501626084e-05, qq1 = 3.97917223959155352819e-01,
                 qq2 = 6.50222499887672944485e-02, qq3 = 5.08130628187576562776e-03,
                 qq4 = 1.32494738004321644526e-04, qq5 = -3.96022827877536812320e-06;
    /* I2: erf on [0.84375, 1.25] */
    const double pa0 = -2.36211856075265944077e-03, pa1 = 4.14856118683748331666e-01,
                 pa2 = -3.72207876035701323847e-01, pa3 = 3.18346619901161753674e-01,
                 pa4 = -1.10894694282396677476e-01, pa5 = 3.54783043256182359371e-02,
                 pa6 = -2.16637559486879084300e-03, qa1 = 1.06420880400844228286e-01,
                 qa2 = 5.40397917702171048937e-01, qa3 = 7.18286544141962662868e-02,
                 qa4 = 1.26171219808761642112e-01, qa5 = 1.36370839120290507362e-02,
                 qa6 = 1.19844998467991074170e-02;
    /* I3: erfc on [1.25, 1/0.35] */
    const double ra0 = -9.86494403484714822705e-03, ra1 = -6.93858572707181764372e-01,
                 ra2 = -1.05586262253232909814e+01, ra3 = -6.23753324503260060396e+01,
                 ra4 = -1.62396669462573470355e+02, ra5 = -1.84605092906711035994e+02,
                 ra6 = -8.12874355063065934246e+01, ra7 = -9.81432934416914548592e+00,
                 sa1 = 1.96512716674392571292e+01, sa2 = 1.37657754143519042600e+02,
                 sa3 = 4.34565877475229228821e+02, sa4 = 6.45387271733267880336e+02,
                 sa5 = 4.29008140027567833386e+02, sa6 = 1.08635005541779435134e+02,
                 sa7 = 6.57024977031928170135e+00, sa8 = -6.04244152148580987438e-02;
    /* I4: erfc on [1/0.35, 28] */
    const double rb0 = -9.86494292470009928597e-03, rb1 = -7.99283237680523006574e-01,
                 rb2 = -1.77579549177547519889e+01, rb3 = -1.60636384855821916062e+02,
                 rb4 = -6.37566443368389627722e+02, rb5 = -1.02509513161107724954e+03,
                 rb6 = -4.83519191608651397019e+02, sb1 = 3.03380607434824582924e+01,
                 sb2 = 3.25792512996573918826e+02, sb3 = 1.53672958608443695994e+03,
                 sb4 = 3.19985821950859553908e+03, sb5 = 2.55305040643316442583e+03,
                 sb6 = 4.74528541206955367215e+02, sb7 = -2.24409524465858183362e+01;

    double a = fabs(x);
    int in1 = a < 0.84375;
    int near = a < 1.25;        /* I1 or I2 */
    int in3 = a < 0x1.6db6dp+1; /* a < 1/0.35: s_erf.c's high-word test 0x4006DB6D */

    /* I1: P/Q in z = x^2, I2: P/Q in s = a - 1, Horner as in s_erf.c */
    double z1 = x * x;
    double P1 = pp0 + z1 * (pp1 + z1 * (pp2 + z1 * (pp3 + z1 * pp4)));
    double Q1 = 1.0 + z1 * (qq1 + z1 * (qq2 + z1 * (qq3 + z1 * (qq4 + z1 * qq5))));
    double s2 = a - 1.0;
    double P2 = pa0 + s2 * (pa1 + s2 * (pa2 + s2 * (pa3 + s2 * (pa4 + s2 * (pa5 + s2 * pa6)))));
    double Q2 = 1.0 + s2 * (qa1 + s2 * (qa2 + s2 * (qa3 + s2 * (qa4 + s2 * (qa5 + s2 * qa6)))));

    /* I3/I4: R/S in 1/w, w = a^2, computed as w R~(w) / S~(w) with the
     * coefficients in reverse order (no division for 1/w), Horner; a clamped to
     * [1.25, 28] so that w stays finite and positive in every lane (NaN passes). */
    double aL = vm_select(a < 1.25, 1.25, a);
    aL = vm_select(aL > 28.0, 28.0, aL);
    double w = aL * aL;
    double R3 = ra7 + w * (ra6 + w * (ra5 + w * (ra4 + w * (ra3 + w * (ra2 + w * (ra1 + w * ra0))))));
    double S3 = sa8 + w * (sa7 + w * (sa6 + w * (sa5 + w * (sa4 + w * (sa3 + w * (sa2 + w * (sa1 + w)))))));
    double R4 = rb6 + w * (rb5 + w * (rb4 + w * (rb3 + w * (rb2 + w * (rb1 + w * rb0)))));
    double S4 = sb7 + w * (sb6 + w * (sb5 + w * (sb4 + w * (sb3 + w * (sb2 + w * (sb1 + w))))));

    /* The four evaluations are independent (and run side by side); one division
     * serves the interval the element is in. */
    double num = vm_select(in1, P1, vm_select(near, P2, w * vm_select(in3, R3, R4)));
    double den = vm_select(in1, Q1, vm_select(near, Q2, vm_select(in3, S3, S4)));
    double q = num / den;

    /* I1 (three forms, the last two avoid rounding in a binade above the result),
     * I2, and I3/I4: exp(-z^2 - 0.5625 + (z - a)(z + a) + R/S) / a */
    double e1 = vm_select(x < 0.25, 1.0 - (x + x * q), 0.5 - (x * q + (x - 0.5)));
    e1 = vm_select(x < 0.5, e1, (1.0 - x) - x * q);
    double e2 = vm_select(x > 0.0, (1.0 - erx) - q, 1.0 + (erx + q));
    double z = vm__double(vm__bits(aL) & UINT64_C(0xffffffff00000000));
    double r = vm__exp_hilo(-z * z - 0.5625, (z - aL) * (z + aL) + q) / aL;
    double eL = vm_select(x > 0.0, r, 2.0 - r);
    return vm_select(in1, e1, vm_select(near, e2, eL));
}

#endif
