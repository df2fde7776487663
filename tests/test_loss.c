/* Tests of the training losses (src/core/loss.c).
 *
 * Gradients against central finite differences in float64. The central difference
 * (L(z + h e) - L(z - h e)) / 2h differs from dL/dz by
 *   truncation  <= h^2/6 max|d^3 L/dz^3|    and    rounding <= dL_abs / h,
 * dL_abs the absolute rounding error of one loss evaluation. For the
 * cross-entropy, d^3/dz_j^3 of a row's log-sum-exp is p(1-p)(1-2p), at most
 * 1/(6 sqrt 3) < 0.1, and the batch mean divides it by B; a loss evaluation adds
 * B rows of magnitude |lse| + |z_y| with a few roundings each, so
 * dL_abs <= 8 eps S, S = (1/B) sum_i (|lse_i| + |z_iy|) + |L|. With h = 1e-5 (near
 * the optimum eps^(1/3)) the bound is ~1e-10 against gradients of order 1/B.
 * MSE is quadratic: the truncation term is 0 (the third derivative vanishes), so a
 * larger h = 1e-2 leaves only rounding, dL_abs <= 8 eps (|L| + max r^2).
 *
 * Known values: uniform logits give ln C whatever their size and the labels; two
 * classes give softplus(z_other - z_label); a 1000-wide gap gives 1000, not Inf.
 * Float32 logits: the loss is the float64 loss of the widened logits (same bits:
 * the arithmetic is double in both), the gradient its float rounding. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loss.h"

#define B 6
#define C 7

/* Deterministic, uneven logits of both signs, up to |z| ~ 6. */
static void fill_logits(double *z, size_t n, double amp)
{
    for (size_t i = 0; i < n; i++) z[i] = amp * sin(1.7 * (double)i + 0.3) + 0.5 * cos(0.37 * (double)(i * i));
}

static const int32_t LABELS[B] = { 0, 6, 3, 3, 1, 5 };

/* f = (float)x, then x = (double)f. Not inlined and not specialised to the constant
 * count: GCC 12.2 at -O2 -fvect-cost-model=dynamic (the Makefile's flags) folds
 * this round trip to the identity for the 2-element remainder of a 42-element
 * loop with a compile-time count (wrong code: x[40], x[41] stay unrounded). */
static __attribute__((noipa)) void round_to_float(double *x, float *f, size_t n)
{
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    for (size_t i = 0; i < n; i++) x[i] = f[i];
}

Test(loss_registry, names)
{
    cr_assert_eq(vp_loss_find("cross_entropy"), VP_LOSS_CROSS_ENTROPY);
    cr_assert_eq(vp_loss_find("ce"), VP_LOSS_CROSS_ENTROPY);
    cr_assert_eq(vp_loss_find("mse"), VP_LOSS_MSE);
    cr_assert_eq(vp_loss_find("hinge"), VP_LOSS_COUNT);
    char buf[64];
    vp_loss_names(buf, sizeof buf);
    cr_assert_str_eq(buf, "cross_entropy mse");
    cr_assert_eq(vp_loss_get(VP_LOSS_MSE)->eval_f64, vp_mse_onehot_f64);
    cr_assert_eq(vp_loss_get(VP_LOSS_CROSS_ENTROPY)->eval_f32, vp_cross_entropy_f32);
}

/* ---------------------------------------------------------------- known values */

Test(loss_ce, uniform_logits_give_ln_c)
{
    const double levels[] = { 0.0, -3.25, 7.5, 1e4, -1e4 };
    for (size_t k = 0; k < sizeof levels / sizeof *levels; k++) {
        double z[B * C], d[B * C];
        for (int i = 0; i < B * C; i++) z[i] = levels[k];
        double loss = -1;
        vp_err e;
        cr_assert_eq(vp_cross_entropy_f64(z, LABELS, B, C, &loss, d, &e), VP_OK, "%s", e.msg);
        cr_assert(fabs(loss - log((double)C)) <= 4 * DBL_EPSILON * (log((double)C) + fabs(levels[k])),
                  "level %g: %.17g, ln C = %.17g", levels[k], loss, log((double)C));
        for (int i = 0; i < B; i++)
            for (int j = 0; j < C; j++) {
                double want = (1.0 / C - (j == LABELS[i])) / B;
                cr_assert(fabs(d[i * C + j] - want) <= 1e-16, "d[%d][%d] = %.17g, want %.17g", i, j,
                          d[i * C + j], want);
            }
    }
}

