/* jacobian: see jacobian.h. */
#include "core/jacobian.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK divide-and-conquer SVD (exported by OpenBLAS); the trailing size_t is
 * gfortran's hidden length of the CHARACTER argument jobz. */
extern void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
                    double *s, double *u, const int *ldu, double *vt, const int *ldvt,
                    double *work, const int *lwork, int *iwork, int *info, size_t jobz_len);

/* A source of layers: writes W^l (n_l x n_{l-1}, row-major) into W and phi'(z^l)
 * at the example (n_l values) into d, for l = 1..L. */
typedef void (*layer_fn)(const void *src, int l, double *W, double *d);

/* Work sizes: maxn = max_{l >= 1} n_l (rows of M_l), maxw = max n_l n_{l-1} (one W^l). */
static vp_status check_shapes(int L, const int *widths, size_t *maxn, size_t *maxw, vp_err *err)
{
    if (L < 1 || !widths) return vp_fail(err, VP_ERR_USAGE, "jacobian: need L >= 1, widths and W");
    size_t m = 0, w = 0;
    for (int l = 0; l <= L; l++) {
        if (widths[l] < 1) return vp_fail(err, VP_ERR_USAGE, "jacobian: width n_%d = %d must be >= 1", l, widths[l]);
        if (l == 0) continue;
        size_t n = (size_t)widths[l], nin = (size_t)widths[l - 1];
        if (n > SIZE_MAX / sizeof(double) / nin)
            return vp_fail(err, VP_ERR_NOMEM, "jacobian: %zu x %zu weight buffer is too large", n, nin);
        m = n > m ? n : m;
        w = n * nin > w ? n * nin : w;
    }
    if (m > SIZE_MAX / sizeof(double) / (size_t)widths[0])
        return vp_fail(err, VP_ERR_NOMEM, "jacobian: %zu x %d work buffer is too large", m, widths[0]);
    *maxn = m;
    *maxw = w;
    return VP_OK;
}

/* J = D^L W^L ... D^1 W^1 into a freshly allocated buffer (*out, n_L x n_0), the layers
 * read one at a time from `layer`. Per layer, the rows of W^l are scaled by phi' first
 * (D^l W^l, one rounding per entry) and then multiply M_{l-1}: M_l = (D^l W^l) M_{l-1};
 * two buffers of maxn x n_0 ping-pong. This order is part of the output: jacobian.csv
 * holds these bits. */
