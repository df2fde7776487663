/* iterate: see iterate.h. */
#include "theory/iterate.h"

#include <math.h>

#include "theory/theory.h"

static int same_num(double a, double b) { return a == b || (isnan(a) && isnan(b)); }
static int same_state(const vp_theory_layer *a, const vp_theory_layer *b)
{
    return same_num(a->q, b->q) && same_num(a->c, b->c);
}

vp_status vp_theory_iterate(const vp_theory_ctx *ctx, const vp_act *act, double sigma_w2, double sigma_b2,
                            double q0, double c0, int L, vp_theory_layer *out, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st != VP_OK) return st;
    if (L < 0 || !out) return vp_fail(err, VP_ERR_USAGE, "theory: iterate needs L >= 0 and an output array");
    if (!(sigma_w2 >= 0) || !isfinite(sigma_w2) || !(sigma_b2 >= 0) || !isfinite(sigma_b2))
        return vp_fail(err, VP_ERR_USAGE, "theory: sigma_w2 = %g and sigma_b2 = %g must be finite and >= 0",
                       sigma_w2, sigma_b2);
    if (!(q0 >= 0) || !isfinite(q0)) return vp_fail(err, VP_ERR_USAGE, "theory: q0 = %g must be finite and >= 0", q0);
    int corr = !isnan(c0);
    if (corr && !(c0 >= -1.0 && c0 <= 1.0))
        return vp_fail(err, VP_ERR_USAGE, "theory: c0 = %g must be in [-1, 1]", c0);

    out[0] = (vp_theory_layer){ q0, corr ? c0 : NAN, NAN };
    int l;
    for (l = 1; l <= L; l++) {
        const vp_theory_layer *p = &out[l - 1];
        vp_theory_layer *o = &out[l];
        o->c = o->chi = NAN;
        if (l == 1) {
            o->q = sigma_w2 * q0 + sigma_b2; /* no phi on the input */
            if (corr && o->q > 0) o->c = (sigma_w2 * q0 * c0 + sigma_b2) / o->q;
        } else if (!isfinite(p->q)) {
            o->q = INFINITY;
        } else {
            if ((st = vp_theory_qmap(ctx, act, sigma_w2, sigma_b2, p->q, &o->q, err)) != VP_OK) break;
            if (corr && !isnan(p->c) && p->q > 0 && isfinite(o->q) && o->q > 0 &&
                (st = vp_theory_cmap(ctx, act, sigma_w2, sigma_b2, p->q, p->c, &o->c, err)) != VP_OK)
                break;
        }
        if (isfinite(o->q) && (st = vp_theory_chi1(ctx, act, sigma_w2, o->q, &o->chi, err)) != VP_OK) break;
        if (!isfinite(o->q)) o->q = INFINITY, o->c = NAN;
        if (!(o->q > 0)) o->c = NAN;
        if (o->c > 1.0) o->c = 1.0; /* rounding of c' = q_ab/q' at c = 1 */
        if (o->c < -1.0) o->c = -1.0;
        /* The maps are deterministic functions of (q, c): once a state repeats
         * (a fixed point, or the two-double cycle rounding can settle into), the
         * rest is that cycle, copied rather than recomputed: the same doubles. */
        for (int per = 1; per <= 2 && l - per >= 1; per++)
            if (same_state(o, &out[l - per])) {
                for (int m = l + 1; m <= L; m++) out[m] = out[m - per];
                return VP_OK;
            }
    }
    if (st != VP_OK) vp_err_prefix(err, "theory: iterating the maps, layer %d", l);
    return st;
}