Test(loss_ce, hand_computed_rows)
{
    /* Row 0: z = (1, 2, 3), y = 2: log(1 + e^-1 + e^-2). Row 1: z = (0.5, -1, 2), y = 0:
     * 2 + log(e^-1.5 + e^-3 + 1) - 0.5. Two classes: softplus(z_other - z_y). */
    const double z[6] = { 1, 2, 3, 0.5, -1, 2 };
    const int32_t y[2] = { 2, 0 };
    double loss, d[6];
    vp_err e;
    cr_assert_eq(vp_cross_entropy_f64(z, y, 2, 3, &loss, d, &e), VP_OK);
    double l0 = log(1 + exp(-1.0) + exp(-2.0)), l1 = 2 + log(exp(-1.5) + exp(-3.0) + 1) - 0.5;
    cr_assert(fabs(loss - (l0 + l1) / 2) <= 1e-15, "%.17g vs %.17g", loss, (l0 + l1) / 2);
    double s0 = exp(1.0) + exp(2.0) + exp(3.0);
    cr_assert(fabs(d[2] - (exp(3.0) / s0 - 1) / 2) <= 1e-15);
    cr_assert(fabs(d[0] - exp(1.0) / s0 / 2) <= 1e-15);

    const double z2[4] = { 0.3, -1.2, 1000, 0 };
    const int32_t y2[2] = { 1, 1 };
    cr_assert_eq(vp_cross_entropy_f64(z2, y2, 1, 2, &loss, NULL, &e), VP_OK);
    cr_assert(fabs(loss - log1p(exp(1.5))) <= 1e-15);
    /* A 1000-wide gap: exactly 1000 (a naive exp would overflow to Inf). */
    cr_assert_eq(vp_cross_entropy_f64(z2 + 2, y2, 1, 2, &loss, d, &e), VP_OK);
    cr_assert_eq(loss, 1000.0);
    cr_assert_eq(d[0], 1.0);
    cr_assert_eq(d[1], -1.0);
}

Test(loss_mse, known_values)
{
    /* Zero logits: each row has one (0 - 1)^2 = 1 among C elements, so L = 1/C;
     * the gradient is -2/(B C) at the label and 0 elsewhere. */
    double z[B * C] = { 0 }, d[B * C], loss;
    vp_err e;
    cr_assert_eq(vp_mse_onehot_f64(z, LABELS, B, C, &loss, d, &e), VP_OK);
    cr_assert(fabs(loss - 1.0 / C) <= 1e-15);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < C; j++)
            cr_assert_eq(d[i * C + j], j == LABELS[i] ? -2.0 / (B * C) : 0.0);
    /* One row (1, 2, 3), y = 0: ((1-1)^2 + 4 + 9) / 3. Mean over all elements, as
     * nn.MSELoss: a per-row sum would give 13, a half-sum 6.5. */
    const double z1[3] = { 1, 2, 3 };
    const int32_t y1[1] = { 0 };
    cr_assert_eq(vp_mse_onehot_f64(z1, y1, 1, 3, &loss, d, &e), VP_OK);
    cr_assert(fabs(loss - 13.0 / 3) <= 1e-15);
    cr_assert_eq(d[0], 0.0);
    cr_assert(fabs(d[2] - 2 * 3.0 / 3) <= 1e-15);
}

/* ---------------------------------------------------------- finite differences */

