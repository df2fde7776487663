/* jacobian: see jacobian.h. */
#include "core/jacobian.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK divide-and-conquer SVD (exported by OpenBLAS); the trailing size_t is
 * gfortran's hidden length of the CHARACTER argument jobz. */
extern void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
                    double *s, double *u, const int *ldu, double *vt, const int *ldvt,
                    double *work, const int *lwork, int *iwork, int *info, size_t jobz_len);

static vp_status check_shapes(int L, const int *widths, const double *const *W, size_t *maxn,
                              vp_err *err)
{
    if (L < 1 || !widths || !W) return vp_fail(err, VP_ERR_USAGE, "jacobian: need L >= 1, widths and W");
    size_t m = 0;
    for (int l = 0; l <= L; l++) {
        if (widths[l] < 1) return vp_fail(err, VP_ERR_USAGE, "jacobian: width n_%d = %d must be >= 1", l, widths[l]);
        if (l > 0 && (size_t)widths[l] > m) m = (size_t)widths[l];
    }
    for (int l = 0; l < L; l++)
        if (!W[l]) return vp_fail(err, VP_ERR_USAGE, "jacobian: W[%d] is NULL", l);
    if (m > SIZE_MAX / sizeof(double) / (size_t)widths[0])
        return vp_fail(err, VP_ERR_NOMEM, "jacobian: %zu x %d work buffer is too large", m, widths[0]);
    *maxn = m;
    return VP_OK;
}

/* Rows of M (rows x cols, row-major) times d[row]; d == NULL: identity. */
static void scale_rows(double *M, int rows, int cols, const double *d)
{
    if (!d) return;
    for (int i = 0; i < rows; i++) cblas_dscal(cols, d[i], M + (size_t)i * (size_t)cols, 1);
}

/* J = D^L W^L ... D^1 W^1 into a freshly allocated buffer (*out, n_L x n_0).
 * Two buffers of maxn x n_0 ping-pong: M_1 = D^1 W^1, M_{l+1} = D^{l+1} (W^{l+1} M_l). */
static vp_status product(int L, const int *widths, const double *const *W, const double *const *D,
                         double **out, vp_err *err)
{
    size_t maxn = 0;
    vp_status st = check_shapes(L, widths, W, &maxn, err);
    if (st != VP_OK) return st;
    const int n0 = widths[0];
    double *A = malloc(maxn * (size_t)n0 * sizeof *A);
    double *B = L > 1 ? malloc(maxn * (size_t)n0 * sizeof *B) : NULL;
    if (!A || (L > 1 && !B)) {
        free(A), free(B);
        return vp_fail(err, VP_ERR_NOMEM, "jacobian: cannot allocate two %zu x %d buffers", maxn, n0);
    }
    memcpy(A, W[0], (size_t)widths[1] * (size_t)n0 * sizeof *A);
    scale_rows(A, widths[1], n0, D ? D[0] : NULL);
    for (int l = 1; l < L; l++) {
        /* B (n_{l+1} x n0) = W[l] (n_{l+1} x n_l) * A (n_l x n0) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, widths[l + 1], n0, widths[l], 1.0,
                    W[l], widths[l], A, n0, 0.0, B, n0);
        scale_rows(B, widths[l + 1], n0, D ? D[l] : NULL);
        double *t = A;
        A = B, B = t;
    }
    free(B);
    *out = A;
    return VP_OK;
}

vp_status vp_jacobian_product(int L, const int *widths, const double *const *W,
                              const double *const *D, double *J, vp_err *err)
{
    double *M = NULL;
    vp_status st = product(L, widths, W, D, &M, err);
    if (st != VP_OK) return st;
    memcpy(J, M, (size_t)widths[L] * (size_t)widths[0] * sizeof *J);
    free(M);
    return VP_OK;
}

vp_status vp_jacobian_svals(int L, const int *widths, const double *const *W,
                            const double *const *D, double *sv, vp_err *err)
{
    double *M = NULL;
    vp_status st = product(L, widths, W, D, &M, err);
    if (st != VP_OK) return st;
    /* Row-major n_L x n_0 is column-major n_0 x n_L (J^T): same singular values. */
    int m = widths[0], n = widths[L], lda = m, one = 1, lwork = -1, info = 0;
    int k = m < n ? m : n;
    double wq = 0.0, dummy = 0.0;
    int *iwork = malloc((size_t)(8 * k) * sizeof *iwork);
    if (!iwork) {
        free(M);
        return vp_fail(err, VP_ERR_NOMEM, "jacobian: out of memory for the SVD");
    }
    dgesdd_("N", &m, &n, M, &lda, sv, &dummy, &one, &dummy, &one, &wq, &lwork, iwork, &info, 1);
    double *work = NULL;
    if (info == 0) {
        lwork = (int)wq + 1;
        work = malloc((size_t)lwork * sizeof *work);
        if (!work) {
            free(M), free(iwork);
            return vp_fail(err, VP_ERR_NOMEM, "jacobian: out of memory for the SVD workspace");
        }
        dgesdd_("N", &m, &n, M, &lda, sv, &dummy, &one, &dummy, &one, work, &lwork, iwork, &info, 1);
    }
    free(work), free(iwork), free(M);
    if (info != 0)
        return vp_fail(err, VP_ERR_NUMERIC, "jacobian: LAPACK dgesdd failed (info = %d)%s", info,
                       info > 0 ? ": the SVD did not converge" : "");
    return VP_OK;
}
