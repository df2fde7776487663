/* blocks: mean-field predictions for a block network (core/net.h) at initialization --
 * the per-layer second moments of every layer output, of the backward probe's
 * gradients, and each layer's backward gain, layer by layer through dense, conv2d,
 * flatten, the normalization layers, residual adds and (backward only) pooling.
 *
 * The state of a tensor is kept per spatial position p (the channels of a position are
 * exchangeable in mean field): its second moment s[p] = E[x^2], its mean mu[p] = E[x]
 * and the second moment of the probe's gradient g[p] = E[(dL/dx)^2]. A flat tensor has
 * one position, except the output of flatten, which keeps its input's map.
 *
 * Forward (zero-mean independent weights, Poole et al. 2016; conv as dense, Xiao et al.
 * 2018 §2; residual streams, Yang & Schoenholz 2017; residual-norm-conv.md §2, §3):
 *   dense   q = sigma_w2 avg_p s_in[p] + sigma_b2,   s_out = E[phi(sqrt(q) z)^2], mu_out = E[phi]
 *   conv2d  q[p] = (sigma_w2 / k^2) sum over the taps t of p inside the input of
 *           s_in[p stride + t - padding] + sigma_b2  (sigma_w2 = C_in k^2 Var[W]); a tap
 *           in the zero padding adds nothing, so a border position's q is lower: the map
 *           is exact, not an average (delta_orthogonal: only the centre tap, weight 1)
 *   flatten the map as it is
 *   layernorm, batchnorm (mean-centring, V = avg s - (avg mu)^2):
 *           s_out[p] = (s[p] - 2 mu[p] m + m^2) / (V + eps), mu_out[p] = (mu[p] - m)/sqrt(V + eps),
 *           m = avg mu: q reset to V/(V + eps) ~ 1 (gamma = 1, beta = 0)
 *   rmsnorm S = avg s: s_out = s / (S + eps), mu_out = mu / sqrt(S + eps)
 *   residual out = skip + alpha branch, the branch's last weight layer zero-mean and
 *           independent of the skip: s = s_skip + alpha^2 s_branch + 2 alpha mu_skip mu_branch,
 *           mu = mu_skip + alpha mu_branch (so Var adds: Var_skip + alpha^2 Var_branch)
 *   pools   no prediction (the pooled moments depend on the spatial covariance): NaN,
 *           and NaN after them until a normalization resets q.
 * Backward (gradient independence, Schoenholz et al. 2017; the probe g = 1 at the output):
 *   dense   gz = g_out E[phi'(sqrt(q) z)^2];  g_in += sigma_w2 (n_out / n_in) gz
 *   conv2d  gz[p] = g_out[p] E[phi'^2](q[p]); g_in[src] += (sigma_w2 / k^2)(C_out / C_in) gz[p]
 *           for every (p, tap) reading src (delta: the centre tap, weight sigma_w2 C_out/C_in)
 *   norms   g_in += g_out (1 - k/n) n / ((d - 2) V + n eps), d = n - 1 degrees of freedom
 *           (rmsnorm: n, for zero-mean values; an approximation otherwise): the Jacobian
 *           (1/sigma)(I - 11^T/n - yy^T/n) projects out k = 2 directions (rmsnorm: k = 1,
 *           V -> S) of the n values it normalizes together (layernorm: C H W; rmsnorm:
 *           C H W) and divides by the norm's own sample sigma^2, E[1/sigma^2] = n / ((d - 2) V)
 *           (a chi-square's inverse mean); no prediction for d <= 2.
 *           batchnorm: NaN -- its values are a channel across the batch (B H W), whose
 *           variance V (1 - c) depends on the examples' correlation c, which is not carried
 *   residual g_skip += g_out, g_branch_last = alpha^2 g_out: the block's gain
 *           g_in / g_out = 1 + alpha^2 chi_branch
 *   avgpool (stride = size) each covered entry gets g_out / k^2 of its window: g_in =
 *           g_out / k^4. maxpool: NaN (the window's maximum takes the whole gradient, and
 *           phi' there is not independent of its being the maximum); other strides: NaN.
 * For a positively homogeneous phi (identity, ReLU family) E[phi'^2] does not depend on
 * q, so the backward pass stays known where the forward is not (after a pool).
 *
 * No global state; the caller owns every array.
 */
#ifndef VP_THEORY_BLOCKS_H
#define VP_THEORY_BLOCKS_H

#include "base/err.h"
#include "core/net.h"
#include "theory/expect.h"

/* What one layer's weights look like to the theory: sigma_w2 = fan_in Var[W] (for
 * delta_orthogonal gain^2 C_in / C_out, the centre tap's), sigma_b2 = Var[b]; NaN when
 * the draw is not zero-mean i.i.d. (no prediction through the layer). */
typedef struct { double sigma_w2, sigma_b2; } vp_theory_wvar;

typedef struct {
    const vp_layer_spec *ls; /* n layers */
    int n;
    vp_shape in;             /* input shape */
    const vp_shape *shapes;  /* n output shapes (vp_net_shapes) */
    const vp_theory_wvar *w; /* n entries (read for dense and conv2d only) */
    int batch;               /* B (batchnorm's group is B H W) */
    double rms_eps;          /* rmsnorm's eps: the precision's machine epsilon */
    const double *in_s, *in_mu; /* input moments per position: H W entries (1 for a flat input) */
} vp_theory_net_in;

/* Per layer i (n entries each; NaN where there is no prediction):
 *   pre[i]  dense/conv2d: E[(z)^2] averaged over positions; other layers: the predicted
 *           variance of the output over all its entries, avg s - (avg mu)^2 (what layers.csv's
 *           pre_var measures);
 *   grad[i] dense/conv2d: E[(dL/dz)^2]; other layers E[(dL/d out)^2];
 *   chi[i]  dense/conv2d: sigma_w2 avg_p E[phi'(sqrt(q[p]) z)^2] (the MLP's chi^l); other
 *           layers their backward gain avg g_in / avg g_out through that layer alone
 *           (residual: 1 + alpha^2 chi_branch, the whole block); may be NULL;
 *   post[i] the predicted variance of layer i's output over all its entries, avg s -
 *           (avg mu)^2 (what layers.csv's post_var measures: for dense/conv2d the
 *           activation's output phi(z), for the others = pre[i]); may be NULL;
 *   gpost[i] E[(dL/d out_i)^2], the gradient at layer i's output once every reader of it
 *           (the next layer, a residual's skip) has added its part (layers.csv's
 *           grad_post_var; the probe's 1 at the last layer); may be NULL.
 * ctx may be NULL (rules made for this call). VP_ERR_NUMERIC when some expectation could
 * not be computed to accuracy: every other cell stands, and the message names the first
 * such layer; VP_ERR_NOMEM. */
vp_status vp_theory_net_predictions(const vp_theory_ctx *ctx, const vp_theory_net_in *in, double *pre, double *grad,
                                    double *chi, double *post, double *gpost, vp_err *err);

#endif
