/* advise: see advise.h; the model and the rule are derived in docs/theory.md
 * ("varprop advise"). */
#include "theory/advise.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/normal.h"
#include "theory/iterate.h"
#include "theory/theory.h"

/* E[phi^4]/E[phi^2]^2 - 1 by the trapezoid rule on z in [-12, 12] with step 1/100:
 * it only sets the size of a fluctuation, so ~1e-4 relative is plenty (the
 * Gaussian weight makes the rule spectrally accurate for smooth phi; a kink costs
 * O(h^2)). 0 where E[phi^2] = 0. */
#define KF_ZMAX 12.0
#define KF_STEPS 2400

static double kappa_f(const vp_act *act, double q)
{
    double s2 = 0.0, s4 = 0.0, rq = sqrt(q), h = 2.0 * KF_ZMAX / KF_STEPS;
    for (int i = 0; i <= KF_STEPS; i++) {
        double z = -KF_ZMAX + h * i, w = exp(-0.5 * z * z) * ((i == 0 || i == KF_STEPS) ? 0.5 : 1.0);
        double f = vp_act_f(act, rq * z), f2 = f * f;
        s2 += w * f2;
        s4 += w * f2 * f2;
    }
    s2 *= h * VP_INV_SQRT_2PI, s4 *= h * VP_INV_SQRT_2PI;
    return s2 > 0 ? s4 / (s2 * s2) - 1.0 : 0.0;
}

/* What the fluctuation model needs at one layer's q. */
typedef struct {
    double q;            /* the layer's q^l */
    double e2, slope;    /* E[phi^2], d/dq E[phi^2] */
    double kf, kb;       /* kappa_f, kappa_b (advise.h) */
    double r;            /* d ln E[phi'^2] / d ln q */
} lstat;

#define R_STEP 1e-3 /* central difference in ln q: error ~1e-6 relative, for a fluctuation size */

static vp_status layer_stat(const vp_theory_ctx *ctx, const vp_act *act, double q, lstat *s, vp_err *err)
{
    double d2 = 0.0, d4 = 0.0, dp = 0.0, dm = 0.0;
    static const vp_theory_exp1 K[4] = { VP_EXP_PHI2, VP_EXP_SLOPE, VP_EXP_DPHI2, VP_EXP_DPHI4 };
    double v[4];
    vp_status st = vp_theory_expect_many(ctx, act, q, 4, K, v, err);
    if (st == VP_OK) s->e2 = v[0], s->slope = v[1], d2 = v[2], d4 = v[3];
    if (st == VP_OK) st = vp_theory_expect(ctx, act, VP_EXP_DPHI2, q * exp(R_STEP), &dp, err);
    if (st == VP_OK) st = vp_theory_expect(ctx, act, VP_EXP_DPHI2, q * exp(-R_STEP), &dm, err);
    if (st != VP_OK) return st;
    s->q = q;
    s->kf = kappa_f(act, q);
    s->kb = d2 > 0 ? d4 / (d2 * d2) - 1.0 : 0.0;
    s->r = (dp > 0 && dm > 0) ? (log(dp) - log(dm)) / (2.0 * R_STEP) : 0.0;
    return VP_OK;
}

/* sqrt((ln x - v/2)^2 + v): the rms of ln(measured) when ln(measured) ~ N(ln x - v/2, v). */
static double rms_ln(double x, double v)
{
    if (!(x > 0) || !isfinite(x) || !isfinite(v)) return INFINITY;
    double m = log(x) - 0.5 * v;
    return sqrt(m * m + v);
}

