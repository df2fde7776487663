/* advise: which initialization keeps signal and gradient alive through L layers
 * of an activation -- a point (sigma_w2, sigma_b2) of the critical line chi_1 = 1,
 * its predicted forward and backward ratios at depth L, and how far a network of
 * finite width is expected to stray from them (theory layer; `varprop advise`).
 *
 * The ratios are the ones `varprop run` measures (runs.csv act_ratio, grad_ratio):
 *   forward  q^L / q^1                     (Var[z^L] / Var[z^1])
 *   backward prod_{l=1}^{L-1} chi^l         (Var[dL/dz^1] / Var[dL/dz^L], equal widths)
 * from the maps iterated from the input's q^0 (iterate.h), not from the fixed
 * point: a network that starts far from q* spends layers getting there.
 *
 * Finite width (docs/theory.md, "varprop advise"): to leading order in 1/n the
 * log of a measured ratio is Gaussian with variance V, and the theory predicts
 * the ratio's mean, so ln(measured) ~ N(ln(predicted) - V/2, V). V comes from a
 * linearization of the layer-to-layer fluctuations (Hanin & Rolnick 2018 for
 * ReLU: V = 5 (L-1)/n): per layer, the sample mean of phi(z)^2 over n units
 * fluctuates by kappa_f/n (kappa_f = E[phi^4]/E[phi^2]^2 - 1), carried to the
 * last layer by the length map's log-slopes; the gradient's sample mean of
 * phi'(z)^2 (dL/dh)^2 by (kappa_b + 2 (kappa_b + 1)/B)/n (kappa_b =
 * E[phi'^4]/E[phi'^2]^2 - 1; the probe is independent across the B examples),
 * plus the forward deviations' effect on chi^l. Forward noise is that of one
 * example (examples become correlated with depth), an upper bound.
 *
 * The point chosen: the point of the chi_1 = 1 line (parametrized by its fixed
 * point q*: sigma_w2 = 1/E[phi'^2], sigma_b2 = q* - sigma_w2 E[phi^2] >= 0) with the
 * smallest predicted root-mean-square of ln(measured ratio), the worse of the two
 * ratios, at depth L and width n; the sigma_b2 = 0 point first when it ties.
 * Or, with a given sigma_b2, the point theory.h's vp_theory_critical gives there.
 *
 * Matched input: where no point of the line keeps both infinite-width ratios within a
 * factor 2 for the given input (GELU: q = 0 repels, and from E[x^2] = 1 the first layer
 * starts far below every usable q*, so the length map spends the depth getting there),
 * the advice is the line's point of least rms with the input scaled so that the first
 * layer starts at the fixed point: q^1 = sigma_w2 q0 + sigma_b2 = q*, i.e.
 * q0 = E[phi(sqrt(q*) z)^2] (the input looks like a layer's output at q*). Then every
 * layer sits at q*, chi^l = 1, and both ratios are 1 at infinite width; the config
 * gets "input": {"std": sqrt(q0)} (config input.std). Rule VP_ADVISE_MATCHED_INPUT.
 *
 * The search over the line covers q* = 10^(k/4), k = VP_ADVISE_GRID_LO..VP_ADVISE_GRID_HI
 * (1e-4 .. 1e4). Where the least rms found is at an end of that range, the range cut the
 * search short: the reported point is still on the line (q* is its length map's fixed
 * point by construction), but not the line's best -- the rms still falls towards the edge
 * (e.g. tanhshrink and softshrink, linear in their tails: the rms falls as q* -> inf
 * towards a linear network's). The advice says so (q_edge below) and probes one grid step
 * outside.
 *
 * Pure functions of their arguments; no state.
 */
#ifndef VP_ADVISE_H
#define VP_ADVISE_H

#include "base/err.h"
#include "core/act.h"
#include "theory/expect.h"

/* Significant digits of the advised numbers: sigma_w2 and sigma_b2 (a
 * variance_scaling scale), and sigma_w, sigma_b (mean_field, a gain, a bias std),
 * each rounded on its own; the predictions are for the rounded sigma_w, sigma_b. */
#define VP_ADVISE_DIGITS 9
/* Largest depth advised (the maps are followed layer by layer). */
#define VP_ADVISE_MAX_DEPTH 100000

/* The fixed points q* = 10^(k/4) the line is searched at, k = GRID_LO..GRID_HI. */
#define VP_ADVISE_GRID_LO (-16)
#define VP_ADVISE_GRID_HI 16

