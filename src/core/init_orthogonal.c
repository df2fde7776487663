/* init_orthogonal: the orthogonal matrix of the orthogonal and lsuv initializers
 * (init.h, vp_init_orthogonal) -- the QR of a Gaussian matrix through LAPACK,
 * with Mezzadri's sign correction, in double or float32. Saxe et al. 2014;
 * PyTorch orthogonal_, Keras Orthogonal, JAX orthogonal. */
#include "core/init.h"

#include <stdlib.h>

/* LAPACK (exported by OpenBLAS): QR factorization and forming Q. Column-major. */
extern void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
                    double *work, const int *lwork, int *info);
extern void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda,
                    const double *tau, double *work, const int *lwork, int *info);
extern void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau,
                    float *work, const int *lwork, int *info);
extern void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda,
                    const float *tau, float *work, const int *lwork, int *info);

/* LAPACK QR in double or single precision on the same void buffers. */
static void geqrf(int single, int m, int n, void *a, void *tau, void *work, int lwork, int *info)
{
    if (single) sgeqrf_(&m, &n, a, &m, tau, work, &lwork, info);
    else dgeqrf_(&m, &n, a, &m, tau, work, &lwork, info);
}
static void orgqr(int single, int m, int n, void *a, const void *tau, void *work, int lwork, int *info)
{
    if (single) sorgqr_(&m, &n, &n, a, &m, tau, work, &lwork, info);
    else dorgqr_(&m, &n, &n, a, &m, tau, work, &lwork, info);
}
static double elem(int single, const void *a, size_t i)
{
    return single ? (double)((const float *)a)[i] : ((const double *)a)[i];
}

vp_status vp_init_orthogonal(size_t rows, size_t cols, double gain, int single, const vp_rng *rng, double *W,
                             vp_err *err)
{
    /* Work on the tall orientation m x n (m >= n) in column-major order, as PyTorch
     * transposes when rows < cols. Q (m x n) has orthonormal columns. */
    int transposed = rows < cols;
    size_t m = transposed ? cols : rows, n = transposed ? rows : cols;
    if (m > 1u << 20 || n > 1u << 16) return vp_fail(err, VP_ERR_CONFIG, "orthogonal: matrix too large");
    int im = (int)m, in = (int)n, info = 0, lwork;
    size_t es = single ? sizeof(float) : sizeof(double);
    double wq[2] = { 0, 0 }; /* workspace-size answers (a float or a double) */
    /* the Gaussian matrix is drawn in double (the same numbers for both precisions),
     * through a double scratch g when the QR runs in float32 */
    double *g = single ? malloc(m * n * sizeof *g) : NULL, *sign = malloc(n * sizeof *sign);
    void *a = malloc(m * n * es), *tau = malloc(n * es), *work = NULL;
    vp_status s = VP_OK;
    if ((single && !g) || !a || !tau || !sign) { s = vp_fail(err, VP_ERR_NOMEM, "orthogonal: out of memory"); goto end; }
    vp_rng_normal_fill(rng, 0, single ? g : (double *)a, m * n);
    for (size_t i = 0; single && i < m * n; i++) ((float *)a)[i] = (float)g[i];
    geqrf(single, im, in, a, tau, wq, -1, &info);
    lwork = (int)elem(single, wq, 0);
    orgqr(single, im, in, a, tau, wq, -1, &info);
    if ((int)elem(single, wq, 0) > lwork) lwork = (int)elem(single, wq, 0);
    if (lwork < 1) lwork = 1;
    work = malloc((size_t)lwork * es);
    if (!work) { s = vp_fail(err, VP_ERR_NOMEM, "orthogonal: out of memory"); goto end; }
    geqrf(single, im, in, a, tau, work, lwork, &info);
    if (info != 0) { s = vp_fail(err, VP_ERR_NUMERIC, "orthogonal: QR (geqrf) failed (info=%d)", info); goto end; }
    /* Signs of diag(R) (Mezzadri 2007): makes Q Haar-distributed. Read before orgqr
     * overwrites R. */
    for (size_t j = 0; j < n; j++) sign[j] = elem(single, a, j + j * m) < 0 ? -1.0 : 1.0;
    orgqr(single, im, in, a, tau, work, lwork, &info);
    if (info != 0) { s = vp_fail(err, VP_ERR_NUMERIC, "orthogonal: forming Q (orgqr) failed (info=%d)", info); goto end; }
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < m; i++) {
            double q = gain * sign[j] * elem(single, a, i + j * m);
            /* not transposed: W[i][j] (rows = m); transposed: W = Q^T, W[j][i] */
            if (transposed) W[j * cols + i] = q;
            else W[i * cols + j] = q;
        }
end:
    free(g);
    free(sign);
    free(a);
    free(tau);
    free(work);
    return s;
}