static vp_status check_net(const vp_advise_net *net, vp_err *err)
{
    if (!net || net->depth < 1 || net->depth > VP_ADVISE_MAX_DEPTH)
        return vp_fail(err, VP_ERR_USAGE, "advise: depth must be in [1, %d]", VP_ADVISE_MAX_DEPTH);
    if (net->width < 1 || net->batch < 1) return vp_fail(err, VP_ERR_USAGE, "advise: width and batch must be >= 1");
    if (!(net->q0 > 0) || !isfinite(net->q0))
        return vp_fail(err, VP_ERR_USAGE, "advise: the input's E[x^2] = %g must be finite and > 0", net->q0);
    return VP_OK;
}

vp_status vp_advise_eval(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, double sigma_w2,
                         double sigma_b2, vp_advice *out, vp_err *err)
{
    vp_status st = check_net(net, err);
    if (st != VP_OK) return st;
    const int L = net->depth;
    const double n = net->width, B = net->batch;
    vp_theory_layer *it = malloc((size_t)(L + 1) * sizeof *it);
    double *s = malloc((size_t)L * 4 * sizeof *s);
    if (!it || !s) {
        free(it), free(s);
        return vp_fail(err, VP_ERR_NOMEM, "advise: out of memory for %d layers", L);
    }
    double *U = s + L, *N = s + 2 * L, *rr = s + 3 * L;
    st = vp_theory_iterate(ctx, act, sigma_w2, sigma_b2, net->q0, NAN, L, it, err);
    int finite = st == VP_OK;
    out->sigma_w2 = sigma_w2, out->sigma_b2 = sigma_b2;
    out->fwd = out->bwd = NAN;
    out->var_fwd = out->var_bwd = NAN;
    out->rms = INFINITY;
    if (finite) {
        out->fwd = it[L].q / it[1].q;
        double prod = 1.0;
        for (int l = 1; l < L; l++) prod *= it[l].chi;
        out->bwd = prod;
        for (int l = 1; l <= L; l++) finite &= isfinite(it[l].q) && it[l].q > 0;
    }
    /* Per layer l = 1..L-1: log-slope s_l of the length map, forward noise U_l put
     * into ln q^{l+1}, gradient noise N_l, and r_l = d ln chi / d ln q. Layers with
     * the same q (a reached fixed point) reuse the statistics. */
    lstat cache[2] = { { .q = NAN }, { .q = NAN } };
    for (int l = 1; finite && l < L && st == VP_OK; l++) {
        double q = it[l].q, qn = it[l + 1].q;
        const lstat *ls = q == cache[0].q ? &cache[0] : q == cache[1].q ? &cache[1] : NULL;
        if (!ls) {
            cache[1] = cache[0];
            if ((st = layer_stat(ctx, act, q, &cache[0], err)) != VP_OK) break;
            ls = &cache[0];
        }
        double w = sigma_w2 * ls->e2 / qn;
        s[l] = sigma_w2 * ls->slope * q / qn;
        U[l] = w * w * ls->kf / n;
        N[l] = (ls->kb + 2.0 * (ls->kb + 1.0) / B) / n;
        rr[l] = ls->r;
    }
    if (finite && st == VP_OK) {
        /* ln fwd - its mean = sum_k F_k u_k + two end samples (2/n each), with
         * F_k = prod_{j=k+1}^{L-1} s_j; ln bwd - its mean = sum_l nu_l + sum_l r_l delta_l
         * = sum_l nu_l + sum_k G_k u_k, G_k = r_{k+1} + s_{k+1} G_{k+1}, G_{L-1} = 0. */
        double vf = L >= 2 ? 4.0 / n : 0.0, vb = 0.0, F = 1.0, G = 0.0;
        for (int k = L - 1; k >= 1; k--) {
            if (k < L - 1) G = rr[k + 1] + s[k + 1] * G;
            vf += F * F * U[k];
            vb += N[k] + G * G * U[k];
            F *= s[k];
        }
        out->var_fwd = vf, out->var_bwd = vb;
        out->rms = fmax(rms_ln(out->fwd, vf), rms_ln(out->bwd, vb));
    }
    free(it), free(s);
    if (st != VP_OK) vp_err_prefix(err, "advise");
    return st;
}