static vp_status product(int L, const int *widths, layer_fn layer, const void *src, double **out, vp_err *err)
{
    size_t maxn = 0, maxw = 0;
    vp_status st = check_shapes(L, widths, &maxn, &maxw, err);
    if (st != VP_OK) return st;
    const int n0 = widths[0];
    double *A = malloc(maxn * (size_t)n0 * sizeof *A);
    double *B = L > 1 ? malloc(maxn * (size_t)n0 * sizeof *B) : NULL;
    double *W = malloc(maxw * sizeof *W), *d = malloc(maxn * sizeof *d);
    if (!A || (L > 1 && !B) || !W || !d) {
        free(A), free(B), free(W), free(d);
        return vp_fail(err, VP_ERR_NOMEM, "jacobian: cannot allocate two %zu x %d buffers", maxn, n0);
    }
    for (int l = 1; l <= L; l++) {
        int n = widths[l], nin = widths[l - 1];
        layer(src, l, W, d);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < nin; k++) W[(size_t)i * (size_t)nin + (size_t)k] *= d[i]; /* D^l W^l */
        if (l == 1) {
            memcpy(A, W, (size_t)n * (size_t)n0 * sizeof *A);
            continue;
        }
        /* B (n_l x n0) = (D^l W^l) (n_l x n_{l-1}) * A (n_{l-1} x n0) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n0, nin, 1.0, W, nin, A, n0, 0.0, B, n0);
        double *t = A;
        A = B, B = t;
    }
    free(B), free(W), free(d);
    *out = A;
    return VP_OK;
}

/* Singular values of M (row-major n_L x n_0, overwritten) into sv, descending. A
 * matrix with a NaN or an infinite entry has no SVD: every value is NaN, and LAPACK
 * is not called (its argument checks would reject it, print on stderr through
 * xerbla and fail). */
static vp_status singular_values(double *M, int n0, int nL, double *sv, vp_err *err)
{
    /* Row-major n_L x n_0 is column-major n_0 x n_L (J^T): same singular values. */
    int m = n0, n = nL, lda = m, one = 1, lwork = -1, info = 0;
    int k = m < n ? m : n;
    size_t entries = (size_t)m * (size_t)n, bad = 0;
    for (size_t i = 0; i < entries; i++) bad += !isfinite(M[i]);
    if (bad) {
        for (int i = 0; i < k; i++) sv[i] = NAN;
        return VP_OK;
    }
    double wq = 0.0, dummy = 0.0;
    int *iwork = malloc((size_t)(8 * k) * sizeof *iwork);
    if (!iwork) return vp_fail(err, VP_ERR_NOMEM, "jacobian: out of memory for the SVD");
    dgesdd_("N", &m, &n, M, &lda, sv, &dummy, &one, &dummy, &one, &wq, &lwork, iwork, &info, 1);
    double *work = NULL;
    if (info == 0) {
        lwork = (int)wq + 1;
        work = malloc((size_t)lwork * sizeof *work);
        if (!work) {
            free(iwork);
            return vp_fail(err, VP_ERR_NOMEM, "jacobian: out of memory for the SVD workspace");
        }
        dgesdd_("N", &m, &n, M, &lda, sv, &dummy, &one, &dummy, &one, work, &lwork, iwork, &info, 1);
    }
    free(work), free(iwork);
    if (info != 0)
        return vp_fail(err, VP_ERR_NUMERIC, "jacobian: LAPACK dgesdd failed (info = %d)%s", info,
                       info > 0 ? ": the SVD did not converge" : "");
    return VP_OK;
}

static vp_status svals(int L, const int *widths, layer_fn layer, const void *src, double *sv, vp_err *err)
{
    double *M = NULL;
    vp_status st = product(L, widths, layer, src, &M, err);
    if (st == VP_OK) st = singular_values(M, widths[0], widths[L], sv, err);
    free(M);
    return st;
}

/* ---- layers from plain arrays ---- */
typedef struct {
    const int *widths;
    const double *const *W, *const *D;
} arrays;

static void array_layer(const void *src, int l, double *W, double *d)
{
    const arrays *a = src;
    size_t n = (size_t)a->widths[l], nin = (size_t)a->widths[l - 1];
    memcpy(W, a->W[l - 1], n * nin * sizeof *W);
    const double *dl = a->D ? a->D[l - 1] : NULL;
    for (size_t i = 0; i < n; i++) d[i] = dl ? dl[i] : 1.0; /* x * 1 = x exactly */
}

/* The arrays as a source of layers, after checking them. */
static vp_status array_source(int L, const int *widths, const double *const *W, const double *const *D, arrays *a,
                              vp_err *err)
{
    if (L < 1 || !widths || !W) return vp_fail(err, VP_ERR_USAGE, "jacobian: need L >= 1, widths and W");
    for (int l = 0; l < L; l++)
        if (!W[l]) return vp_fail(err, VP_ERR_USAGE, "jacobian: W[%d] is NULL", l);
    *a = (arrays){ widths, W, D };
    return VP_OK;
}

vp_status vp_jacobian_product(int L, const int *widths, const double *const *W,
                              const double *const *D, double *J, vp_err *err)
{
    arrays a;
    double *M = NULL;
    vp_status st = array_source(L, widths, W, D, &a, err);
    if (st == VP_OK) st = product(L, widths, array_layer, &a, &M, err);
    if (st == VP_OK) memcpy(J, M, (size_t)widths[L] * (size_t)widths[0] * sizeof *J);
    free(M);
    return st;
}

vp_status vp_jacobian_svals(int L, const int *widths, const double *const *W,
                            const double *const *D, double *sv, vp_err *err)
{
    arrays a;
    vp_status st = array_source(L, widths, W, D, &a, err);
    return st == VP_OK ? svals(L, widths, array_layer, &a, sv, err) : st;
}

/* ---- layers from a network after its forward pass ---- */
typedef struct {
    const vp_mlp *m;
    int b;
} network;

static void mlp_layer(const void *src, int l, double *W, double *d)
{
    const network *n = src;
    vp_mlp_export_layer(n->m, l, n->b, W, d);
}

vp_status vp_jacobian_mlp_svals(const vp_mlp *m, int b, double *sv, vp_err *err)
{
    int L = vp_mlp_depth(m);
    int *widths = malloc((size_t)(L + 1) * sizeof *widths);
    if (!widths) return vp_fail(err, VP_ERR_NOMEM, "jacobian: out of memory");
    for (int l = 0; l <= L; l++) widths[l] = vp_mlp_width(m, l);
    network n = { m, b };
    vp_status st = svals(L, widths, mlp_layer, &n, sv, err);
    free(widths);
    return st;
}
