/* loss: see loss.h. Formulas: PyTorch torch/nn/modules/loss.py (CrossEntropyLoss,
 * MSELoss, reduction='mean') and torch/nn/functional.py; the gradients are the
 * textbook derivatives of those means (checked against finite differences in
 * tests/test_loss.c). The precision-generic code is in loss_impl.inc. */
#include "core/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"

/* Shapes and labels, before anything is written. */
static vp_status check_args(const int32_t *labels, size_t batch, size_t classes, vp_err *err)
{
    if (batch == 0 || classes == 0)
        return vp_fail(err, VP_ERR_DATA, "loss: empty batch (%zu rows of %zu classes)", batch, classes);
    for (size_t i = 0; i < batch; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return vp_fail(err, VP_ERR_DATA, "loss: label %ld of row %zu is outside [0, %zu)",
                           (long)labels[i], i, classes);
    return VP_OK;
}

#define REAL float
#define FN(x) x##_f32
#include "core/loss_impl.inc"
#undef REAL
#undef FN
#define REAL double
#define FN(x) x##_f64
#include "core/loss_impl.inc"
#undef REAL
#undef FN

static const vp_loss_info LOSS_TABLE[VP_LOSS_COUNT] = {
    [VP_LOSS_CROSS_ENTROPY] = {
        .name = "cross_entropy",
        .aliases = "ce crossentropy softmax_cross_entropy",
        .formula = "mean_i [logsumexp_j z_ij - z_i,y_i]; dL/dz = (softmax(z) - onehot(y)) / B",
        .origin = "PyTorch nn.CrossEntropyLoss (reduction='mean', integer targets)",
        .eval_f32 = vp_cross_entropy_f32,
        .eval_f64 = vp_cross_entropy_f64,
    },
    [VP_LOSS_MSE] = {
        .name = "mse",
        .aliases = "mean_squared_error",
        .formula = "mean_ij (z_ij - onehot(y)_ij)^2 over all B*C elements; dL/dz = 2 (z - onehot(y)) / (B C)",
        .origin = "PyTorch nn.MSELoss (reduction='mean') on F.one_hot targets (Keras MeanSquaredError: same value)",
        .eval_f32 = vp_mse_onehot_f32,
        .eval_f64 = vp_mse_onehot_f64,
    },
};

const vp_loss_info *vp_loss_get(vp_loss_kind k)
{
    if ((unsigned)k >= VP_LOSS_COUNT) abort(); /* internal invariant: kinds come from vp_loss_find */
    return &LOSS_TABLE[k];
}

vp_loss_kind vp_loss_find(const char *name)
{
    for (int k = 0; k < VP_LOSS_COUNT; k++)
        if (strcmp(LOSS_TABLE[k].name, name) == 0 || vp_choice_index(LOSS_TABLE[k].aliases, name) >= 0)
            return (vp_loss_kind)k;
    return VP_LOSS_COUNT;
}

void vp_loss_names(char *buf, size_t len)
{
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (int k = 0; k < VP_LOSS_COUNT && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? " " : "", LOSS_TABLE[k].name);
}

vp_status vp_loss_f32(vp_loss_kind k, const float *logits, const int32_t *labels, size_t batch,
                      size_t classes, double *loss, float *dlogits, vp_err *err)
{
    return vp_loss_get(k)->eval_f32(logits, labels, batch, classes, loss, dlogits, err);
}

vp_status vp_loss_f64(vp_loss_kind k, const double *logits, const int32_t *labels, size_t batch,
                      size_t classes, double *loss, double *dlogits, vp_err *err)
{
    return vp_loss_get(k)->eval_f64(logits, labels, batch, classes, loss, dlogits, err);
}