/* ---- choosing the point ---- */

/* The point of the critical line whose fixed point is q: sigma_w2 = 1/E[phi'^2],
 * sigma_b2 = q - sigma_w2 E[phi^2]; 0 if there is none with sigma_b2 >= 0 (a
 * negative sigma_b2 within rounding of 0 is 0). */
static int line_point(const vp_theory_ctx *ctx, const vp_act *act, double q, double *sw2, double *sb2,
                      double *e2q)
{
    double e2 = 0.0, d2 = 0.0;
    vp_err e;
    if (vp_theory_expect(ctx, act, VP_EXP_PHI2, q, &e2, &e) != VP_OK ||
        vp_theory_expect(ctx, act, VP_EXP_DPHI2, q, &d2, &e) != VP_OK || !(d2 > 0))
        return 0;
    *e2q = e2;
    *sw2 = 1.0 / d2;
    *sb2 = q - *sw2 * e2;
    if (*sb2 < 0 && *sb2 > -1e-12 * q) *sb2 = 0.0;
    return isfinite(*sw2) && *sb2 >= 0 && isfinite(*sb2);
}

/* The predicted rms at a candidate; +inf where the maps fail numerically there
 * (a candidate is then simply not usable). Other errors are returned. */
static vp_status rms_at(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, double sw2,
                        double sb2, double *rms, vp_err *err)
{
    vp_advice a;
    vp_status st = vp_advise_eval(ctx, act, net, sw2, sb2, &a, err);
    *rms = st == VP_OK ? a.rms : INFINITY;
    return st == VP_ERR_NUMERIC ? VP_OK : st;
}

typedef struct {
    double q, sw2, sb2, rms;
    double q0; /* the input's E[x^2] the rms is for */
    int edge;  /* vp_advice's q_edge, beyond_better, q_beyond, rms_beyond */
    int beyond_better;
    double q_beyond, rms_beyond;
} cand;

/* A candidate with no point yet (rms +inf), for inputs with E[x^2] = q0. */
static cand no_cand(double q, double q0)
{
    return (cand){ .q = q, .sw2 = NAN, .sb2 = NAN, .rms = INFINITY, .q0 = q0, .q_beyond = NAN, .rms_beyond = NAN };
}

/* Line candidate at q (rms +inf if the line has no point there). match: the input
 * matched to the point (q0 = E[phi^2] at q, so that q^1 = q*), else net->q0. */
static vp_status line_cand(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, int match,
                           double q, cand *c, vp_err *err)
{
    double e2 = NAN;
    *c = no_cand(q, net->q0);
    if (!line_point(ctx, act, q, &c->sw2, &c->sb2, &e2)) return VP_OK;
    vp_advise_net nm = *net;
    if (match) {
        if (!(e2 > 0) || !isfinite(e2)) return VP_OK;
        nm.q0 = c->q0 = e2;
    }
    return rms_at(ctx, act, &nm, c->sw2, c->sb2, &c->rms, err);
}

/* Grid of the line's fixed points: q* = 10^(k/4), k = -16..16 (1e-4 .. 1e4), then a
 * golden-section search in ln q* between the best grid point's neighbours. A
 * candidate must beat the best so far by more than 1e-9 (relative), so ties go to
 * the earlier one: the sigma_b2 = 0 point, then smaller q*. A best grid point at an
 * end of the grid has no neighbour outside to bracket the minimum: it is kept as the
 * best of the range, marked, and the grid's next point outside is evaluated to say
 * whether the line does better beyond (advise.h, q_edge). */
#define GRID_LO VP_ADVISE_GRID_LO
#define GRID_HI VP_ADVISE_GRID_HI
#define GOLDEN_STEPS 24
#define TIE 1e-9

static int better(const cand *c, const cand *best)
{
    return isinf(best->rms) ? c->rms < best->rms : c->rms < best->rms - TIE * (1.0 + best->rms);
}

