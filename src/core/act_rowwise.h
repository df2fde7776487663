/* act_rowwise: the row-wise activations of the act registry (GLU, softmax,
 * log_softmax, softmin, standardize, sparsemax) -- each a forward h = F(z) over
 * one example's whole pre-activation row and its backward, the vector-Jacobian
 * product gz = J_F(z)^T gh. Internal to the act module: only act.c's table
 * names these functions (act.h, vp_act_info.row_fwd / row_bwd, says how they
 * are called). Double precision, libm (not speed-critical); GLU's logistic is
 * the sigmoid row's (act_scalar.h). */
#ifndef VP_ACT_ROWWISE_H
#define VP_ACT_ROWWISE_H

#include <stddef.h>

#define VP_RW_DECLARE(N)                                                                          \
    void vp_rw_##N##_fwd(const double *z, double *h, size_t n, const double *p);                \
    void vp_rw_##N##_bwd(const double *z, const double *h, const double *gh, double *gz, size_t n, \
                         const double *p);

VP_RW_DECLARE(glu)
VP_RW_DECLARE(softmax)
VP_RW_DECLARE(log_softmax)
VP_RW_DECLARE(softmin)
VP_RW_DECLARE(standardize)
VP_RW_DECLARE(sparsemax)

#undef VP_RW_DECLARE

#endif
