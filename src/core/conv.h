/* conv: what a 2-D convolution layer needs beyond the dense one (core layer) -- the
 * output size, im2col and its adjoint col2im, PyTorch's fan computation for a conv
 * weight and the draws that use it, and the delta-orthogonal kernel.
 *
 * Layout (PyTorch): input x[C_in][H][W] of one example, weight W[C_out][C_in][k][k]
 * (row-major, so a row of the [C_out, C_in k k] matrix is one filter), output
 * z[C_out][H_out][W_out]. Cross-correlation with zero padding:
 *   z[o][y][x] = sum_{i,u,v} W[o][i][u][v] x[i][y s + u - p][x s + v - p] (+ b[o]).
 * im2col writes col[(i k + u) k + v][y W_out + x] = x[i][y s + u - p][x s + v - p]
 * (0 outside), so z = W col is one [C_out, C_in k^2] x [C_in k^2, H_out W_out] GEMM.
 * Pure functions; no state.
 */
#ifndef VP_CONV_H
#define VP_CONV_H

#include <stddef.h>

#include "base/err.h"
#include "core/init.h"
#include "core/rng.h"

/* floor((in + 2 pad - k) / stride) + 1 (PyTorch, dilation 1); <= 0 when the window
 * does not fit. */
int vp_conv_out_dim(int in, int k, int stride, int pad);

typedef struct { int c, h, w, k, stride, pad, ho, wo; } vp_conv_geom;

void vp_im2col_f32(const vp_conv_geom *g, const float *x, float *col);
void vp_im2col_f64(const vp_conv_geom *g, const double *x, double *col);
/* x += col2im(col): the adjoint of im2col (gradient of the input), accumulating. */
void vp_col2im_add_f32(const vp_conv_geom *g, const float *col, float *x);
void vp_col2im_add_f64(const vp_conv_geom *g, const double *col, double *x);
/* The sum, in double, of what col2im adds to x: the col entries that fall inside the
 * input (padding taps excluded), in col2im's order. */
double vp_col2im_sum_f32(const vp_conv_geom *g, const float *col);
double vp_col2im_sum_f64(const vp_conv_geom *g, const double *col);

/* PyTorch _calculate_fan_in_and_fan_out for W[c_out][c_in][k][k]:
 * fan_in = c_in k^2, fan_out = c_out k^2 (k = 1: a dense layer). */
void vp_conv_fans(int c_in, int c_out, int k, size_t *fan_in, size_t *fan_out);

/* 1 if `in` can draw a conv weight with k > 1: PyTorch's eye_ and sparse_ take 2-D
 * tensors only, and data-dependent initializers (lsuv) are not drawn per layer. */
int vp_conv_init_ok(const vp_init *in, int k);

/* Draw W [c_out, c_in k^2] with the registry initializer `in` and the conv fans
 * (k = 1: exactly vp_init_weight(in, c_out, c_in)); the bias (c_out) likewise. */
vp_status vp_conv_init_weight(const vp_init *in, int c_out, int c_in, int k, const vp_rng *rng, double *W,
                              vp_err *err);
vp_status vp_conv_init_bias(const vp_init *in, int c_out, int c_in, int k, const vp_rng *rng, double *b,
                            vp_err *err);

/* Delta-orthogonal kernel (Xiao et al. 2018, algorithm 2; TF ConvolutionDeltaOrthogonal):
 * H = gain x an orthogonal [c_in, c_out] matrix with orthonormal rows (Haar, QR with
 * sign correction; needs c_in <= c_out), W[o][i][centre][centre] = H[i][o], every
 * other tap 0; the centre is (k - 1)/2. Every position then maps ||x|| to gain ||x||
 * (with its whole window inside the input). */
vp_status vp_delta_orthogonal(int c_out, int c_in, int k, double gain, int single, const vp_rng *rng, double *W,
                              vp_err *err);

#endif