static vp_status search_line(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, int match,
                             cand *best, vp_err *err)
{
    cand grid[GRID_HI - GRID_LO + 1];
    int kb = GRID_LO - 1; /* no grid point beat the best (a k outside the grid) */
    vp_status st;
    for (int k = GRID_LO; k <= GRID_HI; k++) {
        cand *c = &grid[k - GRID_LO];
        if ((st = line_cand(ctx, act, net, match, pow(10.0, 0.25 * k), c, err)) != VP_OK) return st;
        if (better(c, best)) *best = *c, kb = k;
    }
    if (kb < GRID_LO) return VP_OK;
    if (kb == GRID_LO || kb == GRID_HI) {
        cand o;
        int side = kb == GRID_HI ? 1 : -1;
        if ((st = line_cand(ctx, act, net, match, pow(10.0, 0.25 * (kb + side)), &o, err)) != VP_OK) return st;
        best->edge = side, best->q_beyond = o.q, best->rms_beyond = o.rms, best->beyond_better = better(&o, best);
        return VP_OK;
    }
    const double g = 0.5 * (sqrt(5.0) - 1.0);
    double a = log(grid[kb - 1 - GRID_LO].q), b = log(grid[kb + 1 - GRID_LO].q);
    cand x1, x2;
    if ((st = line_cand(ctx, act, net, match, exp(b - g * (b - a)), &x1, err)) != VP_OK) return st;
    if ((st = line_cand(ctx, act, net, match, exp(a + g * (b - a)), &x2, err)) != VP_OK) return st;
    for (int i = 0; i < GOLDEN_STEPS; i++) {
        if (x1.rms <= x2.rms) {
            b = log(x2.q), x2 = x1;
            if ((st = line_cand(ctx, act, net, match, exp(b - g * (b - a)), &x1, err)) != VP_OK) return st;
        } else {
            a = log(x1.q), x1 = x2;
            if ((st = line_cand(ctx, act, net, match, exp(a + g * (b - a)), &x2, err)) != VP_OK) return st;
        }
    }
    const cand *c = x1.rms <= x2.rms ? &x1 : &x2;
    if (better(c, best)) *best = *c;
    return VP_OK;
}

/* Whether the line has a point with sigma_b2 >= 0 at some q* of the grid: a search
 * that found no finite rms had either no point or only points whose ratios fail. */
static int line_exists(const vp_theory_ctx *ctx, const vp_act *act)
{
    double sw2, sb2, e2;
    for (int k = GRID_LO; k <= GRID_HI; k++)
        if (line_point(ctx, act, pow(10.0, 0.25 * k), &sw2, &sb2, &e2)) return 1;
    return 0;
}

/* x to VP_ADVISE_DIGITS significant digits, as a config holds it. */
static double rounded(double x)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*g", VP_ADVISE_DIGITS, x);
    return strtod(buf, NULL);
}

