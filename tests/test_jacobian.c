/* Tests of the input-output Jacobian singular values (src/core/jacobian.c). The array
 * form and the network form (vp_jacobian_mlp_svals, what `varprop run` measures) share
 * one streamed product and SVD; network_form_is_the_array_form pins them together. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jacobian.h"
#include "core/mlp.h"
#include "core/rng.h"

/* LAPACK QR (OpenBLAS) for random orthogonal matrices. */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);

/* rows x cols matrix of N(0, var) entries, stream (seed, layer). */
static double *gaussian(uint64_t seed, uint32_t layer, int rows, int cols, double var)
{
    size_t n = (size_t)rows * (size_t)cols;
    double *a = malloc(n * sizeof *a);
    cr_assert_not_null(a);
    vp_rng r = vp_rng_make(seed, layer, VP_RNG_WEIGHT);
    vp_rng_normal_fill(&r, 0, a, n);
    for (size_t i = 0; i < n; i++) a[i] *= sqrt(var);
    return a;
}

/* Haar-ish random orthogonal n x n: Q of the QR of a Gaussian matrix (the
 * transpose of a column-major Q is orthogonal as well, so layout is moot). */
static double *orthogonal(uint64_t seed, uint32_t layer, int n)
{
    double *a = gaussian(seed, layer, n, n, 1.0);
    double *tau = malloc((size_t)n * sizeof *tau), wq = 0.0;
    int info = 0, lwork = -1;
    dgeqrf_(&n, &n, a, &n, tau, &wq, &lwork, &info);
    cr_assert_eq(info, 0);
    lwork = (int)wq + n;
    double *work = malloc((size_t)lwork * sizeof *work);
    dgeqrf_(&n, &n, a, &n, tau, work, &lwork, &info);
    cr_assert_eq(info, 0);
    dorgqr_(&n, &n, &n, a, &n, tau, work, &lwork, &info);
    cr_assert_eq(info, 0);
    free(work), free(tau);
    return a;
}

Test(jacobian, small_known_product)
{
    /* J = D2 W2 D1 W1 = diag(.5,1) [[0,1],[1,0]] diag(1,3) diag(2,1) = [[0,1.5],[2,0]]. */
    const double W1[4] = { 2, 0, 0, 1 }, W2[4] = { 0, 1, 1, 0 };
    const double D1[2] = { 1, 3 }, D2[2] = { 0.5, 1 };
    const double *W[2] = { W1, W2 }, *D[2] = { D1, D2 };
    const int widths[3] = { 2, 2, 2 };
    double J[4], sv[2];
    vp_err err;
    cr_assert_eq(vp_jacobian_product(2, widths, W, D, J, &err), VP_OK, "%s", err.msg);
    const double want[4] = { 0, 1.5, 2, 0 };
    for (int i = 0; i < 4; i++) cr_expect_float_eq(J[i], want[i], 1e-15, "J[%d] = %g", i, J[i]);
    cr_assert_eq(vp_jacobian_svals(2, widths, W, D, sv, &err), VP_OK, "%s", err.msg);
    cr_expect_float_eq(sv[0], 2.0, 1e-14);
    cr_expect_float_eq(sv[1], 1.5, 1e-14);
}

