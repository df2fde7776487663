/* loss: the training losses -- one registry row per loss -- each returning the
 * batch loss and writing its gradient with respect to the logits.
 *
 * Owns: softmax cross-entropy with integer labels and mean-squared error against
 * one-hot targets, in float32 and float64, plus the correct-prediction count the
 * evaluation needs. Not owned: the network's backward pass (mlp), the readout layer.
 *
 * Conventions (PyTorch, torch/nn/modules/loss.py, reduction='mean'):
 *   cross_entropy  L = (1/B) sum_i [ logsumexp_j z_ij - z_i,y_i ]        (nn.CrossEntropyLoss)
 *                  dL/dz_ij = (softmax(z_i)_j - [j == y_i]) / B
 *   mse            L = (1/(B C)) sum_ij (z_ij - t_ij)^2, t = one_hot(y)  (nn.MSELoss on
 *                  F.one_hot(y).float(): the mean over all B*C elements, not over rows)
 *                  dL/dz_ij = 2 (z_ij - t_ij) / (B C)
 * Logits are row-major [B, C]; labels are class indices in [0, C).
 *
 * Precision: every sum, max, exp and log is computed in double whatever the
 * logits' type; float32 logits are widened on load and the gradient is rounded
 * to float once, at the store. The returned loss is always a double.
 *
 * Non-finite logits are never clamped: a NaN anywhere in a row makes that row's
 * loss (and so the batch loss) NaN; a +Inf logit makes the cross-entropy NaN
 * (Inf - Inf in the log-sum-exp, as torch.nn.functional.cross_entropy gives);
 * a label whose logit is -Inf (others finite) gives +Inf; MSE gives Inf or NaN.
 * The gradient is then non-finite too. The runner detects divergence from the loss.
 *
 * Pure functions of their arguments; the table is static const; no allocation.
 */
#ifndef VP_LOSS_H
#define VP_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum { VP_LOSS_CROSS_ENTROPY, VP_LOSS_MSE, VP_LOSS_COUNT } vp_loss_kind;

/* logits [batch, classes] row-major, labels[batch] in [0, classes). On success
 * *loss is the batch loss and, when dlogits is not NULL, dlogits [batch, classes]
 * gets dL/dlogits (it may alias logits: each row is read whole before it is written).
 * Fails (VP_ERR_DATA, nothing written) when batch or classes is 0 or a label is
 * outside [0, classes). */
typedef vp_status (*vp_loss_f32_fn)(const float *logits, const int32_t *labels, size_t batch,
                                    size_t classes, double *loss, float *dlogits, vp_err *err);
typedef vp_status (*vp_loss_f64_fn)(const double *logits, const int32_t *labels, size_t batch,
                                    size_t classes, double *loss, double *dlogits, vp_err *err);

typedef struct {
    const char *name;     /* config spelling ("train.loss") and CSV label */
    const char *aliases;  /* space-separated */
    const char *formula;  /* the loss and its gradient, as text */
    const char *origin;   /* library and reduction convention */
    vp_loss_f32_fn eval_f32;
    vp_loss_f64_fn eval_f64;
} vp_loss_info;

const vp_loss_info *vp_loss_get(vp_loss_kind k); /* k < VP_LOSS_COUNT, else abort */
vp_loss_kind vp_loss_find(const char *name);     /* VP_LOSS_COUNT if unknown */
/* Space-separated canonical names ("cross_entropy mse"). */
void vp_loss_names(char *buf, size_t len);

/* The two losses (also reachable through the table). */
vp_status vp_cross_entropy_f32(const float *logits, const int32_t *labels, size_t batch,
                               size_t classes, double *loss, float *dlogits, vp_err *err);
vp_status vp_cross_entropy_f64(const double *logits, const int32_t *labels, size_t batch,
                               size_t classes, double *loss, double *dlogits, vp_err *err);
vp_status vp_mse_onehot_f32(const float *logits, const int32_t *labels, size_t batch,
                            size_t classes, double *loss, float *dlogits, vp_err *err);
vp_status vp_mse_onehot_f64(const double *logits, const int32_t *labels, size_t batch,
                            size_t classes, double *loss, double *dlogits, vp_err *err);

/* Dispatch on the kind (k < VP_LOSS_COUNT). */
vp_status vp_loss_f32(vp_loss_kind k, const float *logits, const int32_t *labels, size_t batch,
                      size_t classes, double *loss, float *dlogits, vp_err *err);
vp_status vp_loss_f64(vp_loss_kind k, const double *logits, const int32_t *labels, size_t batch,
                      size_t classes, double *loss, double *dlogits, vp_err *err);

/* Rows whose prediction equals the label. The prediction is torch.argmax's: the
 * first index of the row maximum, a NaN counting as the maximum (so a row with a
 * NaN predicts its first NaN). Labels are not checked (a label outside the range
 * never matches). */
size_t vp_loss_correct_f32(const float *logits, const int32_t *labels, size_t batch, size_t classes);
size_t vp_loss_correct_f64(const double *logits, const int32_t *labels, size_t batch, size_t classes);

#endif
