/* jacobian: singular values of the input-output Jacobian of an MLP for one
 * input example (Pennington, Schoenholz & Ganguli 2017; papers.md §5):
 *   J = D^L W^L ... D^1 W^1,   D^l = diag(phi'(z^l)) at that example,
 * J of shape n_L x n_0. The product is streamed one layer at a time, so only a
 * few blocks are alive however deep the net: M_1 = D^1 W^1, M_l = (D^l W^l) M_{l-1}
 * (the rows of W^l scaled by phi' first, then cblas_dgemm; two work buffers of
 * max_l n_l x n_0 doubles and one of max_l n_l x n_{l-1}). The singular values come
 * from LAPACK dgesdd (values only). Mean squared singular value = tr(J J^T)/min(n_0, n_L)
 * when n_0 = n_L; the mean-field prediction is (sigma_w2 mu_1)^L = chi_1^L.
 *
 * One product, two sources of layers: plain arrays (vp_jacobian_product,
 * vp_jacobian_svals) and a network after its forward pass (vp_jacobian_mlp_svals,
 * what `varprop run` measures). Both go through the same streamed product and SVD,
 * so the tests of the array form test the arithmetic the runner uses.
 * No state; all memory is allocated and freed inside each call.
 */
#ifndef VP_JACOBIAN_H
#define VP_JACOBIAN_H

#include "base/err.h"
#include "core/mlp.h"

/* widths: n_0..n_L (L+1 entries, each >= 1), L >= 1.
 * W[l] (l = 0..L-1): row-major n_{l+1} x n_l (layer l+1's weight, z = W h).
 * D[l]: length n_{l+1}, phi'(z^{l+1}) for the example; D == NULL means all ones
 * (a linear network); an individual D[l] == NULL also means ones.
 * sv: caller array of min(n_0, n_L) doubles, written in descending order. A J with
 * a NaN or an infinite entry (an overflowing network) is a result, not an error:
 * every singular value is NaN, and LAPACK is not called (so it prints nothing).
 * Errors: VP_ERR_USAGE (bad shapes), VP_ERR_NOMEM, VP_ERR_NUMERIC (LAPACK did not
 * converge). */
vp_status vp_jacobian_svals(int L, const int *widths, const double *const *W,
                            const double *const *D, double *sv, vp_err *err);

/* The Jacobian itself: J (caller array of n_L x n_0 doubles, row-major).
 * Same conventions and errors as vp_jacobian_svals. */
vp_status vp_jacobian_product(int L, const int *widths, const double *const *W,
                              const double *const *D, double *J, vp_err *err);

/* Singular values of the Jacobian of network m at example b of its batch, after
 * vp_mlp_forward (W^l and phi'(z^l) read with vp_mlp_export_layer). The activation
 * must be elementwise, so that D^l is diagonal (configs refuse the Jacobian for
 * row-wise ones). sv: min(n_0, n_L) doubles, descending; all NaN when J has a
 * NaN/Inf entry (as vp_jacobian_svals). Errors: VP_ERR_NOMEM, VP_ERR_NUMERIC. */
vp_status vp_jacobian_mlp_svals(const vp_mlp *m, int b, double *sv, vp_err *err);

#endif