Test(jacobian, product_matches_naive_loops)
{
    /* Rectangular widths 5 -> 7 -> 3 -> 6 with random D: J is 6 x 5 of rank <= 3. */
    const int L = 3, widths[4] = { 5, 7, 3, 6 };
    double *Ws[3], *Ds[3];
    for (int l = 0; l < L; l++) {
        Ws[l] = gaussian(11, (uint32_t)l, widths[l + 1], widths[l], 1.0);
        Ds[l] = gaussian(12, (uint32_t)l, 1, widths[l + 1], 1.0);
    }
    const double *W[3] = { Ws[0], Ws[1], Ws[2] }, *D[3] = { Ds[0], Ds[1], Ds[2] };
    /* Naive reference, M = D^l W^l M layer by layer with triple loops. */
    double M[7 * 5], T[7 * 5];
    for (int i = 0; i < widths[1]; i++)
        for (int j = 0; j < 5; j++) M[i * 5 + j] = D[0][i] * W[0][i * 5 + j];
    for (int l = 1; l < L; l++) {
        for (int i = 0; i < widths[l + 1]; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0.0;
                for (int k = 0; k < widths[l]; k++) s += W[l][i * widths[l] + k] * M[k * 5 + j];
                T[i * 5 + j] = D[l][i] * s;
            }
        for (int i = 0; i < widths[l + 1] * 5; i++) M[i] = T[i];
    }
    double J[6 * 5], sv[5], fro = 0.0, sum2 = 0.0;
    vp_err err;
    cr_assert_eq(vp_jacobian_product(L, widths, W, D, J, &err), VP_OK, "%s", err.msg);
    for (int i = 0; i < 30; i++) {
        cr_expect(fabs(J[i] - M[i]) <= 1e-12 * (1.0 + fabs(M[i])), "J[%d] = %.17g, naive %.17g", i, J[i], M[i]);
        fro += M[i] * M[i];
    }
    cr_assert_eq(vp_jacobian_svals(L, widths, W, D, sv, &err), VP_OK, "%s", err.msg);
    for (int i = 0; i < 5; i++) {
        sum2 += sv[i] * sv[i];
        cr_expect(sv[i] >= 0.0);
        if (i) cr_expect(sv[i] <= sv[i - 1], "not descending at %d", i);
    }
    /* sum of squared singular values = squared Frobenius norm; rank <= 3. */
    cr_expect(fabs(sum2 - fro) <= 1e-12 * fro, "sum sv^2 = %.17g, ||J||_F^2 = %.17g", sum2, fro);
    cr_expect(sv[3] <= 1e-12 * sv[0] && sv[4] <= 1e-12 * sv[0], "rank > 3: %g %g", sv[3], sv[4]);
    for (int l = 0; l < L; l++) free(Ws[l]), free(Ds[l]);
}

Test(jacobian, gaussian_linear_mean_squared_singular_value)
{
    /* Linear net (D = 1), W^l ~ N(0, sigma_w2/n): E[mean sv^2] = (sigma_w2 mu_1)^L
     * with mu_1 = 1 (Pennington et al. 2017, papers.md §5).
     * Tolerance from the sample size: conditioned on the first l-1 layers,
     * tr(J_l J_l^T) = sum_i w_i^T B w_i over the n iid rows of W^l, so its
     * relative variance is 2 tr(B^2)/(n tr(B)^2) = 2 (m2/m1^2)/n^2 with m_k the
     * normalised spectral moments of B; for a product of l-1 Gaussian factors
     * m2/m1^2 = l (Fuss-Catalan). Summing over layers, the relative standard
     * deviation of mean sv^2 is sqrt(L(L+1))/n; we allow 6 of them. */
    const int L = 4, n = 400;
    const double sw = 1.5;
    int widths[5];
    double *Ws[4];
    for (int l = 0; l <= L; l++) widths[l] = n;
    for (int l = 0; l < L; l++) Ws[l] = gaussian(21, (uint32_t)l, n, n, sw / n);
    const double *W[4] = { Ws[0], Ws[1], Ws[2], Ws[3] };
    double *sv = malloc((size_t)n * sizeof *sv), m = 0.0;
    vp_err err;
    cr_assert_eq(vp_jacobian_svals(L, widths, W, NULL, sv, &err), VP_OK, "%s", err.msg);
    for (int i = 0; i < n; i++) m += sv[i] * sv[i] / n;
    double want = pow(sw, L), tol = 6.0 * sqrt((double)(L * (L + 1))) / n;
    cr_expect(fabs(m / want - 1.0) <= tol, "mean sv^2 = %g, (sigma_w2 mu_1)^L = %g, rel tol %g", m, want, tol);
    free(sv);
    for (int l = 0; l < L; l++) free(Ws[l]);
}

Test(jacobian, orthogonal_linear_is_isometric)
{
    /* Products of orthogonal matrices have all singular values exactly 1
     * (Saxe et al. 2014; dynamical isometry); a constant D = d scales them to d^L. */
    enum { L = 10, N = 64 };
    int widths[L + 1];
    double *Ws[L];
    const double *W[L], *D[L];
    double d[N], sv[N];
    for (int i = 0; i < N; i++) d[i] = 0.9;
    for (int l = 0; l <= L; l++) widths[l] = N;
    for (int l = 0; l < L; l++) Ws[l] = orthogonal(31, (uint32_t)l, N), W[l] = Ws[l], D[l] = d;
    vp_err err;
    cr_assert_eq(vp_jacobian_svals(L, widths, W, NULL, sv, &err), VP_OK, "%s", err.msg);
    for (int i = 0; i < N; i++) cr_expect(fabs(sv[i] - 1.0) <= 1e-12, "sv[%d] = %.17g", i, sv[i]);
    cr_assert_eq(vp_jacobian_svals(L, widths, W, D, sv, &err), VP_OK, "%s", err.msg);
    double want = pow(0.9, L);
    for (int i = 0; i < N; i++) cr_expect(fabs(sv[i] / want - 1.0) <= 1e-12, "sv[%d] = %.17g", i, sv[i]);
    for (int l = 0; l < L; l++) free(Ws[l]);
}