static void check_fd(vp_loss_kind k, double amp)
{
    const vp_loss_info *info = vp_loss_get(k);
    double z[B * C], d[B * C], loss;
    vp_err e;
    fill_logits(z, B * C, amp);
    cr_assert_eq(info->eval_f64(z, LABELS, B, C, &loss, d, &e), VP_OK, "%s", e.msg);

    /* The error bound of the header comment. */
    double h, trunc, dl_abs;
    if (k == VP_LOSS_CROSS_ENTROPY) {
        double s = fabs(loss);
        for (int i = 0; i < B; i++) {
            double m = z[i * C], sum = 0;
            for (int j = 1; j < C; j++) m = fmax(m, z[i * C + j]);
            for (int j = 0; j < C; j++) sum += exp(z[i * C + j] - m);
            s += (fabs(m + log(sum)) + fabs(z[i * C + LABELS[i]])) / B;
        }
        h = 1e-5;
        trunc = h * h / 6 * 0.1 / B;
        dl_abs = 8 * DBL_EPSILON * s;
    } else {
        double rmax = 0;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < C; j++) {
                double r = z[i * C + j] - (j == LABELS[i]);
                rmax = fmax(rmax, r * r);
            }
        h = 1e-2;
        trunc = 0;
        dl_abs = 8 * DBL_EPSILON * (fabs(loss) + rmax);
    }
    double tol = trunc + dl_abs / h, worst = 0;
    for (int i = 0; i < B * C; i++) {
        double zi = z[i], lp, lm;
        z[i] = zi + h;
        cr_assert_eq(info->eval_f64(z, LABELS, B, C, &lp, NULL, &e), VP_OK);
        z[i] = zi - h;
        cr_assert_eq(info->eval_f64(z, LABELS, B, C, &lm, NULL, &e), VP_OK);
        z[i] = zi;
        double fd = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(fd - d[i]));
        cr_assert(fabs(fd - d[i]) <= tol, "%s amp %g, logit %d: analytic %.17g, central difference %.17g "
                  "(tolerance %.3g)", info->name, amp, i, d[i], fd, tol);
    }
    cr_log_info("%s amp %g: worst |fd - grad| %.3g, tolerance %.3g", info->name, amp, worst, tol);
}

Test(loss_ce, gradient_matches_finite_differences)
{
    check_fd(VP_LOSS_CROSS_ENTROPY, 1.0);
    check_fd(VP_LOSS_CROSS_ENTROPY, 6.0);
}

Test(loss_mse, gradient_matches_finite_differences)
{
    check_fd(VP_LOSS_MSE, 1.0);
    check_fd(VP_LOSS_MSE, 6.0);
}

/* ------------------------------------------------------------ float32, aliasing */

Test(loss_precision, float32_is_the_widened_float64)
{
    for (int k = 0; k < VP_LOSS_COUNT; k++) {
        double z[B * C], d64[B * C], l64, l32;
        float zf[B * C], d32[B * C];
        vp_err e;
        fill_logits(z, B * C, 4.0);
        round_to_float(z, zf, B * C);
        cr_assert_eq(vp_loss_f64((vp_loss_kind)k, z, LABELS, B, C, &l64, d64, &e), VP_OK);
        cr_assert_eq(vp_loss_f32((vp_loss_kind)k, zf, LABELS, B, C, &l32, d32, &e), VP_OK);
        cr_assert_eq(l32, l64, "%s: float32 loss %.17g, float64 %.17g", vp_loss_get(k)->name, l32, l64);
        for (int i = 0; i < B * C; i++) cr_assert_eq(d32[i], (float)d64[i]);
        /* In place: the gradient may overwrite the logits. */
        cr_assert_eq(vp_loss_f32((vp_loss_kind)k, zf, LABELS, B, C, &l32, zf, &e), VP_OK);
        cr_assert_eq(l32, l64);
        cr_assert(memcmp(zf, d32, sizeof zf) == 0, "%s in place", vp_loss_get(k)->name);
    }
}

/* ---------------------------------------------------------- non-finite, errors */

