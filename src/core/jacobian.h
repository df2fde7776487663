/* jacobian: singular values of the input-output Jacobian of an MLP for one
 * input example (Pennington, Schoenholz & Ganguli 2017; papers.md §5):
 *   J = D^L W^L ... D^1 W^1,   D^l = diag(phi'(z^l)) at that example,
 * J of shape n_L x n_0. The product is formed left to right with cblas_dgemm
 * (two work buffers of max_l n_l x n_0 doubles), the singular values by LAPACK
 * dgesdd (values only). Mean squared singular value = tr(J J^T)/min(n_0, n_L)
 * when n_0 = n_L; the mean-field prediction is (sigma_w2 mu_1)^L = chi_1^L.
 * Plain arrays, no state; all memory is allocated and freed inside the call.
 */
#ifndef VP_JACOBIAN_H
#define VP_JACOBIAN_H

#include "base/err.h"

/* widths: n_0..n_L (L+1 entries, each >= 1), L >= 1.
 * W[l] (l = 0..L-1): row-major n_{l+1} x n_l (layer l+1's weight, z = W h).
 * D[l]: length n_{l+1}, phi'(z^{l+1}) for the example; D == NULL means all ones
 * (a linear network); an individual D[l] == NULL also means ones.
 * sv: caller array of min(n_0, n_L) doubles, written in descending order.
 * Errors: VP_ERR_USAGE (bad shapes), VP_ERR_NOMEM, VP_ERR_NUMERIC (LAPACK). */
vp_status vp_jacobian_svals(int L, const int *widths, const double *const *W,
                            const double *const *D, double *sv, vp_err *err);

/* The Jacobian itself: J (caller array of n_L x n_0 doubles, row-major).
 * Same conventions and errors as vp_jacobian_svals. */
vp_status vp_jacobian_product(int L, const int *widths, const double *const *W,
                              const double *const *D, double *J, vp_err *err);

#endif
