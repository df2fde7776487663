/* act_rowwise: see act_rowwise.h. Each backward is the vector-Jacobian product
 * gz = J^T gh of its forward (tests/test_act.c checks every one against central
 * differences). */
#include "core/act_rowwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "core/act_scalar.h"

/* GLU(dim=-1), PyTorch nn.GLU / Keras / JAX glu: z = [a | b], h = a * sigmoid(b). */
void vp_rw_glu_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    for (size_t i = 0; i < n; i++) h[i] = z[i] * sigm(z[n + i]);
}
void vp_rw_glu_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(h); UNUSED(p);
    for (size_t i = 0; i < n; i++) {
        double s = sigm(z[n + i]);
        gz[i] = gh[i] * s;
        gz[n + i] = gh[i] * z[i] * s * (1.0 - s);
    }
}

/* softmax (shifted by the row maximum so exp never overflows); J = diag(h) - h h^T. */
void vp_rw_softmax_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    double m = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
    for (size_t i = 0; i < n; i++) sum += h[i] = exp(z[i] - m);
    for (size_t i = 0; i < n; i++) h[i] /= sum;
}
void vp_rw_softmax_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(z); UNUSED(p);
    double dot = 0;
    for (size_t i = 0; i < n; i++) dot += gh[i] * h[i];
    for (size_t i = 0; i < n; i++) gz[i] = h[i] * (gh[i] - dot);
}
/* softmin(z) = softmax(-z): J = -(diag(h) - h h^T). */
void vp_rw_softmin_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    double m = INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) m = z[i] < m ? z[i] : m;
    for (size_t i = 0; i < n; i++) sum += h[i] = exp(m - z[i]);
    for (size_t i = 0; i < n; i++) h[i] /= sum;
}
void vp_rw_softmin_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    vp_rw_softmax_bwd(z, h, gh, gz, n, p);
    for (size_t i = 0; i < n; i++) gz[i] = -gz[i];
}
/* log_softmax = z - logsumexp(z); J = I - 1 softmax(z)^T. */
void vp_rw_log_softmax_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    double m = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; i++) m = z[i] > m ? z[i] : m;
    for (size_t i = 0; i < n; i++) sum += exp(z[i] - m);
    double lse = m + log(sum);
    for (size_t i = 0; i < n; i++) h[i] = z[i] - lse;
}
void vp_rw_log_softmax_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(z); UNUSED(p);
    double sg = 0;
    for (size_t i = 0; i < n; i++) sg += gh[i];
    for (size_t i = 0; i < n; i++) gz[i] = gh[i] - exp(h[i]) * sg;
}
/* JAX standardize: y = (z - mean) / sqrt(var + epsilon), population variance over the
 * row; with r = (var + eps)^(-1/2): gz = r (gh - mean(gh) - y mean(gh y)). */
static void standardize_moments(const double *z, size_t n, double eps, double *mean, double *r)
{
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) m += z[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) v += (z[i] - m) * (z[i] - m);
    *mean = m;
    *r = 1.0 / sqrt(v / (double)n + eps);
}
void vp_rw_standardize_fwd(const double *z, double *h, size_t n, const double *p)
{
    double m, r;
    standardize_moments(z, n, p[0], &m, &r);
    for (size_t i = 0; i < n; i++) h[i] = (z[i] - m) * r;
}
void vp_rw_standardize_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    double m, r, mg = 0, mgy = 0;
    standardize_moments(z, n, p[0], &m, &r);
    for (size_t i = 0; i < n; i++) {
        mg += gh[i];
        mgy += gh[i] * h[i];
    }
    mg /= (double)n;
    mgy /= (double)n;
    for (size_t i = 0; i < n; i++) gz[i] = r * (gh[i] - mg - h[i] * mgy);
}
/* Rows with a NaN in a (or, when inf_too, an infinite entry): the result is
 * undefined, and the whole output row is NaN. */
static int row_nan(const double *a, size_t n, int inf_too, double *out, size_t nout)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= inf_too ? !isfinite(a[i]) : isnan(a[i]);
    for (size_t i = 0; bad && i < nout; i++) out[i] = NAN;
    return bad;
}

/* sparsemax (Martins & Astudillo 2016; Keras ops.sparsemax): the Euclidean projection
 * of z onto the simplex, h = max(z - tau, 0). Sorting uses h as scratch. On the
 * support S = {h > 0}: gz = gh - mean_S(gh); off it gz = 0. A row with a NaN or an
 * infinite entry has no projection: its h is NaN (a plain comparison with tau would
 * turn NaN into 0), and a NaN in h or gh makes the row's gz NaN, as the product
 * J^T gh would in IEEE arithmetic. */
void vp_rw_sparsemax_fwd(const double *z, double *h, size_t n, const double *p)
{
    UNUSED(p);
    if (row_nan(z, n, 1, h, n)) return;
    memcpy(h, z, n * sizeof *h);
    qsort(h, n, sizeof *h, vp_cmp_double_desc);
    double cum = 0, tau = h[0] - 1.0;
    for (size_t k = 0; k < n; k++) {
        cum += h[k];
        if (1.0 + (double)(k + 1) * h[k] > cum) tau = (cum - 1.0) / (double)(k + 1);
    }
    for (size_t i = 0; i < n; i++) h[i] = z[i] > tau ? z[i] - tau : 0.0;
}
void vp_rw_sparsemax_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, const double *p)
{
    UNUSED(z); UNUSED(p);
    if (row_nan(h, n, 0, gz, n) || row_nan(gh, n, 0, gz, n)) return;
    double sum = 0;
    size_t support = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i] > 0) { sum += gh[i]; support++; }
    double mean = support ? sum / (double)support : 0.0;
    for (size_t i = 0; i < n; i++) gz[i] = h[i] > 0 ? gh[i] - mean : 0.0;
}