vp_status vp_advise(const vp_theory_ctx *ctx, const vp_act *act, const vp_advise_net *net, double sigma_b2,
                    vp_advice *out, vp_err *err)
{
    vp_status st = vp_theory_check_act(act, err);
    if (st == VP_OK) st = check_net(net, err);
    if (st != VP_OK) return st;
    if (!isnan(sigma_b2) && (!(sigma_b2 >= 0) || !isfinite(sigma_b2)))
        return vp_fail(err, VP_ERR_USAGE, "advise: sigma_b2 = %g must be finite and >= 0", sigma_b2);
    char lab[128];
    vp_act_label(act, lab, sizeof lab);
    double na, pa;
    const int homogeneous = vp_act_slopes(act, &na, &pa);

    cand best = no_cand(NAN, net->q0);
    vp_advise_rule rule = isnan(sigma_b2) ? VP_ADVISE_BEST : VP_ADVISE_GIVEN_SB;
    double sw2 = NAN, qs = NAN;
    vp_err e0;
    /* The critical point at the given sigma_b2, or at sigma_b2 = 0 as the first
     * candidate (none at 0 is no error: e.g. gelu). */
    st = vp_theory_critical(ctx, act, isnan(sigma_b2) ? 0.0 : sigma_b2, &sw2, &qs, &e0);
    if (st == VP_OK) {
        best = no_cand(qs, net->q0);
        best.sw2 = sw2, best.sb2 = isnan(sigma_b2) ? 0.0 : sigma_b2;
        if ((st = rms_at(ctx, act, net, best.sw2, best.sb2, &best.rms, err)) != VP_OK) return st;
    } else if (st != VP_ERR_NUMERIC || rule == VP_ADVISE_GIVEN_SB) {
        if (err) *err = e0;
        return st;
    }
    if (rule == VP_ADVISE_BEST && !homogeneous && (st = search_line(ctx, act, net, 0, &best, err)) != VP_OK)
        return st;
    double unit_rms = best.rms;
    if (rule == VP_ADVISE_BEST && !homogeneous && isfinite(best.rms)) {
        /* Both infinite-width ratios within a factor 2? Else the matched input. */
        vp_advice u;
        vp_advise_net nu = *net;
        if ((st = vp_advise_eval(ctx, act, &nu, best.sw2, best.sb2, &u, err)) != VP_OK) return st;
        if (!(fmax(fabs(log(u.fwd)), fabs(log(u.bwd))) <= log(2.0))) {
            cand m = no_cand(NAN, NAN);
            if ((st = search_line(ctx, act, net, 1, &m, err)) != VP_OK) return st;
            if (isfinite(m.rms)) best = m, rule = VP_ADVISE_MATCHED_INPUT;
        }
    }
    if (isinf(best.rms)) {
        if (isnan(best.sw2) && !line_exists(ctx, act))
            return vp_fail(err, VP_ERR_NUMERIC,
                           "%s: no point of the critical line chi_1 = 1 has sigma_b2 >= 0 (sigma_b2 = q* - "
                           "E[phi^2]/E[phi'^2] is negative at every fixed point q* from 1e-4 to 1e4): mean-field "
                           "theory has no critical initialization to advise for it", lab);
        return vp_fail(err, VP_ERR_NUMERIC,
                       "%s: on every point of the critical line chi_1 = 1 the signal or the gradient reaches 0 "
                       "or overflows within %d layers (for inputs with E[x^2] = %g)",
                       lab, net->depth, net->q0);
    }

    /* What a config holds, and the predictions for exactly that. */
    double sw = rounded(sqrt(best.sw2)), sb = rounded(sqrt(best.sb2));
    vp_advise_net nout = *net;
    double istd = sqrt(net->q0);
    if (rule == VP_ADVISE_MATCHED_INPUT) istd = rounded(sqrt(best.q0)), nout.q0 = istd * istd;
    if ((st = vp_advise_eval(ctx, act, &nout, sw * sw, sb * sb, out, err)) != VP_OK) return st;
    out->rule = rule;
    out->input_std = istd;
    out->unit_rms = unit_rms;
    out->sigma_w2 = rounded(best.sw2), out->sigma_b2 = rounded(best.sb2);
    out->sigma_w = sw, out->sigma_b = sb;
    out->q_star = best.q;
    out->q_edge = best.edge, out->beyond_better = best.beyond_better;
    out->q_beyond = best.q_beyond, out->rms_beyond = best.rms_beyond;
    double qa = isfinite(best.q) ? best.q : 1.0, sl = 0.0;
    if ((st = vp_theory_chi1(ctx, act, sw * sw, qa, &out->chi1, err)) != VP_OK) return st;
    if ((st = vp_theory_expect(ctx, act, VP_EXP_SLOPE, qa, &sl, err)) != VP_OK) return st;
    out->qslope = sw * sw * sl;
    return VP_OK;
}