Test(loss_nonfinite, propagates_never_clamps)
{
    vp_err e;
    double loss;
    for (int k = 0; k < VP_LOSS_COUNT; k++) {
        float z[B * C], d[B * C];
        double zd[B * C];
        fill_logits(zd, B * C, 2.0);
        round_to_float(zd, z, B * C);
        z[2 * C + 4] = NAN;
        cr_assert_eq(vp_loss_f32((vp_loss_kind)k, z, LABELS, B, C, &loss, d, &e), VP_OK);
        cr_assert(isnan(loss), "%s: NaN logit gives %g", vp_loss_get(k)->name, loss);
        cr_assert(isnan(d[2 * C + 4]));
        z[2 * C + 4] = INFINITY;
        cr_assert_eq(vp_loss_f32((vp_loss_kind)k, z, LABELS, B, C, &loss, d, &e), VP_OK);
        cr_assert(!isfinite(loss), "%s: +Inf logit gives %g", vp_loss_get(k)->name, loss);
    }
    /* Cross-entropy details: +Inf is Inf - Inf in the log-sum-exp (NaN, as torch);
     * -Inf at the label is an infinitely wrong prediction (+Inf); -Inf elsewhere is
     * a zero probability (finite loss, zero gradient). NaN in the first column too. */
    double z[3] = { 0.5, INFINITY, -1 };
    int32_t y0[1] = { 0 }, y2[1] = { 2 };
    cr_assert_eq(vp_cross_entropy_f64(z, y0, 1, 3, &loss, NULL, &e), VP_OK);
    cr_assert(isnan(loss));
    z[1] = -INFINITY;
    cr_assert_eq(vp_cross_entropy_f64(z, y0, 1, 3, &loss, NULL, &e), VP_OK);
    cr_assert(fabs(loss - log1p(exp(-1.5))) <= 1e-15);
    double d[3];
    z[2] = -INFINITY;
    cr_assert_eq(vp_cross_entropy_f64(z, y2, 1, 3, &loss, d, &e), VP_OK);
    cr_assert(isinf(loss) && loss > 0);
    z[0] = NAN;
    z[2] = -1;
    cr_assert_eq(vp_cross_entropy_f64(z, y2, 1, 3, &loss, NULL, &e), VP_OK);
    cr_assert(isnan(loss));
}

Test(loss_errors, bad_labels_and_empty_batches)
{
    double z[6] = { 0 }, d[6], loss = 42;
    vp_err e;
    for (int k = 0; k < VP_LOSS_COUNT; k++) {
        int32_t bad[2] = { 1, 3 }; /* 3 classes: 3 is out of range */
        for (int i = 0; i < 6; i++) d[i] = 7;
        cr_assert_eq(vp_loss_f64((vp_loss_kind)k, z, bad, 2, 3, &loss, d, &e), VP_ERR_DATA);
        cr_assert(strstr(e.msg, "label 3 of row 1") && strstr(e.msg, "[0, 3)"), "%s", e.msg);
        bad[1] = -1;
        cr_assert_eq(vp_loss_f64((vp_loss_kind)k, z, bad, 2, 3, &loss, d, &e), VP_ERR_DATA);
        cr_assert_eq(loss, 42, "nothing written on failure");
        for (int i = 0; i < 6; i++) cr_assert_eq(d[i], 7);
        cr_assert_eq(vp_loss_f64((vp_loss_kind)k, z, bad, 0, 3, &loss, d, &e), VP_ERR_DATA);
        cr_assert_eq(vp_loss_f64((vp_loss_kind)k, z, bad, 2, 0, &loss, d, &e), VP_ERR_DATA);
    }
}

/* -------------------------------------------------------------------- accuracy */

Test(loss_correct, argmax_as_torch)
{
    /* Rows: clear winner 2; tie between 0 and 2 (first wins: 0); NaN at 1 (NaN is
     * the max: 1); all equal (0). */
    const float z[12] = { 0, 1, 5, 3, 1, 3, 0, NAN, 9, 2, 2, 2 };
    const int32_t y_all[4] = { 2, 0, 1, 0 }, y_none[4] = { 1, 2, 2, 1 };
    cr_assert_eq(vp_loss_correct_f32(z, y_all, 4, 3), 4);
    cr_assert_eq(vp_loss_correct_f32(z, y_none, 4, 3), 0);
    double zd[12];
    for (int i = 0; i < 12; i++) zd[i] = z[i];
    cr_assert_eq(vp_loss_correct_f64(zd, y_all, 4, 3), 4);
    const int32_t y_bad[4] = { -1, 7, 1, 0 };
    cr_assert_eq(vp_loss_correct_f64(zd, y_bad, 4, 3), 2);
}
