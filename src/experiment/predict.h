/* predict: mean-field theory beside a run (experiment layer, part of the runner):
 * the theory's inputs read off a variant and its network, per-layer predictions
 * of Var[z^l] and Var[dL/dz^l], chi_1 and xi_c, and the order-to-chaos line of a
 * sigma_w x sigma_b sweep (critical_line.dat, read by the heatmap chart).
 * The formulas are theory.h's; this module only decides what to feed them.
 */
#ifndef VP_PREDICT_H
#define VP_PREDICT_H

#include "base/err.h"
#include "core/mlp.h"
#include "experiment/config.h"
#include "theory/theory.h"

/* The mean-field picture of one run. The caller owns the three arrays (L entries);
 * everything that is not predicted is NaN (an empty cell). */
typedef struct {
    double *pre, *grad, *chi; /* per layer: E[(z^l)^2], E[(dL/dz^l)^2], chi^l (theory.h) */
    double *corr;             /* per layer: c^l, the correlation map iterated from c0
                                 (vp_theory_corr_predictions); may be NULL */
    double *post, *gpost;     /* block networks (vp_predict_net): per layer the output's
                                 variance and E[(dL/d out)^2] (theory/blocks.h); may be NULL */
    double chi1, xi_c;        /* at the last layer of the hidden stack (vp_mlp_stack) */
    double xi_grad;           /* -1/ln chi1: the gradient depth scale, negative when chi1 > 1
                                 (gradients grow towards the input); +inf at chi1 = 1 */
    double c_star;            /* the correlation map's fixed point there (NaN if none) */
    int partial;              /* some per-layer prediction could not be computed to
                                 accuracy: those cells are empty, and note says why */
    vp_err note;
} vp_prediction;

/* Fill *out for variant var, from sigma_w^2(l), sigma_b^2(l), the mean square q0
 * of the run's own input batch x and its correlation c0 (input.correlation when given,
 * else vp_batch_corr of x): the per-layer predictions (vp_theory_layer_predictions)
 * where the theory applies, and chi_1, xi_c of the hidden stack's last layer (NaN where
 * the maps have no fixed point, e.g. an exploding tanh net; an exploding ReLU net has
 * chi_1 and no xi_c). A prediction the quadrature cannot make to accuracy is not an
 * error: its cells stay empty and out->partial and out->note say so. Fails only on
 * VP_ERR_NOMEM. */
vp_status vp_predict_run(const vp_theory_ctx *ctx, const vp_variant *var, const vp_mlp *m, const double *x,
                         vp_prediction *out, vp_err *err);

/* The same for a block network (var->net; experiment/predict_net.c, theory/blocks.h):
 * pre, grad, chi (and post, gpost when given) per layer from the layer list and the
 * run's input batch x (B x C H W);
 * corr and the runs.csv quantities (chi1, xi_c, xi_grad, c_star) are NaN -- a list of
 * blocks has no fixed point to take them at. Fails only on VP_ERR_NOMEM. */
vp_status vp_predict_net(const vp_theory_ctx *ctx, const vp_variant *var, const double *x, vp_prediction *out,
                         vp_err *err);

/* Phase diagram (Poole et al. 2016, Schoenholz et al. 2017): when the sweep is over
 * network.init.sigma_w and network.init.sigma_b of mean_field (in either order), the order-to-chaos line
 * chi_1 = 1 as (sigma_w, sigma_b) points over the swept sigma_b range; points where
 * chi_1 = 1 is unreachable are left out. `wanted` says whether the sweep is one. */
#define VP_CRIT_STEPS 100
typedef struct {
    int wanted, n;
    double sw[VP_CRIT_STEPS + 1], sb[VP_CRIT_STEPS + 1];
    vp_status s;                 /* a failure to make the quadrature rules, reported at write */
    vp_err err;
} vp_crit_line;

/* Compute the points (~20 ms of quadrature; the runner does it on the main thread
 * while the other workers start on the runs, so it is not a serial tail), with the
 * quadrature rules of ctx (NULL: made here, ~5 ms). */
void vp_predict_critical_line(const vp_theory_ctx *ctx, const vp_experiment *e, vp_crit_line *cl);
/* Write <out_dir>/critical_line.dat ("sigma_w sigma_b" lines) when wanted. */
vp_status vp_predict_critical_line_write(const vp_experiment *e, const char *out_dir, const vp_crit_line *cl,
                                         vp_err *err);

#endif
