/* iterate: the mean-field maps followed layer by layer from the input -- the
 * length map q^l, the correlation map c^l and chi^l, the slope of the
 * correlation map at c = 1 evaluated at that layer's own q^l (theory layer).
 *
 * theory.h gives the fixed points q*, c* and chi_1 at q*; a finite network starts
 * from the input's q^0 and may be far from q* for many layers (tanh at sigma_b2 =
 * 0 from q^0 = 1 approaches q* = 0 only algebraically), so the per-layer values
 * are what a measurement at layer l should be compared with.
 *
 * Conventions (docs/theory.md): z^l = h^{l-1} W^lT + b^l, h^0 = x (no phi on the
 * input), sigma_w2 = fan_in Var[W], sigma_b2 = Var[b]:
 *   q^1 = sigma_w2 q^0 + sigma_b2,            q^{l+1} = sigma_w2 E[phi(sqrt(q^l) z)^2] + sigma_b2
 *   c^1 = (sigma_w2 q^0 c^0 + sigma_b2)/q^1,  c^{l+1} = vp_theory_cmap(q^l, c^l)
 *   chi^l = sigma_w2 E[phi'(sqrt(q^l) z)^2]   (l >= 1; the input has no phi, chi^0 = NAN)
 * The q^l are the same doubles as vp_theory_layer_predictions' pre_var. No state.
 */
#ifndef VP_ITERATE_H
#define VP_ITERATE_H

#include "base/err.h"
#include "core/act.h"
#include "theory/expect.h"

/* Most layers `varprop theory --iterate` follows. */
#define VP_THEORY_MAX_ITERATE 100000

/* One layer of the iterated maps. */
typedef struct {
    double q;   /* q^l = E[(z^l)^2] (l = 0: the input's E[x^2]); +inf once the map overflows */
    double c;   /* c^l, the correlation of z^l between two inputs; NAN when not asked
                   (c0 = NAN), or undefined (q^l = 0 or not finite) */
    double chi; /* chi^l = sigma_w2 E[phi'(sqrt(q^l) z)^2]; NAN at l = 0 and where q^l is not finite */
} vp_theory_layer;

/* out[0..L] (L + 1 entries) for 0 <= L: the maps from q0 >= 0 and, unless c0 is
 * NAN, c0 in [-1, 1]. A diverging length map is not an error (q^l becomes +inf
 * and the later c^l, chi^l NAN, as the measurement overflows too). VP_ERR_USAGE
 * for a row-wise activation or an argument out of range; VP_ERR_NUMERIC if an
 * expectation cannot be computed (the message names the layer). */
vp_status vp_theory_iterate(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2, double sigma_b2,
                            double q0, double c0, int L, vp_theory_layer *out, vp_err *err);

#endif