Test(jacobian, rejects_bad_shapes)
{
    const double w[1] = { 1 };
    const double *W[1] = { w };
    const int bad[2] = { 1, 0 };
    double sv[1];
    vp_err err;
    cr_expect_eq(vp_jacobian_svals(0, bad, W, NULL, sv, &err), VP_ERR_USAGE);
    cr_expect_eq(vp_jacobian_svals(1, bad, W, NULL, sv, &err), VP_ERR_USAGE);
    cr_expect(strstr(err.msg, "n_1") != NULL, "%s", err.msg);
}

/* The network form reads W^l and phi'(z^l) of one example from a forward pass and
 * runs the same product as the array form: the same bits, in float64 and float32
 * (whose parameters are widened to double exactly), for rectangular widths and
 * examples other than 0. Its spectrum also matches a naive triple-loop product
 * (sum of squared singular values = squared Frobenius norm). */
static void check_network_form(vp_precision prec, int b)
{
    enum { L = 3, B = 4 };
    const int widths[L + 1] = { 5, 7, 3, 6 };
    vp_mlp *m = NULL;
    vp_err err;
    vp_act act = vp_act_default(VP_ACT_TANH);
    cr_assert_eq(vp_mlp_create(&m, L, widths, B, prec, act, &err), VP_OK, "%s", err.msg);
    vp_init winit = vp_init_default(VP_INIT_XAVIER_NORMAL), binit = vp_init_default(VP_INIT_NORMAL);
    cr_assert_eq(vp_mlp_init_params(m, &winit, &binit, 7, &err), VP_OK, "%s", err.msg);
    double *x = gaussian(8, 0, B, widths[0], 1.0);
    vp_mlp_set_input(m, x);
    vp_layer_stats st[L];
    cr_assert_eq(vp_mlp_forward(m, st, NULL, &err), VP_OK, "%s", err.msg);

    double Ws[L][7 * 7], Ds[L][7];
    const double *W[L], *D[L];
    for (int l = 1; l <= L; l++) {
        vp_mlp_export_layer(m, l, b, Ws[l - 1], Ds[l - 1]);
        W[l - 1] = Ws[l - 1];
        D[l - 1] = Ds[l - 1];
    }
    double sv_net[5], sv_arr[5];
    cr_assert_eq(vp_jacobian_mlp_svals(m, b, sv_net, &err), VP_OK, "%s", err.msg);
    cr_assert_eq(vp_jacobian_svals(L, widths, W, D, sv_arr, &err), VP_OK, "%s", err.msg);
    cr_expect(memcmp(sv_net, sv_arr, sizeof sv_net) == 0, "network and array forms differ");

    double M[7 * 5], T[7 * 5], fro = 0.0, sum2 = 0.0;
    for (int i = 0; i < widths[1]; i++)
        for (int j = 0; j < 5; j++) M[i * 5 + j] = D[0][i] * W[0][i * 5 + j];
    for (int l = 1; l < L; l++) {
        for (int i = 0; i < widths[l + 1]; i++)
            for (int j = 0; j < 5; j++) {
                double s = 0.0;
                for (int k = 0; k < widths[l]; k++) s += W[l][i * widths[l] + k] * M[k * 5 + j];
                T[i * 5 + j] = D[l][i] * s;
            }
        for (int i = 0; i < widths[l + 1] * 5; i++) M[i] = T[i];
    }
    for (int i = 0; i < 6 * 5; i++) fro += M[i] * M[i];
    for (int i = 0; i < 5; i++) sum2 += sv_net[i] * sv_net[i];
    cr_expect(fabs(sum2 - fro) <= 1e-12 * fro, "sum sv^2 = %.17g, ||J||_F^2 = %.17g", sum2, fro);
    free(x);
    vp_mlp_free(m);
}

Test(jacobian, network_form_is_the_array_form)
{
    check_network_form(VP_F64, 0);
    check_network_form(VP_F64, 3);
    check_network_form(VP_F32, 1);
}