/* The network the advice is for: depth, equal widths n_0 = ... = n_L = width,
 * batch B (the backward fluctuations average over the batch's probes), and the
 * input's E[x^2] (1 for every input distribution of a config). */
typedef struct {
    int depth, width, batch;
    double q0;
} vp_advise_net;

typedef enum {
    VP_ADVISE_BEST,     /* the line's point of least predicted rms ln(ratio) */
    VP_ADVISE_GIVEN_SB, /* the line's point at the caller's sigma_b2 */
    VP_ADVISE_MATCHED_INPUT, /* VP_ADVISE_BEST missed a factor 2: least rms with q^1 = q* (above) */
} vp_advise_rule;

typedef struct {
    vp_advise_rule rule;
    double sigma_w2, sigma_b2; /* the point, to VP_ADVISE_DIGITS digits */
    double sigma_w, sigma_b;   /* sqrt(sigma_w2), sqrt(sigma_b2) to VP_ADVISE_DIGITS digits: the
                                  predictions below are for sigma_w^2, sigma_b^2 of these
                                  (within 1e-8 of sigma_w2, sigma_b2) */
    double q_star;             /* the line's fixed point: 0 (the q* -> 0 limit), NAN (every q
                                  is fixed: homogeneous phi at sigma_b2 = 0), +inf (the map
                                  diverges: homogeneous phi with sigma_b2 > 0), else q* */
    double chi1;               /* sigma_w^2 E[phi'^2] at q* (at q = 1 where q* is NAN or inf):
                                  1 up to the rounding of sigma_w */
    double qslope;             /* slope of the length map at q* (> 1: q* repels), for sigma_w^2 */
    double fwd, bwd;           /* mean-field forward and backward ratios at depth L */
    double var_fwd, var_bwd;   /* predicted variance of ln(measured ratio) at width n */
    double rms;                /* max over the two of sqrt((ln ratio - V/2)^2 + V); +inf
                                  when a ratio is 0, infinite or undefined */
    double input_std;          /* the input's std the predictions are for: sqrt(net->q0), or for
                                  VP_ADVISE_MATCHED_INPUT sqrt(E[phi^2] at q*) to VP_ADVISE_DIGITS
                                  digits (the predictions use its square) */
    double unit_rms;           /* VP_ADVISE_MATCHED_INPUT: the rms the best point had with the
                                  given input (why it was not kept); else = rms */
    int q_edge;                /* +1 (-1): q* is the top (bottom) of the searched range and its rms
                                  beat the grid point next inside: the line's least rms is not
                                  bracketed within the range; 0: q* is inside (or not searched:
                                  VP_ADVISE_GIVEN_SB, a homogeneous phi, the sigma_b2 = 0 point) */
    double q_beyond;           /* q_edge != 0: the grid's next q* outside the range (1e4 10^(1/4), or
                                  1e-4 10^(-1/4)); else NAN */
    double rms_beyond;         /* the rms at q_beyond's point of the line, with the same input rule
                                  (+inf where the line has no usable point there); NAN if q_edge = 0 */
    int beyond_better;         /* q_edge != 0 and rms_beyond beats the rms at q*: a better point of
                                  the line lies outside the range; 0 otherwise (the least rms is
                                  then near the edge, between its inner neighbour and q_beyond) */
} vp_advice;

/* The predictions for the point (sigma_w2, sigma_b2) as given: fwd, bwd, var_fwd,
 * var_bwd and rms, with sigma_w2, sigma_b2 set to the arguments (no rounding; the
 * other fields are left for the caller). */
vp_status vp_advise_eval(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, double sigma_w2,
                         double sigma_b2, vp_advice *out, vp_err *err);

/* The advice for act on net: with sigma_b2 NAN the point of least predicted rms
 * (VP_ADVISE_BEST, or VP_ADVISE_MATCHED_INPUT when that misses a factor 2 at infinite
 * width), else the critical point at that sigma_b2 >= 0. VP_ERR_USAGE for a row-wise
 * activation or a network out of range (depth 1..VP_ADVISE_MAX_DEPTH, width and
 * batch >= 1, q0 > 0); VP_ERR_NUMERIC when the line has no usable point (no
 * sigma_b2 >= 0 with chi_1 = 1, or every point's ratios are 0 or infinite at
 * this depth), with the reason. */
vp_status vp_advise(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, double sigma_b2,
                    vp_advice *out, vp_err *err);

#endif
